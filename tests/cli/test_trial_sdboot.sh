#!/usr/bin/env bash
# The boot-counted trial on a systemd-boot host (Debian 12 with kernel-install; the fake
# kernel-install writes entries as 90-loaderentry does): apply keeps the last good boot on the
# ESP and arms vfiotx-1-trial-<txn>+N.conf with LoaderEntryDefault="vfiotx-*"; the loader's
# renames are done by hand as systemd-boot 252 does them; confirm, a fallback boot and a failed
# health check end it; arming refuses where it cannot work.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: arming flushes the ESP's file system (syncfs, checkpoint): run as root"
	exit 0
fi
igpu=0000:00:02.0
MID=0123456789abcdef0123456789abcdef
use_host intel-igpu-desktop
host_proc=$PROC
GUID=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
boot_with() {
	rm -rf "$VT_TMP/proc" && cp -a "$host_proc" "$VT_TMP/proc"
	sed -i "s|\$| $1|" "$VT_TMP/proc/cmdline"
	PROC="$VT_TMP/proc"
}
v() { vt --root "$root" --sysfs "$SYSDIR" --proc "$PROC" --no-chroot "$@"; }
efivar_set() { # NAME VALUE
	local f="$SYSDIR/firmware/efi/efivars/$1-$GUID"
	{ printf '\x07\x00\x00\x00'; printf '%s' "$2" | iconv -f UTF-8 -t UTF-16LE; printf '\x00\x00'; } >"$f"
}
efivar_get() { # NAME -> the value, or "(unset)"
	local f="$SYSDIR/firmware/efi/efivars/$1-$GUID"
	if [ -e "$f" ]; then tail -c +5 "$f" | iconv -f UTF-16LE -t UTF-8 | tr -d '\0'; else echo "(unset)"; fi
}
entries() { (cd "$ESP/loader/entries" && ls | grep '^vfiotx-' | tr '\n' ' '); }
loader_boots() { # what systemd-boot does before starting the trial: count one try in its name
	local f n
	f=$(cd "$ESP/loader/entries" && ls | grep '^vfiotx-1-trial-')
	n=$(python3 -c 'import re,sys; m=re.match(r"(.*)\+(\d)(?:-(\d))?\.conf$", sys.argv[1]); print("%s+%d-%d.conf" % (m[1], max(int(m[2])-1,0), int(m[3] or 0)+1))' "$f")
	mv "$ESP/loader/entries/$f" "$ESP/loader/entries/$n"
}
next_entry() { v --json status | jq -r '.boot_counter.systemd_boot.entry'; }
restore_sdboot() { restore_host "$1" && ESP=$root/boot/efi; }
sdboot_host() { # a fresh copy of the host: kernels installed, entries written, no transaction
	# (copies of one prepared host: the crash walks start from it a few hundred times)
	restore_sdboot fresh && return 0
	root=$(mkhost intel-igpu-desktop proxmox-zfs)
	rm -f "$root/etc/kernel/proxmox-boot-uuids" "$root"/boot/efi/loader/entries/*
	echo "root=UUID=4b6f1c8e-2f0a-4d7e-9a51-0c3e7d2b9f10 ro quiet" >"$root/etc/kernel/cmdline"
	echo "$MID" >"$root/etc/machine-id"
	ESP=$root/boot/efi
	mkdir -p "$ESP/$MID"
	printf '#timeout 3\n#console-mode keep\ndefault %s-*\n' "$MID" >"$ESP/loader/loader.conf"
	fake_tools "$root"
	touch "$root/usr/sbin/update-initramfs" "$root/usr/bin/kernel-install"
	bash "$VFIOTX_SRC/tests/cli/trial-units.sh" "$root" enable
	for k in 6.1.0-25-amd64 6.1.0-26-amd64; do
		update-initramfs -u -k $k >/dev/null
		kernel-install add $k /boot/vmlinuz-$k
	done
	SYSDIR=$(mktemp -d -p "$VT_TMP")
	cp -a "$SYS/." "$SYSDIR/"
	mkdir -p "$SYSDIR/firmware/efi/efivars"
	efivar_set LoaderInfo "systemd-boot 252.39-1~deb12u2"
	PROC=$host_proc
	keep_host fresh
	restore_sdboot fresh
}

# --- apply arms the trial.
sdboot_host
good_state=$(etc_state "$root")
run 0 v check
assert_contains "$OUT" "can arm a boot-counted trial: systemd-boot entries on the ESP"
run 0 v apply -y --tries 2 --device "$igpu"
assert_contains "$OUT" "armed: transaction 2 is on trial for 2 boots"
assert_eq "$(entries)" "vfiotx-0-last-good.conf vfiotx-1-trial-2+2.conf " "the ESP's vfiotx entries"
assert_eq "$(efivar_get LoaderEntryDefault)" "vfiotx-*" "the loader follows vfiotx's pattern"
trial=$ESP/loader/entries/vfiotx-1-trial-2+2.conf
grep -q "^options .*intel_iommu=on.* vfiotx.trial=2 panic=10$" "$trial" || fail "trial options: $(cat "$trial")"
grep -q "^linux      /$MID/6.1.0-26-amd64/linux$" "$trial" || fail "the trial boots the default entry's kernel"
grep -q "^sort-key" "$trial" && fail "the trial entry keeps a sort-key"
# (GRUB's placeholder for the markers is GRUB's alone: kernel-install would write it verbatim)
grep -q 'vfiotx_trial_args' "$root/etc/kernel/cmdline" "$ESP"/loader/entries/*.conf &&
	fail "\$vfiotx_trial_args reached /etc/kernel/cmdline or an entry: $(cat "$root/etc/kernel/cmdline")"
lg=$ESP/loader/entries/vfiotx-0-last-good.conf
# the running (good) command line, without what the loader adds, with the fallback marker
grep -qx "options    root=UUID=4b6f1c8e-2f0a-4d7e-9a51-0c3e7d2b9f10 ro quiet intel_iommu=on iommu=pt vfiotx.fallback=1" "$lg" ||
	fail "last good options: $(cat "$lg")"
grep -q "^linux      /vfiotx/vmlinuz-6.1.0-26-amd64.1$" "$lg" || fail "last good linux: $(cat "$lg")"
cmp -s "$ESP/vfiotx/vmlinuz-6.1.0-26-amd64.1" "$root/boot/vmlinuz-6.1.0-26-amd64" || fail "the last good kernel is on the ESP"
assert_eq "$(next_entry)" "vfiotx-1-trial-2+2.conf" "systemd-boot boots the trial next"
run 0 v status
assert_contains "$OUT" "state: armed"
assert_contains "$OUT" "2 tries left"

# --- the trial boot is recorded; a healthy confirm ends it and restores the variable.
loader_boots
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
assert_contains "$OUT" "trial boot of transaction 2: 1 more boot"
run 0 v confirm
assert_contains "$OUT" "confirmed: transaction"
assert_eq "$(entries)" "vfiotx-0-last-good.conf " "confirm removes the trial entry"
assert_eq "$(efivar_get LoaderEntryDefault)" "(unset)" "the variable is as it was"
assert_eq "$(next_entry)" "$MID-6.1.0-26-amd64.conf" "the distribution's entry boots next"
run 0 v status
assert_contains "$OUT" "state: good"
fsck_ok "$root"

# --- a trial that never comes up: the tries run out, systemd-boot boots the last good entry.
sdboot_host
efivar_set LoaderEntryDefault "$MID-6.1.0-26-amd64.conf" # a default the user chose
run 0 v apply -y --tries 2 --device "$igpu"
assert_contains "$(cat "$ESP/loader/entries/vfiotx-1-trial-2+2.conf")" "# vfiotx-saved-default: $MID-6.1.0-26-amd64.conf"
loader_boots
loader_boots
assert_eq "$(entries)" "vfiotx-0-last-good.conf vfiotx-1-trial-2+0-2.conf " "no try left"
assert_eq "$(next_entry)" "vfiotx-0-last-good.conf" "the pattern goes on to the last good entry"
: >"$FAKE_LOG"
boot_with "vfiotx.fallback=1"
run 0 v boot
assert_contains "$OUT" "rolled back: transaction 2 (tries exhausted)"
assert_eq "$(etc_state "$root")" "$good_state" "the good snapshot's files are back"
assert_contains "$(cat "$FAKE_LOG")" "kernel-install add 6.1.0-26-amd64"
grep -q intel_iommu "$ESP/loader/entries/$MID-6.1.0-26-amd64.conf" && fail "the entry was not regenerated"
assert_eq "$(entries)" "vfiotx-0-last-good.conf " "the trial entry is gone"
assert_eq "$(efivar_get LoaderEntryDefault)" "$MID-6.1.0-26-amd64.conf" "the user's default is back"
run 0 v status
assert_contains "$OUT" "state: rolled back"
fsck_ok "$root"

# --- a failed health check marks it bad: the next boot takes the last good entry.
sdboot_host
run 0 v apply -y --device "$igpu"
loader_boots
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
run 1 v confirm --health --no-reboot
assert_contains "$ERR" "is bad"
assert_eq "$(entries)" "vfiotx-0-last-good.conf vfiotx-1-trial-2+0-1.conf " "marked bad in its name"
assert_eq "$(next_entry)" "vfiotx-0-last-good.conf" "the next boot falls back"
run 0 v status
assert_contains "$OUT" "state: marked bad"

# --- systemd-bless-boot took the counter off first (the boot looked fine to it), then the
# health check fails: the blessed name goes too. A mark bad cut between writing the bad name and
# removing the blessed one would boot the blessed name again; that boot's mark bad finishes it.
sdboot_host
run 0 v apply -y --device "$igpu"
loader_boots
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
(cd "$ESP/loader/entries" && mv vfiotx-1-trial-2+*.conf vfiotx-1-trial-2.conf)
assert_eq "$(next_entry)" "vfiotx-1-trial-2.conf" "blessed: the trial boots next"
cp "$ESP/loader/entries/vfiotx-1-trial-2.conf" "$ESP/loader/entries/vfiotx-1-trial-2+0-1.conf"
assert_eq "$(next_entry)" "vfiotx-1-trial-2.conf" "cut after the bad name's write: the blessed name boots"
run 0 v boot
run 1 v confirm --health --no-reboot
assert_contains "$ERR" "is bad"
assert_eq "$(entries)" "vfiotx-0-last-good.conf vfiotx-1-trial-2+0-1.conf " "only the bad name is left"
assert_eq "$(next_entry)" "vfiotx-0-last-good.conf" "the next boot falls back"

# --- refusals: a one-shot entry outranks the pattern; /etc/kernel/tries.
sdboot_host
efivar_set LoaderEntryOneShot "$MID-6.1.0-25-amd64.conf"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "a one-shot entry is set for the next boot"
assert_eq "$(entries)" "" "nothing on the ESP"
rm "$SYSDIR/firmware/efi/efivars/LoaderEntryOneShot-$GUID"
touch "$root/etc/kernel/tries"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "/etc/kernel/tries"
rm "$root/etc/kernel/tries"
# no efivarfs, or a read-only one (a container's): the commit point could not be written
mv "$SYSDIR/firmware/efi/efivars" "$SYSDIR/firmware/efi/efivars.off"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "efivars cannot be read"
mv "$SYSDIR/firmware/efi/efivars.off" "$SYSDIR/firmware/efi/efivars"
mount -t tmpfs -o ro,size=1m tmpfs "$SYSDIR/firmware/efi/efivars"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "efivars is mounted read-only"
umount "$SYSDIR/firmware/efi/efivars"
# entries without a sort-key, named so that "vfiotx-..." sorts first among them (ids starting
# with a letter below 'v', as a machine id starting with a-f gives), and no default in
# loader.conf: after the trial the loader would boot vfiotx's last good entry for good
sed -i '/^default /d' "$ESP/loader/loader.conf"
sed -i '/^sort-key/d' "$ESP"/loader/entries/*.conf
for f in "$ESP"/loader/entries/"$MID"-*.conf; do mv "$f" "$ESP/loader/entries/debian-${f##*/$MID-}"; done
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "would boot vfiotx's last good entry after the trial"
printf 'default debian-*\n' >>"$ESP/loader/loader.conf"
run 0 v check
assert_contains "$OUT" "can arm a boot-counted trial: systemd-boot entries on the ESP"
assert_eq "$(entries)" "" "nothing on the ESP after the refusals"

