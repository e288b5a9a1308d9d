#!/bin/bash
# The boot-counting scripts: the GRUB script through the real grub-mkconfig (in a private mount
# namespace, so the host's /etc/grub.d, /etc/default and /boot are never touched), the systemd
# units through systemd-analyze verify, and the initramfs rescue hook.
. "$(dirname "$0")/lib.sh"

src=${VFIOTX_SRC:?set by ctest}
build=$(dirname "$VFIOTX_BIN")

# --- grub-mkconfig with 00_header, 10_linux and 42_vfiotx on a fake /boot ---
if [ "$(id -u)" = 0 ] && command -v grub-mkconfig >/dev/null && command -v unshare >/dev/null &&
	[ -f /etc/grub.d/00_header ] && [ -f /etc/grub.d/10_linux ]; then
	g="$VT_TMP/grub"
	mkdir -p "$g/grub.d" "$g/default" "$g/boot/grub" "$g/boot/vfiotx"
	cp /etc/grub.d/00_header /etc/grub.d/10_linux "$g/grub.d/"
	cp "$src/scripts/grub.d/42_vfiotx" "$g/grub.d/"
	printf '%s\n' 'GRUB_DEFAULT=0' 'GRUB_TIMEOUT=5' 'GRUB_DISTRIBUTOR=Debian' \
		'GRUB_CMDLINE_LINUX_DEFAULT="quiet \$vfiotx_trial_args"' 'GRUB_CMDLINE_LINUX=""' \
		>"$g/default/grub"
	: >"$g/boot/vmlinuz-6.1.0-26-amd64"
	: >"$g/boot/initrd.img-6.1.0-26-amd64"
	run 0 unshare -m --propagation private sh -c '
		mount --bind "$1/grub.d" /etc/grub.d && mount --bind "$1/default" /etc/default &&
		mount --bind "$1/boot" /boot && grub-mkconfig -o /boot/grub/grub.cfg' sh "$g"
	cfg=$(cat "$g/boot/grub/grub.cfg" 2>/dev/null || true)
	# grub-mkconfig itself refuses a config grub-script-check rejects; check it again anyway.
	run 0 grub-script-check "$g/boot/grub/grub.cfg"
	assert_contains "$cfg" "### BEGIN /etc/grub.d/42_vfiotx ###" "the counter is in grub.cfg"
	assert_contains "$cfg" "\$menuentry_id_option 'vfiotx-last-good'" "the last good entry"
	assert_contains "$cfg" 'load_env vfiotx_trial vfiotx_tries vfiotx_panic vfiotx_fallback'
	assert_contains "$cfg" 'elif [ "${vfiotx_tries}" = "1" ]; then'
	assert_contains "$cfg" 'set vfiotx_trial_args="vfiotx.trial=${vfiotx_trial} panic=${vfiotx_panic}"'
	assert_contains "$cfg" 'source "${vfiotx_dir}/entry.cfg"'
	# Every normal linux line carries the reference; the recovery line does not.
	n_linux=$(grep -c '^[[:space:]]*linux[[:space:]].* ro  *quiet \$vfiotx_trial_args$' \
		"$g/boot/grub/grub.cfg" || true)
	assert_eq "$n_linux" 2 "normal linux lines with \$vfiotx_trial_args"
	assert_not_contains "$(grep 'ro single' "$g/boot/grub/grub.cfg")" 'vfiotx_trial_args'
	# The last good entry comes after 10_linux's entries: it must never be entry 0.
	first_entry=$(grep -m1 -o "^menuentry '[^']*'" "$g/boot/grub/grub.cfg")
	assert_eq "$first_entry" "menuentry 'Debian GNU/Linux'" "first menu entry"
	# An entry.cfg as boot_preserve writes it parses too.
	printf '%s\n' '# kver=6.1.0-26-amd64' '# txn=4' '# cmdline=root=/dev/sda2 ro vfiotx.fallback=1' \
		'linux	${vfiotx_dir}/vmlinuz-6.1.0-26-amd64.4 root=/dev/sda2 ro '\''a b'\'' vfiotx.fallback=1' \
		'initrd	${vfiotx_dir}/initrd.img-6.1.0-26-amd64.4' >"$g/boot/vfiotx/entry.cfg"
	run 0 grub-script-check "$g/boot/vfiotx/entry.cfg"
else
	echo "skipped grub-mkconfig: needs root, unshare, grub-mkconfig and /etc/grub.d/{00_header,10_linux}"
fi

# --- the script alone: it must be valid sh and emit valid GRUB script without grub-mkconfig ---
out=$(pkgdatadir=/usr/share/grub sh "$src/scripts/grub.d/42_vfiotx" 2>/dev/null) ||
	fail "42_vfiotx failed"
if command -v grub-script-check >/dev/null; then
	printf '%s\n' "$out" >"$VT_TMP/alone.cfg"
	run 0 grub-script-check "$VT_TMP/alone.cfg"
fi
assert_contains "$out" "set vfiotx_dir='/boot/vfiotx'"

