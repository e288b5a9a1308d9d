#!/usr/bin/env bash
# log lists transactions newest first with id, time, kind, outcome and summary; -p and show give
# diffs; --json is data.
. "$(dirname "$0")/lib.sh"

root=$(mkroot)
run 0 vt --root "$root" log
assert_contains "$OUT" "no transactions yet"
run 0 vt --root "$root" apply -y --no-rebuild
run 0 vt --root "$root" rollback -y
run 0 vt --root "$root" log
assert_eq "$(echo "$OUT" | wc -l)" 3 "three entries"
assert_eq "$(echo "$OUT" | awk '{print $1}' | tr '\n' ' ')" "3 2 1 " "newest first"
assert_contains "$(echo "$OUT" | sed -n 2p)" "apply      applied   ensure the vfio modules"
echo "$OUT" | sed -n 1p | grep -Eq '^3 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}  rollback' || fail "time and kind columns"

run 0 vt --root "$root" log -n 1
assert_eq "$(echo "$OUT" | wc -l)" 1 "-n 1"
run 0 vt --root "$root" log -p -n 2
assert_contains "$OUT" "-vfio_pci"
assert_contains "$OUT" "+vfio_pci"
run 0 vt --root "$root" show 2
assert_contains "$OUT" "+vfio_iommu_type1"
assert_contains "$OUT" "command: $VFIOTX_BIN --root $root apply -y --no-rebuild"
commit=$(git -C "$root/var/lib/vfiotx/journal.git" rev-parse refs/heads/journal~1)
run 0 vt --root "$root" show "${commit:0:8}"
assert_contains "$OUT" "+vfio_iommu_type1" "show by commit prefix"
run 0 vt --root "$root" --json log -p
python3 -c '
import json, sys
d = json.load(sys.stdin)["transactions"]
assert [e["id"] for e in d] == [3, 2, 1], d
assert d[1]["kind"] == "apply" and d[1]["outcome"] == "applied"
assert "+vfio_pci" in d[1]["diff"]
' <<<"$OUT" || fail "log --json"
# the completion offers the transaction numbers of this host's journal
comp=$(vt completion bash)
offered=$(bash -c 'eval "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vfiotx
	printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$VFIOTX_BIN" --root "$root" rollback "" | sort -n | tr '\n' ' ')
assert_eq "$offered" "1 2 3 " "completion of rollback's TXN"
run 2 vt --root "$root" log -n x
run 2 vt --root "$root" show
run 1 vt --root "$root" show 42
assert_contains "$ERR" "no transaction 42"
for c in log show apply plan rollback status confirm; do
	run 0 vt "$c" --help
	assert_contains "$OUT" "Usage: vfiotx" "$c --help"
done
finish
