"""One TrustVisor Linux boot shared by the tests that only read its output.

A Linux boot in Bochs costs ~6.4e9 ticks (minutes of wall time), so the PAL
calls under NMI backtraces (test_trustvisor.py), the PAL error paths (same
file) and the micro-TPM end to end (test_trustvisor_tpm.py) are one boot of
pal_init with guest_scenario=pal,tpm,pal-bad: the scenarios run in that order
and each test checks its own lines. The image is the short-budget one (a
2^24-cycle PAL budget: the looping PAL of pal-bad ends fast; the other PALs
run far below it). The tests sharing it are in one xdist group (`./hv test`
runs pytest with --dist loadgroup), so one worker boots it once and caches it.

The disk boots Linux by its PVH entry (guest/linux/README.md, "PVH boot"): GRUB
multiboots guest/linux/pvh's loader with the kernel's vmlinux (extracted from
Debian's bzImage and packed by guest/linux/make_disk.py) and the initrd as modules, which
skips the bzImage's XZ decompression (~4.5e9 Bochs ticks). The passthrough Linux
boot (linux_storm.py) keeps the bzImage path. test_trustvisor.py's
test_linux_entered_by_pvh checks the boot took this path.
"""

import functools
import os
import sys

import harness

sys.path.insert(0, os.path.join(harness.ROOT, "apps", "trustvisor", "guest"))
import make_pal_initrd  # noqa: E402
from linux_storm import PVH_ENTRY, pvh_loader  # noqa: E402,F401 (PVH_ENTRY: test_trustvisor)

SCENARIOS = "pal,tpm,pal-bad"
PAL_CALLS = 200
IMAGE = "//apps/trustvisor:iso_short_budget"
# Put this on every test that reads the shared run.
shared = harness.xdist_group("tv_linux")


def _disk(secret, nonce, plain_pal_demo):
    demo = harness.output("//apps/trustvisor/guest:pal_demo", "pal_demo")
    tpm = harness.output("//apps/trustvisor/guest:pal_tpm", "pal_tpm")
    extra = [("pal_demo_plain", plain_pal_demo)]
    initrd = os.path.join(harness.DISK_DIR, "pal-initrd-shared-%s.gz" % harness._digest(
        [demo, tpm, plain_pal_demo, os.path.join(make_pal_initrd.HERE, "pal_init")],
        "initrd-shared"))
    if not os.path.exists(initrd):
        os.makedirs(harness.DISK_DIR, exist_ok=True)
        make_pal_initrd.build_initrd(initrd, demo, tpm, extra=extra)
    cmdline = "%s guest_scenario=%s pal_calls=%d tpm_secret=%s tpm_nonce=%s" % (
        make_pal_initrd.CMDLINE, SCENARIOS, PAL_CALLS, secret, nonce)
    loader = pvh_loader()
    vmlinux = make_pal_initrd.make_disk.pvh_vmlinux(make_pal_initrd.kernel())
    # Modules in order: the loader takes the first as the vmlinux, the second as the initrd.
    return harness.disk(loader, initrd=initrd, cmdline=cmdline, modules=[vmlinux], nounzip=True)


@functools.lru_cache(maxsize=None)
def run():
    """(Result, secret hex, nonce hex) of the shared boot; booted on first use.
    Secret and nonce are fresh each session (they are on the kernel command line)."""
    import test_trustvisor  # its plain-gcc pal_demo (built outside Bazel)

    secret = os.urandom(24).hex()
    nonce = os.urandom(20).hex()
    disk = _disk(secret, nonce, test_trustvisor.plain_pal_demo())
    r = harness.run(IMAGE, disk, cpus=2, timeout=3000)
    return r, secret, nonce
