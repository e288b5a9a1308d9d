#!/usr/bin/env bash
# vfiotx try (issue 18, docs/try.md): devices moved to vfio-pci at runtime,
# checked, and given back by a watcher outside the calling shell unless kept. The fixture sysfs
# trees are copied and driven by tests/cli/fake_kernel.py, which makes the bind/unbind/probe
# writes take effect the way the kernel's driver core would. `modprobe` is a fake on PATH: it
# logs its call and, when drivers/vfio-pci is missing, creates it (the emulator picks it up).
# Covered: the move of a whole group and its checks (text and --json), no file under etc/ or
# boot/ changes, the revert at the deadline after the calling shell was killed (a detached
# watcher), --keep, --keep --apply, --revert, confirm, log and plan, the refusals (mounted,
# default-route, console, drm-clients, open-nodes in the group) with nothing written and --force,
# a failed check and a device that will not move reverted at once, a reboot during a try, and a
# kill -9 between any two steps of a move and of a revert (the next command finishes it).
# Faults come from the emulator's options (fake_kernel.py --refuse-vfio/--no-vfio-node/--knock).
. "$(dirname "$0")/lib.sh"

HERE=$(realpath "$(dirname "$0")")
: "${VFIOTX_SRC:=$(realpath "$HERE/../..")}"
SCHEMAS="$VFIOTX_SRC/docs/schemas"
PY=/usr/bin/python3
export VFIOTX_TRY_WATCHER=detached
FK_PID=
TRY_SHELL=
ROOTS=()

# Watchers of a root: processes whose command line holds its path (the fake kernel's too: left out).
watchers_of() {
	local pid
	for pid in $(pgrep -f -- "$1" || true); do
		[ "$pid" = "$FK_PID" ] || [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] || echo "$pid"
	done
}
kill_watchers() {
	local pid
	for pid in $(watchers_of "$1"); do kill -9 "$pid" 2>/dev/null || true; done
}
stop_kernel() {
	if [ -n "$FK_PID" ]; then
		kill "$FK_PID" 2>/dev/null || true
		wait "$FK_PID" 2>/dev/null || true
		FK_PID=
	fi
}
cleanup() {
	local r
	stop_kernel
	[ -z "$TRY_SHELL" ] || kill -9 -- "-$TRY_SHELL" 2>/dev/null || true
	for r in "${ROOTS[@]}"; do kill_watchers "$r"; done
	rm -rf "$VT_TMP"
}
trap cleanup EXIT

# host NAME: a fresh root in $root, the host's sys/ and proc/ copied to $SYS and $PROC (they get
# written), the fake tools and the fake modprobe on PATH. Start the emulator with start_kernel.
host() {
	local name=$1 w
	stop_kernel
	root=$(mkhost "$name")
	ROOTS+=("$root")
	w=$(mktemp -d -p "$VT_TMP")
	cp -a "$VFIOTX_FIXTURES/hosts/$name/sys" "$w/sys"
	cp -a "$VFIOTX_FIXTURES/hosts/$name/proc" "$w/proc"
	mkdir -p "$w/proc/sys/kernel/random"
	echo "6f3c1a52-0c1e-4d6a-9a35-5a1f0e2b7c01" >"$w/proc/sys/kernel/random/boot_id"
	SYS=$w/sys PROC=$w/proc FK_LOG=$w/kernel.log WORK=$w
	: >"$FK_LOG"
	fake_tools "$root"
	cat >"$VT_TMP/bin/modprobe" <<-'EOF'
		#!/bin/sh
		echo "modprobe $*" >>"$FAKE_MODPROBE_LOG"
		d="$FAKE_SYSFS/bus/pci/drivers/vfio-pci"
		case " $* " in
		*" vfio-pci "* | *" vfio_pci "*)
			if [ ! -d "$d" ]; then
				mkdir "$d" && : >"$d/new_id" && : >"$d/bind" && : >"$d/unbind"
			fi ;;
		esac
		exit 0
	EOF
	chmod +x "$VT_TMP/bin/modprobe"
	export FAKE_SYSFS=$SYS FAKE_MODPROBE_LOG=$w/modprobe.log
	: >"$FAKE_MODPROBE_LOG"
}
# start_kernel [FAULT-OPTIONS...]: the emulator on $SYS, ready when its pidfile is there
start_kernel() {
	local i
	stop_kernel
	rm -f "$WORK/fk.pid"
	"$PY" "$HERE/fake_kernel.py" --sysfs "$SYS" --root "$root" --pidfile "$WORK/fk.pid" --log "$FK_LOG" "$@" &
	FK_PID=$!
	for ((i = 0; i < 200; i++)); do
		[ -e "$WORK/fk.pid" ] && return 0
		sleep 0.05
	done
	fail "the fake kernel did not start"
}

