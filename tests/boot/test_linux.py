"""Debian's Linux boots to user space with both CPUs online, bare and under passthrough.

Issue 3's check: the same disk prints the same user-space report under the
hypervisor as on the bare (emulated) machine, and the hypervisor's exit
counters are printed when the guest powers off. Both boots must print the one
report the disk's kernel and init give (the kernel's release, both CPUs online,
the scenario, no unknown NMIs, DONE), so each is checked against it on its own
and the two run in parallel. The passthrough boot is shared with
test_nmi_linux.py (tests/boot/linux_storm.py): after the report the guest runs
an NMI-backtrace storm, bare and under passthrough alike.

The bare boot enters the kernel by its PVH entry (guest/linux/pvh's loader), the
passthrough boot through the bzImage (real-mode setup, decompressor): each test
checks its boot took its path, so neither can silently fall back to the other.
"""

import os
import re

import harness
import linux_storm

# The lines of guest/linux/init that must not depend on what runs underneath.
REPORT = re.compile(r"^LINUXGUEST: (kernel .*|cpus online: .*|nproc=\d+|scenario .*|"
                    r"unknown-nmi-messages=\d+|DONE)$", re.M)


def _expected_report():
    release = os.path.basename(linux_storm.kernel()).split("vmlinuz-", 1)[1]
    return ["kernel " + release, "cpus online: 0-1", "nproc=2", "scenario " + linux_storm.SCENARIO,
            "unknown-nmi-messages=0", "DONE"]


def _boot(app):
    r = linux_storm.run(app)
    harness.assert_serial_lacks(r, "PANIC")
    harness.assert_poweroff(r, code=None)
    if REPORT.findall(r.serial) != _expected_report():
        harness.fail(r, "user-space report under %s:\n  got:      %r\n  expected: %r"
                     % (app, REPORT.findall(r.serial), _expected_report()))
    print("  linux boot ticks under %s: %d" % (app, r.ticks), flush=True)
    return r


def test_linux_user_space_report_bare():
    r = _boot("bare")
    # Entered by PVH: the loader's line, and the same kernel's report after it.
    harness.assert_line(r, linux_storm.PVH_ENTRY)
    harness.assert_in_order(r, "pvh: entering Linux at", "LINUXGUEST: DONE")


@linux_storm.shared
def test_linux_user_space_report_under_passthrough():
    hv = _boot("passthrough")
    # The bzImage path: no PVH loader ran (CI keeps Linux's real-mode setup under the hypervisor).
    harness.assert_serial_lacks(hv, "pvh: entering Linux")
    # Exit counters for both CPUs, printed at the guest's power-off.
    for cpu in (0, 1):
        harness.assert_line(hv, r"^hv: cpu %d exits: .*CPUID=\d+" % cpu)
