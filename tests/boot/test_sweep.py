"""The NMI sweep (issue 16), coarse: `./hv sweep` under TrustVisor (the PAL call,
the quiesce round) and passthrough (a VMCALL exit, the NMI-window injection,
the quiesce round with a device NMI), 2 CPUs.

The full sweep moves the NMI's arrival one instruction per round (./hv sweep,
two passes of about 7,500 rounds for the PAL call: ~2.5 minutes); here one
pass with a step of 5 (TrustVisor, ~1,500 rounds) or 3 (passthrough, ~220
rounds) keeps each run under a minute, most of it the boot, while still
meeting the guest, the hypervisor's exit and entry paths and the PAL itself.
The steps are fine enough to meet the last instructions before VM entry,
where an NMI used to wait for the next VM exit (libvmx fix b1f5174: 41 and 87
such rounds in the full sweeps before it, 8 and 15 of them on these grids).
Checked: the
command exits 0 (no NMI lost, held until a later exit, doubled or taken inside
a PAL, every PAL result right, no panic), the guest's sweep reached past the
end of the operation, NMIs landed in the hypervisor at many distinct
instructions, and the outcome line has every count at 0.
"""

import os
import re
import subprocess
import sys

import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
def _sweep(app, path, step, min_hits, named=None, min_named=0, extra=()):
    """Runs the sweep; named: a named path whose executed boundaries must be hit
    at min_named distinct instructions at least."""
    log = os.path.join(ROOT, "out", "test-logs", "test_sweep.%s.%s%s.serial" % (
        app, path, "".join(extra).replace("-", ".")))
    cmd = [sys.executable, os.path.join(ROOT, "hv"), "sweep", "--app", app, "--path", path,
           "--step", str(step), "--passes", "1", "--timeout", "900", "--log", log] + list(extra)
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    out = p.stdout
    # The summary, without the per-function lines (the log has everything).
    print("\n".join(l for l in out.splitlines() if not l.startswith("sweep:   ")))
    if p.returncode != 0:
        raise harness.BootTestFailure("./hv sweep --app %s exited %d" % (app, p.returncode))
    m = re.search(r"^sweep: rounds (\d+) \(delays 0\.\.(\d+)\), end: passed$", out, re.M)
    if not m:
        raise harness.BootTestFailure("the sweep did not run past the end of %s" % path)
    m = re.search(r"^sweep: distinct hypervisor instructions hit: (\d+) in (\d+) functions",
                  out, re.M)
    if not m or int(m.group(1)) < min_hits:
        raise harness.BootTestFailure("too few hypervisor instructions hit: %s"
                                      % (m.group(0) if m else "no line"))
    if named:
        m = re.search(r"^sweep: named path %s: (\d+) functions; executed boundaries (\d+)/(\d+)"
                      % re.escape(named), out, re.M)
        if not m or int(m.group(2)) < min_named:
            raise harness.BootTestFailure("named path %s: too few instructions hit: %s"
                                          % (named, m.group(0) if m else "no line"))
    m = re.search(r"^sweep: outcomes: (.*), run (\w+)$", out, re.M)
    counts = dict(kv.rsplit(" ", 1) for kv in m.group(1).split(", ")) if m else {}
    if not m or m.group(2) != "poweroff" or any(v != "0" for v in counts.values()):
        raise harness.BootTestFailure("bad outcomes: %s" % (m.group(0) if m else "no line"))
    return out


def test_sweep_trustvisor_pal_call():
    out = _sweep("trustvisor", "pal-call", step=5, min_hits=300)
    if not re.search(r"^sweep: NMIs landed: .*held \d+", out, re.M):
        raise harness.BootTestFailure("no NMI met the PAL itself (held by TrustVisor)")


def test_sweep_passthrough_vmcall():
    _sweep("passthrough", "vmcall", step=3, min_hits=50)


def test_sweep_passthrough_nmi_window():
    # The guest's two self-NMIs (the second sent by the first's handler) make
    # an NMI-window exit every round: NMIs must land in that exit's handling.
    out = _sweep("passthrough", "nmi-window", step=9, min_hits=50, named="nmi-window",
                 min_named=25)
    if not re.search(r"^sweep: merged .*: \d+; .*: \d+$", out, re.M):
        raise harness.BootTestFailure("no merged count")


def test_sweep_trustvisor_quiesce():
    _sweep("trustvisor", "quiesce", step=5, min_hits=30, named="quiesce", min_named=10)


def test_sweep_passthrough_quiesce_device_nmi():
    # A device NMI (PIT one-shot through the IOAPIC) reaches the initiator while
    # the round parks every guest CPU: an NMI IPI never can. platform_relax runs
    # only in wait_for_ack, between the responder's NMI and its ack.
    out = _sweep("passthrough", "quiesce", step=3, min_hits=30, named="quiesce", min_named=20,
                 extra=("--pit", "10"))
    if not re.search(r"^sweep:   \[quiesce\] platform_relax ", out, re.M):
        raise harness.BootTestFailure("no NMI met the initiator's wait for the ack")


