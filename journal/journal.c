#include "journal/journal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "fs/atomic_file.h"
#include "journal/good_copy.h"

struct vt_journal {
        git_repository *repo;
        char *gitdir;        /* filesystem path of journal.git */
        const vt_root *root; /* the caller's, open for as long as the journal is */
};

_Static_assert(GIT_OID_RAWSZ == VT_OID_RAWSZ, "a journal object id is a SHA-1");

static git_oid to_git(const vt_oid *o)
{
        git_oid g;

        git_oid_fromraw(&g, o->id);
        return g;
}

static vt_oid from_git(const git_oid *g)
{
        vt_oid o;

        memcpy(o.id, g->id, VT_OID_RAWSZ);
        return o;
}

int vt_journal_global_init(void)
{
        int r = git_libgit2_init();

        return r < 0 ? vt_error_set(EIO, "cannot start libgit2") : 0;
}

void vt_journal_global_shutdown(void)
{
        git_libgit2_shutdown();
}

static void damaged_hint(const vt_journal *j);
static int git_fail(const vt_journal *j, int gerr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A libgit2 error as ours. Objects the journal refers to must exist, so a missing or unreadable
 * one is damage (-EBADMSG, with the way out through the plain copy). But a write the system
 * refused (a full disk, a quota, a read-only mount) is no damage: the journal is as it was,
 * and the hint says what to free or remount (issue 14: a full disk was called damage, and
 * rollback then set a sound journal aside). libgit2 keeps errno from the failed call and
 * names it in its message; either tells. */
static int git_fail(const vt_journal *j, int gerr, const char *fmt, ...)
{
        static const int system_errors[] = {ENOSPC, EDQUOT, EROFS};
        const git_error *e = git_error_last();
        int saved = errno, err = gerr == GIT_ELOCKED ? EBUSY : EBADMSG;
        char what[512];
        va_list ap;

        for (size_t i = 0;
             err == EBADMSG && e && e->klass == GIT_ERROR_OS && i < ARRAY_SIZE(system_errors); i++)
                if (saved == system_errors[i] ||
                    (e->message && strstr(e->message, strerror(system_errors[i]))))
                        err = system_errors[i];
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        vt_error_set(err, "journal: %s: %s", what, e && e->message ? e->message : "git error");
        if (err == EBADMSG)
                damaged_hint(j);
        else if (err != EBUSY)
                vt_fs_error_hint(j->gitdir, NULL, err);
        return -err;
}

int vt_journal_aside_hint(const vt_root *root, int err)
{
        _cleanup_free_ char *dir = vt_root_display(root, VT_JOURNAL_DIR);
        const char *d = dir ? dir : VT_JOURNAL_DIR;

        /* The state file goes too: it names the damaged journal's commits, and a new journal
         * without them would refuse every ref the state asks for. Without either, the next
         * apply records the files as they are as its baseline. */
        return vt_error_hint(err,
                             "the files on the host are left as they are; to start a new "
                             "journal from them, move the damaged one and the state file aside: "
                             "mv %s/journal.git %s/journal.git.damaged && mv %s/state "
                             "%s/state.damaged",
                             d, d, d, d);
}

/* The way out of a damaged journal: rollback from the plain copy, when there is one that
 * reads; a hint that promised it when it was missing or damaged too sent the user into a
 * rollback that failed (issue 14). The copy is read in full here, on the error path only. */
static void damaged_hint(const vt_journal *j)
{
        _cleanup_free_ char *msg = strdup(vt_error_message() ? vt_error_message() : "");
        _cleanup_snapshot_ vt_snapshot copy = {0};
        bool usable = j->root && vt_good_copy_read(j->root, &copy, NULL) >= 0;

        vt_error_set(EBADMSG, "%s", msg ? msg : "the journal is damaged");
        if (usable)
                vt_error_hint(EBADMSG,
                              "the journal is damaged; 'vfiotx rollback' still restores the last "
                              "good snapshot from its plain copy in %s/good (it sets the damaged "
                              "journal aside)",
                              VT_JOURNAL_DIR);
        else if (j->root)
                vt_journal_aside_hint(j->root, EBADMSG);
}

void vt_txn_info_free(vt_txn_info *t)
{
        free(t->kind);
        free(t->summary);
        free(t->outcome);
        free(t->detail);
        free(t->argv);
        free(t->attempted);
        free(t->extra);
        *t = (vt_txn_info){0};
}

static void set_options_once(void)
{
        static bool done;

        if (done)
                return;
        done = true;
        /* Durable objects and refs, and no configuration but the repository's own: a user's
         * ~/.gitconfig (hooks, fsmonitor, safe.directory) must never change what we do. */
        git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
        git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA, "");
        /* A rescue system may mount the host with other uids: the journal is ours anyway. */
        git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
}

