#!/usr/bin/env bash
# The damaged-journal matrix: with one thing damaged (the journal's objects, its refs, HEAD, the
# state file, the plain copy of the good snapshot), each of status, log, apply and rollback, each
# on its own freshly damaged copy, either works from what survives or fails at once with a
# message that names the damage and a way out that works. It never hangs, never crashes, never
# leaves a managed file half-way; a rollback that works leaves the good snapshot's files and a
# journal git fsck accepts.
#
# The commands: status, log, rollback -y, apply -y --no-rebuild (the profile as it is: nothing to
# change) and "change", apply -y --no-rebuild --method blacklist (a transaction that writes).
#
# One line per failing case: FAIL: <setup> <damage> | <command> | rc=<rc> | <what is wrong> |
# <first error line of stderr>. VT_DAMAGE_ONLY=<regex> runs the rows it matches; VT_VERBOSE=1
# prints every case.
. "$(dirname "$0")/lib.sh"

LIMIT=60 # seconds a command may take before it counts as hung (timeout's exit 124)
SLOW=5   # a failure slower than this is reported (NOTE, not FAIL): the journal probe takes 10 s
VTD=var/lib/vfiotx
# The roots live on a tmpfs when there is one: vfiotx and git fsync every write, which makes a
# disk-backed run half as fast again, and durability is not what this test is about.
W=$(mktemp -d -p /dev/shm 2>/dev/null) || W=$(mktemp -d -p "$VT_TMP")
trap 'rm -rf "$VT_TMP" "$W"' EXIT
shopt -s globstar dotglob nullglob

