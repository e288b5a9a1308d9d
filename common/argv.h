/* An argv as one readable line, for messages, logs and plans ("update-initramfs -u -k
 * 6.1.0-26-amd64"): words with spaces, quotes or shell characters are single-quoted, an empty
 * word is ''. It is for people to read; nothing parses it back or hands it to a shell.
 *
 * Here in common/ because both the planners (backends/rebuild_plan.h, which describe steps)
 * and the engine's runner (engine/runner.h, which names the tool it ran) show commands.
 *
 * Contract: 0 or -ENOMEM; `out` is cleared first. */
#pragma once

#include "common/buf.h"

int vt_argv_format(const char *const *argv, vt_buf *out);
