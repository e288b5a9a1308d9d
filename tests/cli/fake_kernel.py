#!/usr/bin/python3
"""An emulator of the kernel's PCI driver core for a copied fixture sysfs tree (tests/cli/test_try.sh).

Usage:
  fake_kernel.py --sysfs DIR --root ROOT [--pidfile F] [--log F] [--interval SECONDS]
                 [--refuse-vfio BDF]... [--no-vfio-node BDF]... [--knock BDF=VICTIM]...

A fixture tree is only files and symlinks: writing "BDF" to drivers/DRV/unbind does nothing by
itself. This process polls the files vfiotx writes (every --interval, 5 ms by default) and makes
the writes take effect, the way the driver core would:

  bus/pci/drivers/DRV/unbind  "BDF"  the device leaves DRV: its `driver` link and
                                     drivers/DRV/BDF go (nothing when it is not bound to DRV)
  bus/pci/drivers_probe       "BDF"  an unbound device is bound to its driver_override when one
                                     is set (and only to that, when drivers/<it> exists), else to
                                     its "native" driver (the one it had at startup, a stand-in
                                     for modalias matching; a device without one stays unbound)
  bus/pci/drivers/DRV/bind    "BDF"  an unbound device is bound to DRV when DRV is its override,
                                     or, with no override set, its native driver
  bus/pci/devices/BDF/driver_override   read at probe/bind time ("" or "(null)": none)

A write is seen by a change of (st_mtime_ns, size, content) of a non-empty file; bind, unbind
and drivers_probe are write-only on a real kernel, so after acting on one the emulator truncates
it: the same line written again is a new write. Binding makes the relative links the fixtures
have (devices/.../BDF/driver -> ../../bus/pci/drivers/DRV, drivers/DRV/BDF -> the device dir).
Binding to vfio-pci creates ROOT/dev/vfio/<group> (group from the iommu_group link); when no
member of that group is on vfio-pci any more, the file goes.

At startup it creates what the fixtures lack: an empty driver_override for every device,
bus/pci/drivers_probe, and bind/unbind in every drivers/DRV dir. A drivers dir that appears
later (a fake `modprobe vfio-pci` creating drivers/vfio-pci: see test_try.sh) is picked up at
the next poll and gets bind/unbind too. The pidfile is written once the tree is ready: wait for
it before running vfiotx.

Faults, for the negative tests:
  --refuse-vfio BDF    a probe or bind of BDF to vfio-pci never binds it (it stays unbound)
  --no-vfio-node BDF   BDF binds to vfio-pci, but its group's /dev/vfio/N is not created
  --knock BDF=VICTIM   when BDF binds to vfio-pci, VICTIM is unbound from its driver (a host
                       device that loses its driver as a side effect)
Every write acted on is logged to --log as "OP BDF -> RESULT" (one line each, flushed).
SIGTERM/SIGINT end it.
"""
import argparse
import os
import re
import signal
import sys
import time

