/* The mount table (mountinfo.h). */
#include "fs/mountinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"

void vt_mountinfo_unescape(char *s)
{
        char *w = s;

        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else {
                        *w++ = *p;
                }
        }
        *w = '\0';
}

void vt_mount_free(vt_mount *m)
{
        free(m->point);
        free(m->fstype);
        free(m->source);
        *m = (vt_mount){0};
}

static bool holds(const char *mnt, const char *path)
{
        size_t n = strlen(mnt);

        if (strcmp(mnt, "/") == 0)
                return path[0] == '/';
        return strncmp(mnt, path, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* One pass over the table: `exact` picks the mount point equal to `path`, else the longest
 * one holding it; among equal mount points the later line. */
static int find(const char *text, const char *where, const char *path, bool exact, vt_mount *out)
{
        const char *line = text;

        *out = (vt_mount){0};
        while (*line) {
                const char *eol = strchr(line, '\n');
                size_t len = eol ? (size_t)(eol - line) : strlen(line);
                _cleanup_free_ char *copy = strndup(line, len);
                char *fields[16] = {0}, *save = NULL, *tok, *fstype = NULL, *source = NULL;
                size_t nf = 0;

                if (!copy)
                        return vt_error_set(ENOMEM, "out of memory");
                for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                        if (strcmp(tok, "-") == 0) {
                                fstype = strtok_r(NULL, " ", &save);
                                source = strtok_r(NULL, " ", &save);
                                break;
                        }
                        if (nf < ARRAY_SIZE(fields))
                                fields[nf++] = tok;
                }
                if (len && (nf < 5 || !fstype || !source)) {
                        vt_mount_free(out);
                        return vt_error_set(EBADMSG, "%s: malformed line '%.*s'", where,
                                            (int)(len > 80 ? 80 : len), line);
                }
                line += len + (eol ? 1 : 0);
                if (!len)
                        continue;
                vt_mountinfo_unescape(fields[4]);
                if (exact ? strcmp(fields[4], path) != 0 : !holds(fields[4], path))
                        continue;
                if (out->point && strlen(fields[4]) < strlen(out->point))
                        continue;
                vt_mountinfo_unescape(source);
                vt_mount_free(out);
                out->point = strdup(fields[4]);
                out->fstype = strdup(fstype);
                out->source = strdup(source);
                snprintf(out->majmin, sizeof(out->majmin), "%s", fields[2]);
                if (!out->point || !out->fstype || !out->source) {
                        vt_mount_free(out);
                        return vt_error_set(ENOMEM, "out of memory");
                }
        }
        return out->point ? 0 : -ENOENT;
}

int vt_mountinfo_at(const char *text, const char *where, const char *point, vt_mount *out)
{
        return find(text, where, point, true, out);
}

int vt_mountinfo_holding(const char *text, const char *where, const char *path, vt_mount *out)
{
        int r = find(text, where, path, false, out);

        if (r == -ENOENT)
                return vt_error_set(ENOENT, "no mount in %s holds %s", where, path);
        return r;
}
