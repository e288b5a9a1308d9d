#!/usr/bin/env bash
# The Ansible collection contrib/ansible (vfiotx.passthrough) against fixture hosts, with
# ansible-playbook -c local: check mode writes nothing and shows the diff, apply changes once
# and then is idempotent, a refused plan fails with its reasons (and force goes ahead),
# state=rolled_back restores the good files, and the rollout role waits for a trial to be
# confirmed and stops the rollout at a host that fell back.
#
#   VFIOTX_BIN=build/vfiotx VFIOTX_SRC=. VFIOTX_FIXTURES=tests/fixtures bash tests/ansible/test_ansible.sh
#
# Needs ansible-playbook (Debian 12: ansible-core) and grub-editenv (grub2-common, for the
# boot-counted trial); fails without them.
: "${VFIOTX_SRC:?set to the source tree}"
. "$VFIOTX_SRC/tests/cli/lib.sh"

# scripts/install-deps.sh installs both: missing, the test fails rather than pass unseen.
for tool in ansible-playbook grub-editenv; do
	if ! command -v "$tool" >/dev/null; then
		echo "FAIL: $tool is not installed (scripts/install-deps.sh installs it)" >&2
		exit 1
	fi
done
# absolute paths: the modules run in their own working directory
VFIOTX_BIN=$(realpath "$VFIOTX_BIN") VFIOTX_SRC=$(realpath "$VFIOTX_SRC") VFIOTX_FIXTURES=$(realpath "$VFIOTX_FIXTURES")

# --- Ansible from the source tree: the collection is found through ANSIBLE_COLLECTIONS_PATH
# (a link named ansible_collections/vfiotx/passthrough), nothing is installed; its state, temp
# files and HOME stay in the test's directory.
mkdir -p "$VT_TMP/collections/ansible_collections/vfiotx" "$VT_TMP/home" "$VT_TMP/ansible-tmp"
: >"$VT_TMP/ansible.cfg" # no configuration from the machine or the working directory
ln -s "$VFIOTX_SRC/contrib/ansible" "$VT_TMP/collections/ansible_collections/vfiotx/passthrough"
python=$(command -v python3)
export HOME="$VT_TMP/home" ANSIBLE_COLLECTIONS_PATH="$VT_TMP/collections" \
	ANSIBLE_LIBRARY="$VFIOTX_SRC/contrib/ansible/plugins/modules" \
	ANSIBLE_LOCAL_TEMP="$VT_TMP/ansible-tmp" ANSIBLE_REMOTE_TEMP="$VT_TMP/ansible-tmp" \
	ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 \
	ANSIBLE_PYTHON_INTERPRETER="$python" ANSIBLE_DEPRECATION_WARNINGS=0 \
	ANSIBLE_CONFIG="$VT_TMP/ansible.cfg" ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_PIPELINING=1

igpu=0000:00:02.0 # passthrough allowed on this fixture
sata=0000:00:17.0 # controls the disk holding / and /boot: refused
use_host intel-igpu-desktop
host_proc=$PROC

# A GRUB host with fake rebuild tools and vfiotx's boot units, as tests/cli/test_trial.sh
# makes it: apply rebuilds and arms a boot-counted trial.
grub_host() {
	local r
	r=$(mkhost intel-igpu-desktop)
	fake_tools "$r"
	touch "$r/usr/sbin/update-initramfs" "$r/usr/sbin/update-grub"
	mkdir -p "$r/etc/grub.d" && cp "$VFIOTX_SRC/scripts/grub.d/42_vfiotx" "$r/etc/grub.d/"
	bash "$VFIOTX_SRC/tests/cli/trial-units.sh" "$r" enable
	grub-editenv "$r/boot/grub/grubenv" create
	for k in 6.1.0-25-amd64 6.1.0-26-amd64; do update-initramfs -u -k $k >/dev/null; done
	update-grub >/dev/null
	: >"$FAKE_LOG"
	root=$r
}
v() { vt --root "$root" --sysfs "$SYS" --proc "$host_proc" --no-chroot "$@"; }
# Everything vfiotx manages or rebuilds: /etc, /boot (initramfs, grub.cfg, grubenv).
host_state() {
	(cd "$1" && find etc boot -type f | sort | while read -r f; do printf '%s ' "$f"; fingerprint "$f"; done)
}
status_field() { # ROOT PYTHON-EXPR-ON-d
	"$VFIOTX_BIN" --root "$1" --sysfs "$SYS" --proc "$host_proc" --no-chroot --json status |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print('"$2"')'
}

