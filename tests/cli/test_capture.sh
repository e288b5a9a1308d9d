#!/bin/bash
# scripts/capture-host.sh round trip: capturing a fixture host (as if it were the live machine)
# gives a tree on which vfiotx devices prints exactly the same JSON.
set -u
FIX=${VFIOTX_FIXTURES:?}/hosts BIN=${VFIOTX_BIN:?} SRC=${VFIOTX_SRC:?}
fails=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for host in "$FIX"/*/; do
        name=$(basename "$host")
        [ -d "$host/sys/bus/pci" ] || continue
        SYSFS=$host/sys PROCFS=$host/proc ROOTFS=$host/root \
                bash "$SRC/scripts/capture-host.sh" "$TMP/$name" 2>/dev/null ||
                { echo "FAIL: capture of $name" >&2; fails=$((fails + 1)); continue; }
        diff -u <("$BIN" --sysfs "$host/sys" --proc "$host/proc" --json devices) \
                <("$BIN" --sysfs "$TMP/$name/sys" --proc "$TMP/$name/proc" --json devices) ||
                { echo "FAIL: $name differs after capture" >&2; fails=$((fails + 1)); }
        [ -f "$TMP/$name/root/lib/modules/$(ls "$host/root/lib/modules" | head -1)/modules.dep" ] ||
                { echo "FAIL: $name: modules.dep not captured" >&2; fails=$((fails + 1)); }
done
[ $fails -eq 0 ] && echo "test_capture: all passed"
exit $((fails > 0))
