#!/usr/bin/env bash
# Benchmark of the flush that makes /boot readable by GRUB after vfiotx writes there
# (fs/boot_flush.h, docs/bootcount.md): syncfs, ext4's journal checkpoint and, for comparison,
# a freeze and thaw, with 0, 16 and 128 MiB of dirty data, and how long a concurrent writer on
# the same file system is held. Prints figures; asserts nothing. Needs root.
# Usage: scripts/bench-boot-flush.sh [BUILD_DIR] [DIR ON THE FILE SYSTEM TO MEASURE] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -x "$build/tests/bench_boot_flush" ] || { cmake -S . -B "$build" >/dev/null && cmake --build "$build" -j"$(nproc)" --target bench_boot_flush >/dev/null; }
dir=$(mktemp -d "${2:-/var/tmp}/vfiotx-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "file system: $(stat -f -c %T "$dir") on $(findmnt -n -o SOURCE --target "$dir"), kernel $(uname -r)"
"$build/tests/bench_boot_flush" "$dir" "${3:-5}"