# --- crash walks: killed at every failpoint of arming, confirming and falling back, the ESP and
# the variable always make a host that boots (the loader picks a complete entry: the
# distribution's, or the trial with the last good entry beside it), and the same command again
# finishes the job.
bootable() { # WHEN: what the loader would boot after the kill
	local next
	next=$(next_entry)
	case "$next" in
	"$MID-6.1.0-26-amd64.conf") ;;
	vfiotx-1-trial-*)
		# (a kill after the transaction committed: the next apply may arm a newer one)
		local k
		k=$(sed -n 's|^linux *||p' "$ESP/loader/entries/vfiotx-0-last-good.conf" 2>/dev/null)
		[ -n "$k" ] && [ -s "$ESP$k" ] || fail "$1: the trial boots next without a complete last good entry"
		grep -q "vfiotx.trial=[0-9]* panic=10" "$ESP/loader/entries/$next" || fail "$1: the trial entry is incomplete"
		;;
	vfiotx-0-last-good.conf) grep -q "^linux      /vfiotx/" "$ESP/loader/entries/$next" || fail "$1: an incomplete last good entry" ;;
	*) fail "$1: systemd-boot would boot '$next'" ;;
	esac
	ls "$ESP"/loader/entries/*.vfiotx-* >/dev/null 2>&1 && ls "$ESP"/loader/entries/ | grep -q '\.conf\.vfiotx' &&
		fail "$1: a temporary file named *.conf"
	return 0
}

# apply: every step that writes the ESP or the variable: keeping the last good boot (before the
# transaction's first journal commit), the flushes, and arming (from its journal record on).
# The transaction's own steps between (journal, files, the good copy; kernel-install rewrites
# complete entries) are the GRUB host's, walked by test_crash.sh on the same code.
sdboot_host
trace_to "$VT_TMP/trace" v apply -y --device "$igpu"
total=$(wc -l <"$VT_TMP/trace")
[ "$total" -gt 10 ] || fail "apply passes only $total failpoints"
first_commit=$(grep -n "journal: write commit" "$VT_TMP/trace" | head -1 | cut -d: -f1)
last_commit=$(grep -n "journal: write commit" "$VT_TMP/trace" | tail -1 | cut -d: -f1)
walk=$(grep -n "" "$VT_TMP/trace" | awk -F: -v a="$first_commit" -v b="$last_commit" \
	'($1 < a || $1 >= b || /boot-flush|sdboot|efivar/) && !/atomic-write: (write|fsync file)$/ {print $1}')
[ "$(grep -c 'sdboot: arm commit' "$VT_TMP/trace")" = 1 ] || fail "apply: no arm commit in the trace"
echo "apply: walking $(echo $walk | wc -w) of $total failpoints"
for n in $walk; do
	sdboot_host
	VFIOTX_FAILPOINT_KILL=$n v apply -y --device "$igpu" >/dev/null 2>&1 && fail "apply: not killed at $n"
	bootable "apply killed at failpoint $n"
	run 0 v status >/dev/null
	v apply -y --device "$igpu" >/dev/null 2>"$VT_TMP/again" || true
	bootable "apply again after the kill at $n"
	fsck_ok "$root"
done

armed_and_booted() {
	restore_sdboot armed && return 0
	sdboot_host
	run 0 v apply -y --device "$igpu"
	loader_boots
	boot_with "vfiotx.trial=2 panic=10"
	run 0 v boot
	keep_host armed
}
# confirm and the fallback: from one step before the first that writes the variable or an entry
# to the end, and every flush of the ESP (after the rebuild's kernel-install); the good copy
# and the restored files before it are the GRUB host's steps, walked by test_trial.sh. (Here
# and in apply, steps whose kill leaves what the step before leaves are skipped: lib.sh.)
esp_steps() { # COMMAND...: the failpoints to walk
	trace_to "$VT_TMP/trace" "$@"
	local first
	first=$(grep -n "efivar\|sdboot" "$VT_TMP/trace" | head -1 | cut -d: -f1)
	[ -n "$first" ] || fail "no step of '$*' writes the variable or an entry"
	grep -n "" "$VT_TMP/trace" | awk -F: -v a="$((first - 1))" \
		'($1 >= a || /boot-flush/) && !/atomic-write: (write|fsync file)$/ {print $1}'
}
armed_and_booted
steps=$(esp_steps v confirm)
echo "confirm: walking $(echo $steps | wc -w) of $(wc -l <"$VT_TMP/trace") failpoints"
for n in $steps; do
	armed_and_booted
	VFIOTX_FAILPOINT_KILL=$n v confirm >/dev/null 2>&1 && fail "confirm: not killed at $n"
	bootable "confirm killed at failpoint $n"
	run 0 v confirm
	assert_eq "$(entries)" "vfiotx-0-last-good.conf " "confirm again after the kill at $n"
	assert_eq "$(efivar_get LoaderEntryDefault)" "(unset)" "the variable after confirm (kill at $n)"
done

fell_back() {
	restore_sdboot fell-back && return 0
	sdboot_host
	run 0 v apply -y --tries 1 --device "$igpu"
	loader_boots
	boot_with "vfiotx.fallback=1"
	keep_host fell-back
}
fell_back
steps=$(esp_steps v boot)
echo "boot: walking $(echo $steps | wc -w) of $(wc -l <"$VT_TMP/trace") failpoints"
for n in $steps; do
	fell_back
	VFIOTX_FAILPOINT_KILL=$n v boot >/dev/null 2>&1 && fail "boot: not killed at $n"
	bootable "fallback killed at failpoint $n"
	v boot >/dev/null 2>"$VT_TMP/again" || fail "the fallback again after the kill at $n: $(cat "$VT_TMP/again")"
	assert_eq "$(etc_state "$root")" "$good_state" "the good files after the kill at $n"
	assert_eq "$(entries)" "vfiotx-0-last-good.conf " "the trial entry after the kill at $n"
	assert_eq "$(efivar_get LoaderEntryDefault)" "(unset)" "the variable after the kill at $n"
done

finish
