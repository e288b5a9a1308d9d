#!/usr/bin/env bash
# Rebuild steps inside the transaction, with fake tools (--no-chroot): the exact argv for each
# change kind and each detected setup, failure and timeout leave every file as before with the
# restored state rebuilt, and verification reads the built initramfs with libarchive.
. "$(dirname "$0")/lib.sh"

igpu=0000:00:02.0
use_host intel-igpu-desktop
v() { vt --root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot "$@"; }
debian_grub() {
	root=$(mkhost intel-igpu-desktop)
	fake_tools "$root"
	touch "$root/usr/sbin/update-initramfs" "$root/usr/sbin/update-grub"
	# the initramfs of each kernel exists already (the fixture's are placeholders)
	for k in 6.1.0-25-amd64 6.1.0-26-amd64; do update-initramfs -u -k $k >/dev/null; done
	: >"$FAKE_LOG"
}

# --- Debian with GRUB: a device bound -> every kernel's initramfs, then update-grub.
debian_grub
run 0 v plan --device "$igpu"
assert_contains "$OUT" "[1/3] update-initramfs -u -k 6.1.0-25-amd64"
assert_contains "$OUT" "[3/3] update-grub"
run 0 v apply -y --no-arm --device "$igpu"
assert_eq "$(cat "$FAKE_LOG")" "update-initramfs -u -k 6.1.0-25-amd64
update-initramfs -u -k 6.1.0-26-amd64
update-grub" "the minimum rebuild set, in order"
assert_contains "$OUT" "[2/3] update-initramfs -u -k 6.1.0-26-amd64 ("
assert_contains "$OUT" "rebuilt and verified: 3 steps"
grep -q "intel_iommu=on iommu=pt" "$root/boot/grub/grub.cfg" || fail "grub.cfg carries the new command line"
run 0 v --json status
python3 -c 'import json,sys; d=json.load(sys.stdin); assert not d["pending_rebuild"], d' <<<"$OUT" || fail "no pending rebuild"
run 0 v --json show 2
python3 -c '
import json, sys
d = json.load(sys.stdin)
' <<<"$OUT" || fail "show --json"
git -C "$root/var/lib/vfiotx/journal.git" show refs/heads/journal:meta.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
record = m["extra"]["rebuild"]
steps = [s for s in record if "command" in s]
assert [s["command"] for s in steps] == ["update-initramfs -u -k 6.1.0-25-amd64", "update-initramfs -u -k 6.1.0-26-amd64", "update-grub"], steps
assert all(s["exit"] == 0 for s in steps), steps
# after the steps, /boot flushed for GRUB (the test root is on this machine'"'"'s file system)
flushes = [s for s in record if "flush" in s]
assert record[-len(flushes):] == flushes and [f["flush"] for f in flushes] == ["/boot"], record
assert flushes[0]["method"] in ("journal checkpoint", "freeze and thaw", "sync", "none"), flushes
' || fail "the journal entry records each step and its exit status, then the flush of /boot"
fsck_ok "$root"

# --- Only the command line changes: no initramfs rebuild.
: >"$FAKE_LOG"
run 0 v apply -y --no-arm --cmdline-add foo=1
assert_eq "$(cat "$FAKE_LOG")" "update-grub" "a command-line change runs only update-grub"
# --- Nothing changes: nothing runs.
: >"$FAKE_LOG"
run 0 v apply -y --no-arm
assert_contains "$OUT" "nothing to do"
assert_eq "$(cat "$FAKE_LOG")" "" "no change, no rebuild"

# --- A failing tool: every file as before, the restored state rebuilt, a failed entry.
debian_grub
run 0 v apply -y --no-arm
before=$(etc_state "$root")
: >"$FAKE_LOG"
FAKE_FAIL_ONCE=update-grub run 1 v apply -y --no-arm --device "$igpu"
assert_contains "$ERR" "E: update-grub: fake failure for the test"
assert_contains "$ERR" "every file was put back as it was and rebuilt"
assert_eq "$(etc_state "$root")" "$before" "a failed rebuild leaves every file as before"
assert_eq "$(grep -c '^update-initramfs' "$FAKE_LOG")" 4 "the initramfs rebuilt for the change, then again for the restored files"
assert_eq "$(grep -c '^update-grub' "$FAKE_LOG")" 2 "grub.cfg regenerated for the restored files"
# A tool that keeps failing: the files are put back, the rebuild for them fails too, and the
# host is left with a pending rebuild (never a claim of a clean undo).
rm -f "$FAKE_LOG".failed-*
FAKE_FAIL=update-grub run 1 v apply -y --no-arm --device "$igpu"
assert_contains "$ERR" "but rebuilding for them failed"
assert_eq "$(etc_state "$root")" "$before" "files put back although the tool keeps failing"
run 0 v status
assert_contains "$OUT" "pending rebuild"
run 0 v apply -y --no-arm
assert_contains "$OUT" "the pending rebuild is complete"
run 0 v log -n 1
assert_contains "$OUT" "failed"
run 0 v show "$(echo "$OUT" | awk '{print $1}')"
assert_contains "$OUT" "fake failure"
grep -q "intel_iommu=on" "$root/boot/grub/grub.cfg" && fail "grub.cfg must not keep the failed command line"
fsck_ok "$root"

# --- A hanging tool: killed at the time limit, files as before.
: >"$FAKE_LOG"
FAKE_HANG=update-initramfs run 1 v --rebuild-timeout 2 apply -y --no-arm --device "$igpu"
assert_contains "$ERR" "killed after 2"
assert_eq "$(etc_state "$root")" "$before" "a timed-out rebuild leaves every file as before"
fsck_ok "$root"

