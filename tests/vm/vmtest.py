#!/usr/bin/env python3
"""vfiotx end-to-end tests on a real Debian 12 host in a VM (see tests/vm/README.md).

  vmtest.py image                      build (or find) the cached base image, print its timings
  vmtest.py run SCENARIO [options]     run one scenario on a fresh copy of the base image
  vmtest.py uefi-image --kind K ...    build (or find) a UEFI disk derived from it (uefi_image.py)
  vmtest.py list                       the scenarios

Each scenario gets its own copy of the cached base disk with the vfiotx built from the working
tree installed into it (debugfs, no mounts), boots it under QEMU/TCG through GRUB from that disk
and drives it over the serial console. Every boot's serial log is kept in the artifacts folder;
when a scenario fails the tail of the last one is printed."""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import image  # noqa: E402
import package_image  # noqa: E402
import uefi_image  # noqa: E402
import vmlib  # noqa: E402
from vmlib import VMError  # noqa: E402

VFIO_MODULES = ["vfio", "vfio_iommu_type1", "vfio_pci"]
EDU_ID = "1234:11e8"
REBUILD_TIMEOUT = 1200  # one vfiotx command with its rebuild steps, under TCG


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Host:
    """The machine a scenario runs on: its disk (a copy of the base image with vfiotx
    installed), its boots (one QEMU process and one serial log each) and the timings."""

    def __init__(self, artifacts, build_dir, deb=None, disk_image="bios"):
        self.artifacts = artifacts
        self.build_dir = build_dir
        self.deb = deb  # the package the host has installed with apt, else cmake --install
        self.image = disk_image  # "bios" (the base disk), or "uefi-<kind>" (uefi_image.py)
        self.vars = None  # UEFI: this host's copy of the OVMF variable store
        self.boots = []
        self.guest = None
        self.t0 = time.monotonic()
        self.failed_checks = []

    def check_later(self, cond, msg):
        """A check whose failure does not stop the scenario: the boots after it show what the
        failure does to the host (a power-cut oracle); the scenario fails at its end."""
        if not cond:
            self.failed_checks.append(msg)
            self.log("CHECK FAILED (the scenario goes on, and fails at its end): " + msg)

    def prepare(self):
        if self.deb:
            # the package installed by apt once per suite (package_image.py), as a user has it
            base, self.info = package_image.package_image(
                self.deb, os.path.join(os.path.dirname(self.artifacts), "package-image"), self.log)
        else:
            base, self.info = image.base_image()
        if self.image != "bios":
            base, uefi_vars, self.info = uefi_image.uefi_image(
                base, self.info, self.image[len("uefi-"):], self.log)
        os.makedirs(self.artifacts, exist_ok=True)
        for f in os.listdir(self.artifacts):  # a re-run starts from nothing
            p = os.path.join(self.artifacts, f)
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
        self.disk = os.path.join(self.artifacts, "disk.raw")
        t = time.monotonic()
        vmlib.run(["cp", "--sparse=always", "--reflink=auto", base, self.disk])
        if self.image != "bios":
            # the root partition after the ESP; the host's own variable store (Boot####)
            vmlib.set_root_offset(self.disk, self.info["root_offset"])
            self.vars = os.path.join(self.artifacts, "vars.fd")
            shutil.copy(uefi_vars, self.vars)
        # replays an ext4 journal if one is left (debugfs ignores it; the guest's replay would
        # then overwrite what debugfs wrote); -p is instant on a clean filesystem
        vmlib.run(["e2fsck", "-p", vmlib.fs_spec(self.disk)], timeout=600)
        if not self.deb and self.build_dir:
            self.install_vfiotx()
        self.log("%s disk ready in %.1fs (kernels: %s; vfiotx %s)" % (
            self.image, time.monotonic() - t, ", ".join(self.info["kernels"]),
            "from the package " + self.info["deb"] if self.deb else "by cmake --install"))
        self.original_modules = vmlib.read_guest_file(self.disk, "/etc/modules")
        check(self.original_modules is not None, "the base image has no /etc/modules")

    def install_vfiotx(self):
        """`cmake --install` the working tree's build into a staging tree (prefix /usr, as a
        package would), copy it into the disk, plus any shared library the binary needs that
        the guest lacks (a sanitizer build needs libasan/libubsan)."""
        stage = tempfile.mkdtemp(prefix="stage.", dir=self.artifacts)
        try:
            env = dict(os.environ, DESTDIR=stage)
            vmlib.run(["cmake", "--install", self.build_dir, "--prefix", "/usr"], env=env)
            binary = os.path.join(stage, "usr/sbin/vfiotx")
            check(os.access(binary, os.X_OK), "cmake --install put no usr/sbin/vfiotx")
            libs = []
            for line in vmlib.run(["ldd", binary]).splitlines():
                parts = line.split()
                if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
                    libs.append(parts[2])
            present = vmlib.guest_path_exists(self.disk, libs)
            for lib in libs:
                if not present[lib]:
                    # the guest resolves the same names: Debian's multiarch directory
                    dest = os.path.join(stage, "usr/lib/x86_64-linux-gnu",
                                        os.path.basename(lib))
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    shutil.copy(os.path.realpath(lib), dest)
                    self.log("also installed %s (not in the guest image)" % lib)
            vmlib.install_tree(self.disk, stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def log(self, msg):
        print("[%6.1fs] %s" % (time.monotonic() - self.t0, msg), flush=True)

    def boot(self, name=None, timeout=420, **kw):
        """Power on and wait for the root shell; returns the Guest."""
        self.shutdown()
        name = name or "boot%d" % (len(self.boots) + 1)
        g = vmlib.Guest(self.disk, self.artifacts, "%02d-%s" % (len(self.boots) + 1, name),
                        uefi=self.vars, **kw)
        self.boots.append(g)
        self.guest = g
        g.start()
        g.wait_login(timeout)
        self.log("%s: logged in after %.1fs" % (g.name, g.boot_seconds))
        return g

    def reboot(self, name=None):
        self.guest.reboot(timeout=180)
        return self.boot(name)

    def power_cut(self):
        """Kill QEMU: the guest's page cache is lost, what it wrote is on the disk; its ext4
        journal is not checkpointed, and is replayed only by the next kernel to mount it."""
        self.guest.kill()
        self.log("%s: power cut (QEMU killed)" % self.guest.name)

    def shutdown(self):
        if self.guest and self.guest.proc and self.guest.proc.poll() is None:
            try:
                self.guest.poweroff(timeout=120)
            finally:
                self.guest.kill()

    def cleanup(self, keep_disk):
        for g in self.boots:
            g.kill()
        if not keep_disk and os.path.exists(getattr(self, "disk", "")):
            os.unlink(self.disk)


# --- building blocks: each a small step that asserts what it did -------------------------------

def through_grub(g, info):
    """The boot went through GRUB from the disk, on the expected kernel."""
    cmdline = g.out("cat /proc/cmdline")
    check("BOOT_IMAGE=" in cmdline, "the boot did not come through GRUB: " + cmdline)
    check(g.out("uname -r") == info["default_kernel"], "booted a kernel other than the default")
    return cmdline


def iommu_present(g):
    out = g.out("ls /sys/class/iommu; ls /sys/kernel/iommu_groups | wc -l")
    check("dmar0" in out, "no virtual Intel IOMMU in the guest: " + out)


def loaded_modules(g):
    return {line.split()[0] for line in g.out("cat /proc/modules").splitlines() if line}


def every_kernel_has_virqfd(g):
    rc, _ = g.sh("for k in /lib/modules/*/; do find $k -name 'vfio_virqfd.ko*' | grep -q . "
                 "|| exit 1; done", check=False)
    return rc == 0


def default_kernel_only(host, g):
    """Single-kernel scenarios: drop the second kernel's initramfs, so vfiotx's rebuild step
    (one `update-initramfs -u -k` per kernel that has an initramfs) builds only the default
    kernel's, as on a host with one kernel. Its modules stay, so module lists still see both
    kernels. The two-kernels scenario keeps both."""
    others = [k for k in host.info["kernels"] if k != host.info["default_kernel"]]
    if others:
        g.sh("rm -f " + " ".join("/boot/initrd.img-%s" % k for k in others))
    return [host.info["default_kernel"]]


STEP_DONE = re.compile(r"^\[\d+/\d+\] (.+) \((\d+\.\d) s\)$", re.M)


def check_rebuilt(host, out, kernels, what):
    """`what`'s output reports one finished update-initramfs step per kernel in `kernels`."""
    done = [m.group(1) for m in STEP_DONE.finditer(out)]
    got = sorted(d.split()[-1] for d in done if d.startswith("update-initramfs -u -k "))
    check(got == sorted(kernels), "%s rebuilt the initramfs of %s, not of %s:\n%s"
          % (what, got, kernels, out))
    host.log("%s's rebuild steps: %s" % (what, "; ".join(
        "%s (%s s)" % (m.group(1), m.group(2)) for m in STEP_DONE.finditer(out))))


def apply_modules(host, g, kernels):
    """vfiotx plan, then vfiotx apply -y (which rebuilds each kernel's initramfs inside the
    transaction): /etc/modules lists the vfio modules, the initramfs carries them."""
    rc, out = g.sh("vfiotx plan")
    for m in VFIO_MODULES:
        check("+" + m in out, "plan does not add %s:\n%s" % (m, out))
    for k in kernels:
        check("update-initramfs -u -k %s" % k in out, "plan lists no rebuild for %s:\n%s"
              % (k, out))
    check(modules_sha(g) == hashlib.sha256(host.original_modules).hexdigest(),
          "plan changed /etc/modules")
    t = time.monotonic()
    rc, out = g.sh("vfiotx apply -y --no-arm", timeout=REBUILD_TIMEOUT)
    host.log("vfiotx apply -y --no-arm: %.0fs" % (time.monotonic() - t))
    check("applied as transaction" in out, "apply did not report its transaction:\n" + out)
    check_rebuilt(host, out, kernels, "apply")
    listed = [line.strip() for line in g.out("cat /etc/modules").splitlines()
              if line.strip() and not line.startswith("#")]
    for m in VFIO_MODULES:
        check(m in listed, "/etc/modules lacks %s after apply: %s" % (m, listed))
    virqfd = every_kernel_has_virqfd(g)
    check(("vfio_virqfd" in listed) == virqfd,
          "vfio_virqfd listed=%s but every kernel ships it=%s" % ("vfio_virqfd" in listed, virqfd))
    host.log("applied: /etc/modules lists %s" % ", ".join(listed))
    return listed


def initramfs_has(g, kernels, modules, files):
    """lsinitramfs of each kernel's image names the modules (any compression, - or _) and the
    files; returns the listing of the last one."""
    listing = ""
    for k in kernels:
        listing = g.out("lsinitramfs /boot/initrd.img-%s" % k, timeout=300)
        names = set(listing.splitlines())
        mods = {re.sub(r"\.ko(\.(xz|zst|gz))?$", "", n.rsplit("/", 1)[-1]).replace("-", "_")
                for n in names if re.search(r"\.ko(\.(xz|zst|gz))?$", n)}
        for m in modules:
            check(m.replace("-", "_") in mods, "the initramfs of %s lacks module %s" % (k, m))
        for f in files:
            check(f.lstrip("/") in names, "the initramfs of %s lacks %s" % (k, f))
    return listing


def modules_loaded_at_boot(g, want):
    mods = loaded_modules(g)
    for m in VFIO_MODULES:
        check((m in mods) == want, "%s is %s at boot" % (m, "not loaded" if want else "loaded"))
    rc, out = g.sh("systemctl is-failed systemd-modules-load.service", check=False)
    check(out.strip() != "failed", "systemd-modules-load failed:\n"
          + g.out("journalctl -b -u systemd-modules-load --no-pager | tail -20"))


def bind_edu(host, g):
    """Bind QEMU's edu device to vfio-pci by hand: real VFIO in the guest."""
    bdf = g.out("lspci -D -n -d %s | cut -d' ' -f1" % EDU_ID)
    check(bdf, "no edu device (%s) in the guest" % EDU_ID)
    g.sh("modprobe vfio-pci && echo %s > /sys/bus/pci/drivers/vfio-pci/new_id"
         % EDU_ID.replace(":", " "))
    out = g.out("lspci -nnk -s %s" % bdf)
    check("Kernel driver in use: vfio-pci" in out, "edu is not bound to vfio-pci:\n" + out)
    group = g.out("basename $(readlink /sys/bus/pci/devices/%s/iommu_group)" % bdf)
    check(group.isdigit(), "edu has no IOMMU group: " + group)
    g.sh("test -c /dev/vfio/%s && ls -l /dev/vfio" % group)
    host.log("edu %s bound to vfio-pci, /dev/vfio/%s exists:\n%s" % (bdf, group, out))
    return bdf, group


def fsck_journal(g):
    g.sh("git -C /var/lib/vfiotx/journal.git fsck --strict --no-dangling")


def modules_sha(g):
    return g.out("sha256sum < /etc/modules").split()[0]


# --- scenarios ---------------------------------------------------------------------------------

def scenario_rollback(host):
    """apply (the seed's "Ensure Kernel Modules" step) + reboot, edu bound, rollback + reboot.

    The apply runs the initramfs rebuild inside its transaction; after the reboot the vfio
    modules load, status and log show the apply, and the edu device is bound to vfio-pci by
    hand (real VFIO). Then vfiotx rollback -y (which rebuilds too) + reboot: the vfio modules
    no longer load, and /etc/modules is byte-identical to the original (read from the
    powered-off disk). The first two boots were once a scenario of their own (seed-modules),
    which booted and applied exactly as this one does; all its checks are made here."""
    g = host.boot("first")
    through_grub(g, host.info)
    iommu_present(g)
    modules_loaded_at_boot(g, want=False)
    kernels = default_kernel_only(host, g)
    apply_modules(host, g, kernels)
    g = host.reboot("after-apply")
    through_grub(g, host.info)
    modules_loaded_at_boot(g, want=True)
    out = g.out("vfiotx status")
    check("applied: transaction 2 (apply" in out, "status does not show the apply:\n" + out)
    out = g.out("vfiotx log")
    check(any(line.split()[:1] == ["2"] and "apply" in line and "applied" in line
              for line in out.splitlines()), "log does not show the apply:\n" + out)
    check("baseline" in out, "log does not show the baseline:\n" + out)
    fsck_journal(g)
    # by hand, in memory only (new_id): no file and no journal entry, so the rollback below
    # and the next boot see the host as the apply left it
    bind_edu(host, g)
    t = time.monotonic()
    out = g.out("vfiotx rollback -y", timeout=REBUILD_TIMEOUT)
    host.log("vfiotx rollback -y: %.0fs:\n%s" % (time.monotonic() - t, out))
    check(re.search(r"^rolled back as transaction \d+$", out, re.M), "rollback said:\n" + out)
    check_rebuilt(host, out, kernels, "rollback")
    check(modules_sha(g) == hashlib.sha256(host.original_modules).hexdigest(),
          "/etc/modules differs from the original after rollback")
    g = host.reboot("after-rollback")
    through_grub(g, host.info)
    modules_loaded_at_boot(g, want=False)
    out = g.out("vfiotx log")
    check(out.splitlines()[0].split()[3] == "rollback", "the newest entry is not the rollback:\n"
          + out)
    fsck_journal(g)
    host.shutdown()
    check(vmlib.read_guest_file(host.disk, "/etc/modules") == host.original_modules,
          "/etc/modules on the powered-off disk is not byte-identical to the original")


def trace_apply(g):
    """The numbered failpoints of the next `apply -y --no-rebuild`, from a dry run of the same
    binary against a scratch copy of this host's root (etc, the journal; modules and /boot bound
    read-only), so the real root is untouched. Returns ([(n, name)], the target /etc/modules)."""
    g.sh("umount /tmp/tr/lib/modules /tmp/tr/boot 2>/dev/null; rm -rf /tmp/tr; "
         "mkdir -p /tmp/tr/lib/modules /tmp/tr/boot /tmp/tr/var/lib && cp -a /etc /tmp/tr/ && "
         "mount --bind -o ro /lib/modules /tmp/tr/lib/modules && "
         "mount --bind -o ro /boot /tmp/tr/boot && "
         "{ [ ! -d /var/lib/vfiotx ] || cp -a /var/lib/vfiotx /tmp/tr/var/lib/; }")
    rc, out = g.sh("VFIOTX_FAILPOINT_TRACE=1 vfiotx --root /tmp/tr apply -y --no-arm --no-rebuild 2>&1 "
                   ">/dev/null | grep 'failpoint [0-9]*:'")
    steps = []
    for line in out.splitlines():
        n, name = line.split("failpoint ", 1)[1].split(": ", 1)
        steps.append((int(n), name.strip()))
    target = g.out("cat /tmp/tr/etc/modules; echo .")  # the trailing "." keeps final newlines
    g.sh("umount /tmp/tr/lib/modules /tmp/tr/boot; rm -rf /tmp/tr")
    return steps, target[:-1].encode()


def boot_flush_failpoints(g):
    """How many failpoints the boot flush at the end of the rebuild steps reaches on this host:
    one per file system under /boot, /boot/efi and /efi that is checkpointed (ext4) or frozen
    (xfs); syncfs alone has none (fs/boot_flush.c)."""
    out = g.out("for d in /boot /boot/efi /efi; do [ -d $d ] && "
                "echo $(stat -c %d $d) $(stat -f -c %T $d); done; true")
    seen = {}
    for line in out.splitlines():
        dev, fstype = line.split(None, 1)
        seen.setdefault(dev, fstype)
    return sum(1 for t in seen.values() if t in ("ext2/ext3", "xfs"))


def cut_point(steps, name, rebuild_extra):
    """The failpoint to cut the power at for the named cut, from a trace: what has happened
    when vfiotx hangs there. rebuild_extra: how many failpoints the rebuild step adds before
    the commit point, which the trace (of `apply --no-rebuild`) does not see."""
    names = [n for _, n in steps]
    states = [i for i, n in enumerate(names) if n == "state: replace state file"]
    check(len(states) >= 2, "the trace has no intent and commit point: %s" % steps)
    intent, commit = states[-2], states[-1]

    def after_write(i):  # first step after the atomic write that follows index i
        return names.index("atomic-write: fsync directory", i) + 1

    first_file = after_write(intent)
    i = {"intent-written": first_file,
         "modules-written-not-renamed": names.index("atomic-write: rename", first_file),
         "after-commit-point": after_write(commit)}[name]
    n, fp = steps[i]
    if i >= commit:
        n += rebuild_extra
    return n, fp


# (name, how, what /etc/modules is after recovery): "hang" cuts at a failpoint of a traced apply,
# "rebuild" while vfiotx's rebuild step (update-initramfs) runs inside the transaction
CUTS = [("intent-written", "hang", "before"),
        ("modules-written-not-renamed", "hang", "before"),
        ("during-rebuild", "rebuild", "before"),
        ("after-commit-point", "hang", "after")]


def cut_during_rebuild(host, g, kernel):
    """Start `vfiotx apply -y` and cut the power while its update-initramfs runs (seen from the
    `[1/N] update-initramfs -u -k KVER ...` progress line, then a few seconds into the tool)."""
    g.sh("vfiotx apply -y --no-arm >/root/cut.log 2>&1 &")
    rc, out = g.sh("for i in $(seq 1800); do grep -qF '] update-initramfs -u -k %s ...' "
                   "/root/cut.log && break; sleep 0.1; done; sleep 5; "
                   "cat /root/cut.log; echo '--- processes at the cut:'; "
                   "for p in /proc/[0-9]*; do c=$(tr '\\0' ' ' <$p/cmdline 2>/dev/null); "
                   "case $c in *update-initramfs*|*mkinitramfs*|vfiotx*) echo ${p#/proc/} $c;; "
                   "esac; done; "
                   "echo '--- state at the cut:'; cat /var/lib/vfiotx/state; echo; "
                   "ls -la /boot /etc/modules" % kernel,
                   timeout=300, check=False)
    host.log("at the cut:\n" + out)
    check(re.search(r"^\[1/\d+\] update-initramfs -u -k %s \.\.\.$" % re.escape(kernel), out,
                    re.M), "vfiotx did not start its rebuild step:\n" + out)
    check(not STEP_DONE.search(out) and "mkinitramfs" in out,
          "the rebuild step was no longer running at the cut:\n" + out)


def cut_at_failpoint(host, g, name):
    steps, _ = trace_apply(g)
    # the trace is of `apply --no-rebuild`; with the rebuild step the engine flushes the boot
    # file systems and commits the journal entry once more (with the steps' record), both
    # before the commit point
    n, fp = cut_point(steps, name, 1 + boot_flush_failpoints(g))
    host.log("cut %s at failpoint %d of %d (%s)" % (name, n, len(steps), fp))
    g.sh("VFIOTX_FAILPOINT_HANG=%d vfiotx apply -y --no-arm >/root/hang.log 2>&1 &" % n)
    # the commit point comes after the rebuild step: wait as long as a rebuild may take
    rc, out = g.sh("for i in $(seq %d); do grep -q 'hanging at failpoint' /root/hang.log "
                   "&& break; sleep 0.1; done; cat /root/hang.log; "
                   "grep -qF 'hanging at failpoint %d (%s)' /root/hang.log; r=$?; "
                   "echo '--- state at the cut:'; cat /var/lib/vfiotx/state; echo; "
                   "ls -la /etc | grep modules; exit $r" % (REBUILD_TIMEOUT * 10, n, fp),
                   timeout=REBUILD_TIMEOUT + 60, check=False)
    host.log("at the cut:\n" + out)
    check(rc == 0, "vfiotx did not hang at failpoint %d (%s):\n%s" % (n, fp, out))


def scenario_power_cut(host):
    """Cut the power during a real apply (with its rebuild step) at chosen points: right after
    the intent is in the state file, with the new /etc/modules fsync'ed but not renamed, while
    update-initramfs runs, right after the commit point. Every time: /etc/modules on the disk is
    all-before or all-after, the host boots through GRUB, status reports the interrupted (or
    committed) transaction, the next command resolves it, git fsck is clean. With the package
    (--deb) the next command is vfiotx-boot.service at the next boot: it undoes the interrupted
    transaction and completes the rebuild the cut during the rebuild left pending, before the
    login prompt. From a `cmake --install` tree (units not enabled) it is `confirm`, and the
    rebuild stays pending until the next apply completes it."""
    g = host.boot("first")
    kernels = default_kernel_only(host, g)
    before = host.original_modules
    _, after = trace_apply(g)
    check(after != before, "the traced apply changes nothing")
    for k, (name, how, expect) in enumerate(CUTS):
        if how == "hang":
            cut_at_failpoint(host, g, name)
        else:
            cut_during_rebuild(host, g, kernels[0])
        host.power_cut()
        on_disk = vmlib.read_after_power_cut(host.disk, "/etc/modules", host.artifacts)
        check(on_disk in (before, after), "after the power cut /etc/modules is neither all-before"
              " nor all-after:\n%r" % on_disk)
        host.log("/etc/modules on the powered-off disk: all-%s"
                 % ("before" if on_disk == before else "after"))
        # with the package, vfiotx-boot.service may rebuild before the login prompt
        g = host.boot("after-cut-%d-%s" % (k + 1, name),
                      timeout=420 + (REBUILD_TIMEOUT if host.deb else 0))
        through_grub(g, host.info)
        if host.deb:
            # the package's vfiotx-boot.service is the next command: it recovers at boot, and
            # completes a rebuild the cut left pending, before sysinit.target (so before login)
            state, _ = wait_unit_done(g, "vfiotx-boot.service", timeout=REBUILD_TIMEOUT)
            out = g.out("journalctl -b -u vfiotx-boot.service --no-pager -o cat")
            host.log("vfiotx-boot.service (%s) at the boot after the cut:\n%s" % (state, out))
            check(state == "active", "vfiotx-boot.service is %s after the cut" % state)
            status = g.out("vfiotx status")
            host.log("vfiotx status after the boot:\n" + status)
        else:
            status = g.out("vfiotx status")
            host.log("vfiotx status after the cut:\n" + status)
            if expect == "before":
                check("state: interrupted" in status, "status does not report the interruption")
            out = g.out("vfiotx confirm")
            host.log("vfiotx confirm (the next command that writes):\n" + out)
        if expect == "before":
            check("recovered: interrupted transaction" in out and "undone" in out,
                  "the next command did not report the recovery:\n" + out)
        else:
            check("state: applied" in status, "status does not show the committed apply")
        now = g.out("cat /etc/modules; echo .")[:-1].encode()
        check(now == (before if expect == "before" else after),
              "/etc/modules is not all-%s after recovery:\n%s" % (expect, now.decode()))
        status = g.out("vfiotx status")
        host.log("vfiotx status after recovery:\n" + status)
        check("state: interrupted" not in status and not re.search(r"^interrupted:", status, re.M),
              "still interrupted after recovery:\n" + status)
        if how == "rebuild" and host.deb:
            check("pending rebuild" not in status and re.search(
                r"^\[1/\d+\] update-initramfs -u -k %s \(" % re.escape(kernels[0]), out, re.M),
                "vfiotx-boot.service did not complete the rebuild the cut left pending:\n"
                + status)
        elif how == "rebuild":
            check("pending rebuild" in status, "the cut during the rebuild left no pending "
                  "rebuild:\n" + status)
        if how == "rebuild":
            g.sh("lsinitramfs /boot/initrd.img-%s >/dev/null" % kernels[0], timeout=300)
        fsck_journal(g)
        log = g.out("vfiotx log")
        host.log("vfiotx log:\n" + log)
        if expect == "before":
            # the command that recovered may add its own entry after it (confirm does; the
            # boot's completed rebuild does)
            check(any(line.split()[3:5] == ["recovery", "undone"]
                      for line in log.splitlines()[:2]),
                  "the journal does not record the undone transaction:\n" + log)
    check("pending rebuild" not in status, "a rebuild is still pending at the end:\n" + status)
    host.shutdown()


def edu_bdf(g):
    bdf = g.out("lspci -D -n -d %s | cut -d' ' -f1" % EDU_ID)
    check(bdf, "no edu device (%s) in the guest" % EDU_ID)
    return bdf


def grub_cmdline_words(g):
    return set(g.out(". /etc/default/grub; echo $GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT")
               .split())


def scenario_seed_procedure(host):
    """The seed's procedure with the boot-counted trial as a user gets it: vfiotx check reports
    the IOMMU, devices lists edu, apply --device edu (binding, IOMMU parameters, rebuild, a
    trial armed in grubenv, in place: grubenv keeps its inode and block) -> reboot through GRUB
    -> a trial boot (vfiotx.trial=, panic= on /proc/cmdline); vfiotx-confirm.service confirms it
    by itself (health checks pass) and the power is cut as soon as it is done: GRUB would read
    a grubenv without the counter, at its old block, and the boot files the kernel has; the
    next boot is a normal one of the confirmed configuration: edu on vfio-pci, /dev/vfio/<group>,
    the parameters on /proc/cmdline, the vfio modules and the modprobe conf in the initramfs,
    status good, the confirmation in the log."""
    g = host.boot("first")
    through_grub(g, host.info)
    kernels = default_kernel_only(host, g)
    install_trial_pieces(host, g)
    rc, out = g.sh("vfiotx --json check", check=False)
    host.log("vfiotx check (exit %d):\n%s" % (rc, out))
    findings = {f["id"]: f for f in json.loads(out)["findings"]}
    check(findings.get("iommu-active", {}).get("status") == "ok",
          "check does not report an active IOMMU:\n" + out)
    check("dmar" in findings["iommu-active"]["message"], "check does not name the DMAR unit")
    rc, out = g.sh("vfiotx --json devices")
    devs = json.loads(out)["devices"]
    edu = [d for d in devs if "%s:%s" % (d["vendor"], d["device"]) == EDU_ID]
    check(len(edu) == 1, "devices does not list the edu device once:\n" + out)
    bdf = edu_bdf(g)
    check(edu[0]["bdf"] == bdf, "devices names edu %s, lspci %s" % (edu[0]["bdf"], bdf))
    host.log("vfiotx devices:\n" + g.out("vfiotx devices"))
    check(edu[0]["verdict"] == "ok", "vfiotx refuses the edu device: %s" % edu[0])
    words_before = grub_cmdline_words(g)
    rc, out = g.sh("vfiotx plan --device %s" % EDU_ID)
    host.log("vfiotx plan --device %s:\n%s" % (EDU_ID, out))
    grubenv_at = grubenv_location(g)
    host.log("grubenv before apply: (inode, block) %s" % (grubenv_at,))
    t = time.monotonic()
    rc, out = g.sh("vfiotx apply -y --device %s" % EDU_ID, timeout=REBUILD_TIMEOUT, check=False)
    host.log("vfiotx apply -y --device %s (exit %d, %.0fs):\n%s"
             % (EDU_ID, rc, time.monotonic() - t, out))
    check(rc == 0 and "applied as transaction" in out, "apply --device failed")
    check_rebuilt(host, out, kernels, "apply --device")
    check("update-grub" in [m.group(1) for m in STEP_DONE.finditer(out)],
          "apply --device did not run update-grub")
    added = sorted(grub_cmdline_words(g) - words_before)
    check(added, "apply --device added no kernel parameter to /etc/default/grub")
    host.log("kernel parameters added: %s" % " ".join(added))
    conf = g.out("cat /etc/modprobe.d/vfiotx.conf")
    host.log("/etc/modprobe.d/vfiotx.conf:\n" + conf)
    env = g.out("grub-editenv %s list" % GRUBENV)
    host.log("grubenv after apply:\n" + env)
    check("vfiotx_trial=" in env and "vfiotx_tries=" in env, "apply armed no trial:\n" + env)
    # arming writes grubenv in place, where GRUB's save_env writes it: a new inode or block
    # would be invisible to GRUB until the ext4 journal is checkpointed
    where = grubenv_location(g)
    host.log("grubenv after apply: (inode, block) %s" % (where,))
    host.check_later(where == grubenv_at, "arming moved grubenv: (inode, block) %s before "
                     "apply, %s after" % (grubenv_at, where))
    g = host.reboot("trial")
    cmdline = through_grub(g, host.info)
    host.log("/proc/cmdline of the trial boot: " + cmdline)
    words = cmdline.split()
    check(any(w.startswith("vfiotx.trial=") for w in words)
          and any(w.startswith("panic=") for w in words),
          "the boot after apply is not a trial boot: " + cmdline)
    for w in added:
        # GRUB expands $vfiotx_trial_args from grubenv (checked above as vfiotx.trial= panic=)
        check(w.startswith("$") or w in words, "/proc/cmdline lacks %s: %s" % (w, cmdline))
    state, age = wait_unit_done(g, "vfiotx-confirm.service")
    # (b) the power cut is the next thing after the confirmation: no sync, no clean shutdown
    host.power_cut()
    host.log("vfiotx-confirm.service was %s; the power cut %.1fs after it finished" % (state, age))
    host.log("vfiotx on the trial boot's console:\n" + console_lines(g, r"vfiotx"))
    check(state == "active", "vfiotx-confirm.service did not confirm the trial: " + state)
    what_grub_reads(host, "cut after the confirmation", grubenv_at)
    g = host.boot("after-confirm-cut")
    cmdline = through_grub(g, host.info)
    host.log("/proc/cmdline after the confirmation and the power cut: " + cmdline)
    check("vfiotx.trial=" not in cmdline and "panic=" not in cmdline,
          "the boot after the confirmation is still a trial: " + cmdline)
    words = cmdline.split()
    for w in added:
        check(w.startswith("$") or w in words, "/proc/cmdline lacks %s: %s" % (w, cmdline))
    out = g.out("lspci -nnk -s %s" % bdf)
    host.log("lspci -nnk -s %s:\n%s" % (bdf, out))
    check("Kernel driver in use: vfio-pci" in out, "edu is not bound to vfio-pci at boot")
    group = g.out("basename $(readlink /sys/bus/pci/devices/%s/iommu_group)" % bdf)
    check(group.isdigit(), "edu has no IOMMU group: " + group)
    host.log(g.out("test -c /dev/vfio/%s && ls -l /dev/vfio" % group))
    modules_loaded_at_boot(g, want=True)
    initramfs_has(g, kernels, VFIO_MODULES, ["/etc/modprobe.d/vfiotx.conf"])
    g.sh("lsinitramfs /boot/initrd.img-$(uname -r) | grep -E 'vfio|modprobe.d'")
    env = g.out("grub-editenv %s list" % GRUBENV)
    host.log("grubenv after the confirmation:\n" + env)
    check("vfiotx_" not in env, "the trial counter is still in grubenv:\n" + env)
    out = g.out("vfiotx status")
    host.log("vfiotx status:\n" + out)
    check("state: good" in out and "state: interrupted" not in out and "pending rebuild" not in out
          and "not confirmed" not in out, "status is not good after the confirmation:\n" + out)
    check(any(line.startswith("passed through:") and EDU_ID in line
              for line in out.splitlines()), "status does not list edu as passed through")
    log = g.out("vfiotx log")
    host.log("vfiotx log:\n" + log)
    check(any(line.split()[:1] == ["2"] and "apply" in line for line in log.splitlines()),
          "log does not show the apply")
    check(any("confirm" in line for line in log.splitlines()[:2]),
          "log does not show the confirmation:\n" + log)
    fsck_journal(g)
    vm_config_starts_qemu(host, g, bdf)
    host.shutdown()


def vm_config_starts_qemu(host, g, bdf):
    """`vfiotx vm-config --for qemu` for edu gives arguments a nested QEMU accepts: started
    stopped (-S: TCG in TCG would crawl, and the proof is the device, not a guest OS). Realizing
    vfio-pci opens edu through /dev/vfio/<group>; a failure ends QEMU before QMP answers. QMP's
    `info qtree` must then show the vfio-pci device for edu on the bus of the root port
    vm-config adds (query-pci cannot: before firmware runs, no bus behind a bridge is
    numbered)."""
    out = g.out("vfiotx --json vm-config --for qemu")
    doc = json.loads(out)
    entry = [e for e in doc["entries"] if e["host"] == bdf]
    check(len(entry) == 1, "vm-config has no entry for edu %s:\n%s" % (bdf, out))
    argv = entry[0]["argv"]
    host.log("vm-config --for qemu: %s" % " ".join(argv))
    ports = [a.split("id=")[1].split(",")[0] for a in argv if a.startswith("pcie-root-port,")]
    check(len(ports) == 1, "vm-config gives no root port for edu: %s" % argv)
    qmp = ('{"execute":"qmp_capabilities"}\\n{"execute":"human-monitor-command",'
           '"arguments":{"command-line":"info qtree"}}\\n{"execute":"quit"}\\n')
    cmd = ("printf '%s' | timeout 120 qemu-system-x86_64 -S -machine q35 -accel tcg -m 64 "
           "-nodefaults -display none -qmp stdio %s" % (qmp, " ".join("'%s'" % a for a in argv)))
    rc, out = g.sh(cmd, check=False, timeout=180)
    tree = None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{") and '"return"' in line:
            ret = json.loads(line).get("return")
            if isinstance(ret, str) and "dev:" in ret:
                tree = ret
    host.log("nested qemu -S (exit %d):\n%s" % (rc, out[-1500:] if tree is None else
                                                  "\n".join(l for l in out.splitlines()
                                                            if not l.startswith("{"))))
    check(tree is not None, "the nested QEMU did not answer info qtree (exit %d):\n%s"
          % (rc, out[-2000:]))
    section = tree[tree.find("bus: %s" % ports[0]):] if ("bus: %s" % ports[0]) in tree else ""
    dev = section[section.find("dev: vfio-pci"):] if "dev: vfio-pci" in section else ""
    host.log("the root port's bus in the nested QEMU:\n" + section[:600])
    check(dev and bdf[5:] in dev[:2000], "the nested QEMU has no vfio-pci device for edu %s on "
          "the bus of %s:\n%s" % (bdf, ports[0], section[:1500]))


VIRTIO_BLK_ID = "1af4:1001"
TRIAL_UNITS = package_image.TRIAL_UNITS
BROKEN_BOOT_TIMEOUT = 900  # the trial boots, the fallback boot and its restore + rebuild (TCG)


def bless_boot(host, g):
    """systemd-bless-boot.service on this boot: [ActiveState, Result, ConditionResult], logged
    with its journal."""
    props = dict(line.split("=", 1) for line in g.out(
        "systemctl show -p ActiveState -p Result -p ConditionResult "
        "systemd-bless-boot.service").splitlines() if "=" in line)
    got = [props.get(k, "?") for k in ("ActiveState", "Result", "ConditionResult")]
    host.log("systemd-bless-boot: %s\n%s" % (" ".join(got), g.out(
        "journalctl -b -u systemd-bless-boot.service --no-pager -o cat | tail -3")))
    return got


def install_trial_pieces(host, g):
    """What the boot-counted trial needs on the host. From the package (--deb): check that its
    postinst left it: the units enabled, grub.cfg with 42_vfiotx's counter block and the last
    good entry (update-grub ran), a grubenv. From a `cmake --install` tree: do what the postinst
    does: enable the units `cmake --install --prefix /usr` put into /usr/lib/systemd/system
    (their ExecStart names /usr/sbin/vfiotx: configured at install time), create a grubenv, run
    update-grub once."""
    binary = g.out("command -v vfiotx")
    check(binary == "/usr/sbin/vfiotx", "vfiotx is not /usr/sbin/vfiotx on the guest: " + binary)
    g.sh("test -x /etc/grub.d/42_vfiotx")
    unitdir = "/lib/systemd/system" if host.deb else "/usr/lib/systemd/system"
    for unit in TRIAL_UNITS:
        exec_start = g.out("grep -h '^ExecStart=' %s/%s || true" % (unitdir, unit))
        check(unit.endswith(".timer") or exec_start.startswith("ExecStart=/usr/sbin/vfiotx "),
              "%s as installed does not run /usr/sbin/vfiotx: %r" % (unit, exec_start))
    if host.deb:
        enabled = g.out("systemctl is-enabled %s" % " ".join(TRIAL_UNITS))
        check(enabled.split() == ["enabled"] * len(TRIAL_UNITS),
              "the package's units are not enabled: " + enabled)
        g.sh("test -f /boot/grub/grubenv")
    else:
        g.sh("systemctl enable %s" % " ".join(TRIAL_UNITS))
        g.sh("test -f /boot/grub/grubenv || grub-editenv /boot/grub/grubenv create")
        t = time.monotonic()
        g.sh("update-grub", timeout=300)
        host.log("update-grub with 42_vfiotx: %.0fs" % (time.monotonic() - t))
    host.log("trial units:\n" + g.out("systemctl is-enabled %s; systemctl cat vfiotx-boot "
                                      "vfiotx-confirm | grep -E '^(ExecStart|WantedBy|After)='"
                                      % " ".join(TRIAL_UNITS)))
    g.sh("grep -q vfiotx-last-good /boot/grub/grub.cfg && grep -q vfiotx_tries /boot/grub/grub.cfg")


def wait_unit_done(g, unit, timeout=300):
    """Wait until a oneshot unit with RemainAfterExit= is active (it ran and succeeded) or
    failed; returns its ActiveState and how many seconds ago its command exited (polled every
    0.2 s: a power cut can follow within a second)."""
    out = g.out("i=0; while [ $i -lt %d ]; do s=$(systemctl show -P ActiveState %s); "
                "case $s in active|failed) break;; esac; sleep 0.2; i=$((i+1)); done; "
                "read up _ </proc/uptime; "
                "echo $s ${up%%.*}${up#*.} $(systemctl show -P ExecMainExitTimestampMonotonic %s)"
                % (timeout * 5, unit, unit), timeout=timeout + 30)
    state, now_cs, exited_us = (out.split() + ["", "", ""])[:3]
    age = (int(now_cs) / 100 - int(exited_us) / 1e6) if exited_us.isdigit() and exited_us != "0" \
        else float("nan")
    return state, age


GRUBENV = "/boot/grub/grubenv"


def grubenv_vars(data):
    """{name: value} of a GRUB environment block (bytes; comment lines and padding skipped)."""
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def grubenv_location(g):
    """(inode, physical block of its first 4 KiB) of grubenv as the running kernel has it
    (stat and FIEMAP: nothing is flushed or written)."""
    out = g.out("stat -c %%i %s; filefrag -v %s" % (GRUBENV, GRUBENV))
    m = re.search(r"^\s*0:\s+0\.\.\s*\d+:\s+(\d+)\.\.", out, re.M)
    check(out.splitlines()[0].isdigit() and m, "no inode and block for grubenv:\n" + out)
    return int(out.splitlines()[0]), int(m.group(1))


def boot_files(host, fs):
    """What GRUB reads from /boot on this host: grubenv, grub.cfg, the default kernel and its
    initramfs, the last good entry (/boot/vfiotx/entry.cfg) and the files it names; paths as
    `fs` (ReplayedCopy) has them."""
    kver = host.info["default_kernel"]
    paths = [GRUBENV, "/boot/grub/grub.cfg", "/boot/vmlinuz-" + kver, "/boot/initrd.img-" + kver,
             "/boot/vfiotx/entry.cfg"]
    entry = fs.read("/boot/vfiotx/entry.cfg") or b""
    paths += sorted(set("/boot/vfiotx/" + n for n in re.findall(
        r"\$\{vfiotx_dir\}/([^\s;]+)", entry.decode("utf-8", "replace"))))
    return paths


def what_grub_reads(host, when, grubenv_at, armed=None):
    """After a power cut, before the next boot: /boot as GRUB will read it (the ext4 journal not
    replayed: the metadata in its home locations) against /boot as the kernel will mount it
    (replayed). grubenv holds the armed trial `armed` = (txn, tries) or no vfiotx_* variable,
    at its inode and block from before arming `grubenv_at`; every boot file is the same in both
    views. Failures are recorded (check_later): the next boot shows what they do."""
    if host.image == "uefi-grub":
        # GRUB on UEFI: the firmware reads the ESP (FAT, no journal); the stub there must send
        # GRUB to /boot/grub, whose grubenv is checked below
        stub = vmlib.esp_read(host.disk, host.info["esp_offset"], "/EFI/debian/grub.cfg")
        host.check_later(stub is not None and b"'/boot/grub'" in stub, "%s: the ESP's "
                         "EFI/debian/grub.cfg does not load /boot/grub: %r" % (when, stub))
    env = vmlib.read_unreplayed(host.disk, GRUBENV)
    got = ({k: v for k, v in grubenv_vars(env).items() if k.startswith("vfiotx_")}
           if env is not None else None)
    host.log("%s: grubenv as GRUB reads it (journal not replayed): %s" % (when, got))
    if armed:
        want = "vfiotx_trial=%s vfiotx_tries=%s, no vfiotx_fallback" % armed
        ok = (got is not None and got.get("vfiotx_trial") == str(armed[0])
              and got.get("vfiotx_tries") == str(armed[1]) and "vfiotx_fallback" not in got)
    else:
        want, ok = "no vfiotx_* variable", got == {}
    host.check_later(ok, "%s: GRUB would read %s from grubenv, not %s:\n%s"
                     % (when, got, want, env.decode("utf-8", "replace").rstrip("#\n")
                        if env else env))
    where = vmlib.unreplayed_location(host.disk, GRUBENV)
    host.check_later(where == grubenv_at, "%s: GRUB finds grubenv at (inode, block) %s, not "
                     "where it was before arming %s" % (when, where, grubenv_at))
    with vmlib.ReplayedCopy(host.disk, host.artifacts) as fs:
        where = fs.location(GRUBENV)
        host.check_later(where == grubenv_at, "%s: the kernel will find grubenv at (inode, "
                         "block) %s, not where it was before arming %s: it was moved, and GRUB "
                         "does not see a move until the journal is checkpointed"
                         % (when, where, grubenv_at))
        differ, same = [], []
        for path in boot_files(host, fs):
            kernel_sees = fs.read(path)
            try:
                grub_sees = vmlib.read_unreplayed(host.disk, path)
            except VMError as e:
                grub_sees = "unreadable: %s" % e
            if grub_sees != kernel_sees:
                differ.append("%s: GRUB reads %s, the kernel %s" % (
                    path, describe(grub_sees), describe(kernel_sees)))
            else:
                same.append("%s (%s)" % (path, describe(kernel_sees)))
    host.log("%s: the same for GRUB and the kernel: %s" % (when, ", ".join(same) or "nothing"))
    host.check_later(not differ, "%s: files GRUB reads are not what the kernel will see:\n%s"
                     % (when, "\n".join(differ)))


def console_lines(g, pattern, last=15):
    """The last lines of a boot's console that match, but not the commands the test typed."""
    return "\n".join([line for line in re.findall(r"^.*(?:%s).*$" % pattern, g.buf, re.M)
                      if "@@" not in line and "systemctl show" not in line][-last:])


def describe(data):
    if data is None or isinstance(data, str):
        return data or "nothing (absent)"
    return "%d bytes, sha256 %s" % (len(data), hashlib.sha256(data).hexdigest()[:16])


def uefi_grub_host(host, g):
    """The host boots GRUB on UEFI: OVMF started shim and the signed GRUB from the ESP (mounted
    at /boot/efi from fstab), which read EFI/debian/grub.cfg's stub and then /boot/grub/grub.cfg;
    vfiotx finds the counter in /boot/grub/grubenv as on BIOS."""
    g.sh("test -d /sys/firmware/efi")
    check(g.out("findmnt -n -o FSTYPE /boot/efi") == "vfat", "no vfat ESP at /boot/efi")
    stub = g.out("cat /boot/efi/EFI/debian/grub.cfg")
    host.log("EFI/debian/grub.cfg (GRUB EFI's stub):\n" + stub)
    check("/boot/grub" in stub, "the EFI stub does not load /boot/grub/grub.cfg:\n" + stub)
    host.log("efibootmgr:\n" + g.out("efibootmgr"))
    rc, out = g.sh("vfiotx check", check=False)
    host.log("vfiotx check (exit %d):\n%s" % (rc, out))
    check(re.search(r"can arm a boot-counted trial: grubenv on ext4", out),
          "vfiotx check does not find the GRUB counter on this UEFI host:\n" + out)
    # status names the boot path and the firmware as the guest has them (OVMF_VARS_4M.fd has
    # Secure Boot off)
    bc = json.loads(g.out("vfiotx status --json"))["boot_counter"]
    host.log("vfiotx status --json boot_counter: %s" % json.dumps(bc))
    check(bc["boot_path"] == "grub-efi" and bc["firmware"] == "uefi" and
          bc["secure_boot"] == "off" and bc["available"], "status on UEFI GRUB: %r" % (bc,))


def scenario_uefi_grub(host):
    """broken-boot on GRUB on UEFI (OVMF; shim and signed GRUB on the ESP, grubenv on /boot as
    Debian 12's installer sets it up: uefi_image.py), with --tries 1: the armed apply and its
    power cut, one trial boot dying in the initramfs, GRUB EFI's fallback to the last good entry,
    the restore and its power cut, a normal boot (see broken-boot)"""
    scenario_broken_boot(host, tries=1)


def check_fallback_boot(host, g, cmdline, state, tries):
    """The QEMU run of the dying trial boots and the fallback: `tries` trial boots failed in the
    initramfs (panic= rebooted each), the boot that came up (`cmdline`: /proc/cmdline and
    uname -r) is the last good entry on the default kernel, vfiotx-boot.service succeeded."""
    fails = re.findall(r"^.*(?:ALERT!|Gave up waiting|Rebooting automatically|"
                       r"vfiotx: ).*$", g.buf, re.M)
    host.log("trial boots failing:\n" + "\n".join(fails))
    alerts = [f for f in fails if "ALERT!" in f]
    check(len(alerts) == tries, "expected %d trial boot(s) failing in the initramfs, saw %d"
          % (tries, len(alerts)))
    host.log("/proc/cmdline, uname -r of the boot that came up:\n" + cmdline)
    cmdline, kver = cmdline.splitlines()
    check("vfiotx.fallback=1" in cmdline.split() and "panic=" not in cmdline
          and "vfiotx.trial=" not in cmdline, "running boot is not the last good entry: "
          + cmdline)
    check(kver == host.info["default_kernel"], "the fallback booted another kernel")
    check(state == "active", "vfiotx-boot.service on the fallback boot: " + state)


ESP_ENTRIES = "/loader/entries/"
LOADER_GUID = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"  # systemd-boot's EFI variables


def esp_entries(host, when, off=None):
    """vfiotx's entries on the ESP as the firmware reads it (FAT: no journal to replay), and
    the files they name, {name: bytes}; every file an entry names must be on the ESP, whole.
    off: the ESP's offset on the disk (a disk with two: info["esp_offsets"]), else the first
    one's."""
    if off is None:
        off = host.info["esp_offset"]
    files = vmlib.esp_list(host.disk, off)
    got = {}
    for path in files:
        if path.startswith(ESP_ENTRIES + "vfiotx-"):
            got[path[len(ESP_ENTRIES):]] = vmlib.esp_read(host.disk, off, path)
    for name, data in got.items():
        for m in re.finditer(r"^(?:linux|initrd)\s+(\S+)", data.decode(errors="replace"), re.M):
            body = vmlib.esp_read(host.disk, off, m.group(1))
            host.check_later(body, "%s: %s names %s, which the ESP does not have"
                             % (when, name, m.group(1)))
    host.log("%s: vfiotx's entries on the ESP at %d: %s" % (when, off, sorted(got)))
    return got


def sdboot_host(host, g):
    """The host boots systemd-boot (LoaderInfo) from the ESP at /boot/efi with
    kernel-install's entries; vfiotx finds its boot counter there."""
    g.sh("test -d /sys/firmware/efi")
    info = g.out("bootctl status --no-pager 2>&1 | grep -E 'Product:|Current Entry:|Default "
                 "Entry:' || true")
    host.log("bootctl status:\n" + info)
    check("systemd-boot" in info, "the boot did not come through systemd-boot:\n" + info)
    check(g.out("uname -r") == host.info["default_kernel"], "booted a kernel other than the "
          "default")
    rc, out = g.sh("vfiotx check", check=False)
    host.log("vfiotx check (exit %d):\n%s" % (rc, out))
    check(re.search(r"can arm a boot-counted trial: systemd-boot", out),
          "vfiotx check does not find the systemd-boot counter:\n" + out)
    bc = json.loads(g.out("vfiotx status --json"))["boot_counter"]
    host.log("vfiotx status --json boot_counter: %s" % json.dumps(bc))
    check(bc["boot_path"] == "systemd-boot" and bc["firmware"] == "uefi" and bc["available"],
          "status on systemd-boot: %r" % (bc,))


def sdboot_default_kernel_only(host, g):
    """default_kernel_only on the systemd-boot disk: the other kernel has no entry on the ESP
    (uefi_image.py), and without its image in /boot a rebuild does not write one for it either
    (kernel-install), so the ESP keeps one kernel as on a plain host."""
    kernels = default_kernel_only(host, g)
    others = [k for k in host.info["kernels"] if k != host.info["default_kernel"]]
    if others:
        g.sh("mkdir -p /root/kernels && mv %s /root/kernels/"
             % " ".join("/boot/vmlinuz-%s" % k for k in others))
    return kernels


def after_sdboot_confirm(host, g, edu):
    """After a systemd-boot trial confirmed itself: LoaderEntryDefault unset, edu on vfio-pci,
    status good."""
    g.sh("test ! -e /sys/firmware/efi/efivars/LoaderEntryDefault-" + LOADER_GUID)
    drv, out = driver_of(g, edu)
    check(drv == "vfio-pci", "edu is on %s after the confirmation:\n%s" % (drv, out))
    status = g.out("vfiotx status")
    host.log("vfiotx status after the confirmation:\n" + status)
    check("state: good" in status, "status is not good after the confirmation:\n" + status)


def apply_root_disk_and_cut(host, g):
    """A broken trial: apply --force --tries 1 binds the root disk's virtio-blk controller to
    vfio-pci, and the power is cut as soon as it returns. (bdf, its driver before, apply's
    output, the match of its transaction number)."""
    bdf = g.out("lspci -D -n -d %s | cut -d' ' -f1" % VIRTIO_BLK_ID)
    check(re.match(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$", bdf),
          "no single virtio-blk controller (%s): %r" % (VIRTIO_BLK_ID, bdf))
    disk_driver, _ = driver_of(g, bdf)
    t = time.monotonic()
    rc, out = g.sh("vfiotx apply -y --force --tries 1 --device %s" % bdf,
                   timeout=REBUILD_TIMEOUT, check=False)
    host.power_cut()
    host.log("vfiotx apply -y --force --tries 1 --device %s (exit %d, %.0fs):\n%s"
             % (bdf, rc, time.monotonic() - t, out))
    m = re.search(r"applied as transaction (\d+)", out)
    check(rc == 0 and m, "apply --device <root disk> failed")
    return bdf, disk_driver, out, m


def after_sdboot_fallback(host, g, bdf, disk_driver, edu):
    """The normal boot after a systemd-boot fallback (uefi-sdboot, uefi-pbt): LoaderEntryDefault
    unset, the root disk's controller on its driver, status rolled back (tries exhausted), the
    good snapshot the confirmed seed procedure's (edu stays on vfio-pci), the fallback in the
    log, git fsck clean; then the guest is shut down."""
    g.sh("test ! -e /sys/firmware/efi/efivars/LoaderEntryDefault-" + LOADER_GUID)
    drv, out = driver_of(g, bdf)
    check(drv == disk_driver, "the root disk controller is on %s, not %s:\n%s"
          % (drv, disk_driver, out))
    status = g.out("vfiotx status")
    host.log("vfiotx status after the fallback:\n" + status)
    check("state: rolled back" in status and "tries exhausted" in status,
          "status does not say rolled back / tries exhausted:\n" + status)
    # the good snapshot is the confirmed seed procedure's: edu stays on vfio-pci
    conf = g.out("cat /etc/modprobe.d/vfiotx.conf")
    check(EDU_ID in conf and VIRTIO_BLK_ID not in conf, "the restored modprobe.d:\n" + conf)
    drv, out = driver_of(g, edu)
    check(drv == "vfio-pci", "edu is on %s after the fallback:\n%s" % (drv, out))
    log = g.out("vfiotx log")
    host.log("vfiotx log:\n" + log)
    check(any("fallback" in line for line in log.splitlines()),
          "the log shows no fallback entry:\n" + log)
    fsck_journal(g)
    host.shutdown()


def scenario_uefi_sdboot(host):
    """The boot-counted rollback on systemd-boot (Debian 12's systemd-boot package, entries
    written by kernel-install: uefi_image.py), with --tries 1 and power cuts: apply --force
    binds the root disk's controller to vfio-pci; the ESP then holds vfiotx-1-trial-<txn>+1.conf
    and the last good entry with its kernel and initramfs; the trial boot dies in the initramfs
    and panic= reboots it; systemd-boot boots the last good entry by itself (the trial at +0-1,
    LoaderEntryDefault "vfiotx-*"), vfiotx boot restores the good snapshot and rebuilds, and the
    power is cut as soon as it is done; the next boot is a normal one of the distribution's
    entry: the controller on its driver, status rolled back, the trial entry and the variable
    gone, the last good entry kept, git fsck clean."""
    g = host.boot("first")
    sdboot_host(host, g)
    kernels = sdboot_default_kernel_only(host, g)
    install_trial_pieces(host, g)
    default_entry = g.out("bootctl list --no-pager 2>/dev/null | sed -n 's/^ *id: //p' | head -1")
    host.log("the default entry before apply: " + default_entry)
    # (1) the seed's procedure, a trial that confirms itself: the loader counts one try in the
    # entry's name, systemd-bless-boot takes the counter off, vfiotx-confirm ends the trial
    edu = edu_bdf(g)
    t = time.monotonic()
    rc, out = g.sh("vfiotx apply -y --tries 2 --device %s" % EDU_ID, timeout=REBUILD_TIMEOUT,
                   check=False)
    host.log("vfiotx apply -y --tries 2 --device %s (exit %d, %.0fs):\n%s"
             % (EDU_ID, rc, time.monotonic() - t, out))
    m = re.search(r"applied as transaction (\d+)", out)
    check(rc == 0 and m, "apply --device edu failed")
    seed_txn = m.group(1)
    check_rebuilt(host, out, kernels, "apply --device edu")
    entries = g.out("ls /boot/efi/loader/entries")
    host.log("the ESP's entries after apply:\n" + entries)
    check("vfiotx-1-trial-%s+2.conf" % seed_txn in entries.split(),
          "apply armed no trial entry:\n" + entries)
    g = host.reboot("seed-trial")
    cmdline = g.out("cat /proc/cmdline")
    host.log("/proc/cmdline of the trial boot: " + cmdline)
    check("vfiotx.trial=%s" % seed_txn in cmdline.split() and "panic=10" in cmdline.split(),
          "the boot after apply is not the trial: " + cmdline)
    state, age = wait_unit_done(g, "vfiotx-confirm.service")
    host.log("vfiotx-confirm.service was %s (%.1fs ago)" % (state, age))
    host.log("vfiotx on the trial boot's console:\n" + console_lines(g, r"vfiotx"))
    bless = bless_boot(host, g)
    check(bless == ["active", "success", "yes"],
          "systemd-bless-boot did not bless the trial entry: %s" % bless)
    check(state == "active", "vfiotx-confirm.service did not confirm the trial: " + state)
    entries = g.out("ls /boot/efi/loader/entries")
    host.log("the ESP's entries after the confirmation:\n" + entries)
    check(not any(e.startswith("vfiotx-1-trial-") for e in entries.split()) and
          "vfiotx-0-last-good.conf" in entries.split(),
          "after the confirmation the ESP has:\n" + entries)
    after_sdboot_confirm(host, g, edu)
    # (2) a broken trial on top of it: the root disk's controller
    bdf, disk_driver, out, m = apply_root_disk_and_cut(host, g)
    check_rebuilt(host, out, kernels, "apply")
    ents = esp_entries(host, "cut after the armed apply")
    trial = "vfiotx-1-trial-%s+1.conf" % m.group(1)
    check(trial in ents and "vfiotx-0-last-good.conf" in ents,
          "after the armed apply the ESP has %s, not %s and the last good entry"
          % (sorted(ents), trial))
    opts = re.search(r"^options\s+(.*)$", ents[trial].decode(), re.M)
    check(opts and "vfiotx.trial=%s" % m.group(1) in opts.group(1).split()
          and "panic=10" in opts.group(1).split() and "vfiotx_trial_args" not in opts.group(1),
          "the trial entry:\n" + ents[trial].decode())
    check(re.search(r"^version\s+%s$" % re.escape(host.info["default_kernel"]),
                    ents[trial].decode(), re.M), "the trial does not boot the default kernel:\n"
          + ents[trial].decode())
    check("vfiotx.fallback=1" in ents["vfiotx-0-last-good.conf"].decode(),
          "the last good entry:\n" + ents["vfiotx-0-last-good.conf"].decode())
    # one QEMU process across the trial boot (panic= reboots it) and the fallback boot
    g = host.boot("trial-and-fallback", timeout=BROKEN_BOOT_TIMEOUT, no_reboot=False)
    cmdline = g.out("cat /proc/cmdline; uname -r")
    state, age = wait_unit_done(g, "vfiotx-boot.service")
    host.power_cut()
    host.log("vfiotx-boot.service was %s; the power cut %.1fs after it finished" % (state, age))
    check_fallback_boot(host, g, cmdline, state, tries=1)
    ents = esp_entries(host, "cut after the fallback's restore")
    check(sorted(ents) == ["vfiotx-0-last-good.conf"],
          "after the fallback the ESP has %s, not only the last good entry" % sorted(ents))
    g = host.boot("after-fallback-cut")
    cmdline = g.out("cat /proc/cmdline")
    host.log("/proc/cmdline after the fallback and the power cut: " + cmdline)
    check("vfiotx.fallback" not in cmdline and "vfiotx.trial=" not in cmdline
          and "panic=" not in cmdline, "the boot after the fallback is not a normal one: "
          + cmdline)
    # (efivarfs files do not seek: read through a pipe; 4 bytes of attributes, then UTF-16)
    current = g.out("cat /sys/firmware/efi/efivars/LoaderEntrySelected-%s | tail -c +5 | "
                    "tr -d '\\0'" % LOADER_GUID)
    host.log("systemd-boot booted: " + current)
    check(current == default_entry, "booted %r, not the distribution's entry %r"
          % (current, default_entry))
    after_sdboot_fallback(host, g, bdf, disk_driver, edu)


def loader_var(g, name):
    """One of systemd-boot's EFI variables as text (efivarfs files do not seek: read through
    a pipe; 4 bytes of attributes, then UTF-16)."""
    return g.out("cat /sys/firmware/efi/efivars/%s-%s | tail -c +5 | tr -d '\\0'"
                 % (name, LOADER_GUID))


def pbt_booted(host, g, esp):
    """The boot came through systemd-boot from ESP number `esp` (0, 1) of the pbt disk
    (LoaderDevicePartUUID), on proxmox-boot-tool's entry of the default kernel, with
    /etc/kernel/cmdline as its command line (plus the initrd= systemd-boot adds); no ESP is
    mounted."""
    g.sh("test -d /sys/firmware/efi")
    kver = host.info["default_kernel"]
    host.log("bootctl status:\n" + g.sh("bootctl status --no-pager 2>&1 | head -n 25",
                                         check=False)[1])
    loader = loader_var(g, "LoaderInfo")
    part = loader_var(g, "LoaderDevicePartUUID").lower()
    entry = loader_var(g, "LoaderEntrySelected")
    host.log("LoaderInfo: %s; LoaderDevicePartUUID: %s (ESP%d's: %s); LoaderEntrySelected: %s"
             % (loader, part, esp + 1, host.info["esp_partuuids"][esp], entry))
    check(loader.startswith("systemd-boot"), "the boot did not come through systemd-boot: "
          + loader)
    check(part == host.info["esp_partuuids"][esp], "systemd-boot came from partition %s, not "
          "from ESP%d (%s)" % (part, esp + 1, host.info["esp_partuuids"][esp]))
    check(entry == "proxmox-%s.conf" % kver, "systemd-boot booted %r, not "
          "proxmox-boot-tool's entry of %s" % (entry, kver))
    check(g.out("uname -r") == kver, "booted a kernel other than the default")
    cmdline = g.out("cat /proc/cmdline")
    want = g.out("cat /etc/kernel/cmdline")
    host.log("/proc/cmdline: %s\n/etc/kernel/cmdline: %s" % (cmdline, want))
    check([w for w in cmdline.split() if not w.startswith("initrd=")] == want.split(),
          "/proc/cmdline is not /etc/kernel/cmdline")
    g.sh('test -z "$(findmnt -n -t vfat -o TARGET)"')
    host.log("efibootmgr -v:\n" + g.out("efibootmgr -v"))


# written on both ESPs before proxmox-boot-tool refresh: what is not its own stays, what is
# its own but names no kernel in /boot goes
PBT_STALE = "9.9.9-stale"


def pbt_plant(g, host):
    """A vfiotx entry, a file in a directory of vfiotx's and a stale kernel of
    proxmox-boot-tool's on each ESP (mounted for this only)."""
    kver = host.info["default_kernel"]
    entry = ("title vfiotx test\nversion %s\noptions %s\nlinux /EFI/proxmox/%s/vmlinuz-%s\n"
             "initrd /EFI/proxmox/%s/initrd.img-%s\n"
             % (kver, g.out("cat /etc/kernel/cmdline"), kver, kver, kver, kver))
    g.sh("printf '%s' >/tmp/vfiotx-test.conf" % entry.replace("\n", "\\n"))
    for uuid in host.info["esp_uuids"]:
        g.sh("mkdir -p /mnt/esp && mount /dev/disk/by-uuid/%s /mnt/esp" % uuid)
        g.sh("cd /mnt/esp && cp /tmp/vfiotx-test.conf loader/entries/ && "
             "mkdir -p vfiotx EFI/proxmox/{s} && echo kept >vfiotx/keep && "
             "echo stale >EFI/proxmox/{s}/vmlinuz-{s} && "
             "cp loader/entries/proxmox-{k}.conf loader/entries/proxmox-{s}.conf"
             .format(s=PBT_STALE, k=kver))
        g.sh("umount /mnt/esp")
    return entry.encode()


def pbt_esps_after_refresh(host, entry):
    """Read from the powered-off disk: each ESP has proxmox-boot-tool's entry and copies of
    the default kernel, its loader.conf, and vfiotx's files as they were; the stale kernel is
    gone."""
    kver = host.info["default_kernel"]
    boot = {name: vmlib.read_guest_file(host.disk, "/boot/%s-%s" % (name, kver))
            for name in ("vmlinuz", "initrd.img")}
    cmdline = vmlib.read_guest_file(host.disk, "/etc/kernel/cmdline").decode().strip()
    for off, uuid in zip(host.info["esp_offsets"], host.info["esp_uuids"]):
        files = vmlib.esp_list(host.disk, off)
        host.log("ESP %s at %d after refresh:\n%s" % (uuid, off, "\n".join(files)))
        ents = esp_entries(host, "after refresh, ESP " + uuid, off)
        check(ents.get("vfiotx-test.conf") == entry, "ESP %s: vfiotx-test.conf is %r"
              % (uuid, ents.get("vfiotx-test.conf")))
        check(vmlib.esp_read(host.disk, off, "/vfiotx/keep") == b"kept\n",
              "ESP %s: refresh touched /vfiotx/keep" % uuid)
        check(not [f for f in files if PBT_STALE in f], "ESP %s: the stale kernel stayed" % uuid)
        check(vmlib.esp_read(host.disk, off, "/loader/loader.conf") ==
              b"timeout 3\ndefault proxmox-*\n", "ESP %s: loader.conf" % uuid)
        own = vmlib.esp_read(host.disk, off, "/loader/entries/proxmox-%s.conf" % kver)
        check(own and re.search(r"^options\s+%s$" % re.escape(cmdline), own.decode(), re.M),
              "ESP %s: proxmox-%s.conf:\n%r" % (uuid, kver, own))
        for name, data in boot.items():
            check(vmlib.esp_read(host.disk, off, "/EFI/proxmox/%s/%s-%s" % (kver, name, kver))
                  == data, "ESP %s: %s-%s is not /boot's" % (uuid, name, kver))


def scenario_pbt_boot(host):
    """Smoke test of the proxmox-boot-tool disk (uefi-pbt; by hand, not in ctest).
    The host boots systemd-boot from ESP1 on proxmox-boot-tool's entry with
    /etc/kernel/cmdline, no ESP mounted, Debian's systemd-boot hooks inert; refresh in the
    running host rewrites its own entries and kernels on both ESPs and leaves vfiotx's files;
    with systemd-boot deleted from ESP1 the firmware starts it from ESP2 (its own Boot####
    entry)."""
    g = host.boot("esp1")
    pbt_booted(host, g, 0)
    kver = host.info["default_kernel"]
    host.log("proxmox-boot-tool status:\n" + g.out("proxmox-boot-tool status"))
    # Debian's systemd-boot hooks, as a kernel or initramfs update runs them: nothing, since
    # no ESP is mounted (`bootctl is-installed` fails; it says why on stderr even with
    # --quiet); they would say "Installing/Updating kernel version" before kernel-install
    check(g.sh("bootctl is-installed", check=False)[0] != 0, "bootctl finds an installed ESP")
    for hook in ("/etc/kernel/postinst.d/zz-systemd-boot %s /boot/vmlinuz-%s",
                 "/etc/initramfs/post-update.d/systemd-boot %s /boot/initrd.img-%s"):
        out = g.out(hook % (kver, kver) + " 2>&1")
        host.log("%s:\n%s" % (hook.split()[0], out))
        check("kernel version" not in out, "%s did something" % hook.split()[0])
    entry = pbt_plant(g, host)
    t = time.monotonic()
    out = g.out("proxmox-boot-tool refresh 2>&1", timeout=600)
    host.log("proxmox-boot-tool refresh (%.0fs):\n%s" % (time.monotonic() - t, out))
    for uuid in host.info["esp_uuids"]:
        check("Copying and configuring kernels on /dev/disk/by-uuid/%s" % uuid in out,
              "refresh did not write ESP " + uuid)
    check(out.count("Removing old version %s" % PBT_STALE) == 2, "refresh left the stale kernel")
    # the initramfs hook: skipped when a kernel package's hook runs update-initramfs (that
    # one refreshes after it), else a refresh
    sync = "/etc/initramfs/post-update.d/proxmox-boot-sync %s /boot/initrd.img-%s" % (kver, kver)
    out = g.out("INITRAMFS_TOOLS_KERNEL_HOOK=1 " + sync)
    check(out == "", "proxmox-boot-sync refreshed from the kernel hook:\n" + out)
    out = g.out(sync + " 2>&1", timeout=600)
    host.log("proxmox-boot-sync:\n" + out)
    check(out.count("Copying and configuring kernels on") == 2, "proxmox-boot-sync did not "
          "refresh both ESPs")
    g.sh('test -z "$(findmnt -n -t vfat -o TARGET)"')
    host.shutdown()
    pbt_esps_after_refresh(host, entry)
    # ESP1 no longer starts: its Boot#### entry's file and the removable-media path are gone
    for path in ("/EFI/systemd/systemd-bootx64.efi", "/EFI/BOOT/BOOTX64.EFI"):
        vmlib.esp_delete(host.disk, host.info["esp_offsets"][0], path)
    host.log("deleted systemd-boot from ESP1 (%s)" % host.info["esp_uuids"][0])
    g = host.boot("esp2")
    firmware = console_lines(g, r"BdsDxe")
    host.log("the firmware on the console:\n" + firmware)
    check(re.search(r'failed to load Boot[0-9A-F]{4} "Linux Boot Manager" from HD\(1,GPT,%s,'
                    % host.info["esp_partuuids"][0].upper(), firmware) and
          re.search(r'starting Boot[0-9A-F]{4} "Linux Boot Manager" from HD\(2,GPT,%s,'
                    % host.info["esp_partuuids"][1].upper(), firmware),
          "the firmware did not try ESP1's entry first, then start ESP2's")
    pbt_booted(host, g, 1)
    host.shutdown()


def pbt_entries(g, host):
    """{ESP UUID: vfiotx's entry names} on each of proxmox-boot-tool's ESPs in the running
    guest (mounted read-only for this only: vfiotx's own mounts are its process's)."""
    got = {}
    for uuid in host.info["esp_uuids"]:
        names = g.out("mkdir -p /mnt/esp && mount -o ro /dev/disk/by-uuid/%s /mnt/esp && "
                      "ls /mnt/esp/loader/entries; umount /mnt/esp" % uuid)
        got[uuid] = sorted(n for n in names.split() if n.startswith("vfiotx-"))
    host.log("vfiotx's entries on the ESPs: %s" % got)
    return got


def scenario_uefi_pbt(host):
    """The boot-counted rollback on proxmox-boot-tool's two ESPs (uefi_image.py's pbt disk:
    systemd-boot on both, proxmox-KVER.conf entries from tests/vm/pbt's stand-in, neither ESP
    mounted): (1) the seed's procedure with --tries 2 writes the trial and last good entries
    on both ESPs; a `proxmox-boot-tool refresh` during the trial leaves them; the trial boots
    from ESP1 and confirms itself, which clears both ESPs. (2) apply --force --tries 1 binds
    the root disk's controller; the power is cut; ESP1 loses its loader (the first disk dies),
    so the firmware starts systemd-boot from ESP2; the trial dies in the initramfs, ESP2's
    loader boots the last good entry by itself, vfiotx boot restores the good snapshot and
    refreshes both ESPs; the power is cut as soon as it is done; the next boot is a normal one of
    proxmox-boot-tool's entry from ESP2, the variable gone, git fsck clean."""
    g = host.boot("first")
    pbt_booted(host, g, 0)
    kernels = default_kernel_only(host, g)
    install_trial_pieces(host, g)
    rc, out = g.sh("vfiotx check", check=False)
    host.log("vfiotx check (exit %d):\n%s" % (rc, out))
    check(re.search(r"can arm a boot-counted trial: systemd-boot", out),
          "vfiotx check does not find the counter on proxmox-boot-tool's ESPs:\n" + out)
    bc = json.loads(g.out("vfiotx status --json"))["boot_counter"]
    host.log("vfiotx status --json boot_counter: %s" % json.dumps(bc))
    check(bc["boot_path"] == "proxmox-systemd-boot" and bc["available"] and
          bc["systemd_boot"]["entry"] == "proxmox-%s.conf" % host.info["default_kernel"],
          "status on proxmox-boot-tool's ESPs: %r" % (bc,))
    # (1) a trial that confirms itself
    edu = edu_bdf(g)
    t = time.monotonic()
    rc, out = g.sh("vfiotx apply -y --tries 2 --device %s" % EDU_ID, timeout=REBUILD_TIMEOUT,
                   check=False)
    host.log("vfiotx apply -y --tries 2 --device %s (exit %d, %.0fs):\n%s"
             % (EDU_ID, rc, time.monotonic() - t, out))
    m = re.search(r"applied as transaction (\d+)", out)
    check(rc == 0 and m, "apply --device edu failed")
    seed_txn = m.group(1)
    check_rebuilt(host, out, kernels, "apply --device edu")
    check("proxmox-boot-tool refresh" in out, "apply did not refresh the ESPs:\n" + out)
    g.sh('test -z "$(findmnt -n -t vfat -o TARGET)"')
    want = ["vfiotx-0-last-good.conf", "vfiotx-1-trial-%s+2.conf" % seed_txn]
    for uuid, names in pbt_entries(g, host).items():
        check(names == want, "ESP %s after apply: %s, not %s" % (uuid, names, want))
    # a kernel update during the trial: proxmox-boot-tool rewrites its own files only
    out = g.out("proxmox-boot-tool refresh 2>&1", timeout=600)
    host.log("proxmox-boot-tool refresh during the trial:\n" + out)
    for uuid, names in pbt_entries(g, host).items():
        check(names == want, "ESP %s after a refresh: %s, not %s" % (uuid, names, want))
    g = host.reboot("seed-trial")
    cmdline = g.out("cat /proc/cmdline")
    host.log("/proc/cmdline of the trial boot: " + cmdline)
    check("vfiotx.trial=%s" % seed_txn in cmdline.split() and "panic=10" in cmdline.split(),
          "the boot after apply is not the trial: " + cmdline)
    check(loader_var(g, "LoaderDevicePartUUID").lower() == host.info["esp_partuuids"][0],
          "the trial did not boot from ESP1")
    state, age = wait_unit_done(g, "vfiotx-confirm.service")
    host.log("vfiotx-confirm.service was %s (%.1fs ago)" % (state, age))
    host.log("vfiotx on the trial boot's console:\n" + console_lines(g, r"vfiotx"))
    # the package's drop-in skips systemd-bless-boot here (it finds no ESP and would fail):
    # skipped, not failed, and no failed unit left once vfiotx confirmed
    bless = bless_boot(host, g)
    check(bless == ["inactive", "success", "no"],
          "systemd-bless-boot was not skipped on the trial boot: %s" % bless)
    check(state == "active", "vfiotx-confirm.service did not confirm the trial: " + state)
    failed = g.out("systemctl list-units --failed --plain --no-legend | cut -d' ' -f1")
    check(failed == "", "failed units after the confirmation: " + failed)
    for uuid, names in pbt_entries(g, host).items():
        check(names == ["vfiotx-0-last-good.conf"], "ESP %s after the confirmation: %s"
              % (uuid, names))
    after_sdboot_confirm(host, g, edu)
    # (2) a broken trial; the firmware boots it from ESP2
    bdf, disk_driver, out, m = apply_root_disk_and_cut(host, g)
    trial = "vfiotx-1-trial-%s+1.conf" % m.group(1)
    for off, uuid in zip(host.info["esp_offsets"], host.info["esp_uuids"]):
        ents = esp_entries(host, "cut after the armed apply, ESP " + uuid, off)
        check(sorted(ents) == ["vfiotx-0-last-good.conf", trial],
              "ESP %s after the armed apply: %s, not %s and the last good entry"
              % (uuid, sorted(ents), trial))
        opts = re.search(r"^options\s+(.*)$", ents[trial].decode(), re.M)
        check(opts and "vfiotx.trial=%s" % m.group(1) in opts.group(1).split()
              and "panic=10" in opts.group(1).split(), "ESP %s: the trial entry:\n%s"
              % (uuid, ents[trial].decode()))
        check("vfiotx.fallback=1" in ents["vfiotx-0-last-good.conf"].decode(),
              "ESP %s: the last good entry:\n%s" % (uuid, ents["vfiotx-0-last-good.conf"]))
    for path in ("/EFI/systemd/systemd-bootx64.efi", "/EFI/BOOT/BOOTX64.EFI"):
        vmlib.esp_delete(host.disk, host.info["esp_offsets"][0], path)
    host.log("deleted systemd-boot from ESP1 (%s): the firmware starts ESP2's"
             % host.info["esp_uuids"][0])
    g = host.boot("trial-and-fallback", timeout=BROKEN_BOOT_TIMEOUT, no_reboot=False)
    cmdline = g.out("cat /proc/cmdline; uname -r")
    state, age = wait_unit_done(g, "vfiotx-boot.service")
    part = loader_var(g, "LoaderDevicePartUUID").lower()
    host.power_cut()
    host.log("vfiotx-boot.service was %s; the power cut %.1fs after it finished; the loader "
             "came from %s" % (state, age, part))
    check_fallback_boot(host, g, cmdline, state, tries=1)
    check(part == host.info["esp_partuuids"][1], "the fallback did not boot from ESP2")
    for off, uuid in zip(host.info["esp_offsets"], host.info["esp_uuids"]):
        ents = esp_entries(host, "cut after the fallback's restore, ESP " + uuid, off)
        check(sorted(ents) == ["vfiotx-0-last-good.conf"],
              "ESP %s after the fallback: %s, not only the last good entry" % (uuid, sorted(ents)))
        own = vmlib.esp_read(host.disk, off, "/loader/entries/proxmox-%s.conf"
                             % host.info["default_kernel"]).decode()
        check(VIRTIO_BLK_ID not in own and "vfiotx" not in own,
              "ESP %s: proxmox-boot-tool's entry after the fallback:\n%s" % (uuid, own))
    g = host.boot("after-fallback-cut")
    pbt_booted(host, g, 1)
    after_sdboot_fallback(host, g, bdf, disk_driver, edu)


def pbt_grub_convert(host, g):
    """The uefi-grub host made into one that proxmox-boot-tool boots in its GRUB mode (as a
    Proxmox VE host with root on ZFS and Secure Boot): the ESP leaves fstab, `proxmox-boot-tool
    init /dev/vda1 grub` (tests/vm/pbt's stand-in, put on the disk before the first boot)
    installs GRUB there with the ESP as its boot directory and a Boot#### entry first in
    BootOrder, and refresh copies the kernel and writes <ESP>/grub/grub.cfg with update-grub,
    the ESP bound on /boot. No /etc/kernel/cmdline: GRUB's command line stays in
    /etc/default/grub."""
    g.sh("test ! -e /etc/kernel/cmdline")
    g.sh("umount /boot/efi && sed -i '\\|/boot/efi|d' /etc/fstab && systemctl daemon-reload")
    t = time.monotonic()
    out = g.out("proxmox-boot-tool init /dev/vda1 grub 2>&1", timeout=900)
    host.log("proxmox-boot-tool init /dev/vda1 grub (%.0fs):\n%s" % (time.monotonic() - t, out))
    uuid = host.info["esp_uuid"]
    check(g.out("cat /etc/kernel/proxmox-boot-uuids") == uuid, "the ESP is not listed")
    check("Copying and configuring kernels on /dev/disk/by-uuid/%s" % uuid in out,
          "init did not refresh the ESP:\n" + out)
    # Debian's own boot path on the ESP goes: only proxmox-boot-tool's GRUB is left to start
    g.sh("mount /dev/vda1 /mnt && rm -rf /mnt/EFI/debian /mnt/EFI/BOOT && "
         "grep -q vfiotx-last-good /mnt/grub/grub.cfg && grep -q 'linux.*/vmlinuz-' "
         "/mnt/grub/grub.cfg && test -f /mnt/grub/grubenv; umount /mnt")
    host.log("efibootmgr:\n" + g.out("efibootmgr"))
    g.sh('test -z "$(findmnt -n -t vfat -o TARGET)"')


def scenario_uefi_pbt_grub(host):
    """The boot-counted rollback on proxmox-boot-tool's GRUB mode (uefi-grub's disk converted
    by pbt_grub_convert: GRUB reads grub.cfg and grubenv from the ESP, never /boot), with
    --tries 1 and power cuts, in two boots. vfiotx check finds the counter in the ESP's grubenv;
    apply --force binds the root disk's controller and arms the ESP's grubenv (not
    /boot/grub/grubenv), with the last good copies on the ESP; the power is cut; the trial dies
    in the initramfs, the ESP's GRUB boots the last good copies by itself, vfiotx boot restores
    and refreshes the ESP; the power is cut as soon as it is done: the ESP as the firmware reads
    it then has a clear grubenv and a grub.cfg without the trial's files."""
    stage = tempfile.mkdtemp(prefix="pbt.", dir=host.artifacts)
    uefi_image.stage_pbt(stage)
    vmlib.install_tree(host.disk, stage)
    shutil.rmtree(stage)
    g = host.boot("first")
    through_grub(g, host.info)
    kernels = default_kernel_only(host, g)
    install_trial_pieces(host, g)
    pbt_grub_convert(host, g)
    rc, out = g.sh("vfiotx check", check=False)
    host.log("vfiotx check (exit %d):\n%s" % (rc, out))
    check(re.search(r"can arm a boot-counted trial: grubenv on vfat", out),
          "vfiotx check does not find the counter on the ESP:\n" + out)
    bc = json.loads(g.out("vfiotx status --json"))["boot_counter"]
    host.log("vfiotx status --json boot_counter: %s" % json.dumps(bc))
    check(bc["boot_path"] == "proxmox-grub" and bc["available"],
          "status on proxmox-boot-tool's GRUB: %r" % (bc,))
    bdf, disk_driver, out, m = apply_root_disk_and_cut(host, g)
    check_rebuilt(host, out, kernels, "apply")
    check(re.search(r"^\[\d+/\d+\] proxmox-boot-tool refresh \(", out, re.M),
          "apply did not refresh the ESP:\n" + out)
    off = host.info["esp_offset"]
    env = grubenv_vars(vmlib.esp_read(host.disk, off, "/grub/grubenv") or b"")
    host.log("the ESP's grubenv after the cut: %s" % env)
    check(env.get("vfiotx_trial") == m.group(1) and env.get("vfiotx_tries") == "1",
          "the ESP's grubenv is not armed: %s" % env)
    root_env = grubenv_vars(vmlib.read_after_power_cut(host.disk, GRUBENV, host.artifacts) or b"")
    check(not any(k.startswith("vfiotx_") for k in root_env),
          "the counter went to /boot/grub/grubenv: %s" % root_env)
    cfg = (vmlib.esp_read(host.disk, off, "/grub/grub.cfg") or b"").decode()
    check("iommu=pt" in cfg, "the ESP's grub.cfg lacks the trial's command line")
    entry = (vmlib.esp_read(host.disk, off, "/vfiotx/entry.cfg") or b"").decode()
    host.log("the ESP's /vfiotx/entry.cfg:\n" + entry)
    for name in re.findall(r"\$\{vfiotx_dir\}/(\S+)", entry):
        check(vmlib.esp_read(host.disk, off, "/vfiotx/" + name), "the ESP lacks " + name)
    check("vfiotx.fallback=1" in entry and "iommu=pt" not in entry, "the ESP's last good entry")
    g = host.boot("trial-and-fallback", timeout=BROKEN_BOOT_TIMEOUT, no_reboot=False)
    cmdline = g.out("cat /proc/cmdline; uname -r")
    state, age = wait_unit_done(g, "vfiotx-boot.service")
    status = g.out("vfiotx status")
    drv, lspci = driver_of(g, bdf)
    host.power_cut()
    host.log("vfiotx-boot.service was %s; the power cut %.1fs after it finished" % (state, age))
    check_fallback_boot(host, g, cmdline, state, tries=1)
    check("BOOT_IMAGE=/vfiotx/vmlinuz-%s.1" % host.info["default_kernel"] in cmdline.split(),
          "the boot that came up is not the ESP's last good copy: " + cmdline)
    host.log("vfiotx status on the fallback boot:\n" + status)
    check("state: rolled back" in status and "tries exhausted" in status,
          "status does not say rolled back / tries exhausted:\n" + status)
    check(drv == disk_driver, "the root disk controller is on %s, not %s:\n%s"
          % (drv, disk_driver, lspci))
    env = grubenv_vars(vmlib.esp_read(host.disk, off, "/grub/grubenv") or b"")
    host.log("the ESP's grubenv after the fallback's restore and the cut: %s" % env)
    check(not any(k.startswith("vfiotx_") for k in env),
          "the ESP's grubenv after the fallback's restore: %s" % env)
    cfg = (vmlib.esp_read(host.disk, off, "/grub/grub.cfg") or b"").decode()
    check("iommu=pt" not in cfg and "vfiotx-last-good" in cfg,
          "the ESP's grub.cfg after the fallback's restore still has the trial's command line")


def scenario_broken_boot(host, tries=2):
    """The boot-counted rollback for real, with power cuts: apply --force --tries N binds the
    root disk's virtio-blk controller to vfio-pci and the power is cut as soon as it returns:
    GRUB would read the armed counter from grubenv (at its old block) and the boot files the
    kernel has; each trial boot fails in the initramfs and panic= reboots it; after the N tries
    GRUB boots the last good entry (vfiotx.fallback=1), vfiotx boot restores the good snapshot
    and rebuilds, and the power is cut as soon as it is done: GRUB would read a grubenv without
    the counter and the rebuilt boot files; the next boot is a normal boot of the good
    configuration: the controller on its driver, status rolled back (tries exhausted), no
    /etc/modprobe.d/vfiotx.conf, the fallback in the log, git fsck clean."""
    g = host.boot("first")
    through_grub(g, host.info)
    if host.image == "uefi-grub":
        uefi_grub_host(host, g)
    kernels = default_kernel_only(host, g)
    install_trial_pieces(host, g)
    g.sh("test ! -e /etc/modprobe.d/vfiotx.conf")
    bdf = g.out("lspci -D -n -d %s | cut -d' ' -f1" % VIRTIO_BLK_ID)
    check(re.match(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$", bdf),
          "no single virtio-blk controller (%s): %r" % (VIRTIO_BLK_ID, bdf))
    disk_driver, _ = driver_of(g, bdf)
    check(disk_driver and disk_driver != "vfio-pci", "the root disk controller has no driver")
    grubenv_at = grubenv_location(g)
    host.log("grubenv before apply: (inode, block) %s" % (grubenv_at,))
    t = time.monotonic()
    rc, out = g.sh("vfiotx apply -y --force --tries %d --device %s" % (tries, bdf),
                   timeout=REBUILD_TIMEOUT, check=False)
    # (a) the power cut is the next thing after the armed apply returns: no sync, no reboot
    host.power_cut()
    host.log("vfiotx apply -y --force --tries %d --device %s (exit %d, %.0fs):\n%s"
             % (tries, bdf, rc, time.monotonic() - t, out))
    m = re.search(r"applied as transaction (\d+)", out)
    check(rc == 0 and m, "apply --device <root disk> failed")
    check_rebuilt(host, out, kernels, "apply")
    env = vmlib.read_after_power_cut(host.disk, GRUBENV, host.artifacts)
    host.log("grubenv as the kernel will see it (journal replayed): %s" % {
        k: v for k, v in grubenv_vars(env or b"").items() if k.startswith("vfiotx_")})
    what_grub_reads(host, "cut after the armed apply", grubenv_at, armed=(m.group(1), tries))
    # one QEMU process across the trial reboots (panic= reboots them) and the fallback boot
    g = host.boot("trials-and-fallback", timeout=BROKEN_BOOT_TIMEOUT, no_reboot=False)
    cmdline = g.out("cat /proc/cmdline; uname -r")
    state, age = wait_unit_done(g, "vfiotx-boot.service")
    # (c) the power cut is the next thing after the fallback's restore is done
    host.power_cut()
    host.log("vfiotx-boot.service was %s; the power cut %.1fs after it finished" % (state, age))
    # the serial log of this QEMU run: GRUB's "Booting `...'" line for each boot, the initramfs
    # giving up on the root disk and panic= rebooting each trial boot ("quiet": the kernel's
    # own command line is not printed), vfiotx boot's output on the fallback boot
    booting = re.findall(r"Booting `[^'\n]*'", g.buf)
    host.log("GRUB entries booted in this QEMU run:\n" + "\n".join(booting))
    check_fallback_boot(host, g, cmdline, state, tries)
    what_grub_reads(host, "cut after the fallback's restore", grubenv_at)
    g = host.boot("after-fallback-cut")
    cmdline = through_grub(g, host.info)
    host.log("/proc/cmdline after the fallback and the power cut: " + cmdline)
    check("vfiotx.fallback" not in cmdline and "vfiotx.trial=" not in cmdline
          and "panic=" not in cmdline, "the boot after the fallback is not a normal one: "
          + cmdline)
    drv, out = driver_of(g, bdf)
    check(drv == disk_driver, "the root disk controller is on %s, not %s:\n%s"
          % (drv, disk_driver, out))
    status = g.out("vfiotx status")
    host.log("vfiotx status after the fallback:\n" + status)
    check("state: rolled back" in status and "tries exhausted" in status,
          "status does not say rolled back / tries exhausted:\n" + status)
    check("pending rebuild" not in status and "interrupted" not in status,
          "status after the fallback:\n" + status)
    g.sh("test ! -e /etc/modprobe.d/vfiotx.conf")
    log = g.out("vfiotx log")
    host.log("vfiotx log:\n" + log)
    check(any("fallback" in line for line in log.splitlines()),
          "the log shows no fallback entry:\n" + log)
    env = g.out("grub-editenv %s list" % GRUBENV)
    host.log("grubenv after the fallback:\n" + env)
    check("vfiotx_" not in env, "grubenv still holds the trial:\n" + env)
    fsck_journal(g)
    host.shutdown()


VGA_ID = "1234:1111"  # QEMU's default VGA (-vga std), driven by bochs-drm


def driver_of(g, bdf):
    out = g.out("lspci -nnk -s %s" % bdf)
    m = re.search(r"Kernel driver in use: (\S+)", out)
    return (m.group(1) if m else None), out


def apply_logged(host, g, args, kernels, what=None):
    """vfiotx apply ARGS, which must succeed and rebuild each kernel's initramfs."""
    t = time.monotonic()
    rc, out = g.sh("vfiotx apply " + args, timeout=REBUILD_TIMEOUT, check=False)
    host.log("vfiotx apply %s (exit %d, %.0fs):\n%s" % (args, rc, time.monotonic() - t, out))
    check(rc == 0 and "applied as transaction" in out, "vfiotx apply %s failed" % args)
    check_rebuilt(host, out, kernels, what or "apply " + args)
    return out


# --- vfiotx try (issue 18): runtime moves to vfio-pci, reverted by a timer unless kept ----------

TRY_TIMEOUT = 30  # edu's try: nobody confirms it, the timer reverts it
TRY_CHECKS = ["on-vfio", "group-viable", "host-devices", "open-devices"]
TRY_TIMER_LATE = 90  # how late after the deadline the revert may be seen (timer, TCG)


def pci_drivers(g):
    """{BDF: (driver or None, driver_override)} of every PCI device, from sysfs (an empty
    driver_override reads "(null)")."""
    out = g.out("for d in /sys/bus/pci/devices/*; do l=$(readlink $d/driver); l=${l##*/}; "
                "echo \"${d##*/} ${l:--} $(cat $d/driver_override)\"; done")
    state = {}
    for line in out.splitlines():
        bdf, drv, override = line.split(None, 2)
        state[bdf] = (None if drv == "-" else drv, override)
    return state


def drivers_diff(before, after):
    return "\n".join("%s: %s -> %s" % (b, before.get(b), after.get(b))
                     for b in sorted(set(before) | set(after)) if before.get(b) != after.get(b))


def vfiotx_json(g, args, timeout=300):
    """`vfiotx --json ARGS`: (exit code, the document on stdout or None, stderr)."""
    rc, out = g.sh("vfiotx --json %s >/tmp/vt.json 2>/tmp/vt.err; r=$?; cat /tmp/vt.json; "
                   "echo; echo --stderr--; cat /tmp/vt.err; exit $r" % args, timeout=timeout,
                   check=False)
    stdout, _, stderr = out.partition("--stderr--")
    try:
        doc = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        doc = None
    return rc, doc, stdout.strip() + ("\nstderr: " + stderr.strip() if stderr.strip() else "")


def group_node(g, bdf):
    """The device's IOMMU group, once /dev/vfio/<group> is a character device (else fails)."""
    group = g.out("basename $(readlink /sys/bus/pci/devices/%s/iommu_group)" % bdf)
    check(group.isdigit(), "%s has no IOMMU group: %s" % (bdf, group))
    rc, out = g.sh("test -c /dev/vfio/%s && ls -l /dev/vfio" % group, check=False)
    check(rc == 0, "/dev/vfio/%s is not there:\n%s" % (group, out))
    return group


def try_timers(g):
    return g.out("systemctl list-timers --all --no-legend 'vfiotx-try-*' || true")


def journal_entries(g, n=6):
    """The newest journal entries (`vfiotx --json log -n N`): [{id, kind, summary, forced ...}]."""
    rc, doc, out = vfiotx_json(g, "log -n %d" % n)
    check(rc == 0 and doc, "vfiotx --json log failed:\n" + out)
    return doc["transactions"]


def refusal_codes(doc, bdf):
    return sorted({r.get("code") for r in (doc or {}).get("refusals") or []
                   if r.get("device") == bdf})


def try_refused_root_disk(host, g):
    """A try on the root disk's controller is refused (mounted), and nothing changes: every
    device's driver and driver_override are the same before and after."""
    bdf = g.out("lspci -D -n -d %s | cut -d' ' -f1" % VIRTIO_BLK_ID)
    check(re.match(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$", bdf),
          "no single virtio-blk controller (%s): %r" % (VIRTIO_BLK_ID, bdf))
    before = pci_drivers(g)
    vfio_before = g.sh("test -d /sys/bus/pci/drivers/vfio-pci", check=False)[0] == 0
    rc, doc, out = vfiotx_json(g, "--detailed-exitcode try --device %s" % bdf)
    host.log("vfiotx --json --detailed-exitcode try --device %s (the root disk's controller, "
             "exit %d):\n%s" % (bdf, rc, out))
    check(rc == 3, "try on the root disk's controller exited %d, not 3 (refused)" % rc)
    check("mounted" in refusal_codes(doc, bdf), "the refusal of the root disk's controller has "
          "no code 'mounted' for %s: %s" % (bdf, refusal_codes(doc, bdf)))
    rc, out = g.sh("vfiotx try --device %s" % bdf, check=False, timeout=300)
    host.log("vfiotx try --device %s (exit %d):\n%s" % (bdf, rc, out))
    check(rc == 1, "try on the root disk's controller exited %d, not 1" % rc)
    after = pci_drivers(g)
    check(after == before, "a refused try changed drivers or driver_override:\n"
          + drivers_diff(before, after))
    check(after[bdf][0] == "virtio-pci" and after[bdf][1] == "(null)",
          "the root disk's controller: %s" % (after[bdf],))
    vfio_after = g.sh("test -d /sys/bus/pci/drivers/vfio-pci", check=False)[0] == 0
    host.log("root disk %s refused; drivers and driver_override of all %d devices unchanged "
             "(vfio-pci registered before: %s, after: %s)" % (bdf, len(after), vfio_before,
                                                             vfio_after))


def try_reverted_by_timer(host, g):
    """`vfiotx try --device edu --timeout 30` from a shell in its own session that is killed
    (its whole process group, as a dropped SSH session) as soon as try returns: edu is on
    vfio-pci with /dev/vfio/<group> at once and vfiotx-try-ID.timer is listed; with no
    confirmation the transient timer puts edu back where it was (unbound, driver_override
    empty) at the deadline; the log has the try and its revert (timeout). The timer is named
    by the try's id (docs/try.md: vfiotx-try-ID.timer), not by its transaction number."""
    bdf = edu_bdf(g)
    before = pci_drivers(g)
    check(before[bdf][0] != "vfio-pci", "edu is on vfio-pci before the try")
    host.log("edu %s before the try: driver %s, driver_override %s" % ((bdf,) + before[bdf]))
    g.sh("rm -f /root/try.*; setsid sh -c 'echo $$ >/root/try.pgid; "
         "vfiotx --json try --device %s --timeout %d >/root/try.json 2>/root/try.err; "
         "echo $? $(date +%%s) >/root/try.rc; sleep 1000' </dev/null >/dev/null 2>&1 &"
         % (EDU_ID, TRY_TIMEOUT))
    # the moment try returns: kill the shell's process group, then look (the deadline runs)
    rc, out = g.sh("for i in $(seq 1200); do [ -s /root/try.rc ] && break; sleep 0.1; done; "
                   "pg=$(cat /root/try.pgid); kill -KILL -- -$pg; "
                   "for i in $(seq 50); do [ -d /proc/$pg ] || break; sleep 0.1; done; "
                   "[ -d /proc/$pg ] && echo shell: alive || echo shell: killed; "
                   "echo try: $(cat /root/try.rc); d=/sys/bus/pci/devices/%s; "
                   "l=$(readlink $d/driver); echo driver: ${l##*/} $(cat $d/driver_override); "
                   "echo timers:; systemctl list-timers --all --no-legend 'vfiotx-try-*'; "
                   "echo stderr:; cat /root/try.err" % bdf, timeout=180, check=False)
    doc_text = g.out("cat /root/try.json")
    host.log("setsid sh -c 'vfiotx --json try --device %s --timeout %d; sleep 1000', its "
             "process group killed as soon as try returned:\n%s\n%s"
             % (EDU_ID, TRY_TIMEOUT, out, doc_text))
    m = re.search(r"^try: (\d+) (\d+)$", out, re.M)
    check(m, "try did not return within 120 s")
    check(m.group(1) == "0", "vfiotx try --device %s exited %s" % (EDU_ID, m.group(1)))
    check("shell: killed" in out, "the shell that started the try is still there")
    doc = json.loads(doc_text)
    txn = doc.get("transaction")
    devs = {d.get("bdf"): d for d in doc.get("devices") or []}
    check(bdf in devs and devs[bdf].get("driver") == "vfio-pci" and
          devs[bdf].get("original_driver") is None,
          "try's devices: %s (edu %s unbound before, on vfio-pci now)" % (devs, bdf))
    checks = {c.get("name"): c for c in doc.get("checks") or []}
    check(sorted(checks) == sorted(TRY_CHECKS) and all(c.get("ok") for c in checks.values()),
          "try's checks are not %s, all ok: %s" % (TRY_CHECKS, doc.get("checks")))
    # the watcher is a transient systemd timer (systemd runs, the root is /), named by the try
    w = re.match(r"^systemd:(vfiotx-try-[\w.-]+)\.timer$", doc.get("watcher") or "")
    check(w, "try's watcher is %r, not a transient systemd timer systemd:vfiotx-try-ID.timer"
          % doc.get("watcher"))
    unit = w.group(1)
    check(re.search(r"^driver: vfio-pci vfio-pci$", out, re.M),
          "edu is not on vfio-pci (driver, driver_override) right after try returned")
    check(re.search(r"\s%s\.timer\s" % re.escape(unit), out.split("stderr:")[0]),
          "systemctl list-timers does not show %s.timer while the try is armed" % unit)
    group = group_node(g, bdf)
    deadline, returned = int(doc["deadline"]), int(m.group(2))
    host.log("edu on vfio-pci, /dev/vfio/%s exists, %s.timer armed (try transaction %s); "
             "deadline in %d s from try's return" % (group, unit, txn, deadline - returned))
    # nobody confirms: the timer reverts (the shell is gone; it would not help anyway)
    rc, out = g.sh("d=/sys/bus/pci/devices/%s; until [ $(date +%%s) -gt %d ]; do "
                   "l=$(readlink $d/driver); case \"$l\" in */vfio-pci) ;; *) "
                   "[ \"$(cat $d/driver_override)\" = '(null)' ] && break;; esac; sleep 0.2; "
                   "done; l=$(readlink $d/driver); echo $(date +%%s) ${l##*/} "
                   "$(cat $d/driver_override)" % (bdf, deadline + TRY_TIMER_LATE),
                   timeout=deadline - returned + TRY_TIMER_LATE + 120)
    seen = out.split()
    at = int(seen[0])
    check(seen[1:] == ["(null)"], "edu not back on no driver with driver_override empty by %d s "
          "after the deadline: %s" % (TRY_TIMER_LATE, out))
    check(at >= deadline - 1, "edu was reverted %d s before the deadline" % (deadline - at))
    host.log("edu back off vfio-pci %d s after the deadline (%d s after try returned)"
             % (at - deadline, at - returned))
    # the revert's journal entry: the timer's service may still be writing it
    rc, out = g.sh("for i in $(seq 120); do vfiotx --json log -n 5 | grep -q '\"try-revert\"' "
                   "&& break; sleep 0.5; done; systemctl list-timers --all --no-legend "
                   "'vfiotx-try-*'; journalctl -o cat -u %s.service -u %s.timer "
                   "--no-pager | tail -20" % (unit, unit), timeout=200,
                   check=False)
    host.log("after the deadline: timers, the watcher's journal:\n" + out)
    after = pci_drivers(g)
    check(after == before, "after the timer's revert, drivers or driver_override differ from "
          "before the try:\n" + drivers_diff(before, after))
    log = g.out("vfiotx log -n 5")
    host.log("vfiotx log -n 5:\n" + log)
    kinds = [line.split()[3] for line in log.splitlines() if len(line.split()) > 3]
    check("try" in kinds and "try-revert" in kinds, "vfiotx log has no try and try-revert "
          "entries:\n" + log)
    reverts = [e for e in journal_entries(g) if e.get("kind") == "try-revert"]
    check(reverts and bdf in (reverts[0].get("summary") or "")
          and "timeout" in reverts[0]["summary"],
          "the newest try-revert entry does not say edu was reverted at the timeout: %s"
          % reverts[:1])


def fb_console(g, bdf):
    """(the frame buffers whose device is `bdf`, the vtconsoles bound to a frame buffer device,
    what sysfs showed)."""
    out = g.out("for f in /sys/class/graphics/fb[0-9]*; do [ -e $f/device ] && "
                "echo fb ${f##*/} $(readlink -f $f/device); done; "
                "for v in /sys/class/vtconsole/vtcon*; do echo vtcon ${v##*/} $(cat $v/bind) "
                "$(cat $v/name); done; true")
    lines = [line.split(None, 3) for line in out.splitlines()]
    fbs = [w[1] for w in lines if w[0] == "fb" and len(w) > 2 and w[2].endswith("/" + bdf)]
    vtcons = [w[1] for w in lines if w[0] == "vtcon" and len(w) > 3 and w[2] == "1"
              and "frame buffer" in w[3]]
    return fbs, vtcons, out


def try_display_gpu(host, g, bdf, driver):
    """The display GPU, bochs with fbcon on it: try refuses it (console) and changes nothing;
    with --force it moves to vfio-pci; `try --revert` gives it back to its driver, and the
    console works again (a frame buffer on it, fbcon bound, /dev/tty1 writable)."""
    fbs, vtcons, out = fb_console(g, bdf)
    host.log("the console on the VGA before the try:\n" + out)
    check(fbs and vtcons, "the VGA %s does not drive the console (a frame buffer device on it "
          "and a vtconsole bound to a frame buffer): the refusal has nothing to refuse" % bdf)
    before = pci_drivers(g)
    rc, doc, out = vfiotx_json(g, "--detailed-exitcode try --device %s" % bdf)
    host.log("vfiotx --json --detailed-exitcode try --device %s (exit %d):\n%s" % (bdf, rc, out))
    check(rc == 3 and "console" in refusal_codes(doc, bdf),
          "try on the console's GPU was not refused with code 'console' (exit %d, codes %s)"
          % (rc, refusal_codes(doc, bdf)))
    after = pci_drivers(g)
    check(after == before, "a refused try changed drivers or driver_override:\n"
          + drivers_diff(before, after))
    rc, out = g.sh("vfiotx try --force --device %s" % bdf, check=False, timeout=300)
    host.log("vfiotx try --force --device %s (exit %d):\n%s" % (bdf, rc, out))
    check(rc == 0, "try --force on the VGA failed")
    moved = pci_drivers(g)
    check(moved[bdf] == ("vfio-pci", "vfio-pci"), "the VGA after try --force: %s"
          % (moved[bdf],))
    group = group_node(g, bdf)
    fbs, vtcons, out = fb_console(g, bdf)
    host.log("the VGA on vfio-pci, /dev/vfio/%s; the console now:\n%s\ntimers:\n%s"
             % (group, out, try_timers(g)))
    forced = [e for e in journal_entries(g) if e.get("kind") == "try"][:1]
    host.log("the try's journal entry (forced recorded: %s): %s"
             % (bool(forced and forced[0].get("forced")), forced))
    rc, out = g.sh("vfiotx try --revert", check=False, timeout=300)
    host.log("vfiotx try --revert (exit %d):\n%s" % (rc, out))
    check(rc == 0, "try --revert failed")
    after = pci_drivers(g)
    check(after[bdf] == (driver, "(null)"), "the VGA after try --revert: %s, not (%s, (null))"
          % (after[bdf], driver))
    check(after == before, "after try --revert, drivers or driver_override differ from before:\n"
          + drivers_diff(before, after))
    rc, out = g.sh("for i in $(seq 100); do for v in /sys/class/vtconsole/vtcon*; do "
                   "grep -q 'frame buffer' $v/name && [ $(cat $v/bind) = 1 ] && break 2; done; "
                   "sleep 0.1; done; true", timeout=60)
    fbs, vtcons, out = fb_console(g, bdf)
    host.log("the console after try --revert:\n" + out)
    check(fbs and vtcons, "the console is not back on the VGA after try --revert (no frame "
          "buffer device on %s, or no vtconsole bound to a frame buffer):\n%s" % (bdf, out))
    g.sh("echo vfiotx-try-console-back >/dev/tty1 && grep -q vfiotx-try-console-back /dev/vcs1")
    host.log("timers after --revert:\n" + try_timers(g))
    reverts = [e for e in journal_entries(g) if e.get("kind") == "try-revert"]
    check(reverts and bdf in (reverts[0].get("summary") or "")
          and "asked" in reverts[0]["summary"],
          "the newest try-revert entry is not the VGA's, asked: %s" % reverts[:1])
    rc, out = g.sh("vfiotx plan --method blacklist --device %s" % bdf, check=False)
    host.log("plan for the VGA after its try (the live try's note: %s):\n%s"
             % ("a live try" in out, "\n".join(out.splitlines()[:6])))


def live_try(host, g, vga_bdf, vga_driver):
    """vfiotx try on this running host (issue 18): nothing written to files, so it leaves no
    trace a later boot sees but the journal's entries."""
    t = time.monotonic()
    try_refused_root_disk(host, g)
    try_reverted_by_timer(host, g)
    try_display_gpu(host, g, vga_bdf, vga_driver)
    host.log("vfiotx try steps: %.0fs" % (time.monotonic() - t))


def scenario_display_gpu(host):
    """The display GPU: the guest's only VGA (bochs, 1234:1111) given to vfio-pci with the
    blacklist method. Its console is serial (console=ttyS0), so the only-display rule lets it
    go without --force; the bochs driver is blacklisted, vfio-pci takes the VGA at boot; then
    apply --release gives it back: after a reboot bochs-drm drives it again. On that boot,
    `vfiotx try` (issue 18, live_try: no file changes, no extra boot): refused on the root
    disk's controller with nothing changed; edu moved and given back by the transient timer
    after its shell was killed; the VGA with fbcon on it refused (console), moved with --force,
    and `try --revert` gives the console back."""
    g = host.boot("first")
    through_grub(g, host.info)
    kernels = default_kernel_only(host, g)
    bdf = g.out("lspci -D -n -d %s | cut -d' ' -f1" % VGA_ID)
    check(bdf, "no bochs VGA (%s) in the guest" % VGA_ID)
    host_driver, out = driver_of(g, bdf)
    host.log("the VGA before:\n" + out)
    check(host_driver and host_driver != "vfio-pci", "the VGA has no host driver at first")
    rc, out = g.sh("vfiotx --json devices")
    vga = [d for d in json.loads(out)["devices"] if d["bdf"] == bdf]
    check(len(vga) == 1 and vga[0]["verdict"] == "ok",
          "devices refuses the VGA of a host with a serial console: %s" % vga)
    rc, out = g.sh("vfiotx plan --method blacklist --device %s" % VGA_ID, check=False)
    host.log("vfiotx plan --method blacklist --device %s (exit %d):\n%s" % (VGA_ID, rc, out))
    check(rc == 0, "plan refuses the VGA")
    apply_logged(host, g, "-y --no-arm --method blacklist --device %s" % VGA_ID, kernels)
    conf = g.out("cat /etc/modprobe.d/vfiotx.conf /etc/modprobe.d/vfiotx-blacklist.conf")
    host.log("/etc/modprobe.d/vfiotx.conf, vfiotx-blacklist.conf:\n" + conf)
    # modprobe.d takes module names: the driver bochs-drm is module bochs
    module = g.out("basename $(readlink /sys/bus/pci/devices/%s/driver/module)" % bdf)
    check(re.search(r"^blacklist %s$" % re.escape(module), conf, re.M),
          "vfiotx does not blacklist the module %s" % module)
    check(re.search(r"^softdep %s pre: vfio-pci$" % re.escape(module), conf, re.M),
          "no softdep for the module %s" % module)
    g.sh("modprobe --showconfig | grep -x 'blacklist %s'" % module)
    g = host.reboot("bound")
    through_grub(g, host.info)
    drv, out = driver_of(g, bdf)
    host.log("lspci -nnk -s %s:\n%s" % (bdf, out))
    check(drv == "vfio-pci", "the VGA is on %s, not vfio-pci, after the reboot" % drv)
    check(module not in loaded_modules(g), "the blacklisted %s was loaded" % module)
    group = g.out("basename $(readlink /sys/bus/pci/devices/%s/iommu_group)" % bdf)
    g.sh("test -c /dev/vfio/%s" % group)
    host.log("status:\n" + g.out("vfiotx status"))
    apply_logged(host, g, "-y --no-arm --release %s" % VGA_ID, kernels)
    rc, out = g.sh("cat /etc/modprobe.d/vfiotx*.conf", check=False)
    check(rc != 0 or not re.search(r"^(blacklist|softdep) ", out, re.M),
          "the blacklist is still there after --release:\n" + out)
    # A reboot during a try (issue 18): edu on vfio-pci with an hour to go when the host
    # reboots; the try changed no file, so the next boot has edu as before the try.
    edu = edu_bdf(g)
    edu_before = pci_drivers(g)[edu]
    rc, out = g.sh("vfiotx try --device %s --timeout 3600" % EDU_ID, check=False, timeout=300)
    host.log("vfiotx try --device %s --timeout 3600, then a reboot (exit %d):\n%s"
             % (EDU_ID, rc, out))
    check(rc == 0 and pci_drivers(g)[edu][0] == "vfio-pci", "the try before the reboot failed")
    g = host.reboot("released")
    through_grub(g, host.info)
    check(pci_drivers(g)[edu] == edu_before, "after a reboot during a try edu is %s, not %s"
          % (pci_drivers(g)[edu], edu_before))
    # the next command that takes the lock records how the try ended
    rc, out = g.sh("vfiotx try --revert; vfiotx log | head -3", check=False, timeout=300)
    host.log("after the reboot: vfiotx try --revert; vfiotx log:\n" + out)
    check(rc == 0 and re.search(r"try-revert .*revert: %s back on .*\(reboot\)" % re.escape(edu),
                                out), "the log does not record the try ended by the reboot")
    drv, out = driver_of(g, bdf)
    host.log("lspci -nnk -s %s after --release:\n%s" % (bdf, out))
    check(drv == host_driver, "the VGA is on %s after --release, not %s" % (drv, host_driver))
    # vfiotx try on this boot, the VGA back on its driver with fbcon on it: after the steps
    # above, since a try writes no file (only journal entries) and they need a clean boot
    live_try(host, g, bdf, host_driver)
    host.log("vfiotx log:\n" + g.out("vfiotx log"))
    fsck_journal(g)
    host.shutdown()


def grub_entry_for(host, kernel):
    """GRUB's menu id of a kernel's entry under "Advanced options" (image.py's layout)."""
    uuid = host.info["root_uuid"]
    return "gnulinux-advanced-%s>gnulinux-%s-advanced-%s" % (uuid, kernel, uuid)


def scenario_two_kernels(host):
    """Two kernels, Debian 12's 6.1 and bookworm-backports' 6.12: one apply --device edu
    rebuilds both initramfs images; each gets what its kernel needs (vfio_virqfd is a module
    of 6.1 only; 6.12 has it built into vfio); both kernels boot with edu on vfio-pci."""
    g = host.boot("first")
    through_grub(g, host.info)
    kernels = host.info["kernels"]
    check(len(kernels) == 2, "the image does not carry two kernels: %s" % kernels)
    for k in kernels:
        g.sh("test -f /boot/initrd.img-%s" % k)
    virqfd = {k: g.sh("find /lib/modules/%s -name 'vfio_virqfd.ko*' | grep -q ." % k,
                      check=False)[0] == 0 for k in kernels}
    host.log("vfio_virqfd as a module: %s" % virqfd)
    check(sorted(virqfd.values()) == [False, True],
          "expected vfio_virqfd to be a module of exactly one kernel: %s" % virqfd)
    apply_logged(host, g, "-y --no-arm --device %s" % EDU_ID, kernels)
    early = g.out("grep -v '^#' /etc/initramfs-tools/modules | grep . || true")
    host.log("/etc/initramfs-tools/modules (uncommented):\n" + early)
    for k in kernels:
        mods = VFIO_MODULES + (["vfio_virqfd"] if virqfd[k] else [])
        listing = initramfs_has(g, [k], mods, ["/etc/modprobe.d/vfiotx.conf"])
        has = any(re.search(r"/vfio_virqfd\.ko", n) for n in listing.splitlines())
        check(has == virqfd[k], "the initramfs of %s %s vfio_virqfd" % (k, "lacks" if virqfd[k]
                                                                       else "carries"))
        host.log("initramfs of %s: %s" % (k, ", ".join(sorted(
            n.rsplit("/", 1)[-1] for n in listing.splitlines() if "/vfio" in n and ".ko" in n))))
    bdf = edu_bdf(g)
    for k in [host.info["default_kernel"]] + [k for k in kernels
                                              if k != host.info["default_kernel"]]:
        if k != host.info["default_kernel"]:
            # the other kernel for one boot only, as a person picks it in the menu
            g.sh("grub-reboot '%s' && grub-editenv /boot/grub/grubenv list" % grub_entry_for(host, k))
        g = host.reboot("kernel-" + k)
        check(g.out("uname -r") == k, "booted %s, not %s" % (g.out("uname -r"), k))
        drv, out = driver_of(g, bdf)
        host.log("%s: lspci -nnk -s %s:\n%s" % (k, bdf, out))
        check(drv == "vfio-pci", "edu is on %s, not vfio-pci, under %s" % (drv, k))
        group = g.out("basename $(readlink /sys/bus/pci/devices/%s/iommu_group)" % bdf)
        g.sh("test -c /dev/vfio/%s" % group)
        modules_loaded_at_boot(g, want=True)
        host.log("%s: loaded vfio modules: %s" % (k, " ".join(sorted(
            m for m in loaded_modules(g) if m.startswith("vfio")))))
    fsck_journal(g)
    host.shutdown()


def scenario_rescue(host):
    """Rescue from the initramfs shell: apply --no-arm --force binds the root disk's controller
    (no trial, so nothing brings the host back by itself); the boot drops to the initramfs
    emergency shell, which has vfiotx-rescue in it (the rescue hook; not vfiotx, not libgit2).
    There: give the controller back to virtio-pci, mount the root read-only at /root,
    `vfiotx-rescue` refuses and says how to remount; after `mount -o remount,rw /root` it
    restores the last good files from the plain copy and rebuilds the initramfs and grub.cfg
    chrooted into /root; reboot -f: a healthy host, whose `vfiotx boot` recorded the rescue.
    On the systemd-boot disk (`--image uefi-sdboot`; ctest: vm/rescue-sdboot) the loader starts
    the initramfs copy on the ESP: vfiotx-rescue refuses until the ESP is mounted at
    /root/boot/efi (vfat from the initramfs: the hook adds it on such hosts), then its rebuild
    refreshes the ESP's copy and entry through kernel-install, and the next boot is healthy."""
    sdboot = host.image == "uefi-sdboot"
    # the UEFI disks have the ESP first (uefi_image.py)
    root_dev = "/dev/vda2" if host.image.startswith("uefi-") else "/dev/vda1"
    g = host.boot("first")
    if sdboot:
        sdboot_host(host, g)
        kernels = sdboot_default_kernel_only(host, g)
    else:
        through_grub(g, host.info)
        kernels = default_kernel_only(host, g)
    g.sh("test -x /usr/share/initramfs-tools/hooks/vfiotx-rescue")
    # as the package leaves a host: vfiotx-boot.service records the rescue at the next boot
    if not host.deb:
        g.sh("systemctl enable %s" % " ".join(TRIAL_UNITS))
    check(g.out("systemctl is-enabled vfiotx-boot.service") == "enabled",
          "vfiotx-boot.service is not enabled")
    bdf = g.out("lspci -D -n -d %s | cut -d' ' -f1" % VIRTIO_BLK_ID)
    check(re.match(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$", bdf),
          "no single virtio-blk controller (%s): %r" % (VIRTIO_BLK_ID, bdf))
    grub_before = g.out("cat /etc/default/grub")
    cmdline_before = g.out("cat /etc/kernel/cmdline") if sdboot else None
    apply_logged(host, g, "-y --no-arm --force --device %s" % bdf, kernels)
    listing = g.out("lsinitramfs /boot/initrd.img-%s" % kernels[0], timeout=300)
    check(re.search(r"^(usr/)?sbin/vfiotx-rescue$", listing, re.M),
          "the initramfs has no vfiotx-rescue")
    check(not re.search(r"^(usr/)?sbin/vfiotx$|/libgit2\.so", listing, re.M),
          "the initramfs has the full vfiotx or libgit2")
    if sdboot:
        check(re.search(r"/vfat\.ko", listing), "the initramfs has no vfat module")
    host.shutdown()
    if sdboot:
        ents = esp_entries(host, "after apply --no-arm")
        check(not ents, "apply --no-arm wrote vfiotx entries: %s" % sorted(ents))
    g = vmlib.Guest(host.disk, host.artifacts, "%02d-broken" % (len(host.boots) + 1),
                    uefi=host.vars)
    host.boots.append(g)
    host.guest = g
    g.start()
    g.wait_initramfs_shell(timeout=420)
    host.log("broken boot: initramfs shell after %.0fs:\n%s" % (g.boot_seconds, "\n".join(
        re.findall(r"^.*(?:Gave up|ALERT!).*$", g.buf, re.M))))
    out = g.out("cat /proc/cmdline; readlink /sys/bus/pci/devices/%s/driver" % bdf)
    host.log("in the initramfs shell:\n" + out)
    check(out.rstrip().endswith("/vfio-pci"), "the root disk controller is not on vfio-pci")
    g.sh("echo %s >/sys/bus/pci/drivers/vfio-pci/unbind && "
         "echo %s >/sys/bus/pci/drivers/virtio-pci/bind" % (bdf, bdf))
    g.sh("i=0; while [ ! -b %s ] && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done; "
         "test -b %s && { modprobe ext4 || true; } && mount -t ext4 -o ro %s /root"
         % (root_dev, root_dev, root_dev))
    rc, out = g.sh("vfiotx-rescue", check=False)
    host.log("vfiotx-rescue on a read-only root (exit %d):\n%s" % (rc, out))
    check(rc != 0 and "read-only" in out and "(mount -o remount,rw /root)" in out,
          "vfiotx-rescue on a read-only root did not say how to remount /root")
    # klibc's mount (the initramfs has no busybox here) wants the device too
    g.sh("mount -o remount,rw %s /root" % root_dev)
    if sdboot:
        rc, out = g.sh("vfiotx-rescue", check=False)
        host.log("vfiotx-rescue without the ESP mounted (exit %d):\n%s" % (rc, out))
        check(rc != 0 and "is not mounted at /root/boot/efi" in out
              and "nothing was restored" in out and "modprobe vfat" in out,
              "vfiotx-rescue without the ESP did not refuse and say how to mount it")
        g.sh("test -e /root/etc/modprobe.d/vfiotx.conf")
        g.sh("modprobe vfat && mount -t vfat /dev/vda1 /root/boot/efi && "
             "test -d /root/boot/efi/loader/entries")
    t = time.monotonic()
    rc, out = g.sh("vfiotx-rescue", timeout=REBUILD_TIMEOUT, check=False)
    host.log("vfiotx-rescue (exit %d, %.0fs):\n%s" % (rc, time.monotonic() - t, out))
    check(rc == 0 and "vfiotx-rescue: restored and rebuilt" in out, "the rescue failed")
    check_rebuilt(host, out, kernels, "vfiotx-rescue")
    g.sh("test -f /root/var/lib/vfiotx/rescued")
    g.sh("test ! -e /root/etc/modprobe.d/vfiotx.conf")
    check(g.out("cat /root/etc/default/grub") == grub_before,
          "/etc/default/grub is not back to its original")
    if sdboot:
        check(g.out("cat /root/etc/kernel/cmdline") == cmdline_before,
              "/etc/kernel/cmdline is not back to its original")
        g.sh("umount /root/boot/efi")
    g.sh("umount /root")
    g.force_reboot()
    host.log("%s: reboot -f from the initramfs shell" % g.name)
    g = host.boot("after-rescue")
    if sdboot:
        sdboot_host(host, g)
        cmdline = g.out("cat /proc/cmdline")
        host.log("/proc/cmdline after the rescue: " + cmdline)
        check(VIRTIO_BLK_ID not in cmdline, "the ESP's entry still binds the root disk: "
              + cmdline)
    else:
        through_grub(g, host.info)
    drv, out = driver_of(g, bdf)
    check(drv not in (None, "vfio-pci"), "the root disk controller is on %s" % drv)
    state, _ = wait_unit_done(g, "vfiotx-boot.service")
    check(state == "active", "vfiotx-boot.service after the rescue: " + state)
    status = g.out("vfiotx status")
    host.log("vfiotx status after the rescue:\n" + status)
    check("pending rebuild" not in status and "interrupted" not in status,
          "status after the rescue:\n" + status)
    log = g.out("vfiotx log")
    host.log("vfiotx log:\n" + log)
    check(log.splitlines()[0].split()[3] == "rescue", "the newest entry is not the rescue")
    g.sh("test ! -e /var/lib/vfiotx/rescued")
    fsck_journal(g)
    host.shutdown()


def scenario_package(host):
    """The package as apt installed it (the suite's package image): the rescue hook adds at most
    1 MiB to the compressed initramfs, measured against the same kernel's initramfs without it,
    and nothing but vfiotx-rescue; the binary, man page and completion are in place. `apt-get
    remove` keeps the journal (git fsck clean), vfiotx's changes to /etc and the conffiles, and
    takes the hook out of the rebuilt initramfs; `apt-get purge` removes /var/lib/vfiotx,
    /etc/vfiotx and /etc/grub.d/42_vfiotx, runs update-grub (grub.cfg loses the counter block)
    and the units' enable links, and keeps the files vfiotx wrote (docs/packaging.md)."""
    check(host.deb, "the package scenario needs --deb (the package to install)")
    host.log("installed by apt in %ds (package image built in %ds)" % (
        host.info["install_seconds"], host.info["package_seconds"]))
    for k, added, files in package_image.hook_cost(host.info):
        size = host.info["initramfs"][k]
        host.log("initramfs of %s: %d bytes without the hook, %d with it: %+d bytes "
                 "(%.2f MiB); files added: %s" % (k, size["without_hook"], size["with_hook"],
                                                  added, added / 2**20, ", ".join(files)))
        check(added <= package_image.HOOK_GOAL, "the hook adds %d bytes to the initramfs of %s "
              "(goal: at most 1 MiB)" % (added, k))
        check(any(f.endswith("sbin/vfiotx-rescue") for f in files) and not size["removed_files"],
              "the hook's initramfs of %s: added %s, removed %s" % (k, files,
                                                                    size["removed_files"]))
        check(not [f for f in files if "libgit2" in f or f.endswith("sbin/vfiotx")],
              "the hook copied the full vfiotx or libgit2: %s" % files)
    g = host.boot("first")
    through_grub(g, host.info)
    # the initramfs the install's trigger rebuilt with the hook: remove's trigger rebuilds it
    hooked = sorted(host.info["initramfs"])
    check(hooked, "the install rebuilt no initramfs")
    for k in hooked:
        g.sh("lsinitramfs /boot/initrd.img-%s | grep -qx 'usr/sbin/vfiotx-rescue'" % k,
             timeout=300)
    g.sh("test -x /usr/sbin/vfiotx && test -x /usr/sbin/vfiotx-rescue && "
         "test -f /usr/share/man/man8/vfiotx.8.gz && "
         "test -f /usr/share/bash-completion/completions/vfiotx")
    bdf = edu_bdf(g)
    rc, out = g.sh("vfiotx apply -y --no-arm --no-rebuild --device %s" % bdf)
    check("applied as transaction" in out, "apply did not report its transaction:\n" + out)
    g.sh("test -f /etc/modprobe.d/vfiotx.conf")
    grub_cfg = g.out("md5sum /etc/default/grub")
    t = time.monotonic()
    rc, out = g.sh("apt-get remove -y vfiotx 2>&1", timeout=900)
    host.log("apt-get remove -y vfiotx: %.0fs\n%s" % (time.monotonic() - t,
                                                     "\n".join(out.splitlines()[-8:])))
    check(g.out("dpkg-query -W -f='${Status}' vfiotx") == "deinstall ok config-files",
          "after remove the package is not in config-files state")
    g.sh("test ! -e /usr/sbin/vfiotx && test -f /etc/modprobe.d/vfiotx.conf && "
         "test -x /etc/grub.d/42_vfiotx")
    fsck_journal(g)
    for k in hooked:
        # vfiotx's modprobe.d files stay (the user's passthrough configuration); the hook's
        # program goes
        listing = g.out("lsinitramfs /boot/initrd.img-%s" % k, timeout=300)
        check(not re.search(r"vfiotx-rescue", listing), "the initramfs of %s rebuilt at remove "
              "still has vfiotx-rescue" % k)
        check("etc/modprobe.d/vfiotx.conf" in listing.splitlines(),
              "the initramfs of %s rebuilt at remove lacks /etc/modprobe.d/vfiotx.conf" % k)
    t = time.monotonic()
    rc, out = g.sh("apt-get purge -y vfiotx 2>&1", timeout=900)
    host.log("apt-get purge -y vfiotx: %.0fs\n%s" % (time.monotonic() - t,
                                                    "\n".join(out.splitlines()[-8:])))
    check(g.out("dpkg-query -W -f='${Status}' vfiotx 2>&1 || true") != "deinstall ok "
          "config-files", "purge left the package's configuration")
    g.sh("test ! -e /var/lib/vfiotx && test ! -e /etc/vfiotx && test ! -e /etc/grub.d/42_vfiotx"
         " && test ! -e /boot/vfiotx")
    g.sh("! grep -q vfiotx_tries /boot/grub/grub.cfg")
    links = g.out("find /etc/systemd/system -name 'vfiotx*'")
    check(not links, "purge left the units' links:\n" + links)
    g.sh("test -f /etc/modprobe.d/vfiotx.conf")
    check(g.out("md5sum /etc/default/grub") == grub_cfg, "purge changed /etc/default/grub")
    host.shutdown()


def uefi_image_cmd(args):
    """`vmtest.py uefi-image`: build or find the disk; with --boot, boot a copy of it once from
    its own disk through OVMF and print the ESP, the boot loader's configuration and state."""
    t = time.monotonic()
    host = Host(os.path.abspath(args.artifacts), None,
                os.path.abspath(args.deb) if args.deb else None, "uefi-" + args.kind)
    if not args.boot:
        if args.deb:
            base, info = package_image.package_image(
                host.deb, os.path.join(os.path.dirname(host.artifacts), "package-image"), host.log)
        else:
            base, info = image.base_image()
        path, _, info = uefi_image.uefi_image(base, info, args.kind, host.log)
        print("UEFI %s image %s (%.0fs here)\n%s" % (args.kind, path, time.monotonic() - t,
                                                     json.dumps(info, indent=1)))
        return 0
    try:
        host.prepare()
        g = host.boot("uefi-%s" % args.kind)
        for cmd in ["cat /proc/cmdline", "uname -r", "findmnt /boot/efi", "find /boot/efi | sort",
                    "cat /boot/efi/loader/loader.conf", "head -n 50 /boot/efi/loader/entries/*",
                    "cat /boot/efi/EFI/debian/grub.cfg", "cat /etc/kernel/cmdline",
                    "bootctl status --no-pager", "command -v efibootmgr && efibootmgr -v",
                    "cat /etc/kernel/proxmox-boot-uuids", "proxmox-boot-tool status",
                    "vfiotx check", "vfiotx status"]:
            rc, out = g.sh(cmd + " 2>&1", check=False, timeout=300)
            print("$ %s  (exit %d)\n%s\n" % (cmd, rc, out), flush=True)
        host.log("boot through OVMF from the disk to the root shell: %.1fs" % g.boot_seconds)
        host.shutdown()
    finally:
        host.cleanup(keep_disk=False)
    return 0


# the disk a scenario runs on when `run --image` does not say (uefi_image.py's kinds)
SCENARIO_IMAGES = {"uefi-grub": "uefi-grub", "uefi-sdboot": "uefi-sdboot",
                   "pbt-boot": "uefi-pbt", "uefi-pbt": "uefi-pbt", "uefi-pbt-grub": "uefi-grub"}

SCENARIOS = {
    "rollback": scenario_rollback,
    "power-cut": scenario_power_cut,
    "seed-procedure": scenario_seed_procedure,
    "broken-boot": scenario_broken_boot,
    "uefi-grub": scenario_uefi_grub,
    "uefi-sdboot": scenario_uefi_sdboot,
    "pbt-boot": scenario_pbt_boot,
    "uefi-pbt": scenario_uefi_pbt,
    "uefi-pbt-grub": scenario_uefi_pbt_grub,
    "display-gpu": scenario_display_gpu,
    "two-kernels": scenario_two_kernels,
    "rescue": scenario_rescue,
    "package": scenario_package,
}

def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("image")
    pk = sub.add_parser("package")
    pk.add_argument("--deb", required=True, help="the package to install into the base image")
    pk.add_argument("--artifacts", required=True, help="where the install boot's log is kept")
    ui = sub.add_parser("uefi-image", help="build (or find) a UEFI disk derived from the package "
                        "image (uefi_image.py); --boot boots it once and prints what it has")
    ui.add_argument("--kind", choices=sorted(uefi_image.KINDS), required=True)
    ui.add_argument("--deb", help="derive it from the package image of this package (else from "
                    "the base image)")
    ui.add_argument("--artifacts", required=True, help="where the boots' logs are kept")
    ui.add_argument("--boot", action="store_true", help="boot a copy of it once through OVMF "
                    "from its own disk and print the boot loader's state")
    sub.add_parser("list")
    r = sub.add_parser("run")
    r.add_argument("scenario", choices=sorted(SCENARIOS))
    r.add_argument("--build-dir", required=True, help="vfiotx's CMake build directory")
    r.add_argument("--artifacts", required=True, help="where serial logs (and disk) are kept")
    r.add_argument("--keep-disk", action="store_true", help="keep the disk image on success")
    r.add_argument("--deb", help="start from the base image with this package installed by apt "
                   "(cached per package: see package_image.py), instead of the build "
                   "directory's cmake --install tree")
    r.add_argument("--image", choices=["bios"] + ["uefi-" + k for k in sorted(uefi_image.KINDS)],
                   help="the disk the scenario runs on (default: the scenario's own, %s; else "
                   "bios)" % ", ".join("%s: %s" % kv for kv in sorted(SCENARIO_IMAGES.items())))
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("the VM tests need root (mmdebstrap, e2fsprogs on image files)", file=sys.stderr)
        return 1
    if args.cmd == "list":
        for name, fn in SCENARIOS.items():
            print("%-18s %s" % (name, fn.__doc__.split("\n")[0]))
        return 0
    if args.cmd == "image":
        t = time.monotonic()
        path, info = image.base_image()
        print("base image %s (%.0fs here)\n%s" % (path, time.monotonic() - t,
                                                  json.dumps(info, indent=1)))
        return 0
    if args.cmd == "package":
        t = time.monotonic()
        path, info = package_image.package_image(
            os.path.abspath(args.deb), os.path.abspath(args.artifacts),
            lambda m: print(m, flush=True))
        print("package image %s (%.0fs here)\n%s" % (path, time.monotonic() - t,
                                                     json.dumps(info, indent=1)))
        return 0
    # SIGTERM (ctest, a CI runner) unwinds like ^C, so QEMU is always killed in `finally`
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if args.cmd == "uefi-image":
        return uefi_image_cmd(args)
    host = Host(os.path.abspath(args.artifacts), os.path.abspath(args.build_dir),
                os.path.abspath(args.deb) if args.deb else None,
                args.image or SCENARIO_IMAGES.get(args.scenario, "bios"))
    ok = False
    try:
        host.prepare()
        SCENARIOS[args.scenario](host)
        check(not host.failed_checks, "%d check(s) failed on the way" % len(host.failed_checks))
        ok = True
    except (Failure, VMError, subprocess.SubprocessError) as e:
        print("\nFAIL %s: %s" % (args.scenario, e), file=sys.stderr)
        traceback.print_exc()
        for msg in host.failed_checks:
            print("\nFAILED on the way: " + msg, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        raise
    finally:
        host.cleanup(keep_disk=args.keep_disk or not ok)
        if not ok and host.boots:
            last = host.boots[-1]
            print("\n--- tail of %s (all serial logs are in %s):\n%s"
                  % (os.path.basename(last.log), host.artifacts, vmlib.tail(last.log, 80)),
                  file=sys.stderr)
    host.log("%s: %s in %.0fs (%d boots)" % (args.scenario, "PASSED" if ok else "FAILED",
                                             time.monotonic() - host.t0, len(host.boots)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