v() { vt --root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot "$@"; }
drv() {
	local l="$SYS/bus/pci/devices/$1/driver"
	if [ -L "$l" ]; then basename "$(readlink "$l")"; else echo none; fi
}
drv_is() { [ "$(drv "$1")" = "$2" ]; }
ovr() { cat "$SYS/bus/pci/devices/$1/driver_override" 2>/dev/null || echo "(no file)"; }
# every device's driver and driver_override
drivers_state() {
	local d
	for d in "$SYS"/bus/pci/devices/*; do
		d=${d##*/}
		printf '%s=%s[%s] ' "$d" "$(drv "$d")" "$(ovr "$d")"
	done
}
# what a write to sysfs would change: the driver links, driver_override (content and time), the
# write-only files' times, the links in the drivers' dirs, and the emulator's log of writes
sys_print() {
	(
		cd "$SYS" || exit 1
		find . -name driver -type l | sort | while read -r f; do echo "$f -> $(readlink "$f")"; done
		find . \( -name driver_override -o -name bind -o -name unbind -o -name drivers_probe \) -type f |
			sort | while read -r f; do echo "$f $(stat -c '%s %y' "$f") $(cat "$f")"; done
		find bus/pci/drivers -mindepth 2 -maxdepth 2 -type l -name '0000:*' | sort
	)
	cat "$FK_LOG"
}
# the files a try must not change: etc/ and boot/
files_state() {
	etc_state "$1"
	(cd "$1" && find boot -type f | sort | while read -r f; do printf '%s ' "$f"; fingerprint "$f"; done)
}
# wait_until SECONDS CMD...: poll every 0.1 s
wait_until() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
log_has() { v log 2>&1 | grep -qF -- "$1"; }
is_state() { [ "$(drivers_state)" = "$1" ]; }
validate() { # DOC-TEXT: validate against try.schema.json when it exists
	if [ ! -f "$SCHEMAS/try.schema.json" ]; then
		echo "SKIP: no $SCHEMAS/try.schema.json yet: the try document is not validated against a schema"
		return 0
	fi
	printf '%s' "$1" >"$VT_TMP/doc.json"
	"$PY" "$HERE/json_validate.py" "$SCHEMAS" "$VT_TMP/doc.json" try 2>"$VT_TMP/verr" ||
		fail "the try document does not validate: $(cat "$VT_TMP/verr")"
}
# jq-less JSON checks: jpy DOC PYTHON-EXPRESSION (d is the document); prints the value
jpy() { printf '%s' "$1" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(($2))" 2>&1 || true; }

# ============ the emulator alone: a write takes effect, as the test relies on
host dual-gpu
start_kernel
orig=$(drivers_state)
[ -f "$SYS/bus/pci/drivers_probe" ] || fail "fake kernel: no drivers_probe"
assert_eq "$(ovr 0000:0b:00.1)" "" "fake kernel: an empty driver_override"
echo vfio-pci >"$SYS/bus/pci/devices/0000:0b:00.1/driver_override"
echo 0000:0b:00.1 >"$SYS/bus/pci/drivers/snd_hda_intel/unbind"
wait_until 5 drv_is 0000:0b:00.1 none || fail "fake kernel: unbind"
echo 0000:0b:00.1 >"$SYS/bus/pci/drivers_probe"
wait_until 5 drv_is 0000:0b:00.1 vfio-pci || fail "fake kernel: probe with an override"
[ -e "$root/dev/vfio/6" ] || fail "fake kernel: /dev/vfio/6"
echo >"$SYS/bus/pci/devices/0000:0b:00.1/driver_override"
echo 0000:0b:00.1 >"$SYS/bus/pci/drivers/vfio-pci/unbind"
wait_until 5 drv_is 0000:0b:00.1 none || fail "fake kernel: unbind from vfio-pci"
[ -e "$root/dev/vfio/6" ] && fail "fake kernel: /dev/vfio/6 stays with no member on vfio-pci"
echo 0000:0b:00.1 >"$SYS/bus/pci/drivers_probe"
wait_until 5 is_state "$orig" || fail "fake kernel: probe back to the native driver: $(drivers_state)"

# ============ a whole group moves, is checked, reverts at once on --revert; no file changes
host dual-gpu
start_kernel
gpu=0000:0b:00.0 audio=0000:0b:00.1 bridge=0000:00:03.2
orig=$(drivers_state)
files_before=$(files_state "$root")
run 0 v try --device "$gpu" --timeout 600
assert_eq "$(drv $gpu)" vfio-pci "the named device is on vfio-pci"
assert_eq "$(drv $audio)" vfio-pci "the rest of its group went with it"
assert_eq "$(drv $bridge)" pcieport "the group's bridge stays"
assert_eq "$(drv 0000:0a:00.0)" nvidia "the other card stays"
assert_eq "$(ovr $gpu)" vfio-pci "driver_override is set while the try holds"
[ -e "$root/dev/vfio/6" ] || fail "/dev/vfio/6 exists at once"
for c in on-vfio group-viable host-devices open-devices; do
	assert_contains "$OUT$ERR" "$c" "the try reports its check $c"
done
[ -f "$root/var/lib/vfiotx/try.json" ] || fail "try.json records the try in progress"
run 1 v try --device "$gpu"
assert_contains "$OUT$ERR" "a try is in progress" "a second try is an error"
run 0 v plan --device 0000:0b:00
assert_contains "$OUT$ERR" "a live try" "plan notes the live try"
assert_contains "$OUT$ERR" "passed its checks: on-vfio, group-viable, host-devices, open-devices"
run 0 v log
assert_contains "$OUT" "try: $gpu" "log shows the try"
assert_contains "$OUT" "on vfio-pci until"
run 0 v try --revert
assert_eq "$(drivers_state)" "$orig" "--revert gives every device back at once, driver_override cleared"
[ -e "$root/dev/vfio/6" ] && fail "/dev/vfio/6 is gone after the revert"
run 0 v log
assert_contains "$OUT" "revert: $gpu" "log shows the revert"
assert_contains "$OUT" "back on nvidia"
assert_contains "$OUT" "(asked" "the revert's reason: asked"
run 0 v try --revert
assert_contains "$OUT$ERR" "no try in progress" "no try in progress: --revert has nothing to give back (and says so)"
run 1 v try --keep
assert_contains "$OUT$ERR" "no try is in progress" "no try in progress: --keep is an error (what was to be kept is gone)"
run 1 v try --keep
assert_eq "$(files_state "$root")" "$files_before" "a try changes no file under etc/ or boot/"
# --json, validated, with its devices and checks
run 0 v --json try --device "$gpu" --timeout 600
validate "$OUT"
assert_eq "$(jpy "$OUT" 'd["command"], d["action"], d["reverted"]')" "('try', 'try', False)" "the try document"
assert_eq "$(jpy "$OUT" 'sorted((x["bdf"], x["original_driver"], x["driver"]) for x in d["devices"])')" \
	"[('0000:0b:00.0', 'nvidia', 'vfio-pci'), ('0000:0b:00.1', 'snd_hda_intel', 'vfio-pci')]" "the document's devices"
assert_eq "$(jpy "$OUT" '[(c["name"], c["ok"]) for c in d["checks"]]')" \
	"[('on-vfio', True), ('group-viable', True), ('host-devices', True), ('open-devices', True)]" "the document's checks"
assert_eq "$(jpy "$OUT" 'd["refusals"]')" "[]"
assert_eq "$(jpy "$OUT" 'd["watcher"].startswith("pid:") and d["deadline"] > __import__("time").time() + 500')" True \
	"a detached watcher and a deadline 600 s away"
wpid=$(jpy "$OUT" 'd["watcher"][4:]')
kill -0 "$wpid" 2>/dev/null || fail "the watcher ($wpid) is running"
run 0 v --json try --revert
validate "$OUT"
assert_eq "$(jpy "$OUT" 'd["action"], d["reverted"]')" "('revert', True)" "the revert document"
assert_eq "$(drivers_state)" "$orig" "the --json revert gives them back"
assert_eq "$(files_state "$root")" "$files_before" "no file under etc/ or boot/ changed"
fsck_ok "$root"
kill_watchers "$root"

# ============ the deadline: the shell that ran try is killed, the detached watcher reverts
# (intel-igpu-desktop, with no vfio-pci driver until modprobe: the fake modprobe creates it)
host intel-igpu-desktop
igpu=0000:00:02.0
rm -rf "$SYS/bus/pci/drivers/vfio-pci"
start_kernel
orig=$(drivers_state)
setsid bash -c 'exec 0</dev/null; "$0" --root "$1" --sysfs "$2" --proc "$3" --no-chroot try --device "$4" --timeout 2 >"$5/try.out" 2>&1; echo $? >"$5/try.rc"; sleep 600' \
	"$VFIOTX_BIN" "$root" "$SYS" "$PROC" "$igpu" "$WORK" &
shell=$!
TRY_SHELL=$shell
wait_until 30 test -s "$WORK/try.rc" || fail "try did not return"
assert_eq "$(cat "$WORK/try.rc" 2>/dev/null)" 0 "try --timeout 2: $(cat "$WORK/try.out")"
assert_eq "$(drv $igpu)" vfio-pci "the iGPU is on vfio-pci"
[ -e "$root/dev/vfio/2" ] || fail "/dev/vfio/2 exists"
[ -d "$SYS/bus/pci/drivers/vfio-pci" ] || fail "modprobe vfio-pci made the driver appear"
grep -q "vfio-pci" "$FAKE_MODPROBE_LOG" || fail "modprobe vfio-pci was run: [$(cat "$FAKE_MODPROBE_LOG")]"
kill -9 -- "-$shell" 2>/dev/null || fail "the calling shell's process group is gone already"
wait "$shell" 2>/dev/null || true
TRY_SHELL=
wait_until 20 is_state "$orig" || fail "after the deadline, with the calling shell killed: $(drivers_state)"
[ -e "$root/dev/vfio/2" ] && fail "/dev/vfio/2 is gone after the timed revert"
wait_until 10 log_has "(timeout" || fail "log shows the timed revert: $(v log 2>&1 | head -5)"
run 0 v log
assert_contains "$OUT" "revert: $igpu back on i915 (timeout" "the revert's reason: timeout"
# --keep: past the deadline, still on vfio-pci
run 0 v try --device "$igpu" --timeout 2
run 0 v try --keep
sleep 4
assert_eq "$(drv $igpu)" vfio-pci "kept: still on vfio-pci past the deadline"
run 0 v log
assert_contains "$OUT" "keep: $igpu stays on vfio-pci" "log shows the keep"
run 0 v try --revert
assert_contains "$OUT$ERR" "no try in progress" "after a keep, --revert has nothing to give back"
assert_eq "$(drv $igpu)" vfio-pci "a kept try is not reverted by --revert"
fsck_ok "$root"
kill_watchers "$root"
# confirm keeps too
host intel-igpu-desktop
start_kernel
run 0 v try --device "$igpu" --timeout 2
run 0 v confirm
sleep 4
assert_eq "$(drv $igpu)" vfio-pci "confirmed: still on vfio-pci past the deadline"
run 0 v log
assert_contains "$OUT" "keep: $igpu stays on vfio-pci" "confirm's keep is in the log"
fsck_ok "$root"
kill_watchers "$root"

# try --keep --apply: kept, and apply goes on for the same device (a GRUB host that can be armed)
if command -v grub-editenv >/dev/null; then
	host intel-igpu-desktop
	touch "$root/usr/sbin/update-initramfs" "$root/usr/sbin/update-grub"
	mkdir -p "$root/etc/grub.d" && cp "$VFIOTX_SRC/scripts/grub.d/42_vfiotx" "$root/etc/grub.d/"
	bash "$HERE/trial-units.sh" "$root" enable
	grub-editenv "$root/boot/grub/grubenv" create
	for k in 6.1.0-25-amd64 6.1.0-26-amd64; do update-initramfs -u -k $k >/dev/null; done
	update-grub >/dev/null
	start_kernel
	run 0 v try --device "$igpu" --timeout 600
	run 0 v try --keep --apply -y
	assert_contains "$OUT" "kept: $igpu on vfio-pci"
	assert_contains "$OUT$ERR" "a live try (transaction" "the apply after the keep names the try"
	grep -q "^device $igpu 8086:3e92 " "$root/etc/vfiotx/vfiotx.conf" || fail "--keep --apply: the profile has the device"
	assert_eq "$(drv $igpu)" vfio-pci "--keep --apply: still on vfio-pci"
	run 0 v log -n 4
	assert_contains "$OUT" "keep: $igpu stays on vfio-pci"
	assert_contains "$OUT" "pass through $igpu" "--keep --apply: the apply transaction"
	fsck_ok "$root"
	kill_watchers "$root"
else
	echo "SKIP: try --keep --apply: grub-editenv (grub2-common) is not installed"
fi

# ============ refusals: nothing written to sysfs; --force goes ahead
host dual-gpu
start_kernel
orig=$(drivers_state)
refused() { # CODE DEVICE NAMED TRY-ARGS...: exit 1 (3 detailed), the code named, nothing written
	local code=$1 dev=$2 named=$3 before
	shift 3
	before=$(sys_print)
	run 1 v try "$@"
	assert_contains "$OUT$ERR" "$code" "refused with $code"
	run 3 v --detailed-exitcode try "$@"
	run 1 v --json try "$@"
	assert_contains "$(jpy "$OUT" '[(r["code"], r["device"]) for r in d["refusals"]]')" \
		"('$code', '$dev')" "the refusal $code names $dev"
	# The shared refusal object has no key for the named device: a group member's message
	# says whose group brought it in.
	if [ "$dev" != "$named" ]; then
		assert_contains "$(jpy "$OUT" '[r["message"] for r in d["refusals"] if r["code"] == "'"$code"'"]')" \
			"in the IOMMU group of $named" "the refusal $code says whose group brought $dev in"
	fi
	sleep 0.1 # a write would have reached the emulator by now
	assert_eq "$(sys_print)" "$before" "a refused try ($code) writes nothing to sysfs"
	[ -f "$root/var/lib/vfiotx/try.json" ] && grep -q '"held"\|"moving"' "$root/var/lib/vfiotx/try.json" &&
		fail "a refused try leaves no try in progress"
	return 0
}
refused mounted 0000:01:00.0 0000:01:00.0 --device 0000:01:00.0
refused default-route 0000:05:00.0 0000:05:00.0 --device 0000:05:00.0
# fbcon on the second card
gdev=$(realpath "$SYS/bus/pci/devices/$gpu")
mkdir -p "$SYS/class/vtconsole/vtcon0" "$SYS/class/vtconsole/vtcon1" "$SYS/class/graphics/fb0"
echo 1 >"$SYS/class/vtconsole/vtcon0/bind"
echo "(S) dummy device" >"$SYS/class/vtconsole/vtcon0/name"
echo 1 >"$SYS/class/vtconsole/vtcon1/bind"
echo "(M) frame buffer device" >"$SYS/class/vtconsole/vtcon1/name"
ln -s "$(realpath --relative-to="$SYS/class/graphics/fb0" "$gdev")" "$SYS/class/graphics/fb0/device"
refused console "$gpu" "$gpu" --device "$gpu"
echo 0 >"$SYS/class/vtconsole/vtcon1/bind"
before=$(sys_print)
run 0 v try --device "$gpu" --timeout 600
assert_eq "$(drv $gpu)" vfio-pci "fbcon unbound (bind 0): no console refusal"
run 0 v try --revert
assert_eq "$(drivers_state)" "$orig"
echo 1 >"$SYS/class/vtconsole/vtcon1/bind"
# --force goes ahead, and says what it overrode
run 0 v try --force --device "$gpu" --timeout 600
assert_eq "$(drv $gpu)" vfio-pci "--force moves the console's GPU"
assert_contains "$OUT$ERR" "console" "the forced try names what it overrode"
run 0 v log -n 1 -p
assert_contains "$OUT" "force" "the journal records --force"
run 0 v try --revert
assert_eq "$(drivers_state)" "$orig" "the forced try reverts"
rm -rf "$SYS/class/vtconsole" "$SYS/class/graphics"
# a DRM client: Xorg holds /dev/dri/card1 of the second card
mkdir -p "$gdev/drm/card1" "$PROC/4242/fd"
printf 'MAJOR=226\nMINOR=1\nDEVNAME=dri/card1\nDEVTYPE=drm_minor\n' >"$gdev/drm/card1/uevent"
echo Xorg >"$PROC/4242/comm"
ln -s /dev/dri/card1 "$PROC/4242/fd/12"
before=$(sys_print)
run 1 v try --device "$gpu"
assert_contains "$OUT$ERR" "Xorg" "the refusal names the process"
run 1 v --json try --device "$gpu"
codes=$(jpy "$OUT" '[r["code"] for r in d["refusals"] if r["device"] == "'$gpu'"]')
case "$codes" in *drm-clients* | *open-nodes*) ;; *) fail "a DRM client: drm-clients or open-nodes, got $codes" ;; esac
sleep 0.1
assert_eq "$(sys_print)" "$before" "a refused try (drm client) writes nothing"
rm -rf "$PROC/4242"
# a node of another member of the group: pulseaudio holds the HDMI audio's control node
adev=$(realpath "$SYS/bus/pci/devices/$audio")
mkdir -p "$adev/sound/card1/controlC1" "$PROC/4343/fd"
printf 'MAJOR=116\nMINOR=11\nDEVNAME=snd/controlC1\n' >"$adev/sound/card1/controlC1/uevent"
echo pulseaudio >"$PROC/4343/comm"
ln -s /dev/snd/controlC1 "$PROC/4343/fd/9"
refused open-nodes "$audio" "$gpu" --device "$gpu"
assert_contains "$ERR" "pulseaudio" "the refusal names the process's comm"
rm -rf "$PROC/4343"
run 0 v try --device "$gpu" --timeout 600
run 0 v try --revert
assert_eq "$(drivers_state)" "$orig" "with the refusals gone, try and revert work"
fsck_ok "$root"
kill_watchers "$root"