# --- what `cmake --install` puts where, with a prefix other than the configure-time one ---
# The units and hooks name the installed binary and data: configured at install time, so a
# package built with --prefix /usr gets /usr/sbin/vfiotx, not the configure-time /usr/local.
inst="$VT_TMP/inst"
run 0 env DESTDIR="$inst" cmake --install "$build" --prefix /opt/vt
units="$inst/opt/vt/lib/systemd/system"
hooks="$inst/usr/share/initramfs-tools/hooks"
for u in vfiotx-boot.service vfiotx-confirm.service vfiotx-deadline.timer vfiotx-deadline.service; do
	[ -f "$units/$u" ] || fail "$u was not installed into $units"
done
# the drop-in that skips systemd-bless-boot on trial boots from proxmox-boot-tool's ESPs: where
# systemd reads drop-ins for its unit, and its conditions parse and hold on a host that is
# neither (this one: no vfiotx.trial on /proc/cmdline, or no proxmox-boot-uuids). The VM
# scenarios show both sides: skipped on vm/uefi-pbt's trial boot, blessing on vm/uefi-sdboot's.
bless="$units/systemd-bless-boot.service.d/vfiotx.conf"
[ -f "$bless" ] || fail "the systemd-bless-boot drop-in was not installed into $units"
mapfile -t conds < <(grep '^Condition' "$bless")
assert_eq "${#conds[@]}" 2 "the drop-in has two conditions"
if grep -qw vfiotx.trial /proc/cmdline && [ -e /etc/kernel/proxmox-boot-uuids ]; then
	echo "skip: the drop-in's conditions (this host is on a trial boot from proxmox-boot-tool's ESPs)"
else
	run 0 systemd-analyze condition "${conds[@]}"
	assert_contains "$ERR" "Conditions succeeded." "the drop-in leaves systemd-bless-boot alone here"
fi
[ -x "$inst/opt/vt/sbin/vfiotx" ] || fail "no /opt/vt/sbin/vfiotx"
[ -x "$inst/opt/vt/sbin/vfiotx-rescue" ] || fail "no /opt/vt/sbin/vfiotx-rescue"
[ -x "$inst/etc/grub.d/42_vfiotx" ] || fail "42_vfiotx not installed executable into /etc/grub.d"
[ -x "$hooks/vfiotx-rescue" ] || fail "the rescue hook not installed into $hooks"
[ -x "$hooks/vfiotx" ] || fail "the override hook not installed into $hooks"
[ -f "$inst/opt/vt/share/vfiotx/initramfs/vfiotx-override" ] || fail "no override boot script"
assert_contains "$(cat "$units/vfiotx-boot.service")" "ExecStart=/opt/vt/sbin/vfiotx boot"
assert_contains "$(cat "$units/vfiotx-confirm.service")" \
	"ExecStart=/opt/vt/sbin/vfiotx confirm --health"
assert_contains "$(cat "$hooks/vfiotx-rescue")" 'VFIOTX_RESCUE_BIN:-/opt/vt/sbin/vfiotx-rescue}'
assert_contains "$(cat "$hooks/vfiotx")" '/opt/vt/share/vfiotx/initramfs/vfiotx-override}'
assert_not_contains "$(cat "$units"/vfiotx-* "$hooks"/*)" "@SBINDIR@" "unsubstituted template"
assert_not_contains "$(cat "$units"/vfiotx-* "$hooks"/*)" "@DATADIR@" "unsubstituted template"
assert_contains "$(cat "$units/vfiotx-confirm.service")" "Requires=boot-complete.target"
assert_contains "$(cat "$units/vfiotx-confirm.service")" "ExecStart=/"
assert_contains "$(cat "$units/vfiotx-deadline.service")" "confirm --deadline-expired"
if command -v systemd-analyze >/dev/null && [ -f /lib/systemd/system/boot-complete.target ]; then
	mkdir -p "$VT_TMP/units"
	for f in "$units"/vfiotx-*; do
		sed "s#^ExecStart=[^ ]*/vfiotx#ExecStart=$VFIOTX_BIN#" "$f" >"$VT_TMP/units/$(basename "$f")"
	done
	run 0 systemd-analyze verify --man=no "$VT_TMP/units"/*
	assert_eq "$ERR" "" "systemd-analyze verify output"
else
	echo "skipped systemd-analyze verify: not available"
fi

# --- the rescue hook copies vfiotx-rescue (static: nothing else) with copy_exec ---
printf '%s\n' 'copy_exec() { echo "copy_exec $*" >>"$DESTDIR/calls"; }' >"$VT_TMP/hook-functions"
mkdir -p "$VT_TMP/initramfs"
run 0 env DESTDIR="$VT_TMP/initramfs" VFIOTX_HOOK_FUNCTIONS="$VT_TMP/hook-functions" \
	VFIOTX_RESCUE_BIN="$VFIOTX_RESCUE_STATIC" sh "$hooks/vfiotx-rescue"
assert_eq "$(cat "$VT_TMP/initramfs/calls")" "copy_exec $VFIOTX_RESCUE_STATIC /sbin/vfiotx-rescue"
run 0 sh "$hooks/vfiotx-rescue" prereqs

finish
