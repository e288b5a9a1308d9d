#!/usr/bin/env bash
# What the vfiotx-rescue initramfs hook adds to the initramfs, compressed as initramfs-tools
# compresses it on Debian 12 (cpio newc sorted, owner 0:0, then `zstd -q -9`: COMPRESS=zstd and
# mkinitramfs's default level). The hook runs with DESTDIR set to an empty directory, the way
# mkinitramfs runs it, and that directory is packed alone: the figure is what the hook adds.
# For comparison, the former hook (`copy_exec vfiotx`, which copies vfiotx's libraries too)
# is measured the same way. copy_exec is initramfs-tools' own (/usr/share/initramfs-tools/
# hook-functions, or $HOOK_FUNCTIONS) when it is there, else a stand-in that does what it does:
# the file, then each library ldd names. Libraries another hook already put in the initramfs
# (libc) would not be added twice, so for a dynamic binary the figure is an upper bound.
#
# With mkinitramfs and an installed kernel (MKINITRAMFS_KVER=<kver>, default: the newest under
# /lib/modules), it also builds the whole initramfs with and without the hook (the hook directory
# swapped in a private mount namespace) and prints the difference of the two files.
#
# Usage: scripts/bench-rescue-size.sh [BUILD_DIR]     prints figures; asserts nothing
# (tests/cli/test_rescue_size.sh holds the goal: at most 1 MiB compressed).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
if [ ! -x "$build/vfiotx-rescue" ]; then
	cmake -S "$src" -B "$build" -DVFIOTX_TESTS=OFF -DVFIOTX_SANITIZE=OFF >/dev/null
	cmake --build "$build" -j"$(nproc)" --target vfiotx vfiotx-rescue >/dev/null
fi
rescue=$(realpath "$build/vfiotx-rescue")
full=$(realpath "$build/vfiotx")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

funcs=${HOOK_FUNCTIONS:-/usr/share/initramfs-tools/hook-functions}
if [ -r "$funcs" ]; then
	funcs_name="initramfs-tools' copy_exec ($funcs)"
else
	funcs=$tmp/hook-functions
	funcs_name="a stand-in for initramfs-tools' copy_exec (the file and the libraries ldd names)"
	cat >"$funcs" <<'FUNCS'
verbose=n
copy_exec() {
	mkdir -p "$DESTDIR$(dirname "$2")" && cp -pL "$1" "$DESTDIR$2"
	for lib in $(env --unset=LD_PRELOAD ldd "$1" 2>/dev/null | sed -e '/\//!d' \
		-e '/=>/ {s/.*=>[[:blank:]]*\([^[:blank:]]*\).*/\1/}' -e 's/[[:blank:]]*\([^[:blank:]]*\) (.*)/\1/'); do
		[ -e "$DESTDIR$lib" ] || { mkdir -p "$DESTDIR$(dirname "$lib")" && cp -pL "$lib" "$DESTDIR$lib"; }
	done
}
FUNCS
fi
export verbose=n

# the hook as cmake --install configures it, naming the binary by VFIOTX_RESCUE_BIN
sed 's|@SBINDIR@|/usr/sbin|g' "$src/scripts/initramfs/hooks/vfiotx-rescue.in" >"$tmp/hook"
printf '#!/bin/sh\n. "$VFIOTX_HOOK_FUNCTIONS"\ncopy_exec "$VFIOTX_RESCUE_BIN" /sbin/vfiotx\n' >"$tmp/old-hook"

pack() { # DIR: the cpio initramfs-tools would write, zstd-compressed, in bytes
	(cd "$1" && find . | LC_ALL=C sort | cpio --quiet -R 0:0 --reproducible -o -H newc | zstd -q -9 | wc -c)
}
measure() { # LABEL HOOK BINARY
	local d=$tmp/dest.$RANDOM files bytes packed
	mkdir -p "$d"
	DESTDIR=$d VFIOTX_HOOK_FUNCTIONS=$funcs VFIOTX_RESCUE_BIN=$3 sh "$2"
	files=$(find "$d" -type f | wc -l)
	bytes=$(find "$d" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	packed=$(pack "$d")
	printf '%-44s %3d file%s %10d bytes  %9d compressed (%.2f MiB)\n' "$1" "$files" \
		"$([ "$files" = 1 ] && echo ' ' || echo s)" "$bytes" "$packed" "$(echo "$packed / 1048576" | bc -l)"
}

echo "what the rescue hook adds to the initramfs (cpio newc, zstd -q -9, as initramfs-tools on Debian 12)"
echo "copy_exec: $funcs_name"
measure "before: vfiotx and its libraries" "$tmp/old-hook" "$full"
measure "now: vfiotx-rescue ($(file -b "$rescue" | grep -o 'static-pie linked\|statically linked\|dynamically linked'))" "$tmp/hook" "$rescue"
strip -o "$tmp/vfiotx-rescue" "$rescue"
measure "now, stripped as the package ships it" "$tmp/hook" "$tmp/vfiotx-rescue"

kver=${MKINITRAMFS_KVER:-$(find /lib/modules -mindepth 1 -maxdepth 1 -printf "%f\n" 2>/dev/null | sort -V | tail -1 || true)}
if command -v mkinitramfs >/dev/null && [ -n "$kver" ] && [ -d /usr/share/initramfs-tools/hooks ]; then
	mkdir -p "$tmp/without" "$tmp/with"
	cp -a /usr/share/initramfs-tools/hooks/. "$tmp/without/"
	rm -f "$tmp/without/vfiotx-rescue"
	cp -a "$tmp/without/." "$tmp/with/"
	sed "s|@SBINDIR@/vfiotx-rescue|$rescue|" "$src/scripts/initramfs/hooks/vfiotx-rescue.in" >"$tmp/with/vfiotx-rescue"
	chmod +x "$tmp/with/vfiotx-rescue"
	for v in without with; do
		unshare -m sh -c 'mount --bind "$1" /usr/share/initramfs-tools/hooks && mkinitramfs -o "$2" "$3"' \
			sh "$tmp/$v" "$tmp/initrd.$v" "$kver"
	done
	a=$(stat -c %s "$tmp/initrd.without") b=$(stat -c %s "$tmp/initrd.with")
	echo "mkinitramfs $kver: without the hook $a bytes, with it $b bytes: +$((b - a)) bytes"
else
	echo "mkinitramfs or an installed kernel is missing here: measured the hook's files alone"
fi
