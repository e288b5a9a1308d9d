#!/bin/bash
# vfiotx check: the verdict and findings on every fixture host, and on variants of them.
set -u
BIN=${VFIOTX_BIN:?} FIX=${VFIOTX_FIXTURES:?}/hosts
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

run() { # host-dir [proc-dir] -> JSON on stdout, exit code of vfiotx
        "$BIN" --root "$1/root" --sysfs "$1/sys" --proc "${2:-$1/proc}" --json check
}
status() { # json-file id [kernel] -> statuses, space separated
        jq -r --arg id "$2" --arg k "${3:-}" '[.findings[] | select(.id == $id and
                ($k == "" or .kernel == $k)) | .status] | join(" ")' "$1"
}
expect_rc() { # host expected-rc
        run "$FIX/$1" >"$TMP/$1.json"
        local rc=$?
        [ $rc -eq "$2" ] || fail "$1: check exit $rc, expected $2"
        jq -e ".ready == $([ "$2" -eq 0 ] && echo true || echo false)" "$TMP/$1.json" >/dev/null ||
                fail "$1: JSON ready disagrees with the exit code"
}
expect() { # host id expected-statuses [kernel]
        local got
        got=$(status "$TMP/$1.json" "$2" "${4:-}")
        [ "$got" = "$3" ] || fail "$1 $2 ${4:-}: '$got', expected '$3'"
}

expect_rc intel-igpu-desktop 0
expect intel-igpu-desktop cpu-virt ok
expect intel-igpu-desktop acpi-table ok
expect intel-igpu-desktop iommu-active ok
expect intel-igpu-desktop irq-remap ok
expect intel-igpu-desktop kernel-params ok
expect intel-igpu-desktop vfio-modules "ok ok"
expect_rc amd-desktop 0
expect amd-desktop kernel-params ok
expect amd-desktop vfio-modules ok
expect_rc dual-gpu 0
expect dual-gpu vfio-modules ok
jq -e '.findings[] | select(.id == "vfio-modules") | .message | test("built in")' \
        "$TMP/dual-gpu.json" >/dev/null || fail "dual-gpu: vfio-pci built in not reported"
expect_rc server-shared-nic 0
expect_rc iommu-off 1
expect iommu-off iommu-active fail
expect iommu-off kernel-params fail 5.4.0-200-generic
expect iommu-off irq-remap warn
jq -e '.findings[] | select(.id == "iommu-active") | .advice | test("intel_iommu=on")' \
        "$TMP/iommu-off.json" >/dev/null || fail "iommu-off: advice lacks intel_iommu=on"

variant() { # host: copy its proc to $TMP/proc
        rm -rf "$TMP/proc"
        cp -a "$FIX/$1/proc" "$TMP/proc"
}
# Debian's INTGPU_OFF kernels without intel_iommu=on: ready, but the iGPU is named as left out.
variant intel-igpu-desktop
echo "BOOT_IMAGE=/vmlinuz-6.1.0-26-amd64 root=UUID=x ro quiet" >"$TMP/proc/cmdline"
run "$FIX/intel-igpu-desktop" "$TMP/proc" >"$TMP/v.json" || fail "INTGPU_OFF variant not ready"
[ "$(status "$TMP/v.json" kernel-params)" = "warn warn" ] || fail "INTGPU_OFF: expected two warnings"
jq -e '[.findings[] | select(.id == "kernel-params") | .message | test("0000:00:02.0")] | all' \
        "$TMP/v.json" >/dev/null || fail "INTGPU_OFF: iGPU not named"
# intel_iommu=off on the command line.
echo "root=/dev/sda2 ro intel_iommu=off" >"$TMP/proc/cmdline"
run "$FIX/intel-igpu-desktop" "$TMP/proc" >"$TMP/v.json" && fail "intel_iommu=off is ready"
[ "$(status "$TMP/v.json" kernel-params)" = "fail" ] || fail "intel_iommu=off not a failure"
# Virtualization disabled in the firmware.
variant amd-desktop
sed -i 's/ svm / /' "$TMP/proc/cpuinfo"
run "$FIX/amd-desktop" "$TMP/proc" >"$TMP/v.json" && fail "no svm is ready"
[ "$(status "$TMP/v.json" cpu-virt)" = "fail" ] || fail "no svm: cpu-virt not failed"
# No interrupt remapping: a warning, still ready.
variant server-shared-nic
sed -i 's/IR-//g' "$TMP/proc/interrupts"
run "$FIX/server-shared-nic" "$TMP/proc" >"$TMP/v.json" || fail "no IR: not ready"
[ "$(status "$TMP/v.json" irq-remap)" = "warn" ] || fail "no IR: not a warning"
# A kernel without vfio modules.
rm -rf "$TMP/root"
cp -a "$FIX/amd-desktop/root" "$TMP/root"
sed -i '/vfio/d' "$TMP/root/lib/modules/6.8.12-4-pve/modules.dep"
"$BIN" --root "$TMP/root" --sysfs "$FIX/amd-desktop/sys" --proc "$FIX/amd-desktop/proc" --json \
        check >"$TMP/v.json" && fail "kernel without vfio is ready"
