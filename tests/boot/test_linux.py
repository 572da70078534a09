"""Debian's Linux boots to user space with both CPUs online, bare and under passthrough.

Issue 3's check: the same disk prints the same user-space report under the
hypervisor as on the bare (emulated) machine, and the hypervisor's exit
counters are printed when the guest powers off. The boots are shared with
test_nmi_linux.py (tests/boot/linux_storm.py): after the report the guest runs
an NMI-backtrace storm, bare and under passthrough alike.
"""

import re

import harness
import linux_storm

# The lines of guest/linux/init that must not depend on what runs underneath.
REPORT = re.compile(r"^LINUXGUEST: (kernel .*|cpus online: .*|nproc=\d+|scenario .*|"
                    r"unknown-nmi-messages=\d+|DONE)$", re.M)


def _boot(app):
    r = linux_storm.run(app)
    harness.assert_serial_lacks(r, "PANIC")
    harness.assert_serial_contains(r, "LINUXGUEST: cpus online: 0-1")
    harness.assert_serial_contains(r, "LINUXGUEST: nproc=2")
    harness.assert_serial_contains(r, "LINUXGUEST: unknown-nmi-messages=0")
    harness.assert_serial_contains(r, "LINUXGUEST: DONE")
    harness.assert_poweroff(r, code=None)
    return r


@linux_storm.shared
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