# --- Verification: an initramfs without vfiotx's conf file, or without the vfio modules.
# A garbage initramfs (issue 14, 16): the report names it and says why, not an empty list.
for omit in conf vfio garbage; do
	: >"$FAKE_LOG"
	FAKE_OMIT=$omit run 1 v apply -y --no-arm --device "$igpu"
	assert_contains "$ERR" "what the rebuild built is not what the files say"
	[ "$omit" = conf ] && assert_contains "$ERR" "etc/modprobe.d/vfiotx.conf"
	[ "$omit" = vfio ] && assert_contains "$ERR" "vfio"
	[ "$omit" = garbage ] && assert_contains "$ERR" "$(printf 'say:\n/boot/initrd.img-6.1.0-2')"
	assert_eq "$(etc_state "$root")" "$before" "a failed verification leaves every file as before ($omit)"
done
run 0 v apply -y --no-arm --device "$igpu"
assert_contains "$OUT" "rebuilt and verified"

# --- --no-rebuild leaves a pending rebuild; the next apply completes it.
debian_grub
run 0 v apply -y --no-arm --no-rebuild --device "$igpu"
assert_eq "$(cat "$FAKE_LOG")" "" "--no-rebuild runs nothing"
run 0 v status
assert_contains "$OUT" "pending rebuild"
run 0 v apply -y --no-arm
assert_contains "$OUT" "the pending rebuild is complete"
assert_eq "$(grep -c . "$FAKE_LOG")" 3 "the pending rebuild: every kernel and the boot configuration"
run 0 v status
assert_not_contains "$OUT" "pending rebuild"

# --- Proxmox (systemd-boot, two ESPs): the initramfs without the per-kernel hook, one refresh.
use_host amd-desktop
root=$(mkhost amd-desktop proxmox-zfs)
fake_tools "$root"
touch "$root/usr/sbin/update-initramfs" "$root/usr/sbin/proxmox-boot-tool"
mkdir -p "$root/etc/initramfs/post-update.d" && touch "$root/etc/initramfs/post-update.d/proxmox-boot-sync"
printf '1234-ABCD\n5678-EF01\n' >"$root/etc/kernel/proxmox-boot-uuids"
update-initramfs -u -k 6.8.12-4-pve >/dev/null
: >"$FAKE_LOG"
run 0 v apply -y --no-arm --force --device 0000:0b:00.0 --device 0000:0b:00.1
assert_eq "$(cat "$FAKE_LOG")" "update-initramfs -u -k 6.8.12-4-pve [INITRAMFS_TOOLS_KERNEL_HOOK=1]
proxmox-boot-tool refresh" "Proxmox: one refresh copies the initrd and command line to every ESP"

# --- Debian with systemd-boot (no Proxmox): kernel-install writes each kernel's entry.
use_host intel-igpu-desktop
root=$(mkhost intel-igpu-desktop proxmox-zfs)
rm "$root/etc/kernel/proxmox-boot-uuids"
fake_tools "$root"
touch "$root/usr/sbin/update-initramfs"
for k in 6.1.0-25-amd64 6.1.0-26-amd64; do update-initramfs -u -k $k >/dev/null; done
: >"$FAKE_LOG"
run 0 v apply -y --no-arm --device "$igpu"
assert_eq "$(cat "$FAKE_LOG")" "update-initramfs -u -k 6.1.0-25-amd64
update-initramfs -u -k 6.1.0-26-amd64
kernel-install add 6.1.0-25-amd64 /boot/vmlinuz-6.1.0-25-amd64
kernel-install add 6.1.0-26-amd64 /boot/vmlinuz-6.1.0-26-amd64" "systemd-boot: the initramfs, then each kernel's entry"
assert_contains "$(cat "$root/etc/kernel/cmdline")" "intel_iommu=on"

# --- dracut and mkinitcpio hosts.
use_host intel-igpu-desktop
root=$(mkhost intel-igpu-desktop)
rm -rf "$root/etc/initramfs-tools"
fake_tools "$root"
mkdir -p "$root/etc/dracut.conf.d"
touch "$root/usr/bin/dracut" "$root/usr/sbin/update-grub" "$root/boot/initramfs-6.1.0-25-amd64.img" "$root/boot/initramfs-6.1.0-26-amd64.img"
run 0 v apply -y --no-arm --device "$igpu"
assert_contains "$(cat "$FAKE_LOG")" "dracut -f --kver 6.1.0-25-amd64 /boot/initramfs-6.1.0-25-amd64.img"
assert_contains "$(cat "$FAKE_LOG")" "dracut -f --kver 6.1.0-26-amd64 /boot/initramfs-6.1.0-26-amd64.img"
grep -q 'force_drivers+=' "$root/etc/dracut.conf.d/vfiotx.conf" || fail "dracut: vfio modules forced early"

root=$(mkhost intel-igpu-desktop)
rm -rf "$root/etc/initramfs-tools"
fake_tools "$root"
touch "$root/usr/bin/mkinitcpio" "$root/usr/sbin/update-grub"
printf 'MODULES=()\nHOOKS=(base udev autodetect modconf block filesystems keyboard fsck)\n' >"$root/etc/mkinitcpio.conf"
run 0 v apply -y --no-arm --device "$igpu"
assert_contains "$(cat "$FAKE_LOG")" "mkinitcpio"
grep -q 'MODULES=(vfio' "$root/etc/mkinitcpio.conf" || fail "mkinitcpio: vfio modules first in MODULES"
finish
