#!/usr/bin/env bash
# apply on a sample root adds the vfio modules, keeps the rest of /etc/modules, and a second
# apply writes no transaction; plan writes nothing.
. "$(dirname "$0")/lib.sh"

root=$(mkroot)
before=$(cat "$root/etc/modules")

run 0 vt --root "$root" plan
assert_contains "$OUT" "+vfio_pci" "plan shows the diff"
[ ! -e "$root/var/lib/vfiotx" ] || fail "plan must not create the journal"
assert_eq "$(cat "$root/etc/modules")" "$before" "plan must not write"

run 1 vt --root "$root" apply --no-rebuild </dev/null
assert_contains "$ERR" "pass -y" "apply without -y and no terminal refuses"
assert_eq "$(cat "$root/etc/modules")" "$before" "unconfirmed apply writes nothing"

run 0 vt --root "$root" apply -y --no-rebuild
assert_contains "$OUT" "applied as transaction 2"
{ cat "$VFIOTX_FIXTURES/roots/debian12/etc/modules"; printf 'vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n'; } >"$VT_TMP/expected"
cmp -s "$VT_TMP/expected" "$root/etc/modules" || fail "modules appended and every existing byte kept"
assert_eq "$(txn_count "$root")" 2 "baseline + apply"
fsck_ok "$root"

run 0 vt --root "$root" apply -y --no-rebuild
assert_contains "$OUT" "nothing to do"
assert_eq "$(txn_count "$root")" 2 "second apply writes no transaction"
fsck_ok "$root"

run 0 vt --root "$root" --json status
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"]=="applied" and d["applied"]["id"]==2 and d["good"]["id"]==1 and d["pending_rebuild"], d' <<<"$OUT" ||
	fail "status --json"

# A host whose kernels differ on vfio_virqfd: it is left out, and plan says why.
root2=$(mkroot)
mkdir -p "$root2/lib/modules/6.12.9-amd64"
grep -v virqfd "$root/lib/modules/6.1.0-26-amd64/modules.dep" >"$root2/lib/modules/6.12.9-amd64/modules.dep"
run 0 vt --root "$root2" plan
assert_contains "$OUT" "vfio_virqfd not listed: 1 of 2 kernels"
assert_not_contains "$OUT" "+vfio_virqfd"

# A file with vfio-pci (dash) already listed and no trailing newline: only the others are added.
root3=$(mkroot)
printf 'loop\nvfio-pci' >"$root3/etc/modules"
run 0 vt --root "$root3" apply -y --no-rebuild
assert_eq "$(cat "$root3/etc/modules")" "loop
vfio-pci
vfio
vfio_iommu_type1
vfio_virqfd" "dash and underscore alike; missing newline added before appending"
fsck_ok "$root3"
finish
