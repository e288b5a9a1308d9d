#!/usr/bin/env bash
# Two vfiotx at once: the second waits for the lock, or fails clearly when it times out; stale
# git lock files left by a crash are cleared under the lock.
. "$(dirname "$0")/lib.sh"

root=$(mkroot)
# Two concurrent applies: both succeed, exactly one transaction changes the file.
vt --root "$root" apply -y --no-rebuild >"$VT_TMP/a" 2>&1 &
pa=$!
vt --root "$root" apply -y --no-rebuild >"$VT_TMP/b" 2>&1 &
pb=$!
wait $pa || fail "first concurrent apply failed: $(cat "$VT_TMP/a")"
wait $pb || fail "second concurrent apply failed: $(cat "$VT_TMP/b")"
assert_eq "$(txn_count "$root")" 2 "one baseline and one apply"
assert_eq "$(grep -c '^vfio_pci$' "$root/etc/modules")" 1 "modules added once"
fsck_ok "$root"

# Someone holds the lock: a clear failure after the timeout, nothing written.
root=$(mkroot)
mkdir -p "$root/var/lib/vfiotx"
flock "$root/var/lib/vfiotx/lock" sleep 5 &
holder=$!
sleep 0.3
run 1 vt --root "$root" --lock-timeout 1 apply -y --no-rebuild
assert_contains "$ERR" "another vfiotx"
assert_contains "$ERR" "is working on $root"
cmp -s "$root/etc/modules" "$VFIOTX_FIXTURES/roots/debian12/etc/modules" || fail "locked out apply wrote"
kill $holder 2>/dev/null || true
wait $holder 2>/dev/null || true

# Stale *.lock files from a crashed git writer do not block the next transaction.
root=$(mkroot)
vt --root "$root" apply -y --no-rebuild >/dev/null
vt --root "$root" rollback -y >/dev/null
touch "$root/var/lib/vfiotx/journal.git/refs/heads/journal.lock" "$root/var/lib/vfiotx/journal.git/config.lock"
run 0 vt --root "$root" apply -y --no-rebuild
[ ! -e "$root/var/lib/vfiotx/journal.git/refs/heads/journal.lock" ] || fail "stale ref lock not cleared"
fsck_ok "$root"
finish
