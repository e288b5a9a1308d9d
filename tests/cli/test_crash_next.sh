#!/usr/bin/env bash
# Crash safety, seen from the command after (issue 14, 3): kill or fail apply and rollback at
# every failpoint, then run each of apply, rollback, and status and log as the next command on
# its own copy of the crashed root. test_crash.sh runs confirm next, which repairs the state file by
# itself; the others must cope with whatever the crash left: status and log tell the truth
# without writing, apply goes on from it, and a rollback afterwards always returns the files to
# the good snapshot (the baseline: nothing here is confirmed).
. "$(dirname "$0")/lib.sh"

# About 1,500 commands with an fsync each: on a tmpfs when mounting one is allowed, so that the
# walk takes minutes, not a quarter of an hour under ASan.
if mount -t tmpfs -o size=256m tmpfs "$VT_TMP" 2>/dev/null; then
	trap 'umount -l "$VT_TMP"; rm -rf "$VT_TMP"' EXIT
fi

MANAGED=(/etc/modules /etc/vfiotx/vfiotx.conf)

state_of() {
	local root=$1 p
	for p in "${MANAGED[@]}"; do fingerprint "$root$p"; done
}

ref=$(mkroot)
before=$(state_of "$ref")
vt --root "$ref" apply -y --no-rebuild >/dev/null
after=$(state_of "$ref")

# The roots each walk starts from: fresh, and with the apply done (copied, not made again).
fresh=$(mkroot)
applied=$(mkroot)
vt --root "$applied" apply -y --no-rebuild >/dev/null
prepare() { # DEST COMMAND: a copy of the root COMMAND starts from
	cp -a "$([ "$2" = rollback ] && echo "$applied" || echo "$fresh")/." "$1/"
}
# The files are all-before or all-after.
whole() {
	local s
	s=$(state_of "$1")
	[ "$s" = "$before" ] || [ "$s" = "$after" ] || fail "$2: files are neither all-before nor all-after"
}

# rollback -y ends at the good snapshot (or, when nothing was ever recorded, says so and the
# files are the before state).
rolls_back() {
	local root=$1 what=$2 rc=0
	"$VFIOTX_BIN" --root "$root" rollback -y >"$VT_TMP/out" 2>"$VT_TMP/err" || rc=$?
	if [ "$rc" = 1 ] && grep -q "nothing to roll back" "$VT_TMP/err"; then
		[ "$(state_of "$root")" = "$before" ] || fail "$what: nothing to roll back, but the files changed"
		return 0
	fi
	[ "$rc" = 0 ] || { fail "$what: rollback exited $rc: $(head -n 3 "$VT_TMP/err")"; return 0; }
	[ "$(state_of "$root")" = "$before" ] || fail "$what: rollback did not return to the good snapshot"
}

one() { # MODE N COMMAND...: crash at failpoint N, then each next command on its own copy
	local mode=$1 n=$2 rc=0 base root next what s
	shift 2
	base="$VT_TMP/base"
	mkdir "$base"
	prepare "$base" "$1"
	if [ "$mode" = kill ]; then
		VFIOTX_FAILPOINT_KILL=$n "$VFIOTX_BIN" --root "$base" "$@" >/dev/null 2>&1 || rc=$?
		[ "$rc" = 137 ] || fail "$* with kill at $n exited $rc"
	else
		VFIOTX_FAILPOINT_FAIL=$n "$VFIOTX_BIN" --root "$base" "$@" >/dev/null 2>&1 || rc=$?
		[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "$* with I/O error at $n exited $rc"
	fi
	# status and log write nothing: they share one copy.
	for next in status+log apply rollback; do
		what="$mode at failpoint $n of '$*', then $next"
		root="$VT_TMP/next"
		rm -rf "$root"
		cp -a "$base" "$root"
		case $next in
		status+log)
			# Until a command that writes finishes or undoes the transaction, the files
			# may be half-way: status must say so.
			run 0 vt --root "$root" status
			assert_not_contains "$OUT" "transaction 0" "$what"
			s=$(state_of "$root")
			if [ "$s" != "$before" ] && [ "$s" != "$after" ]; then
				assert_contains "$OUT" "state: interrupted" "$what: half-way files"
				assert_contains "$OUT" "the next vfiotx command that changes the host finishes or undoes it" "$what"
			fi
			run 0 vt --root "$root" log
			;;
		apply)
			run 0 vt --root "$root" apply -y --no-rebuild
			[ "$(state_of "$root")" = "$after" ] || fail "$what: apply did not reach the after state"
			;;
		rollback) ;;
		esac
		rolls_back "$root" "$what"
		if [ "$next" = apply ]; then
			fsck_ok "$root"
			[ -f "$root/var/lib/vfiotx/good/txn" ] || fail "$what: no plain copy of the good snapshot"
		fi
	done
}

# Every failpoint in its own subshell and temporary directory, as many at once as there are
# processors: the checks' failures come back as the subshells' exit codes.
workers=$(nproc)
walk() { # MODE COMMAND...
	local mode=$1 n total running=0 probe
	shift
	probe=$(mktemp -d -p "$VT_TMP")
	prepare "$probe" "$1"
	total=$(VFIOTX_FAILPOINT_TRACE=1 "$VFIOTX_BIN" --root "$probe" "$@" 2>&1 >/dev/null | grep -c 'failpoint [0-9]*:')
	[ "$total" -gt 10 ] || fail "expected more than 10 failpoints in '$*', saw $total"
	for ((n = 1; n <= total; n++)); do
		(
			VT_TMP="$VT_TMP/$mode.$1.$n"
			VT_FAILS=0
			mkdir "$VT_TMP"
			one "$mode" "$n" "$@"
			rm -rf "$VT_TMP"
			exit $((VT_FAILS > 0))
		) &
		if ((++running >= workers)); then
			wait -n || VT_FAILS=$((VT_FAILS + 1))
			running=$((running - 1))
		fi
	done
	while ((running > 0)); do
		wait -n || VT_FAILS=$((VT_FAILS + 1))
		running=$((running - 1))
	done
	echo "$mode: ${*}: $total failpoints, each followed by status, log, apply and rollback"
}

walk kill apply -y --no-rebuild
walk fail apply -y --no-rebuild
walk kill rollback -y
walk fail rollback -y
finish
