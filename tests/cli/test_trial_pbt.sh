#!/usr/bin/env bash
# The boot-counted trial on a Proxmox host that proxmox-boot-tool boots with systemd-boot from
# two ESPs (/etc/kernel/proxmox-boot-uuids, /etc/kernel/cmdline; the fake proxmox-boot-tool
# writes its layout: EFI/proxmox/KVER/, proxmox-KVER.conf, loader.conf "default proxmox-*").
# The ESPs are directories where vfiotx mounts the real ones (/run/vfiotx/esp/UUID,
# engine/esp_mounts.h). Every transition writes the same entries to both ESPs, a refresh during
# the trial leaves them, the firmware may boot either ESP, and a kill at any failpoint leaves
# both bootable.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: arming flushes the ESPs' file system (syncfs, checkpoint): run as root"
	exit 0
fi
igpu=0000:00:02.0
U1=7A3C-0E16 U2=5E2D-9B41
use_host intel-igpu-desktop
host_proc=$PROC
GUID=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
KVER=6.1.0-26-amd64
boot_with() {
	rm -rf "$VT_TMP/proc" && cp -a "$host_proc" "$VT_TMP/proc"
	# as systemd-boot starts a proxmox-boot-tool entry: /etc/kernel/cmdline and initrd=
	echo "initrd=\\EFI\\proxmox\\$KVER\\initrd.img-$KVER root=ZFS=rpool/ROOT/pve-1 boot=zfs $1" >"$VT_TMP/proc/cmdline"
	PROC="$VT_TMP/proc"
}
v() { vt --root "$root" --sysfs "$SYSDIR" --proc "$PROC" --no-chroot "$@"; }
efivar_set() { # NAME VALUE
	local f="$SYSDIR/firmware/efi/efivars/$1-$GUID"
	{ printf '\x07\x00\x00\x00'; printf '%s' "$2" | iconv -f UTF-8 -t UTF-16LE; printf '\x00\x00'; } >"$f"
}
efivar_get() { # NAME -> the value, or "(unset)"
	local f="$SYSDIR/firmware/efi/efivars/$1-$GUID"
	if [ -e "$f" ]; then tail -c +5 "$f" | iconv -f UTF-16LE -t UTF-8 | tr -d '\0'; else echo "(unset)"; fi
}
esp() { echo "$root/run/vfiotx/esp/$1"; }
entries() { (cd "$(esp "$1")/loader/entries" && ls | grep '^vfiotx-' | tr '\n' ' '); }
both() { # WHAT EXPECTED: vfiotx's entries on both ESPs
	assert_eq "$(entries $U1)" "$2" "$1 ($U1)"
	assert_eq "$(entries $U2)" "$2" "$1 ($U2)"
}
loader_boots() { # UUID: what systemd-boot on that ESP does before starting the trial
	local d f
	d=$(esp "$1")/loader/entries
	f=$(cd "$d" && ls | grep '^vfiotx-1-trial-')
	[[ $f =~ ^(.*)\+([0-9]+)(-([0-9]+))?\.conf$ ]] || fail "no counter in $f"
	local left=${BASH_REMATCH[2]} done=${BASH_REMATCH[4]:-0}
	mv "$d/$f" "$d/${BASH_REMATCH[1]}+$((left > 0 ? left - 1 : 0))-$((done + 1)).conf"
}
next_entry() { v --json status 2>/dev/null | jq -r '.boot_counter.systemd_boot.entry'; }
pbt_host() { # a fresh copy of the host: kernels installed, both ESPs refreshed, no transaction
	# (copies of one prepared host: the crash walks start from it a few hundred times)
	restore_host fresh && return 0
	root=$(mkhost intel-igpu-desktop proxmox-zfs)
	rm -rf "$root/boot/efi"
	printf '%s\n' "$U1" "$U2" >"$root/etc/kernel/proxmox-boot-uuids"
	mkdir -p "$(esp $U1)/loader/entries" "$(esp $U2)/loader/entries"
	fake_tools "$root"
	touch "$root/usr/sbin/update-initramfs" "$root/usr/sbin/proxmox-boot-tool"
	bash "$VFIOTX_SRC/tests/cli/trial-units.sh" "$root" enable
	for k in 6.1.0-25-amd64 $KVER; do update-initramfs -u -k $k >/dev/null; done
	proxmox-boot-tool refresh >/dev/null
	SYSDIR=$(mktemp -d -p "$VT_TMP")
	cp -a "$SYS/." "$SYSDIR/"
	mkdir -p "$SYSDIR/firmware/efi/efivars"
	efivar_set LoaderInfo "systemd-boot 252.39-1~deb12u2"
	boot_with ""
	keep_host fresh
	restore_host fresh
}

