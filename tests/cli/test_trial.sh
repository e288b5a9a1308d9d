#!/usr/bin/env bash
# The boot-counted trial on a GRUB host, with the real grub-editenv: apply arms it (last good
# boot preserved), a trial boot is recorded, confirm ends it, a fallback boot restores the good
# snapshot and rebuilds, a failed health check marks it bad; arming refuses where it cannot work.
. "$(dirname "$0")/lib.sh"

igpu=0000:00:02.0
use_host intel-igpu-desktop
host_proc=$PROC
grubenv() { grub-editenv "$root/boot/grub/grubenv" list | grep '^vfiotx_' | sort | tr '\n' ' '; }
boot_with() { # CMDLINE-EXTRA: a /proc copy whose cmdline carries the markers
	rm -rf "$VT_TMP/proc" && cp -a "$host_proc" "$VT_TMP/proc"
	sed -i "s|\$| $1|" "$VT_TMP/proc/cmdline"
	PROC="$VT_TMP/proc"
}
v() { vt --root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot "$@"; }
grub_host() {
	root=$(mkhost intel-igpu-desktop)
	fake_tools "$root"
	touch "$root/usr/sbin/update-initramfs" "$root/usr/sbin/update-grub"
	mkdir -p "$root/etc/grub.d" && cp "$VFIOTX_SRC/scripts/grub.d/42_vfiotx" "$root/etc/grub.d/"
	bash "$VFIOTX_SRC/tests/cli/trial-units.sh" "$root" enable
	grub-editenv "$root/boot/grub/grubenv" create
	for k in 6.1.0-25-amd64 6.1.0-26-amd64; do update-initramfs -u -k $k >/dev/null; done
	update-grub >/dev/null
	PROC=$host_proc
	: >"$FAKE_LOG"
}
if ! command -v grub-editenv >/dev/null; then
	echo "SKIP: grub-editenv (grub2-common) is not installed"
	exit 0
fi

# --- apply arms the trial.
grub_host
good_state=$(etc_state "$root")
run 0 v apply -y --tries 2 --device "$igpu"
assert_contains "$OUT" "armed: transaction 2 is on trial for 2 boots"
assert_eq "$(grubenv)" "vfiotx_panic=10 vfiotx_trial=2 vfiotx_tries=2 " "grubenv armed"
[ "$(stat -c %s "$root/boot/grub/grubenv")" = 1024 ] || fail "grubenv stays 1024 bytes"
grep -q 'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt \\$vfiotx_trial_args"' "$root/etc/default/grub" ||
	fail "the trial markers' variable is on the GRUB command line, escaped for sh"
grep -q 'vfiotx.fallback=1' "$root/boot/vfiotx/entry.cfg" || fail "the last good entry carries the fallback marker"
cmp -s "$root/boot/vfiotx/vmlinuz-6.1.0-26-amd64.1" "$root/boot/vmlinuz-6.1.0-26-amd64" || fail "the last good kernel is preserved"
applied_state=$(etc_state "$root")
run 0 v status
assert_contains "$OUT" "state: armed"
run 1 v apply -y --device 0000:00:14.0 --force
assert_contains "$ERR" "is on trial"

# --- the trial boot is recorded; a healthy confirm ends it.
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
assert_contains "$OUT" "trial boot of transaction 2"
run 0 v --json status
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"]=="trying" and d["trial"]["transaction"]==2, d' <<<"$OUT" || fail "status: trying"
run 0 v confirm
assert_contains "$OUT" "confirmed: transaction"
assert_eq "$(grubenv)" "" "confirm clears the counter"
run 0 v status
assert_contains "$OUT" "state: good"
run 0 v log
assert_eq "$(echo "$OUT" | awk '{print $4}' | head -4 | tr '\n' ' ')" "confirm boot arm apply " "every transition is an entry"
fsck_ok "$root"

