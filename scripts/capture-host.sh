#!/bin/bash
# Capture this machine's PCI view as a vfiotx fixture tree, for bug reports:
#
#   scripts/capture-host.sh OUT            (run as root for full config space; any user works)
#   vfiotx --sysfs OUT/sys --proc OUT/proc --root OUT/root devices
#
# OUT/sys   PCI device directories nested as in /sys/devices (the attributes vfiotx and lspci
#           read, the first 256 bytes of config space), bus/pci/devices links, driver and
#           iommu_group links, block and net class devices with their dev/device/slaves/brif
#           links, class/iommu units, the names of the ACPI tables (not their contents);
# OUT/proc  cpuinfo, cmdline, self/mountinfo, net/route, net/ipv6_route, interrupts, osrelease;
# OUT/root  boot/config-* and lib/modules/*/modules.{dep,builtin}.
#
# Nothing else is copied: no MAC addresses, serial numbers or file contents. Read the tree
# before attaching it anyway. Every link is relative, so the tree can be moved and archived.
set -euo pipefail

SYS=${SYSFS:-/sys} PROC=${PROCFS:-/proc} ROOT=${ROOTFS:-}
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUT=$1
[ -e "$OUT" ] && { echo "$0: $OUT exists; give a new directory" >&2; exit 1; }
mkdir -p "$OUT/sys" "$OUT/proc" "$OUT/root"
OUT=$(cd "$OUT" && pwd)

# Map a real /sys path into the tree.
mirror() { printf '%s/sys%s' "$OUT" "${1#"$SYS"}"; }
# A relative symlink at $1 (tree path) to $2 (tree path).
rel_link() {
        mkdir -p "$(dirname "$1")" "$2"
        ln -sfn "$(realpath -m --relative-to="$(dirname "$1")" "$2")" "$1"
}
copy_attrs() { # real-dir tree-dir attr...
        local src=$1 dst=$2 a
        shift 2
        mkdir -p "$dst"
        for a in "$@"; do
                [ -f "$src/$a" ] && [ -r "$src/$a" ] && cat "$src/$a" >"$dst/$a" 2>/dev/null || true
        done
}

for link in "$SYS"/bus/pci/devices/*; do
        bdf=$(basename "$link")
        real=$(realpath "$link")
        dst=$(mirror "$real")
        copy_attrs "$real" "$dst" vendor device subsystem_vendor subsystem_device class revision \
                modalias irq enable numa_node local_cpulist boot_vga reset_method uevent
        head -c 256 "$real/config" >"$dst/config" 2>/dev/null || true
        rel_link "$OUT/sys/bus/pci/devices/$bdf" "$dst"
        if [ -L "$real/driver" ]; then
                drv=$(basename "$(readlink "$real/driver")")
                rel_link "$dst/driver" "$OUT/sys/bus/pci/drivers/$drv"
                rel_link "$OUT/sys/bus/pci/drivers/$drv/$bdf" "$dst"
                # the driver's module (bochs-drm is module bochs): absent when built in
                if [ -L "$SYS/bus/pci/drivers/$drv/module" ]; then
                        mod=$(basename "$(readlink "$SYS/bus/pci/drivers/$drv/module")")
                        rel_link "$OUT/sys/bus/pci/drivers/$drv/module" "$OUT/sys/module/$mod"
                fi
        fi
        if [ -L "$real/iommu_group" ]; then
                g=$(basename "$(readlink "$real/iommu_group")")
                rel_link "$dst/iommu_group" "$OUT/sys/kernel/iommu_groups/$g"
                rel_link "$OUT/sys/kernel/iommu_groups/$g/devices/$bdf" "$dst"
        fi
done

for link in "$SYS"/class/block/*; do
        [ -e "$link" ] || continue
        real=$(realpath "$link")
        dst=$(mirror "$real")
        copy_attrs "$real" "$dst" dev partition
        [ -f "$real/dm/name" ] && copy_attrs "$real/dm" "$dst/dm" name
        rel_link "$OUT/sys/class/block/$(basename "$link")" "$dst"
        [ -f "$real/dev" ] && rel_link "$OUT/sys/dev/block/$(cat "$real/dev")" "$dst"
done
for link in "$SYS"/class/block/*; do
        real=$(realpath "$link")
        for s in "$real"/slaves/*; do
                [ -e "$s" ] && rel_link "$(mirror "$real")/slaves/$(basename "$s")" "$(mirror "$(realpath "$s")")"
        done
done

for link in "$SYS"/class/net/*; do
        [ -e "$link" ] || continue
        real=$(realpath "$link")
        dst=$(mirror "$real")
        mkdir -p "$dst"
        rel_link "$OUT/sys/class/net/$(basename "$link")" "$dst"
        [ -L "$real/device" ] && rel_link "$dst/device" "$(mirror "$(realpath "$real/device")")"
done
for link in "$SYS"/class/net/*; do
        real=$(realpath "$link")
        for l in "$real"/lower_* "$real"/brif/*; do
                [ -e "$l" ] || continue
                name=${l#"$real"/}
                rel_link "$(mirror "$real")/$name" "$(mirror "$(realpath "$l")")"
        done
done

for link in "$SYS"/class/iommu/*; do
        [ -e "$link" ] || continue
        real=$(realpath "$link")
        dst=$(mirror "$real")
        mkdir -p "$dst"
        for sub in intel-iommu amd-iommu; do
                [ -d "$real/$sub" ] && copy_attrs "$real/$sub" "$dst/$sub" cap ecap version features
        done
        rel_link "$OUT/sys/class/iommu/$(basename "$link")" "$dst"
done
mkdir -p "$OUT/sys/kernel/iommu_groups" "$OUT/sys/firmware/acpi/tables"
for t in "$SYS"/firmware/acpi/tables/*; do
        [ -f "$t" ] && printf '%s' "$(basename "$t")" >"$OUT/sys/firmware/acpi/tables/$(basename "$t")"
done

mkdir -p "$OUT/proc/self" "$OUT/proc/net" "$OUT/proc/sys/kernel"
for f in cpuinfo cmdline interrupts self/mountinfo net/route net/ipv6_route sys/kernel/osrelease; do
        [ -r "$PROC/$f" ] && cat "$PROC/$f" >"$OUT/proc/$f" || true
done

for c in "$ROOT"/boot/config-*; do
        [ -f "$c" ] && install -D -m 644 "$c" "$OUT/root/boot/$(basename "$c")"
done
for m in "$ROOT"/lib/modules/*/; do
        kver=$(basename "$m")
        for f in modules.dep modules.builtin; do
                [ -f "$m/$f" ] && install -D -m 644 "$m/$f" "$OUT/root/lib/modules/$kver/$f"
        done
done
echo "captured $(ls "$OUT/sys/bus/pci/devices" | wc -l) PCI devices into $OUT" >&2
