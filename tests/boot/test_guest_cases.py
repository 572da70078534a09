"""The test guest (//guest:testguest.elf) case by case, bare and under passthrough and TrustVisor.

Each run's serial log must hold exactly one result line per case, in the guest's
order, and a DONE line whose counts agree with them; then every case must have the
status this machine and app call for. Bare, the hypervisor region is RAM, so
hv_memory_hidden must SKIP; under a hypervisor it must PASS (a SKIP there would
mean the guest's memory map still offers the hypervisor's memory).

Every run uses strict_msrs: the msr case expects #GP on an MSR that does not exist,
as on hardware, and Bochs only raises it with ignore_bad_msrs=0.
"""

import re

import harness

CASES = [
    "smp",
    "hv_memory_hidden",
    "cpuid",
    "msr",
    "apic_base_locked",
    "idt_exceptions",
    "task_switch",
    "pit_or_apic_timer",
    "nmi_self",
    "x2apic_ipi",
]
_RESULT = re.compile(r"^TESTGUEST: (PASS|FAIL|SKIP) ([a-z0-9_]+)(?:: (.*))?$")
_DONE = r"^TESTGUEST: DONE pass=(\d+) fail=(\d+)$"


def results(r):
    """{case: (status, detail)} from the serial log, checked for shape."""
    out, order = {}, []
    for line in r.serial.splitlines():
        m = _RESULT.match(line)
        if not m:
            continue
        status, name, detail = m.group(1), m.group(2), m.group(3) or ""
        if name in out:
            harness.fail(r, "case %s reported twice" % name)
        out[name] = (status, detail)
        order.append(name)
    if order != CASES:
        harness.fail(r, "cases reported %r, expected %r" % (order, CASES))
    m = harness.assert_line(r, _DONE)
    passed = sum(1 for s, _ in out.values() if s == "PASS")
    failed = sum(1 for s, _ in out.values() if s == "FAIL")
    if (int(m.group(1)), int(m.group(2))) != (passed, failed):
        harness.fail(r, "%s disagrees with the result lines (%d PASS, %d FAIL)" %
                     (m.group(0), passed, failed))
    return out


def expect(r, want):
    """Every case has the wanted status; want maps case -> status (default PASS)."""
    got = results(r)
    wrong = ["%s: %s%s (expected %s)" % (n, got[n][0], ": " + got[n][1] if got[n][1] else "",
                                         want.get(n, "PASS"))
             for n in CASES if got[n][0] != want.get(n, "PASS")]
    if wrong:
        harness.fail(r, "test guest cases:\n  " + "\n  ".join(wrong))
    return got


def _run(app, cpus):
    return harness.run(app, harness.testguest_disk(), cpus=cpus, timeout=400, strict_msrs=True)


def _aps_up(r, cpus):
    """Each AP checked in with the APIC id Bochs gives it (slot n = APIC id n)."""
    for slot in range(1, cpus):
        harness.assert_line(r, r"^testguest: cpu slot %d up: LAPIC id %d, CPUID\.1 APIC id %d$" %
                            (slot, slot, slot))
    if re.search(r"^testguest: cpu slot %d up" % cpus, r.serial, re.M):
        harness.fail(r, "more APs checked in than the %d CPUs configured" % cpus)


def test_bare_two_cpus():
    r = _run("bare", 2)
    harness.assert_poweroff(r, code=0)
    got = expect(r, {"hv_memory_hidden": "SKIP", "apic_base_locked": "SKIP"})
    if "no hypervisor" not in got["hv_memory_hidden"][1]:
        harness.fail(r, "hv_memory_hidden skipped for another reason")
    harness.assert_line(r, r"^testguest: hypervisor region .* is RAM: no hypervisor$")
    _aps_up(r, 2)


def test_bare_one_cpu():
    r = _run("bare", 1)
    harness.assert_poweroff(r, code=0)
    got = expect(r, {"smp": "SKIP", "hv_memory_hidden": "SKIP", "apic_base_locked": "SKIP"})
    if "one CPU" not in got["smp"][1]:
        harness.fail(r, "smp skipped for another reason")
    harness.assert_line(r, r"^testguest: x2APIC: no AP online, self IPI only$")


def test_bare_four_cpus():
    r = _run("bare", 4)
    harness.assert_poweroff(r, code=0)
    expect(r, {"hv_memory_hidden": "SKIP", "apic_base_locked": "SKIP"})
    harness.assert_line(r, r"^testguest: MADT lists 4 CPUs")
    _aps_up(r, 4)


def test_passthrough_one_cpu():
    r = _run("passthrough", 1)
    harness.assert_poweroff(r, code=0)
    expect(r, {"smp": "SKIP"})
    harness.assert_line(r, r"^testguest: hypervisor region .* is not RAM: under the hypervisor$")


def test_passthrough_two_cpus():
    r = _run("passthrough", 2)
    harness.assert_poweroff(r, code=0)
    expect(r, {})
    harness.assert_line(r, r"^testguest: hypervisor region .* is not RAM: under the hypervisor$")
    _aps_up(r, 2)


def test_passthrough_four_cpus():
    # Issue 15: the SMP, IPI and NMI cases at 4 CPUs under both apps, as bare.
    r = _run("passthrough", 4)
    harness.assert_poweroff(r, code=0)
    expect(r, {})
    harness.assert_line(r, r"^testguest: MADT lists 4 CPUs")
    _aps_up(r, 4)


# Under TrustVisor too: every case but the PAL ones (test_trustvisor_guest.py)
# must see what it sees under passthrough (task_switch: issue 15.1).
def test_trustvisor_one_cpu():
    r = _run("trustvisor", 1)
    harness.assert_poweroff(r, code=0)
    expect(r, {"smp": "SKIP"})
    harness.assert_line(r, r"^testguest: hypervisor region .* is not RAM: under the hypervisor$")


def test_trustvisor_two_cpus():
    r = _run("trustvisor", 2)
    harness.assert_poweroff(r, code=0)
    expect(r, {})
    _aps_up(r, 2)


def test_trustvisor_four_cpus():
    r = _run("trustvisor", 4)
    harness.assert_poweroff(r, code=0)
    expect(r, {})
    harness.assert_line(r, r"^testguest: MADT lists 4 CPUs")
    _aps_up(r, 4)
