#!/usr/bin/env bash
# The passthrough journey on real hardware layouts (issue 19): a card's functions go together
# (--device by slot); the headless single-GPU host is allowed when a remote way in stays, and
# refused when none does; an IOMMU-off host is prepared by a plain apply (the IOMMU parameter
# only), as check's hint says.
. "$(dirname "$0")/lib.sh"

enable_unit() { # root unit: installed and enabled, as systemctl enable leaves it
	mkdir -p "$1/lib/systemd/system" "$1/etc/systemd/system/multi-user.target.wants"
	: >"$1/lib/systemd/system/$2"
	ln -sfn "/lib/systemd/system/$2" "$1/etc/systemd/system/multi-user.target.wants/$2"
}

# --- a Turing card: four functions, one slot, one unit
root=$(mkhost rtx-workstation)
use_host rtx-workstation
fake_tools "$root"
V=(--root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot)
run 3 vt "${V[@]}" --detailed-exitcode plan --device 0000:01:00.0
assert_contains "$ERR" "0000:01:00.3 (Serial bus controller) is a function of the same card as 0000:01:00.0" \
	"naming one function: the others are named as the same card"
assert_contains "$ERR" "pass the card whole with --device 0000:01:00"
run 4 vt "${V[@]}" --detailed-exitcode plan --device 01:00
assert_not_contains "$ERR" "refused" "the whole card is not refused"
run 0 vt "${V[@]}" apply -y --no-arm --device 01:00
for f in 0 1 2 3; do
	grep -q "^device 0000:01:00.$f " "$root/etc/vfiotx/vfiotx.conf" || fail "the profile lacks 01:00.$f"
done
grep -q "options vfio-pci ids=10de:1e81,10de:10f8,10de:1ad8,10de:1ad9" "$root/etc/modprobe.d/vfiotx.conf" ||
	fail "modprobe.d binds every function: $(cat "$root/etc/modprobe.d/vfiotx.conf")"
run 1 vt "${V[@]}" plan --device 05:00
assert_contains "$ERR" "no PCI device in slot 0000:05:00"
run 1 vt "${V[@]}" --json plan --device 1:0
assert_contains "$OUT" '"code":"EINVAL"' "a malformed slot is refused with its forms"
assert_contains "$ERR" "a slot with all its functions (0000:01:00 or 01:00)"

# --- the headless single-GPU host (amd-desktop: Proxmox, the RX 5700 XT is its only display)
root=$(mkhost amd-desktop)
use_host amd-desktop
fake_tools "$root"
V=(--root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot)
before=$(etc_state "$root")
run 1 vt "${V[@]}" apply -y --no-arm --device 0b:00
assert_contains "$OUT$ERR" "no enabled SSH server or web UI reachable over a NIC that stays" "no way in: refused"
assert_eq "$(etc_state "$root")" "$before" "a refused apply writes nothing"
enable_unit "$root" pveproxy.service
run 0 vt "${V[@]}" plan --device 0b:00
assert_contains "$OUT" "warning: only-display" "the way in: a warning"
assert_contains "$OUT" "pveproxy.service over vmbr0" "the warning names the way in that remains"
run 0 vt "${V[@]}" apply -y --no-arm --device 0b:00
grep -q "^device 0000:0b:00.1 " "$root/etc/vfiotx/vfiotx.conf" || fail "the GPU's audio went with it"
# the NIC that would carry the way in goes too: nothing remains, refused
root2=$(mkhost amd-desktop)
enable_unit "$root2" ssh.service
run 3 vt --root "$root2" --sysfs "$SYS" --proc "$PROC" --no-chroot --detailed-exitcode plan --device 0b:00 --device 02:00.0
assert_contains "$ERR" "no enabled SSH server or web UI reachable over a NIC that stays" \
	"a way in over a NIC that goes to the VM is no way in"

# --- an IOMMU-off host: check says what to run, and that command does it (and only that)
root=$(mkhost iommu-off)
use_host iommu-off
fake_tools "$root"
V=(--root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot)
run 1 vt "${V[@]}" check
assert_contains "$OUT" "run 'vfiotx apply'" "check names the command"
run 0 vt "${V[@]}" apply -y --no-arm
line=$(grub_default_value "$root")
assert_eq "$line" "quiet intel_iommu=on" "a plain apply turns the IOMMU on, and only that"
assert_not_contains "$line" "iommu=pt"
run 0 vt "${V[@]}" apply -y --no-arm
assert_contains "$OUT" "nothing to do" "the next plain apply keeps it"
# after the reboot the IOMMU is on (the same host with groups): a plain apply keeps the word
mkdir -p "$VT_TMP/on" && cp -a "$SYS" "$VT_TMP/on/sys"
mkdir -p "$VT_TMP/on/sys/class/iommu/dmar0" "$VT_TMP/on/sys/kernel/iommu_groups/0/devices"
run 0 vt --root "$root" --sysfs "$VT_TMP/on/sys" --proc "$PROC" --no-chroot apply -y --no-arm
assert_contains "$OUT" "nothing to do" "with the IOMMU on, the word vfiotx added stays"
assert_eq "$(grub_default_value "$root")" "quiet intel_iommu=on"
fsck_ok "$root"
finish
