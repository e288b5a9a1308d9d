#!/usr/bin/env bash
# Crash safety: kill or fail apply (and rollback) at every failpoint in turn. After the next
# command, every managed file is byte-identical to the before state or to the after state, as a
# set; the journal's head agrees with the disk; git fsck is clean.
. "$(dirname "$0")/lib.sh"

MANAGED=(/etc/modules /etc/vfiotx/vfiotx.conf)

state_of() { # print the fingerprint of every managed file
	local root=$1 p
	for p in "${MANAGED[@]}"; do fingerprint "$root$p"; done
}

journal_agrees() { # the journal head's snapshot equals the disk
	local root=$1 gd="$1/var/lib/vfiotx/journal.git" p
	if ! git -C "$gd" rev-parse -q --verify refs/heads/journal >/dev/null 2>&1; then
		# Nothing recorded yet: then nothing may have changed either.
		[ "$(state_of "$root")" = "$before" ] || fail "no journal entry, but files changed"
		return 0
	fi
	for p in "${MANAGED[@]}"; do
		if git -C "$gd" cat-file -e "refs/heads/journal:files$p" 2>/dev/null; then
			git -C "$gd" cat-file blob "refs/heads/journal:files$p" | cmp -s - "$root$p" ||
				fail "journal head and disk differ for $p"
		else
			[ ! -e "$root$p" ] || fail "journal says $p is absent but it exists"
		fi
	done
}

# Reference states.
ref=$(mkroot)
before=$(state_of "$ref")
vt --root "$ref" apply -y --no-rebuild >/dev/null
after=$(state_of "$ref")
[ "$before" != "$after" ] || fail "apply must change something for this test"

prepare() { # a fresh root; for rollback, a copy of one with the apply done (made once)
	local root applied=$VT_TMP/applied
	if [ "$1" != rollback ]; then
		mkroot
		return
	fi
	if [ ! -d "$applied" ]; then
		root=$(mkroot)
		vt --root "$root" apply -y --no-rebuild >/dev/null
		mv "$root" "$applied"
	fi
	root=$(mktemp -d -p "$VT_TMP")
	cp -a "$applied/." "$root/"
	echo "$root"
}

check_cycle() { # MODE(kill|fail) COMMAND...: walk every failpoint the command reaches
	local mode=$1 n rc root state total
	shift
	root=$(prepare "$1")
	total=$(VFIOTX_FAILPOINT_TRACE=1 "$VFIOTX_BIN" --root "$root" "$@" 2>&1 >/dev/null | grep -c 'failpoint [0-9]*:')
	[ "$total" -gt 10 ] || fail "expected more than 10 failpoints in '$*', saw $total"
	for ((n = 1; n <= total; n++)); do
		root=$(prepare "$1")
		rc=0
		if [ "$mode" = kill ]; then
			VFIOTX_FAILPOINT_KILL=$n "$VFIOTX_BIN" --root "$root" "$@" >/dev/null 2>"$VT_TMP/err" || rc=$?
			[ "$rc" = 137 ] || fail "$* with kill at $n exited $rc: $(cat "$VT_TMP/err")"
		else
			VFIOTX_FAILPOINT_FAIL=$n "$VFIOTX_BIN" --root "$root" "$@" >/dev/null 2>"$VT_TMP/err" || rc=$?
			if [ "$rc" = 1 ]; then
				grep -q "simulated I/O error" "$VT_TMP/err" || fail "$* at $n: the error is not reported: $(cat "$VT_TMP/err")"
			elif [ "$rc" = 0 ]; then
				# Only after the commit point may a failure leave the command successful.
				[ "$(state_of "$root")" = "$( [ "$1" = apply ] && echo "$after" || echo "$before")" ] ||
					fail "$* succeeded despite an I/O error at $n, but the files are not the target"
			else
				fail "$* with I/O error at $n exited $rc"
			fi
		fi
		# The next command recovers (confirm changes no file).
		vt --root "$root" confirm >"$VT_TMP/next" 2>&1 || true
		state=$(state_of "$root")
		if [ "$state" != "$before" ] && [ "$state" != "$after" ]; then
			fail "$mode at failpoint $n of '$*': files are neither all-before nor all-after"
		fi
		if [ "$mode" = fail ] && [ "$rc" = 1 ] && [ "$1" = apply ] && [ "$state" != "$before" ]; then
			fail "an apply that failed at $n must leave the before state"
		fi
		journal_agrees "$root"
		fsck_ok "$root"
		# The host stays usable: the command can be run again to the end.
		vt --root "$root" "$@" >/dev/null 2>&1 || fail "$* after recovery from $mode at $n"
	done
	echo "$mode: ${*}: $total failpoints checked"
}

check_cycle kill apply -y --no-rebuild
check_cycle fail apply -y --no-rebuild
check_cycle kill rollback -y
check_cycle fail rollback -y

# A failed apply is recorded in the journal as failed, with the error: fail the rename of
# /etc/modules itself (the first rename after the intent is written to the state file).
root=$(mkroot)
VFIOTX_FAILPOINT_TRACE=1 "$VFIOTX_BIN" --root "$(mkroot)" apply -y --no-rebuild >/dev/null 2>"$VT_TMP/trace"
# The commit point is the last state file write; /etc/modules' rename is two steps before it.
n=$(grep 'failpoint [0-9]*:' "$VT_TMP/trace" | awk '/state: replace/ {last=$3} END {sub(":", "", last); print last - 2}')
sed -n "${n}p" "$VT_TMP/trace" | grep -q 'atomic-write: rename' || fail "failpoint $n is not a rename: $(sed -n "${n}p" "$VT_TMP/trace")"
[ -n "$n" ] || fail "no rename failpoint found in the trace"
rc=0
VFIOTX_FAILPOINT_FAIL=$n "$VFIOTX_BIN" --root "$root" apply -y --no-rebuild >/dev/null 2>"$VT_TMP/err" || rc=$?
assert_eq "$rc" 1 "failed apply exits 1"
assert_contains "$(cat "$VT_TMP/err")" "every file was put back"
cmp -s "$root/etc/modules" "$VFIOTX_FIXTURES/roots/debian12/etc/modules" || fail "failed apply left the file changed"
run 0 vt --root "$root" log -n 1
assert_contains "$OUT" "failed"
run 0 vt --root "$root" show "$(echo "$OUT" | awk '{print $1}')"
assert_contains "$OUT" "simulated I/O error"
assert_contains "$OUT" "attempted changes"
assert_contains "$OUT" "+vfio_pci"
fsck_ok "$root"
finish
