#!/usr/bin/env bash
# The goal of issue 15: the rescue hook adds at most 1 MiB to the compressed initramfs. Runs
# scripts/bench-rescue-size.sh on the built vfiotx-rescue (unstripped: more than the package
# ships) and checks what the hook copies: one statically linked file, no library.
. "$(dirname "$0")/lib.sh"
: "${VFIOTX_RESCUE_STATIC:?set by ctest}"
build=$(dirname "$VFIOTX_RESCUE_STATIC")
for tool in cpio zstd strip file; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 0; }
done

file -b "$VFIOTX_RESCUE_STATIC" | grep -Eq "static-pie linked|statically linked" || fail "vfiotx-rescue is statically linked"
run 0 bash "$VFIOTX_SRC/scripts/bench-rescue-size.sh" "$build"
echo "$OUT"
now=$(grep '^now: vfiotx-rescue' <<<"$OUT")
assert_contains "$now" " 1 file "
packed=$(awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "compressed") print $i}' <<<"$now")
[ -n "$packed" ] || fail "no compressed size in: $now"
[ "${packed:-99999999}" -le 1048576 ] || fail "the rescue hook adds $packed bytes compressed: more than 1 MiB"

# the hook as installed copies exactly that file, to /sbin/vfiotx-rescue
printf '%s\n' 'copy_exec() { echo "copy_exec $*" >>"$DESTDIR/calls"; }' >"$VT_TMP/hook-functions"
sed 's|@SBINDIR@|/usr/sbin|g' "$VFIOTX_SRC/scripts/initramfs/hooks/vfiotx-rescue.in" >"$VT_TMP/hook"
mkdir -p "$VT_TMP/initramfs"
run 0 env DESTDIR="$VT_TMP/initramfs" VFIOTX_HOOK_FUNCTIONS="$VT_TMP/hook-functions" sh "$VT_TMP/hook"
assert_contains "$ERR" "/usr/sbin/vfiotx-rescue is missing" # not installed on this machine
mkdir -p "$VT_TMP/plain" # (a root without systemd-boot, whatever this machine has)
run 0 env DESTDIR="$VT_TMP/initramfs" VFIOTX_HOOK_FUNCTIONS="$VT_TMP/hook-functions" \
	VFIOTX_RESCUE_BIN="$VFIOTX_RESCUE_STATIC" VFIOTX_HOOK_ROOT="$VT_TMP/plain" sh "$VT_TMP/hook"
assert_eq "$(cat "$VT_TMP/initramfs/calls")" "copy_exec $VFIOTX_RESCUE_STATIC /sbin/vfiotx-rescue"
# on systemd-boot (Debian's post-update hook present) FAT's modules too: the ESP is mounted by hand
printf '%s\n' 'manual_add_modules() { echo "manual_add_modules $*" >>"$DESTDIR/calls"; }' >>"$VT_TMP/hook-functions"
mkdir -p "$VT_TMP/sdboot/etc/initramfs/post-update.d" && : >"$VT_TMP/sdboot/etc/initramfs/post-update.d/systemd-boot"
: >"$VT_TMP/initramfs/calls"
run 0 env DESTDIR="$VT_TMP/initramfs" VFIOTX_HOOK_FUNCTIONS="$VT_TMP/hook-functions" \
	VFIOTX_RESCUE_BIN="$VFIOTX_RESCUE_STATIC" VFIOTX_HOOK_ROOT="$VT_TMP/sdboot" sh "$VT_TMP/hook"
assert_eq "$(tail -n 1 "$VT_TMP/initramfs/calls")" "manual_add_modules vfat nls_cp437 nls_ascii"
finish