jq -e '.findings[] | select(.id == "vfio-modules") | .status == "fail" and (.message | test("vfio_pci"))' \
        "$TMP/v.json" >/dev/null || fail "missing vfio modules not reported"

# The human output says the verdict and the advice.
out=$("$BIN" --root "$FIX/iommu-off/root" --sysfs "$FIX/iommu-off/sys" --proc "$FIX/iommu-off/proc" check)
grep -q "^\[FAIL\] iommu-active" <<<"$out" || fail "human output lacks the failed finding"
grep -q "Not ready" <<<"$out" || fail "human output lacks the verdict"
# --- boot-counter: whether apply can arm a trial (a warning, never a failure of readiness).
expect intel-igpu-desktop boot-counter warn
jq -e '.findings[] | select(.id == "boot-counter") | .message | test("GRUB")' \
        "$TMP/intel-igpu-desktop.json" >/dev/null || fail "boot-counter: the reason (no GRUB) not said"
rm -rf "$TMP/root" && cp -a "$FIX/intel-igpu-desktop/root" "$TMP/root"
mkdir -p "$TMP/root/etc/grub.d" "$TMP/root/boot/grub" "$TMP/root/usr/sbin"
cp "${VFIOTX_SRC:?}/scripts/grub.d/42_vfiotx" "$TMP/root/etc/grub.d/"
bash "$VFIOTX_SRC/tests/cli/trial-units.sh" "$TMP/root" enable
touch "$TMP/root/usr/sbin/update-grub" "$TMP/root/boot/grub/grub.cfg"
grub-editenv "$TMP/root/boot/grub/grubenv" create
"$BIN" --root "$TMP/root" --sysfs "$FIX/intel-igpu-desktop/sys" --proc "$FIX/intel-igpu-desktop/proc" \
        --json check >"$TMP/bc.json" || fail "a GRUB host is not ready"
# the fixture's mountinfo puts / on ext4; this test's own file system does the (dry-run) flush
if [ "$(id -u)" = 0 ]; then
        [ "$(status "$TMP/bc.json" boot-counter)" = ok ] || fail "boot-counter on a GRUB host: $(jq -c '.findings[] | select(.id == "boot-counter")' "$TMP/bc.json")"
        jq -e '.findings[] | select(.id == "boot-counter") | .message | test("grubenv on [a-z0-9]+, put in place for GRUB")' \
                "$TMP/bc.json" >/dev/null || fail "boot-counter: no file system and method"
fi
# a 2 KiB grubenv is not GRUB's block
truncate -s 2048 "$TMP/root/boot/grub/grubenv"
"$BIN" --root "$TMP/root" --sysfs "$FIX/intel-igpu-desktop/sys" --proc "$FIX/intel-igpu-desktop/proc" \
        --json check >"$TMP/bc.json" || fail "a host with a bad grubenv is not ready"
[ "$(status "$TMP/bc.json" boot-counter)" = warn ] || fail "boot-counter: a 2 KiB grubenv is not a warning"

# --- firmware: the boot path, UEFI or BIOS, Secure Boot and what it means on that path.
fw() { jq -r '.findings[] | select(.id == "firmware") | .status + " " + .message' "$1"; }
case "$(fw "$TMP/bc.json")" in
"ok boot path grub-bios, firmware BIOS") ;;
*) fail "firmware on a BIOS GRUB host: $(fw "$TMP/bc.json")" ;;
esac
grub-editenv "$TMP/root/boot/grub/grubenv" create
cp -a "$FIX/intel-igpu-desktop/sys" "$TMP/sys"
mkdir -p "$TMP/sys/firmware/efi/efivars" "$TMP/root/boot/efi/EFI/debian"
touch "$TMP/root/boot/efi/EFI/debian/grub.cfg"
efivar() { # name-guid byte...: an efivarfs file (attributes NV|BS|RT, then the value)
        local f="$TMP/sys/firmware/efi/efivars/$1"
        shift
        printf '\x07\x00\x00\x00' >"$f"
        for b; do printf "\\x$b" >>"$f"; done
}
efivar SecureBoot-8be4df61-93ca-11d2-aa0d-e98c4e8f40f4 01
efivar SetupMode-8be4df61-93ca-11d2-aa0d-e98c4e8f40f4 00
"$BIN" --root "$TMP/root" --sysfs "$TMP/sys" --proc "$FIX/intel-igpu-desktop/proc" \
        --json check >"$TMP/sb.json"