# The module in a one-task playbook; a second task prints the registered result (base64) for
# the test to read.
cat >"$VT_TMP/module.yml" <<'EOF'
- hosts: localhost
  gather_facts: false
  tasks:
    - name: vfiotx
      vfiotx.passthrough.vfiotx:
        devices: "{{ devices | default([]) }}"
        state: "{{ vstate | default('present') }}"
        force: "{{ force | default(false) | bool }}"
        cmdline_add: "{{ cmdline_add | default([]) }}"
        root: "{{ root }}"
        sysfs: "{{ sysfs }}"
        proc: "{{ proc }}"
        no_chroot: true
        binary: "{{ bin }}"
      register: r
    - name: show the result to the test (debug runs on the controller only, no module)
      ansible.builtin.debug:
        msg: "RESULT={{ r | to_json | b64encode }}="
EOF
# ap EXPECTED_RC [ansible-playbook args...]: output in $OUT, the module's result in $RESULT
ap() {
	local want=$1 rc=0
	shift
	OUT=$(ansible-playbook -c local -i localhost, "$@" 2>&1) || rc=$?
	RESULT=$(sed -n 's/.*"RESULT=\([A-Za-z0-9+/=]*\)=".*/\1/p' <<<"$OUT" | base64 -d 2>/dev/null || true)
	[ -n "$RESULT" ] || RESULT='{}'
	if [ "$rc" != "$want" ]; then
		fail "ansible-playbook exit $rc (wanted $want): $*"
		echo "--- output (end):"$'\n'"$(tail -c 3000 <<<"$OUT")" >&2
	fi
}
mod() { # EXPECTED_RC JSON-EXTRA-VARS [args...]
	local want=$1 extra=$2
	shift 2
	ap "$want" "$VT_TMP/module.yml" -e "$(python3 -c '
import json, sys
d = json.loads(sys.argv[1]); d.update(root=sys.argv[2], sysfs=sys.argv[3], proc=sys.argv[4], bin=sys.argv[5])
print(json.dumps(d))' "$extra" "$root" "$SYS" "$host_proc" "$VFIOTX_BIN")" "$@"
}
result() { python3 -c 'import json,sys; r=json.load(sys.stdin); print('"$1"')' <<<"$RESULT"; }
recap_changed() { sed -n 's/^localhost *:.* changed=\([0-9]*\) .*/\1/p' <<<"$OUT"; }

# --- check mode: plan only, nothing on disk changes, --diff shows the change.
grub_host
pristine=$(host_state "$root")
mod 0 "{\"devices\": [\"$igpu\"]}" --check --diff
assert_eq "$(host_state "$root")" "$pristine" "check mode changes no managed file"
[ ! -e "$root/var/lib/vfiotx" ] || fail "check mode must not create the journal"
assert_eq "$(cat "$FAKE_LOG")" "" "check mode runs no rebuild tool"
assert_contains "$OUT" "+options vfio-pci ids=8086:3e92" "--diff shows the modprobe.d file"
assert_contains "$OUT" "intel_iommu=on" "--diff shows the kernel command line"
assert_eq "$(recap_changed)" 1 "check mode reports the change it would make"
assert_eq "$(result 'r["changed"], r["transaction"], sorted(c["path"] for c in r["changes"])[:2]')" \
	"True None ['/etc/default/grub', '/etc/initramfs-tools/modules']" "check mode's result"
assert_eq "$(result 'any("vfio-pci" in d["prepared"] for d in r["diff"])')" True "diff entries"

# --- apply: changed once, then idempotent.
mod 0 "{\"devices\": [\"$igpu\"]}"
assert_eq "$(recap_changed)" 1 "the first run changes"
assert_eq "$(result 'r["changed"], r["transaction"], r["reboot_required"], (r["trial"] or {}).get("state")')" \
	"True 2 True armed" "apply's result: transaction, reboot, armed trial"
assert_eq "$(result 'len(r["rebuild"]) > 0 and all(isinstance(s["command"], list) for s in r["rebuild"])')" True \
	"the rebuild steps, each an argv"
grep -q '^options vfio-pci ids=8086:3e92' "$root/etc/modprobe.d/vfiotx.conf" || fail "apply wrote modprobe.d"
assert_contains "$(cat "$FAKE_LOG")" "update-grub" "apply rebuilt"
applied=$(host_state "$root")
assert_eq "$(status_field "$root" 'd["state"]')" armed "vfiotx status after apply"
mod 0 "{\"devices\": [\"$igpu\"]}"
assert_eq "$(recap_changed)" 0 "the second identical run changes nothing"
assert_eq "$(result 'r["changed"], r["transaction"]')" "False None" "idempotent result"
assert_eq "$(host_state "$root")" "$applied" "the second run writes nothing"