# ============ a failed check reverts at once, exit 1, naming the check
host intel-igpu-desktop
failed_check() { # CHECK FAULT-OPTIONS...: exit 1, the check named in the output and the log
	local check=$1
	shift
	start_kernel "$@"
	run 1 v try --device "$igpu" --timeout 600
	assert_contains "$OUT$ERR" "$check" "the failed check is named ($*)"
	run 0 v log -n 1
	assert_contains "$OUT" "revert: $igpu back on i915 (" "the revert after a failed check is in the log ($*)"
	assert_contains "$OUT" "$check" "the log names the failed check ($*)"
	assert_contains "$OUT" "failed" "the log says it failed ($*)"
	no_try_left "$*"
}
no_try_left() {
	[ -f "$root/var/lib/vfiotx/try.json" ] && grep -q '"held"\|"moving"\|"reverting"' "$root/var/lib/vfiotx/try.json" &&
		fail "no try left in progress ($1)"
	return 0
}
start_kernel
orig=$(drivers_state)
failed_check on-vfio --no-vfio-node "$igpu"
assert_eq "$(drivers_state)" "$orig" "no /dev/vfio/2: reverted at once"
# a device that will not move (vfio-pci never takes it, 5 s): reverted at once, the device named
start_kernel --refuse-vfio "$igpu"
run 1 v try --device "$igpu" --timeout 600
assert_contains "$ERR" "$igpu" "the device that would not move is named"
assert_contains "$ERR" "vfio-pci"
run 0 v log -n 1
assert_contains "$OUT" "revert: $igpu back on i915 (" "the revert of a failed move is in the log"
no_try_left refuse-vfio
assert_eq "$(drivers_state)" "$orig" "vfio-pci never binds: reverted at once"
failed_check host-devices --knock "$igpu=0000:00:17.0"
assert_eq "$(drv $igpu)" i915 "the host lost its disk controller: the iGPU is reverted at once"
assert_eq "$(ovr $igpu)" "" "driver_override cleared"
fsck_ok "$root"
kill_watchers "$root"

