#!/usr/bin/python
# -*- coding: utf-8 -*-
# The Ansible side of vfiotx: drives the vfiotx command through its JSON contract
# (--json --detailed-exitcode, docs/json.md) and never edits a file itself.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vfiotx
short_description: Set a Debian host up for VFIO PCI passthrough, as one vfiotx transaction
version_added: "0.1.0"
description:
  - Runs C(vfiotx apply), C(vfiotx plan) or C(vfiotx rollback) on the target and reports what
    it did. Every change is one transaction of vfiotx's journal (under C(/var/lib/vfiotx)),
    rebuilt (initramfs, C(grub.cfg)) and, on a GRUB host, armed as a boot-counted trial;
    unless the next boot is confirmed healthy, GRUB boots the last good configuration by itself.
  - The module only calls the C(vfiotx) binary, with C(--json --detailed-exitcode), and
    interprets its exit status and its JSON document. It never edits a file itself.
  - A plan that one of vfiotx's safety checks refuses (passing through the disk controller
    holding C(/), a bridge, half of an IOMMU group, ...) fails the task with every reason,
    unless I(force=true).
  - Applying the same specification twice is a no-op (C(changed=false)); vfiotx writes no
    transaction when the files already match.
  - The profile is remembered by vfiotx in C(/etc/vfiotx/vfiotx.conf), so I(devices) adds to
    the devices already passed through; use I(release) or I(state=absent) to remove some.
options:
  devices:
    description:
      - PCI devices to pass through, by address (C(0000:01:00.0)) or by vendor:device id
        (C(10de:1b80), every device with that id). Passed as C(--device).
      - With I(state=absent), the devices to release instead.
    type: list
    elements: str
    default: []
  release:
    description:
      - PCI devices to stop passing through (C(--release)), same forms as I(devices).
    type: list
    elements: str
    default: []
  method:
    description:
      - How vfio-pci claims the devices (C(--method)). vfiotx's default is C(ids).
    type: str
    choices: [ids, alias, blacklist, override]
  cmdline_add:
    description: Kernel command-line parameters to add (C(--cmdline-add)).
    type: list
    elements: str
    default: []
  cmdline_remove:
    description: Kernel command-line parameters to remove (C(--cmdline-remove)).
    type: list
    elements: str
    default: []
  state:
    description:
      - C(present) applies the specification (C(vfiotx apply)); with no I(devices), I(release)
        or command-line change it re-applies the remembered profile.
      - C(absent) releases the devices listed in I(devices) (and I(release)).
      - C(rolled_back) restores the last good snapshot (C(vfiotx rollback)); the specification
        options are ignored.
    type: str
    choices: [present, absent, rolled_back]
    default: present
  arm:
    description:
      - Arm a boot-counted trial for the next boot (GRUB hosts). C(false) passes C(--no-arm),
        the next boot is a normal one and nothing falls back by itself.
    type: bool
    default: true
  tries:
    description: Boots the trial gets before GRUB falls back to the last good entry (1-9).
    type: int
  rebuild:
    description:
      - Rebuild the initramfs and the boot configuration inside the transaction.
        C(false) passes C(--no-rebuild) (files only, the rebuild stays pending, no trial).
    type: bool
    default: true
  force:
    description:
      - Go ahead although a safety check refuses the plan (C(--force); vfiotx records that it
        was forced). The refusals are still returned, and shown as warnings.
    type: bool
    default: false
  root:
    description: Operate on the host whose C(/) is mounted at this directory (C(--root)).
    type: path
  sysfs:
    description: Read the devices from this sysfs tree (C(--sysfs)); for tests.
    type: path
  proc:
    description: Read cpuinfo, cmdline, mounts from this proc tree (C(--proc)); for tests.
    type: path
  no_chroot:
    description: Run the rebuild tools from C(PATH) instead of chrooted into I(root); for tests.
    type: bool
    default: false
  binary:
    description: The vfiotx program, a name looked up on C(PATH) or a path.
    type: path
    default: vfiotx
