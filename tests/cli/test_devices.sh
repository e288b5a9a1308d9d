#!/bin/bash
# vfiotx devices against the lspci oracle on every fixture host, then its verdicts, its JSON and
# its errors on damaged trees.
set -u
BIN=${VFIOTX_BIN:?} FIX=${VFIOTX_FIXTURES:?}/hosts
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Render vfiotx's JSON the way `lspci -Dknn` prints a device, so that a plain diff compares
# addresses, class names and codes, vendor/device names and ids, revisions, subsystem ids and
# names, and drivers.
render='.devices[] |
  "\(.bdf) \(.class_name) [\(.class)]: \(.vendor_name) \(.device_name // "Device") [\(.vendor):\(.device)]"
  + (if .revision != "00" then " (rev \(.revision))" else "" end),
  (if .subsystem_vendor != "0000" then
     "\tSubsystem: \(.subsystem_vendor_name) \(.subsystem_name // "Device") [\(.subsystem_vendor):\(.subsystem_device)]"
   else empty end),
  (if .driver then "\tKernel driver in use: \(.driver)" else empty end)'

# A root with no unit enabled: the verdicts must not depend on this machine's SSH server.
mkdir -p "$TMP/noroot"
hosts=0
for host in "$FIX"/*/; do
        name=$(basename "$host")
        [ -d "$host/sys/bus/pci" ] || continue
        hosts=$((hosts + 1))
        lspci -A linux-sysfs -O sysfs.path="$host/sys/bus/pci" -Dknn 2>/dev/null |
                grep -v '^[[:space:]]*Kernel modules:' >"$TMP/$name.lspci"
        if ! "$BIN" --root "$TMP/noroot" --sysfs "$host/sys" --proc "$host/proc" --json devices >"$TMP/$name.json"; then
                fail "$name: vfiotx devices --json failed"
                continue
        fi
        jq -r "$render" "$TMP/$name.json" >"$TMP/$name.vfiotx"
        [ -s "$TMP/$name.lspci" ] || fail "$name: lspci printed nothing"
        diff -u "$TMP/$name.lspci" "$TMP/$name.vfiotx" || fail "$name: devices differs from lspci -knn"
        # The human table lists the same addresses, in the same (sorted) order.
        "$BIN" --sysfs "$host/sys" --proc "$host/proc" devices | awk 'NR > 1 {print $1}' >"$TMP/$name.bdfs"
        awk '/^[0-9a-f]/ {print $1}' "$TMP/$name.lspci" | diff -u - "$TMP/$name.bdfs" ||
                fail "$name: table addresses differ from lspci"
        sort -c "$TMP/$name.bdfs" || fail "$name: table not sorted by BDF"
        # Every device has a verdict and group members are consistent with the groups.
        jq -e '[.devices[] | select(.verdict != "ok" and .verdict != "together" and .verdict != "refused")] | length == 0' \
                "$TMP/$name.json" >/dev/null || fail "$name: a verdict is not ok, together or refused"
done
[ "$hosts" -ge 5 ] || fail "expected at least 5 fixture hosts, found $hosts"

verdict() { # host bdf -> comma list of reason codes, or ok / together
        jq -r --arg b "$2" '.devices[] | select(.bdf == $b) |
                if .verdict != "refused" then .verdict else ([.reasons[].code] | unique | join(",")) end' \
                "$TMP/$1.json"
}
expect() { # host bdf expected
        local got
        got=$(verdict "$1" "$2")
        [ "$got" = "$3" ] || fail "$1 $2: verdict '$got', expected '$3'"
}
expect intel-igpu-desktop 0000:00:02.0 ok
expect intel-igpu-desktop 0000:00:17.0 boot-disk,root-disk
expect intel-igpu-desktop 0000:00:1f.6 default-route,group
expect intel-igpu-desktop 0000:01:00.0 together
expect intel-igpu-desktop 0000:00:01.0 bridge,group
expect amd-desktop 0000:0b:00.0 only-display
expect amd-desktop 0000:0b:00.1 only-display
expect amd-desktop 0000:01:00.0 root-disk
expect amd-desktop 0000:02:00.0 default-route
expect dual-gpu 0000:0b:00.0 together
expect rtx-workstation 0000:01:00.0 together
expect rtx-workstation 0000:01:00.3 together
expect rtx-workstation 0000:00:02.0 ok
expect rtx-workstation 0000:00:1f.3 group
expect dual-gpu 0000:02:00.0 boot-disk
expect server-shared-nic 0000:04:00.0 group
expect server-shared-nic 0000:05:00.0 default-route,group
expect server-shared-nic 0000:07:00.0 ok
expect iommu-off 0000:00:02.0 no-iommu,only-display
expect iommu-off 0000:00:1f.3 no-iommu

# The JSON carries every field of the seed's iGPU.
jq -e '.devices[] | select(.bdf == "0000:00:02.0") |
        .class == "0380" and .vendor == "8086" and .device == "3e92" and
        .subsystem_vendor == "1458" and .subsystem_device == "d000" and .driver == "i915" and
        .modalias == "pci:v00008086d00003E92sv00001458sd0000D000bc03sc80i00" and
        .iommu_group == 2 and .group_members == [] and .revision == "02" and
        .device_name == "CoffeeLake-S GT2 [UHD Graphics 630]"' \
        "$TMP/intel-igpu-desktop.json" >/dev/null || fail "iGPU JSON fields"
jq -e '.devices[] | select(.bdf == "0000:0b:00.0") | .group_members == ["0000:00:03.1", "0000:0b:00.1"]
        and .boot_vga == true and .parent == "0000:00:03.1"' "$TMP/amd-desktop.json" >/dev/null ||
        fail "amd GPU group members"
jq -e '.host.root_disk == [{"bdf": "0000:01:00.0", "via": "/dev/mapper/pve-root"}] and
        .host.default_route[0].via == "vmbr0"' "$TMP/amd-desktop.json" >/dev/null ||
        fail "amd host facts (LVM root, bridge route)"
jq -e '[.devices[] | select(.iommu_group != null)] | length == 0' "$TMP/iommu-off.json" >/dev/null ||
        fail "iommu-off has groups"

# A card's functions are one unit: a GPU with its HDMI audio, USB-C xHCI and UCSI functions
# goes together (--device by slot), and the chipset's functions at 00:1f (one slot on the root
# bus, unrelated devices) do not.
jq -e '.devices[] | select(.bdf == "0000:01:00.2") | .functions == ["0000:01:00.2", "0000:01:00.0",
        "0000:01:00.1", "0000:01:00.3"] and .reasons == []' "$TMP/rtx-workstation.json" >/dev/null ||
        fail "the RTX card's functions are one unit"
jq -e '.devices[] | select(.bdf == "0000:00:1f.3") | .functions == ["0000:00:1f.3"]' \
        "$TMP/rtx-workstation.json" >/dev/null || fail "chipset functions are not a card"
# reset_method: the kernel shows it (5.15+); the UCSI function has none and is flagged, the
# others are not; a host whose sysfs has no reset_method at all (older kernel) flags nothing.
jq -e '[.devices[] | select(.flags | map(.code) | index("no-reset")) | .bdf] ==
        ["0000:00:1f.4", "0000:01:00.3"]' "$TMP/rtx-workstation.json" >/dev/null ||
        fail "no-reset flags: $(jq -c '[.devices[] | select(.flags != []) | .bdf]' "$TMP/rtx-workstation.json")"
jq -e '.devices[] | select(.bdf == "0000:01:00.0") | .reset_method == "bus"' \
        "$TMP/rtx-workstation.json" >/dev/null || fail "reset_method of the RTX"
jq -e '[.devices[] | select(.flags | map(.code) | index("no-reset"))] == []' \
        "$TMP/intel-igpu-desktop.json" >/dev/null || fail "a host without reset_method in sysfs flags devices"
# The quirk table: the RX 5700 XT (Navi 10) has the AMD reset bug, with its evidence.
jq -e '.devices[] | select(.bdf == "0000:0b:00.0") | .flags | map(select(.code == "amd-reset-bug")) |
        length == 1 and (.[0].message | contains("vendor-reset")) and (.[0].evidence | length > 0)' \
        "$TMP/amd-desktop.json" >/dev/null || fail "the Navi 10 is flagged with the AMD reset bug"
jq -e '[.devices[] | select(.flags | map(.code) | index("amd-reset-bug")) | .bdf] == ["0000:0b:00.0"]' \
        "$TMP/amd-desktop.json" >/dev/null || fail "only the AMD GPU has the reset bug flag"

# The headless single-GPU host (amd-desktop, Proxmox: the RX 5700 XT is its only display, the
# default route stays on enp2s0/vmbr0): refused with no remote way in (above), allowed with a
# warning naming it when an SSH server or the web UI is enabled in the root.
for unit in ssh.service pveproxy.service; do
        rm -rf "$TMP/remote"
        mkdir -p "$TMP/remote/lib/systemd/system" "$TMP/remote/etc/systemd/system/multi-user.target.wants"
        : >"$TMP/remote/lib/systemd/system/$unit"
        ln -s "/lib/systemd/system/$unit" "$TMP/remote/etc/systemd/system/multi-user.target.wants/$unit"
        "$BIN" --root "$TMP/remote" --sysfs "$FIX/amd-desktop/sys" --proc "$FIX/amd-desktop/proc" \
                --json devices >"$TMP/remote.json" || fail "devices with $unit enabled"
        jq -e --arg u "$unit" '.devices[] | select(.bdf == "0000:0b:00.0") | .verdict == "together" and
                .reasons == [] and (.warnings[0].message | contains($u + " over vmbr0")) and
                .warnings[0].code == "only-display"' "$TMP/remote.json" >/dev/null ||
                fail "the headless host with $unit: $(jq -c '.devices[] | select(.bdf == "0000:0b:00.0")' "$TMP/remote.json")"
        jq -e --arg u "$unit" '.host.remote_access == $u' "$TMP/remote.json" >/dev/null ||
                fail "host.remote_access names $unit"
done
# A unit that is only installed, or masked, is no way in.
rm "$TMP/remote/etc/systemd/system/multi-user.target.wants/pveproxy.service"
"$BIN" --root "$TMP/remote" --sysfs "$FIX/amd-desktop/sys" --proc "$FIX/amd-desktop/proc" --json devices |
        jq -e '.devices[] | select(.bdf == "0000:0b:00.0") | .verdict == "refused"' >/dev/null ||
        fail "an installed but disabled web UI counts as a way in"

# -v spells out the reasons.
"$BIN" --sysfs "$FIX/intel-igpu-desktop/sys" --proc "$FIX/intel-igpu-desktop/proc" devices -v |
        grep -q "0000:00:17.0 (SATA controller) controls the disk that holds / (/dev/sda2)" ||
        fail "-v message for the root disk"
"$BIN" devices --help | grep -q "Usage:" || fail "devices --help"
"$BIN" devices --bogus 2>/dev/null
[ $? -eq 2 ] || fail "unknown option is not a usage error"

# Damaged trees: a clear error naming the device and what is wrong, exit 1, never a crash.
damage() { # name, then a command run inside the copied sys tree
        local name=$1
        shift
        rm -rf "$TMP/bad"
        cp -a "$FIX/intel-igpu-desktop" "$TMP/bad"
        (cd "$TMP/bad/sys" && "$@")
}
check_error() { # expected-substring
        local out rc
        out=$("$BIN" --sysfs "$TMP/bad/sys" --proc "$TMP/bad/proc" devices 2>&1 >/dev/null)
        rc=$?
        [ $rc -eq 1 ] || fail "damaged tree ($1): exit $rc, expected 1"
        grep -q -- "$1" <<<"$out" || fail "damaged tree: '$out' lacks '$1'"
        grep -qi "sanitizer\|runtime error" <<<"$out" && fail "damaged tree ($1): sanitizer report"
}
damage missing-class rm devices/pci0000:00/0000:00:02.0/class
check_error "0000:00:02.0 has no 'class' attribute"
damage garbage-vendor sh -c 'echo zzzz > devices/pci0000:00/0000:00:17.0/vendor'
check_error "0000:00:17.0: 'vendor' is not a valid vendor value"
damage broken-device-link sh -c 'rm -rf devices/pci0000:00/0000:00:01.0/0000:01:00.1'
check_error "0000:01:00.1: .* is a broken link"
damage broken-group-link rm -rf kernel/iommu_groups/5
check_error "0000:00:17.0: the 'iommu_group' link"
damage broken-driver-link rm -rf bus/pci/drivers/i915
check_error "0000:00:02.0: the 'driver' link"
damage no-mountinfo rm ../proc/self/mountinfo
check_error "mountinfo"
out=$("$BIN" --sysfs "$TMP/nonexistent" devices 2>&1)
[ $? -eq 1 ] && grep -q "cannot list PCI devices" <<<"$out" || fail "missing sysfs: $out"

# the completion of --device offers this host's addresses, from `devices` on the trees named
comp=$("$BIN" completion bash)
offered=$(bash -c 'eval "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vfiotx
	printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$BIN" --sysfs "$FIX/intel-igpu-desktop/sys" \
	--proc "$FIX/intel-igpu-desktop/proc" apply --device 0000:00:1f | tr '\n' ' ')
[ "$offered" = "0000:00:1f.0 0000:00:1f.3 0000:00:1f.4 0000:00:1f.6 " ] || fail "completion of --device: [$offered]"

[ $fails -eq 0 ] && echo "test_devices: all passed"
exit $((fails > 0))
