#!/bin/bash
# The override method's boot-time part against a fake /sys: the initramfs script binds only the
# configured addresses whose vendor:device still match, logs every skip to the kernel log, and
# the initramfs-tools hook puts the script and the config into the initramfs only when the
# override config exists. Runs the script under dash (what /bin/sh is on Debian) and busybox sh
# when present.
set -euo pipefail

src="${VFIOTX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
script="$src/scripts/initramfs/init-top/vfiotx-override"
hook="$src/scripts/initramfs/hooks/vfiotx.in" # @DATADIR@ is unused: the test names the script
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0

fail()
{
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# mkdev SYSFS BDF VENDOR DEVICE
mkdev()
{
	local d="$1/bus/pci/devices/$2"
	mkdir -p "$d"
	echo "$3" >"$d/vendor"
	echo "$4" >"$d/device"
	echo "(null)" >"$d/driver_override"
}

setup()
{
	local t="$1"
	mkdir -p "$t/bus/pci/drivers/vfio-pci" "$t/bus/pci/drivers/nouveau"
	: >"$t/bus/pci/drivers_probe"
	: >"$t/kmsg"
	mkdev "$t" 0000:00:02.0 0x8086 0x3e92 # the seed's iGPU: bound
	mkdev "$t" 0000:01:00.0 0x10de 0x1b81 # config expects 10de:1b82: a moved card, skipped
	mkdev "$t" 0000:02:00.0 0x10de 0x1b81 # identical card, not configured: untouched
	mkdev "$t" 0000:03:00.0 0x1002 0x67df # already bound to another driver
	mkdir "$t/bus/pci/devices/0000:03:00.0/driver"
	cat >"$t/override.conf" <<'CONF'
# /etc/vfiotx/override.conf: managed by vfiotx; edits are recorded as drift.
# Read by the vfiotx initramfs script.
0000:00:02.0 8086:3e92
0000:01:00.0 10de:1b82
0000:05:00.0 8086:1234
../../../x 8086:3e92
0000:03:00.0 1002:67df
0000:00:02.0 zzzz
CONF
	cat >"$t/modprobe" <<MP
#!/bin/sh
echo "\$*" >>"$t/modprobe.log"
MP
	chmod +x "$t/modprobe"
}

run_script()
{
	local shell="$1" t="$2"
	VFIOTX_SYSFS="$t" VFIOTX_OVERRIDE_CONF="$t/override.conf" VFIOTX_KMSG="$t/kmsg" \
		VFIOTX_MODPROBE="$t/modprobe" "$shell" "$script"
}

check_shell()
{
	local shell="$1" t="$tmp/$2"
	setup "$t"
	run_script "$shell" "$t" || fail "$shell: script exited $?"
	local dev="$t/bus/pci/devices"
	[ "$(cat "$dev/0000:00:02.0/driver_override")" = vfio-pci ] || fail "$shell: 00:02.0 not bound"
	[ "$(cat "$dev/0000:01:00.0/driver_override")" = "(null)" ] ||
		fail "$shell: moved card 01:00.0 was bound"
	[ "$(cat "$dev/0000:02:00.0/driver_override")" = "(null)" ] ||
		fail "$shell: unconfigured 02:00.0 was bound"
	grep -q '^<4>vfiotx-override: 0000:01:00.0 is 10de:1b81, expected 10de:1b82' "$t/kmsg" ||
		fail "$shell: no kernel log line for the mismatch"
	grep -q '0000:05:00.0: no such device' "$t/kmsg" || fail "$shell: missing device not logged"
	grep -q 'malformed PCI address' "$t/kmsg" || fail "$shell: malformed address not logged"
	grep -q '0000:00:02.0: malformed vendor:device' "$t/kmsg" || fail "$shell: bad id not logged"
	grep -q '0000:03:00.0 (1002:67df) already has a driver' "$t/kmsg" ||
		fail "$shell: bound device not logged"
	grep -q '^<6>vfiotx-override: 0000:00:02.0 (8086:3e92) reserved for vfio-pci' "$t/kmsg" ||
		fail "$shell: reservation not logged"
	[ "$(cat "$t/modprobe.log")" = "-q vfio-pci" ] || fail "$shell: vfio-pci not loaded once"
	[ "$(cat "$t/bus/pci/drivers_probe")" = 0000:00:02.0 ] ||
		fail "$shell: drivers_probe got '$(cat "$t/bus/pci/drivers_probe")'"
	[ ! -e "$t/x" ] && [ ! -e "$tmp/x" ] || fail "$shell: wrote outside the device tree"

	# Second run on a host where vfio-pci already has the device: nothing to load.
	ln -s ../../devices/0000:00:02.0 "$t/bus/pci/drivers/vfio-pci/0000:00:02.0"
	mkdir "$dev/0000:00:02.0/driver"
	rm -f "$t/modprobe.log"
	run_script "$shell" "$t" || fail "$shell: second run exited $?"
	[ ! -e "$t/modprobe.log" ] || fail "$shell: modprobe run with nothing reserved"

	# No config (any other method): does nothing at all.
	rm "$t/override.conf"
	: >"$t/kmsg"
	run_script "$shell" "$t" || fail "$shell: no-config run exited $?"
	[ ! -s "$t/kmsg" ] || fail "$shell: logged without a config"
	[ "$("$shell" "$script" prereqs)" = "" ] || fail "$shell: prereqs not empty"
}

check_shell dash dash
if command -v busybox >/dev/null; then
	check_shell "busybox sh" busybox
fi

# The hook, with a fake hook-functions recording manual_add_modules.
h="$tmp/hook"
mkdir -p "$h/dest"
echo 'manual_add_modules() { echo "$*" >>"$DESTDIR/../modules.log"; }' >"$h/hook-functions"
echo "0000:00:02.0 8086:3e92" >"$h/override.conf"
run_hook()
{
	DESTDIR="$h/dest" VFIOTX_HOOK_FUNCTIONS="$h/hook-functions" \
		VFIOTX_OVERRIDE_CONF="$h/override.conf" VFIOTX_OVERRIDE_SCRIPT="$script" dash "$hook"
}
run_hook || fail "hook exited $?"
[ -x "$h/dest/scripts/init-top/00-vfiotx-override" ] || fail "hook: script not installed"
cmp -s "$h/override.conf" "$h/dest/etc/vfiotx/override.conf" || fail "hook: config not copied"
[ "$(cat "$h/modules.log")" = "vfio vfio_iommu_type1 vfio_pci" ] || fail "hook: modules not added"
# Its name must sort before init-top/udev, the order initramfs-tools runs them in.
[ "$(printf 'udev udev\n00-vfiotx-override 00-vfiotx-override\n' | tsort | head -n1)" = \
	00-vfiotx-override ] || fail "hook: script would run after udev"
rm -rf "$h/dest" "$h/modules.log" "$h/override.conf"
mkdir -p "$h/dest"
run_hook || fail "hook without config exited $?"
[ -z "$(ls -A "$h/dest")" ] && [ ! -e "$h/modules.log" ] || fail "hook acted without a config"

if [ "$fails" -gt 0 ]; then
	echo "$fails failure(s)" >&2
	exit 1
fi
echo "override script and hook: ok"
