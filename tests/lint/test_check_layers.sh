#!/usr/bin/env bash
# scripts/check-layers.py must fail on each kind of violation it exists for, and pass a clean
# tree: a tree of small files, one rule broken at a time.
set -u
CHECK=${1:?usage: test_check_layers.sh scripts/check-layers.py}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

clean_tree() {
	rm -rf "$TMP/t" && mkdir -p "$TMP/t"/{cli,rescue,engine,backends,journal,fs,common}
	printf '#include "engine/op.h"\n#include "backends/ed.h"\nint main(void) { printf("x"); return 0; }\n' >"$TMP/t/cli/main.c"
	printf '#include "backends/ed.h"\n#include "journal/j.h"\n#include "fs/root.h"\nint op(void);\n' >"$TMP/t/engine/op.h"
	printf '#include "fs/root.h"\n#include "common/buf.h"\n/* printf( in a comment is fine */\nstatic const char *s = "fork(";\n' >"$TMP/t/backends/ed.c"
	printf '#include <git2.h>\n#include "fs/root.h"\nint j(void) { return git_libgit2_init(); }\n' >"$TMP/t/journal/j.c"
	printf '#include "fs/root.h"\nint j(void);\n' >"$TMP/t/journal/j.h"
	printf '#include "common/buf.h"\nint r(void);\n' >"$TMP/t/fs/root.h"
	printf 'int b(void);\n' >"$TMP/t/common/buf.h"
	printf '#include "rescue/rescue.h"\nint main(void) { printf("x"); return 0; }\n' >"$TMP/t/rescue/main.c"
	printf '#include "engine/op.h"\n#include "journal/j.h"\nint rescue(void);\n' >"$TMP/t/rescue/rescue.h"
}
expect_violation() { # WHAT-GREP DESCRIPTION
	local out
	out=$(python3 "$CHECK" "$TMP/t" 2>&1) && fail "$2: the check passed"
	grep -q -- "$1" <<<"$out" || fail "$2: no '$1' in: $out"
}

clean_tree
python3 "$CHECK" "$TMP/t" >/dev/null || fail "a clean tree fails: $(python3 "$CHECK" "$TMP/t" 2>&1)"

clean_tree; printf '#include "cli/x.h"\n' >>"$TMP/t/engine/op.h"
expect_violation "engine/op.h:5: includes cli/x.h: a layer above" "engine includes cli"
clean_tree; printf '#include "journal/j.h"\n' >>"$TMP/t/backends/ed.c"
expect_violation "sideways" "backends includes journal"
clean_tree; printf '#include "engine/op.h"\n' >>"$TMP/t/fs/root.h"
expect_violation "a layer above (engine over fs)" "fs includes engine"
clean_tree; printf '#include <git2.h>\n' >>"$TMP/t/journal/j.h"
expect_violation "journal/j.h:3: includes <git2.h>" "git2.h in a journal header"
clean_tree; printf 'int x(void) { return git_oid_equal(0, 0); }\n' >>"$TMP/t/engine/op.h"
expect_violation "calls libgit2 (git_oid_equal)" "libgit2 called from the engine"
clean_tree; printf 'void p(void) { fprintf(stderr, "x"); }\n' >>"$TMP/t/engine/op.h"
expect_violation "prints (fprintf)" "the engine prints"
clean_tree; printf 'int w(void) { return rename("a", "b"); }\n' >>"$TMP/t/backends/ed.c"
expect_violation "writes the file system (rename)" "a backend renames"
clean_tree; printf 'int w(void) { return open("a", O_WRONLY); }\n' >>"$TMP/t/backends/ed.c"
expect_violation "opens a file for writing" "a backend opens for writing"
clean_tree; printf 'int w(void) { return execvp("a", 0); }\n' >>"$TMP/t/backends/ed.c"
expect_violation "runs a program" "a backend runs a program"
clean_tree; printf 'void p(void) { puts("x"); }\n' >>"$TMP/t/rescue/rescue.h"
expect_violation "rescue/rescue.h:4: prints (puts)" "the rescue prints outside its main"
clean_tree; printf '#include "rescue/rescue.h"\n' >>"$TMP/t/cli/main.c"
expect_violation "sideways (cli and rescue" "cli includes rescue"
clean_tree; printf '#include "cli/cli.h"\n' >>"$TMP/t/rescue/rescue.h"
expect_violation "sideways (rescue and cli" "rescue includes cli"

[ $fails -eq 0 ] && echo "test_check_layers: all passed"
exit $((fails > 0))
