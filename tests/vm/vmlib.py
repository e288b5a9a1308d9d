"""QEMU guest driver for vfiotx's end-to-end tests: one QEMU process per boot, its serial console
on a unix socket (kept as a per-boot log file), commands run through the guest's root shell with
a timeout on every wait. Python standard library only; every host process is run from an argv
list, never through a shell."""

import ctypes
import hashlib
import os
import re
import select
import signal
import socket
import subprocess
import time

SECTOR = 512
PART_OFFSET = 2048 * SECTOR  # the root partition starts at 1 MiB (sfdisk's default)
# UEFI guests (uefi_image.py): OVMF's code, read-only and shared, and its empty variable store,
# which each guest gets its own copy of (it holds the Boot#### entries and loader variables)
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
# on every guest kernel's command line (image.py's GRUB defaults, uefi_image.py's
# /etc/kernel/cmdline): under TCG on a loaded machine the kernel's check that the timer
# interrupt arrives through the interrupt-remapped IO-APIC can miss it and panic at 0.03s
# ("timer doesn't work through Interrupt-remapped IO-APIC", seen in vm/rescue-sdboot);
# no_timer_check skips that check, nothing else
GUEST_CMDLINE_EXTRA = "no_timer_check"
_ROOT_OFFSETS = {}  # disk image path -> byte offset of its root partition, when not PART_OFFSET
ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|\([0-9A-Za-z])")


def _die_with_parent():
    """QEMU gets SIGKILL when the harness dies, even by SIGKILL (a ctest timeout)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class VMError(Exception):
    pass


def run(argv, timeout=600, **kw):
    """Run a host command (argv list), raise with its output when it fails."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       text=True, **kw)
    if p.returncode != 0:
        raise VMError("%s exited %d:\n%s" % (" ".join(argv), p.returncode, p.stdout[-4000:]))
    return p.stdout


def set_root_offset(disk, offset):
    """The root partition of this disk image starts at `offset` bytes (a derived UEFI disk:
    ESP first, see uefi_image.py), not at PART_OFFSET; every helper here then finds it there."""
    _ROOT_OFFSETS[os.path.abspath(disk)] = offset


def root_offset(disk):
    return _ROOT_OFFSETS.get(os.path.abspath(disk), PART_OFFSET)


def fs_spec(disk):
    """The root filesystem inside a partitioned disk image, for e2fsprogs (no loop device)."""
    return "%s?offset=%d" % (disk, root_offset(disk))


