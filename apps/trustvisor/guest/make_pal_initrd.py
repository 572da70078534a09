#!/usr/bin/env python3
"""Builds the TrustVisor Linux guest's initramfs: busybox, /init (pal_init), pal_demo, pal_tpm.

Reuses guest/linux/make_disk.py (kernel download, cpio writer, kernel arguments);
tests/boot/test_trustvisor.py turns kernel + this initramfs into a disk with
harness.disk(). By hand:

    bazel build //apps/trustvisor/guest:pal_demo //apps/trustvisor/guest:pal_tpm
    python3 apps/trustvisor/guest/make_pal_initrd.py -o out/pal-initrd.gz \\
        --pal-demo bazel-bin/apps/trustvisor/guest/pal_demo \\
        --pal-tpm bazel-bin/apps/trustvisor/guest/pal_tpm

pal_tpm is optional (guest_scenario=tpm needs it; tests/boot/test_trustvisor_tpm.py).
"""
import argparse
import gzip
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "guest", "linux"))

import make_disk  # noqa: E402

CMDLINE = make_disk.CMDLINE


def kernel(cache=os.path.join(ROOT, "out", "cache")):
    """Path of the Debian kernel (downloaded once into out/cache/)."""
    return make_disk.fetch_kernel(os.path.abspath(cache))


def build_initrd(path, pal_demo, pal_tpm=None, extra=()):
    """extra: (name under /bin, host path) pairs, e.g. a PAL program built outside Bazel."""
    with open("/bin/busybox", "rb") as f:
        bb = f.read()
    with open(os.path.join(HERE, "pal_init"), "rb") as f:
        init = f.read()
    with open(pal_demo, "rb") as f:
        demo = f.read()
    entries = [("bin", 0o40755, None, (0, 0)), ("dev", 0o40755, None, (0, 0)),
               ("proc", 0o40755, None, (0, 0)), ("sys", 0o40755, None, (0, 0)),
               ("tmp", 0o41777, None, (0, 0)),
               ("dev/console", 0o20600, None, (5, 1)), ("dev/port", 0o20600, None, (1, 4)),
               ("bin/busybox", 0o100755, bb, (0, 0)), ("bin/sh", 0o100755, bb, (0, 0)),
               ("bin/pal_demo", 0o100755, demo, (0, 0)),
               ("init", 0o100755, init, (0, 0))]
    if pal_tpm:
        with open(pal_tpm, "rb") as f:
            entries.append(("bin/pal_tpm", 0o100755, f.read(), (0, 0)))
    for name, host_path in extra:
        with open(host_path, "rb") as f:
            entries.append(("bin/" + name, 0o100755, f.read(), (0, 0)))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(gzip.compress(make_disk.cpio_newc(entries), compresslevel=6, mtime=0))
    os.replace(tmp, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--pal-demo", required=True, help="the static pal_demo binary")
    ap.add_argument("--pal-tpm", help="the static pal_tpm binary (optional)")
    a = ap.parse_args()
    print(build_initrd(a.output, a.pal_demo, a.pal_tpm))
    return 0


if __name__ == "__main__":
    sys.exit(main())