# ============ a reboot during a try: the next command records it (boot id changed)
host intel-igpu-desktop
start_kernel
orig=$(drivers_state)
run 0 v try --device "$igpu" --timeout 600
stop_kernel
kill_watchers "$root"
rm -rf "$SYS" && cp -a "$VFIOTX_FIXTURES/hosts/intel-igpu-desktop/sys" "$SYS"
echo "0a0b0c0d-1111-4222-8333-444455556666" >"$PROC/sys/kernel/random/boot_id"
start_kernel
rc=0
v try --revert >/dev/null 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "try --revert after a reboot exited $rc"
run 0 v log -n 1
assert_contains "$OUT" "reboot" "the reboot that ended the try is recorded"
assert_contains "$OUT" "revert: $igpu back on i915" "the reboot's entry names the devices"
assert_eq "$(drivers_state)" "$orig" "after the reboot, nothing was written to sysfs"
fsck_ok "$root"

# ============ a damaged try state stops no command: it goes, with a warning
printf '{"id": "1", "phase": ' >"$root/var/lib/vfiotx/try.json"
run 0 v try --revert
assert_contains "$OUT$ERR" "the state of a try was damaged" "the damaged state is reported"
assert_contains "$OUT$ERR" "a reboot gives back any device" "and what still gives the devices back"
[ ! -e "$root/var/lib/vfiotx/try.json" ] || fail "the damaged state is still there"
run 0 v try --device "$igpu" --timeout 600
run 0 v try --revert
assert_eq "$(drivers_state)" "$orig" "a try after the damaged state works"
fsck_ok "$root"

