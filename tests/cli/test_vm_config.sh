#!/usr/bin/env bash
# vm-config on the fixture hosts, its output held to the format each target documents:
# Proxmox's qm line to the hostpci[n] property string of qemu-server (PVE/QemuServer/PCI.pm:
# HOSTPCIID, pcie, x-vga, rombar, romfile), libvirt's <hostdev> elements inside a minimal
# domain to libvirt's own schema (virt-xml-validate, Debian's libvirt-clients), QEMU's
# arguments split as a shell does and offered to qemu-system-x86_64 itself (the property names
# of -device vfio-pci,help, and a q35 machine that must get as far as vfio-pci's realize, which
# finds no such host device: every property, bus and address accepted before it). --json gives the same data, valid against
# docs/schemas/vm-config.schema.json. An empty profile is an error naming the command that adds
# devices.
. "$(dirname "$0")/lib.sh"

: "${VFIOTX_SRC:?set by ctest}"
SCHEMAS="$VFIOTX_SRC/docs/schemas"
PY=/usr/bin/python3

command -v virt-xml-validate >/dev/null ||
	{ echo "virt-xml-validate missing (apt-get install libvirt-clients; scripts/install-deps.sh)"; exit 1; }
QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || echo "note: qemu-system-x86_64 not installed: the QEMU oracle is skipped"

# json_doc RC ARGS...: vfiotx --json, one valid vm-config document in $OUT.
json_doc() {
	local want=$1
	shift
	run "$want" "$VFIOTX_BIN" --json "$@"
	printf '%s' "$OUT" >"$VT_TMP/doc.json"
	"$PY" "$VFIOTX_SRC/tests/cli/json_validate.py" "$SCHEMAS" "$VT_TMP/doc.json" vm-config \
		2>"$VT_TMP/verr" || fail "vfiotx --json $*: $(cat "$VT_TMP/verr")"
}

# The lines that are not comments (shell '#' or XML '<!-- -->').
config_lines() { grep -v -e '^#' -e '^<!--' <<<"$1" || true; }

# check_proxmox TEXT: every line is "qm set VMID -hostpciN VALUE" with VALUE a hostpci property
# string as qemu-server parses it.
check_proxmox() {
	"$PY" - "$1" <<-'EOF' || fail "proxmox syntax: $1"
		import re, sys
		# PVE/QemuServer/PCI.pm: $PCIRE and the keys of $hostpci_fmt (host is the default key)
		pcire = r"(?:[a-f0-9]{4}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\.[a-f0-9])?"
		booleans = {"pcie", "x-vga", "rombar", "legacy-igd"}
		ok = True
		lines = [l for l in sys.argv[1].splitlines() if l and not l.startswith("#")]
		for line in lines:
		    m = re.fullmatch(r"qm set (\d+|<vmid>) -hostpci(\d+) (\S+)", line)
		    if not m:
		        print("not a qm set -hostpciN line: %r" % line, file=sys.stderr); ok = False; continue
		    parts = m.group(3).split(",")
		    host = parts[0][5:] if parts[0].startswith("host=") else parts[0]
		    if not re.fullmatch(pcire + "(;" + pcire + ")*", host):
		        print("bad HOSTPCIID %r" % host, file=sys.stderr); ok = False
		    for kv in parts[1:]:
		        k, _, v = kv.partition("=")
		        if k in booleans:
		            ok &= v in ("0", "1", "on", "off", "yes", "no")
		        elif k == "romfile":
		            ok &= bool(re.fullmatch(r"[^,;]+", v))
		        else:
		            print("unknown hostpci key %r" % k, file=sys.stderr); ok = False
		sys.exit(0 if ok and lines else 1)
	EOF
}

# check_libvirt TEXT: inside <devices> of a minimal q35 domain, valid for libvirt's schema.
check_libvirt() {
	{
		echo "<domain type='kvm'><name>vfiotx-test</name><memory unit='MiB'>1024</memory>"
		echo "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
		printf '%s\n' "$1"
		echo "</devices></domain>"
	} >"$VT_TMP/domain.xml"
	virt-xml-validate "$VT_TMP/domain.xml" domain >"$VT_TMP/xmlv" 2>&1 ||
		fail "virt-xml-validate: $(cat "$VT_TMP/xmlv")"$'\n'"$(cat "$VT_TMP/domain.xml")"
}

