/* backends/in_use.c: what a fake host is doing with a device (console, DRM clients, open
 * nodes, network addresses, mounts, swap), from small sysfs and /proc trees built here. */
#include "../helpers.h"

#include <errno.h>

#include "backends/in_use.h"
#include "common/error.h"

#define GPU    "0000:00:02.0"
#define SATA   "0000:00:17.0"
#define AUDIO  "0000:00:1f.3"
#define NIC    "0000:00:1f.6"
#define IDLE   "0000:00:16.0"
#define BRIDGE "0000:00:01.0"
#define CHILD  "0000:01:00.0"

#define SATA_DISK "devices/pci0000:00/" SATA "/ata1/host0/target0:0:0/0:0:0:0/block/sda"

typedef struct host {
        char *dir;
        char *sys;
        char *proc;
} host;

/* mkdir -p of the parents of dir/rel. */
static void make_parents(const char *dir, const char *rel)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                mkdir(path, 0755);
                *p = '/';
        }
}

static void make_link(const char *dir, const char *rel, const char *target)
{
        char path[4096];

        make_parents(dir, rel);
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        unlink(path);
        assert_int_equal(symlink(target, path), 0);
}

static void make_dir(const char *dir, const char *rel)
{
        char path[4096];

        make_parents(dir, rel);
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        assert_int_equal(mkdir(path, 0755), 0);
}

/* A PCI device at devices/PATH (its parents' addresses included), with its bus/pci link. */
static void add_pci(const host *h, const char *path, const char *bdf)
{
        char rel[512], target[512];

        snprintf(rel, sizeof(rel), "devices/%s/uevent", path);
        write_file(h->sys, rel, "DRIVER=x\nPCI_SLOT_NAME=x\n");
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s", bdf);
        snprintf(target, sizeof(target), "../../../devices/%s", path);
        make_link(h->sys, rel, target);
}

/* Process `pid` (comm `comm`, none when NULL) holding fd `fd` open on `target`. */
static void add_open(const host *h, long pid, const char *comm, const char *fd, const char *target)
{
        char rel[256];

        if (comm) {
                snprintf(rel, sizeof(rel), "%ld/comm", pid);
                write_file(h->proc, rel, comm);
        }
        snprintf(rel, sizeof(rel), "%ld/fd/%s", pid, fd);
        make_link(h->proc, rel, target);
}

/* The base host: the devices and their nodes, no use of any of them. */
static host make_host(void)
{
        host h = {.dir = make_tmpdir()};

        assert_true(asprintf(&h.sys, "%s/sys", h.dir) > 0);
        assert_true(asprintf(&h.proc, "%s/proc", h.dir) > 0);
        make_dir(h.dir, "sys");
        make_dir(h.dir, "proc");

        add_pci(&h, "pci0000:00/" GPU, GPU);
        write_file(h.sys, "devices/pci0000:00/" GPU "/drm/card0/uevent",
                   "MAJOR=226\nMINOR=0\nDEVNAME=dri/card0\nDEVTYPE=drm_minor\n");
        write_file(h.sys, "devices/pci0000:00/" GPU "/drm/renderD128/uevent",
                   "MAJOR=226\nMINOR=128\nDEVNAME=dri/renderD128\nDEVTYPE=drm_minor\n");
        /* A connector: no node. */
        write_file(h.sys, "devices/pci0000:00/" GPU "/drm/card0/card0-HDMI-A-1/uevent",
                   "DEVTYPE=drm_connector\n");

        add_pci(&h, "pci0000:00/" AUDIO, AUDIO);
        write_file(h.sys, "devices/pci0000:00/" AUDIO "/sound/card0/pcmC0D0p/uevent",
                   "MAJOR=116\nMINOR=3\nDEVNAME=snd/pcmC0D0p\n");

        add_pci(&h, "pci0000:00/" NIC, NIC);
        write_file(h.sys, "devices/pci0000:00/" NIC "/net/eno1/uevent",
                   "INTERFACE=eno1\nIFINDEX=2\n");

        add_pci(&h, "pci0000:00/" IDLE, IDLE);

        /* A bridge with a GPU behind it: the child's nodes are not the bridge's. */
        add_pci(&h, "pci0000:00/" BRIDGE, BRIDGE);
        add_pci(&h, "pci0000:00/" BRIDGE "/" CHILD, CHILD);
        write_file(h.sys, "devices/pci0000:00/" BRIDGE "/" CHILD "/drm/card1/uevent",
                   "MAJOR=226\nMINOR=1\nDEVNAME=dri/card1\n");

        /* sda on the SATA controller: sda2 (8:2), sda3 (8:3). */
        write_file(h.sys, SATA_DISK "/uevent", "MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n");
        write_file(h.sys, SATA_DISK "/sda2/uevent", "MAJOR=8\nMINOR=2\nDEVNAME=sda2\n");
        write_file(h.sys, SATA_DISK "/sda3/uevent", "MAJOR=8\nMINOR=3\nDEVNAME=sda3\n");
        add_pci(&h, "pci0000:00/" SATA, SATA);
        make_link(h.sys, "dev/block/8:0", "../../" SATA_DISK);
        make_link(h.sys, "dev/block/8:2", "../../" SATA_DISK "/sda2");
        make_link(h.sys, "dev/block/8:3", "../../" SATA_DISK "/sda3");
        make_link(h.sys, "class/block/sda", "../../" SATA_DISK);
        make_link(h.sys, "class/block/sda2", "../../" SATA_DISK "/sda2");
        make_link(h.sys, "class/block/sda3", "../../" SATA_DISK "/sda3");

        /* Only pseudo file systems mounted; a process with non-device files open. */
        write_file(h.proc, "self/mountinfo",
                   "22 1 0:21 / /sys rw,relatime shared:22 - sysfs sysfs rw\n"
                   "23 1 0:22 / /proc rw,relatime shared:23 - proc proc rw\n"
                   "25 1 0:25 / /run rw,nosuid shared:25 - tmpfs tmpfs rw\n");
        add_open(&h, 1, "systemd\n", "0", "/dev/null");
        add_open(&h, 1, NULL, "3", "/var/log/journal/x.journal");
        add_open(&h, 1, NULL, "4", "socket:[1234]");
        make_dir(h.proc, "self/fd");
        return h;
}