/* libgit2 fsyncs objects and refs it writes, but not the skeleton git_repository_init writes
 * (HEAD, config, description, the directories): after a power cut right after the first
 * transaction, HEAD was found empty. Make every file and directory of a new repository
 * durable, then the directory entry of the repository itself. */
static int fsync_tree_dir_only(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || fsync(fd) < 0)
                return vt_error_set(errno, "cannot fsync %s: %s", path, strerror(errno));
        return 0;
}

static int fsync_tree(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        int r = 0;

        if (fd < 0 || fstat(fd, &st) < 0)
                return vt_error_set(errno, "cannot open %s: %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode)) {
                DIR *d = fdopendir(fcntl(fd, F_DUPFD_CLOEXEC, 3));
                struct dirent *de;

                if (!d)
                        return vt_error_set(errno, "cannot list %s: %s", path, strerror(errno));
                while (r >= 0 && (de = readdir(d))) {
                        _cleanup_free_ char *child = NULL;

                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        child = vt_path_join(path, de->d_name);
                        r = child ? fsync_tree(child) : -ENOMEM;
                }
                closedir(d);
        }
        if (r >= 0 && fsync(fd) < 0)
                r = vt_error_set(errno, "cannot fsync %s: %s", path, strerror(errno));
        return r;
}

void vt_journal_close(vt_journal *j)
{
        if (!j)
                return;
        git_repository_free(j->repo);
        free(j->gitdir);
        free(j);
}

/* libgit2 1.5.1 (Debian 12's) loops forever inflating some truncated loose objects (upstream
 * issue 7342, fixed later), so a damaged journal could hang every command while it holds the
 * lock, and the plain-copy fallback would never run. Before the journal is used, a child checks
 * that every loose object's zlib stream ends (a cut-short one marks the journal damaged at
 * once: that is what loops), then reads every object once; a read that does not finish within
 * the limit, or dies, marks the journal damaged too. Objects that merely fail to read are left to
 * the reads that meet them (the command may work from what survives). */
#define PROBE_LIMIT_MS 10000

/* Does the zlib stream of the loose object `name` (in the directory dfd) end properly? A file
 * that cannot be read, or holds no zlib at all, is left to libgit2, which reports those; a
 * stream that runs out of input before its end is what makes libgit2 1.5.1 loop. */
static bool stream_complete(int dfd, const char *name)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        unsigned char out[16384];
        z_stream z = {0};
        int zr;

        if (vt_read_file_at(dfd, name, &b) < 0 || inflateInit(&z) != Z_OK)
                return true;
        z.next_in = (unsigned char *)b.ptr;
        z.avail_in = (uInt)b.len;
        do {
                z.next_out = out;
                z.avail_out = sizeof(out);
                zr = inflate(&z, Z_NO_FLUSH);
        } while (zr == Z_OK);
        inflateEnd(&z);
        return zr != Z_BUF_ERROR;
}

/* Is any loose object (objects/xx/<38 hex>) cut short? */
static bool loose_cut_short(const char *gitdir)
{
        _cleanup_free_ char *objects = vt_path_join(gitdir, "objects");
        struct dirent *de, *fe;
        bool cut = false;
        DIR *d = objects ? opendir(objects) : NULL;

        while (d && !cut && (de = readdir(d))) {
                int sub;
                DIR *sd;

                if (strlen(de->d_name) != 2 || !isxdigit((unsigned char)de->d_name[0]) ||
                    !isxdigit((unsigned char)de->d_name[1]))
                        continue;
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                sd = sub >= 0 ? fdopendir(sub) : NULL;
                if (!sd) {
                        if (sub >= 0)
                                close(sub);
                        continue;
                }
                while (!cut && (fe = readdir(sd)))
                        if (strlen(fe->d_name) == 38)
                                cut = !stream_complete(dirfd(sd), fe->d_name);
                closedir(sd);
        }
        if (d)
                closedir(d);
        return cut;
}

static int read_object(const git_oid *id, void *payload)
{
        git_odb_object *o = NULL;

        if (git_odb_read(&o, payload, id) == 0)
                git_odb_object_free(o);
        return 0;
}

