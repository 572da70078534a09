"""TrustVisor's micro-TPM end to end in Bochs (2 CPUs), through real hypercalls.

A Linux process registers a PAL whose code calls the micro-TPM
(apps/trustvisor/guest/pal_tpm.c, pal_init's guest_scenario=tpm): seal /
unseal / tamper / PCR binding, random bytes, the refusal outside a PAL, and a
quote that is verified here, on the host, by //apps/trustvisor/utpm:quote_verify
under the key the guest read with TV_HC_QUOTE_KEY (which must equal the one the
hypervisor printed at boot); the same quote with another nonce or another PCR
value must be rejected. Secret and nonce are fresh each run (kernel command line).

PAL identity (apps/trustvisor/README.md "PAL identity"): the identity pal_tpm
prints (TV_HC_PAL_IDENTITY, inside the PAL and from its owner) must be the one
computed here from the pal_tpm ELF, twice: by //apps/trustvisor:pal_identity
(the hypervisor's own tv_identity.c) and by _identity_from_elf below, written
from the README's byte format. PAL A's blobs (sealed to no PCR and to all 8)
are refused to PAL B (other code) and open in A registered again; the quote
verifies against A's identity only, not B's nor a changed one.
"""

import hashlib
import re
import struct
import subprocess

import harness
import tv_linux

HEX = r"[0-9a-f]"


def _fields(r, head, first):
    """name=value pairs of the first serial line "<head> <first>=...": a dict."""
    m = harness.assert_line(r, r"^%s %s=\S*( |$)" % (re.escape(head), first))
    return dict(re.findall(r" ([a-z0-9-]+)=(\S*)", m.string))


def _quote_verify(tool, key, pal, nonce, sel, pcrs, sig):
    """quote_verify's exit status and output for a quote by PAL identity pal over
    the PCRs in sel."""
    args = [tool, "pubkey=" + key, "pal=" + pal, "nonce=" + nonce, "sig=" + sig]
    k = 0
    for i in range(8):
        if sel >> i & 1:
            args.append("pcr%d=%s" % (i, pcrs[64 * k:64 * (k + 1)]))
            k += 1
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=60)
    return p.returncode, p.stdout


# pal_tpm's PALs as registered (pal_tpm.c pal_register): in/out words and sections.
PAL_WORDS = (32, 32)
PAL_SECTIONS = (("code", "{entry}", 4096, 1), ("params", "pal_params", 4096, 3),
                ("stack", "pal_stack", 16384, 4))


def _identity_from_elf(path, entry):
    """The identity of pal_tpm's PAL at symbol entry, from the README's format."""
    data = open(path, "rb").read()
    syms = {}
    for line in subprocess.run(["nm", path], stdout=subprocess.PIPE, text=True,
                               check=True).stdout.splitlines():
        f = line.split()
        if len(f) == 3:
            syms[f[2]] = int(f[0], 16)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)

    def page(va):
        out = bytearray(4096)
        for i in range(phnum):
            typ, _, off, vaddr, _, filesz, _, _ = struct.unpack_from(
                "<IIQQQQQQ", data, phoff + i * phentsize)
            if typ == 1:  # PT_LOAD; zero past the file size
                for a in range(max(va, vaddr), min(va + 4096, vaddr + filesz)):
                    out[a - va] = data[off + a - vaddr]
        return bytes(out)

    secs = sorted((syms[sym.format(entry=entry)], size, kind)
                  for _, sym, size, kind in PAL_SECTIONS)
    base = secs[0][0]
    m = b"TVPALID1" + struct.pack("<IIQII", PAL_WORDS[0], PAL_WORDS[1], syms[entry] - base,
                                  len(secs), 0)
    for gva, size, kind in secs:
        m += struct.pack("<QQII", gva - base, size, kind, 0)
    for gva, size, kind in secs:
        if kind == 1:
            m += b"".join(page(gva + off) for off in range(0, size, 4096))
    return hashlib.sha256(m).hexdigest()


def _identity_tool(tool, elf, entry):
    """pal_identity's answer for the PAL at entry (the hypervisor's code)."""
    args = [tool, elf, "in=%d" % PAL_WORDS[0], "out=%d" % PAL_WORDS[1], "entry=" + entry]
    args += ["%s=%s:%d" % (k, sym.format(entry=entry), size) for k, sym, size, _ in PAL_SECTIONS]
    return subprocess.run(args, stdout=subprocess.PIPE, text=True, check=True,
                          timeout=60).stdout.strip()


