#!/usr/bin/env bash
# Install vfiotx's trial units into ROOT and enable them the way `systemctl enable` does (a link
# in the target's .wants/ directory to the unit file), so apply can arm a trial there:
#   trial-units.sh ROOT [enable|disable|mask]
# The units come from scripts/systemd/*.in with the paths filled in, as cmake --install does.
set -eu
root=$1 mode=${2:-enable}
src=${VFIOTX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
unitdir=$root/lib/systemd/system etc=$root/etc/systemd/system
mkdir -p "$unitdir" "$etc"
for in in "$src"/scripts/systemd/*.in; do
	name=$(basename "$in" .in)
	sed -e 's|@SBINDIR@|/usr/sbin|g' -e 's|@DATADIR@|/usr/share|g' "$in" >"$unitdir/$name"
done
for unit in vfiotx-boot.service:sysinit.target vfiotx-confirm.service:multi-user.target \
	vfiotx-deadline.timer:timers.target; do
	name=${unit%%:*} target=${unit#*:}
	rm -f "$etc/$target.wants/$name" "$etc/$name"
	case $mode in
	enable) mkdir -p "$etc/$target.wants" && ln -s "/lib/systemd/system/$name" "$etc/$target.wants/$name" ;;
	mask) ln -s /dev/null "$etc/$name" ;;
	disable) ;;
	*) echo "trial-units.sh: unknown mode $mode" >&2 && exit 2 ;;
	esac
done
