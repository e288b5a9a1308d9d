#!/usr/bin/env bash
# Set up a fresh Debian 12 machine, build vfiotx and run its main job on the bundled demo host:
# a copy of tests/fixtures/roots/debian12 (a sample root) — never this machine's /etc.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVFIOTX_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

demo=$(mktemp -d /tmp/vfiotx-demo.XXXXXX)
cp -a tests/fixtures/roots/debian12/. "$demo/"
vfiotx=(build/vfiotx --root "$demo")
step() { printf '\n\033[1m$ vfiotx --root %s %s\033[0m\n' "$demo" "$*"; "${vfiotx[@]}" "$@"; }

echo "demo host: $demo (a copy of tests/fixtures/roots/debian12)"
step plan
step apply -y --no-rebuild
step apply -y --no-rebuild
step status
step log -p
step rollback -y
step log
echo
echo "the demo host is left at $demo; 'git -C $demo/var/lib/vfiotx/journal.git log --all' shows the journal"
