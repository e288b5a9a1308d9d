#!/usr/bin/env bash
# vfiotx-rescue (rescue/rescue.h), the initramfs's rescue program, on a host changed by a real
# `vfiotx apply`: a damaged, missing or read-only copy is refused with nothing written; the
# plain good copy is restored file by file and rebuilt with the same tools vfiotx runs (fake
# tools, --no-chroot); the next `vfiotx boot` records a "rescue" entry, ends a trial in progress
# as rolled back and removes the marker.
. "$(dirname "$0")/lib.sh"
: "${VFIOTX_RESCUE:?set by ctest}"

igpu=0000:00:02.0
use_host intel-igpu-desktop
host_proc=$PROC
v() { vt --root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot "$@"; }
rescue() { "$VFIOTX_RESCUE" --no-chroot "$@"; }
mark=var/lib/vfiotx/rescued
debian_grub() {
	root=$(mkhost intel-igpu-desktop)
	fake_tools "$root"
	touch "$root/usr/sbin/update-initramfs" "$root/usr/sbin/update-grub"
	for k in 6.1.0-25-amd64 6.1.0-26-amd64; do update-initramfs -u -k $k >/dev/null; done
	PROC=$host_proc
	: >"$FAKE_LOG"
}
# every file under the root but the journal's lock and the tools' log: what "nothing written" means
tree_state() { (cd "$1" && find . -path ./var/lib/vfiotx/lock -prune -o -print | sort | while read -r f; do
	printf '%s ' "$f"; if [ -f "$f" ] && [ ! -L "$f" ]; then fingerprint "$f"; else echo; fi
done); }

# --- a host with a device bound (no trial): the good snapshot is the baseline.
debian_grub
good_state=$(etc_state "$root")
run 0 v apply -y --no-arm --device "$igpu"
applied_state=$(etc_state "$root")
[ "$applied_state" != "$good_state" ] || fail "the apply changed files"
[ -f "$root/var/lib/vfiotx/good/manifest.json" ] || fail "the plain good copy exists"

run 0 "$VFIOTX_RESCUE" --help
assert_contains "$OUT" "mount -o remount,rw /root"
run 2 "$VFIOTX_RESCUE" --bogus
run 2 "$VFIOTX_RESCUE" extra

# --- a damaged copy is refused before anything is written: a truncated file, a missing file,
# a manifest that is not one, no copy at all, no vfiotx on that root.
damage() { # WHAT-TO-DO EXPECTED-ERROR
	local d
	d=$(mktemp -d -p "$VT_TMP") && cp -a "$root/." "$d/"
	(cd "$d/var/lib/vfiotx/good" && eval "$1")
	before=$(tree_state "$d")
	: >"$FAKE_LOG"
	run 1 rescue --root "$d"
	assert_contains "$ERR" "$2"
	assert_contains "$ERR" "nothing was restored"
	assert_contains "$ERR" "hint:"
	assert_eq "$(tree_state "$d")" "$before" "a refused rescue writes nothing ($1)"
	assert_eq "$(cat "$FAKE_LOG")" "" "a refused rescue runs no tool ($1)"
}
damage 'printf "# cut short" > files/etc/modules' "holds 11 bytes, its manifest says"
damage 'rm files/etc/default/grub' "damaged"
damage 'echo "{" > manifest.json' "manifest is damaged"
damage 'cd .. && rm good' "there is no plain copy of a good snapshot"
assert_contains "$ERR" "vfiotx --root /root rollback -y"
d=$(mktemp -d -p "$VT_TMP")
run 1 rescue --root "$d"
assert_contains "$ERR" "has no /var/lib/vfiotx"
run 1 rescue --root "$VT_TMP/nonexistent"

# --- a read-only root: refused, naming the mount to remount (a private mount namespace).
if unshare -m true 2>/dev/null; then
	mnt="$VT_TMP/ro"
	mkdir -p "$mnt"
	run 1 unshare -m sh -c 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && exec "$3" --no-chroot --root "$2"' \
		sh "$root" "$mnt" "$VFIOTX_RESCUE"
	assert_contains "$ERR" "is mounted read-only: nothing was restored"
	assert_contains "$ERR" "mount -o remount,rw $mnt"
	assert_eq "$(etc_state "$root")" "$applied_state" "a read-only root: nothing restored"
else
	echo "skipped the read-only root: no mount namespace here"
fi

# --- the rescue: the good files back, each kernel's initramfs and grub.cfg rebuilt, the marker.
: >"$FAKE_LOG"
run 0 rescue --root "$root"
assert_contains "$OUT" "the last good snapshot is transaction 1"
assert_contains "$OUT" "restored /etc/default/grub"
assert_contains "$OUT" "removed /etc/modprobe.d/vfiotx.conf"
assert_contains "$OUT" "[1/3] update-initramfs -u -k 6.1.0-25-amd64"
assert_contains "$OUT" "restored and rebuilt (3 steps)"
assert_eq "$(etc_state "$root")" "$good_state" "every file as in the good snapshot (bytes, mode, owner, xattrs)"
assert_eq "$(cat "$FAKE_LOG")" "update-initramfs -u -k 6.1.0-25-amd64
update-initramfs -u -k 6.1.0-26-amd64
update-grub" "the rebuild vfiotx would run for these files, in its order"
grep -q "intel_iommu" "$root/boot/grub/grub.cfg" && fail "grub.cfg rebuilt from the good command line"
assert_contains "$(cat "$root/$mark")" "txn=1"
assert_contains "$(cat "$root/$mark")" "rebuilt=1"
assert_eq "$(stat -c '%a %u' "$root/$mark")" "600 0" "the marker is root's, 0600"
ls "$root/etc/modprobe.d" | grep -q vfiotx- && fail "no temporary files left"
# a second run: nothing to restore, rebuilt again
: >"$FAKE_LOG"
run 0 rescue --root "$root"
assert_not_contains "$OUT" "restored /"
assert_eq "$(grep -c . "$FAKE_LOG")" 3 "the second run rebuilds again"