# The managed side of a root into FS: every file under etc/ with its mode, owner and checksum
# (etc_state with fewer processes: this runs several hundred times, and the CI runs it under ASan).
files_state() {
	local f files=() here=$PWD
	for f in "$1"/etc/**; do [ -f "$f" ] && files+=("${f#"$1"/}"); done
	cd "$1" || return
	{ stat -c '%n %a %u %g' "${files[@]}" && sha256sum "${files[@]}"; } >"$VT_TMP/fs" 2>&1 || true
	cd "$here" || return
	IFS= read -r -d '' FS <"$VT_TMP/fs" || true
}

# --- Setups: template roots, built once, copied for each case -------------------------------------

# $W/tpl/<name>/: root/ (the host after the steps), good (files_state of the last good
# snapshot: what rollback must restore), now (files_state of root/), after (files_state after an
# apply that changes something: apply --method blacklist) and the ids of the objects the damage
# rows aim at.
setup() {
	local name=$1 dir="$W/tpl/$1" r j
	shift
	mkdir -p "$dir"
	r="$dir/root"
	cp -a "$VFIOTX_FIXTURES/roots/debian12/." "$r/"
	files_state "$r" && printf %s "$FS" >"$dir/good"
	while [ $# -gt 0 ]; do
		case $1 in
		apply) vt --root "$r" apply -y --no-rebuild >/dev/null 2>&1 || fail "setup $name: apply" ;;
		apply2) vt --root "$r" apply -y --no-rebuild --method alias >/dev/null 2>&1 || fail "setup $name: apply --method alias" ;;
		rollback) vt --root "$r" rollback -y >/dev/null 2>&1 || fail "setup $name: rollback" ;;
		confirm)
			vt --root "$r" confirm >/dev/null 2>&1 || fail "setup $name: confirm"
			files_state "$r" && printf %s "$FS" >"$dir/good"
			;;
		pack-refs) git -C "$r/$VTD/journal.git" pack-refs --all || fail "setup $name: pack-refs" ;;
		esac
		shift
	done
	files_state "$r" && printf %s "$FS" >"$dir/now"
	fsck_ok "$r"
	# what an apply that changes something leaves on an undamaged copy
	cp -a "$r" "$dir/changed"
	vt --root "$dir/changed" apply -y --no-rebuild --method blacklist >/dev/null 2>&1 || fail "setup $name: apply --method blacklist"
	files_state "$dir/changed" && printf %s "$FS" >"$dir/after"
	rm -rf "$dir/changed"
	j="$r/$VTD/journal.git"
	git -C "$j" rev-parse refs/heads/journal >"$dir/head-commit"
	git -C "$j" rev-parse 'refs/heads/journal^{tree}' >"$dir/head-tree"
	git -C "$j" rev-parse 'refs/vfiotx/good:files/etc/modules' >"$dir/good-blob"
	git -C "$j" rev-parse 'refs/heads/journal:files/etc/vfiotx/vfiotx.conf' >"$dir/head-blob"
}

setup s2 apply apply2         # transactions 1 (baseline, good), 2 (apply), 3 (apply --method alias)
setup s3 apply confirm apply2 # good is transaction 3 (the confirmation of 2: its files), head 4
setup s4 apply rollback apply # baseline, apply, rollback to the baseline, apply again
setup s1p apply pack-refs     # transactions 1 and 2, the refs in packed-refs (a user ran git gc)
files_state "$VFIOTX_FIXTURES/roots/debian12"
IFS= read -r -d '' GOOD <"$W/tpl/s2/good" || true
assert_eq "$GOOD" "$FS" "s2's good snapshot is the fixture's files"
IFS= read -r -d '' GOOD <"$W/tpl/s3/good" || true
IFS= read -r -d '' NOW <"$W/tpl/s1p/now" || true
assert_eq "$GOOD" "$NOW" "s3's good snapshot is the confirmed first apply"

# --- Damage --------------------------------------------------------------------------------------

GARBAGE='this is not what vfiotx wrote here '
# spoil HOW FILE...: truncate (to half: libgit2 1.5.1 loops on most such objects), truncate1 (the
# last byte cut: zlib's checksum lost), zero (zero bytes, same size), garbage (text, same size),
# empty, delete.
spoil() {
	local how=$1 f n g
	shift
	for f in "$@"; do
		[ -e "$f" ] || { fail "damage $how: $f does not exist"; continue; }
		[ -w "$f" ] || chmod u+w "$f"
		n=$(stat -c %s "$f")
		case $how in
		truncate) truncate -s $((n / 2)) "$f" ;;
		truncate1) truncate -s $((n - 1)) "$f" ;;
		zero) head -c "$n" /dev/zero >"$f" ;;
		garbage)
			g=$GARBAGE
			while [ ${#g} -lt "$n" ]; do g=$g$g; done
			printf %s "${g:0:$n}" >"$f"
			;;
		empty) : >"$f" ;;
		delete) rm -f "$f" ;;
		*) fail "unknown damage $how" ;;
		esac
	done
}

# damage ROOT TEMPLATE-DIR <thing>:<how>[+nojournal]
damage() {
	local r=$1 t=$2 what=${3%%:*} how=${3#*:} j="$1/$VTD/journal.git" pc="$1/$VTD/good" f id
	local objs=("$j"/objects/??/*)
	how=${how%+nojournal}
	case $what in
	journal.git) rm -rf "$j" ;;
	objects) spoil "$how" "${objs[@]}" ;;
	head-commit | head-tree | good-blob | head-blob)
		read -r id <"$t/$what"
		spoil "$how" "$j/objects/${id:0:2}/${id:2}"
		;;
	ref-journal | ref-good | packed-refs)
		case $what in
		ref-journal) f=$j/refs/heads/journal ;;
		ref-good) f=$j/refs/vfiotx/good ;;
		packed-refs) f=$j/packed-refs ;;
		esac
		case $how in
		missing) echo 0123456789abcdef0123456789abcdef01234567 >"$f" ;;
		missing-journal) # packed-refs: the journal's line names an object that is not there
			sed -i 's|^[0-9a-f]\{40\} refs/heads/journal$|0123456789abcdef0123456789abcdef01234567 refs/heads/journal|' "$f" ;;
		*) spoil "$how" "$f" ;;
		esac
		;;
	HEAD) spoil "$how" "$j/HEAD" ;;
	state)
		case $how in
		types) echo '{"version":1,"phase":"idle","txn":"two","head":2,"good":["x"],"pending_rebuild":"yes"}' >"$r/$VTD/state" ;;
		array) echo '[1, 2, 3]' >"$r/$VTD/state" ;;
		*) spoil "$how" "$r/$VTD/state" ;;
		esac
		;;
	manifest) spoil "$how" "$pc/manifest.json" ;;
	copy-modules) spoil "$how" "$pc/files/etc/modules" ;;
	copy-txn) spoil "$how" "$pc/txn" ;;
	copy-link) rm "$pc" && ln -s good.999 "$pc" ;;
	*) fail "unknown damage $3" ;;
	esac
	# "+nojournal": the journal's objects are lost too, so rollback has only the plain copy
	case $3 in *+nojournal) rm -f "${objs[@]}" ;; esac
}

# --- The matrix ----------------------------------------------------------------------------------

# <setup> <damage>. Objects cut in half make libgit2 1.5.1 loop (the journal probe gives up after
# 10 s, every command): only the row with all of them so; single objects lose their last byte (a
# read error at once). The plain-copy rows run with the journal intact (rollback reads the
# journal, and must leave a copy a later rescue can use) and without its objects (rollback has
# the plain copy alone: a damaged copy must be refused, not restored).
ROWS=(
	"s2 objects:delete" "s4 objects:delete" "s2 journal.git:delete"
	"s2 objects:truncate" "s2 objects:zero" "s2 objects:garbage"
	"s2 head-commit:truncate1" "s2 head-commit:zero" "s2 head-commit:garbage" "s2 head-commit:delete"
	"s2 head-tree:truncate1" "s2 head-tree:zero" "s2 head-tree:garbage"
	"s2 good-blob:truncate1" "s2 good-blob:zero" "s2 good-blob:garbage" "s2 good-blob:delete"
	"s2 head-blob:zero"
	"s2 ref-journal:truncate" "s2 ref-journal:garbage" "s2 ref-journal:zero" "s2 ref-journal:missing"
	"s2 ref-good:truncate" "s2 ref-good:garbage" "s2 ref-good:zero" "s2 ref-good:missing"
	"s1p packed-refs:truncate" "s1p packed-refs:garbage" "s1p packed-refs:zero"
	"s1p packed-refs:missing-journal"
	"s2 HEAD:garbage" "s2 HEAD:empty"
	"s2 state:truncate" "s2 state:garbage" "s2 state:zero" "s2 state:types"
	"s3 manifest:truncate" "s3 manifest:garbage" "s3 copy-modules:truncate" "s3 copy-modules:zero"
	"s3 copy-txn:garbage" "s3 copy-link:dangling"
	"s3 manifest:truncate+nojournal" "s3 manifest:garbage+nojournal"
	"s3 copy-modules:truncate+nojournal" "s3 copy-modules:zero+nojournal"
	"s3 copy-txn:garbage+nojournal" "s3 copy-link:dangling+nojournal"
)
if [ -n "${VT_DAMAGE_ONLY:-}" ]; then
	mapfile -t ROWS < <(printf '%s\n' "${ROWS[@]}" | grep -E -- "$VT_DAMAGE_ONLY")
fi

# vtrun ROOT CMD...: under `timeout`, into RC, ERR and SECS; $r.mark is older than anything the
# command writes.
vtrun() {
	local r=$1 t0=${EPOCHREALTIME/[.,]/}
	shift
	: >"$r.mark"
	RC=0
	timeout "$LIMIT" "$VFIOTX_BIN" --root "$r" "$@" >"$VT_TMP/stdout" 2>"$VT_TMP/stderr" </dev/null || RC=$?
	IFS= read -r -d '' ERR <"$VT_TMP/stderr" || true
	SECS=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000000))
}
# Did the last vtrun write anything in the root? (the lock file only holds the pid)
wrote() {
	find "$1" -newer "$1.mark" ! -name lock -print -quit >"$VT_TMP/wrote"
	[ -s "$VT_TMP/wrote" ]
}

CASE=""
# The first error line of stderr, else its first line.
first_error() {
	local l
	FIRST=${ERR%%$'\n'*}
	while IFS= read -r l; do
		case $l in *"error:"*) FIRST=$l && return ;; esac
	done <<<"$ERR"
}
bad() {
	first_error
	fail "$CASE | rc=$RC | $1 | $FIRST"
}

# Exit code, sanitizer reports, speed: what every run must satisfy.
check_run() {
	case $RC in
	124) bad "hung: killed after $LIMIT s" ;;
	0 | 1) ;;
	*) bad "exit code $RC (a crash, or a usage error)" ;;
	esac
	case $ERR in *"Sanitizer"* | *"runtime error:"*) bad "sanitizer report" ;; esac
	if [ "$RC" = 1 ] && [ "$SECS" -gt "$SLOW" ]; then
		first_error
		echo "NOTE: $CASE | rc=1 after $SECS s, not at once | $FIRST"
	fi
}

check_fsck() {
	local line
	if ! git -C "$1/$VTD/journal.git" fsck --strict --no-dangling >"$VT_TMP/fsck" 2>&1; then
		read -r line <"$VT_TMP/fsck" || true
		bad "git fsck fails after it: $line"
	fi
}

# A rollback that worked: the good snapshot's files, a journal git accepts, a status that works.
check_rolled_back() {
	local r=$1
	files_state "$r"
	if [ -e "$VT_TMP/spoilt" ] && cmp -s "$r/etc/modules" "$VT_TMP/spoilt"; then
		bad "the damaged plain copy of /etc/modules was restored"
	elif [ "$FS" != "$GOOD" ]; then
		bad "the files are not the good snapshot's"
	fi
	check_fsck "$r"
	vtrun "$r" status
	[ "$RC" = 0 ] || bad "status after a rollback that worked fails"
}

# A rollback worked with the journal intact (it checks the good snapshot's ref and plain copy on
# the way): the plain copy it leaves must serve a later rescue.
check_copy_usable() {
	local r=$1 c=$CASE
	CASE="$c, then the journal's objects lost, rollback -y"
	rm -f "$r/$VTD/journal.git"/objects/??/*
	vtrun "$r" rollback -y
	check_run
	if [ "$RC" != 0 ]; then
		bad "a damaged plain copy is kept: a later rescue fails"
	else
		files_state "$r"
		[ "$FS" = "$GOOD" ] || bad "a damaged plain copy is kept: a later rescue restores other files"
	fi
	CASE=$c
}

# A failure names the damage and gives a way out; a way out through rollback must work.
# ROLLBACK_RC is the exit code of `rollback -y` on a fresh copy with the same damage: a command
# that failed without writing anything left the same root, so that result stands for it.
check_failure() {
	local r=$1 what=$2 err=$ERR c=$CASE lacks=""
	case $err in *damaged*) ;; *) lacks+=", 'damaged'" ;; esac
	case $err in *"$what"*) ;; *) lacks+=", '$what'" ;; esac
	case $err in *"hint:"*) ;; *) lacks+=", a hint" ;; esac
	[ -z "$lacks" ] || bad "the message lacks ${lacks#, }"
	case $err in
	*"hint:"*"start a new journal"*)
		# The way out without a usable plain copy: the hint's commands, then an apply that
		# writes must work on a new journal (its baseline: the files as they are).
		local cmd=${err##*aside: } a b
		cmd=${cmd%%$'\n'*}
		while [ -n "$cmd" ]; do
			read -r _ a b <<<"${cmd%% && *}"
			mv "$a" "$b" || bad "the hint's 'mv $a $b' fails"
			[ "$cmd" = "${cmd#* && }" ] && break
			cmd=${cmd#* && }
		done
		CASE="$c, then the hint's commands and an apply"
		vtrun "$r" apply -y --no-rebuild --method blacklist
		check_run
		[ "$RC" = 0 ] || bad "the hint says how to start a new journal, and then apply fails"
		fsck_ok "$r"
		CASE=$c
		return 0
		;;
	*"hint:"*rollback*) ;;
	*) return 0 ;;
	esac
	if ! wrote "$r" && [ -n "$ROLLBACK_RC" ]; then
		[ "$ROLLBACK_RC" = 0 ] || bad "the hint says rollback, and rollback -y fails"
		return 0
	fi
	CASE="$c, then rollback -y"
	vtrun "$r" rollback -y
	check_run
	if [ "$RC" = 0 ]; then
		check_rolled_back "$r"
	else
		bad "the hint of '$c' says rollback, and rollback -y fails"
	fi
	CASE=$c
}

# What the message must name for each kind of damage (and command), into NAME.
name_damage() {
	case $1 in
	*+nojournal) [ "$2" = rollback ] && NAME="plain copy" || NAME="journal" ;;
	state:*) NAME="state file" ;;
	manifest:* | copy-*) NAME="plain copy" ;;
	*) NAME="journal" ;;
	esac
}

T_START=$EPOCHSECONDS
n=0
for row in "${ROWS[@]}"; do
	read -r tpl dmg <<<"$row"
	t="$W/tpl/$tpl"
	ROLLBACK_RC=""
	IFS= read -r -d '' GOOD <"$t/good" || true
	IFS= read -r -d '' NOW <"$t/now" || true
	IFS= read -r -d '' AFTER <"$t/after" || true
	# rollback first: its result also tells whether a hint to run rollback works for the others
	for cmd in rollback status log apply change; do
		CASE="$tpl $dmg | $cmd"
		r="$W/case$((n += 1))"
		cp -a "$t/root" "$r"
		damage "$r" "$t" "$dmg"
		case $dmg in copy-modules:*) cp "$r/$VTD/good/files/etc/modules" "$VT_TMP/spoilt" ;; esac
		case $cmd in
		rollback) vtrun "$r" rollback -y ;;
		apply) vtrun "$r" apply -y --no-rebuild ;;
		change) vtrun "$r" apply -y --no-rebuild --method blacklist ;;
		*) vtrun "$r" "$cmd" ;;
		esac
		check_run
		if [ -n "${VT_VERBOSE:-}" ]; then
			first_error
			echo "case: $CASE | rc=$RC | $FIRST"
		fi
		[ "$cmd" = rollback ] && ROLLBACK_RC=$RC
		case $cmd in
		status | log) if wrote "$r"; then bad "a reading command wrote in the root"; fi ;;
		esac
		case "$RC:$cmd" in
		0:rollback) check_rolled_back "$r" ;;
		0:apply)
			files_state "$r"
			[ "$FS" = "$NOW" ] || bad "apply changed files that already matched the profile"
			;;
		0:change)
			files_state "$r"
			[ "$FS" = "$AFTER" ] || bad "the files are not what the apply writes"
			;;
		1:*)
			files_state "$r"
			[ "$FS" = "$NOW" ] || bad "failed, and changed the files"
			name_damage "$dmg" "$cmd"
			check_failure "$r" "$NAME"
			;;
		esac
		case "$RC:$cmd:$dmg" in
		*+nojournal) ;;
		0:rollback:manifest:* | 0:rollback:copy-*) check_copy_usable "$r" ;;
		esac
	done
	rm -rf "$W"/case* "$VT_TMP/spoilt"
done
echo "${#ROWS[@]} kinds of damage x 5 commands in $((EPOCHSECONDS - T_START)) s"
finish
