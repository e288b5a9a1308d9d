#!/usr/bin/env python3
"""The layering check (docs/design.md, "Layers"): every arrow points down.

    cli/, rescue/  ->  engine/  ->  backends/, journal/  ->  fs/  ->  common/

A file may include its own folder and the folders below it, never one above it, and never
sideways between backends/ and journal/ or between cli/ and rescue/ (vfiotx-rescue, the
initramfs's static program, links only libc-only modules; its link fails on anything else).
Also:
  * <git2.h> (and any git_ call) only in journal/*.c: libgit2 stays behind the journal's types;
  * only cli/ and rescue/main.c print (printf, fprintf, puts, fputs, perror, putchar, vprintf,
    vfprintf);
  * backends/ neither writes a file nor runs a program (no fork/exec/unshare/chroot, no
    rename/unlink, no open for writing).
Usage: scripts/check-layers.py [TREE]   exit 0 when the tree holds to the picture, 1 otherwise
(every violation printed as FILE:LINE: what)."""
import os
import re
import sys

ORDER = ["common", "fs", "journal", "backends", "engine", "cli", "rescue"]
# Pairs at the same height, which never include each other.
SIDEWAYS = [{"backends", "journal"}, {"cli", "rescue"}]
# What each layer may include besides itself.
ALLOWED = {
    "common": set(),
    "fs": {"common"},
    "journal": {"fs", "common"},
    "backends": {"fs", "common"},
    "engine": {"backends", "journal", "fs", "common"},
    "cli": {"engine", "backends", "journal", "fs", "common"},
    "rescue": {"engine", "backends", "journal", "fs", "common"},
}
# Files allowed one rule, and why.
EXEMPT = {
    ("common/failpoint.c", "prints"): "the failpoint trace and hang notice are for the tests that "
                                      "drive them, on stderr, only when asked by environment",
    ("rescue/main.c", "prints"): "vfiotx-rescue's main is that program's cli/: it prints what "
                                 "rescue/rescue.c did",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]')
PRINT = re.compile(r'(?<![\w.>])(printf|fprintf|puts|fputs|perror|putchar|vprintf|vfprintf)\s*\(')
GIT_CALL = re.compile(r'\bgit_[a-z0-9_]+\s*\(')
BACKEND_FORBIDDEN = [
    (re.compile(r'\b(fork|vfork|execv|execve|execvp|execl|execlp|posix_spawn|unshare|chroot|'
                r'pivot_root|mount|system|popen)\s*\('), "runs a program or changes mounts"),
    (re.compile(r'\b(rename|renameat|renameat2|unlink|unlinkat|truncate|ftruncate|mkdir|mkdirat|'
                r'vt_atomic_write|vt_atomic_remove|vt_write_in_place)\s*\('), "writes the file system"),
    (re.compile(r'\bO_(WRONLY|RDWR|CREAT|TRUNC|APPEND)\b'), "opens a file for writing"),
]


def strip_comments(text):
    """Comments and string literals blanked, line numbers kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check(tree):
    problems = []
    for layer in ORDER:
        folder = os.path.join(tree, layer)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(folder, name)
            rel = os.path.join(layer, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            code = strip_comments(text)
            for no, (line, raw) in enumerate(zip(code.splitlines(), text.splitlines()), 1):
                m = INCLUDE.match(raw)
                if m:
                    kind, target = m.groups()
                    if kind == "<" and target == "git2.h" and not (layer == "journal" and name.endswith(".c")):
                        problems.append("%s:%d: includes <git2.h>: libgit2 belongs inside journal/*.c" % (rel, no))
                    if kind == '"' and "/" in target:
                        to = target.split("/", 1)[0]
                        if to in ALLOWED and to != layer and to not in ALLOWED[layer]:
                            up = {to, layer} not in SIDEWAYS and ORDER.index(to) > ORDER.index(layer)
                            problems.append("%s:%d: includes %s: %s" % (
                                rel, no, target,
                                "a layer above (%s over %s)" % (to, layer) if up
                                else "sideways (%s and %s never include each other)" % (layer, to)))
                    continue
                if layer != "journal" and GIT_CALL.search(line):
                    problems.append("%s:%d: calls libgit2 (%s): only journal/*.c may" % (
                        rel, no, GIT_CALL.search(line).group(0).rstrip("( ")))
                if layer != "cli" and PRINT.search(line) and (rel, "prints") not in EXEMPT:
                    problems.append("%s:%d: prints (%s): only cli/ (and rescue/main.c) prints" % (
                        rel, no, PRINT.search(line).group(1)))
                if layer == "backends":
                    for rx, what in BACKEND_FORBIDDEN:
                        m2 = rx.search(line)
                        if m2:
                            problems.append("%s:%d: %s (%s): backends only read and decide" % (
                                rel, no, what, m2.group(0).rstrip("( ")))
    return problems


def main():
    tree = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = check(tree)
    for p in problems:
        print(p)
    if problems:
        print("check-layers: %d violation%s of the layering in docs/design.md" % (
            len(problems), "" if len(problems) == 1 else "s"), file=sys.stderr)
        return 1
    print("check-layers: every include points down; libgit2 only in journal/*.c; only cli/ "
          "and rescue/main.c print; backends/ neither write nor run programs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
