"""A guest reset leaves no secret in DRAM (issue 11 point 2, docs/design.md section 6.1).

The attack: a PAL holds a secret only it has ever had (guest/pal64/pal_code.h
UTPM_OP_SECRET) and has used the micro-TPM's keys; the guest kernel resets the
machine through port 0xCF9 while the PAL is registered, hoping to read the
secret and the keys from DRAM in whatever it boots next. Bochs's debugger
reads the keys from hypervisor memory at a magic breakpoint just before the
reset (and the PAL's page, to prove the secret was there), then dumps all of RAM
at the reset itself: neither the secret nor any part of the keys may be in it.
"""

import os
import struct
import subprocess
import tempfile

import harness

MEM_MB = 256
SECRET_SEED = 0x7365637265742121  # PAL_SECRET_SEED, guest/pal64/pal_code.h
SECRET_WORDS = 64
MASK = (1 << 64) - 1


def _secret():
    x, words = SECRET_SEED, []
    for _ in range(SECRET_WORDS):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
        words.append(x)
    return struct.pack("<%dQ" % SECRET_WORDS, *words)


def _symbol(elf, name):
    """(address, size) of a defined symbol with that exact name (unique)."""
    out = subprocess.run(["nm", "-S", "--defined-only", elf], check=True,
                         capture_output=True, text=True).stdout
    found = [l.split() for l in out.splitlines() if l.split()[-1:] == [name] and len(l.split()) == 4]
    if len(found) != 1:
        raise harness.BootTestFailure("%s: expected one symbol %r, found %d" % (elf, name, len(found)))
    return int(found[0][0], 16), int(found[0][1], 16)


def _key_windows(key_bytes, public):
    """16-byte windows of the secret key material in struct utpm_hv (DRBG state,
    sealing key, quote private key) that could only come from it (no runs of
    one byte); the quote public key it also holds is public and left out."""
    at = key_bytes.find(public)
    skip = range(at, at + len(public)) if at >= 0 else range(0)
    return [key_bytes[i:i + 16] for i in range(0, len(key_bytes) - 15, 8)
            if len(set(key_bytes[i:i + 16])) >= 12
            and not any(j in skip for j in range(i, i + 16))]


def test_cf9_reset_scrubs_pal_and_keys():
    hv_elf = harness.output("//apps/trustvisor:hv.elf", "hv.elf")
    stage_elf = harness.output("//guest:pal64.elf", "pal64.elf")
    key_addr, key_size = _symbol(hv_elf, "hv")  # struct utpm_hv, apps/trustvisor/tv_utpm.c
    page_addr, page_size = _symbol(stage_elf, "pal_data_page")
    dump = os.path.join(tempfile.mkdtemp(prefix="hv-reset-"), "ram.bin")
    script = [
        "c",  # power-on -> the magic breakpoint before the guest's reset
        # A reset request does not stop Bochs's debugger by itself; the first
        # instruction after any reset is at the reset vector (SDM Vol. 3A 9.1.4).
        "pb 0xfffffff0",
        "xp /%dbx 0x%x" % (key_size, key_addr),
        "xp /%dbx 0x%x" % (page_size, page_addr),
        "c",  # -> the reset vector: RAM as the reset left it
        'writemem "%s" 0 %d' % (dump, MEM_MB << 20),
    ]
    r = harness.run("trustvisor", harness.testguest_disk("pal_reset"), cpus=1, mem=MEM_MB,
                    timeout=900, debugger_script=script)
    harness.assert_status(r, "scripted")
    harness.assert_in_order(r, "pal_reset: PAL registered with its secret",
                            "guest reset request (port 0xCF9 (reset control)): scrubbing first",
                            "hv: resetting the machine")
    harness.assert_serial_lacks(r, "the machine did not reset")

    before = harness.bochs_xp(r)
    keys = bytes(before.get(key_addr + i, 0) for i in range(key_size))
    page = bytes(before.get(page_addr + i, 0) for i in range(page_size))
    secret = _secret()
    public = bytes.fromhex(harness.assert_line(r, r"hv: trustvisor: quote key ([0-9a-f]+)").group(1))
    if public not in keys:
        harness.fail(r, "the quote public key is not in struct utpm_hv at 0x%x" % key_addr)
    windows = _key_windows(keys, public)
    # The attack had something to find: the keys and the secret were in memory.
    if len(windows) < 4:
        harness.fail(r, "the micro-TPM keys were not readable before the reset "
                        "(%d distinctive windows in %d bytes at 0x%x)" % (len(windows), key_size, key_addr))
    if secret not in page:
        harness.fail(r, "the PAL's data page did not hold its secret before the reset")

    with open(dump, "rb") as f:
        ram = f.read()
    os.unlink(dump)
    if len(ram) != MEM_MB << 20:
        harness.fail(r, "the RAM dump has %d bytes, expected %d" % (len(ram), MEM_MB << 20))
    for i in range(0, len(secret), 32):
        at = ram.find(secret[i:i + 32])
        if at >= 0:
            harness.fail(r, "the PAL's secret (bytes %d..%d) survived the reset at 0x%x" % (i, i + 31, at))
    for w in windows:
        at = ram.find(w)
        if at >= 0:
            harness.fail(r, "micro-TPM key material %s survived the reset at 0x%x" % (w.hex(), at))


def test_acpi_power_off_scrubs_first():
    """An OS's ACPI soft power-off (SLP_EN in PM1a control, from the FADT) runs
    the app's shutdown hook (TrustVisor: PALs and keys scrubbed) before the
    write reaches the chipset, and the run is still a power-off."""
    import test_cli  # its tiny kernel: MODE=4 is an ACPI power-off

    r = harness.run("trustvisor", test_cli.tiny_disk(4), cpus=1, timeout=300)
    harness.assert_poweroff(r, code=None)
    harness.assert_line(r, r"^hv: ACPI power control watched: PM1a 0xb004")
    harness.assert_in_order(r, "tiny: hello from the tiny kernel",
                            "guest sleep or power-off request (ACPI PM1a control SLP_EN): "
                            "scrubbing first")
