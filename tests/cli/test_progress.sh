#!/usr/bin/env bash
# Progress a person can watch (issue 19): under a pseudo-terminal, a running rebuild step's line
# is redrawn in place with the seconds elapsed (also while the tool prints nothing) and the
# tool's last line, then replaced by the final line; colour on a terminal only, never with
# NO_COLOR, TERM=dumb, --json or in a pipe; a failed step's whole output is shown (its last
# 64 KiB when longer).
. "$(dirname "$0")/lib.sh"

use_host intel-igpu-desktop
root=$(mkhost intel-igpu-desktop)
fake_tools "$root"
touch "$root/usr/sbin/update-initramfs" "$root/usr/sbin/update-grub"
for k in 6.1.0-25-amd64 6.1.0-26-amd64; do update-initramfs -u -k $k >/dev/null; done
update-grub >/dev/null
vt --root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot -q apply -y --no-arm
n=0
# After a first apply (the vfio modules), a command-line change each time: one step,
# update-grub. apply_argv sets A.
apply_argv() {
	n=$((n + 1))
	A=("$VFIOTX_BIN" --root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot "$@" apply -y --no-arm
		--cmdline-add "progress_test=$n")
}
v_apply() {
	apply_argv "$@"
	"${A[@]}"
}

# $TTY OUT CMD...: run CMD with stdin, stdout and stderr on a pseudo-terminal $PTY_COLS (100)
# columns wide;
# what it wrote goes to OUT as raw bytes; exits with CMD's exit code.
TTY=$VT_TMP/tty.py
cat >"$TTY" <<'PY'
import fcntl, os, struct, subprocess, sys, termios
out, argv = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()
cols = int(os.environ.get("PTY_COLS", "100"))
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
os.close(slave)
data = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the last process holding the terminal closed it
        break
    if not chunk:
        break
    data += chunk
with open(out, "wb") as f:
    f.write(data)
sys.exit(p.wait())
PY
# on_tty OUT [VAR=value...] [-- GLOBAL-OPTION...]: apply under the terminal with the environment
# given (NO_COLOR unset unless given); sets rc.
on_tty() {
	local out=$1 envs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	apply_argv "$@"
	rc=0
	env -u NO_COLOR "${envs[@]}" /usr/bin/python3 "$TTY" "$out" "${A[@]}" || rc=$?
}

# check OUT PYTHON-EXPR MESSAGE: the expression holds for `d`, OUT's bytes.
check() {
	/usr/bin/python3 -c '
import re, sys
d = open(sys.argv[1], "rb").read()
sgr = re.compile(rb"\x1b\[[0-9;]*m")
sys.exit(0 if eval(sys.argv[2]) else 1)
' "$1" "$2" || {
		fail "$3"
		/usr/bin/python3 -c 'import sys; print(repr(open(sys.argv[1], "rb").read()[-3000:]))' "$1" >&2
	}
}

# --- A terminal: the live line ticks while the tool is silent, shows its last line, ends as
# the final line; colour on.
on_tty "$VT_TMP/tty.out" TERM=xterm FAKE_SLOW=update-grub
assert_eq "$rc" 0 "apply under a terminal"
out=$VT_TMP/tty.out
check "$out" 'b"\r\x1b[K[1/1] update-grub ... 0 s" in d' "the running step's line, drawn in place"
check "$out" 'b"[1/1] update-grub ... 1 s  update-grub: generating the image slowly" in d' \
	"after a second: the seconds elapsed and the tool's last line"
check "$out" 'b"[1/1] update-grub ... 2 s  update-grub: generating the image slowly" in d' \
	"a tick while the tool prints nothing"
check "$out" 'd.index(b"... 2 s") < re.search(rb"update-grub \(\d", d).start()' "the ticks come before the final line"
check "$out" 're.search(rb"\r\x1b\[K\x1b\[32m\[1/1\]\x1b\[0m update-grub \([2-9]\.[0-9] s\)\r\n", d)' \
	"the final line replaces the live line, its counter green"
check "$out" 'sgr.search(d)' "colour on a terminal"

# --- NO_COLOR: the same live line, no colour.
on_tty "$VT_TMP/nocolor.out" TERM=xterm NO_COLOR=1 FAKE_SLOW=update-grub
assert_eq "$rc" 0 "apply under a terminal with NO_COLOR"
check "$VT_TMP/nocolor.out" 'b"... 1 s  update-grub: generating" in d' "NO_COLOR keeps the live line"
check "$VT_TMP/nocolor.out" 'not sgr.search(d)' "NO_COLOR=1: no colour"
# A narrow terminal: the live line is cut to its width (less one column), the seconds kept.
on_tty "$VT_TMP/narrow.out" PTY_COLS=40 TERM=xterm FAKE_SLOW=update-grub FAKE_SLOW_SECONDS=1.2
check "$VT_TMP/narrow.out" 'b"\r\x1b[K[1/1] update-grub ... 1 s  update-grub:\r" in d' \
	"a narrow terminal: the live line cut to 39 columns"
