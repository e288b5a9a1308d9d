#!/bin/bash
# vfiotx status on a systemd-boot host: which entry systemd-boot boots next, and why.
# The ESP is written by the real kernel-install (systemd 252's 90-loaderentry plugin) where it is
# installed — its paths made ESP-relative, as they are when the ESP is a mount point — and the
# loader's variables are efivarfs files as the kernel shows them.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

use_host amd-desktop
ROOT=$(mkhost amd-desktop proxmox-zfs)
rm -f "$ROOT/etc/kernel/proxmox-boot-uuids" "$ROOT"/boot/efi/loader/entries/*
ESP=$ROOT/boot/efi
MID=0123456789abcdef0123456789abcdef
mkdir -p "$ESP/$MID" "$VT_TMP/kern"
SYSDIR=$VT_TMP/sys
cp -a "$SYS/." "$SYSDIR/"
VARS=$SYSDIR/firmware/efi/efivars
mkdir -p "$VARS"

entry() { # kver: the entry kernel-install writes for it
	local kver=$1 f="$ESP/loader/entries/$MID-$1.conf"
	if command -v kernel-install >/dev/null && [ -x /usr/lib/kernel/install.d/90-loaderentry.install ]; then
		echo "kernel $kver" >"$VT_TMP/kern/vmlinuz-$kver"
		echo "initrd $kver" >"$VT_TMP/kern/initrd.img-$kver"
		BOOT_ROOT=$ESP MACHINE_ID=$MID KERNEL_INSTALL_CONF_ROOT=$ROOT/etc/kernel \
			KERNEL_INSTALL_PLUGINS=/usr/lib/kernel/install.d/90-loaderentry.install \
			kernel-install add "$kver" "$VT_TMP/kern/vmlinuz-$kver" "$VT_TMP/kern/initrd.img-$kver" ||
			fail "kernel-install add $kver"
		# BOOT_ROOT is not a mount point here: the paths are made relative to the ESP
		sed -i "s|$ESP||" "$f"
	else
		mkdir -p "$ESP/$MID/$kver"
		echo "kernel" >"$ESP/$MID/$kver/linux"
		echo "initrd" >"$ESP/$MID/$kver/initrd.img-$kver"
		printf '%s\n' "title      Debian GNU/Linux 12 (bookworm)" "version    $kver" \
			"machine-id $MID" "sort-key   debian" "options    root=/dev/sda2 ro quiet" \
			"linux      /$MID/$kver/linux" "initrd     /$MID/$kver/initrd.img-$kver" >"$f"
	fi
	grep -q "^linux *//*$MID/$kver/linux$" "$f" || fail "entry of $kver: $(cat "$f")"
}
efivar() { # NAME VALUE: a loader string variable (attributes NV|BS|RT, UTF-16LE, NUL)
	local f="$VARS/$1-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
	rm -f "$f"
	[ -n "${2:-}" ] || return 0
	{ printf '\x07\x00\x00\x00'; printf '%s' "$2" | iconv -f UTF-8 -t UTF-16LE; printf '\x00\x00'; } >"$f"
}
status_json() {
	run 0 vt --root "$ROOT" --sysfs "$SYSDIR" --proc "$PROC" --json status
	printf '%s' "$OUT" >"$VT_TMP/st.json"
	python3 "$HERE/json_validate.py" "$VFIOTX_SRC/docs/schemas" "$VT_TMP/st.json" status ||
		fail "status JSON against its schema"
}
next() { # expected entry, rule, tries left (or null)
	status_json
	got=$(jq -r '.boot_counter.systemd_boot | "\(.entry) \(.rule) \(.tries_left)"' "$VT_TMP/st.json")
	assert_eq "$got" "$1 $2 $3" "next boot"
}

entry 6.1.0-25-amd64
entry 6.1.0-26-amd64
printf '#timeout 3\n#console-mode keep\n' >"$ESP/loader/loader.conf" # as bootctl install writes it

# no variable, no default in loader.conf: the newest version first
next "$MID-6.1.0-26-amd64.conf" "first entry" null
jq -e '.boot_counter | .boot_path == "systemd-boot" and .systemd_boot.esp == "/boot/efi" and
	.systemd_boot.listed == 2 and .systemd_boot.title == "Debian GNU/Linux 12 (bookworm)"' \
	"$VT_TMP/st.json" >/dev/null || fail "status JSON: $(jq -c .boot_counter "$VT_TMP/st.json")"
run 0 vt --root "$ROOT" --sysfs "$SYSDIR" --proc "$PROC" status
assert_contains "$OUT" "boot: systemd-boot"
assert_contains "$OUT" "next boot: systemd-boot entry $MID-6.1.0-26-amd64.conf (Debian GNU/Linux 12 (bookworm)), chosen by first entry"

# loader.conf's default, then LoaderEntryDefault over it, then LoaderEntryOneShot over both
printf 'timeout 3\ndefault %s-6.1.0-25*\n' "$MID" >"$ESP/loader/loader.conf"
next "$MID-6.1.0-25-amd64.conf" "loader.conf default" null
efivar LoaderEntryDefault "$MID-6.1.0-26-amd64.conf"
next "$MID-6.1.0-26-amd64.conf" "LoaderEntryDefault" null
efivar LoaderEntryOneShot "$MID-6.1.0-25-amd64.conf"
next "$MID-6.1.0-25-amd64.conf" "LoaderEntryOneShot" null
efivar LoaderEntryOneShot
efivar LoaderEntryDefault

# an entry whose kernel is gone is not listed
rm "$ESP/$MID/6.1.0-26-amd64/linux"
next "$MID-6.1.0-25-amd64.conf" "loader.conf default" null
rm "$ESP/loader/loader.conf"
next "$MID-6.1.0-25-amd64.conf" "first entry" null
jq -e '.boot_counter.systemd_boot.listed == 1' "$VT_TMP/st.json" >/dev/null || fail "a dropped entry counted"
echo kernel >"$ESP/$MID/6.1.0-26-amd64/linux"

# a counted entry (name +LEFT-DONE) chosen by a pattern: its tries; used up (+0-N), the pattern
# goes on to the next match, as bad entries sort last
sed 's/^title .*/title      trial/' "$ESP/loader/entries/$MID-6.1.0-26-amd64.conf" >"$ESP/loader/entries/vfiotx-1-trial-7+2-1.conf"
sed 's/^title .*/title      last good/; /^sort-key/d' "$ESP/loader/entries/$MID-6.1.0-25-amd64.conf" >"$ESP/loader/entries/vfiotx-0-last-good.conf"
efivar LoaderEntryDefault 'vfiotx-*'
next "vfiotx-1-trial-7+2-1.conf" "LoaderEntryDefault" 2
run 0 vt --root "$ROOT" --sysfs "$SYSDIR" --proc "$PROC" status
assert_contains "$OUT" "chosen by LoaderEntryDefault 'vfiotx-*', 2 tries left"
mv "$ESP/loader/entries/vfiotx-1-trial-7+2-1.conf" "$ESP/loader/entries/vfiotx-1-trial-7+0-3.conf"
next "vfiotx-0-last-good.conf" "LoaderEntryDefault" null

# an entry that is not text: status says what it cannot tell and goes on
printf 'title x\0y\n' >"$ESP/loader/entries/zz-broken.conf"
run 0 vt --root "$ROOT" --sysfs "$SYSDIR" --proc "$PROC" status
assert_contains "$(cat "$VT_TMP/stderr")" "cannot tell which entry systemd-boot boots next"
assert_contains "$(cat "$VT_TMP/stderr")" "zz-broken.conf"
assert_not_contains "$OUT" "next boot:"
assert_contains "$OUT" "boot: systemd-boot"

finish
