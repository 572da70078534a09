"""NMI storms in the test guest (issue 4, item 4), bare and under passthrough.

The guest (guest/case_nmi_storm.c, command line `nmi-storm`) has CPU 1 send NMI
IPIs to CPU 0: one at a time with an acknowledgement (no merging possible: the
count must be exact), then in a burst (1 <= received <= sent), then - under the
hypervisor only - one at a time while CPU 1 also quiesces the machine through
the QUIESCE_STORM debug hypercall after every NMI: exact count, quiesce NMIs
consumed on CPU 0, and the hypervisor injected exactly as many NMIs as the
guest's handler counted. That case ends with the BENCH hypercall, whose
`hv: bench:` lines ./hv compare turns into table rows.
"""

import re

import harness

_CASES = ["smp", "nmi_storm", "nmi_burst", "nmi_quiesce_storm"]
_RESULT = re.compile(r"^TESTGUEST: (PASS|FAIL|SKIP) ([a-z0-9_]+)(?:: (.*))?$", re.M)


def _run(app, cpus):
    disk = harness.testguest_disk(cmdline="nmi-storm")
    return harness.run(app, disk, cpus=cpus, timeout=1500, strict_msrs=True)


def _results(r, want):
    got = {m.group(2): (m.group(1), m.group(3) or "") for m in _RESULT.finditer(r.serial)}
    if sorted(got) != sorted(_CASES):
        harness.fail(r, "cases reported %r, expected %r" % (sorted(got), sorted(_CASES)))
    wrong = ["%s: %s %s" % (n, got[n][0], got[n][1]) for n in _CASES
             if got[n][0] != want.get(n, "PASS")]
    if wrong:
        harness.fail(r, "NMI storm cases:\n  " + "\n  ".join(wrong))
    harness.assert_line(r, r"^TESTGUEST: DONE pass=\d+ fail=0$")
    return got


def _figures(r, name):
    m = harness.assert_line(r, r"^testguest: %s: sent=(\d+) received=(\d+)" % name)
    sent, received = int(m.group(1)), int(m.group(2))
    if received > sent:
        harness.fail(r, "%s: more NMIs received than sent (%d > %d)" % (name, received, sent))
    return sent, received


def _check_storms(r):
    sent, received = _figures(r, "nmi_storm")
    if sent != received or sent == 0:
        harness.fail(r, "nmi_storm: sent %d received %d, expected equal" % (sent, received))
    sent, received = _figures(r, "nmi_burst")
    if not 1 <= received <= sent:
        harness.fail(r, "nmi_burst: received %d outside 1..%d" % (received, sent))


def test_nmi_storm_bare():
    r = _run("bare", 2)
    harness.assert_poweroff(r, code=0)
    got = _results(r, {"nmi_quiesce_storm": "SKIP"})
    if "no hypervisor" not in got["nmi_quiesce_storm"][1]:
        harness.fail(r, "nmi_quiesce_storm skipped for another reason")
    _check_storms(r)


def _check_under_hv(r, cpus):
    harness.assert_serial_lacks(r, "PANIC")
    harness.assert_poweroff(r, code=0)
    _results(r, {})
    _check_storms(r)
    m = harness.assert_line(r, r"^testguest: nmi_quiesce_storm: sent=(\d+) received=(\d+) "
                               r"ack-timeouts=0 hv-injected=(\d+) quiesce-nmis-consumed=(\d+)")
    sent, received, injected, consumed = (int(g) for g in m.groups())
    if not sent == received == injected:
        harness.fail(r, "quiesce storm: sent %d, guest counted %d, hypervisor injected %d" %
                     (sent, received, injected))
    if consumed < 1:
        harness.fail(r, "no quiesce NMI consumed on CPU 0")
    m = harness.assert_line(r, r"^hv: bench: quiesce_round ticks=(\d+) cpus=(\d+)$")
    if int(m.group(2)) != cpus or int(m.group(1)) == 0:
        harness.fail(r, "bench line %r: expected cpus=%d and ticks > 0" % (m.group(0), cpus))
    m = harness.assert_line(r, r"^hv: bench: nmi_delivery ticks=(\d+) samples=(\d+)$")
    if int(m.group(2)) < 1:
        harness.fail(r, "no NMI latency samples")


def test_nmi_storm_passthrough_two_cpus():
    _check_under_hv(_run("passthrough", 2), 2)


def test_nmi_storm_passthrough_four_cpus():
    _check_under_hv(_run("passthrough", 4), 4)
