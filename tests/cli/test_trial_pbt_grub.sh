#!/usr/bin/env bash
# The boot-counted trial on a Proxmox host that proxmox-boot-tool boots with GRUB from two ESPs
# (its GRUB mode: /etc/kernel/proxmox-boot-uuids and no /etc/kernel/cmdline; the fake
# proxmox-boot-tool writes its layout: the kernels in each ESP's root, <ESP>/grub/grub.cfg as
# update-grub writes it with the ESP on /boot). GRUB there reads <ESP>/grub/grubenv, never
# /boot/grub/grubenv: every transition writes the counter on both ESPs (with the real
# grub-editenv's block), the last good copies are on both, GRUB may count on either, and a kill
# at any failpoint of arming, confirming and falling back leaves both bootable.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: arming flushes the ESPs' file system (syncfs, checkpoint): run as root"
	exit 0
fi
if ! command -v grub-editenv >/dev/null; then
	echo "SKIP: grub-editenv (grub2-common) is not installed"
	exit 0
fi
igpu=0000:00:02.0
U1=7A3C-0E16 U2=5E2D-9B41
KVER=6.1.0-26-amd64
use_host intel-igpu-desktop
host_proc=$PROC
esp() { echo "$root/run/vfiotx/esp/$1"; }
grubenv() { grub-editenv "$(esp "$1")/grub/grubenv" list | grep '^vfiotx_' | sort | tr '\n' ' '; }
both() { # WHAT EXPECTED: the counter on both ESPs
	assert_eq "$(grubenv $U1)" "$2" "$1 ($U1)"
	assert_eq "$(grubenv $U2)" "$2" "$1 ($U2)"
}
boot_with() { # CMDLINE-EXTRA: a /proc copy whose cmdline carries the markers
	rm -rf "$VT_TMP/proc" && cp -a "$host_proc" "$VT_TMP/proc"
	sed -i "s|\$| $1|" "$VT_TMP/proc/cmdline"
	PROC="$VT_TMP/proc"
}
v() { vt --root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot "$@"; }
pbt_grub_host() { # a fresh copy of the host: kernels installed, both ESPs refreshed
	restore_host fresh && return 0
	root=$(mkhost intel-igpu-desktop)
	mkdir -p "$root/etc/kernel" && printf '%s\n' "$U1" "$U2" >"$root/etc/kernel/proxmox-boot-uuids"
	for u in $U1 $U2; do
		mkdir -p "$(esp $u)/grub"
		grub-editenv "$(esp $u)/grub/grubenv" create
	done
	fake_tools "$root"
	touch "$root/usr/sbin/update-initramfs" "$root/usr/sbin/update-grub" "$root/usr/sbin/proxmox-boot-tool"
	mkdir -p "$root/etc/grub.d" && cp "$VFIOTX_SRC/scripts/grub.d/42_vfiotx" "$root/etc/grub.d/"
	bash "$VFIOTX_SRC/tests/cli/trial-units.sh" "$root" enable
	for k in 6.1.0-25-amd64 $KVER; do update-initramfs -u -k $k >/dev/null; done
	proxmox-boot-tool refresh >/dev/null
	boot_with ""
	keep_host fresh
	restore_host fresh
}

# --- apply arms the same trial on both ESPs; /boot/grub is not where GRUB looks.
pbt_grub_host
good_state=$(etc_state "$root")
run 0 v check
assert_contains "$OUT" "can arm a boot-counted trial: grubenv on"
run 0 v status
assert_contains "$OUT" "proxmox-grub"
run 0 v apply -y --tries 2 --device "$igpu"
assert_contains "$OUT" "armed: transaction 2 is on trial for 2 boots"
assert_contains "$(cat "$FAKE_LOG")" "proxmox-boot-tool refresh"
both "armed" "vfiotx_panic=10 vfiotx_trial=2 vfiotx_tries=2 "
[ "$(stat -c %s "$(esp $U1)/grub/grubenv")" = 1024 ] || fail "grubenv stays 1024 bytes"
[ ! -e "$root/boot/grub/grubenv" ] || fail "no counter in /boot/grub, which GRUB does not read here"
for u in $U1 $U2; do
	grep -q 'vfiotx.fallback=1' "$(esp $u)/vfiotx/entry.cfg" || fail "the last good entry on $u carries the fallback marker"
	cmp -s "$(esp $u)/vfiotx/vmlinuz-$KVER.1" "$root/boot/vmlinuz-$KVER" || fail "the last good kernel is on $u"
	cmp -s "$(esp $u)/vfiotx/initrd.img-$KVER.1" "$VT_TMP/kept-fresh/root/boot/initrd.img-$KVER" ||
		fail "the last good initramfs on $u is the one from before the apply"
	grep -q "BEGIN /etc/grub.d/42_vfiotx" "$(esp $u)/grub/grub.cfg" || fail "grub.cfg on $u has the counter"
	grep -q "intel_iommu=on" "$(esp $u)/grub/grub.cfg" || fail "grub.cfg on $u has the new command line"
