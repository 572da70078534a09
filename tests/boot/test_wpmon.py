"""The write-protect monitor (apps/wpmon, issue 14: a third example app from
libvmx's public headers). `wpmon` on the test guest's command line runs its
cases (guest/case_wpmon.c): protect a page, write it 10 times with known
values (every value lands, the log holds 10 writes at the right GPAs and
RIPs; a write to the next page is not logged; an ADD to memory is logged and
lands, its range released since Bochs 2.7 has no monitor trap flag; after
unprotect nothing is), bad ranges refused with their codes (unaligned, too
large, hypervisor memory, the LAPIC page, wrapping), on 2 CPUs a store by CPU
1 logged as its own, and ticks per logged write against a plain write.

Under passthrough the wpmon VMCALL raises #UD: every case SKIPs, none FAILs.
"""

import re

import harness

CASES = ["smp", "wpmon_protect", "wpmon_errors", "wpmon_other_cpu", "wpmon_bench"]
ONE_CPU_SKIPS = ("smp", "wpmon_other_cpu")
_RESULT = re.compile(r"^TESTGUEST: (PASS|FAIL|SKIP) ([a-z0-9_]+)(?:: (.*))?$", re.M)


def _results(r):
    found = [(m.group(2), m.group(1), m.group(3) or "") for m in _RESULT.finditer(r.serial)]
    if [n for n, _, _ in found] != CASES:
        harness.fail(r, "cases reported %r, expected %r" % ([n for n, _, _ in found], CASES))
    return {n: (s, d) for n, s, d in found}


def test_wpmon_logs_protected_writes_and_refuses_bad_ranges():
    r = harness.run("//apps/wpmon:iso", harness.testguest_disk(cmdline="wpmon"), cpus=1,
                    timeout=900)
    harness.assert_poweroff(r)
    got = _results(r)
    wrong = ["%s: %s %s" % (n, s, d) for n, (s, d) in got.items()
             if s != ("SKIP" if n in ONE_CPU_SKIPS else "PASS")]
    if wrong:
        harness.fail(r, "wpmon cases:\n  " + "\n  ".join(wrong))
    harness.assert_line(r, r"^TESTGUEST: DONE pass=3 fail=0$")
    harness.assert_line(r, r"^testguest: wpmon: 10 writes logged at [0-9a-f]+, last RIP [0-9a-f]+")
    prot = int(harness.assert_line(r, r"^BENCH: wpmon_write ticks=(\d+)$").group(1))
    plain = int(harness.assert_line(r, r"^BENCH: wpmon_plain_write ticks=(\d+)$").group(1))
    # A logged move is one VM exit (libvmx completes the store).
    if not plain < 100 < prot:
        harness.fail(r, "ticks per write: protected %d, plain %d" % (prot, plain))
    # Bochs 2.7's CPU offers no monitor trap flag: the ADD's range is released.
    harness.assert_line(r, r"^testguest: wpmon: ADD logged, 1 range\(s\) released$")
    harness.assert_serial_contains(r, "hv: wpmon: no monitor trap flag")
    # Every protected write exited once: 10 moves, the ADD, 9 bench moves.
    m = harness.assert_line(r, r"^hv: cpu 0 exits:.*\bEPT-violation=(\d+)")
    if int(m.group(1)) != 20:
        harness.fail(r, "EPT violation exits %s, expected 20" % m.group(1))
    harness.assert_serial_lacks(r, "monitor-trap-flag=")
    print("wpmon: ticks per logged write %d, plain write %d" % (prot, plain))


def test_wpmon_cases_skip_under_passthrough():
    r = harness.run("passthrough", harness.testguest_disk(cmdline="wpmon"), cpus=1, timeout=600)
    harness.assert_poweroff(r)
    got = _results(r)
    wrong = ["%s: %s %s" % (n, s, d) for n, (s, d) in got.items()
             if n != "smp" and (s != "SKIP" or "not wpmon" not in d)]
    if wrong:
        harness.fail(r, "under passthrough:\n  " + "\n  ".join(wrong))


def test_wpmon_two_cpus_protect_runs_a_quiesce_round():
    """PROTECT on 2 CPUs: the image's quiesce round (apps/wpmon/wpmon_sync.c)
    makes CPU 1 drop the writable translation its first store cached, so its
    second store, after CPU 0 protected the page, is logged as CPU 1's."""
    r = harness.run("//apps/wpmon:iso", harness.testguest_disk(cmdline="wpmon"), cpus=2,
                    timeout=1200)
    harness.assert_poweroff(r)
    got = _results(r)
    wrong = ["%s: %s %s" % (n, s, d) for n, (s, d) in got.items() if s != "PASS"]
    if wrong:
        harness.fail(r, "wpmon cases on 2 CPUs:\n  " + "\n  ".join(wrong))
    harness.assert_line(r, r"^TESTGUEST: DONE pass=5 fail=0$")