# --- a trial that never comes up: GRUB used up the tries and booted the last good entry.
grub_host
run 0 v apply -y --device "$igpu"
grub-editenv "$root/boot/grub/grubenv" set vfiotx_tries=0 vfiotx_fallback=2 # what GRUB does
: >"$FAKE_LOG"
boot_with "vfiotx.fallback=1"
run 0 v boot
assert_contains "$ERR" "this is a fallback boot"
assert_contains "$OUT" "rolled back: transaction 2 (tries exhausted)"
assert_eq "$(etc_state "$root")" "$good_state" "the good snapshot's files are back"
assert_contains "$(cat "$FAKE_LOG")" "update-initramfs -u -k 6.1.0-26-amd64"
assert_contains "$(cat "$FAKE_LOG")" "update-grub"
assert_eq "$(grubenv)" "" "grubenv cleared after the restore"
run 0 v status
assert_contains "$OUT" "state: rolled back"
assert_contains "$OUT" "tries exhausted"
run 0 v boot # the next boot: nothing left to do
fsck_ok "$root"

# --- a failed health check marks the trial bad (the iGPU is still on i915 in this sysfs).
grub_host
run 0 v apply -y --device "$igpu"
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
run 1 v confirm --health --no-reboot
assert_contains "$ERR" "is bad"
assert_contains "$ERR" "0000:00:02.0"
assert_eq "$(grubenv)" "vfiotx_fallback=2 vfiotx_panic=10 vfiotx_trial=2 vfiotx_tries=0 " "the next boot falls back"
run 0 v status
assert_contains "$OUT" "state: marked bad"
# failed units count too
grub_host
run 0 v apply -y --no-iommu-params --cmdline-add foo=1
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
FAKE_FAILED_UNITS="broken.service loaded failed failed Broken" run 1 v confirm --health --no-reboot
assert_contains "$ERR" "broken.service"
# and a healthy host is confirmed by --health
grub_host
run 0 v apply -y --no-iommu-params --cmdline-add foo=1
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
run 0 v confirm --health --no-reboot
assert_contains "$OUT" "confirmed"
# the deadline: nothing once confirmed
run 0 v confirm --deadline-expired --no-reboot

# --- a rollback during the trial ends it: GRUB stops counting, and a later confirm keeps the
# rolled-back files, never the trial's.
grub_host
run 0 v apply -y --device "$igpu"
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
run 0 v rollback -y
assert_contains "$OUT" "trial of transaction 2 ended (manual: 'vfiotx rollback' during the trial)"
assert_eq "$(grubenv)" "" "grubenv after a rollback during the trial"
assert_eq "$(etc_state "$root")" "$good_state" "the good files are back"
run 0 v status
assert_contains "$OUT" "state: rolled back"
run 0 v log -n 1
assert_contains "$OUT" "end-trial"
run 0 v confirm
assert_contains "$OUT" "confirmed: transaction 6 is the last good snapshot" # the end-trial entry, on the rolled-back files
assert_eq "$(etc_state "$root")" "$good_state" "confirm after the rollback keeps the good files"

