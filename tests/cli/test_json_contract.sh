#!/usr/bin/env bash
# The JSON contract (docs/json.md): with --json every command writes exactly one document on
# stdout, errors included, and it validates against docs/schemas/<command>.schema.json (Debian's
# python3-jsonschema, Draft 2020-12). Every command runs on every fixture host, through a whole
# life: plan, apply, status, confirm, log, show, export, import, rollback, and the failures
# (usage, refusal, a bad file with its line). --detailed-exitcode tells changed (4), nothing to
# do (0) and refused (3) apart. status --textfile is parsed by prometheus_client's own parser.
. "$(dirname "$0")/lib.sh"

: "${VFIOTX_SRC:?set by ctest}"
SCHEMAS="$VFIOTX_SRC/docs/schemas"
# Debian's interpreter and its python3-jsonschema, not another python3 earlier on PATH.
PY=/usr/bin/python3
NDOCS=0

# doc EXPECTED_RC COMMAND-NAME ARGS...: run vfiotx with --json, check the exit code, and that
# stdout is one document valid for COMMAND-NAME. The document is left in $OUT.
doc() {
	local want=$1 name=$2
	shift 2
	run "$want" "$VFIOTX_BIN" --json "$@"
	printf '%s' "$OUT" >"$VT_TMP/doc.json"
	if ! "$PY" "$VFIOTX_SRC/tests/cli/json_validate.py" "$SCHEMAS" "$VT_TMP/doc.json" "$name" 2>"$VT_TMP/verr"; then
		fail "vfiotx --json $*: $(cat "$VT_TMP/verr")"
	fi
	assert_not_contains "$OUT" '\/' "no escaped slashes: vfiotx --json $*"
	NDOCS=$((NDOCS + 1))
}

# jq-like checks on $OUT: q 'python expression over d' 'what'
q() {
	"$PY" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <<<"$OUT" ||
		fail "$2: $1 is false in: ${OUT:0:600}"
}

# The validator itself must fail on what breaks the contract: text, two documents, a key the
# schema does not know, a wrong type.
neg() {
	printf '%s' "$1" >"$VT_TMP/neg.json"
	if "$PY" "$VFIOTX_SRC/tests/cli/json_validate.py" "$SCHEMAS" "$VT_TMP/neg.json" 2>/dev/null; then
		fail "the validator accepts $2"
	fi
}
neg 'state: none' "text"
neg '{"schema_version":1,"command":"log","ok":true,"outcome":"unchanged","transactions":[]}{}' "two documents"
neg '{"schema_version":1,"command":"log","ok":true,"outcome":"unchanged","transactions":[],"txn":1}' "an unknown key"
neg '{"schema_version":1,"command":"log","ok":true,"outcome":"unchanged","transactions":{}}' "an object for a list"
neg '{"schema_version":1,"command":"log","ok":false,"outcome":"unchanged","transactions":[]}' "ok false without an error"
neg '{"schema_version":2,"command":"log","ok":true,"outcome":"unchanged","transactions":[]}' "another schema version"

# pick FILTER: the first device of the last `devices` document for which FILTER (python over
# the device d) holds, or "".
pick() {
	"$PY" -c '
import json, sys
for d in json.load(sys.stdin)["devices"]:
    if eval(sys.argv[1]):
        print(d["bdf"]); break' "$1" <<<"$DEVICES"
}

