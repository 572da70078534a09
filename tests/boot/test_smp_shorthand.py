"""Starting APs by the "all excluding self" shorthand (issue 15.3), at 3 and 4 CPUs.

The test guest with `smp_shorthand` sends INIT, SIPI, SIPI once each, by shorthand,
instead of once per AP. On Bochs a hypervisor that forwarded the broadcast brought
up CPU 1 only (the first target, a VMX guest waiting for SIPI, exits at once and
ends Bochs's delivery loop); libvmx now sends one targeted IPI per CPU. Linux sends
targeted SIPIs, so only the test guest covers this.
"""

import harness

_UP = r"^testguest: smp by shorthand: (\d+) of (\d+) APs checked in$"


def _check(app, cpus):
    disk = harness.testguest_disk(cmdline="smp_shorthand")
    r = harness.run(app, disk, cpus=cpus, timeout=900, strict_msrs=True)
    harness.assert_serial_lacks(r, "PANIC")
    m = harness.assert_line(r, _UP)
    if m.group(1) != m.group(2) or int(m.group(2)) != cpus - 1:
        harness.fail(r, "%s APs of %d came up by shorthand" % (m.group(1), cpus - 1))
    harness.assert_line(r, r"^TESTGUEST: PASS smp$")
    harness.assert_line(r, r"^TESTGUEST: DONE pass=\d+ fail=0$")
    harness.assert_poweroff(r)


def test_bare_three_cpus():
    _check("bare", 3)


def test_passthrough_three_cpus():
    _check("passthrough", 3)


def test_passthrough_four_cpus():
    _check("passthrough", 4)


def test_trustvisor_three_cpus():
    _check("trustvisor", 3)


def test_trustvisor_four_cpus():
    _check("trustvisor", 4)