def debugfs(disk, commands, write=False, timeout=120):
    """Run debugfs commands (a list of lines) against the disk's root filesystem."""
    argv = ["debugfs"] + (["-w"] if write else []) + ["-f", "-", fs_spec(disk)]
    p = subprocess.run(argv, input="\n".join(commands) + "\n", stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if p.returncode != 0:
        raise VMError("debugfs failed:\n" + p.stdout[-4000:])
    return p.stdout


def _dump(spec, path, catastrophic=False):
    """Bytes of a file in an ext4 filesystem (an image or `disk?offset=`), or None when it is
    absent. catastrophic: debugfs -c, which reads no bitmaps (they may be inconsistent without
    the journal's replay) and only ever opens read-only."""
    argv = ["debugfs"] + (["-c"] if catastrophic else []) + \
        ["-R", "dump -p %s /dev/stdout" % path, spec]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if b"File not found" in p.stderr or b"not found by ext2_lookup" in p.stderr:
        return None
    if p.returncode != 0 or b"Filesystem not open" in p.stderr:
        raise VMError("debugfs could not read %s from %s:\n%s"
                      % (path, spec, p.stderr.decode(errors="replace")))
    return p.stdout


def read_guest_file(disk, path):
    """Bytes of a file in a (cleanly powered-off) disk image, or None when it is absent."""
    return _dump(fs_spec(disk), path)


def read_unreplayed(disk, path):
    """Bytes of a file (or None) as a reader that does not replay the ext4 journal sees it after
    a power cut: GRUB reading /boot. The directory entries, inodes and extents in their home
    locations, whatever the journal holds that supersedes them (debugfs never replays it). The
    disk is only read."""
    return _dump(fs_spec(disk), path, catastrophic=True)


def unreplayed_location(disk, path):
    """(inode number, physical block of the first 4 KiB) of a file as a reader that does not
    replay the journal finds it (None when absent): where GRUB reads, and where its save_env
    writes, that file."""
    return _location(fs_spec(disk), path, catastrophic=True)


def _location(spec, path, catastrophic=False):
    p = subprocess.run(["debugfs"] + (["-c"] if catastrophic else []) + ["-R", "stat %s" % path,
                                                                         spec],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                       env=dict(os.environ, DEBUGFS_PAGER="__none__"))
    if "File not found" in p.stderr or "not found by ext2_lookup" in p.stderr:
        return None
    ino = re.search(r"^Inode: (\d+)", p.stdout, re.M)
    blk = re.search(r"^(?:EXTENTS|BLOCKS):\n\(0\):(\d+)", p.stdout, re.M)
    if p.returncode != 0 or not ino or not blk:
        raise VMError("debugfs could not stat %s in %s:\n%s%s"
                      % (path, spec, p.stdout[-2000:], p.stderr))
    return int(ino.group(1)), int(blk.group(1))


def copy_partition(disk, dest):
    """The root filesystem out of the disk image into its own sparse file (data extents only,
    SEEK_DATA/SEEK_HOLE + copy_file_range: about a second). The root partition is the disk's
    last one (on a GPT disk the copy also gets the backup table's few sectors after it: e2fsck
    and debugfs read only the filesystem's own size)."""
    start = root_offset(disk)
    with open(disk, "rb") as src, open(dest, "wb") as dst:
        end = os.fstat(src.fileno()).st_size
        dst.truncate(end - start)
        copy_range(src, dst, start, end, start)


def copy_range(src, dst, start, end, shift):
    """Copy the data extents of open file `src` between offsets start and end into open file
    `dst` at (offset - shift), leaving holes as holes."""
    pos = start
    while pos < end:
        try:
            data = os.lseek(src.fileno(), pos, os.SEEK_DATA)
        except OSError:  # ENXIO: only a hole is left
            break
        if data >= end:
            break
        hole = min(os.lseek(src.fileno(), data, os.SEEK_HOLE), end)
        off_in, off_out = data, data - shift
        while off_in < hole:
            n = os.copy_file_range(src.fileno(), dst.fileno(), hole - off_in, off_in, off_out)
            if n <= 0:
                raise VMError("copy_file_range stopped at %d of %s" % (off_in, src.name))
            off_in += n
            off_out += n
        pos = hole


def esp_read(disk, offset, path):
    """Bytes of a file in the FAT filesystem (an ESP) at byte `offset` of a disk image, as the
    firmware reads it (mtools: no mount, only read), or None when it is absent."""
    p = subprocess.run(["mtype", "-i", "%s@@%d" % (disk, offset), "::" + path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                       env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    if p.returncode != 0:
        if re.search(rb"File \"[^\"]*\" not found|File not found", p.stderr):
            return None
        raise VMError("mtype could not read %s from %s@@%d:\n%s"
                      % (path, disk, offset, p.stderr.decode(errors="replace")))
    return p.stdout


def esp_list(disk, offset):
    """Every path in the FAT filesystem at byte `offset` of a disk image (mtools' mdir -/ -b),
    sorted."""
    out = run(["mdir", "-i", "%s@@%d" % (disk, offset), "-/", "-b", "::/"], timeout=60,
              env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    return sorted(line[2:] if line.startswith("::") else line
                  for line in out.splitlines() if line.strip())


def esp_delete(disk, offset, path):
    """Delete a file from the FAT filesystem at byte `offset` of a (powered-off) disk image
    (mtools' mdel): what a scenario breaks on an ESP."""
    run(["mdel", "-i", "%s@@%d" % (disk, offset), "::" + path], timeout=60,
        env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))


def read_after_power_cut(disk, path, workdir):
    """Bytes of a file (or None) as the guest will see it after a power cut (ReplayedCopy)."""
    with ReplayedCopy(disk, workdir) as fs:
        return fs.read(path)


class ReplayedCopy:
    """The root filesystem as the next kernel will mount it after a power cut: a scratch copy
    of it whose ext4 journal is replayed first, as the kernel replays it at the mount (the disk
    itself is left as the cut left it, for that boot). Without the replay debugfs sees metadata
    the journal supersedes, or refuses the bitmaps."""

    def __init__(self, disk, workdir):
        self.disk = disk
        self.scratch = os.path.join(workdir, "after-cut.ext4")

    def __enter__(self):
        try:
            copy_partition(self.disk, self.scratch)
            p = subprocess.run(["e2fsck", "-E", "journal_only", "-p", self.scratch],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=300)
            if p.returncode not in (0, 1):
                raise VMError("replaying the ext4 journal of a copy failed (%d):\n%s"
                              % (p.returncode, p.stdout))
        except BaseException:
            self.__exit__()
            raise
        return self

    def read(self, path):
        """Bytes of a file, or None when it is absent."""
        return _dump(self.scratch, path)

    def location(self, path):
        """(inode number, physical block of the first 4 KiB) of a file, or None."""
        return _location(self.scratch, path)

    def __exit__(self, *exc):
        if os.path.exists(self.scratch):
            os.unlink(self.scratch)
        return False


def guest_path_exists(disk, paths):
    """Which of the given absolute paths exist in the disk's root filesystem."""
    out = debugfs(disk, ["stat %s" % p for p in paths])
    missing = set(re.findall(r"^(\S+): File not found by ext2_lookup", out, re.M))
    return {p: p not in missing for p in paths}


def install_tree(disk, tree, dest_prefix="/"):
    """Copy every file under host directory `tree` into the disk at the same relative path,
    creating directories as needed; files keep their mode, owner root:root."""
    cmds = []
    for dirpath, dirnames, filenames in os.walk(tree):
        rel = os.path.relpath(dirpath, tree)
        gdir = os.path.normpath(os.path.join(dest_prefix, rel))
        if gdir != "/":
            cmds.append("mkdir %s" % gdir)  # fails harmlessly when it exists
        for f in sorted(filenames):
            src = os.path.join(dirpath, f)
            gpath = os.path.join(gdir, f)
            mode = os.stat(src).st_mode
            cmds += ["rm %s" % gpath, "write %s %s" % (src, gpath),
                     "sif %s mode 0%o" % (gpath, mode), "sif %s uid 0" % gpath,
                     "sif %s gid 0" % gpath]
    debugfs(disk, cmds, write=True)


class Guest:
    """One boot of the guest: a QEMU process and its serial console."""

    def __init__(self, disk, workdir, name, kernel=None, initrd=None, append=None,
                 no_reboot=True, memory=1024, smp=1, extra_args=(), uefi=None):
        """uefi: the path of this guest's own copy of OVMF's variable store (OVMF_VARS): the
        guest boots through OVMF (UEFI) instead of SeaBIOS.
        smp: one vCPU by default. ctest runs two tests at a time on two cores, so a guest gets
        about one core anyway; a second vCPU (multi-threaded TCG) then costs more CPU for the
        same work: measured with two guests side by side, QEMU's CPU time for one
        update-initramfs was 94 s with 1 vCPU and 125 s with 2, for update-grub 16 s and 22 s,
        up to the login 36 s and 40 s (and their wall times 169 s and 192 s)."""
        self.disk = disk
        self.workdir = workdir
        self.name = name
        self.log = os.path.join(workdir, "serial-%s.log" % name)
        self.sock_path = os.path.join(workdir, "serial-%s.sock" % name)
        if len(self.sock_path.encode()) > 100:
            # a unix socket's path has 108 bytes at most (sun_path): a deep work directory (a
            # long VFIOTX_VM_CACHE) gets one in /tmp, named after the long one (unique to it)
            self.sock_path = "/tmp/vfiotx-serial-%s.sock" % hashlib.sha256(
                self.sock_path.encode()).hexdigest()[:16]
        self.buf = ""
        self.pending = ""
        self.pos = 0  # what expect() has consumed
        self.seq = 0
        self.proc = None
        self.sock = None
        argv = ["qemu-system-x86_64",
                "-machine", "q35,kernel-irqchip=split", "-accel", "tcg", "-cpu", "max",
                "-smp", str(smp), "-m", str(memory),
                "-device", "intel-iommu,intremap=on",
                "-device", "edu",
                # writethrough: every write the guest makes reaches the host file before it is
                # acknowledged, so killing QEMU is a real power cut (the guest's own page cache
                # is lost, what it fsync'ed is on disk)
                "-drive", "file=%s,format=raw,if=virtio,cache=writethrough" % disk,
                "-display", "none", "-monitor", "none", "-nodefaults", "-vga", "std",
                "-chardev", "socket,id=s0,path=%s,server=on,wait=off,logfile=%s"
                % (self.sock_path, self.log),
                "-serial", "chardev:s0"]
        if uefi:
            argv += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
                     "-drive", "if=pflash,format=raw,unit=1,file=" + uefi]
        if no_reboot:
            argv.append("-no-reboot")  # a reboot ends this process: one log per boot
        if kernel:
            argv += ["-kernel", kernel, "-initrd", initrd, "-append", append]
        argv += list(extra_args)
        self.argv = argv

    # --- life cycle -------------------------------------------------------------------------
    def start(self, timeout=30):
        for p in (self.sock_path, self.log):
            if os.path.exists(p):
                os.unlink(p)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.workdir, "qemu-%s.out"
                                                              % self.name), "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise VMError("QEMU exited at once (%d): see qemu-%s.out"
                              % (self.proc.returncode, self.name))
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock_path)
                self.sock = s
                return self
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if time.monotonic() > deadline:
                    raise VMError("QEMU's serial socket did not appear within %ds" % timeout)
                time.sleep(0.05)

    def kill(self):
        """Cut the power: SIGKILL QEMU (nothing the guest had not written reaches the disk)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._close()

    def wait_exit(self, timeout):
        """Wait for QEMU to end by itself, reading the console all along (an unread socket
        would block the guest's serial output, and with it the guest)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise VMError("QEMU did not exit within %ds" % timeout)
            if not self._read(0.2) and not self.sock:
                time.sleep(0.2)
        self._drain()
        self._close()

    def _close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()  # every exit path: no QEMU is left behind
        return False

    # --- serial console ---------------------------------------------------------------------
    def _read(self, timeout):
        if not self.sock:
            return False
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return False
        data = self.sock.recv(65536)
        if not data:
            self._close()
            return False
        text = self.pending + data.decode("utf-8", "replace").replace("\r", "")
        # terminal escapes (bash's bracketed paste, GRUB's menu drawing) would hide line starts
        # from the patterns: drop them, holding back one cut in two by the read
        cut = text.rfind("\x1b")
        if cut != -1 and not ESCAPE.match(text, cut):
            text, self.pending = text[:cut], text[cut:]
        else:
            self.pending = ""
        self.buf += ESCAPE.sub("", text)
        return True

    def _drain(self):
        while self._read(0):
            pass

    def expect(self, pattern, timeout, what=None):
        """Wait for a regex in the console output after what was consumed; returns the match."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise VMError("timed out after %ds waiting for %s" % (timeout, what or pattern))
            if not self._read(min(left, 1.0)):
                if self.proc.poll() is not None and not self.sock:
                    raise VMError("QEMU exited (%s) while waiting for %s"
                                  % (self.proc.returncode, what or pattern))

    def send(self, text):
        self.sock.sendall(text.encode())

    def wait_login(self, timeout=300):
        """Wait for the autologin shell on ttyS0 and make it quiet and predictable."""
        # a boot that drops to the initramfs emergency shell never logs in: nothing reboots
        # it (no panic=), the host is stranded; say so at once instead of timing out
        m = self.expect(r"\(automatic login\)|(?P<stranded>\(initramfs\) )", timeout,
                        "the serial autologin")
        if m.group("stranded"):
            seen = "\n".join(re.findall(r"Booting `[^'\n]*'|^.*(?:ALERT!|Rebooting "
                                        r"automatically).*$", self.buf, re.M))
            self.pos = m.start()
            try:
                self.wait_initramfs_shell(30)
                seen += "\n/proc/cmdline: " + self.out("cat /proc/cmdline", timeout=30)
            except VMError:
                pass
            raise VMError("the boot stopped in the initramfs emergency shell after %.0fs "
                          "(nothing reboots it: the host is stranded):\n%s"
                          % (time.monotonic() - self.started, seen))
        t0 = time.monotonic()
        deadline = t0 + 60
        while True:
            self.seq += 1
            self.send("\necho RE''ADY-%d\n" % self.seq)
            try:
                self.expect(r"(?<!')READY-%d\n" % self.seq, 3)
                break
            except VMError:
                if time.monotonic() > deadline:
                    raise VMError("no shell on the serial console within 60s of autologin")
        self.boot_seconds = time.monotonic() - self.started
        # no bracketed paste, no wrapping surprises, no kernel messages in command output
        # no line editing (no redraws, no bracketed paste): the tty's own canonical mode reads
        # the lines; wide columns; no kernel messages in the middle of command output
        self.seq += 1
        self.send("set +o emacs +o vi; stty cols 1000; dmesg -n 1; PS1='vm# ' PS2=; "
                  "export PAGER=cat SYSTEMD_PAGER=cat TERM=dumb; echo SET''UP-%d\n" % self.seq)
        self.expect(r"SETUP-%d\n" % self.seq, 30, "the shell set-up")
        return self

    def wait_initramfs_shell(self, timeout=300):
        """Wait for the initramfs emergency shell ("(initramfs)" prompt on the console: the
        root was not found and nothing reboots the host) and make it usable for sh(): a /tmp,
        no kernel messages in command output."""
        self.expect(r"\(initramfs\) ", timeout, "the initramfs emergency shell")
        self.boot_seconds = time.monotonic() - self.started
        self.seq += 1
        self.send("\nmkdir -p /tmp; echo 1 >/proc/sys/kernel/printk; echo SET''UP-%d\n" % self.seq)
        self.expect(r"SETUP-%d\n" % self.seq, 30, "the initramfs shell set-up")
        return self

    def sh(self, cmd, timeout=120, check=True):
        """Run a command line in the guest's root shell; returns (rc, output). Output goes
        through a file so that the command's echo and console noise stay out of it."""
        self.seq += 1
        n = self.seq
        # a subshell: an `exit` in the command must not end the login shell
        self.send("( %s\n) >/tmp/.vt-out 2>&1 </dev/null; r=$?; echo @@''B%d; cat /tmp/.vt-out; "
                  "echo; echo @@''E%d rc=$r\n" % (cmd, n, n))
        # the tty echoes the typed line before bash prints its prompt, so a marker may follow
        # a prompt on its line; the echoed command has @@''B, never @@B
        self.expect(r"@@B%d\n" % n, timeout, "the start of the output of: " + cmd)
        start = self.pos
        m = self.expect(r"@@E%d rc=(\d+)\n" % n, timeout, "the end of: " + cmd)
        out = self.buf[start:m.start()].strip("\n")
        rc = int(m.group(1))
        if check and rc != 0:
            raise VMError("guest command failed (exit %d): %s\n%s" % (rc, cmd, out))
        return rc, out

    def out(self, cmd, timeout=120):
        return self.sh(cmd, timeout)[1]

    def poweroff(self, timeout=120):
        self.send("\nsystemctl poweroff\n")
        self.wait_exit(timeout)

    def force_reboot(self, timeout=120):
        """`reboot -f` (the initramfs shell has no init to ask): ends the QEMU process."""
        self.send("\nsync; reboot -f\n")
        self.wait_exit(timeout)

    def reboot(self, timeout=120):
        """Reboot (QEMU runs with -no-reboot, so this ends the process; boot again with a
        new Guest for a separate log)."""
        self.send("\nsystemctl reboot\n")
        self.wait_exit(timeout)


def tail(path, lines=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"
