#include "backends/hostinfo.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/pci.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "fs/mountinfo.h"

/* Stacked devices (dm on md on partitions) and nested bridges/bonds are shallow in practice;
 * the bound only stops a looped fixture. */
#define MAX_DEPTH 8

bool vt_hostinfo_pci_in_path(const char *path, char out[16])
{
        const char *p = path;
        bool found = false;

        while (*p) {
                const char *end = strchr(p, '/');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                char comp[16];
                unsigned dom, bus, dev, fn;

                if (len == 12) {
                        memcpy(comp, p, len);
                        comp[len] = '\0';
                        if (vt_pci_parse_bdf(comp, &dom, &bus, &dev, &fn, NULL) == 0) {
                                snprintf(out, 16, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
                                found = true;
                        }
                }
                p += len;
                while (*p == '/')
                        p++;
        }
        return found;
}

static int add_bdf(char (**bdfs)[16], size_t *n, const char *bdf)
{
        char(*grown)[16];

        for (size_t i = 0; i < *n; i++)
                if (strcmp((*bdfs)[i], bdf) == 0)
                        return 0;
        grown = realloc(*bdfs, (*n + 1) * sizeof(**bdfs));
        if (!grown)
                return -ENOMEM;
        *bdfs = grown;
        snprintf(grown[*n], 16, "%s", bdf);
        (*n)++;
        return 0;
}

/* Visit the entries of `dir` whose names start with `prefix`, calling fn on each full path. */
static int for_entries(const char *dir, const char *prefix,
                       int (*fn)(const char *sysfs, const char *path, int depth, char (**)[16],
                                 size_t *),
                       const char *sysfs, int depth, char (**bdfs)[16], size_t *n)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int r = 0;

        if (!d)
                return 0;
        while (r == 0 && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL;

                if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)) != 0)
                        continue;
                path = vt_path_join(dir, de->d_name);
                r = path ? fn(sysfs, path, depth + 1, bdfs, n) : -ENOMEM;
        }
        closedir(d);
        return r;
}

static int block_walk(const char *sysfs, const char *path, int depth, char (**bdfs)[16], size_t *n)
{
        _cleanup_free_ char *real = NULL, *slaves = NULL, *parent_slaves = NULL;
        char bdf[16];
        size_t before = *n;
        int r;

        if (depth > MAX_DEPTH)
                return 0;
        real = realpath(path, NULL);
        if (!real)
                return 0;
        if (vt_hostinfo_pci_in_path(real, bdf))
                return add_bdf(bdfs, n, bdf);
        /* dm/md: the devices below are in slaves/ (of the partition's disk for a partition). */
        slaves = vt_path_join(real, "slaves");
        if (!slaves)
                return -ENOMEM;
        r = for_entries(slaves, "", block_walk, sysfs, depth, bdfs, n);
        if (r < 0 || *n > before)
                return r;
        parent_slaves = vt_path_join(real, "../slaves");
        if (!parent_slaves)
                return -ENOMEM;
        return for_entries(parent_slaves, "", block_walk, sysfs, depth, bdfs, n);
}

int vt_hostinfo_block_pci(const char *sysfs, const char *blockdev_path, char (**bdfs)[16],
                          size_t *n)
{
        return block_walk(sysfs, blockdev_path, 0, bdfs, n);
}

static int net_walk(const char *sysfs, const char *path, int depth, char (**bdfs)[16], size_t *n)
{
        _cleanup_free_ char *real = NULL, *brif = NULL;
        char bdf[16];
        int r;

        if (depth > MAX_DEPTH)
                return 0;
        real = realpath(path, NULL);
        if (!real)
                return 0;
        if (vt_hostinfo_pci_in_path(real, bdf))
                return add_bdf(bdfs, n, bdf);
        /* A bridge lists its ports in brif/ (links into each port's brport/); bonds, VLANs
         * and macvlans link their lower devices as lower_<name>. */
        brif = vt_path_join(real, "brif");
        if (!brif)
                return -ENOMEM;
        r = for_entries(brif, "", net_walk, sysfs, depth, bdfs, n);
        if (r < 0)
                return r;
        return for_entries(real, "lower_", net_walk, sysfs, depth, bdfs, n);
}

int vt_hostinfo_net_pci(const char *sysfs, const char *ifname, char (**bdfs)[16], size_t *n)
{
        _cleanup_free_ char *dir = vt_path_join(sysfs, "class/net"), *path = NULL;

        if (!dir || !(path = vt_path_join(dir, ifname)))
                return -ENOMEM;
        return net_walk(sysfs, path, 0, bdfs, n);
}