# --- a crash between any two steps of arming, confirming and falling back: kill vfiotx at each
# state-changing step, run the command again, and the end state is the same.
crash_cycle() { # SETUP-FN CHECK-FN SKIP COMMAND...: steps 1..total, but SKIP steps in the middle
	local setup=$1 check=$2 skip=$3 n total
	shift 3
	$setup
	trace_to "$VT_TMP/trace" v "$@"
	total=$(wc -l <"$VT_TMP/trace")
	[ "$total" -gt 3 ] || fail "expected failpoints in '$*', saw $total"
	for ((n = 1; n <= total; n++)); do
		# (a kill there leaves what a kill at the step before leaves: lib.sh)
		same_as_before "$VT_TMP/trace" "$n" && continue
		# the apply transaction itself is walked by test_crash.sh: here its first steps (the
		# last good boot is preserved) and its last ones (arming)
		if [ "$skip" -gt 0 ] && [ "$n" -gt 12 ] && [ "$n" -le $((total - 14)) ]; then
			continue
		fi
		$setup
		VFIOTX_FAILPOINT_KILL=$n "$VFIOTX_BIN" --root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot "$@" >/dev/null 2>&1 && fail "$* was not killed at $n"
		v "$@" >/dev/null 2>&1 || fail "$* again after a kill at $n: $(v "$@" 2>&1 | tail -2)"
		$check "$n"
		fsck_ok "$root"
	done
	echo "crash: $*: $total steps checked"
}
setup_arm() { restore_host grub || { grub_host && keep_host grub; }; }
check_arm() { # armed for the transaction the state names (a killed apply is undone and redone)
	local txn
	txn=$(v --json status | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["trial"]["transaction"] if d["state"] == "armed" else "not-armed")')
	[ "$(grubenv)" = "vfiotx_panic=10 vfiotx_trial=$txn vfiotx_tries=3 " ] || fail "arm, kill at $1: grubenv [$(grubenv)], state [$txn]"
}
crash_cycle setup_arm check_arm 1 apply -y --device "$igpu"
setup_confirm() {
	restore_host armed && return 0
	grub_host
	v apply -y --device "$igpu" >/dev/null
	boot_with "vfiotx.trial=2 panic=10"
	v boot >/dev/null
	keep_host armed
}
check_confirm() {
	[ "$(grubenv)" = "" ] || fail "confirm, kill at $1: grubenv [$(grubenv)]"
	v status | grep -q "state: good" || fail "confirm, kill at $1: $(v status | head -1)"
}
crash_cycle setup_confirm check_confirm 0 confirm
setup_fallback() {
	restore_host fell-back && return 0
	grub_host
	v apply -y --device "$igpu" >/dev/null
	grub-editenv "$root/boot/grub/grubenv" set vfiotx_tries=0 vfiotx_fallback=2
	boot_with "vfiotx.fallback=1"
	keep_host fell-back
}
check_fallback() {
	[ "$(etc_state "$root")" = "$good_state" ] || fail "fallback, kill at $1: files not restored"
	[ "$(grubenv)" = "" ] || fail "fallback, kill at $1: grubenv [$(grubenv)]"
	v status | grep -q "state: rolled back" || fail "fallback, kill at $1: $(v status | head -1)"
}
crash_cycle setup_fallback check_fallback 0 boot

# --- where a trial cannot work, apply refuses before changing anything (and --no-arm goes on).
grub_host
rm "$root/etc/grub.d/42_vfiotx"
st=$(etc_state "$root")
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "cannot arm a boot-counted trial"
assert_contains "$ERR" "--no-arm"
assert_eq "$(etc_state "$root")" "$st" "nothing written"
run 0 v status
assert_contains "$OUT" "boot counter: unavailable: cannot arm a boot-counted trial"
run 0 v --json status
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["boot_counter"]["available"] is False and "42_vfiotx" in d["boot_counter"]["reason"], d' <<<"$OUT" || fail "status --json: boot_counter"
# the units that confirm the trial and restore after a fallback: not enabled, masked, missing
real_systemctl=$(PATH=/usr/bin:/bin:/usr/sbin:/sbin command -v systemctl || true)
for mode in disable mask missing; do
	grub_host
	if [ $mode = missing ]; then
		rm "$root"/lib/systemd/system/vfiotx-confirm.service
	else
		bash "$VFIOTX_SRC/tests/cli/trial-units.sh" "$root" $mode
	fi
	st=$(etc_state "$root")
	case $mode in disable) said=disabled ;; mask) said=masked ;; missing) said="not installed" ;; esac
	run 1 v apply -y --device "$igpu"
	assert_contains "$ERR" "cannot arm a boot-counted trial: vfiotx-"
	assert_contains "$ERR" "vfiotx-confirm.service is $said"
	assert_contains "$ERR" "systemctl --root=$root $([ $mode = mask ] && echo unmask || echo enable) vfiotx-boot.service vfiotx-confirm.service vfiotx-deadline.timer"
	assert_eq "$(etc_state "$root")" "$st" "units $mode: nothing written"
	# the oracle: systemd's own reading of the same root agrees
	if [ -n "$real_systemctl" ] && [ $mode != missing ]; then
		assert_eq "$("$real_systemctl" --root="$root" is-enabled vfiotx-confirm.service 2>/dev/null)" "$said" \
			"systemctl --root is-enabled"
	fi