life() { # HOST BOOT: a whole life of the host, every document validated
	local host=$1 boot=$2 root ok_dev="" bad_dev=""
	root=$(mkhost "$host" "$boot")
	use_host "$host"
	fake_tools "$root"
	local V=(--root "$root" --sysfs "$SYS" --proc "$PROC" --no-chroot)
	local D=(--detailed-exitcode "${V[@]}")

	doc 0 devices "${V[@]}" devices
	DEVICES=$OUT
	# a device apply accepts (with the rest of its IOMMU group: the first whose plan is not
	# refused), and one a safety check refuses
	local cand g m args=()
	for m in ids override; do
	[ -z "$ok_dev" ] || break
	for cand in $("$PY" -c '
import json, sys
for d in json.load(sys.stdin)["devices"]:
    if d["class"][:2] in ("03", "04", "0c", "02", "01") and d["iommu_group"] is not None:
        print(d["bdf"])' <<<"$DEVICES"); do
		args=(--method "$m")
		for g in $("$PY" -c '
import json, sys
devs = json.load(sys.stdin)["devices"]
me = [d for d in devs if d["bdf"] == sys.argv[1]][0]
print(" ".join(m for m in [me["bdf"]] + me["group_members"] if not [d for d in devs if d["bdf"] == m and d["class"][:2] == "06"]))' "$cand" <<<"$DEVICES"); do
			args+=(--device "$g")
		done
		if "$VFIOTX_BIN" --detailed-exitcode "${V[@]}" plan "${args[@]}" >/dev/null 2>&1; [ $? = 4 ]; then
			ok_dev=$cand
			break
		fi
	done
	done
	bad_dev=$(pick 'd["verdict"] == "refused"')
	echo "$host ($boot): a device apply accepts: ${ok_dev:-none}; one it refuses: ${bad_dev:-none}"
	# check exits 1 when the host is not ready; its document is valid either way
	run_rc=0
	"$VFIOTX_BIN" --json "${V[@]}" check >/dev/null 2>&1 || run_rc=$?
	doc "$run_rc" check "${V[@]}" check
	if [ "$run_rc" = 1 ]; then q 'd["outcome"] == "attention" and not d["ready"]' "$host: check not ready"; fi

	doc 0 status "${D[@]}" status
	q 'd["state"] == "none" and d["applied"] is None and d["trial"] is None' "$host: fresh status"
	doc 0 log "${V[@]}" log
	q 'd["transactions"] == []' "$host: empty log is an empty list"

	if [ -n "$bad_dev" ]; then
		doc 3 plan "${D[@]}" plan --device "$bad_dev"
		q 'd["outcome"] == "refused" and d["ok"] and len(d["refusals"]) > 0 and all(r["code"] and r["message"] for r in d["refusals"])' "$host: refused plan"
		doc 0 plan "${V[@]}" plan --device "$bad_dev" # people: a plan is a plan
		doc 3 apply "${D[@]}" apply -y --no-arm --device "$bad_dev"
		q 'd["outcome"] == "refused" and not d["ok"] and d["error"]["code"] == "refused" and d["refusals"]' "$host: refused apply"
		doc 1 apply "${V[@]}" apply -y --no-arm --device "$bad_dev"
		[ ! -e "$root/var/lib/vfiotx/journal.git/refs/heads/journal" ] || [ "$(txn_count "$root")" -le 1 ] ||
			fail "$host: a refused apply recorded a transaction"
	fi

	if [ -n "$ok_dev" ]; then
		doc 4 plan "${D[@]}" plan "${args[@]}"
		q 'd["would_change"] and d["outcome"] == "changed" and any(c["path"] == "/etc/modprobe.d/vfiotx.conf" and c["action"] == "create" for c in d["changes"])' "$host: plan's changes"
		q '"".join(c["diff"] for c in d["changes"]) == d["diff"]' "$host: the changes' diffs make the whole diff"
		doc 4 apply "${D[@]}" apply -y --no-arm "${args[@]}"
		q 'd["changed"] and d["transaction"]["id"] == 2 and d["reboot_required"] and d["trial"] is None and len(d["rebuild"]) > 0' "$host: apply"
		q 'all(s["command"][0] in ("update-initramfs", "grub-mkconfig", "update-grub", "proxmox-boot-tool", "kernel-install", "dracut", "bootctl") for s in d["rebuild"])' "$host: rebuild steps name their tools"
		doc 0 apply "${D[@]}" apply -y --no-arm "${args[@]}"
		q 'not d["changed"] and d["transaction"] is None and not d["reboot_required"]' "$host: second apply"
		doc 0 plan "${D[@]}" plan "${args[@]}"
		q 'not d["would_change"] and d["changes"] == [] and d["diff"] == ""' "$host: plan after apply"
		doc 4 status "${D[@]}" status
		q 'd["state"] == "applied" and d["attention"] and d["applied"]["id"] == 2 and d["good"]["id"] == 1 and "'"$ok_dev"'" in [x["bdf"] for x in d["devices"]]' "$host: status after apply"

		# drift: a hand edit is listed by path
		echo "# a hand edit" >>"$root/etc/modules"
		doc 4 status "${D[@]}" status
		q 'd["drift"] == ["/etc/modules"]' "$host: drift is a list of paths"
		sed -i '$d' "$root/etc/modules"

		"$VFIOTX_BIN" "${V[@]}" status --textfile "$VT_TMP/vfiotx.prom" >/dev/null || fail "$host: status --textfile"
		"$PY" - "$VT_TMP/vfiotx.prom" <<-'EOF' || fail "$host: the textfile is not what node_exporter reads"
			import sys
			from prometheus_client.parser import text_string_to_metric_families
			m = {}
			for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
			    for s in fam.samples:
			        m[(s.name, tuple(sorted(s.labels.items())))] = s.value
			assert m[("vfiotx_state", (("state", "applied"),))] == 1, m
			assert m[("vfiotx_state", (("state", "good"),))] == 0, m
			assert m[("vfiotx_applied_transaction", ())] == 2, m
			assert m[("vfiotx_good_transaction", ())] == 1, m
			assert m[("vfiotx_trial_active", ())] == 0 and m[("vfiotx_drift_files", ())] == 0, m
			assert m[("vfiotx_applied_timestamp_seconds", ())] > 1.7e9, m
		EOF
		[ "$(stat -c %a "$VT_TMP/vfiotx.prom")" = 644 ] || fail "$host: node_exporter cannot read the textfile"
		ls "$VT_TMP"/vfiotx.prom.tmp-* >/dev/null 2>&1 && fail "$host: a temporary textfile is left"

		doc 0 log "${V[@]}" log -p
		q '[t["id"] for t in d["transactions"]] == [2, 1] and "vfio" in d["transactions"][0]["diff"]' "$host: log -p"
		doc 0 show "${V[@]}" show 2
		q 'd["transaction"]["kind"] == "apply" and len(d["transaction"]["commit"]) == 40' "$host: show"
		doc 0 export "${V[@]}" export -o "$VT_TMP/snap.tar.zst"
		q 'd["transaction"] == 2 and d["files"] > 0' "$host: export"
		doc 2 export "${V[@]}" export -o -
		doc 4 confirm "${D[@]}" confirm
		q 'd["confirmed"] == 3 or d["confirmed"] == 2' "$host: confirm names the transaction"
		doc 0 status "${D[@]}" status
		q 'd["state"] == "good" and not d["attention"]' "$host: status after confirm"
		doc 4 rollback "${D[@]}" rollback -y 1
		q 'd["changed"] and d["restored"] == 1 and d["transaction"]["id"] > 3 and len(d["changes"]) > 0 and d["reboot_required"]' "$host: rollback"
		doc 0 rollback "${D[@]}" rollback -y 1
		q 'not d["changed"] and d["transaction"] is None' "$host: rollback again"
		doc 4 import "${D[@]}" import -y "$VT_TMP/snap.tar.zst"
		q 'd["changed"] and d["transaction"]["id"] > 0' "$host: import"
	fi
}

for h in "$VFIOTX_FIXTURES"/hosts/*/; do
	h=$(basename "$h")
	[ -d "$VFIOTX_FIXTURES/hosts/$h/root" ] || continue
	life "$h" grub
done
life server-shared-nic proxmox-zfs

# Errors are documents too: usage, unknown command, a bad value, a bad file with its line.
root=$(mkhost amd-desktop grub)
doc 2 vfiotx bogus
q 'd["error"]["code"] == "usage" and d["outcome"] == "usage" and not d["ok"]' "unknown command"
doc 2 apply --root "$root" apply --frob
doc 2 log --root "$root" log -n x
doc 2 vfiotx --lock-timeout x status
doc 0 vfiotx --version
doc 0 completion completion bash
q '"complete" in d["script"]' "completion script"
doc 1 show --root "$root" show 7
printf 'GRUB_CMDLINE_LINUX_DEFAULT="quiet $(echo x)"\n' >"$root/etc/default/grub"
doc 1 plan --root "$root" plan --cmdline-add iommu=pt
q 'd["error"]["file"] == "/etc/default/grub" and d["error"]["line"] == 1 and d["error"]["code"] == "EINVAL" and d["error"]["hint"]' "a bad file's error has its file and line"
cp "$VFIOTX_FIXTURES/etc/grub/debian12/grub" "$root/etc/default/grub"
mkdir -p "$root/etc/vfiotx"
echo "device nonsense" >"$root/etc/vfiotx/vfiotx.conf"
doc 1 apply --root "$root" apply -y --no-rebuild
q 'd["error"]["file"] == "/etc/vfiotx/vfiotx.conf" and d["error"]["line"] == 1' "a bad profile line"
# -q and -v do not change the document
doc 0 status -q --root "$root" status

[ "$NDOCS" -ge 100 ] || fail "only $NDOCS documents validated"
echo "$NDOCS documents validated"
finish