static void host_free(host *h)
{
        free(h->sys);
        free(h->proc);
        rm_rf(h->dir);
}

static void expect_message(const char *part)
{
        const char *m = vt_error_message();

        if (!m || !strstr(m, part))
                fail_msg("message \"%s\" does not contain \"%s\"", m ? m : "(none)", part);
}

static void probe_ok(const host *h, const char *const *bdfs, size_t n, vt_use_list *out)
{
        int r;

        *out = (vt_use_list){0};
        r = vt_in_use_probe(h->sys, h->proc, bdfs, n, out);
        if (r < 0)
                fail_msg("vt_in_use_probe: %d %s", r, vt_error_message());
}

/* The uses of `bdf` of kind `kind`. */
static size_t count(const vt_use_list *l, const char *bdf, vt_use_kind kind)
{
        size_t n = 0;

        for (size_t i = 0; i < l->n; i++)
                n += l->items[i].kind == kind && strcmp(l->items[i].bdf, bdf) == 0;
        return n;
}

/* The only use of `bdf` of kind `kind` has exactly `detail`. */
static void expect_use(const vt_use_list *l, const char *bdf, vt_use_kind kind, const char *detail)
{
        const vt_use *found = NULL;

        for (size_t i = 0; i < l->n; i++)
                if (l->items[i].kind == kind && strcmp(l->items[i].bdf, bdf) == 0) {
                        if (found)
                                fail_msg("two %s uses of %s", vt_use_kind_name(kind), bdf);
                        found = &l->items[i];
                }
        if (!found)
                fail_msg("no %s use of %s", vt_use_kind_name(kind), bdf);
        assert_string_equal(found->detail, detail);
}

/* The uses of one device, asserting there are exactly `want`. */
static void probe_one(const host *h, const char *bdf, size_t want, vt_use_list *out)
{
        const char *bdfs[] = {bdf};

        probe_ok(h, bdfs, 1, out);
        if (out->n != want) {
                for (size_t i = 0; i < out->n; i++)
                        print_message("  %s %s: %s\n", out->items[i].bdf,
                                      vt_use_kind_name(out->items[i].kind), out->items[i].detail);
                fail_msg("%s: %zu uses, expected %zu", bdf, out->n, want);
        }
}

static void test_kind_names(void **state)
{
        (void)state;
        assert_string_equal(vt_use_kind_name(VT_USE_CONSOLE), "console");
        assert_string_equal(vt_use_kind_name(VT_USE_DRM_CLIENTS), "drm-clients");
        assert_string_equal(vt_use_kind_name(VT_USE_OPEN_NODES), "open-nodes");
        assert_string_equal(vt_use_kind_name(VT_USE_NET_ADDRESSES), "net-addresses");
        assert_string_equal(vt_use_kind_name(VT_USE_MOUNTED), "mounted");
        assert_string_equal(vt_use_kind_name(VT_USE_SWAP), "swap");
        assert_string_equal(vt_use_kind_name((vt_use_kind)42), "unknown");
}

