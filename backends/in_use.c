#include "backends/in_use.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/hostinfo.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "fs/mountinfo.h"

/* Links are never followed, so the device's own tree bounds the walk; the depth is a guard
 * against a pathological fixture. A USB keyboard's input/eventN is seven levels below its
 * controller, a SATA disk's block/sda six. */
#define NODE_DEPTH 16
/* A NIC's interfaces: <dev>/net/IF, or one level down (<dev>/virtio0/net/IF). */
#define NET_DEPTH 3
/* An interface enslaved to a bridge or a bond, and that one to another (a VLAN over a bond). */
#define MASTER_DEPTH 4

static const char *const kind_names[] = {
    [VT_USE_CONSOLE] = "console",       [VT_USE_DRM_CLIENTS] = "drm-clients",
    [VT_USE_OPEN_NODES] = "open-nodes", [VT_USE_NET_ADDRESSES] = "net-addresses",
    [VT_USE_MOUNTED] = "mounted",       [VT_USE_SWAP] = "swap",
};

const char *vt_use_kind_name(vt_use_kind k)
{
        return (size_t)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "unknown";
}

void vt_use_list_free(vt_use_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].detail);
        free(l->items);
        *l = (vt_use_list){0};
}

void vt_open_files_free(vt_open_files *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].target);
        free(l->items);
        *l = (vt_open_files){0};
}