done
run 0 v --json status
jq -e '.state == "armed" and .trial.tries_left == 2 and .trial.next_boot == "trial"' <<<"$OUT" >/dev/null ||
	fail "status --json: armed, 2 tries, the trial boots next: $OUT"
# a kernel update during the trial: proxmox-boot-tool rewrites the kernels and grub.cfg only
proxmox-boot-tool refresh >/dev/null
both "after a refresh during the trial" "vfiotx_panic=10 vfiotx_trial=2 vfiotx_tries=2 "
for u in $U1 $U2; do
	[ -s "$(esp $u)/vfiotx/vmlinuz-$KVER.1" ] && grep -q vfiotx-last-good "$(esp $u)/grub/grub.cfg" ||
		fail "a refresh during the trial took the last good entry from $u"
done

# --- GRUB counts on the ESP the firmware started (U2 here); the trial boot and confirm.
grub-editenv "$(esp $U2)/grub/grubenv" set vfiotx_tries=1
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
assert_contains "$OUT" "trial boot of transaction 2: 1 more boot before the boot loader falls back"
run 0 v --json status
jq -e '.state == "trying" and .trial.tries_left == 1' <<<"$OUT" >/dev/null || fail "status: the most advanced count: $OUT"
run 0 v confirm
assert_contains "$OUT" "confirmed: transaction 2"
both "confirm clears the counter" ""
for u in $U1 $U2; do
	grep -q "intel_iommu=on" "$(esp $u)/vfiotx/entry.cfg" || fail "the confirmed trial is the last good entry on $u"
	[ ! -e "$(esp $u)/vfiotx/vmlinuz-$KVER.1" ] || fail "the old last good copies on $u are gone"
done
fsck_ok "$root"

# --- a trial that never comes up: GRUB on U1 used up the tries and booted the last good entry.
pbt_grub_host
run 0 v apply -y --device "$igpu"
grub-editenv "$(esp $U1)/grub/grubenv" set vfiotx_tries=0 vfiotx_fallback=2 # what GRUB does
run 0 v --json status
jq -e '.trial.next_boot == "last-good"' <<<"$OUT" >/dev/null || fail "status: U1 fell back: $OUT"
: >"$FAKE_LOG"
boot_with "vfiotx.fallback=1"
run 0 v boot
assert_contains "$OUT" "rolled back: transaction 2 (tries exhausted)"
assert_eq "$(etc_state "$root")" "$good_state" "the good snapshot's files are back"
assert_contains "$(cat "$FAKE_LOG")" "proxmox-boot-tool refresh"
both "cleared after the restore" ""
grep -q "intel_iommu=on" "$(esp $U2)/grub/grub.cfg" && fail "the refresh after the restore rewrote grub.cfg on $U2"
fsck_ok "$root"

# --- a failed health check marks the trial bad on both ESPs (the iGPU is still on i915).
pbt_grub_host
run 0 v apply -y --device "$igpu"
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
run 1 v confirm --health --no-reboot
assert_contains "$ERR" "is bad"
both "the next boot falls back, from either ESP" "vfiotx_fallback=2 vfiotx_panic=10 vfiotx_trial=2 vfiotx_tries=0 "

# --- where a trial cannot work, apply refuses before changing anything.
pbt_grub_host
rm -r "$(esp $U2)/grub"
st=$(etc_state "$root")
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "proxmox-boot-tool lists ESPs that are not there: $U2"
assert_eq "$(etc_state "$root")" "$st" "nothing written"
pbt_grub_host
sed -i '/42_vfiotx/d' "$(esp $U1)/grub/grub.cfg"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "run/vfiotx/esp/$U1/grub/grub.cfg has no vfiotx boot counter"
assert_contains "$ERR" "proxmox-boot-tool refresh"
pbt_grub_host
truncate -s 2048 "$(esp $U2)/grub/grubenv"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "2048 bytes"
run 0 v apply -y --no-arm --device "$igpu"
both "--no-arm arms nothing" ""

