"""UEFI disks derived from the package image (or the base image without a package): the same
Debian 12 root filesystem behind an EFI system partition, booted through OVMF.

Not built by image.py: changing it changes the base image's cache key (a cold rebuild of about
15 minutes in CI). Instead, per kind (`grub`: GRUB on UEFI as Debian's installer sets it up,
shim + signed GRUB, grubenv on /boot; `sdboot`: systemd-boot as `apt install systemd-boot` sets
it up on Debian 12; `pbt`: systemd-boot on two ESPs kept by proxmox-boot-tool, as Proxmox VE's
installer sets up a ZFS host booted by UEFI):

1. On the host: the root ext4 partition is copied out of the source disk (data extents only),
   the guest's /etc/fstab gets the ESP (`/boot/efi`, vfat, umask=0077, as the installer writes
   it; not for pbt: proxmox-boot-tool mounts each ESP only while it writes to it), the
   packages the kind needs are downloaded by `apt-get install --download-only` run against the
   guest's own dpkg status (so only what the guest lacks, at the versions that fit what it
   has: a version that differs from an installed one fails the build) and written to
   /root/uefi-debs/ with debugfs; `mkfs.vfat` makes the ESP (fixed volume id); `sfdisk` a GPT
   disk with the ESP at 1 MiB and the root partition after it (pbt: a second ESP between
   them).
2. One OVMF boot of the default kernel with -kernel/-initrd (the disk has no boot loader yet)
   installs the packages with apt (grub: grub-efi-amd64 replaces grub-pc; then `grub-install
   --target=x86_64-efi --efi-directory=/boot/efi --force-extra-removable` and update-grub;
   sdboot: the postinst runs `bootctl install` and `kernel-install add` per kernel, then
   `kernel-install remove` of the backports kernel leaves Debian 12's own 6.1 on the ESP; its
   modules.dep, which that removes too, is given back by depmod; pbt: see PBT_DIR) and powers
   off. Its OVMF variable store (with the Boot#### entries the install made) is kept beside
   the disk: every scenario boots from a copy of both.

Cached in `<source disk's cache dir>/uefi-<kind>/`, keyed by the source (the package's sha256,
else the base recipe), this file's bytes and (pbt) the stand-in's; one build at a time (a
lock, as the other builders). info.json has the source's info plus `root_offset`
(vmlib.set_root_offset), the (first) ESP's offset, size and UUID, every ESP's offset, UUID and
partition UUID (`esp_offsets`, `esp_uuids`, `esp_partuuids`), and the timings."""

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import image
import vmlib

KINDS = {
    # a Debian 12 UEFI install: the installer puts shim and the signed GRUB on amd64 (Secure
    # Boot is off in OVMF_CODE_4M.fd: shim then starts GRUB without checking); grub-install
    # writes EFI/debian/grub.cfg (the stub that loads /boot/grub/grub.cfg) only for the signed
    # image
    "grub": ["grub-efi-amd64", "grub-efi-amd64-bin", "grub-efi-amd64-signed", "shim-signed",
             "efibootmgr", "dosfstools"],
    "sdboot": ["systemd-boot", "systemd-boot-efi", "dosfstools"],
    # what proxmox-boot-tool needs on a UEFI host; efibootmgr to order the Boot#### entries
    "pbt": ["systemd-boot", "systemd-boot-efi", "dosfstools", "efibootmgr"],
}
ESP_SIZE = 256 << 20  # Proxmox's minimum (Debian's installer makes 512 MiB)
ESP_ID = "7A3C0E16"  # the vfat volume id, fixed: the fstab line is written before mkfs
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
LINUX_TYPE = "0FC63DAF-8483-4772-8E3D-693D477DE984"
ESP_OFFSET = vmlib.PART_OFFSET  # 1 MiB
GPT_TAIL = 1 << 20  # room for the backup GPT after the last partition
# pbt: the stand-in for Proxmox's proxmox-boot-tool and its hooks (not in Debian), installed
# into the guest at these paths; the install boot runs `proxmox-boot-tool init` on each ESP:
# systemd-boot with a Boot#### entry per ESP, a copy of every kernel that has an initramfs and
# its entry proxmox-<kver>.conf
PBT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pbt")
PBT_FILES = {"proxmox-boot-tool": ["usr/sbin/proxmox-boot-tool"],
             "zz-proxmox-boot": ["etc/kernel/postinst.d/zz-proxmox-boot",
                                 "etc/kernel/postrm.d/zz-proxmox-boot"],
             "proxmox-boot-sync": ["etc/initramfs/post-update.d/proxmox-boot-sync"]}
