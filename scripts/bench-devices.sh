#!/bin/bash
# Time `vfiotx devices` against `lspci -knn` on the same sysfs tree.
#
#   scripts/bench-devices.sh [-b VFIOTX] [-n RUNS] [HOST_DIR]
#
# HOST_DIR is a fixture host (with sys/ and proc/; default: the intel-igpu-desktop fixture) or
# "/" for the live machine. Use a build without sanitizers for meaningful numbers. Prints the
# mean wall time per run of each command and the ratio.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bin=$src/build/vfiotx runs=200
while getopts "b:n:" o; do
        case $o in
        b) bin=$OPTARG ;;
        n) runs=$OPTARG ;;
        *) exit 2 ;;
        esac
done
shift $((OPTIND - 1))
host=${1:-$src/tests/fixtures/hosts/intel-igpu-desktop}
if [ "$host" = / ]; then
        sys=/sys proc=/proc
else
        sys=$host/sys proc=$host/proc
fi
vfiotx=("$bin" --sysfs "$sys" --proc "$proc" devices)
lspci=(lspci -A linux-sysfs -O "sysfs.path=$sys/bus/pci" -knn)

"${vfiotx[@]}" >/dev/null
"${lspci[@]}" >/dev/null 2>&1

mean_us() { # command... -> mean microseconds per run
        local start end i
        start=$(date +%s%N)
        for ((i = 0; i < runs; i++)); do
                "$@" >/dev/null 2>&1
        done
        end=$(date +%s%N)
        echo $(((end - start) / runs / 1000))
}
v=$(mean_us "${vfiotx[@]}")
l=$(mean_us "${lspci[@]}")
devices=$(ls "$sys/bus/pci/devices" | wc -l)
printf 'tree: %s (%d PCI devices), %d runs each\n' "$sys" "$devices" "$runs"
printf '  vfiotx devices : %6d us/run  (libpci scan + names + host facts + verdicts)\n' "$v"
printf '  lspci -knn     : %6d us/run\n' "$l"
awk -v v="$v" -v l="$l" 'BEGIN { printf "  ratio          : %.2fx lspci\n", v / l }'
