#!/usr/bin/env python3
"""Builds the Linux test-guest disk: Debian's kernel + a busybox initramfs.

The kernel comes from Debian's linux-image-amd64 (downloaded with apt-get
download, unpacked with dpkg -x, no root needed), busybox from the installed
busybox-static, and the disk is a GRUB2 hybrid image (docs/design.md section 4)
padded for Bochs' flat-disk geometry. Outputs are cached by input hash.
"""
import argparse
import fcntl
import glob
import gzip
import hashlib
import io
import os
import shutil
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


def build_linux_disk(out_img, cache, scenario="smp"):
    """out_img for scenario (rebuilt only when its inputs changed). Processes that
    ask at once (boot tests two at a time) take turns: one builds, the others
    then find it built."""
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, "build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_linux_disk(out_img, cache, scenario)


def _build_linux_disk(out_img, cache, scenario):
    for tool, pkg in (("grub-mkrescue", "grub-common grub-pc-bin"), ("xorriso", "xorriso"),
                      ("mformat", "mtools"), ("dpkg", "dpkg")):
        need(tool, pkg)
    kernel = fetch_kernel(cache)
    h = hashlib.sha256()
    for p in (kernel, os.path.join(HERE, "init"), __file__, "/bin/busybox"):
        with open(p, "rb") as f:
            h.update(f.read())
    h.update(scenario.encode())
    stamp = out_img + ".inputs"
    if os.path.exists(out_img) and os.path.exists(stamp) and open(stamp).read() == h.hexdigest():
        return out_img
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "boot", "grub"))
        shutil.copy(kernel, os.path.join(root, "boot", "vmlinuz"))
        build_initramfs(os.path.join(root, "boot", "initrd.gz"))
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write("set timeout=0\n"
                    f"linux /boot/vmlinuz {CMDLINE} guest_scenario={scenario}\n"
                    "initrd /boot/initrd.gz\nboot\n")
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
    a = ap.parse_args()
    try:
        print(build_linux_disk(a.output, os.path.abspath(a.cache), a.scenario))
    except DiskError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
