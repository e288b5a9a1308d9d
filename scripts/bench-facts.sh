#!/usr/bin/env bash
# How often one `apply` reads the host's facts: the kernels' module lists (modules.dep,
# modules.builtin, /boot/config-*) and the boot path's markers (grub.cfg, the loader entries,
# proxmox-boot-uuids, kernelstub), counted with strace on a GRUB host made from the
# intel-igpu-desktop fixture (two kernels), with the rebuild tools stood in for by
# tests/cli/fake-tools and a trial armed. Run it on two builds to compare them:
#   scripts/bench-facts.sh BUILD-DIR [BUILD-DIR...]
# Prints one line per build: the file system calls (open, stat, ...) naming each kind during `apply -y --device 0000:00:02.0`.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
command -v strace >/dev/null || { echo "bench-facts: needs strace (apt-get install strace)" >&2; exit 1; }
command -v grub-editenv >/dev/null || { echo "bench-facts: needs grub-editenv (grub2-common)" >&2; exit 1; }
fix=$src/tests/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/bin"
for t in update-initramfs update-grub grub-mkconfig; do
	ln -s "$src/tests/cli/fake-tools/fake-tool" "$tmp/bin/$t"
done

printf '%-40s %10s %10s %10s %10s\n' "build" "dep" "builtin" "config" "bootpath"
for build in "$@"; do
	root=$tmp/root
	rm -rf "$root" && mkdir -p "$root"
	cp -a "$fix/hosts/intel-igpu-desktop/root/." "$root/"
	mkdir -p "$root/etc/modprobe.d" "$root/etc/initramfs-tools" "$root/etc/default" \
		"$root/boot/grub" "$root/etc/grub.d" "$root/usr/sbin"
	cp "$fix/roots/debian12/etc/modules" "$root/etc/modules"
	echo "# initramfs modules" >"$root/etc/initramfs-tools/modules"
	cp "$fix/etc/grub/debian12/grub" "$root/etc/default/grub"
	cp "$src/scripts/grub.d/42_vfiotx" "$root/etc/grub.d/"
	bash "$src/tests/cli/trial-units.sh" "$root" enable
	touch "$root/usr/sbin/update-initramfs" "$root/usr/sbin/update-grub"
	grub-editenv "$root/boot/grub/grubenv" create
	export FAKE_ROOT=$root FAKE_LOG=$tmp/tools.log
	PATH="$tmp/bin:$PATH" update-grub >/dev/null
	for k in 6.1.0-25-amd64 6.1.0-26-amd64; do PATH="$tmp/bin:$PATH" update-initramfs -u -k $k >/dev/null; done
	PATH="$tmp/bin:$PATH" strace -f -qq -e trace=%file -o "$tmp/trace" \
		"$build/vfiotx" --root "$root" --sysfs "$fix/hosts/intel-igpu-desktop/sys" \
		--proc "$fix/hosts/intel-igpu-desktop/proc" --no-chroot apply -y --device 0000:00:02.0 \
		>"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; echo "bench-facts: apply failed with $build" >&2; exit 1; }
	# only vfiotx's own reads: the stand-in tools' processes are left out
	pid=$(head -1 "$tmp/trace" | awk '{print $1}')
	mine=$(awk -v p="$pid" '$1 == p' "$tmp/trace")
	count() { grep -cE "$1" <<<"$mine" || true; }
	printf '%-40s %10s %10s %10s %10s\n' "$build" "$(count 'modules\.dep"')" \
		"$(count 'modules\.builtin"')" "$(count 'boot/config-')" \
		"$(count 'grub/grub\.cfg"|loader/entries|proxmox-boot-uuids|kernelstub')"
done