# --- the next normal boot records the rescue and removes the marker.
head_before=$(txn_count "$root")
run 0 v boot
assert_contains "$OUT$ERR" "recorded as transaction $((head_before + 1)): vfiotx-rescue restored the last good snapshot (transaction 1)"
[ -e "$root/$mark" ] && fail "vfiotx boot removes the marker"
assert_eq "$(txn_count "$root")" "$((head_before + 1))" "one entry for the rescue"
git -C "$root/var/lib/vfiotx/journal.git" show refs/heads/journal:meta.json |
	python3 -c 'import json,sys; m=json.load(sys.stdin); assert m["kind"] == "rescue", m' ||
	fail "the newest entry is of kind rescue"
run 0 v log
assert_contains "$(echo "$OUT" | head -3)" "rescue"
run 0 v status
assert_not_contains "$OUT" "drift"
assert_not_contains "$OUT" "pending rebuild"
fsck_ok "$root"
run 0 v boot # nothing left to record
assert_eq "$(txn_count "$root")" "$((head_before + 1))" "the rescue is recorded once"

# --- --no-rebuild: the files only; vfiotx boot completes the rebuild.
run 0 v apply -y --no-arm --device "$igpu"
: >"$FAKE_LOG"
run 0 rescue --root "$root" --no-rebuild
assert_eq "$(cat "$FAKE_LOG")" "" "--no-rebuild runs no tool"
assert_contains "$(cat "$root/$mark")" "rebuilt=0"
run 0 v boot
assert_contains "$OUT$ERR" "the boot artifacts are still to rebuild"
assert_eq "$(grep -c '^update-' "$FAKE_LOG")" 3 "vfiotx boot rebuilt what the rescue did not"
run 0 v status
assert_not_contains "$OUT" "pending rebuild"
[ -e "$root/$mark" ] && fail "the marker is gone"
fsck_ok "$root"

# --- a rescue during a trial: the next boot (GRUB still counting) ends it as rolled back.
if command -v grub-editenv >/dev/null; then
	debian_grub
	mkdir -p "$root/etc/grub.d" && cp "$VFIOTX_SRC/scripts/grub.d/42_vfiotx" "$root/etc/grub.d/"
	bash "$VFIOTX_SRC/tests/cli/trial-units.sh" "$root" enable
	grub-editenv "$root/boot/grub/grubenv" create
	update-grub >/dev/null
	good_state=$(etc_state "$root")
	run 0 v apply -y --tries 2 --device "$igpu"
	assert_contains "$OUT" "armed: transaction 2"
	run 0 rescue --root "$root"
	assert_eq "$(etc_state "$root")" "$good_state" "the good files restored during a trial"
	rm -rf "$VT_TMP/proc" && cp -a "$host_proc" "$VT_TMP/proc"
	sed -i 's|$| vfiotx.trial=2|' "$VT_TMP/proc/cmdline"
	PROC="$VT_TMP/proc"
	run 0 v boot
	assert_contains "$OUT$ERR" "rescue: vfiotx-rescue restored"
	assert_not_contains "$OUT$ERR" "trial boot of transaction 2"
	assert_eq "$(grub-editenv "$root/boot/grub/grubenv" list | grep -c '^vfiotx_')" 0 "GRUB stops counting"
	run 0 v status
	assert_contains "$OUT" "rolled back"
	assert_contains "$OUT" "rescue"
	[ -e "$root/$mark" ] && fail "the marker is gone after the trial's end"
	fsck_ok "$root"
	PROC=$host_proc
else
	echo "skipped the rescue during a trial: grub-editenv is not installed"
fi

# --- systemd-boot (Debian's initramfs post-update hook): the loader starts the initramfs copies
# on the ESP, so with the ESP fstab names not mounted in the root the rebuild would leave the bad
# one booting: refused before anything is written; mounted (entries there), the rescue runs.
debian_grub
mkdir -p "$root/etc/initramfs/post-update.d" "$root/boot/efi"
: >"$root/etc/initramfs/post-update.d/systemd-boot"
echo "UUID=7A3C-0E16 /boot/efi vfat umask=0077 0 1" >>"$root/etc/fstab"
sd_good=$(etc_state "$root")
run 0 v apply -y --no-arm --device "$igpu"
before=$(tree_state "$root")
: >"$FAKE_LOG"
run 1 rescue --root "$root"
assert_contains "$ERR" "the ESP (UUID=7A3C-0E16 in $root/etc/fstab) is not mounted at $root/boot/efi"
assert_contains "$ERR" "mount UUID=7A3C-0E16 $root/boot/efi"
assert_eq "$(tree_state "$root")" "$before" "a refused rescue writes nothing (ESP not mounted)"
assert_eq "$(cat "$FAKE_LOG")" "" "a refused rescue runs no tool (ESP not mounted)"
mkdir -p "$root/boot/efi/loader/entries"
run 0 rescue --root "$root"
assert_eq "$(etc_state "$root")" "$sd_good" "restored with the ESP mounted"

finish
