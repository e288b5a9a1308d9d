#!/usr/bin/env bash
# Binding devices to vfio-pci through apply: the seed's examples byte-exact, the safety
# refusals (nothing written, exit 1; --force recorded), twins, release, idempotence, the kernel
# command line (GRUB oracle and /etc/kernel/cmdline), conflicts and the modprobe oracle.
. "$(dirname "$0")/lib.sh"

igpu=0000:00:02.0

# --- The seed's blacklist method on its Intel iGPU desktop.
use_host intel-igpu-desktop
root=$(mkhost intel-igpu-desktop)
v() { vt --root "$root" --sysfs "$SYS" --proc "$PROC" "$@"; }
run 0 v apply -y --no-rebuild
before_device=$(etc_state "$root")
run 0 v plan --device "$igpu" --method blacklist
assert_contains "$OUT" "+blacklist i915"
assert_contains "$OUT" "cmdline: intel_iommu=on:" "plan explains each parameter"
assert_contains "$OUT" "cmdline: iommu=pt:"
run 0 v apply -y --no-rebuild --device "$igpu" --method blacklist
grep -qx 'blacklist i915' "$root/etc/modprobe.d/vfiotx-blacklist.conf" || fail "seed: blacklist i915"
grep -qx 'options vfio-pci ids=8086:3e92 disable_vga=1' "$root/etc/modprobe.d/vfiotx.conf" ||
	fail "seed: options line, byte-exact"
grep -qx 'softdep i915 pre: vfio-pci' "$root/etc/modprobe.d/vfiotx.conf" || fail "softdep for the host driver"
grep -qx 'vfio_pci' "$root/etc/initramfs-tools/modules" || fail "vfio modules in the initramfs list"
value=$(grub_default_value "$root")
assert_eq "$value" "quiet intel_iommu=on iommu=pt" "GRUB oracle: the iGPU passed through on an INTGPU_OFF kernel needs intel_iommu=on"
grep -q '^device 0000:00:02.0 8086:3e92 i915$' "$root/etc/vfiotx/vfiotx.conf" || fail "profile records the device and its driver"
# modprobe itself reads what vfiotx says it set.
showconfig=$(modprobe -C "$root/etc/modprobe.d" --showconfig 2>/dev/null)
assert_contains "$showconfig" "blacklist i915"
assert_contains "$showconfig" "options vfio_pci ids=8086:3e92 disable_vga=1"
assert_contains "$showconfig" "softdep i915 pre: vfio-pci"
# Idempotence: the same spec, or none, writes nothing.
count=$(txn_count "$root")
run 0 v apply -y --no-rebuild --device "$igpu" --method blacklist
assert_contains "$OUT" "nothing to do"
run 0 v apply -y --no-rebuild
assert_contains "$OUT" "nothing to do"
assert_eq "$(txn_count "$root")" "$count" "no new transaction"
fsck_ok "$root"

# A driver whose module has another name (xhci_hcd is module xhci_pci; the fixture's sysfs has
# drivers/<driver>/module as the kernel's does): modprobe.d names the module, the profile keeps
# both, and a re-apply with the device already on vfio-pci (sysfs then says vfio-pci) keeps them.
root2=$(mkhost intel-igpu-desktop)
v2() { vt --root "$root2" --sysfs "$SYS" --proc "$PROC" "$@"; }
run 0 v2 apply -y --no-rebuild --force --device 0000:00:14.0 --method blacklist
grep -qx 'blacklist xhci_pci' "$root2/etc/modprobe.d/vfiotx-blacklist.conf" ||
	fail "blacklist names the module xhci_pci, not the driver xhci_hcd"
grep -qx 'softdep xhci_pci pre: vfio-pci' "$root2/etc/modprobe.d/vfiotx.conf" ||
	fail "softdep names the module xhci_pci"
grep -Eq '^device 0000:00:14.0 [0-9a-f]{4}:[0-9a-f]{4} xhci_hcd xhci_pci$' \
	"$root2/etc/vfiotx/vfiotx.conf" || fail "profile records the driver and its module"