check "$VT_TMP/narrow.out" 'all(len(l) <= 39 for l in re.sub(rb"\x1b\[[0-9;]*[A-Za-z]", b"", d).split(b"\r") if b" ... " in l and b"\n" not in l)' \
	"no live line wider than the terminal"
# An empty NO_COLOR is as good as unset (no-color.org).
on_tty "$VT_TMP/emptynocolor.out" TERM=xterm NO_COLOR=
check "$VT_TMP/emptynocolor.out" 'sgr.search(d)' "an empty NO_COLOR does not disable colour"

# --- TERM=dumb: the plain lines of a pipe, no escape sequence at all.
on_tty "$VT_TMP/dumb.out" TERM=dumb FAKE_SLOW=update-grub FAKE_SLOW_SECONDS=1.2
check "$VT_TMP/dumb.out" 'b"\x1b" not in d' "TERM=dumb: no escape sequences"
check "$VT_TMP/dumb.out" 're.search(rb"\[1/1\] update-grub \.\.\.\r\n\[1/1\] update-grub \(\d+\.\d s\)\r\n", d)' "TERM=dumb: the plain step lines"

# --- A pipe: today's lines, no escape sequence, no tick.
TERM=xterm FAKE_SLOW=update-grub run 0 v_apply
assert_not_contains "$OUT$ERR" $'\e' "no escape sequences in a pipe"
assert_contains "$OUT" "[1/1] update-grub ..."$'\n'"[1/1] update-grub (" "the plain step lines in a pipe"
assert_not_contains "$OUT" "... 1 s" "no tick in a pipe"

# --- --json and -q on a terminal: not a byte of progress, no colour.
on_tty "$VT_TMP/json.out" TERM=xterm FAKE_SLOW=update-grub FAKE_SLOW_SECONDS=1.2 -- --json
assert_eq "$rc" 0 "apply --json under a terminal"
check "$VT_TMP/json.out" 'b"\x1b" not in d and b"update-grub ..." not in d' "--json: no progress, no escapes"
check "$VT_TMP/json.out" 'b"\"schema_version\"" in d' "--json under a terminal: the document"
on_tty "$VT_TMP/quiet.out" TERM=xterm FAKE_SLOW=update-grub FAKE_SLOW_SECONDS=1.2 -- -q
check "$VT_TMP/quiet.out" 'd == b""' "-q: nothing at all"

# --- A failing step on a terminal: its whole output, the failure in colour.
before=$(etc_state "$root")
rm -f "$FAKE_LOG".failed-*
on_tty "$VT_TMP/fail.out" TERM=xterm FAKE_FAIL_ONCE=update-grub FAKE_LINES=200
assert_eq "$rc" 1 "a failing step fails the apply"
check "$VT_TMP/fail.out" 'b"update-grub: output line 1 of 200\r\n" in d and b"update-grub: output line 200 of 200\r\n" in d' \
	"the failed step's first and last lines"
check "$VT_TMP/fail.out" 'all(b"output line %d of 200\r\n" % i in d for i in range(1, 201))' \
	"every line of the failed step"
check "$VT_TMP/fail.out" 'b"\x1b[1;31mfailed\x1b[0m (" in d' "the failed step in red"
check "$VT_TMP/fail.out" 'b"vfiotx: \x1b[1;31merror:\x1b[0m " in d' "the error prefix in red"
assert_eq "$(etc_state "$root")" "$before" "the failed apply left every file as before"

# --- The same in a pipe: the whole output on stderr, no escapes, the plain "failed" line.
fail_once() { rm -f "$FAKE_LOG".failed-*; FAKE_FAIL_ONCE=update-grub "$@"; }
FAKE_LINES=200 fail_once run 1 v_apply
assert_contains "$OUT" "[1/1] update-grub failed ("
assert_contains "$ERR" "vfiotx: the output of update-grub:"
assert_contains "$ERR" "update-grub: output line 1 of 200"$'\n'
assert_contains "$ERR" "update-grub: output line 200 of 200"$'\n'
assert_contains "$ERR" "vfiotx: error: rebuild step 1/1"
assert_not_contains "$OUT$ERR" $'\e' "no escape sequences in a pipe, failure or not"
# -q: the error message (with the end of the output), not the whole output.
FAKE_LINES=200 fail_once run 1 v_apply -q
assert_not_contains "$ERR" "output line 1 of 200"$'\n' "-q: not the whole output"
assert_contains "$ERR" "output line 200 of 200" "-q: the error message ends with the output's end"

# --- An output longer than 64 KiB: its last 64 KiB, from a line's start.
FAKE_LINES=3000 fail_once run 1 v_apply
assert_contains "$ERR" "bytes are not shown]"
assert_not_contains "$ERR" "update-grub: output line 1 of 3000"$'\n' "the start of a long output is left out"
assert_contains "$ERR" "      update-grub: output line 3000 of 3000"$'\n' "its end is shown"
shown=$(grep -c '^      update-grub: output line' <<<"$ERR")
if [ "$shown" -lt 1500 ] || [ "$shown" -gt 2000 ]; then fail "about 64 KiB of lines shown, got $shown lines"; fi
assert_eq "$(etc_state "$root")" "$before" "the failed applies left every file as before"
fsck_ok "$root"

finish
