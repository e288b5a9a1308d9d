#!/usr/bin/env bash
# Build the Debian package (debian/) and check it with lintian; exits non-zero when the build
# fails or lintian reports an error (warnings are listed, docs/packaging.md explains them).
#
# dpkg-buildpackage writes into debian/ and its results into the parent directory, so the
# build runs in a copy of the sources under build/deb/src (the files git knows, tracked or new
# and not ignored; build*/ is ignored): the source tree itself gets nothing but build/deb/.
# Results: build/deb/vfiotx_<version>_<arch>.deb, the .changes and .buildinfo, and
# build/deb/lintian.txt.
#
# Usage: scripts/build-deb.sh        (VFIOTX_DEB_JOBS=N: build jobs, default nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$top/build/deb

scripts/install-deps.sh --deb

rm -rf "$out"
mkdir -p "$out/src/vfiotx"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# --ignore-failed-read: a tracked file deleted in the working tree is left out.
	git -C "$top" ls-files -z --cached --others --exclude-standard |
		tar -C "$top" --null --ignore-failed-read -T - -cf - |
		tar -C "$out/src/vfiotx" -xf -
else
	tar -C "$top" --exclude='./build*' --exclude='./out' -cf - . | tar -C "$out/src/vfiotx" -xf -
fi

(
	cd "$out/src/vfiotx"
	DEB_BUILD_OPTIONS="parallel=${VFIOTX_DEB_JOBS:-$(nproc)}" dpkg-buildpackage -us -uc -b
)
find "$out/src" -maxdepth 1 -type f -exec mv -t "$out" {} +
rm -rf "$out/src"

changes=("$out"/vfiotx_*.changes)
echo "== lintian ${changes[*]##*/}"
# The .changes names the .deb and the .buildinfo: lintian checks all three.
rc=0
lintian --fail-on error --display-info "${changes[@]}" >"$out/lintian.txt" 2>&1 || rc=$?
cat "$out/lintian.txt"
if [ "$rc" != 0 ]; then
	echo "build-deb: lintian failed (exit $rc): see above and docs/packaging.md" >&2
	exit "$rc"
fi
ls -l "$out"/*.deb