def _flip(hexstr, pos):
    """hexstr with the hex digit at pos changed."""
    return hexstr[:pos] + ("1" if hexstr[pos] == "0" else "0") + hexstr[pos + 1:]


@tv_linux.shared
def test_seal_quote_random_through_hypercalls():
    tool = harness.output("//apps/trustvisor/utpm:quote_verify", "quote_verify")
    id_tool = harness.output("//apps/trustvisor:pal_identity", "pal_identity")
    elf = harness.output("//apps/trustvisor/guest:pal_tpm", "pal_tpm")
    want_a = _identity_tool(id_tool, elf, "pal_entry")
    want_b = _identity_tool(id_tool, elf, "pal_entry_b")
    for entry, want in (("pal_entry", want_a), ("pal_entry_b", want_b)):
        own = _identity_from_elf(elf, entry)
        print("  identity of %s: pal_identity %s, from the README format %s" % (entry, want, own))
        if own != want:
            raise harness.BootTestFailure("pal_identity %s but the README's format gives %s" % (
                want, own))
    if want_a == want_b:
        raise harness.BootTestFailure("PALs A and B have the same identity %s" % want_a)
    # The shared TrustVisor Linux boot (tests/boot/tv_linux.py): its tpm scenario.
    r, secret, nonce = tv_linux.run()
    harness.assert_serial_lacks(r, "PANIC")
    harness.assert_serial_contains(r, "TVGUEST: DONE")

    # seal / unseal: the blob round-trips, a flipped byte or a changed PCR fails.
    seal = _fields(r, "PALTPM: seal", "sel")
    if seal.get("secret") != secret:
        harness.fail(r, "the PAL sealed %r, not the secret %r" % (seal.get("secret"), secret))
    if len(seal.get("blob", "")) != 2 * (len(secret) // 2 + 136):
        harness.fail(r, "blob of %d hex digits for a %d-byte secret" % (
            len(seal.get("blob", "")), len(secret) // 2))
    if secret in seal["blob"]:
        harness.fail(r, "the sealed blob contains the secret in clear")
    harness.assert_serial_contains(r, "PALTPM: unseal gives the secret back: ok")
    harness.assert_serial_contains(r, "PALTPM: unseal after extending an unselected PCR: ok")
    harness.assert_serial_contains(r, "PALTPM: unseal flipped blob -> TV_ERR_TPM")
    harness.assert_line(r, r"^PALTPM: unseal after extending PCR 0 -> TV_ERR_TPM$")
    harness.assert_serial_contains(r, "PALTPM: seal and unseal under the new PCR value: ok")

    # PAL identity: what the guest was told is what the verifier computes.
    for name, want in (("A", want_a), ("B", want_b), ("A-again", want_a)):
        got = set(re.findall(r"^PALTPM: identity %s pal=(%s{64})$" % (re.escape(name), HEX),
                             r.serial, re.M))
        if got != {want}:
            harness.fail(r, "PAL %s's identity in the guest %s, computed from the ELF %s" % (
                name, sorted(got), want))
    for sel in ("00", "ff"):
        harness.assert_serial_contains(
            r, "PALTPM: PAL B unseal of PAL A's blob sel=%s -> TV_ERR_TPM" % sel)
        harness.assert_serial_contains(
            r, "PALTPM: PAL A again unseal sel=%s -> %d" % (sel, len(secret) // 2))
    harness.assert_serial_lacks(r, "PALTPM: identity from inside the PAL and from its owner "
                                   "agree: FAILED")
    harness.assert_serial_contains(r, "PALTPM: seal PASS")
    harness.assert_serial_contains(r, "TVGUEST: tpm seal exit=0")

    # The quote key: from the hypervisor's boot line and from the guest's hypercall.
    boot_key = harness.assert_line(r, r"^hv: trustvisor: quote key (%s{130})$" % HEX).group(1)
    guest_key = harness.assert_line(r, r"^PALTPM: quote key=(%s{130})$" % HEX).group(1)
    if boot_key != guest_key:
        harness.fail(r, "TV_HC_QUOTE_KEY gave %s, the boot line %s" % (guest_key, boot_key))
    harness.assert_serial_contains(r, "PALTPM: the same key from inside the PAL: ok")

    # The quote: PCR 1 = SHA-256(PCR 1 before | measurement), checked here.
    q = _fields(r, "PALTPM: quote", "sel")
    meas = _fields(r, "PALTPM: quote", "measurement")
    sel = int(q["sel"], 16)
    if q.get("nonce") != nonce:
        harness.fail(r, "quote nonce %r, sent %r" % (q.get("nonce"), nonce))
    if len(q.get("pcrs", "")) != 64 * bin(sel).count("1") or len(q.get("sig", "")) != 128:
        harness.fail(r, "quote line: %d PCR hex digits for selection %02x, %d sig digits" % (
            len(q.get("pcrs", "")), sel, len(q.get("sig", ""))))
    if sel & 0b11 != 0b11:
        harness.fail(r, "the quote selection %02x lacks PCR 0 or 1" % sel)
    pcr1 = q["pcrs"][64:128]
    want = hashlib.sha256(bytes.fromhex(meas["pcr1-before"]) +
                          bytes.fromhex(meas["measurement"])).hexdigest()
    if pcr1 != want:
        harness.fail(r, "PCR 1 after the extend is %s, SHA-256(before | measurement) is %s" % (
            pcr1, want))
    harness.assert_serial_contains(r, "PALTPM: quote PASS")
    harness.assert_serial_contains(r, "TVGUEST: tpm quote exit=0")

    for key in (guest_key, boot_key):
        rc, out = _quote_verify(tool, key, want_a, nonce, sel, q["pcrs"], q["sig"])
        print("  quote_verify (valid quote): exit %d: %s" % (rc, out.strip().replace("\n", "; ")))
        if rc != 0 or "quote valid" not in out:
            harness.fail(r, "quote_verify rejected the guest's quote (exit %d): %s" % (rc, out))
    for what, pal, n, pcrs in (("another nonce", want_a, _flip(nonce, 0), q["pcrs"]),
                               ("another PCR 0", want_a, nonce, _flip(q["pcrs"], 10)),
                               ("another PCR 1", want_a, nonce, _flip(q["pcrs"], 64 + 63)),
                               ("PAL B's identity", want_b, nonce, q["pcrs"]),
                               ("a changed identity", _flip(want_a, 5), nonce, q["pcrs"])):
        rc, out = _quote_verify(tool, guest_key, pal, n, sel, pcrs, q["sig"])
        print("  quote_verify (%s): exit %d: %s" % (what, rc, out.strip().replace("\n", "; ")))
        if rc != 1 or "quote INVALID" not in out:
            harness.fail(r, "quote_verify with %s: exit %d (want 1): %s" % (what, rc, out))

    # Random bytes: two draws, different and not all zero (checked here too).
    rnd = _fields(r, "PALTPM: random", "n")
    if len(rnd.get("a", "")) != 64 or rnd["a"] == rnd.get("b") or set(rnd["a"]) == {"0"}:
        harness.fail(r, "random draws a=%s b=%s" % (rnd.get("a"), rnd.get("b")))
    harness.assert_serial_contains(r, "PALTPM: random PASS")
    harness.assert_serial_contains(r, "TVGUEST: tpm random exit=0")

    # Outside a PAL: every micro-TPM call refused, the public key given.
    for name in ("PCR_READ", "EXTEND", "SEAL", "UNSEAL", "QUOTE", "GET_RANDOM"):
        harness.assert_serial_contains(r, "PALTPM: outside %s -> TV_ERR_NOT_IN_PAL" % name)
    harness.assert_serial_contains(r, "PALTPM: outside QUOTE_KEY -> 65")
    harness.assert_serial_contains(r, "PALTPM: outside PASS")
    harness.assert_serial_contains(r, "TVGUEST: tpm outside exit=0")
    failed = [l for l in r.serial.splitlines() if l.startswith("PALTPM:") and "FAIL" in l]
    if failed:
        harness.fail(r, "failed checks in the guest: %s" % failed)
    harness.assert_poweroff(r, code=None)  # Linux powers off through ACPI
