#!/usr/bin/env python3
"""Builds the Linux test-guest disk: Debian's kernel + a busybox initramfs.

The kernel comes from Debian's linux-image-amd64 (downloaded with apt-get
download, unpacked with dpkg -x, no root needed), busybox from the installed
busybox-static, and the disk is a GRUB2 hybrid image (docs/design.md section 4)
padded for Bochs' flat-disk geometry. Outputs are cached by input hash.

Two ways to boot the kernel (README.md, "PVH boot"):
- bzImage (the default): GRUB's `linux` command; the kernel's real-mode setup
  runs, then its decompressor un-XZes the kernel (in Bochs ~4.5e9 of a boot's
  ~10e9 instructions). The passthrough Linux boot (tests/boot/linux_storm.py,
  shared with test_nmi_linux.py) keeps this path, so CI still runs Linux's
  real-mode setup under the hypervisor, and so does `./hv compare`'s Linux row
  (tools/compare.py: a benchmark keeps its definition).
- PVH (--pvh, pvh_loader=): the vmlinux is extracted from the bzImage on the
  host (extract_vmlinux, cached next to the kernel in out/cache) and GRUB
  multiboots guest/linux/pvh's loader with the vmlinux and the initrd as
  modules; the loader enters the kernel by its Xen PVH entry point. The bare
  Linux boot of tests/boot and the shared TrustVisor Linux boot
  (tests/boot/tv_linux.py) use it.
"""
import argparse
import fcntl
import glob
import gzip
import hashlib
import io
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BOCHS_CYLINDER = 16 * 63 * 512  # heads * sectors * bytes

# Kernel arguments: serial console only; quiet to keep Bochs' UART emulation
# (one VM exit-free but slow byte at a time) off the critical path.
CMDLINE = "console=ttyS0,115200 loglevel=3 panic=-1 nokaslr tsc=reliable no_timer_check"


class DiskError(Exception):
    pass


def need(tool, package):
    if shutil.which(tool) is None:
        raise DiskError(f"missing tool {tool}: run ./hv setup (or: apt-get install {package})")


def kernel_package():
    out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            return line.split()[1]
    raise DiskError("apt-cache knows no linux-image-amd64: run apt-get update (./hv setup does)")


def fetch_kernel(cache):
    os.makedirs(cache, exist_ok=True)
    debs = glob.glob(os.path.join(cache, "linux-image-*-amd64_*.deb"))
    if not debs:
        pkg = kernel_package()
        r = subprocess.run(["apt-get", "download", pkg], cwd=cache, capture_output=True, text=True)
        debs = glob.glob(os.path.join(cache, "linux-image-*-amd64_*.deb"))
        if not debs:
            raise DiskError(f"apt-get download {pkg} failed:\n{r.stderr}")
    deb = sorted(debs)[-1]
    unpacked = deb[:-4] + ".d"
    if not os.path.isdir(unpacked):
        tmp = unpacked + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["dpkg", "-x", deb, tmp], check=True)
        os.rename(tmp, unpacked)
    kernels = glob.glob(os.path.join(unpacked, "boot", "vmlinuz-*"))
    if not kernels:
        raise DiskError(f"{deb} holds no /boot/vmlinuz-*")
    return kernels[0]


def extract_vmlinux(bzimage, out):
    """Writes the ELF vmlinux inside a Linux bzImage to out: the setup header's
    payload_offset/payload_length (boot protocol 2.08+, relative to the
    protected-mode code after the (setup_sects + 1) * 512-byte setup) locate the
    compressed kernel; XZ and gzip payloads are decoded (Debian's is XZ)."""
    with open(bzimage, "rb") as f:
        data = f.read()
    if len(data) < 0x250 or data[0x202:0x206] != b"HdrS":
        raise DiskError(f"{bzimage} is not a Linux bzImage (no 'HdrS' at 0x202)")
    version = struct.unpack_from("<H", data, 0x206)[0]
    if version < 0x208:
        raise DiskError(f"{bzimage}: boot protocol {version >> 8}.{version & 0xff} "
                        "has no payload fields (2.08+)")
    setup_sects = data[0x1f1] or 4
    offset, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + offset
    payload = data[start:start + length]
    if len(payload) != length:
        raise DiskError(f"{bzimage}: the payload runs past the end of the file")
    try:
        if payload.startswith(b"\xfd7zXZ\x00"):
            # The kernel's XZ stream is followed by its 4-byte uncompressed size.
            elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
        elif payload.startswith(b"\x1f\x8b"):
            elf = gzip.GzipFile(fileobj=io.BytesIO(payload)).read()
        elif payload.startswith(b"\x7fELF"):
            elf = payload
        else:
            raise DiskError(f"{bzimage}: payload compressed by neither XZ nor gzip "
                            f"(starts {payload[:6].hex()})")
    except (lzma.LZMAError, OSError, EOFError) as e:
        raise DiskError(f"{bzimage}: cannot decompress the payload: {e}")
    if not elf.startswith(b"\x7fELF"):
        raise DiskError(f"{bzimage}: the decompressed payload is not an ELF file")
    _write_whole(out, elf)
    return out


