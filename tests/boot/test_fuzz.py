"""The hostile-guest fuzzer (issue 11 point 5; guest/README.md "Fuzz mode").

Every variant is on, the ones that hit the panics issue 11 point 4 listed
(GETSEC, reads above 4 GiB, LAPIC read-modify-write stores, OUTSB to 0x8900,
IA32_APIC_BASE.EN off) included: those are fixed, and CI keeps them fixed.

A short fixed seed under both apps: every step must pass (no FUZZ failure line,
`FUZZ: DONE steps=<count> fails=0`), the hypervisor must not panic, the machine
must power off, and the run must have reached the VM exits the fuzzer is there
to reach (VMX instructions, MSR and control-register accesses, VMCALLs, EPT
violations). Under TrustVisor the canary PAL must have been registered; under
passthrough TrustVisor's functions are #UD (the fuzzer checks that itself).

Ring 3 (guest/pal64/fuzz_ring3.c) is on in every run; with two CPUs under
TrustVisor both CPUs race registrations over the same pages
(guest/pal64/fuzz_race.c).

The same seed also runs through `./hv fuzz`'s report (tools/fuzz.py), whose
parsing is what a long run relies on.
"""

import re

import harness

from tools import fuzz

SEED = 11
COUNT = 1500
COUNT_2CPUS = 600  # Bochs is about 8x slower with two CPUs
# Exits the action table reaches in any run of COUNT steps (each action is
# drawn hundreds of times): VMX instructions, MSRs, CR writes, hypercalls, the
# hypervisor region and PAL pages.
WANT_EXITS = {"VMCALL", "CPUID", "RDMSR", "WRMSR", "control-register-access", "VMXON",
              "VMCLEAR", "VMREAD", "VMWRITE", "VMLAUNCH", "INVEPT", "EPT-violation"}
# With two CPUs: the second CPU's stream adds NMIs and quiesce rounds.
WANT_EXITS_2CPUS = {"VMCALL", "CPUID", "RDMSR", "WRMSR", "EPT-violation", "exception-or-NMI"}


def _run(app, cpus, line):
    disk = harness.testguest_disk(cmdline=line)
    # Not strict_msrs: see tools/fuzz.py (Bochs's PMU MSRs, docs/design.md section 5).
    return harness.run(app, disk, cpus=cpus, timeout=900)


def _check(r, app, count=COUNT, want=WANT_EXITS):
    harness.assert_serial_lacks(r, "PANIC")
    harness.assert_poweroff(r, code=0)
    rep = fuzz.Report(r.serial)
    if rep.fail_lines:
        harness.fail(r, "fuzz failures (seed %d):\n  %s" % (SEED, "\n  ".join(rep.fail_lines)))
    harness.assert_line(r, r"^FUZZ: DONE steps=%d fails=0$" % count)
    harness.assert_line(r, r"^TESTGUEST: PASS fuzz$")
    missing = sorted(want - set(rep.exits))
    if missing:
        harness.fail(r, "exit reasons never reached: %s (got %s)" % (missing, sorted(rep.exits)))
    tv = "yes" if app == "trustvisor" else "no"
    harness.assert_line(r, r"^testguest: fuzz: seed=%d count=%d hypervisor=yes trustvisor=%s "
                           r"canary=%s " % (SEED, count, tv, tv))
    return rep


def test_fuzz_short_seed_trustvisor():
    r = _run("trustvisor", 1, fuzz.cmdline(SEED, COUNT))
    rep = _check(r, "trustvisor")
    # TrustVisor's own exits: PAL calls enter through EPT violations of the code
    # page, and the fuzz PALs' bodies fault on purpose.
    if rep.exits.get("EPT-violation", 0) < COUNT // 64:
        harness.fail(r, "only %d EPT violations: the canary PAL was not called"
                     % rep.exits.get("EPT-violation", 0))


def test_fuzz_short_seed_passthrough_two_cpus():
    r = _run("passthrough", 2, fuzz.cmdline(SEED, COUNT_2CPUS))
    _check(r, "passthrough", COUNT_2CPUS, WANT_EXITS_2CPUS)
    m = harness.assert_line(r, r"^testguest: fuzz: cpu 1 ran (\d+) steps, 0 wrong answers$")
    if int(m.group(1)) == 0:
        harness.fail(r, "CPU 1's stream ran no step")
    # Ring 3 without TrustVisor: its functions are #UD there too; no race (no PALs).
    harness.assert_line(r, r"^testguest: fuzz: seed=%d .* ring3=yes race=no " % SEED)
    registered, ok = _ring3(r)
    if registered or ok:
        harness.fail(r, "ring 3 registered PALs without TrustVisor")


def _ring3(r):
    """The ring-3 summary: runs, faulted, PALs registered, calls TV_OK (fuzz_ring3.c)."""
    m = harness.assert_line(r, r"^testguest: fuzz: ring 3: (\d+) runs, (\d+) faulted \(as "
                               r"expected\), (\d+) PALs registered, (\d+) calls returned TV_OK$")
    runs, faulted, registered, ok = (int(g) for g in m.groups())
    if runs < COUNT_2CPUS // 20 or faulted == 0 or faulted == runs:
        harness.fail(r, "ring 3: %d runs, %d faulted: not exercised" % (runs, faulted))
    return registered, ok


def test_fuzz_ring3_and_race_trustvisor_two_cpus():
    """Ring 3 on the boot CPU, and both CPUs racing registrations over the same pages.

    Every step passes (ring 3's hypercalls get the ABI's answers: owner = CR3 and
    ring; privileged instructions fault as at CPL 3), the hypervisor does not
    panic (a foreign call racing its owner's unregister once did), and the race
    really raced: both CPUs registered, CPU 1's PALs answered its calls, and
    registrations were refused for pages the other CPU held.
    """
    r = _run("trustvisor", 2, fuzz.cmdline(SEED, COUNT_2CPUS))
    _check(r, "trustvisor", COUNT_2CPUS, WANT_EXITS_2CPUS)
    harness.assert_line(r, r"^testguest: fuzz: seed=%d .* other_cpu=yes ring3=yes race=yes "
                        % SEED)
    registered, _ = _ring3(r)
    if registered == 0:
        harness.fail(r, "ring 3 registered no PAL")
    race = {}
    for m in re.finditer(r"^testguest: fuzz: race: cpu (\d): (\d+) steps, (\d+) registered, "
                         r"(\d+) refused, (\d+) calls TV_OK", r.serial, re.M):
        race[int(m.group(1))] = [int(g) for g in m.groups()[1:]]
    if sorted(race) != [0, 1]:
        harness.fail(r, "no race summary for both CPUs: %r" % race)
    if race[0][1] == 0 or race[1][1] == 0 or race[1][3] == 0 or race[1][2] == 0:
        harness.fail(r, "the race did not race (steps, registered, refused, calls): %r" % race)


def test_fuzz_replays_from_the_seed():
    """Two runs of one seed: the same steps (trace lines) and the same exit counts."""
    line = fuzz.cmdline(SEED, 200, trace_from=1)
    runs = [_run("trustvisor", 1, line) for _ in range(2)]
    traces = [re.findall(r"^testguest: fuzz: step=.*$", r.serial, re.M) for r in runs]
    if len(traces[0]) < 150 or traces[0] != traces[1]:
        harness.fail(runs[1], "trace differs between two runs of seed %d (%d vs %d lines)"
                     % (SEED, len(traces[0]), len(traces[1])))
    exits = [fuzz.Report(r.serial).exits for r in runs]
    if exits[0] != exits[1]:
        harness.fail(runs[1], "exit counts differ: %r vs %r" % exits)