/* Nothing uses any device of the base host; no vtconsole, no net/route, no swaps: no use. */
static void test_unused(void **state)
{
        (void)state;
        host h = make_host();
        const char *all[] = {GPU, AUDIO, NIC, IDLE, BRIDGE, CHILD, SATA};
        vt_use_list l;

        probe_ok(&h, all, 7, &l);
        assert_int_equal(l.n, 0);
        assert_null(l.items);
        vt_use_list_free(&l);
        host_free(&h);
}

static void set_console(const host *h, const char *bind, const char *fb_device)
{
        write_file(h->sys, "class/vtconsole/vtcon0/bind", "0\n");
        write_file(h->sys, "class/vtconsole/vtcon0/name", "(S) dummy device\n");
        write_file(h->sys, "class/vtconsole/vtcon1/bind", bind);
        write_file(h->sys, "class/vtconsole/vtcon1/name", "(M) frame buffer device\n");
        if (fb_device)
                make_link(h->sys, "class/graphics/fb0/device", fb_device);
        write_file(h->sys, "class/graphics/fbcon/uevent", "");
}

static void test_console(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        set_console(&h, "1\n", "../../../devices/pci0000:00/" GPU);
        probe_one(&h, GPU, 1, &l);
        expect_use(&l, GPU, VT_USE_CONSOLE,
                   "it drives the console (/dev/fb0, with the text console on it)");
        vt_use_list_free(&l);
        /* The frame buffer is the GPU's, not the other devices'. */
        probe_one(&h, IDLE, 0, &l);
        vt_use_list_free(&l);
        probe_one(&h, CHILD, 0, &l);
        vt_use_list_free(&l);

        /* fbcon not bound: the frame buffer carries no console. */
        set_console(&h, "0\n", NULL);
        probe_one(&h, GPU, 0, &l);
        vt_use_list_free(&l);

        /* Bound, but the frame buffer is another GPU's (behind the bridge). */
        set_console(&h, "1\n", "../../../devices/pci0000:00/" BRIDGE "/" CHILD);
        probe_one(&h, GPU, 0, &l);
        vt_use_list_free(&l);
        probe_one(&h, CHILD, 1, &l);
        expect_use(&l, CHILD, VT_USE_CONSOLE,
                   "it drives the console (/dev/fb0, with the text console on it)");
        vt_use_list_free(&l);
        host_free(&h);
}

/* A vtconsole that is bound but not fbcon (the dummy console) is no console use. */
static void test_console_not_fbcon(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        set_console(&h, "0\n", "../../../devices/pci0000:00/" GPU);
        write_file(h.sys, "class/vtconsole/vtcon0/bind", "1\n");
        probe_one(&h, GPU, 0, &l);
        vt_use_list_free(&l);
        host_free(&h);
}

static void test_drm_clients(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        add_open(&h, 812, "Xorg\n", "17", "/dev/dri/card0");
        add_open(&h, 1400, "kwin_wayland\n", "9", "/dev/dri/renderD128");
        probe_one(&h, GPU, 2, &l);
        assert_int_equal(count(&l, GPU, VT_USE_DRM_CLIENTS), 2);
        for (size_t i = 0; i < l.n; i++)
                assert_true(
                    strcmp(l.items[i].detail, "process 812 (Xorg) has /dev/dri/card0 open") == 0 ||
                    strcmp(l.items[i].detail,
                           "process 1400 (kwin_wayland) has /dev/dri/renderD128 open") == 0);
        assert_string_not_equal(l.items[0].detail, l.items[1].detail);
        vt_use_list_free(&l);

        /* The GPU behind the bridge is its own device: card0's clients are not its. */
        probe_one(&h, CHILD, 0, &l);
        vt_use_list_free(&l);
        host_free(&h);
}

/* card1 belongs to the GPU behind the bridge, not to the bridge. */
static void test_child_nodes_not_bridge(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        add_open(&h, 2000, "qemu-system-x86\n", "30", "/dev/dri/card1");
        probe_one(&h, BRIDGE, 0, &l);
        vt_use_list_free(&l);
        probe_one(&h, CHILD, 1, &l);
        expect_use(&l, CHILD, VT_USE_DRM_CLIENTS,
                   "process 2000 (qemu-system-x86) has /dev/dri/card1 open");
        vt_use_list_free(&l);
        host_free(&h);
}

