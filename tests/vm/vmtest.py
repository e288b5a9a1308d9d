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


def apply_modules(host, g):
    """vfiotx plan, then vfiotx apply -y --no-rebuild: /etc/modules lists the vfio modules."""
    rc, out = g.sh("vfiotx plan")
    for m in VFIO_MODULES:
        check("+" + m in out, "plan does not add %s:\n%s" % (m, out))
    check(modules_sha(g) == hashlib.sha256(host.original_modules).hexdigest(),
          "plan changed /etc/modules")
    rc, out = g.sh("vfiotx apply -y --no-rebuild")
    check("applied as transaction" in out, "apply did not report its transaction:\n" + out)
    listed = [line.strip() for line in g.out("cat /etc/modules").splitlines()
              if line.strip() and not line.startswith("#")]
    for m in VFIO_MODULES:
        check(m in listed, "/etc/modules lacks %s after apply: %s" % (m, listed))
    virqfd = every_kernel_has_virqfd(g)
    check(("vfio_virqfd" in listed) == virqfd,
          "vfio_virqfd listed=%s but every kernel ships it=%s" % ("vfio_virqfd" in listed, virqfd))
    host.log("applied: /etc/modules lists %s" % ", ".join(listed))
    return listed


def rebuild_initramfs(host, g):
    """update-initramfs -u -k all by hand (vfiotx's rebuild step is not there yet)."""
    t = time.monotonic()
    g.sh("update-initramfs -u -k all", timeout=1200)
    host.log("update-initramfs -u -k all: %.0fs" % (time.monotonic() - t))


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
    """The seed's "Ensure Kernel Modules" step done by vfiotx on a real host, then a real VFIO
    binding of the edu device by hand (what the later binding scenarios will automate)."""
    g = host.boot("first")
    through_grub(g, host.info)
    iommu_present(g)
    modules_loaded_at_boot(g, want=False)
    apply_modules(host, g)
    rebuild_initramfs(host, g)
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
    """apply + rebuild + reboot, then vfiotx rollback + rebuild + reboot: the vfio modules no
    longer load and /etc/modules is byte-identical to the original (read from the disk)."""
    g = host.boot("first")
    apply_modules(host, g)
    rebuild_initramfs(host, g)
    g = host.reboot("after-apply")
    modules_loaded_at_boot(g, want=True)
    out = g.out("vfiotx rollback -y")
    check("rollback" in out.lower() or "restored" in out.lower(), "rollback said:\n" + out)
    check(modules_sha(g) == hashlib.sha256(host.original_modules).hexdigest(),
          "/etc/modules differs from the original after rollback")
    rebuild_initramfs(host, g)
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
    rc, out = g.sh("VFIOTX_FAILPOINT_TRACE=1 vfiotx --root /tmp/tr apply -y --no-rebuild 2>&1 "
                   ">/dev/null | grep 'failpoint [0-9]*:'")
    steps = []
    for line in out.splitlines():
        n, name = line.split("failpoint ", 1)[1].split(": ", 1)
        steps.append((int(n), name.strip()))
    target = g.out("cat /tmp/tr/etc/modules; echo .")  # the trailing "." keeps final newlines
    g.sh("umount /tmp/tr/lib/modules /tmp/tr/boot; rm -rf /tmp/tr")
    return steps, target[:-1].encode()


def cut_points(steps):
    """Failpoints to cut the power at, named by what has happened when vfiotx hangs there."""
    names = [name for _, name in steps]
    states = [i for i, name in enumerate(names) if name == "state: replace state file"]
    check(len(states) >= 2, "the trace has no intent and commit point: %s" % steps)
    intent, commit = states[-2], states[-1]

    def after_write(i):  # first step after the atomic write that follows index i
        j = names.index("atomic-write: fsync directory", i)
        return j + 1

    first_file = after_write(intent)
    rename = names.index("atomic-write: rename", first_file)
    done = after_write(commit)
    return [("intent-written", steps[first_file][0], "before"),
            ("modules-written-not-renamed", steps[rename][0], "before"),
            ("after-commit-point", steps[done][0], "after")]


def scenario_power_cut(host):
    """Cut the power during a real apply at chosen steps; every time the host boots, status
    reports the interrupted transaction, the next command finishes or undoes it, /etc/modules is
    all-before or all-after and git fsck of the journal is clean."""
    g = host.boot("first")
    before = host.original_modules
    for k in range(3):
        steps, after = trace_apply(g)
        check(after != before, "the traced apply changes nothing")
        name, n, expect = cut_points(steps)[k]
        host.log("cut %d: %s at failpoint %d of %d (%s)" % (k + 1, name, n, len(steps),
                                                            steps[n - 1][1]))
        g.sh("VFIOTX_FAILPOINT_HANG=%d vfiotx apply -y --no-rebuild >/root/hang.log 2>&1 &" % n)
        rc, out = g.sh("for i in $(seq 600); do grep -q 'hanging at failpoint' /root/hang.log "
                       "&& break; sleep 0.1; done; cat /root/hang.log; "
                       "grep -q 'hanging at failpoint %d ' /root/hang.log; r=$?; "
                       "echo '--- state at the cut:'; cat /var/lib/vfiotx/state; echo; "
                       "ls -la /etc | grep modules; exit $r" % n, timeout=180, check=False)
        host.log("at the cut:\n" + out)
        check(rc == 0, "vfiotx did not hang at failpoint %d:\n%s" % (n, out))
        host.power_cut()
        on_disk = vmlib.read_guest_file(host.disk, "/etc/modules")
        check(on_disk in (before, after), "after the power cut /etc/modules is neither all-before"
              " nor all-after:\n%r" % on_disk)
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
        check("interrupted" not in status, "still interrupted after recovery:\n" + status)
        fsck_journal(g)
        log = g.out("vfiotx log")
        host.log("vfiotx log:\n" + log)
        if expect == "before":
            check(log.splitlines()[0].split()[3:5] == ["recovery", "undone"],
                  "the journal does not record the undone transaction:\n" + log)
        else:
            # back to the original files for the next cut
            g.sh("vfiotx rollback -y 1")
            check(g.out("cat /etc/modules; echo .")[:-1].encode() == before,
                  "rollback to the baseline did not restore /etc/modules")
    host.shutdown()


SCENARIOS = {
    "seed-modules": scenario_seed_modules,
    "rollback": scenario_rollback,
    "power-cut": scenario_power_cut,
}

PENDING = {
    "seed-procedure": "vfiotx check + apply --device <edu> (binding, cmdline, rebuild) -> reboot "
                      "-> bound at boot; needs devices/check/--device and the rebuild steps",
    "display-gpu": "blacklist bochs, bind the VGA (1234:1111), --release; needs --method "
                   "blacklist and --release",
    "two-kernels": "both kernels' initramfs get what they need, both boot bound; needs the "
                   "rebuild steps (the image already carries the backports 6.12 kernel)",
    "broken-boot": "bind the virtio-blk controller with --force -> GRUB falls back; needs the "
                   "boot-counted rollback (boot with no_reboot=False)",
    "rescue": "init=/bin/sh, vfiotx --root rollback; needs GRUB menu editing over serial",
    "power-cut-rebuild": "cut during the rebuild step; needs the rebuild steps",
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
