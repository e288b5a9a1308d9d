#!/usr/bin/env python3
"""vfiotx end-to-end tests on a real Debian 12 host in a VM (see tests/vm/README.md).

  vmtest.py image                      build (or find) the cached base image, print its timings
  vmtest.py run SCENARIO [options]     run one scenario on a fresh copy of the base image
  vmtest.py list                       scenarios, and the pending ones with what they need

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

    def __init__(self, artifacts, build_dir):
        self.artifacts = artifacts
        self.build_dir = build_dir
        self.boots = []
        self.guest = None
        self.t0 = time.monotonic()

    def prepare(self):
        base, self.info = image.base_image()
        os.makedirs(self.artifacts, exist_ok=True)
        for f in os.listdir(self.artifacts):  # a re-run starts from nothing
            p = os.path.join(self.artifacts, f)
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
        self.disk = os.path.join(self.artifacts, "disk.raw")
        t = time.monotonic()
        vmlib.run(["cp", "--sparse=always", "--reflink=auto", base, self.disk])
        # replays an ext4 journal if one is left (debugfs ignores it; the guest's replay would
        # then overwrite what debugfs wrote); -p is instant on a clean filesystem
        vmlib.run(["e2fsck", "-p", vmlib.fs_spec(self.disk)], timeout=600)
        self.install_vfiotx()
        self.log("disk ready in %.1fs (kernels: %s)" % (time.monotonic() - t,
                                                         ", ".join(self.info["kernels"])))
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
        g = vmlib.Guest(self.disk, self.artifacts, "%02d-%s" % (len(self.boots) + 1, name), **kw)
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

def scenario_seed_modules(host):
    """The seed's "Ensure Kernel Modules" step done by vfiotx on a real host (apply with its own
    initramfs rebuild), then a real VFIO binding of the edu device by hand."""
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
    bind_edu(host, g)
    host.shutdown()


def scenario_rollback(host):
    """apply (with its rebuild) + reboot, then vfiotx rollback -y (which rebuilds too) +
    reboot: the vfio modules no longer load, the initramfs no longer carries them, and
    /etc/modules is byte-identical to the original (read from the powered-off disk)."""
    g = host.boot("first")
    kernels = default_kernel_only(host, g)
    apply_modules(host, g, kernels)
    g = host.reboot("after-apply")
    modules_loaded_at_boot(g, want=True)
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


def cut_point(steps, name):
    """The failpoint to cut the power at for the named cut, from a trace: what has happened
    when vfiotx hangs there."""
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
    # the trace is of `apply --no-rebuild`; with the rebuild step the engine commits the journal
    # entry once more after it (with the steps' record), one failpoint before the commit point
    if i >= commit:
        n += 1
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
    n, fp = cut_point(steps, name)
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
    committed) transaction, the next command (`confirm`) resolves it, git fsck is clean; after
    the cut during the rebuild the rebuild is pending and the next apply completes it."""
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
        g = host.boot("after-cut-%d-%s" % (k + 1, name))
        through_grub(g, host.info)
        status = g.out("vfiotx status")
        host.log("vfiotx status after the cut:\n" + status)
        if expect == "before":
            check("state: interrupted" in status, "status does not report the interruption")
        else:
            check("state: applied" in status, "status does not show the committed apply")
        out = g.out("vfiotx confirm")
        host.log("vfiotx confirm (the next command that writes):\n" + out)
        if expect == "before":
            check("recovered: interrupted transaction" in out and "undone" in out,
                  "the next command did not report the recovery:\n" + out)
        now = g.out("cat /etc/modules; echo .")[:-1].encode()
        check(now == (before if expect == "before" else after),
              "/etc/modules is not all-%s after recovery:\n%s" % (expect, now.decode()))
        status = g.out("vfiotx status")
        host.log("vfiotx status after recovery:\n" + status)
        check("state: interrupted" not in status and not re.search(r"^interrupted:", status, re.M),
              "still interrupted after recovery:\n" + status)
        if how == "rebuild":
            check("pending rebuild" in status, "the cut during the rebuild left no pending "
                  "rebuild:\n" + status)
            g.sh("lsinitramfs /boot/initrd.img-%s >/dev/null" % kernels[0], timeout=300)
        fsck_journal(g)
        log = g.out("vfiotx log")
        host.log("vfiotx log:\n" + log)
        if expect == "before":
            # the command that recovered may add its own entry (confirm does) after it
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
    """The seed's procedure: vfiotx check reports the IOMMU, devices lists edu, apply --device
    edu (binding, IOMMU parameters, rebuild) -> reboot through GRUB -> edu on vfio-pci at boot,
    /dev/vfio/<group>, the parameters on /proc/cmdline, the vfio modules and the modprobe conf
    in the initramfs, status good after confirm, log shows the transaction."""
    g = host.boot("first")
    through_grub(g, host.info)
    kernels = default_kernel_only(host, g)
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
    t = time.monotonic()
    rc, out = g.sh("vfiotx apply -y --no-arm --device %s" % EDU_ID, timeout=REBUILD_TIMEOUT, check=False)
    host.log("vfiotx apply -y --no-arm --device %s (exit %d, %.0fs):\n%s"
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
    g = host.reboot("after-apply")
    cmdline = through_grub(g, host.info)
    for w in added:
        check(w in cmdline.split(), "/proc/cmdline lacks %s: %s" % (w, cmdline))
    out = g.out("lspci -nnk -s %s" % bdf)
    host.log("lspci -nnk -s %s:\n%s" % (bdf, out))
    check("Kernel driver in use: vfio-pci" in out, "edu is not bound to vfio-pci at boot")
    group = g.out("basename $(readlink /sys/bus/pci/devices/%s/iommu_group)" % bdf)
    check(group.isdigit(), "edu has no IOMMU group: " + group)
    host.log(g.out("test -c /dev/vfio/%s && ls -l /dev/vfio" % group))
    modules_loaded_at_boot(g, want=True)
    initramfs_has(g, kernels, VFIO_MODULES, ["/etc/modprobe.d/vfiotx.conf"])
    g.sh("lsinitramfs /boot/initrd.img-$(uname -r) | grep -E 'vfio|modprobe.d'")
    out = g.out("vfiotx confirm")
    host.log("vfiotx confirm:\n" + out)
    out = g.out("vfiotx status")
    host.log("vfiotx status:\n" + out)
    check("state: good" in out and "state: interrupted" not in out and "pending rebuild" not in out
          and "not confirmed" not in out, "status is not good after confirm:\n" + out)
    check(any(line.startswith("passed through:") and EDU_ID in line
              for line in out.splitlines()), "status does not list edu as passed through")
    log = g.out("vfiotx log")
    host.log("vfiotx log:\n" + log)
    check(any(line.split()[:1] == ["2"] and "apply" in line for line in log.splitlines()),
          "log does not show the apply")
    fsck_journal(g)
    host.shutdown()

VIRTIO_BLK_ID = "1af4:1001"
BROKEN_BOOT_TIMEOUT = 900  # the trial boots, the fallback boot and its restore + rebuild (TCG)


def install_trial_pieces(host, g):
    """What a package would set up for the boot-counted trial: the GRUB script in /etc/grub.d
    (0755), vfiotx-boot.service enabled (ExecStart naming the installed binary), a grubenv, and
    one update-grub so grub.cfg carries the counter block and the last good entry."""
    binary = g.out("command -v vfiotx")
    check(binary.startswith("/"), "vfiotx is not on the guest's PATH: " + binary)
    g.sh("test -f /etc/grub.d/42_vfiotx && chmod 0755 /etc/grub.d/42_vfiotx")
    # the unit as cmake configured it names the configure-time prefix's sbin; the harness
    # installs with --prefix /usr: point ExecStart at the binary the guest has
    unit = g.out("for d in /usr/local/lib/systemd/system /usr/lib/systemd/system "
                 "/lib/systemd/system; do test -f $d/vfiotx-boot.service && "
                 "echo $d/vfiotx-boot.service && break; done")
    check(unit, "cmake --install put no vfiotx-boot.service into the guest")
    g.sh("sed 's|^ExecStart=.*|ExecStart=%s boot|' %s >/etc/systemd/system/vfiotx-boot.service"
         " && systemctl daemon-reload && systemctl enable vfiotx-boot.service" % (binary, unit))
    host.log("vfiotx-boot.service:\n" + g.out("systemctl cat vfiotx-boot.service | "
                                              "grep -E 'ExecStart|WantedBy'; "
                                              "systemctl is-enabled vfiotx-boot.service"))
    g.sh("test -f /boot/grub/grubenv || grub-editenv /boot/grub/grubenv create")
    t = time.monotonic()
    g.sh("update-grub", timeout=300)
    host.log("update-grub with 42_vfiotx: %.0fs" % (time.monotonic() - t))
    g.sh("grep -q vfiotx-last-good /boot/grub/grub.cfg && grep -q vfiotx_tries /boot/grub/grub.cfg")


def scenario_broken_boot(host):
    """The boot-counted rollback for real: apply --force --tries 2 binds the root disk's
    virtio-blk controller to vfio-pci, so each trial boot fails in the initramfs and panic=
    reboots it; after the 2 tries GRUB boots the last good entry (vfiotx.fallback=1), vfiotx
    boot restores the good snapshot and rebuilds: a healthy host, status rolled back (tries
    exhausted), no /etc/modprobe.d/vfiotx.conf, the fallback in the log, git fsck clean."""
    g = host.boot("first")
    through_grub(g, host.info)
    kernels = default_kernel_only(host, g)
    install_trial_pieces(host, g)
    g.sh("test ! -e /etc/modprobe.d/vfiotx.conf")
    bdf = g.out("lspci -D -n -d %s | cut -d' ' -f1" % VIRTIO_BLK_ID)
    check(re.match(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$", bdf),
          "no single virtio-blk controller (%s): %r" % (VIRTIO_BLK_ID, bdf))
    t = time.monotonic()
    rc, out = g.sh("vfiotx apply -y --force --tries 2 --device %s" % bdf,
                   timeout=REBUILD_TIMEOUT, check=False)
    host.log("vfiotx apply -y --force --tries 2 --device %s (exit %d, %.0fs):\n%s"
             % (bdf, rc, time.monotonic() - t, out))
    check(rc == 0 and "applied as transaction" in out, "apply --device <root disk> failed")
    check_rebuilt(host, out, kernels, "apply")
    env = g.out("grub-editenv /boot/grub/grubenv list")
    host.log("grubenv after apply:\n" + env)
    check("vfiotx_tries=2" in env and "vfiotx_trial=" in env, "apply armed no trial:\n" + env)
    host.log("armed: " + g.out("vfiotx status"))
    # one QEMU process across the trial reboots (panic= reboots them) and the fallback boot
    g = host.boot("trials-and-fallback", timeout=BROKEN_BOOT_TIMEOUT, no_reboot=False)
    # the serial log of this QEMU run: GRUB's "Booting `...'" line for each boot, the initramfs
    # giving up on the root disk and panic= rebooting each trial boot ("quiet": the kernel's
    # own command line is not printed)
    booting = re.findall(r"^.*Booting `.*$", g.buf, re.M)
    fails = re.findall(r"^.*(?:ALERT!|Gave up waiting|Rebooting automatically|"
                       r"vfiotx: ).*$", g.buf, re.M)
    host.log("GRUB entries booted in this QEMU run:\n" + "\n".join(booting))
    host.log("trial boots failing:\n" + "\n".join(fails))
    alerts = [f for f in fails if "ALERT!" in f]
    check(len(alerts) == 2, "expected 2 trial boots failing in the initramfs, saw %d"
          % len(alerts))
    cmdline = g.out("cat /proc/cmdline")
    host.log("/proc/cmdline of the boot that came up: " + cmdline)
    check("vfiotx.fallback=1" in cmdline.split() and "panic=" not in cmdline
          and "vfiotx.trial=" not in cmdline, "running boot is not the last good entry: "
          + cmdline)
    check(g.out("uname -r") == host.info["default_kernel"], "fallback booted another kernel")
    status = g.out("vfiotx status")
    host.log("vfiotx status on the fallback boot:\n" + status)
    check("state: rolled back" in status and "tries exhausted" in status,
          "status does not say rolled back / tries exhausted:\n" + status)
    g.sh("test ! -e /etc/modprobe.d/vfiotx.conf")
    out = g.out("lspci -nnk -s %s" % bdf)
    check("vfio-pci" not in out, "the root disk controller is still on vfio-pci:\n" + out)
    log = g.out("vfiotx log")
    host.log("vfiotx log:\n" + log)
    check(any("fallback" in line for line in log.splitlines()),
          "the log shows no fallback entry:\n" + log)
    env = g.out("grub-editenv /boot/grub/grubenv list")
    host.log("grubenv after the fallback:\n" + env)
    check("vfiotx_trial=" not in env and "vfiotx_fallback=" not in env,
          "grubenv still holds the trial:\n" + env)
    host.log("vfiotx-boot.service:\n" + g.out("journalctl -b -u vfiotx-boot --no-pager | "
                                              "tail -30"))
    fsck_journal(g)
    host.shutdown()


SCENARIOS = {
    "seed-modules": scenario_seed_modules,
    "rollback": scenario_rollback,
    "power-cut": scenario_power_cut,
    "seed-procedure": scenario_seed_procedure,
    "broken-boot": scenario_broken_boot,
}

PENDING = {
    "display-gpu": "blacklist bochs, bind the VGA (1234:1111), --release; needs --method "
                   "blacklist and --release",
    "two-kernels": "both kernels' initramfs get what they need, both boot bound; needs the "
                   "rebuild steps (the image already carries the backports 6.12 kernel)",
    "rescue": "init=/bin/sh, vfiotx --root rollback; needs GRUB menu editing over serial",
}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("image")
    sub.add_parser("list")
    r = sub.add_parser("run")
    r.add_argument("scenario", choices=sorted(SCENARIOS))
    r.add_argument("--build-dir", required=True, help="vfiotx's CMake build directory")
    r.add_argument("--artifacts", required=True, help="where serial logs (and disk) are kept")
    r.add_argument("--keep-disk", action="store_true", help="keep the disk image on success")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("the VM tests need root (mmdebstrap, e2fsprogs on image files)", file=sys.stderr)
        return 1
    if args.cmd == "list":
        for name, fn in SCENARIOS.items():
            print("%-18s %s" % (name, fn.__doc__.split("\n")[0]))
        for name, need in PENDING.items():
            print("%-18s pending: %s" % (name, need))
        return 0
    if args.cmd == "image":
        t = time.monotonic()
        path, info = image.base_image()
        print("base image %s (%.0fs here)\n%s" % (path, time.monotonic() - t,
                                                  json.dumps(info, indent=1)))
        return 0
    # SIGTERM (ctest, a CI runner) unwinds like ^C, so QEMU is always killed in `finally`
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    host = Host(os.path.abspath(args.artifacts), os.path.abspath(args.build_dir))
    ok = False
    try:
        host.prepare()
        SCENARIOS[args.scenario](host)
        ok = True
    except (Failure, VMError, subprocess.SubprocessError) as e:
        print("\nFAIL %s: %s" % (args.scenario, e), file=sys.stderr)
        traceback.print_exc()
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