static void test_open_nodes(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        add_open(&h, 900, "pipewire\n", "41", "/dev/snd/pcmC0D0p");
        probe_one(&h, AUDIO, 1, &l);
        expect_use(&l, AUDIO, VT_USE_OPEN_NODES,
                   "process 900 (pipewire) has /dev/snd/pcmC0D0p open");
        vt_use_list_free(&l);
        probe_one(&h, GPU, 0, &l);
        vt_use_list_free(&l);

        /* A process whose comm cannot be read is named "?". */
        add_open(&h, 901, NULL, "5", "/dev/snd/pcmC0D0p");
        probe_one(&h, AUDIO, 2, &l);
        assert_int_equal(count(&l, AUDIO, VT_USE_OPEN_NODES), 2);
        assert_true(strcmp(l.items[0].detail, "process 901 (?) has /dev/snd/pcmC0D0p open") == 0 ||
                    strcmp(l.items[1].detail, "process 901 (?) has /dev/snd/pcmC0D0p open") == 0);
        vt_use_list_free(&l);
        host_free(&h);
}

static void test_net_routes(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        /* Routes on another interface only: eno1 is free. */
        write_file(
            h.proc, "net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n");
        probe_one(&h, NIC, 0, &l);
        vt_use_list_free(&l);

        write_file(
            h.proc, "net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
            "eno1\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n");
        probe_one(&h, NIC, 1, &l);
        expect_use(&l, NIC, VT_USE_NET_ADDRESSES,
                   "eno1 has IPv4 routes: it is configured and in use");
        vt_use_list_free(&l);
        probe_one(&h, IDLE, 0, &l);
        vt_use_list_free(&l);
        host_free(&h);
}

/* A USB keyboard's event node is seven levels below its controller, a SATA disk's node six:
 * every node under the device counts, however deep. */
static void test_deep_nodes(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        write_file(h.sys,
                   "devices/pci0000:00/" IDLE
                   "/usb1/1-2/1-2:1.0/0003:046D:C52B.0001/input/input5/event5/uevent",
                   "MAJOR=13\nMINOR=69\nDEVNAME=input/event5\n");
        add_open(&h, 700, "Xorg\n", "12", "/dev/input/event5");
        add_open(&h, 701, "smartd\n", "3", "/dev/sda");
        probe_one(&h, IDLE, 1, &l);
        expect_use(&l, IDLE, VT_USE_OPEN_NODES, "process 700 (Xorg) has /dev/input/event5 open");
        vt_use_list_free(&l);
        probe_one(&h, SATA, 1, &l);
        expect_use(&l, SATA, VT_USE_OPEN_NODES, "process 701 (smartd) has /dev/sda open");
        vt_use_list_free(&l);
        host_free(&h);
}

/* A virtio NIC's interface is one level down (virtio0/net/eth0); an interface in a bridge has
 * its addresses on the bridge (master). */
static void test_net_nested_and_master(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        write_file(h.sys, "devices/pci0000:00/" IDLE "/virtio0/net/eth0/uevent",
                   "INTERFACE=eth0\n");
        write_file(h.sys, "devices/virtual/net/br0/uevent", "INTERFACE=br0\n");
        make_link(h.sys, "devices/pci0000:00/" NIC "/net/eno1/master",
                  "../../../../virtual/net/br0");
        write_file(
            h.proc, "net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
            "br0\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n");
        probe_one(&h, IDLE, 1, &l);
        expect_use(&l, IDLE, VT_USE_NET_ADDRESSES,
                   "eth0 has IPv4 routes: it is configured and in use");
        vt_use_list_free(&l);
        probe_one(&h, NIC, 1, &l);
        expect_use(&l, NIC, VT_USE_NET_ADDRESSES,
                   "br0 has IPv4 routes (above eno1): it is configured and in use");
        vt_use_list_free(&l);
        host_free(&h);
}