static int damaged(const vt_journal *j, const char *what)
{
        vt_error_set(EBADMSG, "the journal %s/journal.git is damaged: %s", VT_JOURNAL_DIR, what);
        damaged_hint(j);
        return -EBADMSG;
}

static int probe_objects(vt_journal *j)
{
        struct timespec nap = {0, 1000000};
        long waited_ns = 0;
        int status = 0;
        pid_t pid, w;

        pid = fork();
        if (pid < 0)
                return vt_error_set(errno, "cannot check the journal: fork: %s", strerror(errno));
        if (pid == 0) {
                git_odb *odb = NULL;

                if (loose_cut_short(j->gitdir))
                        _exit(3);
                _exit(git_repository_odb(&odb, j->repo) == 0 &&
                              git_odb_foreach(odb, read_object, odb) == 0
                          ? 0
                          : 2);
        }
        while ((w = waitpid(pid, &status, WNOHANG)) == 0 || (w < 0 && errno == EINTR)) {
                if (waited_ns >= (long)PROBE_LIMIT_MS * 1000000) {
                        (void)kill(pid, SIGKILL);
                        (void)waitpid(pid, &status, 0);
                        char what[96];

                        snprintf(what, sizeof(what),
                                 "reading its objects did not finish in %d s (a truncated object "
                                 "makes libgit2 loop)",
                                 PROBE_LIMIT_MS / 1000);
                        return damaged(j, what);
                }
                nanosleep(&nap, NULL);
                waited_ns += nap.tv_nsec;
                if (nap.tv_nsec < 20000000)
                        nap.tv_nsec *= 2;
        }
        if (w < 0)
                return vt_error_set(errno, "cannot check the journal: waitpid: %s",
                                    strerror(errno));
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
                return damaged(j, "an object in its objects/ is cut short (its compressed data "
                                  "ends early)");
        if (WIFSIGNALED(status)) {
                char what[96];

                snprintf(what, sizeof(what), "reading its objects crashed (signal %d)",
                         WTERMSIG(status));
                return damaged(j, what);
        }
        return 0;
}

/* A new repository is made as journal.git.new next to where it belongs, configured and
 * fsync'ed, and only then renamed into place: a crash or a full disk half-way leaves no
 * half-made journal.git, which every later command would call damaged (issue 14, 5). */
