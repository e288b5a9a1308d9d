#!/usr/bin/env bash
# Benchmark of the journal: time of one `apply --no-rebuild`, of `log` over 1,000 transactions,
# and the journal's size after 1,000 transactions. Prints figures; asserts nothing.
# Usage: scripts/bench-journal.sh [BUILD_DIR] [TRANSACTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
count=${2:-1000}
[ -x "$build/vfiotx" ] || { cmake -S . -B "$build" -DVFIOTX_TESTS=OFF >/dev/null && cmake --build "$build" -j"$(nproc)" >/dev/null; }
bin=$(realpath "$build/vfiotx")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
cp -a tests/fixtures/roots/debian12/. "$root/"

now() { date +%s.%N; }
ms() { printf "%.1f" "$(echo "($2 - $1) * 1000" | bc)"; }

"$bin" --root "$root" apply -y --no-rebuild >/dev/null # baseline + first apply
"$bin" --root "$root" rollback -y >/dev/null
apply_total=0
rollback_total=0
n=2
t_all=$(now)
while [ $n -lt "$count" ]; do
	t0=$(now)
	"$bin" --root "$root" apply -y --no-rebuild >/dev/null
	t1=$(now)
	"$bin" --root "$root" rollback -y >/dev/null
	t2=$(now)
	apply_total=$(echo "$apply_total + $t1 - $t0" | bc)
	rollback_total=$(echo "$rollback_total + $t2 - $t1" | bc)
	n=$((n + 2))
done
t_end=$(now)
pairs=$(((count - 2) / 2))
txns=$(git -C "$root/var/lib/vfiotx/journal.git" rev-list --first-parent --count refs/heads/journal)

t0=$(now)
"$bin" --root "$root" log >/dev/null
t1=$(now)
"$bin" --root "$root" log -n 20 >/dev/null
t2=$(now)
"$bin" --root "$root" log -p >/dev/null
t3=$(now)
t4=$(now)
"$bin" --root "$root" apply -y --no-rebuild >/dev/null
t5=$(now)
"$bin" --root "$root" apply -y --no-rebuild >/dev/null
t6=$(now)

echo "transactions in the journal:           $txns"
echo "apply --no-rebuild, mean:              $(echo "scale=2; $apply_total * 1000 / $pairs" | bc) ms"
echo "rollback, mean:                        $(echo "scale=2; $rollback_total * 1000 / $pairs" | bc) ms"
echo "apply at $txns transactions:            $(ms "$t4" "$t5") ms"
echo "apply with nothing to do:              $(ms "$t5" "$t6") ms"
echo "log over $txns transactions:            $(ms "$t0" "$t1") ms"
echo "log -n 20:                             $(ms "$t1" "$t2") ms"
echo "log -p over $txns transactions:         $(ms "$t2" "$t3") ms"
echo "journal.git size (du):                 $(du -sh "$root/var/lib/vfiotx/journal.git" | cut -f1) ($(find "$root/var/lib/vfiotx/journal.git/objects" -type f | wc -l) loose objects)"
echo "whole /var/lib/vfiotx (du):            $(du -sh "$root/var/lib/vfiotx" | cut -f1)"
echo "wall time for the run:                 $(echo "scale=1; $t_end - $t_all" | bc) s"
