/* The journal: a bare git repository under <root>/var/lib/vfiotx/journal.git (libgit2).
 *
 * Every commit is a full snapshot of the managed files:
 *   files/<absolute path>   the bytes of each present file
 *   manifest.json           every managed path: present/absent, mode, uid, gid, xattrs
 *   meta.json               the transaction: id, kind, summary, outcome, time, argv, forced...
 * Refs: refs/heads/journal (what is applied: its tree equals the files on disk whenever no
 * transaction is in flight) and refs/vfiotx/good (the last snapshot known good); a transaction in
 * flight keeps its target reachable under refs/vfiotx/pending. Every ref move is a
 * compare-and-swap with a reflog message (core.logAllRefUpdates=always). Objects and refs are
 * fsync'ed; no user, XDG or system git configuration is read.
 *
 * The journal is not the commit point: several ref updates are not atomic together, so the
 * state file (journal/state.h) decides, and refs are brought in line with it on recovery.
 *
 * Contract: 0 or negative errno with a message; a damaged repository gives -EBADMSG with a hint:
 * that rollback still works from the plain-file copy of the last good snapshot when that copy
 * reads, else how to start a new journal. A write the system refused (a full disk, a quota, a
 * read-only mount) is that errno, with a hint naming the mount, never "damaged". */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fs/root.h"
#include "journal/oid.h"
#include "journal/snapshot.h"

#define VT_JOURNAL_DIR "/var/lib/vfiotx"
#define VT_REF_JOURNAL "refs/heads/journal"
#define VT_REF_GOOD    "refs/vfiotx/good"
#define VT_REF_PENDING "refs/vfiotx/pending"

typedef struct vt_txn_info {
        long id;         /* transaction number, from 1 */
        char *kind;      /* baseline, drift, found, apply, rollback, recovery, failed, confirm */
        char *summary;   /* one line for `log` */
        char *outcome;   /* applied, failed, undone, completed */
        char *detail;    /* longer text: the error, a tool's output; may be NULL */
        char *argv;      /* the command line that made it; may be NULL */
        char *attempted; /* for a failed/undone transaction: oid of the snapshot it tried */
        int64_t time;    /* seconds since the epoch */
        bool forced;     /* --force overrode a safety refusal */
        char *extra;     /* JSON object with the caller's own fields, may be NULL */
} vt_txn_info;

void vt_txn_info_free(vt_txn_info *t);

/* An open journal. Opaque: how objects are stored is the journal's business alone. */
typedef struct vt_journal vt_journal;

/* Start and stop the object store library for the process (reference counted: each init needs
 * one shutdown). Every other function here needs it started. */
int vt_journal_global_init(void);
void vt_journal_global_shutdown(void);

/* Open the journal inside the root; with `create`, initialise it when missing. -ENOENT when it
 * does not exist and !create. *out is NULL on failure. */
int vt_journal_open(const vt_root *root, bool create, vt_journal **out);
/* Accepts NULL. */
void vt_journal_close(vt_journal *j);

/* The repository is damaged (vt_journal_open() or a read gave -EBADMSG): move journal.git aside
 * to journal.git.damaged-<seconds since the epoch>, in the same directory, so that the next
 * vt_journal_open() with `create` starts a new repository. The damaged one is kept for
 * inspection and never read again. It is never opened here, so this works whatever the damage.
 * Call only while holding the vfiotx lock (journal/lock.h). `out_name` (may be NULL) receives
 * the new name relative to VT_JOURNAL_DIR. -ENOENT when there is no journal.git. */
int vt_journal_set_aside(const vt_root *root, char **out_name);

/* Set the hint for a damaged journal without a usable plain copy: the files stay as they are,
 * and moving journal.git and the state file aside (the command, with the paths as the user sees
 * them) starts a new journal from them. Returns -|err|. */
int vt_journal_aside_hint(const vt_root *root, int err);

/* Remove *.lock files a crashed process left in the repository. Call only while holding the
 * vfiotx lock (journal/lock.h), when no other writer can exist. */
int vt_journal_clear_stale_locks(vt_journal *j);

/* Store a snapshot and its transaction as a commit with the given parents (0 to 2). No ref
 * moves. */
int vt_journal_commit(vt_journal *j, const vt_snapshot *snap, const vt_txn_info *info,
                      const vt_oid *parents, size_t n_parents, vt_oid *out);

/* Read a ref: -ENOENT when it does not exist. */
int vt_journal_ref(vt_journal *j, const char *name, vt_oid *out);
/* Compare-and-swap: move `name` to `target` if it now points at `expected` (NULL: it must not
 * exist). -EBUSY when someone else moved it. */
int vt_journal_set_ref(vt_journal *j, const char *name, const vt_oid *target,
                       const vt_oid *expected, const char *reflog_msg);
/* Delete a ref if it exists (no error when absent; a damaged one is removed as well). */
int vt_journal_delete_ref(vt_journal *j, const char *name);
/* A packed-refs file that cannot be read (git fsck rejects the journal for it) is removed;
 * call while holding the vfiotx lock, then bring the refs in line with the state file
 * (vt_journal_follow_ref()), since the refs it held are gone. */
int vt_journal_repair_refs(vt_journal *j);
/* Point `name` at `target` whatever it holds now, for bringing refs in line with the state
 * file: a compare-and-swap from its current value when that names an object; created when
 * missing; removed and created anew when it is damaged (cannot be read, or names an object that
 * does not exist). */
int vt_journal_follow_ref(vt_journal *j, const char *name, const vt_oid *target,
                          const char *reflog_msg);

/* Load a commit's snapshot and/or transaction info (either may be NULL). */
int vt_journal_load(vt_journal *j, const vt_oid *commit, vt_snapshot *snap, vt_txn_info *info);
/* The commit's parents (first parent first); returns the count (0-2). */
int vt_journal_parents(vt_journal *j, const vt_oid *commit, vt_oid out[2]);

/* Find a transaction by number ("12") or by commit id prefix (at least 4 hex digits), walking
 * the first-parent history from the journal head. A spec that reads as both (all decimal
 * digits) is the transaction with that number when there is one, else the commit it prefixes.
 * -ENOENT with a message when not found. */
int vt_journal_find(vt_journal *j, const char *spec, vt_oid *out);