# ============ kill -9 between any two steps of the move, then of the revert
crash_walk() { # HOST DEVICE: kill at failpoint n = 1, 2, ... of the move until it completes
	local n rc rc2
	host "$1"
	start_kernel
	orig=$(drivers_state)
	for ((n = 1; n <= 300; n++)); do
		rc=0
		VFIOTX_FAILPOINT_KILL=$n v try --device "$2" --timeout 3600 >/dev/null 2>"$VT_TMP/err" || rc=$?
		if [ "$rc" = 0 ]; then
			run 0 v try --revert
			assert_eq "$(drivers_state)" "$orig" "move walk: the completed try reverts"
			break
		fi
		if [ "$rc" != 137 ]; then
			fail "try killed at $n exited $rc: $(cat "$VT_TMP/err")"
			break
		fi
		rc2=0
		v try --revert >/dev/null 2>"$VT_TMP/err2" || rc2=$?
		[ "$rc2" = 0 ] || [ "$rc2" = 1 ] || fail "try --revert after a kill at $n exited $rc2: $(cat "$VT_TMP/err2")"
		is_state "$orig" || fail "move killed at $n: the next command left $(drivers_state)"
		[ -n "$(ls "$root/dev/vfio" 2>/dev/null)" ] && fail "move killed at $n: /dev/vfio holds $(ls "$root/dev/vfio")"
		fsck_ok "$root"
		kill_watchers "$root"
		# a kill leaves it as it was: the next try still works from a clean start
		if ! is_state "$orig"; then break; fi
	done
	[ "$n" -gt 5 ] || fail "move walk: only $n failpoints"
	echo "crash walk (move, $1 $2): $((n - 1)) kills"
	for ((n = 1; n <= 300; n++)); do
		run 0 v try --device "$2" --timeout 3600
		if [ "$(drv "$2")" != vfio-pci ]; then
			fail "revert walk: the try before the kill at $n did not move $2"
			break
		fi
		rc=0
		VFIOTX_FAILPOINT_KILL=$n v try --revert >/dev/null 2>"$VT_TMP/err" || rc=$?
		if [ "$rc" = 0 ]; then
			is_state "$orig" || fail "revert walk: the completed revert left $(drivers_state)"
			break
		fi
		if [ "$rc" != 137 ]; then
			fail "try --revert killed at $n exited $rc: $(cat "$VT_TMP/err")"
			break
		fi
		rc2=0
		v try --revert >/dev/null 2>"$VT_TMP/err2" || rc2=$?
		[ "$rc2" = 0 ] || [ "$rc2" = 1 ] || fail "try --revert after a kill at $n exited $rc2: $(cat "$VT_TMP/err2")"
		is_state "$orig" || fail "revert killed at $n: the next command left $(drivers_state)"
		fsck_ok "$root"
		kill_watchers "$root"
		if ! is_state "$orig"; then break; fi
	done
	[ "$n" -gt 3 ] || fail "revert walk: only $n failpoints"
	echo "crash walk (revert, $1 $2): $((n - 1)) kills"
	kill_watchers "$root"
}
crash_walk dual-gpu 0000:0b:00.0
# another locked command finishes an interrupted move: killed after the unbind, before the probe
# (the device is on no driver, driver_override says vfio-pci), then confirm
host intel-igpu-desktop
start_kernel
orig=$(drivers_state)
v try --device "$igpu" --timeout 3600 >/dev/null 2>&1 # the first try also records the baseline
v try --revert >/dev/null 2>&1
trace=$(VFIOTX_FAILPOINT_TRACE=1 v try --device "$igpu" --timeout 3600 2>&1 >/dev/null || true)
v try --revert >/dev/null 2>&1
kill_watchers "$root"
n=$(printf '%s\n' "$trace" | grep 'driver-switch-write' | sed -n 3p | sed 's/.*failpoint \([0-9]*\):.*/\1/')
if [ -z "$n" ]; then
	fail "no third driver-switch-write failpoint in the trace: $trace"
else
	VFIOTX_FAILPOINT_KILL=$n v try --device "$igpu" --timeout 3600 >/dev/null 2>&1 && fail "try was not killed at $n"
	assert_eq "$(drv $igpu):$(ovr $igpu)" "none:vfio-pci" "killed before the probe: unbound, the override set"
	run 0 v confirm
	assert_eq "$(drivers_state)" "$orig" "confirm (a locked command) finishes an interrupted move by reverting it"
	run 0 v log -n 3
	assert_contains "$OUT" "revert: $igpu back on i915 (interrupted" "the interrupted move's revert is in the log"
fi
fsck_ok "$root"
kill_watchers "$root"
stop_kernel
finish
