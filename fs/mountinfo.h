/* The mount table (<proc>/self/mountinfo, proc(5)): which mount holds a path, and what it is.
 *
 * Lines are "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER";
 * the mount point and source are unescaped (\040 is a space). A later line for the same mount
 * point overmounts an earlier one, so the later wins.
 *
 * vt_mountinfo_at(): the mount whose mount point is exactly `point`; -ENOENT (no message) when
 * none. vt_mountinfo_holding(): the mount that holds `path` (the longest mount point that is a
 * prefix of it at a '/' boundary); -ENOENT with a message when none. Both: -EBADMSG naming
 * `where` and the line for a line that is not a mountinfo line; the result is freed with
 * vt_mount_free(). Pure: parses the text it is given. */
#pragma once

typedef struct vt_mount {
        char *point;  /* "/boot" */
        char *fstype; /* "ext4" */
        char *source; /* "/dev/sda1" */
        char majmin[32];
} vt_mount;

int vt_mountinfo_at(const char *text, const char *where, const char *point, vt_mount *out);
int vt_mountinfo_holding(const char *text, const char *where, const char *path, vt_mount *out);
void vt_mount_free(vt_mount *m);
/* Undo mountinfo's octal escapes (\040) in place. */
void vt_mountinfo_unescape(char *s);