# libvirt_sources TEXT: the host addresses of the <hostdev> elements, one "D:B:S.F" a line.
libvirt_sources() {
	"$PY" -c '
import sys, xml.etree.ElementTree as ET
root = ET.fromstring("<devices>" + sys.argv[1] + "</devices>")
for h in root.findall("hostdev"):
    assert h.get("mode") == "subsystem" and h.get("type") == "pci" and h.get("managed") == "yes"
    a = h.find("source/address")
    print("%04x:%02x:%02x.%x" % tuple(int(a.get(k), 16) for k in ("domain", "bus", "slot", "function")))
' "$1"
}

# qemu_args TEXT: the arguments as a shell would split them (comments dropped), one a line.
qemu_args() {
	"$PY" -c '
import shlex, sys
text = "\n".join(l for l in sys.argv[1].splitlines() if not l.startswith("#"))
# a backslash-newline joins lines, as in a shell
for a in shlex.split(text.replace("\\\n", " "), comments=True):
    print(a)' "$1"
}

# check_qemu TEXT: -device pairs whose properties QEMU knows, and a q35 machine that accepts them
# up to the missing host device.
check_qemu() {
	local args props
	mapfile -t args < <(qemu_args "$1")
	[ ${#args[@]} -gt 0 ] && [ $((${#args[@]} % 2)) -eq 0 ] || fail "qemu: not -device pairs: ${args[*]}"
	for ((i = 0; i < ${#args[@]}; i += 2)); do
		assert_eq "${args[i]}" -device "qemu: argument $i"
	done
	[ -n "$QEMU" ] || return 0
	for driver in vfio-pci pcie-root-port; do
		props=$("$QEMU" -device "$driver,help" 2>&1) || fail "qemu: -device $driver,help"
		for ((i = 1; i < ${#args[@]}; i += 2)); do
			[[ ${args[i]} == "$driver,"* ]] || continue
			IFS=, read -ra kv <<<"${args[i]#"$driver",}"
			for p in "${kv[@]}"; do
				# id and bus are -device's own, not the driver's
				case ${p%%=*} in id | bus) continue ;; esac
				grep -qE "^  ${p%%=*}=" <<<"$props" || fail "qemu: $driver has no property ${p%%=*}"
			done
		done
	done
	local err
	err=$(timeout 60 "$QEMU" -machine q35 -accel tcg -S -display none -nodefaults -monitor none \
		-serial none "${args[@]}" 2>&1 </dev/null) || true
	# vfio-pci's realize is the first to object (the host device is missing, or is this
	# machine's and not vfio's), never the parser
	assert_contains "$err" ": vfio " "qemu accepts the arguments up to the host device"
	assert_not_contains "$err" "Property '" "qemu: an unknown property"
	assert_not_contains "$err" "Bus '" "qemu: an unknown bus"
	assert_not_contains "$err" "Parameter '" "qemu: a bad value"
}

# --- No devices: an error that names the command adding them.
use_host amd-desktop
root=$(mkhost amd-desktop)
v() { vt --root "$root" --sysfs "$SYS" --proc "$PROC" "$@"; }
run 1 v vm-config --for proxmox
assert_contains "$ERR" "no devices"
assert_contains "$ERR" "vfiotx apply --device"
assert_eq "$OUT" "" "nothing on stdout"
json_doc 1 --root "$root" --sysfs "$SYS" --proc "$PROC" vm-config --for libvirt
assert_contains "$OUT" '"code":"ENOENT"'
# usage errors
run 2 v vm-config
assert_contains "$ERR" "missing --for"
run 2 v vm-config --for vmware
run 2 v vm-config --for proxmox --vmid abc
run 2 v vm-config --for qemu --vmid 100
run 2 v vm-config --for qemu extra

# --- amd-desktop: the RX 5700 XT (Navi 10, reset bug, the only display: --force) and its
# HDMI audio, one slot.
run 0 v apply -y --no-rebuild --force --device 0000:0b:00.0 --device 0000:0b:00.1
before=$(etc_state "$root")
run 0 v vm-config --for proxmox --vmid 100
check_proxmox "$OUT"
assert_eq "$(config_lines "$OUT")" "qm set 100 -hostpci0 0000:0b:00,pcie=1,x-vga=1" "proxmox: all functions, primary GPU"
assert_contains "$OUT" "# 0000:0b:00.0 amd-reset-bug:"
assert_contains "$OUT" "vendor-reset"
assert_contains "$OUT" "qm set 100 -machine q35"
run 0 v vm-config --for proxmox
assert_eq "$(config_lines "$OUT")" "qm set <vmid> -hostpci0 0000:0b:00,pcie=1,x-vga=1" "proxmox: the <vmid> placeholder"
check_proxmox "$OUT"
json_doc 0 --root "$root" --sysfs "$SYS" --proc "$PROC" vm-config --for proxmox --vmid 100
"$PY" -c '
import json, sys
d = json.load(sys.stdin)
e, = d["entries"]
assert d["target"] == "proxmox" and d["vmid"] == 100 and d["kernel"] == "6.8.12-4-pve", d
assert e["host"] == "0000:0b:00" and e["all_functions"] and e["primary_gpu"], e
assert e["functions"] == ["0000:0b:00.0", "0000:0b:00.1"], e
assert e["argv"] == ["qm", "set", "100", "-hostpci0", "0000:0b:00,pcie=1,x-vga=1"], e
assert e["config"] == " ".join(e["argv"])
assert [a["code"] for a in e["advice"]] == ["amd-reset-bug"], e
assert "vendor-reset" in e["advice"][0]["evidence"]
' <<<"$OUT" || fail "proxmox JSON: $OUT"

run 0 v vm-config --for libvirt
check_libvirt "$OUT"
assert_eq "$(libvirt_sources "$(config_lines "$OUT")")" $'0000:0b:00.0\n0000:0b:00.1' "libvirt: a hostdev per function"
assert_contains "$OUT" "<!-- 0000:0b:00.0 amd-reset-bug:"
assert_contains "$OUT" "multifunction='on'" "libvirt: how to keep the functions in one guest slot"
json_doc 0 --root "$root" --sysfs "$SYS" --proc "$PROC" vm-config --for libvirt
"$PY" -c '
import json, sys
d = json.load(sys.stdin); e, = d["entries"]
assert d["vmid"] is None and e["argv"] == [] and e["config"].count("<hostdev ") == 2, d
' <<<"$OUT" || fail "libvirt JSON: $OUT"

run 0 v vm-config --for qemu
text=$OUT
check_qemu "$text"
assert_eq "$(qemu_args "$text" | tr '\n' ' ')" \
	"-device pcie-root-port,id=vfiotx-rp0,chassis=100 -device vfio-pci,host=0000:0b:00.0,bus=vfiotx-rp0,addr=00.0,multifunction=on,x-vga=on -device vfio-pci,host=0000:0b:00.1,bus=vfiotx-rp0,addr=00.1 " \
	"qemu: one root port, the functions at its slot 0"
assert_contains "$text" "-machine q35"
json_doc 0 --root "$root" --sysfs "$SYS" --proc "$PROC" vm-config --for qemu
assert_eq "$("$PY" -c 'import json,sys; print(" ".join(a for e in json.load(sys.stdin)["entries"] for a in e["argv"]))' <<<"$OUT")" \
	"$(qemu_args "$text" | paste -sd' ')" "qemu: --json gives the same arguments"
assert_eq "$(etc_state "$root")" "$before" "vm-config writes nothing"

# Part of the slot: the function by its address, no shorthand, no multifunction.
root=$(mkhost amd-desktop)
run 0 v apply -y --no-rebuild --force --device 0000:0b:00.0
run 0 v vm-config --for proxmox --vmid 101
check_proxmox "$OUT"
assert_eq "$(config_lines "$OUT")" "qm set 101 -hostpci0 0000:0b:00.0,pcie=1,x-vga=1"
run 0 v vm-config --for qemu
check_qemu "$OUT"
assert_not_contains "$OUT" "multifunction=on"

# --- intel-igpu-desktop: the iGPU (Coffee Lake: GVT-g) and the boot GPU, a GTX 1050 Ti with
# its audio (NVIDIA boot VGA: a ROM file, x-vga).
use_host intel-igpu-desktop
root=$(mkhost intel-igpu-desktop)
run 0 v apply -y --no-rebuild --force --device 0000:00:02.0 --device 0000:01:00.0 --device 0000:01:00.1
run 0 v vm-config --for proxmox --vmid 100
check_proxmox "$OUT"
assert_eq "$(config_lines "$OUT")" $'qm set 100 -hostpci0 0000:00:02.0,pcie=1\nqm set 100 -hostpci1 0000:01:00,pcie=1,x-vga=1' \
	"proxmox: the iGPU by address (no VGA class: no x-vga), the boot GPU by slot with x-vga"
assert_contains "$OUT" "# 0000:00:02.0 intel-gvt-g:"
assert_contains "$OUT" "# 0000:01:00.0 nvidia-boot-vga:"
assert_contains "$OUT" ",romfile=FILE to hostpci1"
run 0 v vm-config --for libvirt
check_libvirt "$OUT"
assert_contains "$OUT" "<rom file="
assert_eq "$(libvirt_sources "$(config_lines "$OUT" | grep -v '^  <!--')")" $'0000:00:02.0\n0000:01:00.0\n0000:01:00.1'
run 0 v vm-config --for qemu
check_qemu "$OUT"
assert_contains "$OUT" "host=0000:01:00.0,bus=vfiotx-rp1,addr=00.0,multifunction=on,x-vga=on"
assert_contains "$OUT" "romfile=/path/to/dump.rom"
json_doc 0 --root "$root" --sysfs "$SYS" --proc "$PROC" vm-config --for qemu
"$PY" -c '
import json, sys
d = json.load(sys.stdin); a, b = d["entries"]
assert not a["primary_gpu"] and b["primary_gpu"] and b["needs_rom"] and not a["needs_rom"], d
assert [x["code"] for x in a["advice"]] == ["intel-gvt-g"], a
' <<<"$OUT" || fail "intel JSON: $OUT"

# --- dual-gpu: two identical GTX 1080 (override method): x-vga on the first only, a root port
# each.
use_host dual-gpu
root=$(mkhost dual-gpu)
run 0 v apply -y --no-rebuild --force --method override --device 0000:0a:00.0 --device 0000:0a:00.1 \
	--device 0000:0b:00.0 --device 0000:0b:00.1
run 0 v vm-config --for proxmox --vmid 100
check_proxmox "$OUT"
assert_eq "$(config_lines "$OUT")" $'qm set 100 -hostpci0 0000:0a:00,pcie=1,x-vga=1\nqm set 100 -hostpci1 0000:0b:00,pcie=1'
run 0 v vm-config --for libvirt
check_libvirt "$OUT"
run 0 v vm-config --for qemu
check_qemu "$OUT"
assert_contains "$OUT" "pcie-root-port,id=vfiotx-rp1,chassis=101"

# --- server-shared-nic: the Tesla T4 shares group 30 with the NIC that stays on the host.
# pcie_acs_override only on request, with the isolation warning; this Debian kernel has no patch.
use_host server-shared-nic
root=$(mkhost server-shared-nic)
run 0 v apply -y --no-rebuild --force --device 0000:04:00.0
run 0 v vm-config --for proxmox
check_proxmox "$OUT"
assert_contains "$OUT" "0000:04:00.0 group-shared: IOMMU group 30 also holds 0000:05:00.0, 0000:05:00.1:"
assert_not_contains "$OUT" "pcie_acs_override"
assert_not_contains "$OUT" "x-vga" "a 3D controller is no VGA"
run 0 v vm-config --for proxmox --acs-override
assert_contains "$OUT" "acs-override-unpatched:"
assert_contains "$OUT" "pcie_acs_override=downstream,multifunction"
assert_contains "$OUT" "NOT be isolated"
run 0 v vm-config --for libvirt --acs-override
check_libvirt "$OUT"

finish
