# Shared helpers for the CLI tests: sourced by tests/cli/test_*.sh.
# Every test runs the real binary ($VFIOTX_BIN) against roots made in a temporary directory.
set -euo pipefail

: "${VFIOTX_BIN:?set by ctest}"
: "${VFIOTX_FIXTURES:?set by ctest}"
VT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vfiotx-test.XXXXXX")
trap 'rm -rf "$VT_TMP"' EXIT
VT_FAILS=0

fail() {
	echo "FAIL: $*" >&2
	VT_FAILS=$((VT_FAILS + 1))
}

# A fresh copy of a fixture root (default: the Debian 12 host).
mkroot() {
	local name=${1:-debian12} dir
	dir=$(mktemp -d "$VT_TMP/root.XXXXXX")
	cp -a "$VFIOTX_FIXTURES/roots/$name/." "$dir/"
	echo "$dir"
}

vt() { "$VFIOTX_BIN" "$@"; }

# run EXPECTED_RC CMD...: run, keep stdout/stderr in $OUT/$ERR, check the exit code.
run() {
	local want=$1 rc=0
	shift
	OUT=$("$@" 2>"$VT_TMP/stderr") || rc=$?
	ERR=$(cat "$VT_TMP/stderr")
	if [ "$rc" != "$want" ]; then
		fail "exit $rc (wanted $want): $*"
		echo "--- stdout:"$'\n'"$OUT"$'\n'"--- stderr:"$'\n'"$ERR" >&2
	fi
}

assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: got [$1] wanted [$2]"; }
assert_contains() { case "$1" in *"$2"*) ;; *) fail "${3:-missing text}: [$2] not in [$1]" ;; esac; }
assert_not_contains() { case "$1" in *"$2"*) fail "${3:-unexpected text}: [$2] in [$1]" ;; *) ;; esac; }

# Fingerprint of a file: checksum, mode, owner, xattrs (or ABSENT).
fingerprint() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		printf '%s %s ' "$(sha256sum <"$1" | cut -d' ' -f1)" "$(stat -c '%a %u %g' "$1")"
		getfattr -d -m - --absolute-names "$1" 2>/dev/null | grep -v '^#' | sort | tr '\n' ' '
		echo
	else
		echo ABSENT
	fi
}

# The journal must always pass git fsck.
fsck_ok() {
	local git_dir="$1/var/lib/vfiotx/journal.git" out
	[ -d "$git_dir" ] || return 0
	if ! out=$(git -C "$git_dir" fsck --strict --no-dangling 2>&1); then
		fail "git fsck failed on $git_dir: $out"
	fi
}

# Number of transactions on the journal's first-parent line.
txn_count() {
	git -C "$1/var/lib/vfiotx/journal.git" rev-list --first-parent --count refs/heads/journal 2>/dev/null || echo 0
}

finish() {
	if [ "$VT_FAILS" -ne 0 ]; then
		echo "$VT_FAILS check(s) failed" >&2
		exit 1
	fi
	echo "all checks passed"
}
