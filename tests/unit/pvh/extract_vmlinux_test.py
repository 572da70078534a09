"""make_disk.extract_vmlinux on synthetic bzImages, and the PVH disk's grub.cfg.

A bzImage here is what the boot protocol needs (Documentation/x86/boot.rst):
setup_sects at 0x1f1, "HdrS" and the version at 0x202, payload_offset and
payload_length at 0x248, the payload after the (setup_sects + 1) * 512 bytes of
setup; Linux's XZ payload is followed by its 4-byte uncompressed size.
"""

import gzip
import lzma
import os
import struct
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
for root in (os.environ.get("TEST_SRCDIR", ""), os.path.join(HERE, "..", "..", "..")):
    for cand in (os.path.join(root, "hvkit", "guest", "linux"), os.path.join(root, "guest", "linux")):
        if os.path.exists(os.path.join(cand, "make_disk.py")):
            sys.path.insert(0, cand)
import make_disk  # noqa: E402

ELF = b"\x7fELF\x02\x01\x01" + bytes(range(200)) * 50


def bzimage(payload, setup_sects=3, version=0x20F, payload_offset=0x80):
    # setup_sects 0 means 4 (boot.rst).
    img = bytearray(((setup_sects or 4) + 1) * 512 + payload_offset)
    img[0x1F1] = setup_sects
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, version)
    struct.pack_into("<II", img, 0x248, payload_offset, len(payload))
    return bytes(img) + payload + b"\0" * 64


class ExtractTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def extract(self, image):
        src = os.path.join(self.dir.name, "vmlinuz-test")
        with open(src, "wb") as f:
            f.write(image)
        out = make_disk.vmlinux(src)
        self.assertEqual(out, os.path.join(self.dir.name, "vmlinux-test"))
        with open(out, "rb") as f:
            return f.read()

    def test_xz_payload_with_size_appended(self):
        xz = lzma.compress(ELF, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                           filters=[{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2}])
        self.assertEqual(self.extract(bzimage(xz + struct.pack("<I", len(ELF)))), ELF)

    def test_gzip_payload(self):
        self.assertEqual(self.extract(bzimage(gzip.compress(ELF), setup_sects=0)), ELF)

    def test_cached_until_the_kernel_changes(self):
        self.extract(bzimage(gzip.compress(ELF)))
        out = os.path.join(self.dir.name, "vmlinux-test")
        src = os.path.join(self.dir.name, "vmlinuz-test")
        with open(out, "wb") as f:
            f.write(b"cached")
        os.utime(out, (3 * 10 ** 9, 3 * 10 ** 9))  # newer than the kernel: kept
        make_disk.vmlinux(src)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"cached")
        os.utime(out, (1, 1))  # older than the kernel: extracted again
        make_disk.vmlinux(src)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), ELF)

    def test_refusals(self):
        for image, words in ((b"MZ" + bytes(0x300), "not a Linux bzImage"),
                             (bzimage(gzip.compress(ELF), version=0x207), "2.08"),
                             (bzimage(b"BZh91AY&SY" + bytes(40)), "neither XZ nor gzip"),
                             (bzimage(gzip.compress(b"not an elf")), "not an ELF"),
                             (bzimage(b"\xfd7zXZ\x00garbage"), "cannot decompress")):
            with self.subTest(words=words):
                with self.assertRaises(make_disk.DiskError) as e:
                    self.extract(image)
                self.assertIn(words, str(e.exception))


def elf64(segments, notes=b""):
    """An ELF64 with PT_LOADs [(paddr, data, memsz)] and one PT_NOTE holding notes."""
    phnum = len(segments) + 1
    head = bytearray(64)
    head[:7] = b"\x7fELF\x02\x01\x01"
    struct.pack_into("<HHIQQQIHHHHHH", head, 16, 2, 62, 1, 0x1000000, 64, 0, 0, 64, 56, phnum,
                     64, 0, 0)
    at = 64 + phnum * 56
    phdrs, blobs = b"", b""
    for paddr, data, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", 1, 7, at + len(blobs), paddr, paddr, len(data), memsz,
                             0x1000)
        blobs += data
    phdrs += struct.pack("<IIQQQQQQ", 4, 4, at + len(blobs), 0, 0, len(notes), len(notes), 4)
    return bytes(head) + phdrs + blobs + notes


def memory(elf):
    """{paddr: byte value} of what the PT_LOADs put in memory (zeros included), and the notes."""
    phnum, = struct.unpack_from("<H", elf, 56)
    mem, notes = {}, b""
    for i in range(phnum):
        t, _, off, _, paddr, filesz, memsz, _ = struct.unpack_from("<IIQQQQQQ", elf, 64 + 56 * i)
        if t == 4:
            notes += elf[off:off + filesz]
        elif t == 1:
            for k in range(memsz):
                assert paddr + k not in mem, "segments overlap at %#x" % (paddr + k)
                mem[paddr + k] = elf[off + k] if k < filesz else 0
    return mem, notes, phnum


class PackTest(unittest.TestCase):
    def test_same_memory_smaller_file(self):
        z = make_disk.ZERO_RUN
        text = b"T" * 100 + bytes(z + 5) + b"U" * 7 + bytes(z - 1) + b"V" * 3 + bytes(3 * z)
        data = b"D" * 50 + bytes(10)
        orig = elf64([(0x1000000, text, len(text)), (0x1400000, data, len(data) + 4096)],
                     notes=b"NOTE" * 9)
        packed = make_disk.pack_vmlinux(orig)
        self.assertLess(len(packed), len(orig) - 3 * z)
        mem, notes, phnum = memory(packed)
        self.assertEqual((mem, notes), memory(orig)[:2])
        self.assertEqual(phnum, 4)  # text split once (the shorter run stays), data, the notes

    def test_at_most_the_loaders_segments(self):
        z = make_disk.ZERO_RUN
        text = (b"x" + bytes(z)) * 40 + b"y"
        orig = elf64([(0x1000000, text, len(text))])
        mem, _, phnum = memory(make_disk.pack_vmlinux(orig))
        self.assertLessEqual(phnum - 1, make_disk.MAX_SEGMENTS)
        self.assertEqual(mem, memory(orig)[0])


class GrubCfgTest(unittest.TestCase):
    def test_pvh_disk_multiboots_the_loader(self):
        lines = make_disk.grub_cfg("smp", pvh=True).splitlines()
        self.assertEqual(lines[1], "multiboot /boot/pvh_loader.elf %s guest_scenario=smp"
                         % make_disk.CMDLINE)
        # The loader takes the first module as the vmlinux, the second as the initrd.
        self.assertEqual(lines[2:4], ["module --nounzip /boot/vmlinux vmlinux",
                                      "module --nounzip /boot/initrd.gz initrd"])

    def test_bzimage_disk_unchanged(self):
        self.assertIn("linux /boot/vmlinuz %s guest_scenario=smp\n" % make_disk.CMDLINE,
                      make_disk.grub_cfg("smp", pvh=False))


if __name__ == "__main__":
    unittest.main()
