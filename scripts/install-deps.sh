#!/usr/bin/env bash
# Install what vfiotx needs to build and test on Debian 12 (bookworm). Idempotent.
# Usage: scripts/install-deps.sh [--vm] [--deb]
#   --vm adds what the VM end-to-end tests need, --deb what scripts/build-deb.sh needs (the
#   Debian packaging tools and lintian; the build dependencies of debian/control are above).
set -euo pipefail

pkgs=(
	build-essential cmake pkg-config git
	libgit2-dev libpci-dev libarchive-dev libjson-c-dev nettle-dev zlib1g-dev libkmod-dev libcmocka-dev
	pci.ids pciutils kmod
	# used by the tests as oracles and tools
	attr util-linux python3 bc cpio zstd xz-utils lz4 gzip grub2-common
	# the man page check (lint/options-docs): groff, col
	groff-base bsdextrautils
	# the JSON contract test (Draft 2020-12 schemas, node_exporter textfile parser) and the
	# Ansible collection test (contrib/ansible)
	python3-jsonschema python3-prometheus-client ansible-core
	# vm-config's libvirt XML, validated against libvirt's own schemas (virt-xml-validate)
	libvirt-clients
)
for arg in "$@"; do
	case "$arg" in
	--vm) pkgs+=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs fdisk socat ovmf mtools dosfstools) ;;
	--deb) pkgs+=(debhelper dpkg-dev lintian) ;;
	*)
		echo "usage: $0 [--vm] [--deb]" >&2
		exit 2
		;;
	esac
done

sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
