#!/usr/bin/env bash
# export writes a snapshot as a tar archive (owners, modes, xattrs, manifest.json) that tar itself
# lists and extracts; import applies one as a transaction and refuses anything else, writing
# nothing.
. "$(dirname "$0")/lib.sh"

root=$(mkroot)
m="$root/etc/modules"
chown 1234:5678 "$m"
chmod 0640 "$m"
setfattr -n user.vfiotx-test -v hello "$m"
before=$(fingerprint "$m")

# No journal yet: nothing to export. Usage errors exit 2.
run 1 vt --root "$root" export -o "$VT_TMP/none.tar"
assert_contains "$ERR" "nothing to export"
[ ! -e "$VT_TMP/none.tar" ] || fail "a failed export leaves no file"
run 2 vt --root "$root" export
assert_contains "$ERR" "missing -o FILE"

run 0 vt --root "$root" apply -y --no-rebuild
applied=$(fingerprint "$m")
run 0 vt --root "$root" export -o "$VT_TMP/applied.tar.zst"
assert_contains "$OUT" "exported transaction 2"

# The oracle: GNU tar lists the members with their owners and modes, and extracts the bytes
# and xattrs.
listing=$(tar --xattrs -tvf "$VT_TMP/applied.tar.zst")
assert_contains "$listing" "manifest.json"
assert_contains "$(echo "$listing" | grep ' files/etc/modules$')" "-rw-r-----* 1234/5678" \
	"tar lists owner, mode and the xattr mark"
mkdir "$VT_TMP/x"
tar --xattrs --xattrs-include='*' -xpf "$VT_TMP/applied.tar.zst" -C "$VT_TMP/x"
cmp -s "$VT_TMP/x/files/etc/modules" "$m" || fail "tar extracts the exact bytes"
assert_eq "$(getfattr --absolute-names --only-values -n user.vfiotx-test "$VT_TMP/x/files/etc/modules")" "hello" \
	"tar extracts the xattr"
assert_contains "$(cat "$VT_TMP/x/manifest.json")" '"uid": 1234'

# Round trip: change the file by hand, import restores bytes, mode, owner and xattrs.
echo "nouveau" >>"$m"
chmod 0600 "$m"
chown 0:0 "$m"
setfattr -x user.vfiotx-test "$m"
n=$(txn_count "$root")
run 1 vt --root "$root" import "$VT_TMP/applied.tar.zst" </dev/null
assert_contains "$ERR" "no confirmation"
run 0 vt --root "$root" import -y "$VT_TMP/applied.tar.zst"
assert_contains "$OUT" "imported as transaction"
assert_eq "$(fingerprint "$m")" "$applied" "import restores bytes, mode, owner and xattrs"
assert_eq "$(txn_count "$root")" $((n + 2)) "drift entry, then the import"
run 0 vt --root "$root" log -n 1
assert_contains "$OUT" "import"
run 0 vt --root "$root" import -y "$VT_TMP/applied.tar.zst"
assert_contains "$OUT" "nothing to do"

# Export of a given transaction (the baseline) brings back the state before vfiotx.
run 0 vt --root "$root" export 1 -o "$VT_TMP/base.tar"
run 0 vt --root "$root" import -y "$VT_TMP/base.tar"
assert_eq "$(fingerprint "$m")" "$before" "baseline restored"
fsck_ok "$root"

# Bad archives: a clear error, exit 1, nothing written, no transaction.
good=$(fingerprint "$m")
n=$(txn_count "$root")
bad() { # bad NAME EXPECTED-TEXT: import $VT_TMP/NAME and check it is refused
	run 1 vt --root "$root" import -y "$VT_TMP/$1"
	assert_contains "$ERR" "$2" "$1 refused"
	assert_eq "$(fingerprint "$m")" "$good" "$1: nothing written"
	assert_eq "$(txn_count "$root")" "$n" "$1: no transaction"
}
echo "not an archive" >"$VT_TMP/text.tar"
bad text.tar "refused"

mk() { # mk NAME: tar of $VT_TMP/evil (manifest.json + files/) as NAME
	tar --format=pax -cf "$VT_TMP/$1" -C "$VT_TMP/evil" .
}
rm -rf "$VT_TMP/evil" && mkdir -p "$VT_TMP/evil/files/etc"
cp "$VT_TMP/x/manifest.json" "$VT_TMP/evil/"
ln -s /etc/shadow "$VT_TMP/evil/files/etc/modules"
tar --format=pax -cf "$VT_TMP/link.tar" -C "$VT_TMP/evil" manifest.json files/etc/modules
bad link.tar "links are not imported"

rm -rf "$VT_TMP/evil" && mkdir -p "$VT_TMP/evil/files/etc/modprobe.d"
cp "$VT_TMP/x/manifest.json" "$VT_TMP/evil/"
mknod "$VT_TMP/evil/files/etc/modprobe.d/mem.conf" c 1 1
tar --format=pax -cf "$VT_TMP/dev.tar" -C "$VT_TMP/evil" manifest.json files/etc/modprobe.d/mem.conf
bad dev.tar "not a regular file"

rm -rf "$VT_TMP/evil" && mkdir -p "$VT_TMP/evil/files/etc"
cp "$VT_TMP/x/manifest.json" "$VT_TMP/evil/"
echo "root::0:0::/root:/bin/sh" >"$VT_TMP/evil/files/etc/passwd"
tar --format=pax -cf "$VT_TMP/passwd.tar" -C "$VT_TMP/evil" manifest.json files/etc/passwd
bad passwd.tar "not a clean path of a file vfiotx manages"
tar --format=pax -cf "$VT_TMP/dotdot.tar" -C "$VT_TMP/evil" manifest.json \
	--transform 's,^files/etc/passwd,files/etc/modprobe.d/../passwd,' files/etc/passwd
bad dotdot.tar "not a clean path"

rm -rf "$VT_TMP/evil" && mkdir -p "$VT_TMP/evil/files/etc"
cp "$VT_TMP/x/files/etc/modules" "$VT_TMP/evil/files/etc/modules"
tar --format=pax -cf "$VT_TMP/nomanifest.tar" -C "$VT_TMP/evil" files/etc/modules
bad nomanifest.tar "manifest.json: missing"

# A header that disagrees with the manifest (owner changed after export).
cp "$VT_TMP/x/manifest.json" "$VT_TMP/evil/"
tar --format=pax --owner=0 --group=0 -cf "$VT_TMP/owner.tar" -C "$VT_TMP/evil" manifest.json \
	files/etc/modules
bad owner.tar "differ from the manifest"
run 1 vt --root "$root" import -y "$VT_TMP/does-not-exist.tar"
assert_contains "$ERR" "does-not-exist.tar"
fsck_ok "$root"

finish
