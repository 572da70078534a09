"""Debian's Linux boots to user space with both CPUs online, bare and under passthrough.

Issue 3's check: the same disk prints the same user-space report under the
hypervisor as on the bare (emulated) machine, and the hypervisor's exit
counters are printed when the guest powers off.
"""

import os
import re
import sys

import harness

sys.path.insert(0, os.path.join(harness.ROOT, "guest", "linux"))
import make_disk  # noqa: E402

# The lines of guest/linux/init that must not depend on what runs underneath.
REPORT = re.compile(r"^LINUXGUEST: (kernel .*|cpus online: .*|nproc=\d+|scenario .*|"
                    r"unknown-nmi-messages=\d+|DONE)$", re.M)


def _smp_disk():
    out = os.path.join(harness.ROOT, "out", "linux-smp.img")
    return make_disk.build_linux_disk(out, os.path.join(harness.ROOT, "out", "cache"), "smp")


def _boot(app):
    r = harness.run(app, _smp_disk(), cpus=2, timeout=1200)
    harness.assert_serial_lacks(r, "PANIC")
    harness.assert_serial_contains(r, "LINUXGUEST: cpus online: 0-1")
    harness.assert_serial_contains(r, "LINUXGUEST: nproc=2")
    harness.assert_serial_contains(r, "LINUXGUEST: unknown-nmi-messages=0")
    harness.assert_serial_contains(r, "LINUXGUEST: DONE")
    harness.assert_poweroff(r, code=None)
    return r


def test_linux_user_space_same_bare_and_under_passthrough():
    bare = _boot("bare")
    hv = _boot("passthrough")
    if REPORT.findall(bare.serial) != REPORT.findall(hv.serial):
        harness.fail(hv, "user-space report differs from bare:\n  bare: %r\n  hv:   %r"
                     % (REPORT.findall(bare.serial), REPORT.findall(hv.serial)))
    # Exit counters for both CPUs, printed at the guest's power-off.
    for cpu in (0, 1):
        harness.assert_line(hv, r"^hv: cpu %d exits: .*CPUID=\d+" % cpu)
    print("  linux boot ticks: bare %d, passthrough %d (%.3fx)"
          % (bare.ticks, hv.ticks, hv.ticks / bare.ticks), flush=True)
