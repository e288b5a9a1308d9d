#!/usr/bin/env bash
# Set up a fresh Debian 12 machine, build vfiotx with ASan+UBSan and run the whole test suite:
# unit, CLI and fuzz replays, then the end-to-end tests in a QEMU guest (tests/vm/README.md;
# they need Debian's package archive for a cold image; the whole run takes about 68 minutes on
# 2 cores from an empty VM cache).
# VFIOTX_VM=0 leaves the VM tests out (and QEMU uninstalled): ctest then reports vm/skipped
# and says why, as it does when QEMU, mmdebstrap or debugfs is missing.
# It also builds the Debian package and checks it with lintian (scripts/build-deb.sh: the .deb
# lands in build/deb/; a lintian error fails the run): the VM tests run on that package, as apt
# installs it. And it runs the demo (scripts/demo.sh).
# Usage: scripts/test.sh [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

vm=ON
if [ "${VFIOTX_VM:-1}" = 0 ]; then
	vm=OFF
	scripts/install-deps.sh
else
	scripts/install-deps.sh --vm
fi
# The package first: the VM tests install it with apt (tests/vm/package_image.py).
scripts/build-deb.sh
debs=(build/deb/vfiotx_*_amd64.deb)
if [ "${#debs[@]}" != 1 ] || [ ! -f "${debs[0]}" ]; then
	echo "test.sh: expected one package in build/deb, found: ${debs[*]}" >&2
	exit 1
fi
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DVFIOTX_SANITIZE=ON -DVFIOTX_VM_TESTS=$vm \
	-DVFIOTX_VM_DEB="$PWD/${debs[0]}"
cmake --build build-test -j"$(nproc)"
# The README's demo, as a user runs it (its own build, exit 0 or the run fails).
echo "== scripts/demo.sh"
scripts/demo.sh
# The tests need root: they set owners and xattrs and mount a read-only tmpfs; the VM tests
# build a disk image and write into its file system.
# Two at a time on two cores, guests included: tests/CMakeLists.txt orders them by COST so the
# guests' chain, the critical path, is never left waiting (tests/vm/README.md has the times).
jobs=(-j"$(nproc)")
if [ "$(id -u)" != 0 ]; then
	exec sudo ctest --test-dir build-test --output-on-failure "${jobs[@]}" "$@"
fi
exec ctest --test-dir build-test --output-on-failure "${jobs[@]}" "$@"
