#!/usr/bin/env bash
# The parser, --help, the man page and the bash completion come from one table per command
# (cli/options.h): every option a command's --help lists is accepted by its parser, appears
# in the man page under that command and is offered by the completion; the man page is clean
# roff. Usage: test_options_docs.sh VFIOTX MANPAGE
set -u
BIN=$1 MAN=$2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

command -v groff >/dev/null || { echo "groff missing (apt-get install groff-base)"; exit 1; }
warn=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$MAN" 2>&1)
[ -z "$warn" ] || fail "groff warns about $MAN: $warn"
# (a control byte where an escape was meant, "\f" typed into a printf: groff says nothing)
if LC_ALL=C grep -n '[[:cntrl:]]' "$MAN" | grep -v $'^[0-9]*:.*\t' | grep -q .; then
	fail "control bytes in $MAN: $(LC_ALL=C grep -n '[[:cntrl:]]' "$MAN" | head -3 | cat -A)"
fi
page=$(LC_ALL=C.UTF-8 MANWIDTH=200 groff -man -Tutf8 -rLL=200n "$MAN" 2>/dev/null | col -bx)
comp=$("$BIN" completion bash) || fail "completion bash"
bash -n <(echo "$comp") || fail "the completion script is not valid bash"

# What the completion offers for a command line (words..., the last one being completed).
complete_words() {
	bash -c 'eval "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vfiotx
		printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" vfiotx "$@"
}

global_help=$("$BIN" --help)
commands=$("$BIN" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF>1 {print $1}')
[ "$(echo "$commands" | wc -l)" -ge 12 ] || fail "too few commands in --help: $commands"
for c in $commands; do
	help=$("$BIN" "$c" --help) || fail "$c --help exits non-zero"
	echo "$page" | grep -qE "^ +$c( |$)" || fail "the man page has no entry for $c"
	echo "$(complete_words "${c:0:2}")" | grep -qx "$c" || fail "completion does not offer $c"
	offered=$(complete_words "$c" -)
	# the command's own block of the man page: from its entry (indented 7) to the next one or
	# the next section
	block=$(echo "$page" | awk -v c="$c" '/^[A-Z]/ { on = 0 } /^       [a-z]/ { on = $1 == c; if (on) next } on')
	for opt in $(echo "$help" | grep -oE '^ +(-[a-z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+$'); do
		[ "$opt" = --help ] && continue
		echo "$offered" | grep -qx -- "$opt" || fail "completion of $c lacks $opt"
		# the man page lists it in the command's own block
		echo "$block" | grep -q -- "$opt" || fail "man page: $c lacks $opt"
		# the parser knows it: a bad value or a missing one is a usage error, never "unknown"
		err=$("$BIN" --root /nonexistent "$c" "$opt" </dev/null 2>&1 >/dev/null)
		case $err in *"unknown option"*) fail "$c: the parser refuses $opt, which --help lists" ;; esac
	done
	# and the other way round: every option the man page names under the command is in its
	# --help (or is a global option)
	for opt in $(echo "$block" | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		echo "$help" | grep -q -- "$opt\b" || echo "$global_help" | grep -q -- "$opt\b" ||
			fail "man page: $c names $opt, which its --help does not list"
	done
	"$BIN" "$c" --no-such-option >/dev/null 2>&1
	[ $? -eq 2 ] || fail "$c accepts an unknown option"
done
# values the table lists are completed
complete_words apply --method a | grep -qx alias || fail "completion of --method values"
# global options after the command
"$BIN" --help | grep -q -- "--rebuild-timeout" || fail "--help lacks --rebuild-timeout"
echo "$page" | grep -q -- "--rebuild-timeout SEC" || fail "man page lacks --rebuild-timeout SEC"
[ $fails -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "ok: $(echo "$commands" | wc -l) commands: --help, parser, man page and completion agree"
