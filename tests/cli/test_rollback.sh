#!/usr/bin/env bash
# rollback restores the exact previous bytes, mode, owner and xattrs, deletes a file that did not
# exist before, and is itself a transaction; hand edits are recorded as drift first.
. "$(dirname "$0")/lib.sh"

root=$(mkroot)
m="$root/etc/modules"
chown 1234:5678 "$m"
chmod 0640 "$m"
setfattr -n user.vfiotx-test -v hello "$m"
setfattr -n user.binary -v 0x00ff10 "$m"
orig=$(fingerprint "$m")
assert_contains "$orig" "user.vfiotx-test" "fixture has xattrs"

run 0 vt --root "$root" apply -y --no-rebuild
after=$(fingerprint "$m")
assert_contains "$after" "640 1234 5678" "apply keeps mode and owner"
assert_contains "$after" 'user.vfiotx-test="hello"' "apply keeps xattrs"

# The user changes the file's metadata by hand: recorded as drift, then undone by rollback.
chmod 0600 "$m"
chown 0:0 "$m"
setfattr -x user.vfiotx-test "$m"
setfattr -n user.other -v x "$m"
run 0 vt --root "$root" rollback -y
assert_contains "$OUT" "rolled back as transaction 4"
assert_eq "$(fingerprint "$m")" "$orig" "bytes, mode, owner and xattrs restored"
run 0 vt --root "$root" log
assert_contains "$OUT" "changed outside vfiotx: /etc/modules" "drift recorded"
assert_contains "$(echo "$OUT" | head -1)" "rollback" "rollback is the newest entry"
assert_eq "$(txn_count "$root")" 4 "baseline, apply, drift, rollback"
fsck_ok "$root"

# rollback TXN brings back a given transaction's snapshot (here: the apply).
run 0 vt --root "$root" rollback -y 2
assert_eq "$(fingerprint "$m")" "$after" "rollback to transaction 2"
run 0 vt --root "$root" rollback -y 2
assert_contains "$OUT" "nothing to do"
run 1 vt --root "$root" rollback -y 99
assert_contains "$ERR" "no transaction 99"
run 1 vt --root "$root" rollback -y zz
assert_contains "$ERR" "is not a transaction"
fsck_ok "$root"

# A file that did not exist before is deleted by the rollback.
root2=$(mkroot)
rm "$root2/etc/modules"
run 0 vt --root "$root2" apply -y --no-rebuild
[ -f "$root2/etc/modules" ] || fail "apply creates /etc/modules"
assert_eq "$(stat -c '%a %u %g' "$root2/etc/modules")" "644 0 0" "new file gets 0644 root:root"
run 0 vt --root "$root2" rollback -y
[ ! -e "$root2/etc/modules" ] || fail "rollback deletes the file that did not exist"
run 0 vt --root "$root2" show 3
assert_contains "$OUT" "deleted file /etc/modules"
fsck_ok "$root2"

# Nothing to roll back on a fresh root.
root3=$(mkroot)
run 1 vt --root "$root3" rollback -y
assert_contains "$ERR" "nothing to roll back"

# confirm makes the applied snapshot good: rollback then has nothing to undo.
root4=$(mkroot)
run 0 vt --root "$root4" apply -y --no-rebuild
run 0 vt --root "$root4" confirm
assert_contains "$OUT" "confirmed: transaction 2 is the last good snapshot"
assert_eq "$(txn_count "$root4")" 3 "the confirmation is an entry of its own"
run 0 vt --root "$root4" rollback -y
assert_contains "$OUT" "nothing to do"
[ "$(readlink "$root4/var/lib/vfiotx/good")" = good.3 ] || fail "plain copy follows the good snapshot"
cmp -s "$root4/var/lib/vfiotx/good/files/etc/modules" "$root4/etc/modules" || fail "plain copy bytes"
fsck_ok "$root4"
# From a rescue shell the root may follow the command: vfiotx rollback --root /root -y.
root5=$(mkroot)
run 0 vt apply -y --no-rebuild --root "$root5"
run 0 vt rollback --root "$root5" -y -q
cmp -s "$root5/etc/modules" "$VFIOTX_FIXTURES/roots/debian12/etc/modules" || fail "rollback --root DIR after the command"
run 2 vt status --root
assert_contains "$ERR" "--root needs a value"
# A file vfiotx starts managing later (issue 14, 18): recorded as found, not as drift, and a
# rollback to a snapshot from before keeps it as found (it used to delete /etc/default/grub),
# from the journal and from the plain copy alike.
use_host intel-igpu-desktop
for via in journal plain-copy; do
	root=$(mkhost intel-igpu-desktop)
	grub=$(fingerprint "$root/etc/default/grub")
	h() { vt --root "$root" --sysfs "$SYS" --proc "$PROC" "$@"; }
	run 0 h apply -y --no-rebuild --no-arm --no-iommu-params --device 0000:00:02.0
	run 0 h apply -y --no-rebuild --no-arm --cmdline-add foo=1
	assert_not_contains "$OUT" "changed outside vfiotx"
	run 0 h log
	assert_contains "$OUT" "found      recorded  now managed, as found: /etc/default/grub"
	assert_not_contains "$OUT" "drift"
	[ "$via" = plain-copy ] && echo garbage >"$root/var/lib/vfiotx/state"
	run 0 h rollback -y --no-rebuild
	assert_eq "$(fingerprint "$root/etc/default/grub")" "$grub" "/etc/default/grub kept as found ($via)"
	[ -e "$root/etc/modprobe.d/vfiotx.conf" ] && fail "vfiotx's own file removed by the rollback ($via)"
done
finish