notes:
  - Check mode runs C(vfiotx plan), which writes nothing. For I(state=rolled_back) check mode
    reads C(vfiotx status) and predicts a change unless the host has the last good files (the
    applied transaction is the good one or a rollback to it, and nothing drifted); it returns
    no diff.
  - Diff mode returns vfiotx's unified diff of every file it changes (or would change).
  - Needs root on the target (vfiotx writes C(/etc), C(/boot) and C(/var/lib/vfiotx)).
  - After a change the host needs a reboot (I(reboot_required)); the C(vfiotx.passthrough.rollout)
    role reboots hosts one batch at a time and waits for each trial to be confirmed.
requirements:
  - vfiotx with the JSON contract (C(--json --detailed-exitcode), schema_version 1)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - vfiotx authors
"""

EXAMPLES = r"""
- name: Pass the GPU and its audio function through
  vfiotx.passthrough.vfiotx:
    devices:
      - "0000:01:00.0"
      - "0000:01:00.1"
  register: passthrough

- name: Reboot into the trial when something changed
  ansible.builtin.reboot:
  when: passthrough.reboot_required

- name: Pass every card with this vendor:device id, with the alias method and 2 tries
  vfiotx.passthrough.vfiotx:
    devices: ["10de:1b80"]
    method: alias
    tries: 2

- name: Add a kernel parameter only
  vfiotx.passthrough.vfiotx:
    cmdline_add: ["video=efifb:off"]

- name: Give the GPU back to the host
  vfiotx.passthrough.vfiotx:
    devices: ["0000:01:00.0", "0000:01:00.1"]
    state: absent

- name: Back to the last good snapshot
  vfiotx.passthrough.vfiotx:
    state: rolled_back

- name: A host without GRUB's boot counter (systemd-boot, Proxmox)
  vfiotx.passthrough.vfiotx:
    devices: ["0000:03:00.0"]
    arm: false
"""

RETURN = r"""
changed:
  description: Whether vfiotx wrote a transaction (or, in check mode, would).
  returned: always
  type: bool
transaction:
  description: The number of the transaction written, or null when nothing changed (and in check mode).
  returned: always
  type: int
  sample: 2
outcome:
  description: vfiotx's outcome (C(changed), C(unchanged), C(refused), C(failed), C(usage)).
  returned: always
  type: str
  sample: changed
summary:
  description: One line describing the plan.
  returned: when vfiotx gives one
  type: str
  sample: "pass through 0000:01:00.0 (10de:1b80, nouveau)"
changes:
  description: Every file changed (or, in check mode, that would change).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file, as seen from the host's C(/).
      type: str
      sample: /etc/modprobe.d/vfiotx.conf
    action:
      description: C(create), C(modify), C(delete) or C(metadata).
      type: str
    diff:
      description: The unified diff of this file.
      type: str
refusals:
  description: What vfiotx's safety checks refused (with I(force), the refusals overridden).
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: The check, e.g. C(root-disk), C(bridge), C(group), C(default-route).
      type: str
    device:
      description: The device concerned, or null.
      type: str
    message:
      description: Why.
      type: str
    advice:
      description: What to do instead, or null.
      type: str
rebuild:
  description: The rebuild steps (run, or that apply would run in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"command": ["update-initramfs", "-u", "-k", "6.1.0-26-amd64"], "description": "initramfs", "kernel": "6.1.0-26-amd64"}]
reboot_required:
  description: Whether the change takes effect only after a reboot.
  returned: always
  type: bool
trial:
  description: The boot-counted trial armed by apply (C(state), C(transaction), C(tries)), or null.
  returned: always
  type: dict
  sample: {"state": "armed", "transaction": 2, "tries": 3}
diff:
  description: The unified diffs, one entry per file, in diff mode.
  returned: in diff mode, when something changes
  type: list
  elements: dict
cmd:
  description: The vfiotx command line run.
  returned: always
  type: list
  elements: str
exit_status:
  description:
    - vfiotx's exit status with C(--detailed-exitcode) (0 nothing to do, 1 error, 2 usage,
      3 refused, 4 changed). Named so because Ansible takes a non-zero C(rc) for a failure;
      a failed task returns it as C(rc).
  returned: always
  type: int
stderr:
  description: vfiotx's messages (progress, warnings).
  returned: always
  type: str
document:
  description: vfiotx's JSON document (without C(diff) and C(changes), returned above).
  returned: always
  type: dict
