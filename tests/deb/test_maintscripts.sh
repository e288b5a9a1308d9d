#!/usr/bin/env bash
# The package's maintainer scripts (debian/prerm, postrm, postinst) without installing anything:
# sh -n on each; prerm against a fake `vfiotx status --json` (the real output's shape, as
# vfiotx 0.1.0 prints it) for every trial state, a failing status, no state file,
# VFIOTX_FORCE_REMOVE=1 and an upgrade; postrm purge against a directory standing for /.
# Usage: test_maintscripts.sh SOURCE_DIR
set -euo pipefail
src="${1:?usage: $0 SOURCE_DIR}"
deb="$src/debian"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

for s in postinst prerm postrm; do
	if sh -n "$deb/$s"; then ok "sh -n $s"; else bad "sh -n $s"; fi
	if command -v dash >/dev/null && ! dash -n "$deb/$s"; then bad "dash -n $s"; fi
done

# A fake vfiotx: `status --json` prints $tmp/status.json, or fails when $tmp/fail exists.
cat >"$tmp/vfiotx" <<FAKE
#!/bin/sh
[ "\$*" = "status --json" ] || { echo "fake vfiotx: unexpected arguments: \$*" >&2; exit 2; }
if [ -e "$tmp/fail" ]; then echo "vfiotx: error: cannot read the state file" >&2; exit 1; fi
cat "$tmp/status.json"
FAKE
chmod +x "$tmp/vfiotx"
touch "$tmp/state"

status_json()
{
	# $1: the trial state, or "" for no trial object
	{
		printf '{\n  "schema_version":1,\n  "command":"status",\n  "ok":true,\n  "outcome":"attention",\n'
		printf '  "state":"%s",\n  "applied":{\n    "id":7,\n    "kind":"apply"\n  },\n' "${1:-good}"
		printf '  "good":{\n    "id":6,\n    "kind":"confirm"\n  },\n'
		if [ -n "$1" ]; then
			printf '  "trial":{\n    "state":"%s",\n    "transaction":7,\n    "tries":2,\n    "reason":null\n  },\n' "$1"
		else
			printf '  "trial":null,\n'
		fi
		printf '  "pending_rebuild":false,\n  "drift":[\n  ],\n  "devices":[\n  ],\n  "method":"ids"\n}\n'
	} >"$tmp/status.json"
}

# prerm ACTION -> exit status, stderr in $tmp/err
prerm()
{
	local rc=0
	VFIOTX_PRERM_BIN="$tmp/vfiotx" VFIOTX_PRERM_STATE="$tmp/state" sh "$deb/prerm" "$@" \
		>/dev/null 2>"$tmp/err" || rc=$?
	return $rc
}

expect_remove()
{
	# $1: allowed|refused, $2: what
	local got=refused
	if prerm remove; then got=allowed; fi
	if [ "$got" = "$1" ]; then
		ok "remove $2: $got"
	else
		bad "remove $2: $got, expected $1: $(cat "$tmp/err")"
	fi
}

status_json ""
expect_remove allowed "without a trial"
for t in armed trying marked-bad; do
	status_json "$t"
	expect_remove refused "with a trial $t"
	grep -q "transaction 7" "$tmp/err" || bad "remove with a trial $t: the message names no transaction"
	grep -q "vfiotx rollback -y" "$tmp/err" || bad "remove with a trial $t: the message says nothing of vfiotx rollback"
	if VFIOTX_FORCE_REMOVE=1 prerm remove; then ok "remove with a trial $t, forced: allowed"; else bad "forced remove refused"; fi
	if prerm upgrade 0.1.1; then ok "upgrade with a trial $t: allowed"; else bad "upgrade with a trial $t refused"; fi
done
status_json rolled-back
expect_remove allowed "after a rolled-back trial"
# A "trial" word inside a string (the drift list, a reason) is not the trial object.
status_json ""
sed -i 's|"drift":""|"drift":"\\/etc\\/x \\"trial\\":{\\"state\\":\\"armed\\"}"|' "$tmp/status.json"
expect_remove allowed "with \"trial\" inside a string"
touch "$tmp/fail"
expect_remove refused "when vfiotx status fails"
rm "$tmp/fail"
rm "$tmp/state"
status_json armed
expect_remove allowed "without a state file (vfiotx never changed the host)"

# postrm purge: vfiotx's own data goes, the host's configuration stays.
r="$tmp/root"
mkdir -p "$r/var/lib/vfiotx/journal.git" "$r/boot/vfiotx" "$r/etc/vfiotx" "$r/etc/modprobe.d" \
	"$r/boot/grub"
touch "$r/var/lib/vfiotx/state" "$r/boot/vfiotx/entry.cfg" "$r/etc/vfiotx/vfiotx.conf" \
	"$r/etc/modprobe.d/vfiotx.conf" "$r/etc/modules" "$r/boot/grub/grubenv"
VFIOTX_POSTRM_ROOT="$r" sh "$deb/postrm" remove
if [ -e "$r/var/lib/vfiotx/state" ] && [ -e "$r/boot/vfiotx/entry.cfg" ] &&
	[ -e "$r/etc/vfiotx/vfiotx.conf" ]; then
	ok "postrm remove keeps the journal, the last good entry and the profile"
else
	bad "postrm remove deleted vfiotx's data"
fi
VFIOTX_POSTRM_ROOT="$r" sh "$deb/postrm" purge
if [ ! -e "$r/var/lib/vfiotx" ] && [ ! -e "$r/boot/vfiotx" ] && [ ! -e "$r/etc/vfiotx" ]; then
	ok "postrm purge removes /var/lib/vfiotx, /boot/vfiotx, /etc/vfiotx"
else
	bad "postrm purge left vfiotx's data"
fi
if [ -e "$r/etc/modprobe.d/vfiotx.conf" ] && [ -e "$r/etc/modules" ] && [ -e "$r/boot/grub/grubenv" ]; then
	ok "postrm purge keeps the host's configuration"
else
	bad "postrm purge removed the host's configuration"
fi

[ "$fails" = 0 ] || {
	echo "$fails failure(s)"
	exit 1
}
echo "all passed"