static int create_new(vt_journal *j)
{
        _cleanup_free_ char *tmp = NULL, *parent = NULL;
        _cleanup_close_ int pfd = -1;
        git_repository_init_options opts;
        git_repository *repo = NULL;
        git_config *cfg = NULL;
        char *slash;
        int r;

        if (asprintf(&tmp, "%s.new", j->gitdir) < 0 || !(parent = strdup(j->gitdir)))
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (!slash)
                return vt_error_set(EINVAL, "internal: journal path %s", j->gitdir);
        *slash = '\0';
        pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 && errno != ENOENT)
                return vt_error_set(errno, "cannot open %s: %s", parent, strerror(errno));
        if (pfd >= 0)
                vt_remove_tree_at(pfd, "journal.git.new"); /* an earlier attempt's */
        git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
        opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
        opts.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
        opts.initial_head = "journal";
        opts.description = "vfiotx journal: one commit per transaction";
        r = git_repository_init_ext(&repo, tmp, &opts);
        if (r < 0) {
                r = git_fail(j, r, "cannot create %s", j->gitdir);
                goto fail;
        }
        r = git_repository_config(&cfg, repo);
        if (r == 0) {
                /* Only "always" logs refs outside refs/heads in a bare repository. */
                r = git_config_set_string(cfg, "core.logAllRefUpdates", "always");
                if (r == 0)
                        r = git_config_set_bool(cfg, "gc.auto", 0);
                git_config_free(cfg);
        }
        git_repository_free(repo);
        if (r < 0) {
                r = git_fail(j, r, "cannot configure %s", j->gitdir);
                goto fail;
        }
        r = fsync_tree(tmp);
        if (r < 0)
                goto fail;
        if (pfd < 0 && (pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                r = vt_error_set(errno, "cannot open %s: %s", parent, strerror(errno));
                goto fail;
        }
        if ((r = vt_failpoint("journal: create")) < 0)
                goto fail;
        if (renameat(pfd, "journal.git.new", pfd, "journal.git") < 0 || fsync(pfd) < 0) {
                r = vt_error_set(errno, "cannot move the new journal into place at %s: %s",
                                 j->gitdir, strerror(errno));
                goto fail;
        }
        r = fsync_tree_dir_only(parent);
        if (r >= 0 && (slash = strrchr(parent, '/')) && slash != parent) {
                /* A new /var/lib/vfiotx's own entry (MKPATH may have made it). */
                *slash = '\0';
                r = fsync_tree_dir_only(parent);
        }
        if (r < 0)
                return r;
        r = git_repository_open_ext(&j->repo, j->gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
        return r < 0 ? git_fail(j, r, "cannot open %s", j->gitdir) : 0;
fail:
        if (pfd >= 0)
                vt_remove_tree_at(pfd, "journal.git.new");
        return r;
}

/* HEAD always holds the same line in a journal, and libgit2 reads it on every ref update: a
 * damaged one (a crash, a bad disk) made every writing command fail, rollback included, with a
 * hint to run rollback (issue 14, 9). A writer puts the line back; nothing else is in it. Only
 * in a journal.git that exists: writing would make the directory, which opening then calls
 * damaged. */
static int repair_head(const vt_root *root)
{
        static const char line[] = "ref: refs/heads/journal\n";
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        vt_file_meta meta = {0644, 0, 0, NULL, 0};
        int r;

        r = vt_root_exists(root, VT_JOURNAL_DIR "/journal.git");
        if (r <= 0)
                return r;
        if (vt_root_read(root, VT_JOURNAL_DIR "/journal.git/HEAD", &b) >= 0 &&
            b.len == strlen(line) && !memcmp(b.ptr, line, b.len))
                return 0;
        vt_error_clear();
        return vt_atomic_write(root, VT_JOURNAL_DIR "/journal.git/HEAD", line, strlen(line), &meta);
}

static int open_or_create(const vt_root *root, bool create, vt_journal *j)
{
        _cleanup_free_ char *rel = NULL;
        int r;

        set_options_once();
        r = vt_root_resolve(root, VT_JOURNAL_DIR "/journal.git", true, &rel);
        if (r < 0)
                return r;
        j->root = root;
        j->gitdir = vt_path_join(root->path, rel);
        if (!j->gitdir)
                return -ENOMEM;
        if (create && (r = repair_head(root)) < 0)
                return r;
        r = git_repository_open_ext(&j->repo, j->gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
        if (r == 0)
                return probe_objects(j);
        if (r == GIT_ENOTFOUND) {
                struct stat st;

                /* Only a missing journal is made anew: a directory that is not a repository
                 * is damage, and making one over it would lose what it holds. */
                if (lstat(j->gitdir, &st) < 0 && errno == ENOENT)
                        return create ? create_new(j)
                                      : vt_error_set(ENOENT, "no journal yet at %s", j->gitdir);
        }
        vt_error_set(EBADMSG, "journal: cannot open %s: %s", j->gitdir,
                     git_error_last() && git_error_last()->message ? git_error_last()->message
                                                                   : "git error");
        damaged_hint(j);
        return -EBADMSG;
}

int vt_journal_open(const vt_root *root, bool create, vt_journal **out)
{
        vt_journal *j = calloc(1, sizeof(*j));
        int r;

        *out = NULL;
        if (!j)
                return -ENOMEM;
        r = open_or_create(root, create, j);
        if (r < 0) {
                vt_journal_close(j);
                return r;
        }
        *out = j;
        return 0;
}

int vt_journal_set_aside(const vt_root *root, char **out_name)
{
        _cleanup_free_ char *rel = NULL, *damaged = NULL;
        _cleanup_close_ int dfd = -1;
        int r;

        if (asprintf(&damaged, "journal.git.damaged-%ld", (long)time(NULL)) < 0)
                return -ENOMEM;
        r = vt_root_resolve(root, VT_JOURNAL_DIR, false, &rel);
        if (r < 0)
                return r;
        dfd = openat(root->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || renameat(dfd, "journal.git", dfd, damaged) < 0)
                return vt_error_set(errno, "cannot move the damaged journal aside: %s",
                                    strerror(errno));
        if (out_name)
                *out_name = TAKE_PTR(damaged);
        return 0;
}

static void clear_locks_in(const char *dir, int depth)
{
        struct dirent *de;
        DIR *d = opendir(dir);

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                size_t n = strlen(de->d_name);

                if (de->d_name[0] == '.' || !(p = vt_path_join(dir, de->d_name)))
                        continue;
                if (n > 5 && strcmp(de->d_name + n - 5, ".lock") == 0)
                        (void)unlink(p);
                else if (de->d_type == DT_DIR && depth < 6 && strcmp(de->d_name, "objects") != 0)
                        clear_locks_in(p, depth + 1);
        }
        closedir(d);
}

int vt_journal_clear_stale_locks(vt_journal *j)
{
        clear_locks_in(j->gitdir, 0);
        return 0;
}

static int put_blob(vt_journal *j, git_tree_update *u, const char *path, const void *data,
                    size_t len)
{
        int r = git_blob_create_from_buffer(&u->id, j->repo, data, len);

        if (r < 0)
                return git_fail(j, r, "cannot store %s", path);
        u->action = GIT_TREE_UPDATE_UPSERT;
        u->filemode = GIT_FILEMODE_BLOB;
        u->path = path;
        return 0;
}

static char *info_json(const vt_txn_info *t)
{
        json_object *o = json_object_new_object();
        char *out;

        json_object_object_add(o, "id", json_object_new_int64(t->id));
        json_object_object_add(o, "kind", json_object_new_string(t->kind ? t->kind : ""));
        json_object_object_add(o, "summary", json_object_new_string(t->summary ? t->summary : ""));
        json_object_object_add(o, "outcome", json_object_new_string(t->outcome ? t->outcome : ""));
        json_object_object_add(o, "time", json_object_new_int64(t->time));
        json_object_object_add(o, "forced", json_object_new_boolean(t->forced));
        if (t->detail)
                json_object_object_add(o, "detail", json_object_new_string(t->detail));
        if (t->argv)
                json_object_object_add(o, "argv", json_object_new_string(t->argv));
        if (t->attempted)
                json_object_object_add(o, "attempted", json_object_new_string(t->attempted));
        if (t->extra) {
                json_object *x = json_tokener_parse(t->extra);

                if (x)
                        json_object_object_add(o, "extra", x);
        }
        out = strdup(
            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
        json_object_put(o);
        return out;
}

int vt_journal_commit(vt_journal *j, const vt_snapshot *snap, const vt_txn_info *info,
                      const vt_oid *parents, size_t n_parents, vt_oid *out)
{
        _cleanup_buf_ vt_buf manifest = VT_BUF_INIT, message = VT_BUF_INIT;
        _cleanup_free_ git_tree_update *ups = calloc(snap->n + 2, sizeof(*ups));
        _cleanup_free_ char **paths = calloc(snap->n + 1, sizeof(char *));
        _cleanup_free_ char *meta = info_json(info);
        const git_commit *parent_commits[2] = {NULL, NULL};
        git_signature *sig = NULL;
        git_buf cbuf = GIT_BUF_INIT;
        git_odb *odb = NULL;
        git_tree *tree = NULL;
        git_oid tree_id, commit_id;
        size_t nu = 0;
        int r;

        if (!ups || !paths || !meta || n_parents > 2)
                return -ENOMEM;
        r = vt_snapshot_manifest(snap, &manifest);
        if (r < 0)
                return r;
        if ((r = put_blob(j, &ups[nu++], "manifest.json", manifest.ptr, manifest.len)) < 0 ||
            (r = put_blob(j, &ups[nu++], "meta.json", meta, strlen(meta))) < 0)
                goto out;
        for (size_t i = 0; i < snap->n; i++) {
                const vt_snap_file *f = &snap->files[i];

                if (!f->present)
                        continue;
                if (asprintf(&paths[i], "files%s", f->path) < 0) {
                        paths[i] = NULL;
                        r = -ENOMEM;
                        goto out;
                }
                r = put_blob(j, &ups[nu++], paths[i], vt_buf_cstr(&f->data), f->data.len);
                if (r < 0)
                        goto out;
        }
        r = git_tree_create_updated(&tree_id, j->repo, NULL, nu, ups);
        if (r < 0) {
                r = git_fail(j, r, "%s", "cannot build the snapshot tree");
                goto out;
        }
        r = git_tree_lookup(&tree, j->repo, &tree_id);
        if (r == 0)
                r = git_signature_new(&sig, "vfiotx", "vfiotx@localhost",
                                      info->time ? info->time : (git_time_t)time(NULL), 0);
        for (size_t i = 0; r == 0 && i < n_parents; i++) {
                git_oid p = to_git(&parents[i]);

                r = git_commit_lookup((git_commit **)&parent_commits[i], j->repo, &p);
        }
        if (r < 0) {
                r = git_fail(j, r, "%s", "cannot prepare the commit");
                goto out;
        }
        vt_buf_printf(&message, "txn %ld: %s: %s\n\noutcome: %s\n", info->id,
                      info->kind ? info->kind : "", info->summary ? info->summary : "",
                      info->outcome ? info->outcome : "");
        if (info->argv)
                vt_buf_printf(&message, "command: %s\n", info->argv);
        if ((r = vt_failpoint("journal: write commit")) < 0)
                goto out;
        /* Built in memory and written to the object database here: libgit2 1.5.1's
         * git_commit_create() returns 0 when writing the object fails (a full disk), and the
         * ref moved to it afterwards then names an object that does not exist. */
        r = git_commit_create_buffer(&cbuf, j->repo, sig, sig, NULL, vt_buf_cstr(&message), tree,
                                     n_parents, parent_commits);
        if (r == 0)
                r = git_repository_odb(&odb, j->repo);
        if (r == 0)
                r = git_odb_write(&commit_id, odb, cbuf.ptr, cbuf.size, GIT_OBJECT_COMMIT);
        if (r < 0)
                r = git_fail(j, r, "%s", "cannot write the commit");
        else
                *out = from_git(&commit_id);
        git_odb_free(odb);
        git_buf_dispose(&cbuf);
out:
        for (size_t i = 0; i < snap->n; i++)
                free(paths[i]);
        for (size_t i = 0; i < 2; i++)
                git_commit_free((git_commit *)parent_commits[i]);
        git_signature_free(sig);
        git_tree_free(tree);
        return r;
}

int vt_journal_ref(vt_journal *j, const char *name, vt_oid *out)
{
        git_oid id;
        int r = git_reference_name_to_id(&id, j->repo, name);

        if (r == GIT_ENOTFOUND)
                return vt_error_set(ENOENT, "journal: no ref %s", name);
        if (r < 0)
                return git_fail(j, r, "cannot read %s", name);
        *out = from_git(&id);
        return 0;
}

int vt_journal_set_ref(vt_journal *j, const char *name, const vt_oid *target,
                       const vt_oid *expected, const char *reflog_msg)
{
        git_reference *ref = NULL;
        git_oid t = to_git(target), x;
        int r;

        if ((r = vt_failpoint("journal: move ref")) < 0)
                return r;
        if (expected) {
                x = to_git(expected);
                r = git_reference_create_matching(&ref, j->repo, name, &t, 1, &x, reflog_msg);
        } else {
                r = git_reference_create(&ref, j->repo, name, &t, 0, reflog_msg);
        }
        git_reference_free(ref);
        if (r == GIT_EMODIFIED || r == GIT_EEXISTS)
                return vt_error_set(EBUSY, "journal: %s was moved by someone else", name);
        if (r < 0)
                return git_fail(j, r, "cannot move %s", name);
        return 0;
}

/* Did the last libgit2 call fail on what it read from the refs (a parse error), rather than
 * for want of space, memory or a lock? Only then is packed-refs damage. */
static bool packed_refs_unreadable(void)
{
        const git_error *e = git_error_last();

        return e && e->klass == GIT_ERROR_REFERENCE;
}

/* Remove a ref that cannot be read (garbage in its file or in packed-refs) or names an object
 * that does not exist. The state file says where the journal's refs belong, so nothing is lost;
 * moving such a ref with compare-and-swap instead either failed or wrote the missing object
 * into the reflog, which git fsck then rejects. packed-refs is written only by a user's
 * `git pack-refs`; when it is what cannot be read, it goes too (the refs it held are the state
 * file's, or a pending one that is deleted anyway). */
static int drop_damaged_ref(vt_journal *j, const char *name)
{
        _cleanup_free_ char *loose = vt_path_join(j->gitdir, name);
        _cleanup_free_ char *packed = vt_path_join(j->gitdir, "packed-refs");
        git_reference *ref = NULL;
        int r;

        if (!loose || !packed)
                return -ENOMEM;
        if ((r = vt_failpoint("journal: drop damaged ref")) < 0)
                return r;
        if (unlink(loose) < 0 && errno != ENOENT)
                return vt_error_set(errno, "cannot remove the damaged %s: %s", loose,
                                    strerror(errno));
        r = git_reference_lookup(&ref, j->repo, name);
        if (r == 0) {
                r = git_reference_delete(ref);
                git_reference_free(ref);
                if (r < 0) /* a full disk, a lock: no damage, nothing else goes */
                        return git_fail(j, r, "cannot delete %s", name);
        }
        if (r < 0 && r != GIT_ENOTFOUND) {
                if (!packed_refs_unreadable())
                        return git_fail(j, r, "cannot read %s", name);
                if (unlink(packed) < 0 && errno != ENOENT)
                        return vt_error_set(errno, "cannot remove the damaged %s: %s", packed,
                                            strerror(errno));
        }
        vt_error_clear();
        return 0;
}

static int count_ref(const char *name, void *payload)
{
        (void)name;
        (*(size_t *)payload)++;
        return 0;
}

int vt_journal_repair_refs(vt_journal *j)
{
        _cleanup_free_ char *packed = vt_path_join(j->gitdir, "packed-refs");
        size_t n = 0;
        int r;

        if (!packed)
                return -ENOMEM;
        if (access(packed, F_OK) < 0)
                return 0;
        r = git_reference_foreach_name(j->repo, count_ref, &n);
        if (r == 0)
                return 0;
        if (!packed_refs_unreadable())
                return git_fail(j, r, "cannot list the journal's refs");
        /* (the refs it held are the state file's, which the caller puts back) */
        if ((r = vt_failpoint("journal: drop damaged ref")) < 0)
                return r;
        if (unlink(packed) < 0 && errno != ENOENT)
                return vt_error_set(errno, "cannot remove the damaged %s: %s", packed,
                                    strerror(errno));
        vt_error_clear();
        return 0;
}

static bool object_exists(vt_journal *j, const git_oid *id)
{
        git_odb *odb = NULL;
        bool yes = git_repository_odb(&odb, j->repo) == 0 && git_odb_exists(odb, id);

        git_odb_free(odb);
        return yes;
}

int vt_journal_follow_ref(vt_journal *j, const char *name, const vt_oid *target,
                          const char *reflog_msg)
{
        git_oid id;
        int r = git_reference_name_to_id(&id, j->repo, name);

        if (r == GIT_ENOTFOUND)
                return vt_journal_set_ref(j, name, target, NULL, reflog_msg);
        if (r == 0) {
                vt_oid cur = from_git(&id);

                if (vt_oid_equal(&cur, target))
                        return 0;
                if (object_exists(j, &id))
                        return vt_journal_set_ref(j, name, target, &cur, reflog_msg);
        }
        r = drop_damaged_ref(j, name);
        if (r < 0)
                return r;
        return vt_journal_set_ref(j, name, target, NULL, reflog_msg);
}

int vt_journal_delete_ref(vt_journal *j, const char *name)
{
        git_reference *ref = NULL;
        int r;

        r = git_reference_lookup(&ref, j->repo, name);
        if (r == GIT_ENOTFOUND)
                return 0;
        if (r < 0)
                return drop_damaged_ref(j, name);
        if ((r = vt_failpoint("journal: delete ref")) < 0) {
                git_reference_free(ref);
                return r;
        }
        r = git_reference_delete(ref);
        git_reference_free(ref);
        if (r < 0)
                return git_fail(j, r, "cannot delete %s", name);
        return 0;
}

static char *jstr(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return NULL;
        return strdup(json_object_get_string(v));
}

static int parse_info(const char *text, size_t len, vt_txn_info *t)
{
        json_tokener *tok = json_tokener_new();
        json_object *o, *v;

        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, text, (int)len);
        json_tokener_free(tok);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return vt_error_set(EBADMSG, "journal: a transaction's meta.json is damaged");
        }
        *t = (vt_txn_info){0};
        if (json_object_object_get_ex(o, "id", &v))
                t->id = (long)json_object_get_int64(v);
        if (json_object_object_get_ex(o, "time", &v))
                t->time = json_object_get_int64(v);
        if (json_object_object_get_ex(o, "forced", &v))
                t->forced = json_object_get_boolean(v);
        t->kind = jstr(o, "kind");
        t->summary = jstr(o, "summary");
        t->outcome = jstr(o, "outcome");
        t->detail = jstr(o, "detail");
        t->argv = jstr(o, "argv");
        t->attempted = jstr(o, "attempted");
        if (json_object_object_get_ex(o, "extra", &v))
                t->extra = strdup(json_object_to_json_string(v));
        json_object_put(o);
        return 0;
}