"""

import json

from ansible.module_utils.basic import AnsibleModule

# vfiotx --detailed-exitcode
RC_OK = 0
RC_ERROR = 1
RC_USAGE = 2
RC_REFUSED = 3
RC_CHANGED = 4


def global_args(module):
    p = module.params
    binary = p["binary"]
    if "/" not in binary:
        binary = module.get_bin_path(binary, required=True)
    argv = [binary]
    for opt in ("root", "sysfs", "proc"):
        if p[opt]:
            argv += ["--" + opt, p[opt]]
    if p["no_chroot"]:
        argv.append("--no-chroot")
    argv += ["--json", "--detailed-exitcode"]
    return argv


def spec_args(module):
    p = module.params
    argv = []
    devices = list(p["devices"])
    release = list(p["release"])
    if p["state"] == "absent":
        release = devices + release
        devices = []
        if not release:
            module.fail_json(msg="state=absent needs the devices to release (devices or release)")
    for d in devices:
        argv += ["--device", d]
    for d in release:
        argv += ["--release", d]
    if p["method"]:
        argv += ["--method", p["method"]]
    for w in p["cmdline_add"]:
        argv += ["--cmdline-add", w]
    for w in p["cmdline_remove"]:
        argv += ["--cmdline-remove", w]
    return argv


def run_vfiotx(module, argv):
    rc, out, err = module.run_command(argv, environ_update={"LC_ALL": "C"})
    doc = None
    text = out.strip()
    if text:
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
    if not isinstance(doc, dict):
        module.fail_json(
            msg="vfiotx did not print one JSON object (exit status %d): %s"
            % (rc, (err or out).strip() or "no output"),
            cmd=argv, rc=rc, stdout=out, stderr=err,
        )
    return rc, doc, err


def outcome_of(rc, doc):
    outcome = doc.get("outcome")
    if outcome:
        return outcome
    # a document without outcome: the exit status says it
    return {RC_OK: "unchanged", RC_CHANGED: "changed", RC_REFUSED: "refused",
            RC_USAGE: "usage"}.get(rc, "failed")


def refusal_text(r):
    if not isinstance(r, dict):
        return str(r)
    text = r.get("code") or "refused"
    if r.get("device"):
        text += " [%s]" % r["device"]
    text += ": %s" % (r.get("message") or "")
    if r.get("advice"):
        text += " (advice: %s)" % r["advice"]
    return text


def fail_error(module, rc, doc, argv, err, base):
    e = doc.get("error") or {}
    msg = e.get("message") or (err.strip().splitlines() or ["vfiotx failed"])[-1]
    if e.get("hint"):
        msg += " (hint: %s)" % e["hint"]
    where = e.get("file")
    if where:
        msg += " [%s%s]" % (where, ":%s" % e["line"] if e.get("line") else "")
    base = slim(dict(base, rc=rc))
    module.fail_json(msg="vfiotx %s failed: %s" % (doc.get("command") or argv[-1], msg),
                     error=e or None, **base)


def slim(result):
    """A failed task's result: what failed, without the diffs (nothing was changed)."""
    result = dict((k, v) for k, v in result.items() if k not in ("changes", "diff"))
    if isinstance(result.get("document"), dict):
        result["document"] = dict((k, v) for k, v in result["document"].items()
                                  if k not in ("rebuild", "why"))
    return result


def diff_entries(doc):
    entries = []
    for c in doc.get("changes") or []:
        if isinstance(c, dict) and c.get("diff"):
            entries.append({"before_header": c.get("path", ""), "after_header": c.get("path", ""),
                            "prepared": c["diff"]})
    if not entries and isinstance(doc.get("diff"), str) and doc["diff"]:
        entries.append({"prepared": doc["diff"]})
    return entries