showconfig=$(modprobe -C "$root2/etc/modprobe.d" --showconfig 2>/dev/null)
assert_contains "$showconfig" "blacklist xhci_pci"
bound_sys="$VT_TMP/xhci-bound-sys"
cp -a "$SYS" "$bound_sys"
ln -sfn ../../../bus/pci/drivers/vfio-pci "$bound_sys/devices/pci0000:00/0000:00:14.0/driver"
run 0 vt --root "$root2" --sysfs "$bound_sys" --proc "$PROC" apply -y --no-rebuild --force
assert_contains "$OUT" "nothing to do" "device on vfio-pci: the recorded driver and module hold"
# A device line from before modules were recorded: a plain apply learns the module from the
# driver the device still uses, and the modprobe files name it.
sed -i 's/^\(device 0000:00:14.0 [0-9a-f:]* xhci_hcd\) xhci_pci$/\1/' "$root2/etc/vfiotx/vfiotx.conf"
printf 'blacklist xhci_hcd\n' >>"$root2/etc/modprobe.d/vfiotx-blacklist.conf"
run 0 v2 apply -y --no-rebuild --force
grep -Eq '^device 0000:00:14.0 [0-9a-f]{4}:[0-9a-f]{4} xhci_hcd xhci_pci$' \
	"$root2/etc/vfiotx/vfiotx.conf" || fail "an old profile line gains the module"
assert_eq "$(grep -c '^blacklist' "$root2/etc/modprobe.d/vfiotx-blacklist.conf")" 1 \
	"one blacklist line, the module's"
grep -qx 'blacklist xhci_pci' "$root2/etc/modprobe.d/vfiotx-blacklist.conf" || fail "blacklist xhci_pci"
# A module field that is not a module name is refused with its file and line, nothing written.
cp "$root2/etc/vfiotx/vfiotx.conf" "$VT_TMP/profile.good"
sed -i 's/^\(device 0000:00:14.0 [0-9a-f:]* xhci_hcd\) xhci_pci$/\1 -/' "$root2/etc/vfiotx/vfiotx.conf"
state=$(etc_state "$root2")
run 1 v2 plan
assert_contains "$ERR" "/etc/vfiotx/vfiotx.conf:"
assert_contains "$ERR" "the module after the driver must be a module name"
assert_eq "$(etc_state "$root2")" "$state" "a refused profile changes nothing"
sed -i 's/ -$/ xhci_pci extra/' "$root2/etc/vfiotx/vfiotx.conf"
state=$(etc_state "$root2")
run 1 v2 apply -y --no-rebuild --force
assert_contains "$ERR" "expected: device BDF VVVV:DDDD DRIVER [MODULE]"
assert_eq "$(etc_state "$root2")" "$state" "a refused profile changes nothing"
cp "$VT_TMP/profile.good" "$root2/etc/vfiotx/vfiotx.conf"
fsck_ok "$root2"

# The IOMMU's maker comes from the ACPI table (DMAR), not the CPU vendor: a VM may pair an Intel
# IOMMU with an AMD CPU.
cp -a "$PROC" "$VT_TMP/amd-cpu-proc"
sed -i 's/GenuineIntel/AuthenticAMD/' "$VT_TMP/amd-cpu-proc/cpuinfo"
root=$(mkhost intel-igpu-desktop)
run 0 vt --root "$root" --sysfs "$SYS" --proc "$VT_TMP/amd-cpu-proc" plan --device "$igpu"
assert_contains "$OUT" "cmdline: intel_iommu=on:" "DMAR means an Intel IOMMU whatever the CPU"

# Without an ACPI table naming the IOMMU, the CPU vendor decides; a Hygon CPU is AMD's design.
cp -a "$VFIOTX_FIXTURES/hosts/amd-desktop/sys" "$VT_TMP/hygon-sys"
rm "$VT_TMP/hygon-sys/firmware/acpi/tables/IVRS"
cp -a "$VFIOTX_FIXTURES/hosts/amd-desktop/proc" "$VT_TMP/hygon-proc"
sed -i 's/AuthenticAMD/HygonGenuine/' "$VT_TMP/hygon-proc/cpuinfo"
root=$(mkhost amd-desktop)
run 0 vt --root "$root" --sysfs "$VT_TMP/hygon-sys" --proc "$VT_TMP/hygon-proc" plan --device 0000:0b:00.0 --device 0000:0b:00.1
assert_contains "$OUT" "cmdline: no IVRS table: the AMD IOMMU is off in the firmware" "Hygon is read as AMD"
assert_not_contains "$OUT" "intel_iommu"