BDF_RE = re.compile(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")


class FakeKernel:
    def __init__(self, args):
        self.sysfs = os.path.realpath(args.sysfs)
        self.root = os.path.realpath(args.root)
        self.bus = os.path.join(self.sysfs, "bus", "pci")
        self.refuse_vfio = set(args.refuse_vfio)
        self.no_vfio_node = set(args.no_vfio_node)
        self.knock = {}
        for k in args.knock:
            bdf, _, victim = k.partition("=")
            self.knock.setdefault(bdf, []).append(victim)
        self.logf = open(args.log, "a", buffering=1) if args.log else None
        self.seen = {}  # path -> (mtime_ns, size, content)
        self.native = {}  # bdf -> driver name at startup (or None)
        self.known_drivers = set()

    # --- helpers
    def log(self, line):
        if self.logf:
            self.logf.write(line + "\n")

    def devlink(self, bdf):
        return os.path.join(self.bus, "devices", bdf)

    def devdir(self, bdf):
        return os.path.realpath(self.devlink(bdf))

    def drvdir(self, drv):
        return os.path.join(self.bus, "drivers", drv)

    def driver_of(self, bdf):
        link = os.path.join(self.devdir(bdf), "driver")
        if not os.path.islink(link):
            return None
        return os.path.basename(os.readlink(link))

    def group_of(self, bdf):
        link = os.path.join(self.devdir(bdf), "iommu_group")
        if not os.path.islink(link):
            return None
        return os.path.basename(os.readlink(link))

    def override_of(self, bdf):
        try:
            with open(os.path.join(self.devdir(bdf), "driver_override")) as f:
                v = f.read().strip()
        except OSError:
            return None
        return None if v in ("", "(null)") else v

    def devices(self):
        d = os.path.join(self.bus, "devices")
        return sorted(x for x in os.listdir(d) if BDF_RE.match(x))

    # --- the driver core
    def bind(self, bdf, drv):
        dev = self.devdir(bdf)
        ddir = self.drvdir(drv)
        if not os.path.isdir(ddir):
            return "no driver " + drv
        if drv == "vfio-pci" and bdf in self.refuse_vfio:
            return "refused (fault --refuse-vfio)"
        # The device's driver link goes last. vfiotx reads it as "the write returned", and a
        # real write to bind or drivers_probe returns only when the probe is over: the group's
        # node exists and whatever the probe knocked off is gone. Publishing the link first
        # lets a loaded machine see the driver without its node.
        if drv == "vfio-pci":
            group = self.group_of(bdf)
            if group is not None and bdf not in self.no_vfio_node:
                os.makedirs(os.path.join(self.root, "dev", "vfio"), exist_ok=True)
                node = os.path.join(self.root, "dev", "vfio", group)
                if not os.path.exists(node):
                    open(node, "w").close()
            for victim in self.knock.get(bdf, []):
                vd = self.driver_of(victim)
                if vd is not None:
                    self.log("knock %s -> %s" % (victim, self.unbind(victim, vd)))
        link = os.path.join(ddir, bdf)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.path.relpath(dev, ddir), link)
        os.symlink(os.path.relpath(ddir, dev), os.path.join(dev, "driver"))
        return "bound " + drv

    def unbind(self, bdf, drv):
        cur = self.driver_of(bdf)
        if cur != drv:
            return "not bound to %s (%s)" % (drv, cur)
        dev = self.devdir(bdf)
        # As in bind: the device's driver link goes last, after the node it took with it.
        if drv == "vfio-pci":
            group = self.group_of(bdf)
            if group is not None and not any(
                o != bdf and self.driver_of(o) == "vfio-pci" and self.group_of(o) == group
                for o in self.devices()
            ):
                node = os.path.join(self.root, "dev", "vfio", group)
                if os.path.exists(node):
                    os.unlink(node)
        link = os.path.join(self.drvdir(drv), bdf)
        if os.path.lexists(link):
            os.unlink(link)
        os.unlink(os.path.join(dev, "driver"))
        return "unbound " + drv

    def probe(self, bdf):
        if self.driver_of(bdf) is not None:
            return "already bound"
        ov = self.override_of(bdf)
        if ov is not None:
            return self.bind(bdf, ov)
        nat = self.native.get(bdf)
        if nat is None:
            return "no driver matches"
        return self.bind(bdf, nat)

    def bind_file(self, bdf, drv):
        if self.driver_of(bdf) is not None:
            return "busy"
        ov = self.override_of(bdf)
        if (ov is not None and ov != drv) or (ov is None and self.native.get(bdf) != drv):
            return "no match for " + drv
        return self.bind(bdf, drv)

    # --- setup and polling
    def ensure_file(self, path):
        if not os.path.exists(path):
            open(path, "w").close()

    def setup_driver(self, drv):
        for f in ("bind", "unbind"):
            self.ensure_file(os.path.join(self.drvdir(drv), f))
        self.known_drivers.add(drv)

    def setup(self):
        for bdf in self.devices():
            self.native[bdf] = self.driver_of(bdf)
            self.ensure_file(os.path.join(self.devdir(bdf), "driver_override"))
        self.ensure_file(os.path.join(self.bus, "drivers_probe"))
        for drv in os.listdir(os.path.join(self.bus, "drivers")):
            self.setup_driver(drv)
        for path in self.watched():
            self.seen[path] = self.key(path)

    def watched(self):
        yield os.path.join(self.bus, "drivers_probe")
        for drv in sorted(self.known_drivers):
            yield os.path.join(self.drvdir(drv), "unbind")
            yield os.path.join(self.drvdir(drv), "bind")

    @staticmethod
    def key(path):
        try:
            st = os.stat(path)
            with open(path) as f:
                content = f.read()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, content)

    def act(self, path, content):
        line = content.strip()
        if not BDF_RE.match(line):
            if content.endswith("\n"):
                self.log("%s: ignored %r" % (path, content))
            return None  # empty, or a write still in progress
        bdf = line.lower()
        # truncated first: vfiotx's next write depends on the effect, which comes after this
        open(path, "w").close()
        if not os.path.isdir(self.devdir(bdf)):
            self.log("%s %s -> no such device" % (path, bdf))
            return True
        name = os.path.basename(path)
        if name == "drivers_probe":
            self.log("probe %s -> %s" % (bdf, self.probe(bdf)))
        elif name == "unbind":
            drv = os.path.basename(os.path.dirname(path))
            self.log("unbind %s %s -> %s" % (drv, bdf, self.unbind(bdf, drv)))
        elif name == "bind":
            drv = os.path.basename(os.path.dirname(path))
            self.log("bind %s %s -> %s" % (drv, bdf, self.bind_file(bdf, drv)))
        return True

    def poll(self):
        for drv in os.listdir(os.path.join(self.bus, "drivers")):
            if drv not in self.known_drivers and os.path.isdir(self.drvdir(drv)):
                self.setup_driver(drv)
                self.log("driver %s appeared" % drv)
        for path in self.watched():
            k = self.key(path)
            if k is None or k == self.seen.get(path):
                continue
            if k[1] > 0 and self.act(path, k[2]):
                k = self.key(path)
            self.seen[path] = k


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sysfs", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--pidfile")
    p.add_argument("--log")
    p.add_argument("--interval", type=float, default=0.005)
    p.add_argument("--refuse-vfio", action="append", default=[])
    p.add_argument("--no-vfio-node", action="append", default=[])
    p.add_argument("--knock", action="append", default=[])
    args = p.parse_args()
    fk = FakeKernel(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fk.setup()
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pidfile)
    try:
        while True:
            fk.poll()
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