# pbt: two ESPs (volume id, GPT partition UUID), as on a ZFS mirror where each disk has one;
# here both are on the one disk, which shows the same thing to the firmware (a Boot#### entry
# per partition) and to proxmox-boot-tool (a UUID per ESP). Fixed partition UUIDs: the
# scenario tells by LoaderDevicePartUUID which one systemd-boot came from
PBT_ESPS = [("7A3C0E16", "2c7f5e0a-3b1d-4e6f-9a2b-7a3c0e160001"),
            ("5E2D9B41", "2c7f5e0a-3b1d-4e6f-9a2b-5e2d9b410002")]


def vfat_uuid(volume_id):
    """The UUID blkid and /dev/disk/by-uuid give a vfat volume id: XXXX-XXXX."""
    return volume_id[:4] + "-" + volume_id[4:]


ESP_UUID = vfat_uuid(ESP_ID)


def esp_layout(kind):
    """[(offset, vfat volume id, GPT partition UUID or None: random)] of the kind's ESPs, the
    first at 1 MiB, each after the other; the root partition follows the last."""
    if kind == "pbt":
        return [(ESP_OFFSET + i * ESP_SIZE, vid, puuid) for i, (vid, puuid) in
                enumerate(PBT_ESPS)]
    return [(ESP_OFFSET, ESP_ID, None)]


def root_offset(kind):
    return esp_layout(kind)[-1][0] + ESP_SIZE


def recipe_hash(source_info, kind):
    """The cache key: this file, the stand-in's files a pbt disk carries, the source."""
    h = hashlib.sha256()
    paths = [os.path.abspath(__file__)]
    if kind == "pbt":
        paths += [os.path.join(PBT_DIR, name) for name in sorted(PBT_FILES)]
    for path in paths:
        with open(path, "rb") as f:
            h.update(f.read())
    h.update((source_info.get("deb_sha256") or source_info["recipe"]).encode())
    return h.hexdigest()[:16]


def dpkg_versions(status):
    """{package: version} of the installed packages in a dpkg status file's text."""
    out = {}
    for stanza in status.split("\n\n"):
        p = re.search(r"^Package: (\S+)", stanza, re.M)
        v = re.search(r"^Version: (\S+)", stanza, re.M)
        s = re.search(r"^Status: .* installed$", stanza, re.M)
        if p and v and s:
            out[p.group(1)] = v.group(1)
    return out


