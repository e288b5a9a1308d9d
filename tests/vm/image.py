"""The Debian 12 guest image: built from Debian's packages with mmdebstrap, without loop devices
or mounts, and cached outside the repository under a hash of this recipe (this file's bytes).

Steps: mmdebstrap a root tree (the mirror is read from this machine's apt sources at run time),
write the serial console / GRUB / fstab settings into it, `mkfs.ext4 -d` it into a filesystem
image, `sfdisk` a partition table onto a disk image and `dd` the filesystem into it; then boot
once with -kernel/-initrd from the tree and run `grub-install /dev/vda && update-grub` in the
guest, so that every later boot goes through GRUB from the disk like a real host."""

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import vmlib

SUITE = "bookworm"
ROOT_UUID = "5e1f3a0c-7b1d-4c55-9a3e-0f1e2d3c4b5a"  # fixed, so GRUB ids are known in advance
FS_SIZE = "4G"
PACKAGES = [
    "linux-image-amd64", "grub-pc", "initramfs-tools", "zstd", "systemd-sysv", "udev", "kmod",
    "pciutils", "e2fsprogs",
    # vfiotx's runtime libraries
    "libgit2-1.5", "libpci3", "libarchive13", "libjson-c5", "libkmod2",
    # git fsck of the journal from inside the guest
    "git",
    # a nested QEMU started stopped with `vfiotx vm-config --for qemu`'s arguments (issue 19)
    "qemu-system-x86",
]
BACKPORTS_KERNEL_META = "linux-image-amd64"


def recipe_hash():
    with open(os.path.abspath(__file__), "rb") as f:
        h = hashlib.sha256(f.read())
    h.update(vmlib.GUEST_CMDLINE_EXTRA.encode())  # (written into the image's GRUB defaults)
    return h.hexdigest()[:16]


def cache_root():
    return os.environ.get("VFIOTX_VM_CACHE", "/var/cache/vfiotx-vm")


def apt_sources():
    """The Debian archive URIs this machine's apt uses: (main archive, security archive)."""
    uris = []
    files = glob.glob("/etc/apt/sources.list.d/*.sources")
    for path in files:
        with open(path) as f:
            text = f.read()
        for stanza in re.split(r"\n\s*\n", text):
            m = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            s = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if m and s:
                uris.append((m.group(1), s.group(1).split()))
    for path in ["/etc/apt/sources.list"] + glob.glob("/etc/apt/sources.list.d/*.list"):
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m:
                    uris.append((m.group(1), [m.group(2)]))
    main = next((u for u, suites in uris if SUITE in suites), None)
    sec = next((u for u, suites in uris if SUITE + "-security" in suites), None)
    if not main:
        raise vmlib.VMError("no '%s' source in this machine's apt sources" % SUITE)
    return main, sec


