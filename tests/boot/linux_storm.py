"""Linux boots for test_linux.py and test_nmi_linux.py (one per app; the
passthrough one is shared by both files).

Both read the same run: the guest/linux disk with guest_scenario=nmi-storm
(user space with both CPUs, then 20 sysrq-l rounds of NMI-backtrace IPIs, then
the report and an ACPI power-off). test_linux checks the report bare and under
passthrough; test_nmi_linux checks the storm under passthrough. The tests
reading the passthrough run are one xdist group, so one worker boots it once (`./hv test` runs --dist loadgroup); the bare boot
runs on another worker meanwhile.

The two boots start Linux differently (guest/linux/README.md, "PVH boot"): the
bare one from a PVH disk (guest/linux/pvh's loader enters the vmlinux, which
make_disk.py extracted from the bzImage, by its PVH entry: no ~4.5e9-tick XZ
decompression in Bochs); the passthrough one keeps the bzImage disk (GRUB's
`linux`), so CI still boots Linux's real-mode setup and decompressor under the
hypervisor. Same kernel, initramfs and command line on both.
"""

import functools
import os
import sys

import harness

sys.path.insert(0, os.path.join(harness.ROOT, "guest", "linux"))
import make_disk  # noqa: E402

SCENARIO = "nmi-storm"
shared = harness.xdist_group("linux_storm")


def kernel():
    """The kernel the disk boots (Debian's, fetched into out/cache)."""
    return make_disk.fetch_kernel(os.path.join(harness.ROOT, "out", "cache"))


def pvh_loader():
    """guest/linux/pvh's loader ELF (built with Bazel)."""
    return harness.output("//guest/linux/pvh:pvh_loader.elf", ".elf")


def disk(pvh=False):
    """The nmi-storm disk: the bzImage one, or (pvh) the PVH one."""
    out = os.path.join(harness.ROOT, "out", "linux-%s%s.img" % (SCENARIO, "-pvh" if pvh else ""))
    return make_disk.build_linux_disk(out, os.path.join(harness.ROOT, "out", "cache"), SCENARIO,
                                      pvh_loader() if pvh else None)


# The line guest/linux/pvh's loader prints as it enters the kernel.
PVH_ENTRY = r"^pvh: entering Linux at 0x[0-9a-f]+ "


@functools.lru_cache(maxsize=None)
def run(app):
    """The Result of app booting its disk, 2 CPUs: 'bare' the PVH disk, 'passthrough'
    the bzImage disk."""
    return harness.run(app, disk(pvh=app == "bare"), cpus=2, timeout=1500)
