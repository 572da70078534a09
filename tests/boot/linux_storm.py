"""Linux boots for test_linux.py and test_nmi_linux.py (one per app; the
passthrough one is shared by both files).

Both read the same run: the guest/linux disk with guest_scenario=nmi-storm
(user space with both CPUs, then 20 sysrq-l rounds of NMI-backtrace IPIs, then
the report and an ACPI power-off). test_linux checks the report bare and under
passthrough; test_nmi_linux checks the storm under passthrough. The tests
reading the passthrough run are one xdist group, so one worker boots it once (`./hv test` runs --dist loadgroup); the bare boot
runs on another worker meanwhile.
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


def disk():
    out = os.path.join(harness.ROOT, "out", "linux-%s.img" % SCENARIO)
    return make_disk.build_linux_disk(out, os.path.join(harness.ROOT, "out", "cache"), SCENARIO)


@functools.lru_cache(maxsize=None)
def run(app):
    """The Result of app ('bare', 'passthrough') booting the shared disk, 2 CPUs."""
    return harness.run(app, disk(), cpus=2, timeout=1500)