done
grub_host
if [ -n "$real_systemctl" ]; then
	assert_eq "$("$real_systemctl" --root="$root" is-enabled vfiotx-boot.service vfiotx-confirm.service vfiotx-deadline.timer | sort -u)" \
		"enabled" "systemctl --root is-enabled after trial-units.sh enable"
fi
truncate -s 2000 "$root/boot/grub/grubenv"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "1024"
grub_host
rm -rf "$VT_TMP/proc" && cp -a "$host_proc" "$VT_TMP/proc" && PROC="$VT_TMP/proc"
# mountinfo names the real path of the grubenv: the test root lives under /, so / is its mount
sed -i 's|8:2 / / rw,relatime shared:24 - ext4 /dev/sda2 rw|8:2 / / rw,relatime shared:24 - btrfs /dev/sda2 rw|' "$PROC/self/mountinfo"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "btrfs"
run 0 v apply -y --no-arm --device "$igpu"
assert_contains "$OUT" "rebuilt and verified"

# --- proxmox-boot-tool boots from its ESPs: GRUB there reads <ESP>/grub/grubenv, never
# /boot/grub/grubenv (the GRUB checks above all pass on this root). The counter goes on each ESP
# (tests/cli/test_trial_pbt_grub.sh); with none of them there it is refused, with nothing
# written, and /boot/grub/grubenv is never armed instead; --no-arm goes on.
grub_host
mkdir -p "$root/etc/kernel"
printf '5A1B-2C3D\n\n6E4F-7A8B\n' >"$root/etc/kernel/proxmox-boot-uuids"
touch "$root/usr/sbin/proxmox-boot-tool"
st=$(etc_state "$root")
env_before=$(grub-editenv "$root/boot/grub/grubenv" list)
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "proxmox-boot-tool lists ESPs that are not there: 5A1B-2C3D, 6E4F-7A8B"
assert_contains "$ERR" "--no-arm"
assert_eq "$(etc_state "$root")" "$st" "proxmox GRUB: nothing written"
assert_eq "$(grub-editenv "$root/boot/grub/grubenv" list)" "$env_before" "proxmox GRUB: grubenv untouched"
assert_eq "$(txn_count "$root")" 0 "proxmox GRUB: no journal entry"
run 0 v --json status
python3 -c 'import json,sys; d=json.load(sys.stdin); b=d["boot_counter"]; assert b["available"] is False and b["boot_path"] == "proxmox-grub" and "proxmox-boot-tool" in b["reason"], d' <<<"$OUT" || fail "status --json on proxmox GRUB"
run 0 v apply -y --no-arm --device "$igpu"
assert_contains "$OUT" "proxmox-boot-tool refresh"
# the same with systemd-boot (/etc/kernel/cmdline): the counter is systemd-boot's, on the ESPs
# (tests/cli/test_trial_pbt.sh), never GRUB's; without them it is refused
grub_host
mkdir -p "$root/etc/kernel"
cp "$VFIOTX_FIXTURES/etc/kernel-cmdline/proxmox-zfs" "$root/etc/kernel/cmdline"
echo "5A1B-2C3D" >"$root/etc/kernel/proxmox-boot-uuids"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "cannot arm a boot-counted trial on systemd-boot"
assert_eq "$(grub-editenv "$root/boot/grub/grubenv" list)" "$env_before" "proxmox systemd-boot: grubenv untouched"
finish