def download(kind, status_path, work, log):
    """The .debs the guest needs for `kind`, resolved by apt against the guest's dpkg status
    (only what it lacks), from this machine's Debian archive (private lists, as image.py's
    backports look-up). Returns their paths."""
    mirror, security = image.apt_sources()
    d = os.path.join(work, "apt")
    archives = os.path.join(d, "archives")
    os.makedirs(os.path.join(d, "lists", "partial"), exist_ok=True)
    os.makedirs(os.path.join(archives, "partial"), exist_ok=True)
    src = os.path.join(d, "sources.list")
    with open(src, "w") as f:
        f.write("deb %s %s main\ndeb %s %s-updates main\n" % (mirror, image.SUITE, mirror,
                                                             image.SUITE))
        if security:
            f.write("deb %s %s-security main\n" % (security, image.SUITE))
    opts = ["-o", "Dir::Etc::sourcelist=" + src, "-o", "Dir::Etc::sourceparts=-",
            "-o", "Dir::Etc::preferencesparts=-",
            "-o", "Dir::State::Lists=" + os.path.join(d, "lists"),
            "-o", "Dir::State::status=" + status_path,
            "-o", "Dir::State::extended_states=" + os.path.join(d, "extended_states"),
            "-o", "Dir::Cache=" + d, "-o", "Dir::Cache::archives=" + archives,
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root",
            "-o", "APT::Install-Recommends=false"]
    t = time.monotonic()
    out = vmlib.run(["apt-get", "-q"] + opts + ["update"], timeout=600)
    if re.search(r"^(E:|Err:)", out, re.M):
        raise vmlib.VMError("apt-get update (private lists) failed:\n" + out[-3000:])
    out = vmlib.run(["apt-get", "-q", "-y", "--download-only"] + opts + ["install"]
                    + KINDS[kind], timeout=900)
    debs = sorted(os.path.join(archives, f) for f in os.listdir(archives) if f.endswith(".deb"))
    log("downloaded for %s in %.0fs: %s" % (kind, time.monotonic() - t,
                                           ", ".join(os.path.basename(p) for p in debs)))
    return debs


def check_versions(debs, installed):
    """No downloaded package replaces an installed one with another version (the guest and
    this machine's archive would then differ: rebuild the base image)."""
    for deb in debs:
        fields = vmlib.run(["dpkg-deb", "-f", deb, "Package", "Version"])
        name = re.search(r"^Package: (\S+)", fields, re.M).group(1)
        version = re.search(r"^Version: (\S+)", fields, re.M).group(1)
        if name in installed and installed[name] != version:
            raise vmlib.VMError("the archive's %s %s differs from the guest's %s: the base "
                                "image is older than the archive, rebuild it"
                                % (name, version, installed[name]))


def stage_pbt(stage):
    """The stand-in proxmox-boot-tool and its hooks (PBT_FILES), under a staging tree for
    vmlib.install_tree."""
    for name, dests in PBT_FILES.items():
        for dest in dests:
            os.makedirs(os.path.dirname(os.path.join(stage, dest)), exist_ok=True)
            shutil.copy(os.path.join(PBT_DIR, name), os.path.join(stage, dest))
            os.chmod(os.path.join(stage, dest), 0o755)