static int read_blob(vt_journal *j, git_commit *c, const char *path, vt_buf *out)
{
        git_object *obj = NULL;
        int r = git_object_lookup_bypath(&obj, (git_object *)c, path, GIT_OBJECT_BLOB);

        if (r < 0)
                return git_fail(j, r, "cannot read %s from a snapshot", path);
        r = vt_buf_set(out, git_blob_rawcontent((git_blob *)obj),
                       (size_t)git_blob_rawsize((git_blob *)obj));
        git_object_free(obj);
        (void)j;
        return r;
}

int vt_journal_load(vt_journal *j, const vt_oid *commit, vt_snapshot *snap, vt_txn_info *info)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        git_oid id = to_git(commit);
        git_commit *c = NULL;
        vt_snapshot s = {0};
        int r;

        r = git_commit_lookup(&c, j->repo, &id);
        if (r < 0)
                return git_fail(j, r, "cannot read transaction %s", VT_OID_TOSTR(commit));
        if (info) {
                r = read_blob(j, c, "meta.json", &b);
                if (r >= 0)
                        r = parse_info(vt_buf_cstr(&b), b.len, info);
                if (r < 0)
                        goto out;
        }
        if (snap) {
                r = read_blob(j, c, "manifest.json", &b);
                if (r >= 0)
                        r = vt_snapshot_parse_manifest(vt_buf_cstr(&b), b.len, &s);
                for (size_t i = 0; r >= 0 && i < s.n; i++) {
                        _cleanup_free_ char *p = NULL;

                        if (!s.files[i].present)
                                continue;
                        if (asprintf(&p, "files%s", s.files[i].path) < 0) {
                                p = NULL;
                                r = -ENOMEM;
                                break;
                        }
                        r = read_blob(j, c, p, &s.files[i].data);
                }
                if (r < 0) {
                        vt_snapshot_free(&s);
                        if (info)
                                vt_txn_info_free(info);
                        goto out;
                }
                *snap = s;
        }