# --- apply arms the same trial on both ESPs.
pbt_host
good_state=$(etc_state "$root")
run 0 v check
assert_contains "$OUT" "can arm a boot-counted trial: systemd-boot"
run 0 v apply -y --tries 2 --device "$igpu"
assert_contains "$OUT" "armed: transaction 2 is on trial for 2 boots"
assert_contains "$(cat "$FAKE_LOG")" "proxmox-boot-tool refresh"
both "armed" "vfiotx-0-last-good.conf vfiotx-1-trial-2+2.conf "
assert_eq "$(efivar_get LoaderEntryDefault)" "vfiotx-*" "the loader follows vfiotx's pattern"
for u in $U1 $U2; do
	e=$(esp $u)/loader/entries
	grep -q "^options .*intel_iommu=on.* vfiotx.trial=2 panic=10$" "$e/vfiotx-1-trial-2+2.conf" ||
		fail "$u: trial options: $(cat "$e/vfiotx-1-trial-2+2.conf")"
	grep -q "^linux .*/EFI/proxmox/$KVER/vmlinuz-$KVER$" "$e/vfiotx-1-trial-2+2.conf" ||
		fail "$u: the trial boots proxmox-boot-tool's copy of the default kernel"
	grep -qx "options    root=ZFS=rpool/ROOT/pve-1 boot=zfs vfiotx.fallback=1" "$e/vfiotx-0-last-good.conf" ||
		fail "$u: last good options: $(cat "$e/vfiotx-0-last-good.conf")"
	cmp -s "$(esp $u)/vfiotx/vmlinuz-$KVER.1" "$root/boot/vmlinuz-$KVER" || fail "$u: the last good kernel is on the ESP"
	grep -q "intel_iommu=on" "$e/proxmox-$KVER.conf" || fail "$u: proxmox-boot-tool's entry has the new options"
done
assert_eq "$(next_entry)" "vfiotx-1-trial-2+2.conf" "systemd-boot boots the trial next"
run 0 v status
assert_contains "$OUT" "state: armed"
assert_contains "$OUT" "2 tries left"
# a kernel update or a refresh during the trial rewrites proxmox-boot-tool's files only
proxmox-boot-tool refresh >/dev/null
both "after a refresh during the trial" "vfiotx-0-last-good.conf vfiotx-1-trial-2+2.conf "
assert_eq "$(next_entry)" "vfiotx-1-trial-2+2.conf" "the trial still boots next after a refresh"

# --- the firmware booted the first ESP: its loader counted a try there; confirm ends the
# trial on both.
loader_boots $U1
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
assert_contains "$OUT" "trial boot of transaction 2: 1 more boot"
run 0 v confirm
assert_contains "$OUT" "confirmed: transaction"
both "confirm removes the trial entries" "vfiotx-0-last-good.conf "
assert_eq "$(efivar_get LoaderEntryDefault)" "(unset)" "the variable is as it was"
assert_eq "$(next_entry)" "proxmox-$KVER.conf" "proxmox-boot-tool's entry boots next"
run 0 v status
assert_contains "$OUT" "state: good"
fsck_ok "$root"

