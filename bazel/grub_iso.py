"""Builds a hypervisor image: a BIOS El Torito ISO whose GRUB multiboots the kernel.

Run by the grub_iso rule (bazel/hv.bzl): grub_iso.py KERNEL GRUB_CFG OUT.ISO

Why not grub-mkrescue: in Bochs every instruction is a tick, and grub-mkrescue's
image costs the hypervisor's start-up ~126M ticks of GRUB before the kernel
runs (measured, docs/results.md "Start-up"), mostly:
  - LZMA-decompressing a core image with every module in it (~115 ticks a byte),
  - GRUB's normal mode: a search over every disk for the ISO's file-system UUID,
    then normal.mod and its modules, then grub.cfg,
  - CD seeks: Bochs charges a seek 80 ms x distance / image size (harddrv.cc
    start_seek), so on a small image every jump costs milliseconds.
This image instead has a small core (biosdisk, iso9660) that runs GRUB_CFG as
its embedded configuration (GRUB's rescue parser: plain commands, no menu,
no normal mode), loads the modules those commands need from /boot/grub/i386-pc
(uncompressed files), and is padded to PAD_BYTES so that seeks between its
files cost what they would on a real disc (tens of microseconds, not ~70 ms).

GRUB_CFG must therefore be plain commands (no menuentry, if, functions); every
command must be a GRUB core command or listed in GRUB's command.lst.
"""

import os
import shutil
import subprocess
import sys
import tempfile

GRUB_DIR = "/usr/lib/grub/i386-pc"
# Commands of GRUB's kernel itself (grub-core/kern/corecmd.c): no module needed.
CORE_COMMANDS = {"set", "unset", "ls", "insmod"}
# In the core image: reading the boot CD through the BIOS, and its file system.
CORE_MODULES = ["biosdisk", "iso9660"]
# The image is padded to this size (see the module comment); 512 MiB measured
# no faster than 32 MiB.
PAD_BYTES = 32 * 1024 * 1024
# Fixed dates keep the image the same build to build.
SOURCE_DATE_EPOCH = "1700000000"


class IsoError(Exception):
    pass


def read_table(name):
    """{key: [values]} of a GRUB 'key: v1 v2' list (command.lst, moddep.lst)."""
    table = {}
    with open(os.path.join(GRUB_DIR, name)) as f:
        for line in f:
            key, _, rest = line.partition(":")
            table[key.strip().lstrip("*")] = rest.split()
    return table


def config_commands(text):
    """The commands of a grub.cfg of plain commands, in order (comments dropped)."""
    lines, words = [], []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        lines.append(line)
        words.append(line.split()[0])
    return lines, words


def modules_for(words, commands):
    """The modules providing the commands in words (GRUB's command.lst), in order."""
    mods = []
    for w in words:
        if w in CORE_COMMANDS:
            continue
        if w not in commands:
            raise IsoError("grub.cfg command %r is neither a GRUB core command nor in "
                           "%s/command.lst (the embedded configuration takes plain "
                           "commands only)" % (w, GRUB_DIR))
        for m in commands[w]:
            if m not in mods:
                mods.append(m)
    return mods


def closure(mods, deps):
    """mods and everything they depend on (moddep.lst)."""
    out, todo = [], list(mods)
    while todo:
        m = todo.pop(0)
        if m in out:
            continue
        out.append(m)
        todo.extend(deps.get(m, []))
    return out


def run(cmd, env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if r.returncode != 0:
        raise IsoError("%s failed (exit %d):\n%s" % (cmd[0], r.returncode, r.stdout[-3000:]))


def build(kernel, cfg_path, out):
    with open(cfg_path) as f:
        lines, words = config_commands(f.read())
    load = modules_for(words, read_table("command.lst"))
    files = [m for m in closure(load, read_table("moddep.lst")) if m not in CORE_MODULES]
    env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH)
    with tempfile.TemporaryDirectory(prefix="hv-iso-") as tmp:
        root = os.path.join(tmp, "root")
        mod_dir = os.path.join(root, "boot", "grub", "i386-pc")
        os.makedirs(mod_dir)
        shutil.copyfile(kernel, os.path.join(root, "boot", "hv.elf"))
        for m in files:
            shutil.copyfile(os.path.join(GRUB_DIR, m + ".mod"), os.path.join(mod_dir, m + ".mod"))
        embedded = os.path.join(tmp, "embedded.cfg")
        with open(embedded, "w") as f:
            f.write("".join("insmod %s\n" % m for m in load) + "\n".join(lines) + "\n")
        run(["grub-mkimage", "-O", "i386-pc-eltorito", "-d", GRUB_DIR, "-p", "/boot/grub",
             "-c", embedded, "-o", os.path.join(mod_dir, "eltorito.img")] + CORE_MODULES, env)
        # File dates and owners are recorded too: fix them (-r: owner root, modes
        # rationalised).
        epoch = int(SOURCE_DATE_EPOCH)
        for d, subdirs, names in os.walk(root):
            for n in names + subdirs:
                os.utime(os.path.join(d, n), (epoch, epoch))
        os.utime(root, (epoch, epoch))
        iso = os.path.join(tmp, "image.iso")
        run(["xorriso", "-as", "mkisofs", "-quiet", "-r", "-b", "boot/grub/i386-pc/eltorito.img",
             "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-o", iso, root], env)
        size = os.path.getsize(iso)
        if size > PAD_BYTES:
            raise IsoError("the image is %d bytes, more than PAD_BYTES" % size)
        with open(iso, "r+b") as f:
            f.truncate(PAD_BYTES)
        shutil.copyfile(iso, out)


def main(argv):
    if len(argv) != 4:
        print("usage: grub_iso.py KERNEL GRUB_CFG OUT.ISO", file=sys.stderr)
        return 2
    try:
        build(argv[1], argv[2], argv[3])
    except (IsoError, OSError) as e:
        print("grub_iso.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