# --- state=rolled_back: check mode predicts it, then the good snapshot's files are back.
mod 0 '{"vstate": "rolled_back"}' --check
assert_eq "$(recap_changed)" 1 "check mode predicts the rollback"
assert_eq "$(host_state "$root")" "$applied" "a rollback in check mode writes nothing"
mod 0 '{"vstate": "rolled_back"}' --diff
assert_eq "$(recap_changed)" 1 "the rollback changes"
assert_contains "$OUT" "-options vfio-pci ids=8086:3e92" "--diff shows what the rollback removes"
assert_eq "$(result 'r["changed"], type(r["transaction"]).__name__')" "True int" "rollback's result"
# /etc exactly as before the apply (/boot is rebuilt, so only /etc is compared)
[ ! -e "$root/etc/modprobe.d/vfiotx.conf" ] || fail "the rollback removes the file apply created"
assert_eq "$(host_state "$root" | grep '^etc/')" "$(grep '^etc/' <<<"$pristine")" \
	"state=rolled_back restores the files of before the first apply"
mod 0 '{"vstate": "rolled_back"}'
assert_eq "$(recap_changed)" 0 "a second rollback has nothing to do"

# --- a refused plan fails with every reason; force goes ahead.
grub_host
pristine=$(host_state "$root")
mod 2 "{\"devices\": [\"$sata\"]}" --check
assert_contains "$OUT" "root-disk" "check mode: the refusal's code"
mod 2 "{\"devices\": [\"$sata\"]}"
assert_contains "$OUT" "vfiotx refused the plan" "the failure says it was refused"
assert_contains "$OUT" "root-disk [0000:00:17.0]" "the refusal's code and device"
assert_contains "$OUT" "boot-disk [0000:00:17.0]" "every refusal"
assert_contains "$OUT" "controls the disk that holds /" "the refusal's message"
assert_contains "$OUT" "advice: keep this controller on the host" "the refusal's advice"
assert_contains "$OUT" "failed=1" "the task failed"
assert_eq "$(host_state "$root")" "$pristine" "a refused apply changes nothing"
mod 0 "{\"devices\": [\"$sata\"], \"force\": true}"
assert_eq "$(recap_changed)" 1 "force: true goes ahead"
assert_contains "$OUT" "refusal overridden by force: root-disk" "the overridden refusals are warnings"
grep -q 'ids=8086:a352' "$root/etc/modprobe.d/vfiotx.conf" || fail "the forced apply wrote modprobe.d"

# --- an error fails with vfiotx's message.
mod 2 '{"devices": ["0000:09:00.0"]}'
assert_contains "$OUT" "vfiotx apply failed: " "an error names the command"
assert_contains "$OUT" "0000:09:00.0" "and vfiotx's message"

# --- the rollout role, through playbooks/rollout.yml, without rebooting: a background job
# plays the part of the boot (vfiotx boot, as vfiotx-boot.service) once the trial is armed.
# simulate ROOT confirm|fallback: wait for the armed trial, then boot into it and confirm, or
# let GRUB use up the tries and boot the last good entry.
simulate() {
	local r=$1 how=$2 i proc
	proc="$VT_TMP/proc-$how-$(basename "$r")"
	export FAKE_ROOT=$r # run in the background: only for this host's boot
	rm -rf "$proc" && cp -a "$host_proc" "$proc"
	for ((i = 0; i < 200; i++)); do
		"$VFIOTX_BIN" --root "$r" --sysfs "$SYS" --proc "$host_proc" --json status 2>/dev/null |
			grep -q '"state": *"armed"' && break
		sleep 0.3
	done
	if [ "$how" = confirm ]; then
		sed -i 's|$| vfiotx.trial=2 panic=10|' "$proc/cmdline"
		"$VFIOTX_BIN" --root "$r" --sysfs "$SYS" --proc "$proc" --no-chroot boot
		"$VFIOTX_BIN" --root "$r" --sysfs "$SYS" --proc "$proc" --no-chroot confirm
	else
		grub-editenv "$r/boot/grub/grubenv" set vfiotx_tries=0 vfiotx_fallback=2 # what GRUB does
		sed -i 's|$| vfiotx.fallback=1|' "$proc/cmdline"
		"$VFIOTX_BIN" --root "$r" --sysfs "$SYS" --proc "$proc" --no-chroot boot
	fi
} >>"$VT_TMP/simulate.log" 2>&1
inventory() { # HOST=ROOT...: each host runs vfiotx through a wrapper that points the fake
	# rebuild tools at its own root
	local h
	{
		echo "[vfiotx_hosts]"
		for h in "$@"; do
			printf '#!/bin/sh\nFAKE_ROOT=%q exec %q "$@"\n' "${h#*=}" "$VFIOTX_BIN" >"$VT_TMP/vfiotx-${h%%=*}"
			chmod +x "$VT_TMP/vfiotx-${h%%=*}"
			echo "${h%%=*} ansible_connection=local vfiotx_root=${h#*=} vfiotx_binary=$VT_TMP/vfiotx-${h%%=*}"
		done
		echo "[vfiotx_hosts:vars]"
		echo "vfiotx_become=false"
		echo "vfiotx_reboot=false"
		echo "vfiotx_sysfs=$SYS"
		echo "vfiotx_proc=$host_proc"
		echo "vfiotx_no_chroot=true"
		echo "vfiotx_confirm_retries=60"
		echo "vfiotx_confirm_delay=1"
		echo "vfiotx_confirm_rounds=2" # the second round is skipped once decided
	} >"$VT_TMP/inventory.ini"
}
rollout() { # EXPECTED_RC [ansible-playbook args...]
	local want=$1 rc=0
	shift
	OUT=$(ansible-playbook -i "$VT_TMP/inventory.ini" -e "{\"vfiotx_devices\": [\"$igpu\"]}" "$@" \
		"$VFIOTX_SRC/contrib/ansible/playbooks/rollout.yml" 2>&1) || rc=$?
	if [ "$rc" != "$want" ]; then
		fail "rollout exit $rc (wanted $want)"
		echo "--- output (end):"$'\n'"$(tail -c 3000 <<<"$OUT")"$'\n'"--- simulated boot:" >&2
		cat "$VT_TMP/simulate.log" >&2
	fi
}