# --- systemd-bless-boot fails on every counted boot here (it looks for the entry on an ESP at
# /efi, /boot or /boot/efi): the health check leaves it out, and counts any other failed unit.
bless="systemd-bless-boot.service loaded failed failed Mark the Current Boot Loader Entry as Good"
pbt_host
run 0 v apply -y --no-iommu-params --cmdline-add foo=1
loader_boots $U1
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
FAKE_FAILED_UNITS="$bless" run 0 v confirm --health --no-reboot
assert_contains "$OUT" "confirmed: transaction"
both "a healthy trial despite systemd-bless-boot" "vfiotx-0-last-good.conf "
pbt_host
run 0 v apply -y --no-iommu-params --cmdline-add foo=1
loader_boots $U1
boot_with "vfiotx.trial=2 panic=10"
run 0 v boot
FAKE_FAILED_UNITS=$(printf '%s\n%s\n' "$bless" "pveproxy.service loaded failed failed PVE API Proxy Server") \
	run 1 v confirm --health --no-reboot
assert_contains "$ERR" "unit pveproxy.service failed"
assert_not_contains "$ERR" "systemd-bless-boot"
# (no tries left on either: the loader counted one on the first ESP only)
assert_eq "$(entries $U1)" "vfiotx-0-last-good.conf vfiotx-1-trial-2+0-1.conf " "marked bad ($U1)"
assert_eq "$(entries $U2)" "vfiotx-0-last-good.conf vfiotx-1-trial-2+0.conf " "marked bad ($U2)"

# --- the firmware boots the second ESP (the first disk died): the tries run out there, its
# loader boots the last good entry, and vfiotx boot restores and refreshes every ESP.
pbt_host
run 0 v apply -y --tries 1 --device "$igpu"
loader_boots $U2
assert_eq "$(entries $U2)" "vfiotx-0-last-good.conf vfiotx-1-trial-2+0-1.conf " "no try left on the second ESP"
# (the counter is read from both ESPs; which entry boots next is the booted ESP's, told by
# LoaderDevicePartUUID on a real host, the first one here)
assert_eq "$(v --json status 2>/dev/null | jq -r '.trial.next_boot, .trial.tries_left' | tr '\n' ' ')" "last-good 0 " \
	"status sees the spent trial on the second ESP"
: >"$FAKE_LOG"
boot_with "vfiotx.fallback=1"
run 0 v boot
assert_contains "$OUT" "rolled back: transaction 2 (tries exhausted)"
assert_eq "$(etc_state "$root")" "$good_state" "the good snapshot's files are back"
assert_contains "$(cat "$FAKE_LOG")" "proxmox-boot-tool refresh"
for u in $U1 $U2; do
	grep -q intel_iommu "$(esp $u)/loader/entries/proxmox-$KVER.conf" && fail "$u: the entry was not regenerated"
done
both "after the fallback" "vfiotx-0-last-good.conf "
assert_eq "$(efivar_get LoaderEntryDefault)" "(unset)" "the variable is as it was"
run 0 v status
assert_contains "$OUT" "state: rolled back"
fsck_ok "$root"

# --- a listed ESP that is not there: arming refuses (the firmware could boot it without a
# counter); status and --no-arm go on.
pbt_host
printf '%s\n' "$U1" "$U2" 1111-2222 >"$root/etc/kernel/proxmox-boot-uuids"
st=$(etc_state "$root")
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "the ESP 1111-2222 in /etc/kernel/proxmox-boot-uuids is not there"
assert_contains "$ERR" "proxmox-boot-tool lists ESPs that are not there (1111-2222"
assert_contains "$ERR" "proxmox-boot-tool clean"
assert_eq "$(etc_state "$root")" "$st" "missing ESP: nothing written"
both "missing ESP: nothing on the ESPs" ""
run 0 v --json status
python3 -c 'import json,sys; d=json.load(sys.stdin); b=d["boot_counter"]; assert b["available"] is False and b["boot_path"] == "proxmox-systemd-boot" and "1111-2222" in b["reason"], d' <<<"$OUT" || fail "status --json with a missing ESP"
run 0 v apply -y --no-arm --device "$igpu"
assert_contains "$OUT" "proxmox-boot-tool refresh"
# none there at all
pbt_host
rm -rf "$root/run/vfiotx"
run 1 v apply -y --device "$igpu"
assert_contains "$ERR" "none of the ESPs in /etc/kernel/proxmox-boot-uuids ($U1, $U2)"