# --- a crash between any two steps of arming, confirming and falling back: kill vfiotx at each
# step that writes an ESP (and the state file's record just before the counter), run the
# command again; the end state is the same on both ESPs. The steps between (the apply
# transaction, the good copy, the restored files) are the GRUB host's, walked by test_trial.sh
# and test_crash.sh on the same code; steps whose kill leaves what the step before leaves are
# skipped (same_as_before, lib.sh).
crash_cycle() { # SETUP-FN CHECK-FN HEAD BACK COMMAND...: with HEAD 1 the steps before the first
	# journal commit (the last good boot kept on both ESPs), and from BACK steps before the
	# first ESP grubenv write to the end
	local setup=$1 check=$2 head=$3 back=$4 n total first last=0 walked=0
	shift 4
	$setup
	trace_to "$VT_TMP/trace" v "$@"
	total=$(wc -l <"$VT_TMP/trace")
	first=$(grep -n "trial: write an ESP's grubenv" "$VT_TMP/trace" | head -1 | cut -d: -f1)
	[ "$head" = 1 ] && last=$(($(grep -n "journal: write commit" "$VT_TMP/trace" | head -1 | cut -d: -f1) - 1))
	[ -n "$first" ] && [ "$total" -gt 3 ] || fail "expected ESP failpoints in '$*', saw $total"
	for ((n = 1; n <= total; n++)); do
		[ "$n" -le "$last" ] || [ "$n" -ge $((first - back)) ] || continue
		same_as_before "$VT_TMP/trace" "$n" && continue
		$setup
		VFIOTX_FAILPOINT_KILL=$n "$VFIOTX_BIN" --root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot "$@" >/dev/null 2>&1 && fail "$* was not killed at $n"
		v "$@" >/dev/null 2>&1 || fail "$* again after a kill at $n: $(v "$@" 2>&1 | tail -2)"
		$check "$n"
		walked=$((walked + 1))
	done
	fsck_ok "$root"
	echo "crash: $*: $walked of $total steps checked"
}
setup_arm() { pbt_grub_host; }
check_arm() {
	local txn
	txn=$(v --json status | jq -r 'if .state == "armed" then .trial.transaction else "not-armed" end')
	both "arm, kill at $1 (state $txn)" "vfiotx_panic=10 vfiotx_trial=$txn vfiotx_tries=3 "
	[ -s "$(esp $U1)/vfiotx/entry.cfg" ] && [ -s "$(esp $U2)/vfiotx/entry.cfg" ] || fail "arm, kill at $1: a last good entry on each ESP"
}
crash_cycle setup_arm check_arm 1 8 apply -y --device "$igpu"
setup_confirm() {
	restore_host armed && return 0
	pbt_grub_host
	v apply -y --device "$igpu" >/dev/null
	boot_with "vfiotx.trial=2 panic=10"
	v boot >/dev/null
	keep_host armed
}
check_confirm() {
	both "confirm, kill at $1" ""
	v status | grep -q "state: good" || fail "confirm, kill at $1: $(v status | head -1)"
	grep -q "intel_iommu=on" "$(esp $U2)/vfiotx/entry.cfg" || fail "confirm, kill at $1: the last good entry is the trial's"
}
crash_cycle setup_confirm check_confirm 0 1 confirm
setup_fallback() {
	restore_host fell-back && return 0
	pbt_grub_host
	v apply -y --device "$igpu" >/dev/null
	grub-editenv "$(esp $U1)/grub/grubenv" set vfiotx_tries=0 vfiotx_fallback=2
	boot_with "vfiotx.fallback=1"
	keep_host fell-back
}
check_fallback() {
	[ "$(etc_state "$root")" = "$good_state" ] || fail "fallback, kill at $1: files not restored"
	both "fallback, kill at $1" ""
	v status | grep -q "state: rolled back" || fail "fallback, kill at $1: $(v status | head -1)"
}
crash_cycle setup_fallback check_fallback 0 1 boot

finish