# check mode: the role plans, shows the diff, changes nothing and waits for nothing
grub_host
pristine=$(host_state "$root")
inventory "hostA=$root"
rollout 0 --check --diff
assert_contains "$OUT" "+options vfio-pci ids=8086:3e92" "the rollout in check mode shows the diff"
assert_eq "$(host_state "$root")" "$pristine" "the rollout in check mode changes nothing"
[ ! -e "$root/var/lib/vfiotx" ] || fail "the rollout in check mode must not create the journal"
assert_not_contains "$OUT" "Poll vfiotx status" "check mode does not wait for a trial"

# a trial that is confirmed: the role waits for it and succeeds
simulate "$root" confirm &
sim=$!
rollout 0
wait "$sim" || fail "the simulated boot failed: $(cat "$VT_TMP/simulate.log")"
assert_eq "$(status_field "$root" 'd["state"]')" good "the trial was confirmed"
assert_contains "$OUT" "transaction 2 confirmed good" "the role reports the confirmed transaction"
assert_contains "$(grep '^hostA ' <<<"$OUT")" "failed=0" "the rollout succeeds"

# a trial that falls back stops the rollout: batches of 2 hosts, then 1 (with the default
# serial, every batch is 1 host until there are 20), so that it is max_fail_percentage: 0 that
# stops the play when one host of a batch falls back and the other is confirmed
grub_host
rootA=$root
grub_host
rootB=$root
grub_host
rootC=$root
stateC=$(host_state "$rootC")
inventory "hostA=$rootA" "hostB=$rootB" "hostC=$rootC"
simulate "$rootA" fallback &
simA=$!
simulate "$rootB" confirm &
simB=$!
rollout 2 -e '{"vfiotx_rollout_serial": [2, 1]}'
wait "$simA" || fail "the simulated fallback boot failed: $(cat "$VT_TMP/simulate.log")"
wait "$simB" || fail "the simulated boot failed: $(cat "$VT_TMP/simulate.log")"
assert_eq "$(status_field "$rootA" 'd["state"].replace(" ", "-")')" "rolled-back" "hostA fell back"
assert_eq "$(status_field "$rootB" 'd["state"]')" good "hostB was confirmed"
assert_contains "$OUT" "hostA: the trial of transaction 2 failed and the host fell back to its last good" \
	"the role says the host fell back"
assert_contains "$OUT" "tries exhausted" "with the trial's reason"
assert_contains "$(grep '^hostA ' <<<"$OUT")" "failed=1" "hostA failed"
assert_contains "$(grep '^hostB ' <<<"$OUT")" "failed=0" "hostB did not fail"
assert_not_contains "$OUT" "hostC" "the rollout stopped before hostC's batch"
assert_eq "$(host_state "$rootC")" "$stateC" "hostC was never changed"
[ ! -e "$rootC/var/lib/vfiotx" ] || fail "hostC has no journal"

# an earlier trial still undecided: the role refuses to start (on the host never reached)
root=$rootC
FAKE_ROOT=$rootC v apply -y --device "$igpu" >/dev/null 2>&1
inventory "hostA=$root"
rollout 2
assert_contains "$OUT" "is still armed" "an undecided trial stops the role"

finish