# --- crash walks: killed at every failpoint of arming, confirming and falling back, each ESP
# boots (its loader picks a complete entry: proxmox-boot-tool's, or the trial with the last good
# entry beside it), and the same command again finishes the job on both.
pick_next() { # ESP DEF: what systemd-boot 252 boots from that ESP: with LoaderEntryDefault
	# "vfiotx-*" the highest vfiotx entry with tries left (the last good one once the trial has
	# none), else loader.conf's "proxmox-*"
	local pat=proxmox- n
	[ "$2" = "vfiotx-*" ] && pat=vfiotx-
	for n in $(ls "$1/loader/entries" | LC_ALL=C sort -r); do
		case "$n" in "$pat"*.conf) ;; *) continue ;; esac
		case "$n" in *+0.conf | *+0-[0-9]*.conf) continue ;; esac
		echo "$n"
		return
	done
}
bootable() { # WHEN
	local u d next k
	for u in $U1 $U2; do
		d=$(esp $u)
		next=$(pick_next "$d" "$DEF")
		case "$next" in
		proxmox-$KVER.conf) ;;
		vfiotx-1-trial-*)
			k=$(sed -n 's|^linux *||p' "$d/loader/entries/vfiotx-0-last-good.conf" 2>/dev/null)
			[ -n "$k" ] && [ -s "$d$k" ] || fail "$1: $u boots the trial without a complete last good entry"
			grep -q "vfiotx.trial=[0-9]* panic=10" "$d/loader/entries/$next" || fail "$1: $u: the trial entry is incomplete"
			;;
		vfiotx-0-last-good.conf) grep -q "^linux      /vfiotx/" "$d/loader/entries/$next" || fail "$1: $u: an incomplete last good entry" ;;
		*) fail "$1: systemd-boot on $u would boot '$next'" ;;
		esac
	done
}
walk_bootable() { DEF=$(efivar_get LoaderEntryDefault) bootable "$1"; }
count() { VFIOTX_FAILPOINT_TRACE=1 "$@" 2>&1 >/dev/null | grep -c 'failpoint [0-9]*:'; }
esp_state() { # both ESPs' files and the loader's variables
	(cd "$root/run/vfiotx/esp" && find . -type f | LC_ALL=C sort | xargs md5sum)
	(cd "$SYSDIR/firmware/efi/efivars" && md5sum *)
}
esp_changed() { [ "$(esp_state)" != "$before" ]; }
last_good_on_both() { [ -e "$(esp $U1)/loader/entries/vfiotx-0-last-good.conf" ] && [ -e "$(esp $U2)/loader/entries/vfiotx-0-last-good.conf" ]; }
trial_written() { ls -A "$(esp $U1)/loader/entries" "$(esp $U2)/loader/entries" | grep -q 'vfiotx-1-trial-'; }
prev() { echo $(($1 > 1 ? $1 - 1 : 1)); } # the failpoint before N
# The first failpoint at which a kill leaves PREDICATE true (a binary search: each predicate,
# once true for a kill at N, is true for every later one). SETUP TOTAL PREDICATE CMD...
first_point() {
	local setup=$1 lo=1 hi=$2 pred=$3 mid
	shift 3
	while [ "$lo" -lt "$hi" ]; do
		mid=$(((lo + hi) / 2))
		$setup
		before=$(esp_state)
		VFIOTX_FAILPOINT_KILL=$mid "$@" >/dev/null 2>&1
		if $pred; then hi=$mid; else lo=$((mid + 1)); fi
	done
	echo "$lo"
}
# The walks cover every failpoint from one before the first that changes an ESP or the
# variables to the end, except, in apply, the transaction's own steps between keeping the last
# good boot on both ESPs and writing the trial entries: they write /etc and the journal and
# leave the ESPs as the last good step did (tests/cli/test_crash.sh walks them on the same
# code); and steps whose kill leaves what a kill at the step before leaves (lib.sh).
pbt_host
total=$(count v apply -y --device "$igpu")
[ "$total" -gt 10 ] || fail "apply passes only $total failpoints"
first=$(first_point pbt_host "$total" esp_changed v apply -y --device "$igpu")
kept=$(first_point pbt_host "$total" last_good_on_both v apply -y --device "$igpu")
armed=$(first_point pbt_host "$total" trial_written v apply -y --device "$igpu")
[ "$first" -lt "$kept" ] && [ "$kept" -lt "$armed" ] && [ "$armed" -le "$total" ] ||
	fail "apply: the ESPs change at $first, the last good boot is kept at $kept, the trial written at $armed, of $total"