# --- The seed's alias method, then release: back to the state before the device.
root=$(mkhost intel-igpu-desktop)
run 0 v apply -y --no-rebuild
before_device=$(etc_state "$root")
run 0 v apply -y --no-rebuild --device 00:02.0 --method alias
grep -qx 'alias pci:v00008086d00003E92sv00001458sd0000D000bc03sc80i00 vfio-pci' "$root/etc/modprobe.d/vfiotx.conf" ||
	fail "seed: alias line, byte-exact"
grep -qx 'options vfio-pci ids=8086:3e92 disable_vga=1' "$root/etc/modprobe.d/vfiotx.conf" || fail "alias: options line"
run 0 v apply -y --no-rebuild --release 00:02.0 --method ids
assert_eq "$(etc_state "$root")" "$before_device" "--release restores every file to its state before the device was added"
[ ! -e "$root/etc/modprobe.d/vfiotx.conf" ] || fail "vfiotx.conf removed on release"
run 1 v apply -y --no-rebuild --release 00:02.0
assert_contains "$ERR" "no such device is passed through"
run 0 v log
assert_eq "$(echo "$OUT" | sed -n 1p | awk '{print $4}')" apply
assert_contains "$OUT" "release 0000:00:02.0"
assert_contains "$OUT" "pass through 0000:00:02.0 (8086:3e92, i915)"
fsck_ok "$root"

# --- Refusals: exit 1, the reason, nothing written; --force goes through and is recorded.
refuse() { # DEVICE CODE [apply options]
	local dev=$1 code=$2 r
	shift 2
	r=$(mkhost "$HOSTNAME_")
	local st
	st=$(etc_state "$r")
	run 1 vt --root "$r" --sysfs "$SYS" --proc "$PROC" apply -y --no-rebuild --device "$dev" "$@"
	assert_contains "$OUT$ERR" "$code:" "refusal $code for $dev"
	assert_contains "$ERR" "nothing was changed"
	assert_eq "$(etc_state "$r")" "$st" "a refused plan writes nothing ($dev)"
	assert_eq "$(txn_count "$r")" 0 "a refused plan writes no transaction ($dev)"
	REFUSED_ROOT=$r
}
HOSTNAME_=intel-igpu-desktop
refuse 0000:00:17.0 root-disk
assert_contains "$ERR" "controls the disk"
refuse 0000:00:1f.6 default-route
refuse 0000:01:00.0 group
assert_contains "$OUT$ERR" "0000:01:00.1"
refuse 0000:00:01.0 bridge
refuse 0000:01:00.1 same-driver --device 0000:01:00.0 --method blacklist
assert_contains "$OUT$ERR" "0000:00:1f.3" "blacklisting snd_hda_intel would take the onboard audio"
# forced: applied, and the journal says so
run 0 vt --root "$REFUSED_ROOT" --sysfs "$SYS" --proc "$PROC" apply -y --no-rebuild --device 0000:01:00.0 --force
assert_contains "$ERR" "--force: applying despite"
run 0 vt --root "$REFUSED_ROOT" log -n 1
assert_contains "$OUT" "[forced]"
run 0 vt --root "$REFUSED_ROOT" --json show "$(echo "$OUT" | awk '{print $1}')"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["transaction"]["forced"] is True, d' <<<"$OUT" || fail "show --json says forced"
fsck_ok "$REFUSED_ROOT"

use_host amd-desktop
HOSTNAME_=amd-desktop
refuse 0000:0b:00.0 only-display --device 0000:0b:00.1
use_host iommu-off
HOSTNAME_=iommu-off
refuse 0000:00:02.0 no-iommu