static void test_net_inet6(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        /* Loopback's and eno1's link-local address (scope 20): not in use. */
        write_file(h.proc, "net/if_inet6",
                   "00000000000000000000000000000001 01 80 10 80       lo\n"
                   "fe80000000000000021b21fffe3a4b5c 02 40 20 80     eno1\n");
        probe_one(&h, NIC, 0, &l);
        vt_use_list_free(&l);

        /* A global address (scope 00) on eno1. */
        write_file(h.proc, "net/if_inet6",
                   "00000000000000000000000000000001 01 80 10 80       lo\n"
                   "fe80000000000000021b21fffe3a4b5c 02 40 20 80     eno1\n"
                   "20010db8000000000000000000000042 02 40 00 00     eno1\n");
        probe_one(&h, NIC, 1, &l);
        expect_use(&l, NIC, VT_USE_NET_ADDRESSES,
                   "eno1 has a global IPv6 address: it is configured and in use");
        vt_use_list_free(&l);
        host_free(&h);
}

static void test_mounted(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        write_file(h.proc, "self/mountinfo",
                   "22 1 0:21 / /sys rw,relatime shared:22 - sysfs sysfs rw\n"
                   "24 1 8:2 / / rw,relatime shared:24 - ext4 /dev/sda2 rw,errors=remount-ro\n"
                   "26 24 259:3 / /srv rw,relatime shared:26 - ext4 /dev/nvme0n1p3 rw\n"
                   "27 24 0:45 / /tmp rw,nosuid shared:27 - tmpfs tmpfs rw\n");
        probe_one(&h, SATA, 1, &l);
        expect_use(&l, SATA, VT_USE_MOUNTED, "/dev/sda2 is mounted on /");
        vt_use_list_free(&l);
        /* 259:3 is on no device of this host; the other devices have no disk. */
        probe_one(&h, GPU, 0, &l);
        vt_use_list_free(&l);

        /* A mount point with a space in it is named unescaped. */
        write_file(h.proc, "self/mountinfo",
                   "24 1 8:3 / /mnt/my\\040disk rw,relatime shared:24 - ext4 /dev/sda3 rw\n");
        probe_one(&h, SATA, 1, &l);
        expect_use(&l, SATA, VT_USE_MOUNTED, "/dev/sda3 is mounted on /mnt/my disk");
        vt_use_list_free(&l);
        host_free(&h);
}