def prepare_disk(source, info, kind, work, log):
    """Steps 1 (host side): the GPT disk with the ESP(s) and the root filesystem, the fstab
    line (pbt: the stand-in) and the packages in it; returns (disk, kernel, initrd) for the
    install boot."""
    root = os.path.join(work, "root.ext4")
    vmlib.copy_partition(source, root)
    vmlib.run(["e2fsck", "-p", root], timeout=600)
    vmlib.set_root_offset(root, 0)  # a bare filesystem image: the helpers read it at 0
    root_size = os.path.getsize(root) // (1 << 20) << 20
    status = os.path.join(work, "status")
    with open(status, "wb") as f:
        f.write(vmlib.read_guest_file(root, "/var/lib/dpkg/status"))
    with open(status) as f:
        installed = dpkg_versions(f.read())
    debs = download(kind, status, work, log)
    check_versions(debs, installed)
    stage = os.path.join(work, "stage")
    os.makedirs(os.path.join(stage, "root/uefi-debs"))
    for deb in debs:
        shutil.copy(deb, os.path.join(stage, "root/uefi-debs"))
    os.makedirs(os.path.join(stage, "etc/kernel"))
    if kind != "pbt":
        fstab = vmlib.read_guest_file(root, "/etc/fstab").decode()
        with open(os.path.join(stage, "etc/fstab"), "w") as f:
            f.write(fstab + "UUID=%s /boot/efi vfat umask=0077 0 1\n" % ESP_UUID)
        os.chmod(os.path.join(stage, "etc/fstab"), 0o644)
    if kind in ("sdboot", "pbt"):
        # the command line kernel-install (proxmox-boot-tool) writes into the entries (the
        # seed procedure's place for IOMMU parameters on systemd-boot): what GRUB's entries
        # have on the BIOS image
        with open(os.path.join(stage, "etc/kernel/cmdline"), "w") as f:
            f.write("root=UUID=%s ro console=ttyS0,115200 %s quiet\n" % (
                info["root_uuid"], vmlib.GUEST_CMDLINE_EXTRA))
    if kind == "pbt":
        stage_pbt(stage)
    vmlib.install_tree(root, stage)
    if kind != "pbt":
        vmlib.debugfs(root, ["mkdir /boot/efi"], write=True)
    kver = info["default_kernel"]
    kernel = os.path.join(work, "vmlinuz")
    initrd = os.path.join(work, "initrd.img")
    for path, dest in (("/boot/vmlinuz-" + kver, kernel), ("/boot/initrd.img-" + kver, initrd)):
        with open(dest, "wb") as f:
            f.write(vmlib.read_guest_file(root, path))
    vmlib.run(["e2fsck", "-fn", vmlib.fs_spec(root)], timeout=600)
    parts = []
    table = "label: gpt\n"
    for i, (offset, volume_id, partuuid) in enumerate(esp_layout(kind)):
        esp = os.path.join(work, "esp%d.vfat" % i)
        vmlib.run(["mkfs.vfat", "-C", "-F", "32", "-i", volume_id, "-n", "EFI", esp,
                   str(ESP_SIZE // 1024)])
        parts.append((esp, offset))
        table += "start=%d, size=%d, type=%s, %sname=\"EFI system partition\"\n" % (
            offset // vmlib.SECTOR, ESP_SIZE // vmlib.SECTOR, ESP_TYPE,
            "uuid=%s, " % partuuid if partuuid else "")
    parts.append((root, root_offset(kind)))
    table += "start=%d, size=%d, type=%s, name=\"root\"\n" % (
        root_offset(kind) // vmlib.SECTOR, root_size // vmlib.SECTOR, LINUX_TYPE)
    disk = os.path.join(work, "disk.raw")
    vmlib.run(["truncate", "-s", str(root_offset(kind) + root_size + GPT_TAIL), disk])
    subprocess.run(["sfdisk", "-q", disk], text=True, check=True, timeout=60, input=table)
    with open(disk, "r+b") as dst:
        for part, offset in parts:
            with open(part, "rb") as src:
                vmlib.copy_range(src, dst, 0, os.fstat(src.fileno()).st_size, -offset)
            os.unlink(part)
    return disk, kernel, initrd


INSTALL = {
    "grub": [
        # grub-efi-amd64 replaces grub-pc (apt removes it); the explicit grub-install puts
        # shim + GRUB on the ESP under EFI/debian (a Boot#### entry in the variable store)
        # and, --force-extra-removable, as EFI/BOOT/BOOTX64.EFI (the firmware's default)
        "grub-install --target=x86_64-efi --efi-directory=/boot/efi --force-extra-removable",
        "update-grub",
        "test -f /boot/efi/EFI/debian/grub.cfg",
        "test -f /boot/grub/x86_64-efi/normal.mod",
    ],
    "sdboot": [
        # Debian's systemd-boot postinst ran `bootctl install` (loader.conf: `default
        # <machine-id>-*`) and `kernel-install add` for every kernel; the backports kernel's
        # entry would be the default (newest first): a plain Debian 12 host has only 6.1.
        # grub-pc stays installed (as `apt install systemd-boot` leaves it), with its
        # /boot/grub/grub.cfg: the firmware no longer starts it
        "bootctl is-installed",
    ],
    "pbt": [
        # no ESP is mounted (none is in fstab): Debian's systemd-boot postinst found none
        # (`bootctl --print-esp-path`) and installed nothing, and its kernel and initramfs
        # hooks (zz-systemd-boot, post-update.d/systemd-boot) do nothing for the same reason
        # (`bootctl is-installed` fails): they stay inert, as on a Proxmox host
        "! bootctl is-installed && ! bootctl --print-esp-path",
        "proxmox-boot-tool init /dev/vda1",
        "proxmox-boot-tool init /dev/vda2",
        "cat /etc/kernel/proxmox-boot-uuids",
        "test -z \"$(findmnt -n -t vfat -o TARGET)\"",  # init left none mounted
    ],
}


def esp1_first(g, log):
    """`bootctl install` puts the entry it creates first in BootOrder, so after `init` of ESP1
    then ESP2 the firmware would start ESP2's systemd-boot; put ESP1's first, as a two-disk
    host's firmware lists its first disk first: the second ESP is then the fallback, tried
    when the first does not start (what the pbt-boot scenario shows)."""
    out = g.out("efibootmgr -v")
    log("efibootmgr -v after init:\n" + out)
    entries = {m.group(2).lower(): m.group(1) for m in re.finditer(
        r"^Boot([0-9A-F]{4})\*? .*HD\(\d+,GPT,([0-9A-Fa-f-]+),", out, re.M)}
    ours = [entries.get(puuid) for _, puuid in PBT_ESPS]
    if None in ours:
        raise vmlib.VMError("no Boot#### entry for each ESP %s:\n%s"
                            % ([p for _, p in PBT_ESPS], out))
    order = re.search(r"^BootOrder: (\S+)$", out, re.M).group(1).split(",")
    g.sh("efibootmgr -q -o %s" % ",".join(ours + [b for b in order if b not in ours]))


def install_boot(disk, vars_fd, kernel, initrd, kind, info, work, log):
    """Step 2: the one OVMF boot that installs the boot loader; returns what it recorded."""
    rec = {}
    with vmlib.Guest(disk, work, "install-uefi-%s" % kind, kernel=kernel, initrd=initrd,
                     append="root=UUID=%s ro console=ttyS0,115200 %s quiet" % (
                         info["root_uuid"], vmlib.GUEST_CMDLINE_EXTRA),
                     uefi=vars_fd) as g:
        try:
            g.start()
            g.wait_login(timeout=420)
            rec["install_boot_login_seconds"] = round(g.boot_seconds)
            g.sh("test -d /sys/firmware/efi" +
                 ("" if kind == "pbt" else " && mountpoint -q /boot/efi"))
            t = time.monotonic()
            out = g.out("DEBIAN_FRONTEND=noninteractive apt-get install -y "
                        "/root/uefi-debs/*.deb 2>&1", timeout=1200)
            log("apt-get install (%.0fs):\n%s" % (time.monotonic() - t,
                                                  "\n".join(out.splitlines()[-25:])))
            others = [k for k in info["kernels"] if k != info["default_kernel"]]
            if kind == "pbt" and others:
                # they stay installed (as in the BIOS image) without an initramfs (as the
                # scenarios' default_kernel_only leaves them): proxmox-boot-tool copies only
                # the kernels that have one, so the ESPs hold Debian 12's own 6.1
                g.sh("rm -f " + " ".join("/boot/initrd.img-" + k for k in others))
            for cmd in INSTALL[kind]:
                log("%s:\n%s" % (cmd, g.out(cmd + " 2>&1", timeout=900)))
            if kind == "sdboot":
                for k in others:
                    # its entry and files leave the ESP; the kernel stays installed (as in the
                    # BIOS image), but 252's 50-depmod.install deleted its modules.dep & co.
                    # with it: depmod gives them back
                    log("kernel-install remove %s:\n%s" % (k, g.out(
                        "kernel-install remove %s 2>&1 && depmod %s 2>&1" % (k, k),
                        timeout=300)))
                    g.sh("test -f /lib/modules/%s/modules.dep" % k)
            if kind == "pbt":
                esp1_first(g, log)
                log("proxmox-boot-tool status:\n" + g.out("proxmox-boot-tool status 2>&1"))
            rec["uefi_install_seconds"] = round(time.monotonic() - t)
            rec["machine_id"] = g.out("cat /etc/machine-id")
            g.sh("rm -rf /root/uefi-debs")
            if kind != "pbt":  # (pbt: its ESPs are listed from the host, none is mounted)
                log("the ESP:\n" + g.out("find /boot/efi | sort"))
            log("efibootmgr:\n" + g.out("efibootmgr -v 2>&1 || bootctl list --no-pager 2>&1"))
            g.sh("sync")
            g.poweroff(timeout=180)
        except Exception:
            print("--- serial log of the UEFI install boot:\n" + vmlib.tail(g.log))
            raise
    return rec


def build(source, info, kind, cache_dir, log):
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix="build.", dir=cache_dir)
    try:
        disk, kernel, initrd = prepare_disk(source, info, kind, work, log)
        t_host = time.monotonic() - t0
        vars_fd = os.path.join(work, "vars.fd")
        shutil.copy(vmlib.OVMF_VARS, vars_fd)
        t1 = time.monotonic()
        rec = install_boot(disk, vars_fd, kernel, initrd, kind, info, work, log)
        t_boot = time.monotonic() - t1
        vmlib.set_root_offset(disk, root_offset(kind))
        vmlib.run(["e2fsck", "-fn", vmlib.fs_spec(disk)], timeout=600)
        esps = esp_layout(kind)
        table = json.loads(vmlib.run(["sfdisk", "--json", disk]))["partitiontable"]
        if kind == "pbt":
            for offset, volume_id, _ in esps:
                log("ESP %s at %d:\n%s" % (vfat_uuid(volume_id), offset,
                                           "\n".join(vmlib.esp_list(disk, offset))))
        # esp_offset, esp_uuid: the first ESP (the only one but on pbt), for the shared code
        new = dict(info, uefi=kind, uefi_recipe=recipe_hash(info, kind),
                   root_offset=root_offset(kind), esp_offset=ESP_OFFSET, esp_size=ESP_SIZE,
                   esp_uuid=ESP_UUID, esp_offsets=[e[0] for e in esps],
                   esp_uuids=[vfat_uuid(e[1]) for e in esps],
                   esp_partuuids=[p["uuid"].lower() for p in table["partitions"]
                                  if p["type"] == ESP_TYPE], **rec)
        new["uefi_seconds"] = {"host": round(t_host), "install_boot": round(t_boot),
                               "total": round(time.monotonic() - t0)}
        with open(os.path.join(work, "info.json"), "w") as f:
            json.dump(new, f, indent=1)
        for name in ("info.json", "disk.raw", "vars.fd"):
            if os.path.exists(os.path.join(cache_dir, name)):
                os.unlink(os.path.join(cache_dir, name))
        # the disk and its variable store first: an info.json alone is never taken for a build
        for name in ("disk.raw", "vars.fd", "serial-install-uefi-%s.log" % kind, "info.json"):
            os.rename(os.path.join(work, name), os.path.join(cache_dir, name))
        log("UEFI %s disk built in %ds: %s" % (kind, new["uefi_seconds"]["total"],
                                              new["uefi_seconds"]))
        return new
    finally:
        shutil.rmtree(work, ignore_errors=True)


def uefi_image(source, info, kind, log):
    """(disk, variable store, info) of the cached UEFI disk of `kind` derived from the source
    disk (the package image, or the base image) with its info; builds it when the cache lacks
    it or holds one of another source or recipe. The caller copies both files before booting."""
    if kind not in KINDS:
        raise vmlib.VMError("no UEFI image kind %r (%s)" % (kind, ", ".join(KINDS)))
    cache_dir = os.path.join(os.path.dirname(source), "uefi-" + kind)
    os.makedirs(cache_dir, exist_ok=True)
    disk = os.path.join(cache_dir, "disk.raw")
    vars_fd = os.path.join(cache_dir, "vars.fd")
    info_path = os.path.join(cache_dir, "info.json")
    with open(os.path.join(cache_dir, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        new = None
        if os.path.exists(info_path) and os.path.exists(disk) and os.path.exists(vars_fd):
            with open(info_path) as f:
                new = json.load(f)
            if new.get("uefi_recipe") != recipe_hash(info, kind):
                new = None
        if new is None:
            new = build(source, info, kind, cache_dir, log)
    vmlib.set_root_offset(disk, new["root_offset"])
    return disk, vars_fd, new