# --- Two identical GPUs, only one named: ids is refused proposing override; override binds
# only the named address.
use_host dual-gpu
HOSTNAME_=dual-gpu
refuse 0000:0b:00.0 same-id --device 0000:0b:00.1
assert_contains "$OUT$ERR" "override"
# One fact, one refusal: the twin is refused once (same-id), with one piece of advice.
root=$(mkhost dual-gpu)
run 0 vt --root "$root" --sysfs "$SYS" --proc "$PROC" plan --device 0000:0a:00.0 --method ids
assert_eq "$(grep -c '0000:0b:00\.0' <<<"$OUT$ERR")" 1 "the twin GPU is named by exactly one refusal"
assert_contains "$(grep '0000:0b:00\.0' <<<"$OUT$ERR")" "  same-id: 0000:0b:00.0 " "and it is the same-id refusal"
assert_eq "$(grep -c -- '--method override' <<<"$OUT$ERR")" 1 "with one piece of advice"
assert_eq "$(grep -c '^  [a-z-]*: ' <<<"$ERR")" 2 "two refusals in all: group (0a:00.1) and same-id (0b:00.0)"
root=$(mkhost dual-gpu)
run 0 vt --root "$root" --sysfs "$SYS" --proc "$PROC" apply -y --no-rebuild --device 0000:0b:00.0 --device 0000:0b:00.1 --method override
grep -q '^0000:0b:00.0 10de:1b80' "$root/etc/vfiotx/override.conf" || fail "override.conf names the address"
grep -q '0000:0a:00.0' "$root/etc/vfiotx/override.conf" && fail "override must not bind the twin"
# vfio-pci is built into this Ubuntu kernel: modprobe.d options cannot reach it.
assert_contains "$OUT" "vfio-pci is built into a target kernel"

# --- Bad --device values.
use_host intel-igpu-desktop
root=$(mkhost intel-igpu-desktop)
run 1 v apply -y --no-rebuild --device zz
assert_contains "$ERR" "zz"
run 1 v apply -y --no-rebuild --device 0000:99:00.0
assert_contains "$ERR" "0000:99:00.0"
run 1 v apply -y --no-rebuild --device 1234:5678
run 2 v apply -y --no-rebuild --method nope
assert_contains "$ERR" "--method takes ids, alias, blacklist or override"
assert_eq "$(txn_count "$root")" 0 "bad devices write nothing"

# --- A user's modprobe file that contradicts the plan: refused with file and line.
root=$(mkhost intel-igpu-desktop)
printf '# mine\noptions vfio-pci ids=10de:1c82\n' >"$root/etc/modprobe.d/local.conf"
run 1 v apply -y --no-rebuild --device "$igpu"
assert_contains "$OUT$ERR" "/etc/modprobe.d/local.conf:2"
cmp -s "$root/etc/modprobe.d/local.conf" <(printf '# mine\noptions vfio-pci ids=10de:1c82\n') || fail "the user's file is never rewritten"

# --- /etc/kernel/cmdline (Proxmox, systemd-boot): the seed's example keeps every word.
use_host amd-desktop
root=$(mkhost amd-desktop proxmox-zfs)
run 0 v apply -y --no-rebuild --device 0000:0b:00.0 --device 0000:0b:00.1 --force
line=$(cat "$root/etc/kernel/cmdline")
case "$line" in "root=ZFS=rpool/ROOT/pve-1 boot=zfs "*) ;; *) fail "root= and boot=zfs first, unchanged: [$line]" ;; esac
assert_contains "$line" "iommu=pt"
assert_not_contains "$line" "amd_iommu" "AMD with IVRS needs no amd_iommu parameter"
assert_contains "$line" "video=" "the boot display is passed through: its framebuffer is turned off"
[ ! -e "$root/etc/default/grub" ] || fail "GRUB defaults untouched on a systemd-boot host"
# user parameters: add, then take back: the exact previous bytes
before=$(fingerprint "$root/etc/kernel/cmdline")
run 0 v apply -y --no-rebuild --force --cmdline-add 'foo="a b"'
assert_contains "$(cat "$root/etc/kernel/cmdline")" 'foo="a b"'
run 0 v apply -y --no-rebuild --force --cmdline-remove 'foo="a b"'
assert_eq "$(fingerprint "$root/etc/kernel/cmdline")" "$before" "removal restores the exact bytes"
# releasing every device takes the derived parameters off again
run 0 v apply -y --no-rebuild --release 0000:0b:00.0 --release 0000:0b:00.1
assert_eq "$(cat "$root/etc/kernel/cmdline")" "root=ZFS=rpool/ROOT/pve-1 boot=zfs" "back to the original line"
fsck_ok "$root"
finish