static int add_dep(vt_hostinfo *h, const char *bdf, vt_host_role role, const char *detail)
{
        vt_host_dep *grown;

        for (size_t i = 0; i < h->n; i++)
                if (h->deps[i].role == role && strcmp(h->deps[i].bdf, bdf) == 0 &&
                    strcmp(h->deps[i].detail, detail) == 0)
                        return 0;
        grown = realloc(h->deps, (h->n + 1) * sizeof(*h->deps));
        if (!grown)
                return -ENOMEM;
        h->deps = grown;
        grown[h->n] = (vt_host_dep){.role = role};
        snprintf(grown[h->n].bdf, sizeof(grown[h->n].bdf), "%s", bdf);
        grown[h->n].detail = strdup(detail);
        if (!grown[h->n].detail)
                return -ENOMEM;
        h->n++;
        return 0;
}

static int add_note(vt_hostinfo *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_note(vt_hostinfo *h, const char *fmt, ...)
{
        char **grown;
        va_list ap;
        char *s;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        grown = realloc(h->notes, (h->n_notes + 1) * sizeof(*h->notes));
        if (!grown) {
                free(s);
                return -ENOMEM;
        }
        h->notes = grown;
        h->notes[h->n_notes++] = s;
        return 0;
}

/* The sysfs node of a mounted filesystem's device: by number, or by name when the filesystem
 * reports an anonymous device (major 0: btrfs, overlay...). NULL when none. */
static char *mount_node(const char *sysfs, const vt_mount *m)
{
        char *path = NULL;
        struct stat st;

        if (strncmp(m->majmin, "0:", 2) != 0) {
                if (asprintf(&path, "%s/dev/block/%s", sysfs, m->majmin) < 0)
                        return NULL;
                if (stat(path, &st) == 0)
                        return path;
                free(path);
                path = NULL;
        }
        if (strncmp(m->source, "/dev/", 5) == 0 && !strchr(m->source + 5, '/')) {
                if (asprintf(&path, "%s/class/block/%s", sysfs, m->source + 5) < 0)
                        return NULL;
                if (stat(path, &st) == 0)
                        return path;
                free(path);
        }
        return NULL;
}

int vt_hostinfo_mount_pci(const char *sysfs, const char *majmin, const char *source,
                          char (**bdfs)[16], size_t *n)
{
        vt_mount m = {.source = (char *)source};
        _cleanup_free_ char *node = NULL;

        snprintf(m.majmin, sizeof(m.majmin), "%s", majmin);
        node = mount_node(sysfs, &m);
        return node ? vt_hostinfo_block_pci(sysfs, node, bdfs, n) : 0;
}

static int probe_mount(vt_hostinfo *h, const char *sysfs, const vt_mount *m, vt_host_role role,
                       const char *mountpoint)
{
        _cleanup_free_ char *node = NULL;
        char(*bdfs)[16] = NULL;
        size_t n = 0;
        int r = 0;

        if (!m->point)
                return 0;
        node = mount_node(sysfs, m);
        if (node)
                r = vt_hostinfo_block_pci(sysfs, node, &bdfs, &n);
        for (size_t i = 0; r == 0 && i < n; i++)
                r = add_dep(h, bdfs[i], role, m->source);
        free(bdfs);
        if (r == 0 && n == 0)
                r = add_note(h,
                             "%s is on %s (%s, device %s), which vfiotx cannot trace to a PCI "
                             "device: make sure you do not pass through its controller",
                             mountpoint, m->source, m->fstype, m->majmin);
        return r;
}

static int probe_mounts(vt_hostinfo *h, const char *sysfs, const char *proc)
{
        _cleanup_free_ char *path = vt_path_join(proc, "self/mountinfo");
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        vt_mount root = {0}, boot = {0};
        int r;

        if (!path)
                return -ENOMEM;
        r = vt_read_file(path, &text);
        if (r < 0)
                return vt_error_hint(r, "vfiotx needs the mount table to protect the root disk; "
                                        "point --proc at a /proc tree");
        r = vt_mountinfo_at(vt_buf_cstr(&text), path, "/", &root);
        if (r == -ENOENT)
                return vt_error_set(EBADMSG, "%s has no mount for /", path);
        if (r >= 0) {
                /* /boot is often not a mount of its own: then / holds it, probed above. */
                r = vt_mountinfo_at(vt_buf_cstr(&text), path, "/boot", &boot);
                if (r == -ENOENT)
                        r = 0;
        }
        if (r >= 0)
                r = probe_mount(h, sysfs, &root, VT_ROLE_ROOT_DISK, "/");
        if (r >= 0)
                r = probe_mount(h, sysfs, &boot, VT_ROLE_BOOT_DISK, "/boot");
        vt_mount_free(&root);
        vt_mount_free(&boot);
        return r < 0 ? r : 0;
}

static int add_route_if(vt_hostinfo *h, const char *sysfs, const char *ifname)
{
        char(*bdfs)[16] = NULL;
        size_t n = 0;
        int r;

        if (strcmp(ifname, "lo") == 0)
                return 0;
        for (size_t i = 0; i < h->n; i++)
                if (h->deps[i].role == VT_ROLE_DEFAULT_ROUTE &&
                    strcmp(h->deps[i].detail, ifname) == 0)
                        return 0;
        r = vt_hostinfo_net_pci(sysfs, ifname, &bdfs, &n);
        for (size_t i = 0; r == 0 && i < n; i++)
                r = add_dep(h, bdfs[i], VT_ROLE_DEFAULT_ROUTE, ifname);
        free(bdfs);
        if (r == 0 && n == 0)
                r = add_note(h,
                             "the default route goes through %s, which vfiotx cannot trace "
                             "to a PCI device",
                             ifname);
        return r;
}

static int probe_routes(vt_hostinfo *h, const char *sysfs, const char *proc)
{
        _cleanup_free_ char *p4 = vt_path_join(proc, "net/route"),
                            *p6 = vt_path_join(proc, "net/ipv6_route");
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        char *save = NULL, *line;
        int r;

        if (!p4 || !p6)
                return -ENOMEM;
        /* A host without IPv4 (or a fixture without the file) simply has no such route. */
        if (vt_read_file(p4, &text) == 0) {
                bool header = true;

                for (line = strtok_r(text.ptr, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save)) {
                        char ifname[64], dest[16], gw[16], mask[16];
                        unsigned flags, refcnt, use, metric;

                        if (header) {
                                header = false;
                                continue;
                        }
                        if (sscanf(line, "%63s %15s %15s %x %u %u %u %15s", ifname, dest, gw,
                                   &flags, &refcnt, &use, &metric, mask) != 8)
                                continue;
                        if (strcmp(dest, "00000000") != 0 || strcmp(mask, "00000000") != 0 ||
                            !(flags & 0x1 /* RTF_UP */))
                                continue;
                        r = add_route_if(h, sysfs, ifname);
                        if (r < 0)
                                return r;
                }
        }
        if (vt_read_file(p6, &text) == 0) {
                save = NULL;
                for (line = strtok_r(text.ptr, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save)) {
                        char dest[40], plen[8], src[40], slen[8], next[40], ifname[64];
                        unsigned metric, refcnt, use, flags;

                        if (sscanf(line, "%39s %7s %39s %7s %39s %x %x %x %x %63s", dest, plen, src,
                                   slen, next, &metric, &refcnt, &use, &flags, ifname) != 10)
                                continue;
                        if (strspn(dest, "0") != 32 || strcmp(plen, "00") != 0 || !(flags & 0x1) ||
                            (flags & 0x200 /* RTF_REJECT */))
                                continue;
                        r = add_route_if(h, sysfs, ifname);
                        if (r < 0)
                                return r;
                }
        }
        vt_error_clear();
        return 0;
}

static int probe_cmdline(vt_hostinfo *h, const char *proc)
{
        _cleanup_free_ char *path = vt_path_join(proc, "cmdline"), *text = NULL;
        char *save = NULL, *tok;

        if (!path)
                return -ENOMEM;
        if (vt_read_line(path, &text) < 0) {
                vt_error_clear();
                return 0;
        }
        for (tok = strtok_r(text, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
                if (strncmp(tok, "console=ttyS", 12) == 0 ||
                    strncmp(tok, "console=ttyAMA", 14) == 0)
                        h->serial_console = true;
        return 0;
}

int vt_hostinfo_probe(const char *sysfs, const char *proc, vt_hostinfo *out)
{
        int r;

        *out = (vt_hostinfo){0};
        r = probe_mounts(out, sysfs, proc);
        if (r == 0)
                r = probe_routes(out, sysfs, proc);
        if (r == 0)
                r = probe_cmdline(out, proc);
        if (r < 0)
                vt_hostinfo_free(out);
        return r;
}

void vt_hostinfo_free(vt_hostinfo *h)
{
        for (size_t i = 0; i < h->n; i++)
                free(h->deps[i].detail);
        for (size_t i = 0; i < h->n_notes; i++)
                free(h->notes[i]);
        free(h->deps);
        free(h->notes);
        *h = (vt_hostinfo){0};
}

const vt_host_dep *vt_hostinfo_find(const vt_hostinfo *h, const char *bdf, vt_host_role role)
{
        for (size_t i = 0; i < h->n; i++)
                if (h->deps[i].role == role && strcmp(h->deps[i].bdf, bdf) == 0)
                        return &h->deps[i];
        return NULL;
}
