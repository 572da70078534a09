"""Guest disks: a GRUB2 hybrid rescue image that boots one kernel (docs/design.md section 4).

grub-mkrescue makes an ISO 9660 image with an MBR; attached as a flat hard disk the
BIOS boots that MBR, so any multiboot kernel or Linux bzImage (+ initramfs) becomes a
bootable disk without loop devices. The image is padded to whole Bochs cylinders
(16 heads x 63 sectors x 512 bytes = 516096 bytes).
"""

import os
import shutil
import struct
import subprocess
import tempfile

from tools import deps

CYLINDER_BYTES = 16 * 63 * 512  # 516096
MULTIBOOT_MAGIC = 0x1BADB002
MULTIBOOT_SEARCH = 8192


class DiskError(Exception):
    pass


def kernel_kind(path):
    """'multiboot' or 'linux'; raises DiskError for anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(MULTIBOOT_SEARCH)
    except OSError as e:
        raise DiskError("cannot read kernel %s: %s" % (path, e.strerror))
    # Multiboot v1 header: magic, flags, checksum (sum to 0 mod 2^32), 4-byte aligned,
    # within the first 8 KiB (Multiboot Specification 0.6.96, section 3.1.1).
    for off in range(0, len(head) - 11, 4):
        magic, flags, checksum = struct.unpack_from("<III", head, off)
        if magic == MULTIBOOT_MAGIC and (magic + flags + checksum) & 0xFFFFFFFF == 0:
            return "multiboot"
    # Linux boot protocol: "HdrS" at 0x202 (Documentation/x86/boot.rst).
    if len(head) >= 0x206 and head[0x202:0x206] == b"HdrS":
        return "linux"
    raise DiskError(
        "%s is neither a multiboot kernel (no 0x1BADB002 header in its first 8 KiB) "
        "nor a Linux bzImage (no 'HdrS' at 0x202)" % path
    )


def _grub_quote(s):
    # GRUB's shell-like parser: single quotes keep everything but a single quote.
    if s == "" or any(c in s for c in " \t'\"\\$;|&<>{}#"):
        return "'" + s.replace("'", "'\\''") + "'"
    return s


def grub_cfg(kind, cmdline="", modules=(), initrd=None, nounzip=False):
    """The grub.cfg text for a guest disk. modules: list of (name, args).
    nounzip: GRUB loads a multiboot kernel's modules and initrd as they are
    (module --nounzip) instead of gunzipping them; for guest/linux/pvh's loader,
    whose initrd module Linux unpacks itself."""
    # GRUB's own messages (a missing file, a bad kernel) go to COM1 too, so they
    # show up in ./hv run's serial log instead of only on the VGA screen.
    lines = ["set timeout=0", "set default=0", "serial --unit=0 --speed=115200",
             "terminal_output console serial"]
    args = " ".join(_grub_quote(a) for a in cmdline.split()) if cmdline else ""
    if kind == "multiboot":
        lines.append(("multiboot /boot/kernel " + args).rstrip())
        module = "module --nounzip" if nounzip else "module"
        for name, margs in modules:
            lines.append(("%s /boot/%s %s" % (module, name, margs)).rstrip())
        if initrd:
            lines.append("%s /boot/initrd initrd" % module)
    else:
        lines.append(("linux /boot/kernel " + args).rstrip())
        if initrd:
            lines.append("initrd /boot/initrd")
        if modules:
            raise DiskError("--module is for multiboot kernels; a Linux kernel takes --initrd")
    lines.append("boot")
    return "\n".join(lines) + "\n"


def pad_to_cylinders(path):
    """Pad a disk image to whole 516096-byte cylinders; return the cylinder count."""
    size = os.path.getsize(path)
    cylinders = max(1, -(-size // CYLINDER_BYTES))
    if cylinders * CYLINDER_BYTES != size:
        with open(path, "r+b") as f:
            f.truncate(cylinders * CYLINDER_BYTES)
    return cylinders


def cylinders_of(path):
    size = os.path.getsize(path)
    if size % CYLINDER_BYTES:
        return None
    return size // CYLINDER_BYTES


def make_disk(kernel, output, initrd=None, cmdline="", modules=(), nounzip=False):
    """Build a guest disk image at output. Returns (kind, size in bytes, grub.cfg text).
    nounzip: see grub_cfg."""
    kind = kernel_kind(kernel)
    for m in list(modules) + ([initrd] if initrd else []):
        if not os.path.isfile(m):
            raise DiskError("no such file: %s" % m)
    deps.require("iso")
    names = []
    mods = []
    for m in modules:
        name = os.path.basename(m)
        if name in names or name in ("kernel", "initrd", "grub"):
            raise DiskError("module name %s is used twice (modules are named by file name)" % name)
        names.append(name)
        mods.append((name, name))
    cfg = grub_cfg(kind, cmdline, mods, initrd, nounzip)
    with tempfile.TemporaryDirectory(prefix="hv-disk-") as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "boot", "grub"))
        shutil.copyfile(kernel, os.path.join(root, "boot", "kernel"))
        if initrd:
            shutil.copyfile(initrd, os.path.join(root, "boot", "initrd"))
        for m, name in zip(modules, names):
            shutil.copyfile(m, os.path.join(root, "boot", name))
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write(cfg)
        tmp_img = os.path.join(tmp, "disk.img")
        env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
        r = subprocess.run(
            ["grub-mkrescue", "--compress=no", "--locales=", "--themes=", "--fonts=",
             "-o", tmp_img, root],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        if r.returncode != 0 or not os.path.exists(tmp_img):
            raise DiskError("grub-mkrescue failed (exit %d):\n%s" % (r.returncode, r.stdout[-2000:]))
        pad_to_cylinders(tmp_img)
        out_dir = os.path.dirname(os.path.abspath(output))
        os.makedirs(out_dir, exist_ok=True)
        shutil.move(tmp_img, output)
    return kind, os.path.getsize(output), cfg