def _write_whole(path, data):
    """path holds data, or (another process reading it meanwhile) its old contents:
    written beside it and renamed over it."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _stale(out, src):
    return not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src)


def vmlinux(kernel):
    """The vmlinux of a bzImage: boot/vmlinuz-R -> boot/vmlinux-R next to it, extracted once."""
    d, name = os.path.split(kernel)
    out = os.path.join(d, name.replace("vmlinuz", "vmlinux", 1) if "vmlinuz" in name
                       else name + ".vmlinux")
    if _stale(out, kernel):
        extract_vmlinux(kernel, out)
    return out


PT_LOAD, PT_NOTE = 1, 4
ZERO_RUN = 1 << 16  # zero runs this long are left out of a packed vmlinux
MAX_SEGMENTS = 16  # the loader's PVH_MAX_SEGMENTS (guest/linux/pvh/pvh_boot.h)


def pack_vmlinux(elf):
    """The same kernel as a smaller ELF for GRUB to read (in Bochs its disk reads cost
    ~10 ticks a byte): each PT_LOAD split where it has zeros ZERO_RUN bytes long or
    more, and its trailing zeros dropped, into PT_LOADs whose memsz covers them (the
    loader zeroes memsz - filesz); the PT_NOTEs kept; no section headers. Debian's
    6.1: 66 MB -> ~32 MB."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise DiskError("vmlinux is not a little-endian ELF64 file")
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    loads, notes = [], []
    for i in range(phnum):
        ph = struct.unpack_from("<IIQQQQQQ", elf, phoff + i * phentsize)
        ptype, flags, off, vaddr, paddr, filesz, memsz, align = ph
        data = elf[off:off + filesz]
        if ptype == PT_NOTE:
            notes.append((ph, data))
        elif ptype == PT_LOAD and memsz:
            loads.append((ph, data))
    for run in (ZERO_RUN, ZERO_RUN << 2, ZERO_RUN << 4, ZERO_RUN << 6, 1 << 62):
        pieces = []  # (flags, vaddr, paddr, data, memsz)
        for (ptype, flags, off, vaddr, paddr, filesz, memsz, align), data in loads:
            start = 0
            while True:
                i = data.find(b"\0" * run, start) if run < len(data) else -1
                end = len(data) if i < 0 else i
                j = end
                while j < len(data) and data[j] == 0:
                    j += 1
                if i < 0 or j == len(data):  # the last piece: up to memsz
                    body = data[start:].rstrip(b"\0")
                    pieces.append((flags, vaddr + start, paddr + start, body, memsz - start))
                    break
                pieces.append((flags, vaddr + start, paddr + start, data[start:end], j - start))
                start = j
        if len(pieces) <= MAX_SEGMENTS:
            break
    phnum = len(pieces) + len(notes)
    at = 64 + phnum * 56
    phdrs, blobs = b"", b""
    for flags, vaddr, paddr, body, memsz in pieces:
        phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, flags, at + len(blobs), vaddr, paddr,
                             len(body), memsz, 16)
        blobs += body + b"\0" * (-len(body) % 16)
    for (ptype, flags, off, vaddr, paddr, filesz, memsz, align), data in notes:
        phdrs += struct.pack("<IIQQQQQQ", PT_NOTE, flags, at + len(blobs), vaddr, paddr,
                             filesz, memsz, align)
        blobs += data + b"\0" * (-len(data) % 16)
    # ELF header: e_phoff 64, no section headers (e_shoff, e_shnum, e_shstrndx 0).
    head = bytearray(elf[:64])
    struct.pack_into("<Q", head, 32, 64)
    struct.pack_into("<Q", head, 40, 0)
    struct.pack_into("<HHHH", head, 54, 56, phnum, 64, 0)
    struct.pack_into("<H", head, 62, 0)
    return bytes(head) + phdrs + blobs


def pvh_vmlinux(kernel):
    """The packed vmlinux (pack_vmlinux) the PVH disks carry: boot/vmlinux-R.pvh next to
    the kernel, made once."""
    src = vmlinux(kernel)
    out = src + ".pvh"
    if _stale(out, src):
        with open(src, "rb") as f:
            _write_whole(out, pack_vmlinux(f.read()))
    return out


def build_pvh_loader():
    """guest/linux/pvh's loader, built with Bazel (the boot tests pass theirs in)."""
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    sys.path.insert(0, root)
    from tools import bazel
    label = "//guest/linux/pvh:pvh_loader.elf"
    return [p for p in bazel.build([label], quiet=True)[label] if p.endswith(".elf")][0]


def cpio_newc(entries):
    """entries: list of (name, mode, data bytes or None for dirs, rdev)."""
    out = io.BytesIO()
    ino = 1
    for name, mode, data, rdev in entries + [("TRAILER!!!", 0, b"", (0, 0))]:
        data = data or b""
        namez = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(namez), 0))
        out.write(hdr.encode() + namez)
        out.write(b"\0" * ((-out.tell()) % 4))
        out.write(data)
        out.write(b"\0" * ((-out.tell()) % 4))
        ino += 1
    return out.getvalue()


