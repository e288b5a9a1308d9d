#!/usr/bin/env bash
# Set up a fresh Debian 12 machine, build vfiotx with ASan+UBSan and run the whole test suite
# (unit, CLI, fuzz replays). VFIOTX_VM=1 adds the end-to-end tests in a QEMU guest
# (tests/vm/README.md: they need the Debian mirror and take tens of minutes).
# Usage: scripts/test.sh [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh ${VFIOTX_VM:+--vm}
vm=OFF
[ -n "${VFIOTX_VM:-}" ] && vm=ON
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DVFIOTX_SANITIZE=ON -DVFIOTX_VM_TESTS=$vm
cmake --build build-test -j"$(nproc)"
# The tests need root: they set owners and xattrs and mount a read-only tmpfs.
if [ "$(id -u)" != 0 ]; then
	exec sudo ctest --test-dir build-test --output-on-failure "$@"
fi
exec ctest --test-dir build-test --output-on-failure "$@"