out:
        git_commit_free(c);
        return r;
}

int vt_journal_parents(vt_journal *j, const vt_oid *commit, vt_oid out[2])
{
        git_oid id = to_git(commit);
        git_commit *c = NULL;
        unsigned n;
        int r = git_commit_lookup(&c, j->repo, &id);

        if (r < 0)
                return git_fail(j, r, "cannot read transaction %s", VT_OID_TOSTR(commit));
        n = git_commit_parentcount(c);
        for (unsigned i = 0; i < n && i < 2; i++)
                out[i] = from_git(git_commit_parent_id(c, i));
        git_commit_free(c);
        return (int)(n > 2 ? 2 : n);
}

int vt_journal_find(vt_journal *j, const char *spec, vt_oid *out)
{
        char *end;
        long want = strtol(spec, &end, 10);
        bool by_id = *spec && !*end && want > 0;
        size_t sl = strlen(spec);
        /* "33861032" is a transaction number and may also be a commit prefix (hex digits can
         * all be decimal ones): a number match wins, else the first commit that matches */
        bool by_prefix = sl >= 4 && sl <= VT_OID_HEXSZ && strspn(spec, "0123456789abcdef") == sl;
        bool prefix_found = false;
        vt_oid cur, prefix_match;
        int r;

        if (!by_id && !by_prefix)
                return vt_error_set(EINVAL,
                                    "'%s' is not a transaction: give its number (see 'vfiotx "
                                    "log') or at least 4 hex digits of its commit",
                                    spec);
        r = vt_journal_ref(j, VT_REF_JOURNAL, &cur);
        if (r < 0)
                return r;
        for (;;) {
                vt_oid parents[2];
                int np;

                if (by_id) {
                        vt_txn_info info = {0};

                        r = vt_journal_load(j, &cur, NULL, &info);
                        if (r < 0)
                                return r;
                        r = info.id == want;
                        vt_txn_info_free(&info);
                        if (r) {
                                *out = cur;
                                return 0;
                        }
                }
                if (by_prefix && !prefix_found && strncmp(VT_OID_TOSTR(&cur), spec, sl) == 0) {
                        prefix_match = cur;
                        prefix_found = true;
                        if (!by_id)
                                break;
                }
                np = vt_journal_parents(j, &cur, parents);
                if (np < 0)
                        return np;
                if (np == 0)
                        break;
                cur = parents[0];
        }
        if (prefix_found) {
                *out = prefix_match;
                return 0;
        }
        return vt_error_set(ENOENT, "no transaction %s in the journal (see 'vfiotx log')", spec);
}