def build_initramfs(path):
    busybox = "/bin/busybox"
    if not os.path.exists(busybox):
        raise DiskError("missing /bin/busybox: run ./hv setup (or: apt-get install busybox-static)")
    with open(busybox, "rb") as f:
        bb = f.read()
    with open(os.path.join(HERE, "init"), "rb") as f:
        init = f.read()
    entries = [("bin", 0o40755, None, (0, 0)), ("dev", 0o40755, None, (0, 0)),
               ("proc", 0o40755, None, (0, 0)), ("sys", 0o40755, None, (0, 0)),
               ("dev/console", 0o20600, None, (5, 1)), ("dev/port", 0o20600, None, (1, 4)),
               ("bin/busybox", 0o100755, bb, (0, 0)), ("bin/sh", 0o100755, bb, (0, 0)),
               ("init", 0o100755, init, (0, 0))]
    with open(path, "wb") as f:
        f.write(gzip.compress(cpio_newc(entries), compresslevel=6, mtime=0))


def build_linux_disk(out_img, cache, scenario="smp", pvh_loader=None):
    """out_img for scenario (rebuilt only when its inputs changed). Processes that
    ask at once (boot tests two at a time) take turns: one builds, the others
    then find it built. pvh_loader: the loader's ELF for a PVH disk (the
    kernel's vmlinux and the initrd are its modules); None: the bzImage disk."""
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, "build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_linux_disk(out_img, cache, scenario, pvh_loader)


def grub_cfg(scenario, pvh):
    """The disk's grub.cfg. PVH: --nounzip keeps GRUB from gunzipping the initrd
    (Linux unpacks it, as on the bzImage path); the vmlinux module comes first."""
    args = f"{CMDLINE} guest_scenario={scenario}"
    if pvh:
        return ("set timeout=0\n"
                f"multiboot /boot/pvh_loader.elf {args}\n"
                "module --nounzip /boot/vmlinux vmlinux\n"
                "module --nounzip /boot/initrd.gz initrd\nboot\n")
    return f"set timeout=0\nlinux /boot/vmlinuz {args}\ninitrd /boot/initrd.gz\nboot\n"


def _build_linux_disk(out_img, cache, scenario, pvh_loader):
    for tool, pkg in (("grub-mkrescue", "grub-common grub-pc-bin"), ("xorriso", "xorriso"),
                      ("mformat", "mtools"), ("dpkg", "dpkg")):
        need(tool, pkg)
    kernel = fetch_kernel(cache)
    h = hashlib.sha256()
    for p in (kernel, os.path.join(HERE, "init"), __file__, "/bin/busybox") + (
            (pvh_loader,) if pvh_loader else ()):
        with open(p, "rb") as f:
            h.update(f.read())
    h.update(scenario.encode())
    h.update(b"pvh" if pvh_loader else b"bzImage")
    stamp = out_img + ".inputs"
    if os.path.exists(out_img) and os.path.exists(stamp) and open(stamp).read() == h.hexdigest():
        return out_img
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "boot", "grub"))
        if pvh_loader:
            shutil.copy(pvh_vmlinux(kernel), os.path.join(root, "boot", "vmlinux"))
            shutil.copy(pvh_loader, os.path.join(root, "boot", "pvh_loader.elf"))
        else:
            shutil.copy(kernel, os.path.join(root, "boot", "vmlinuz"))
        build_initramfs(os.path.join(root, "boot", "initrd.gz"))
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write(grub_cfg(scenario, bool(pvh_loader)))
        tmp = out_img + ".tmp"
        r = subprocess.run(["grub-mkrescue", "--compress=no", "-o", tmp, root],
                           capture_output=True, text=True,
                           env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))
        if r.returncode != 0:
            raise DiskError("grub-mkrescue failed:\n" + r.stderr)
    size = os.path.getsize(tmp)
    with open(tmp, "ab") as f:
        f.truncate(size + (-size) % BOCHS_CYLINDER)
    os.replace(tmp, out_img)
    with open(stamp, "w") as f:
        f.write(h.hexdigest())
    return out_img


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True, help="disk image to write")
    ap.add_argument("--scenario", choices=["smp", "nmi-storm"], default="smp")
    ap.add_argument("--cache", default=os.path.join(HERE, "..", "..", "out", "cache"))
    ap.add_argument("--pvh", action="store_true",
                    help="boot the vmlinux by its PVH entry through guest/linux/pvh's loader "
                         "(built with Bazel unless --pvh-loader names it)")
    ap.add_argument("--pvh-loader", help="the loader ELF to use (implies --pvh)")
    a = ap.parse_args()
    try:
        loader = a.pvh_loader or (build_pvh_loader() if a.pvh else None)
        print(build_linux_disk(a.output, os.path.abspath(a.cache), a.scenario, loader))
    except DiskError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