def backports_kernel(mirror, workdir):
    """The versioned 6.x kernel package bookworm-backports' linux-image-amd64 depends on, or
    None when bookworm-backports is not reachable through the same mirror."""
    d = os.path.join(workdir, "apt-bpo")
    os.makedirs(os.path.join(d, "lists", "partial"), exist_ok=True)
    src = os.path.join(d, "sources.list")
    with open(src, "w") as f:
        f.write("deb %s %s-backports main\n" % (mirror, SUITE))
    opts = ["-o", "Dir::Etc::sourcelist=" + src, "-o", "Dir::Etc::sourceparts=-",
            "-o", "Dir::State::Lists=" + os.path.join(d, "lists"),
            "-o", "Dir::Cache=" + d, "-o", "Debug::NoLocking=1",
            "-o", "APT::Sandbox::User=root"]
    p = subprocess.run(["apt-get", "-q"] + opts + ["update"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300)
    if p.returncode != 0 or re.search(r"^(E:|Err:)", p.stdout, re.M):
        print("bookworm-backports is not reachable through the mirror: no second kernel")
        return None
    p = subprocess.run(["apt-cache"] + opts + ["show", BACKPORTS_KERNEL_META], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    m = re.search(r"^Depends:.*?(linux-image-[0-9][^\s,]*-amd64)", p.stdout, re.M)
    if not m:
        print("bookworm-backports has no linux-image-amd64: no second kernel")
        return None
    return m.group(1)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def customize(tree, kernels, default_kernel):
    write(os.path.join(tree, "etc/hostname"), "vfiotx-vm\n")
    write(os.path.join(tree, "etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 vfiotx-vm\n")
    write(os.path.join(tree, "etc/fstab"), "UUID=%s / ext4 errors=remount-ro 0 1\n" % ROOT_UUID)
    # root logs in on the serial console by itself
    write(os.path.join(tree, "etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"),
          "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud "
          "115200,57600,38400,9600 %I $TERM\n")
    # nothing runs apt or waits for a network behind the tests' back
    for unit in ["apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer",
                 "fstrim.timer", "man-db.timer", "systemd-networkd-wait-online.service"]:
        link = os.path.join(tree, "etc/systemd/system", unit)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink("/dev/null", link)
    # GRUB on the serial port; the default entry is Debian 12's own kernel (6.1) even when the
    # backports kernel (newer, so first in the menu) is installed too
    if len(kernels) > 1:
        default = "gnulinux-advanced-%s>gnulinux-%s-advanced-%s" % (ROOT_UUID, default_kernel,
                                                                   ROOT_UUID)
    else:
        default = "0"
    write(os.path.join(tree, "etc/default/grub"),
          "# written by tests/vm/image.py (a stock Debian file with a serial console)\n"
          'GRUB_DEFAULT="%s"\n' % default +
          "GRUB_TIMEOUT=2\n"
          "GRUB_TIMEOUT_STYLE=menu\n"
          "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
          'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'
          'GRUB_CMDLINE_LINUX="console=ttyS0,115200 %s"\n' % vmlib.GUEST_CMDLINE_EXTRA +
          'GRUB_TERMINAL="serial console"\n'
          'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"\n'
          "GRUB_DISABLE_OS_PROBER=true\n")
    # a host's initramfs with only the modules its hardware needs (Debian's default MODULES=most
    # copies every storage and input driver: an update-initramfs took minutes per kernel under
    # TCG); zstd is Debian 12's default compression, written out to be explicit
    conf = os.path.join(tree, "etc/initramfs-tools/initramfs.conf")
    with open(conf) as f:
        text = f.read()
    text, n = re.subn(r"^MODULES=.*$", "MODULES=dep", text, flags=re.M)
    if n != 1:
        raise vmlib.VMError("initramfs.conf has no MODULES= line")
    text, n = re.subn(r"^#?\s*COMPRESS=.*$", "COMPRESS=zstd", text, count=1, flags=re.M)
    if n != 1:
        text += "COMPRESS=zstd\n"
    write(conf, text)


def build(cache_dir):
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix="build.", dir=cache_dir)
    try:
        mirror, security = apt_sources()
        bpo = backports_kernel(mirror, work)
        tree = os.path.join(work, "tree")
        sources = ["deb %s %s main" % (mirror, SUITE), "deb %s %s-updates main" % (mirror, SUITE)]
        if security:
            sources.append("deb %s %s-security main" % (security, SUITE))
        include = list(PACKAGES)
        if bpo:
            sources.append("deb %s %s-backports main" % (mirror, SUITE))
            include.append(bpo + "/" + SUITE + "-backports")
        print("mmdebstrap %s (%s)" % (SUITE, ", ".join(include)), flush=True)
        vmlib.run(["mmdebstrap", "--variant=minbase", "--mode=root",
                   "--aptopt=APT::Install-Recommends \"false\"",
                   "--include=" + ",".join(include), SUITE, tree] + sources, timeout=1800)
        t_strap = time.monotonic() - t0
        kernels = sorted(os.path.basename(k)[len("vmlinuz-"):]
                         for k in glob.glob(os.path.join(tree, "boot/vmlinuz-*")))
        default_kernel = next(k for k in kernels if k.startswith("6.1."))
        customize(tree, kernels, default_kernel)
        fs = os.path.join(work, "root.ext4")
        vmlib.run(["truncate", "-s", FS_SIZE, fs])
        vmlib.run(["mkfs.ext4", "-q", "-L", "root", "-U", ROOT_UUID, "-d", tree, fs],
                  timeout=1200)
        disk = os.path.join(work, "disk.raw")
        size = os.path.getsize(fs) + vmlib.PART_OFFSET
        vmlib.run(["truncate", "-s", str(size), disk])
        subprocess.run(["sfdisk", "-q", disk], input="label: dos\nstart=2048, type=83, bootable\n",
                       text=True, check=True, timeout=60)
        vmlib.run(["dd", "if=" + fs, "of=" + disk, "bs=1M", "seek=1", "conv=notrunc,sparse",
                   "status=none"], timeout=1200)
        os.unlink(fs)
        # first boot from the tree's kernel: install GRUB on the disk like an installer does
        kern = os.path.join(work, "vmlinuz")
        initrd = os.path.join(work, "initrd.img")
        shutil.copy(os.path.join(tree, "boot/vmlinuz-" + default_kernel), kern)
        shutil.copy(os.path.join(tree, "boot/initrd.img-" + default_kernel), initrd)
        shutil.rmtree(tree)
        t1 = time.monotonic()
        rebuild = {}
        with vmlib.Guest(disk, work, "install-grub", kernel=kern, initrd=initrd,
                         append="root=UUID=%s ro console=ttyS0,115200 %s" % (
                             ROOT_UUID, vmlib.GUEST_CMDLINE_EXTRA)) as g:
            try:
                g.start()
                g.wait_login(timeout=300)
                g.sh("grub-install /dev/vda && update-grub", timeout=600)
                # the initramfs images mmdebstrap built on the build machine (MODULES=most, as
                # the chroot cannot see the guest's hardware) become this host's own MODULES=dep
                # images; the time of each is the price of a rebuild step in the scenarios
                for k in kernels:
                    t = time.monotonic()
                    g.sh("update-initramfs -u -k %s" % k, timeout=1200)
                    rebuild[k] = round(time.monotonic() - t)
                    print("update-initramfs -u -k %s: %ds (MODULES=dep, zstd)" % (k, rebuild[k]),
                          flush=True)
                g.sh("ls -l /boot")
                g.sh("systemctl disable e2scrub_reap.service 2>/dev/null; true")
                g.sh("sync")
                g.poweroff(timeout=180)
            except Exception:
                print("--- serial log of the GRUB install boot:\n" + vmlib.tail(g.log))
                raise
        t_first = time.monotonic() - t1
        # the guest shut down cleanly: nothing left in the ext4 journal for a later boot to
        # replay over what debugfs writes into a scenario's copy
        vmlib.run(["e2fsck", "-fn", vmlib.fs_spec(disk)], timeout=600)
        info = {"recipe": recipe_hash(), "kernels": kernels, "default_kernel": default_kernel,
                "backports_kernel": bpo, "root_uuid": ROOT_UUID,
                "seconds": {"mmdebstrap": round(t_strap), "first_boot": round(t_first),
                            "update_initramfs": rebuild,
                            "total": round(time.monotonic() - t0)}}
        with open(os.path.join(work, "info.json"), "w") as f:
            json.dump(info, f, indent=1)
        for name in ("disk.raw", "info.json", "serial-install-grub.log"):
            os.rename(os.path.join(work, name), os.path.join(cache_dir, name))
        print("image built in %ds: %s" % (info["seconds"]["total"], info), flush=True)
        return info
    finally:
        shutil.rmtree(work, ignore_errors=True)


def base_image():
    """(path of the cached base disk image, its info); builds it when the cache lacks it."""
    cache_dir = os.path.join(cache_root(), recipe_hash())
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(cache_dir, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; others wait and reuse it
        info_path = os.path.join(cache_dir, "info.json")
        if os.path.exists(info_path) and os.path.exists(os.path.join(cache_dir, "disk.raw")):
            with open(info_path) as f:
                info = json.load(f)
        else:
            info = build(cache_dir)
    return os.path.join(cache_dir, "disk.raw"), info