static int add_use(vt_use_list *l, vt_use_kind kind, const char *bdf, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add_use(vt_use_list *l, vt_use_kind kind, const char *bdf, const char *fmt, ...)
{
        vt_use *grown = realloc(l->items, (l->n + 1) * sizeof(*grown));
        va_list ap;
        int r;

        if (!grown)
                return -ENOMEM;
        l->items = grown;
        grown[l->n] = (vt_use){.kind = kind};
        snprintf(grown[l->n].bdf, sizeof(grown[l->n].bdf), "%s", bdf);
        va_start(ap, fmt);
        r = vasprintf(&grown[l->n].detail, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        l->n++;
        return 0;
}

static bool is_pid(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

static int add_open(vt_open_files *l, long pid, const char *fd, const char *target,
                    const char *comm)
{
        vt_open_file *grown = realloc(l->items, (l->n + 1) * sizeof(*grown));

        if (!grown)
                return -ENOMEM;
        l->items = grown;
        grown[l->n] = (vt_open_file){.pid = pid, .target = strdup(target)};
        if (!grown[l->n].target)
                return -ENOMEM;
        snprintf(grown[l->n].fd, sizeof(grown[l->n].fd), "%.15s", fd);
        snprintf(grown[l->n].comm, sizeof(grown[l->n].comm), "%s", comm);
        l->n++;
        return 0;
}

static int scan_pid(const char *proc, const char *pid, vt_open_files *out)
{
        _cleanup_free_ char *fddir = NULL, *commpath = NULL, *comm = NULL;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (asprintf(&fddir, "%s/%s/fd", proc, pid) < 0 ||
            asprintf(&commpath, "%s/%s/comm", proc, pid) < 0)
                return -ENOMEM;
        d = opendir(fddir);
        if (!d)
                return 0; /* gone, or not ours to read */
        while (r >= 0 && (de = readdir(d))) {
                char link[PATH_MAX], target[PATH_MAX];
                ssize_t len;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof(link), "%s/%s", fddir, de->d_name);
                len = readlink(link, target, sizeof(target) - 1);
                if (len < 0)
                        continue;
                target[len] = '\0';
                if (strncmp(target, "/dev/", 5) != 0)
                        continue;
                if (!comm && vt_read_line(commpath, &comm) < 0) {
                        vt_error_clear();
                        comm = strdup("?");
                        if (!comm)
                                r = -ENOMEM;
                }
                if (r >= 0)
                        r = add_open(out, strtol(pid, NULL, 10), de->d_name, target, comm);
        }
        closedir(d);
        return r;
}

int vt_open_files_scan(const char *proc, vt_open_files *out)
{
        struct dirent *de;
        DIR *d;
        int r = 0;

        *out = (vt_open_files){0};
        d = opendir(proc);
        if (!d)
                return vt_error_set(errno, "cannot read %s: %s", proc, strerror(errno));
        while (r >= 0 && (de = readdir(d)))
                if (is_pid(de->d_name))
                        r = scan_pid(proc, de->d_name, out);
        closedir(d);
        if (r < 0)
                vt_open_files_free(out);
        return r;
}

typedef struct nodes {
        char **items;
        size_t n;
} nodes;

static void nodes_free(nodes *ns)
{
        for (size_t i = 0; i < ns->n; i++)
                free(ns->items[i]);
        free(ns->items);
}

/* Visit every entry below a device's sysfs directory `dir`, `depth` levels deep at most, never
 * following links (a PCI device's directory links to its driver, subsystem and IOMMU group:
 * none of them is the device) and never entering a child PCI device (behind a bridge: not
 * this one). `visit` gets each entry's path, name and lstat; it returns 1 to descend into a
 * directory, 0 to go on, or a negative errno to stop. */
typedef int (*visit_fn)(const char *path, const char *name, const struct stat *st, void *userdata);

static int walk_device(const char *dir, int depth, visit_fn visit, void *userdata)
{
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (depth < 0)
                return 0;
        d = opendir(dir);
        if (!d)
                return 0;
        while (r >= 0 && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                unsigned a, b, c, f;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                path = vt_path_join(dir, de->d_name);
                if (!path) {
                        r = -ENOMEM;
                        break;
                }
                if (lstat(path, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode) && strlen(de->d_name) == 12 &&
                    sscanf(de->d_name, "%x:%x:%x.%x", &a, &b, &c, &f) == 4)
                        continue;
                r = visit(path, de->d_name, &st, userdata);
                if (r > 0 && S_ISDIR(st.st_mode))
                        r = walk_device(path, depth - 1, visit, userdata);
        }
        closedir(d);
        return r;
}

/* "/dev/" + DEVNAME of a uevent file. */
static int visit_node(const char *path, const char *name, const struct stat *st, void *userdata)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        nodes *out = userdata;
        const char *p, *end;
        char **grown;

        if (S_ISDIR(st->st_mode))
                return 1;
        if (!S_ISREG(st->st_mode) || strcmp(name, "uevent") != 0)
                return 0;
        if (vt_read_file(path, &text) < 0) {
                vt_error_clear();
                return 0;
        }
        p = strstr(vt_buf_cstr(&text), "DEVNAME=");
        if (!p || (p != text.ptr && p[-1] != '\n'))
                return 0;
        p += strlen("DEVNAME=");
        end = p + strcspn(p, "\n");
        grown = realloc(out->items, (out->n + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        out->items = grown;
        if (asprintf(&grown[out->n], "/dev/%.*s", (int)(end - p), p) < 0)
                return -ENOMEM;
        out->n++;
        return 0;
}

static int probe_console(const char *sysfs, const char *bdf, vt_use_list *out)
{
        _cleanup_free_ char *vtdir = NULL, *fbdir = NULL;
        bool fbcon = false;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (asprintf(&vtdir, "%s/class/vtconsole", sysfs) < 0 ||
            asprintf(&fbdir, "%s/class/graphics", sysfs) < 0)
                return -ENOMEM;
        d = opendir(vtdir);
        if (!d)
                return 0;
        while (!fbcon && (de = readdir(d))) {
                _cleanup_free_ char *bind = NULL, *name = NULL, *p1 = NULL, *p2 = NULL;

                if (strncmp(de->d_name, "vtcon", 5) != 0)
                        continue;
                if (asprintf(&p1, "%s/%s/bind", vtdir, de->d_name) < 0 ||
                    asprintf(&p2, "%s/%s/name", vtdir, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                if (vt_read_line(p1, &bind) < 0 || vt_read_line(p2, &name) < 0) {
                        vt_error_clear();
                        continue;
                }
                fbcon = strcmp(bind, "1") == 0 && strstr(name, "frame buffer");
        }
        closedir(d);
        if (!fbcon)
                return 0;
        d = opendir(fbdir);
        if (!d)
                return 0;
        while (r >= 0 && (de = readdir(d))) {
                _cleanup_free_ char *link = NULL, *real = NULL;
                char owner[16];

                if (strncmp(de->d_name, "fb", 2) != 0)
                        continue;
                if (asprintf(&link, "%s/%s/device", fbdir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                real = realpath(link, NULL);
                if (real && vt_hostinfo_pci_in_path(real, owner) && strcmp(owner, bdf) == 0)
                        r = add_use(out, VT_USE_CONSOLE, bdf,
                                    "it drives the console (/dev/%s, with the text console on it)",
                                    de->d_name);
        }
        closedir(d);
        return r;
}

static int probe_nodes(const char *sysfs, const char *bdf, const vt_open_files *open,
                       vt_use_list *out)
{
        _cleanup_free_ char *link = NULL, *real = NULL;
        nodes ns = {0};
        int r;

        if (asprintf(&link, "%s/bus/pci/devices/%s", sysfs, bdf) < 0)
                return -ENOMEM;
        real = realpath(link, NULL);
        if (!real)
                return 0;
        r = walk_device(real, NODE_DEPTH, visit_node, &ns);
        for (size_t i = 0; r >= 0 && i < ns.n; i++)
                for (size_t j = 0; r >= 0 && j < open->n; j++) {
                        bool drm = strncmp(ns.items[i], "/dev/dri/", 9) == 0;

                        if (strcmp(open->items[j].target, ns.items[i]) != 0)
                                continue;
                        r = add_use(out, drm ? VT_USE_DRM_CLIENTS : VT_USE_OPEN_NODES, bdf,
                                    "process %ld (%s) has %s open", open->items[j].pid,
                                    open->items[j].comm, ns.items[i]);
                }
        nodes_free(&ns);
        return r;
}

/* Does `ifname` have routes (<proc>/net/route) or global IPv6 addresses (net/if_inet6)? */
static int iface_in_use(const char *proc, const char *ifname, vt_buf *why)
{
        _cleanup_free_ char *route = NULL, *inet6 = NULL;
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        char *save = NULL;

        if (asprintf(&route, "%s/net/route", proc) < 0 ||
            asprintf(&inet6, "%s/net/if_inet6", proc) < 0)
                return -ENOMEM;
        if (vt_read_file(route, &text) >= 0) {
                for (char *line = strtok_r(text.ptr, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save)) {
                        char iface[64];

                        if (sscanf(line, "%63s", iface) == 1 && strcmp(iface, ifname) == 0)
                                return vt_buf_printf(why, "%s has IPv4 routes", ifname) < 0
                                           ? -ENOMEM
                                           : 1;
                }
        }
        vt_error_clear();
        vt_buf_clear(&text);
        if (vt_read_file(inet6, &text) >= 0) {
                save = NULL;
                for (char *line = strtok_r(text.ptr, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save)) {
                        char addr[40], iface[64];
                        unsigned idx, plen, scope, flags;

                        if (sscanf(line, "%39s %x %x %x %x %63s", addr, &idx, &plen, &scope, &flags,
                                   iface) == 6 &&
                            scope == 0 && strcmp(iface, ifname) == 0)
                                return vt_buf_printf(why, "%s has a global IPv6 address", ifname) <
                                               0
                                           ? -ENOMEM
                                           : 1;
                }
        }
        vt_error_clear();
        return 0;
}

/* The interface `ifname` (its sysfs directory `ifdir`), and the bridges and bonds above it
 * (`master` links): in use when any of them has routes or global addresses. */
static int net_iface(const char *proc, const char *ifdir, const char *ifname, const char *bdf,
                     vt_use_list *out)
{
        char name[NAME_MAX + 1], dir[PATH_MAX];
        int r = 0;

        snprintf(name, sizeof(name), "%s", ifname);
        snprintf(dir, sizeof(dir), "%s", ifdir);
        for (int level = 0; level <= MASTER_DEPTH && r >= 0; level++) {
                _cleanup_buf_ vt_buf why = VT_BUF_INIT;
                char link[PATH_MAX + 8], target[PATH_MAX];
                const char *base;
                ssize_t n;

                r = iface_in_use(proc, name, &why);
                if (r > 0)
                        return add_use(out, VT_USE_NET_ADDRESSES, bdf,
                                       "%s%s%s%s: it is configured and in use", vt_buf_cstr(&why),
                                       level ? " (above " : "", level ? ifname : "",
                                       level ? ")" : "");
                if (r < 0)
                        return r;
                snprintf(link, sizeof(link), "%s/master", dir);
                n = readlink(link, target, sizeof(target) - 1);
                if (n <= 0)
                        return 0;
                target[n] = '\0';
                base = strrchr(target, '/');
                base = base ? base + 1 : target;
                if (strlen(base) >= sizeof(name))
                        return 0;
                memcpy(name, base, strlen(base) + 1);
                /* The master's directory, next to the interface's: ../br0 from .../eno1. */
                if (strlen(dir) + 1 + strlen(target) >= sizeof(link))
                        return 0;
                strcpy(link, dir);
                strcat(link, "/");
                strcat(link, target);
                if (!realpath(link, dir))
                        return 0;
        }
        return 0;
}

typedef struct net_walk {
        const char *proc;
        const char *bdf;
        vt_use_list *out;
} net_walk;

/* A `net` directory holds the device's interfaces; anything else may hold one further down. */
static int visit_net(const char *path, const char *name, const struct stat *st, void *userdata)
{
        net_walk *w = userdata;
        struct dirent *ne;
        DIR *nd;
        int r = 0;

        if (!S_ISDIR(st->st_mode))
                return 0;
        if (strcmp(name, "net") != 0)
                return 1;
        nd = opendir(path);
        while (nd && r >= 0 && (ne = readdir(nd))) {
                _cleanup_free_ char *ifdir = NULL;

                if (ne->d_name[0] == '.')
                        continue;
                ifdir = vt_path_join(path, ne->d_name);
                r = ifdir ? net_iface(w->proc, ifdir, ne->d_name, w->bdf, w->out) : -ENOMEM;
        }
        if (nd)
                closedir(nd);
        return r;
}

static int probe_net(const char *sysfs, const char *proc, const char *bdf, vt_use_list *out)
{
        _cleanup_free_ char *link = NULL, *real = NULL;
        net_walk w = {proc, bdf, out};

        if (asprintf(&link, "%s/bus/pci/devices/%s", sysfs, bdf) < 0)
                return -ENOMEM;
        real = realpath(link, NULL);
        return real ? walk_device(real, NET_DEPTH, visit_net, &w) : 0;
}

static bool bdf_in(char (*bdfs)[16], size_t n, const char *bdf)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(bdfs[i], bdf) == 0)
                        return true;
        return false;
}

/* Mounts and swaps on disks below `bdfs` (the whole list at once: one pass over each table). */
static int probe_disks(const char *sysfs, const char *proc, const char *const *bdfs, size_t n,
                       vt_use_list *out)
{
        _cleanup_free_ char *mountinfo = NULL, *swaps = NULL;
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        char *save = NULL;
        int r = 0;

        if (asprintf(&mountinfo, "%s/self/mountinfo", proc) < 0 ||
            asprintf(&swaps, "%s/swaps", proc) < 0)
                return -ENOMEM;
        r = vt_read_file(mountinfo, &text);
        if (r < 0)
                return vt_error_hint(r, "vfiotx needs the mount table to protect the disks in "
                                        "use; point --proc at a /proc tree");
        for (char *line = strtok_r(text.ptr, "\n", &save); r >= 0 && line;
             line = strtok_r(NULL, "\n", &save)) {
                char majmin[32], point[PATH_MAX], source[PATH_MAX];
                char(*found)[16] = NULL;
                size_t nf = 0;
                const char *sep = strstr(line, " - ");

                if (!sep || sscanf(line, "%*s %*s %31s %*s %4095s", majmin, point) != 2 ||
                    sscanf(sep + 3, "%*s %4095s", source) != 1)
                        continue;
                if (strncmp(majmin, "0:", 2) == 0 && strncmp(source, "/dev/", 5) != 0)
                        continue; /* proc, tmpfs, overlay: no disk */
                vt_mountinfo_unescape(point);
                r = vt_hostinfo_mount_pci(sysfs, majmin, source, &found, &nf);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        if (bdf_in(found, nf, bdfs[i]))
                                r = add_use(out, VT_USE_MOUNTED, bdfs[i], "%s is mounted on %s",
                                            source, point);
                free(found);
        }
        vt_buf_clear(&text);
        if (r < 0 || vt_read_file(swaps, &text) < 0) {
                vt_error_clear();
                return r;
        }
        save = NULL;
        for (char *line = strtok_r(text.ptr, "\n", &save); r >= 0 && line;
             line = strtok_r(NULL, "\n", &save)) {
                char name[PATH_MAX], type[32], node[PATH_MAX + 64];
                char(*found)[16] = NULL;
                size_t nf = 0;

                if (sscanf(line, "%4095s %31s", name, type) != 2 ||
                    strcmp(type, "partition") != 0 || strncmp(name, "/dev/", 5) != 0)
                        continue; /* the header, or a swap file (its filesystem is mounted) */
                snprintf(node, sizeof(node), "%s/class/block/%s", sysfs, name + 5);
                r = vt_hostinfo_block_pci(sysfs, node, &found, &nf);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        if (bdf_in(found, nf, bdfs[i]))
                                r = add_use(out, VT_USE_SWAP, bdfs[i], "swap is active on %s",
                                            name);
                free(found);
        }
        return r;
}

int vt_in_use_probe(const char *sysfs, const char *proc, const char *const *bdfs, size_t n,
                    vt_use_list *out)
{
        vt_open_files open = {0};
        int r;

        r = vt_open_files_scan(proc, &open);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = probe_console(sysfs, bdfs[i], out);
                if (r >= 0)
                        r = probe_nodes(sysfs, bdfs[i], &open, out);
                if (r >= 0)
                        r = probe_net(sysfs, proc, bdfs[i], out);
        }
        if (r >= 0)
                r = probe_disks(sysfs, proc, bdfs, n, out);
        vt_open_files_free(&open);
        return r;
}
