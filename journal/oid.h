/* The journal's object ids: what names a snapshot (a commit) in the journal and in the state
 * file. 20 raw bytes, written as 40 lowercase hex digits. Callers above the journal only
 * compare, copy and print them; they never learn which library stores the objects.
 *
 * Contract: pure functions, no allocation; vt_oid_fromstr() returns 0 or -EINVAL. */
#pragma once

#include <stdbool.h>

#define VT_OID_RAWSZ 20
#define VT_OID_HEXSZ (VT_OID_RAWSZ * 2)

typedef struct vt_oid {
        unsigned char id[VT_OID_RAWSZ];
} vt_oid;

bool vt_oid_equal(const vt_oid *a, const vt_oid *b);
/* All zero: the value of an id that was never set. */
bool vt_oid_is_zero(const vt_oid *o);
/* 40 lowercase hex digits and a NUL into `buf`; returns `buf`. */
char *vt_oid_tostr(const vt_oid *o, char buf[VT_OID_HEXSZ + 1]);
/* Exactly 40 hex digits (either case), nothing after them. */
int vt_oid_fromstr(vt_oid *out, const char *s);

/* The hex form in a buffer that lives until the end of the enclosing block, for printing. */
#define VT_OID_TOSTR(o) vt_oid_tostr((o), (char[VT_OID_HEXSZ + 1]){0})