def txn_id(value):
    if isinstance(value, dict):
        return value.get("id")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def rolled_back_check_mode(module, gargs):
    argv = gargs + ["status"]
    rc, doc, err = run_vfiotx(module, argv)
    if rc not in (RC_OK, RC_CHANGED) or doc.get("ok") is False:
        fail_error(module, rc, doc, argv, err, dict(cmd=argv, stderr=err, document=doc))
    state = str(doc.get("state") or "none").replace(" ", "-")
    applied, good = doc.get("applied"), doc.get("good")
    kind = applied.get("kind") if isinstance(applied, dict) else None
    # A rollback has nothing to do when the host has the good files: the applied transaction is
    # the good one, a rollback to it, or a trial that was rolled back; drift is restored too.
    at_good = (state in ("good", "rolled-back") or kind == "rollback"
               or (txn_id(applied) is not None and txn_id(applied) == txn_id(good)))
    would = state != "none" and (bool(doc.get("drift")) or not at_good)
    module.exit_json(changed=would, transaction=None, outcome="changed" if would else "unchanged",
                     changes=[], refusals=[], rebuild=[], reboot_required=would, trial=doc.get("trial"),
                     cmd=argv, exit_status=rc, stderr=err, document=doc,
                     msg="check mode: the rollback is predicted from 'vfiotx status' (state %s)" % state)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            devices=dict(type="list", elements="str", default=[]),
            release=dict(type="list", elements="str", default=[]),
            method=dict(type="str", choices=["ids", "alias", "blacklist", "override"]),
            cmdline_add=dict(type="list", elements="str", default=[]),
            cmdline_remove=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent", "rolled_back"]),
            arm=dict(type="bool", default=True),
            tries=dict(type="int"),
            rebuild=dict(type="bool", default=True),
            force=dict(type="bool", default=False),
            root=dict(type="path"),
            sysfs=dict(type="path"),
            proc=dict(type="path"),
            no_chroot=dict(type="bool", default=False),
            binary=dict(type="path", default="vfiotx"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["tries"] is not None and not 1 <= p["tries"] <= 9:
        module.fail_json(msg="tries must be between 1 and 9")
    gargs = global_args(module)

    if p["state"] == "rolled_back":
        if module.check_mode:
            rolled_back_check_mode(module, gargs)
        argv = gargs + ["rollback", "-y"]
        if not p["rebuild"]:
            argv.append("--no-rebuild")
    else:
        spec = spec_args(module)
        if module.check_mode:
            argv = gargs + ["plan"] + spec
        else:
            argv = gargs + ["apply", "-y"]
            if p["force"]:
                argv.append("--force")
            if not p["arm"]:
                argv.append("--no-arm")
            if p["tries"] is not None:
                argv += ["--tries", str(p["tries"])]
            if not p["rebuild"]:
                argv.append("--no-rebuild")
            argv += spec

    rc, doc, err = run_vfiotx(module, argv)
    outcome = outcome_of(rc, doc)
    refusals = doc.get("refusals") or []
    result = dict(
        cmd=argv, exit_status=rc, stderr=err, outcome=outcome,
        document=dict((k, v) for k, v in doc.items() if k not in ("diff", "changes")),
        changes=doc.get("changes") if isinstance(doc.get("changes"), list) else [],
        refusals=refusals,
        rebuild=doc.get("rebuild") or [],
        reboot_required=bool(doc.get("reboot_required", False)),
        trial=doc.get("trial"),
        transaction=None if module.check_mode else txn_id(doc.get("transaction")),
    )
    if doc.get("summary"):
        result["summary"] = doc["summary"]

    if rc == RC_USAGE or outcome == "usage":
        fail_error(module, rc, doc, argv, err, result)
    refused = rc == RC_REFUSED or outcome == "refused"
    if refused and not (p["force"] and module.check_mode):
        reasons = "; ".join(refusal_text(r) for r in refusals) or (doc.get("error") or {}).get("message", "")
        module.fail_json(
            msg="vfiotx refused the plan%s, nothing was changed: %s. Change the plan as advised, "
            "or set force: true to go ahead anyway (vfiotx records that it was forced)" % (
                " to %s" % doc["summary"] if doc.get("summary") else "", reasons),
            error=doc.get("error"),
            rc=rc, **slim(result))
    if rc not in (RC_OK, RC_CHANGED, RC_REFUSED) or outcome == "failed" or doc.get("ok") is False and not refused:
        fail_error(module, rc, doc, argv, err, result)

    if module.check_mode:
        changed = rc == RC_CHANGED or bool(doc.get("would_change")) or bool(result["changes"])
        # a plan has no reboot_required key: a change of the boot files needs one
        result["reboot_required"] = bool(doc.get("reboot_required", changed))
    else:
        changed = rc == RC_CHANGED or outcome == "changed"
    for w in doc.get("warnings") or []:
        module.warn("vfiotx: %s" % w)
    for r in refusals:
        module.warn("vfiotx refusal overridden by force: %s" % refusal_text(r))
    if changed and module._diff:
        result["diff"] = diff_entries(doc)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