echo "crash walk: apply, failpoints $(prev "$first") to $kept and $(prev "$armed") to $total of $total"
pbt_host
trace_to "$VT_TMP/trace" v apply -y --device "$igpu"
for n in $(seq "$(prev "$first")" "$kept") $(seq "$(prev "$armed")" "$total"); do
	same_as_before "$VT_TMP/trace" "$n" && continue # (lib.sh)
	pbt_host
	VFIOTX_FAILPOINT_KILL=$n v apply -y --device "$igpu" >/dev/null 2>&1 && fail "apply: not killed at $n"
	walk_bootable "apply killed at failpoint $n"
	v apply -y --device "$igpu" >/dev/null 2>"$VT_TMP/again" || true
	walk_bootable "apply again after the kill at $n"
	fsck_ok "$root"
done

armed_and_booted() {
	restore_host armed && return 0
	pbt_host
	run 0 v apply -y --device "$igpu"
	loader_boots $U1
	boot_with "vfiotx.trial=2 panic=10"
	run 0 v boot
	keep_host armed
}
armed_and_booted
total=$(count v confirm)
first=$(first_point armed_and_booted "$total" esp_changed v confirm)
echo "crash walk: confirm, failpoints $(prev "$first") to $total"
armed_and_booted
trace_to "$VT_TMP/trace" v confirm
for n in $(seq "$(prev "$first")" "$total"); do
	same_as_before "$VT_TMP/trace" "$n" && continue
	armed_and_booted
	VFIOTX_FAILPOINT_KILL=$n v confirm >/dev/null 2>&1 && fail "confirm: not killed at $n"
	walk_bootable "confirm killed at failpoint $n"
	run 0 v confirm
	both "confirm again after the kill at $n" "vfiotx-0-last-good.conf "
	assert_eq "$(efivar_get LoaderEntryDefault)" "(unset)" "the variable after confirm (kill at $n)"
done

fell_back() {
	restore_host fell-back && return 0
	pbt_host
	run 0 v apply -y --tries 1 --device "$igpu"
	loader_boots $U2
	boot_with "vfiotx.fallback=1"
	keep_host fell-back
}
fell_back
total=$(count v boot)
first=$(first_point fell_back "$total" esp_changed v boot)
echo "crash walk: the fallback, failpoints $(prev "$first") to $total"
fell_back
trace_to "$VT_TMP/trace" v boot
for n in $(seq "$(prev "$first")" "$total"); do
	same_as_before "$VT_TMP/trace" "$n" && continue
	fell_back
	VFIOTX_FAILPOINT_KILL=$n v boot >/dev/null 2>&1 && fail "boot: not killed at $n"
	walk_bootable "fallback killed at failpoint $n"
	v boot >/dev/null 2>"$VT_TMP/again" || fail "the fallback again after the kill at $n: $(cat "$VT_TMP/again")"
	assert_eq "$(etc_state "$root")" "$good_state" "the good files after the kill at $n"
	both "the trial entries after the kill at $n" "vfiotx-0-last-good.conf "
	assert_eq "$(efivar_get LoaderEntryDefault)" "(unset)" "the variable after the kill at $n"
done

finish