static void test_swap(void **state)
{
        (void)state;
        host h = make_host();
        vt_use_list l;

        /* A swap file (its file system counts as a mount, not as swap). */
        write_file(h.proc, "swaps",
                   "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                   "/swapfile                               file\t\t2097148\t\t0\t\t-2\n");
        probe_one(&h, SATA, 0, &l);
        vt_use_list_free(&l);

        write_file(h.proc, "swaps",
                   "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                   "/dev/sda3                               partition\t8388604\t\t0\t\t-2\n");
        probe_one(&h, SATA, 1, &l);
        expect_use(&l, SATA, VT_USE_SWAP, "swap is active on /dev/sda3");
        vt_use_list_free(&l);
        probe_one(&h, NIC, 0, &l);
        vt_use_list_free(&l);
        host_free(&h);
}

/* Several devices at once: each use is appended under its own device, after what `out` held. */
static void test_several_devices(void **state)
{
        (void)state;
        host h = make_host();
        const char *bdfs[] = {IDLE, GPU, SATA, NIC};
        vt_use_list l;

        set_console(&h, "1\n", "../../../devices/pci0000:00/" GPU);
        add_open(&h, 812, "Xorg\n", "17", "/dev/dri/card0");
        write_file(
            h.proc, "net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            "eno1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
        write_file(h.proc, "self/mountinfo",
                   "24 1 8:2 / / rw,relatime shared:24 - ext4 /dev/sda2 rw\n");
        write_file(h.proc, "swaps",
                   "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                   "/dev/sda3                               partition\t8388604\t\t0\t\t-2\n");
        probe_ok(&h, bdfs, 4, &l);
        assert_int_equal(l.n, 5);
        expect_use(&l, GPU, VT_USE_CONSOLE,
                   "it drives the console (/dev/fb0, with the text console on it)");
        expect_use(&l, GPU, VT_USE_DRM_CLIENTS, "process 812 (Xorg) has /dev/dri/card0 open");
        expect_use(&l, NIC, VT_USE_NET_ADDRESSES,
                   "eno1 has IPv4 routes: it is configured and in use");
        expect_use(&l, SATA, VT_USE_MOUNTED, "/dev/sda2 is mounted on /");
        expect_use(&l, SATA, VT_USE_SWAP, "swap is active on /dev/sda3");
        assert_int_equal(count(&l, IDLE, VT_USE_CONSOLE) + count(&l, IDLE, VT_USE_OPEN_NODES), 0);

        /* A second probe appends. */
        {
                const char *one[] = {SATA};
                int r = vt_in_use_probe(h.sys, h.proc, one, 1, &l);

                assert_int_equal(r, 0);
                assert_int_equal(l.n, 7);
                assert_int_equal(count(&l, SATA, VT_USE_MOUNTED), 2);
        }
        vt_use_list_free(&l);
        assert_int_equal(l.n, 0);
        assert_null(l.items);
        host_free(&h);
}

/* Without a mount table the disks cannot be protected: an error with a hint, not "no use". */
static void test_no_mountinfo(void **state)
{
        (void)state;
        host h = make_host();
        const char *bdfs[] = {SATA};
        vt_use_list l = {0};
        char path[4096];

        snprintf(path, sizeof(path), "%s/self/mountinfo", h.proc);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(vt_in_use_probe(h.sys, h.proc, bdfs, 1, &l), -ENOENT);
        assert_non_null(vt_error_hint_text());
        assert_non_null(strstr(vt_error_hint_text(), "--proc"));
        vt_use_list_free(&l);
        vt_error_clear();

        /* No /proc at all. */
        snprintf(path, sizeof(path), "%s/nonexistent", h.dir);
        assert_int_equal(vt_in_use_probe(h.sys, path, bdfs, 1, &l), -ENOENT);
        expect_message(path);
        vt_use_list_free(&l);
        vt_error_clear();
        host_free(&h);
}

static const vt_open_file *find_open(const vt_open_files *l, long pid, const char *fd)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->items[i].pid == pid && strcmp(l->items[i].fd, fd) == 0)
                        return &l->items[i];
        return NULL;
}

static void test_open_files_scan(void **state)
{
        (void)state;
        host h = make_host();
        vt_open_files l;
        const vt_open_file *f;

        add_open(&h, 812, "Xorg\n", "17", "/dev/dri/card0");
        add_open(&h, 812, NULL, "18", "/dev/dri/card0 (deleted)");
        add_open(&h, 900, "pipewire\n", "41", "/dev/snd/pcmC0D0p");
        add_open(&h, 901, NULL, "2", "/dev/pts/0");
        /* Not a process: ignored even with an fd directory. */
        make_link(h.proc, "thread-self/fd/3", "/dev/dri/card0");

        assert_int_equal(vt_open_files_scan(h.proc, &l), 0);
        /* pid 1's /dev/null, 812's two, 900's, 901's; not pid 1's journal file or socket. */
        assert_int_equal(l.n, 5);
        f = find_open(&l, 812, "17");
        assert_non_null(f);
        assert_string_equal(f->target, "/dev/dri/card0");
        assert_string_equal(f->comm, "Xorg");
        f = find_open(&l, 812, "18");
        assert_non_null(f);
        assert_string_equal(f->target, "/dev/dri/card0 (deleted)");
        f = find_open(&l, 900, "41");
        assert_non_null(f);
        assert_string_equal(f->target, "/dev/snd/pcmC0D0p");
        assert_string_equal(f->comm, "pipewire");
        f = find_open(&l, 901, "2");
        assert_non_null(f);
        assert_string_equal(f->comm, "?");
        f = find_open(&l, 1, "0");
        assert_non_null(f);
        assert_string_equal(f->target, "/dev/null");
        assert_string_equal(f->comm, "systemd");
        assert_null(find_open(&l, 1, "3"));
        assert_null(find_open(&l, 1, "4"));
        vt_open_files_free(&l);
        assert_int_equal(l.n, 0);

        /* A missing /proc is an error naming it. */
        {
                char path[4096];

                snprintf(path, sizeof(path), "%s/none", h.dir);
                assert_int_equal(vt_open_files_scan(path, &l), -ENOENT);
                expect_message(path);
                vt_error_clear();
        }
        host_free(&h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_kind_names),   cmocka_unit_test(test_unused),
            cmocka_unit_test(test_console),      cmocka_unit_test(test_console_not_fbcon),
            cmocka_unit_test(test_drm_clients),  cmocka_unit_test(test_child_nodes_not_bridge),
            cmocka_unit_test(test_open_nodes),   cmocka_unit_test(test_net_routes),
            cmocka_unit_test(test_deep_nodes),   cmocka_unit_test(test_net_nested_and_master),
            cmocka_unit_test(test_net_inet6),    cmocka_unit_test(test_mounted),
            cmocka_unit_test(test_swap),         cmocka_unit_test(test_several_devices),
            cmocka_unit_test(test_no_mountinfo), cmocka_unit_test(test_open_files_scan),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