case "$(fw "$TMP/sb.json")" in
"ok boot path grub-efi, firmware UEFI; Secure Boot is on: shim verifies GRUB"*) ;;
*) fail "firmware with Secure Boot on: $(fw "$TMP/sb.json")" ;;
esac
"$BIN" --root "$TMP/root" --sysfs "$TMP/sys" --proc "$FIX/intel-igpu-desktop/proc" \
        --json status >"$TMP/st.json" || fail "status on a UEFI GRUB host"
jq -e '.boot_counter | .boot_path == "grub-efi" and .firmware == "uefi" and
        .secure_boot == "on" and (.secure_boot_note | test("byte copies"))' "$TMP/st.json" >/dev/null ||
        fail "status JSON: boot path and Secure Boot: $(jq -c .boot_counter "$TMP/st.json")"
python3 "$VFIOTX_SRC/tests/cli/json_validate.py" "$VFIOTX_SRC/docs/schemas" "$TMP/st.json" status ||
        fail "status JSON against its schema"
"$BIN" --root "$TMP/root" --sysfs "$TMP/sys" --proc "$FIX/intel-igpu-desktop/proc" status \
        >"$TMP/st.txt" || fail "status (text) on a UEFI GRUB host"
grep -qx "boot: grub-efi, UEFI, Secure Boot on" "$TMP/st.txt" || fail "status: no boot line: $(cat "$TMP/st.txt")"
grep -q "^Secure Boot is on: shim verifies GRUB" "$TMP/st.txt" || fail "status: no Secure Boot note"
# Secure Boot off: said, with no note; efivarfs not mounted (no variables): unknown
efivar SecureBoot-8be4df61-93ca-11d2-aa0d-e98c4e8f40f4 00
"$BIN" --root "$TMP/root" --sysfs "$TMP/sys" --proc "$FIX/intel-igpu-desktop/proc" --json check >"$TMP/sb.json"
[ "$(fw "$TMP/sb.json")" = "ok boot path grub-efi, firmware UEFI, Secure Boot off" ] ||
        fail "Secure Boot off: $(fw "$TMP/sb.json")"
# systemd-boot started this boot (LoaderInfo) on a host that still has GRUB's files, as after
# `apt install systemd-boot`: GRUB's counter would never be read, so no trial is armed
efivar LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f $(printf 'systemd-boot 252' | od -An -tx1 | sed 's/\([0-9a-f][0-9a-f]\)/\1 00/g') 00 00
"$BIN" --root "$TMP/root" --sysfs "$TMP/sys" --proc "$FIX/intel-igpu-desktop/proc" --json check >"$TMP/sb.json"
[ "$(status "$TMP/sb.json" boot-counter)" = warn ] || fail "a trial armable under systemd-boot with GRUB's files left"
jq -e '.findings[] | select(.id == "boot-counter") | .message | test("systemd-boot started this boot \\(EFI variable LoaderInfo: systemd-boot 252\\)")' \
        "$TMP/sb.json" >/dev/null || fail "boot-counter: LoaderInfo not said: $(jq -c '.findings[] | select(.id == "boot-counter")' "$TMP/sb.json")"
case "$(fw "$TMP/sb.json")" in
"ok boot path systemd-boot, firmware UEFI"*) ;;
*) fail "boot path under systemd-boot: $(fw "$TMP/sb.json")" ;;
esac
rm -f "$TMP"/sys/firmware/efi/efivars/*
"$BIN" --root "$TMP/root" --sysfs "$TMP/sys" --proc "$FIX/intel-igpu-desktop/proc" --json check >"$TMP/sb.json"
[ "$(fw "$TMP/sb.json")" = "ok boot path grub-efi, firmware UEFI, Secure Boot unknown" ] ||
        fail "no efivarfs: $(fw "$TMP/sb.json")"

"$BIN" check --help | grep -q "Exit status" || fail "check --help"

[ $fails -eq 0 ] && echo "test_check: all passed"
exit $((fails > 0))