def _sweep_init(name, extra):
    """`./hv sweep --event init` (tools/sweep_init.py); checks exit 0, the outcome
    line all 0 with the run powered off, and returns the output."""
    log = os.path.join(ROOT, "out", "test-logs", "test_sweep.init.%s.serial" % name)
    cmd = [sys.executable, os.path.join(ROOT, "hv"), "sweep", "--app", "trustvisor", "--path",
           "pal-call", "--event", "init", "--passes", "1", "--timeout", "600", "--log",
           log] + list(extra)
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    print(p.stdout)
    if p.returncode != 0:
        raise harness.BootTestFailure("./hv sweep --event init exited %d" % p.returncode)
    m = re.search(r"^sweep: outcomes: (.*), hv-count-mismatch (\d+), run (\w+)$", p.stdout, re.M)
    counts = dict(kv.rsplit(" ", 1) for kv in m.group(1).split(", ")) if m else {}
    if not m or m.group(3) != "poweroff" or m.group(2) != "0" or any(
            v != "0" for v in counts.values()):
        raise harness.BootTestFailure("bad outcomes: %s" % (m.group(0) if m else "no line"))
    return p.stdout


def test_sweep_trustvisor_pal_call_init():
    # The INIT variant (issue 16). On Bochs 2.7 an INIT that reaches CPU 1 while
    # it is in VMX root has no effect (hardware would hold it to the next VM
    # entry), and the first INIT that does take effect leaves CPU 1 in
    # wait-for-SIPI for good (Bochs keeps it pending: docs/results.md). So, one
    # instruction apart from the call's first VM exit on, every INIT meets the
    # hypervisor's PAL entry (checked: the call still returns right) until the
    # first that meets the PAL itself: TrustVisor must end the call, unregister
    # the PAL and scrub its params and stack pages (the guest reads them zero).
    out = _sweep_init("pal", ("--first", "200", "--step", "1", "--rounds", "8000", "--window"))
    m = re.search(r"^sweep: INIT rounds (\d+) \(delays 200\.\.(\d+)\), end: (\S+)$", out, re.M)
    if not m or int(m.group(1)) < 100:
        raise harness.BootTestFailure("too few INIT rounds: %s" % (m.group(0) if m else "no line"))
    if not re.search(r"^sweep:   INIT met CPU 1 in the call: +\d+ rounds, PAL ended and "
                     r"scrubbed in [1-9]", out, re.M):
        raise harness.BootTestFailure("no INIT met the PAL")
    if not re.search(r"^sweep: hypervisor: ([1-9]\d*) PAL calls ended by an INIT \(\1 scrubbed\), "
                     r"guest found \1 gone$", out, re.M):
        raise harness.BootTestFailure("TrustVisor's ended PAL calls and the guest's disagree")
    # Before the call's first VM exit the INIT takes effect: the call never
    # returns, the PAL stays registered (TrustVisor ends only a running PAL).
    out = _sweep_init("before", ("--first", "40", "--rounds", "1", "--window"))
    if not re.search(r"^sweep:   INIT met CPU 1 (before the call|in the call): +1 rounds, PAL "
                     r"ended and scrubbed in 0$", out, re.M):
        raise harness.BootTestFailure("the INIT at delay 40 did not meet CPU 1 before the PAL")


def test_sweep_passthrough_quiesce_coverage():
    # Issue 16's target for the quiesce round: >= 95% of its executed boundaries.
    # Three sweeps of QUIESCE_STORM's round, step 1, then their rounds together
    # (--serial, repeated): NMI IPIs from slot 1 (everything up to the ICR store
    # that sends the responder its NMI), the PIT's device NMI (also after it,
    # while every guest CPU is parked) and the same with --busy (slot 1 in and
    # out of the hypervisor, so the ack reaches the initiator at other phases of
    # Bochs's 5-instruction CPU turns: docs/results.md). ~40 s of sweeps here.
    logs = []
    for name, extra in (("ipi", ("--passes", "4")), ("pit", ("--pit", "10")),
                        ("busy", ("--pit", "10", "--busy"))):
        log = os.path.join(ROOT, "out", "test-logs", "test_sweep.coverage.%s.serial" % name)
        cmd = [sys.executable, os.path.join(ROOT, "hv"), "sweep", "--app", "passthrough",
               "--path", "quiesce", "--timeout", "900", "--log", log] + list(extra)
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if p.returncode != 0:
            print(p.stdout)
            raise harness.BootTestFailure("./hv sweep %s exited %d" % (" ".join(extra),
                                                                       p.returncode))
        logs.append(log)
    cmd = [sys.executable, os.path.join(ROOT, "hv"), "sweep", "--app", "passthrough", "--path",
           "quiesce", "--missed"] + [a for log in logs for a in ("--serial", log)]
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    print(p.stdout)
    if p.returncode != 0:
        raise harness.BootTestFailure("./hv sweep --serial ... exited %d" % p.returncode)
    m = re.search(r"^sweep: named path quiesce: \d+ functions; executed boundaries (\d+)/(\d+)",
                  p.stdout, re.M)
    if not m or int(m.group(1)) * 100 < 95 * int(m.group(2)):
        raise harness.BootTestFailure("quiesce round coverage under 95%%: %s"
                                      % (m.group(0) if m else "no line"))
