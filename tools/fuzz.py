"""`./hv fuzz`: the hostile-guest fuzzer (issue 11 point 5; guest/README.md "Fuzz mode").

Builds the hypervisor image and the test guest, boots the guest with
`fuzz seed=N count=M` on its command line under APP in Bochs, and prints:
  steps done and steps per second (wall, and per simulated second from Bochs ticks),
  the VM-exit reasons reached (libvmx's `hv: cpu <n> exits:` lines at power-off),
  every `FUZZ:` failure line, a hypervisor PANIC with the step it interrupted
  (to within the guest's progress lines; --trace-from replays with every step printed).
Exit 0: every step passed and the machine powered off; 1: a failure, a panic, a
timeout or an emulator error; 2: bad arguments.
"""

import os
import re
import sys
import time

from tools import bazel, compare, disk as disklib, run as runlib

GUEST = "//guest:testguest.elf"
OUT_DIR = os.path.join(bazel.ROOT, "out")
LOG_DIR = os.path.join(OUT_DIR, "fuzz-logs")

_DONE = re.compile(r"^FUZZ: DONE steps=(\d+) fails=(\d+)$", re.M)
_FAIL = re.compile(r"^FUZZ: (?!DONE ).*$", re.M)
_PROGRESS = re.compile(r"^testguest: fuzz: step (\d+)$", re.M)
_TRACE = re.compile(r"^testguest: fuzz: step=(\d+) action=(\S+)", re.M)
_START = re.compile(r"^testguest: fuzz: seed=.*$", re.M)
_CPU1 = re.compile(r"^testguest: fuzz: cpu 1 ran (\d+) steps", re.M)
_RESULT = re.compile(r"^TESTGUEST: (PASS|FAIL|SKIP) fuzz(?:: (.*))?$", re.M)
_PANIC = re.compile(r"^.*PANIC.*$", re.M)
_RING3 = re.compile(r"^testguest: fuzz: (ring 3: .*)$", re.M)
_RACE = re.compile(r"^testguest: fuzz: (race: cpu \d: .*)$", re.M)
_TSC = re.compile(r"^testguest: fuzz: (\d+) steps in (\d+) TSC ticks$", re.M)


class Stamps:
    """The serial stream's sink: notes when the fuzz start and DONE lines arrived (wall)."""

    def __init__(self, echo=None):
        self.echo = echo
        self.start = None
        self.done = None

    def write(self, text):
        now = time.monotonic()
        if self.start is None and text.startswith("testguest: fuzz: seed="):
            self.start = now
        if self.done is None and text.startswith("FUZZ: DONE "):
            self.done = now
        if self.echo:
            self.echo.write(text)

    def flush(self):
        if self.echo:
            self.echo.flush()


# The known-panic variants (guest/pal64/pal64_abi.h FUZZ_KNOWN_*), for --known.
KNOWN = {1: "GETSEC after CR4.SMXE", 2: "reads above 4 GiB", 4: "OR/XCHG/MOVS to the LAPIC",
         8: "OUTSB to port 0x8900", 16: "APIC_BASE.EN off"}


def cmdline(seed, count, trace_from=0, known=None, ring3=True, race=True):
    """The guest's command line; known: a FUZZ_KNOWN_* mask (None: all, 0: avoid-known)."""
    words = ["fuzz", "seed=%d" % seed, "count=%d" % count]
    if not ring3:
        words.append("no-ring3")
    if not race:
        words.append("no-race")
    if trace_from:
        words.append("trace=%d" % trace_from)
    if known is not None:
        words.append("known=%d" % known)
    return " ".join(words)


def default_timeout(count, cpus):
    """Wall seconds: boot plus 20 steps/s (runs measured 40-100), Bochs ~8x slower with 2 CPUs.

    Bounded on purpose: a hypervisor hung in a loop that Bochs logs (RDMSR, say)
    writes gigabytes of bochs.log a minute (22 GB in 30 minutes once).
    """
    return (120 + 0.05 * count) * (8 if cpus > 1 else 1)


def guest_disk(kernel, line):
    """The test guest booting with `line` (cached in out/disks/ by content)."""
    path = os.path.join(OUT_DIR, "disks", "testguest-fuzz-%s.img" % compare._digest([kernel], line))
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = "%s.%d.tmp" % (path, os.getpid())
        disklib.make_disk(kernel, tmp, cmdline=line)
        os.replace(tmp, path)
    return path


class Report:
    """What a fuzz run's serial log says."""

    def __init__(self, serial):
        self.serial = serial
        m = _DONE.search(serial)
        self.done = m is not None
        self.steps = int(m.group(1)) if m else None
        self.fails = int(m.group(2)) if m else None
        self.fail_lines = _FAIL.findall(serial)
        self.exits = compare.exit_counts(serial) or {}
        progress = [int(x) for x in _PROGRESS.findall(serial)]
        traced = _TRACE.findall(serial)
        self.last_step = max(progress) if progress else 0
        self.last_traced = (int(traced[-1][0]), traced[-1][1]) if traced else None
        m = _START.search(serial)
        self.start_line = m.group(0) if m else None
        m = _CPU1.search(serial)
        self.cpu1_steps = int(m.group(1)) if m else None
        m = _RESULT.search(serial)
        self.result = (m.group(1), m.group(2) or "") if m else None
        self.panic_lines = _PANIC.findall(serial)
        m = _TSC.search(serial)
        self.tsc = int(m.group(2)) if m else None
        self.ring3_lines = _RING3.findall(serial)
        self.race_lines = _RACE.findall(serial)

    def ok(self, res):
        return (res.status == "poweroff" and self.done and self.fails == 0
                and not self.fail_lines and self.result is not None and self.result[0] == "PASS")


def print_report(rep, res, args, stamps, out=sys.stdout):
    w = out.write
    w("hv fuzz: app=%s seed=%d count=%d cpus=%d: %s after %.1f s wall\n"
      % (args.app, args.seed, args.count, args.cpus, res.status, res.seconds))
    if rep.start_line:
        w("hv fuzz: %s\n" % rep.start_line[len("testguest: "):])
    steps = rep.steps if rep.steps is not None else rep.last_step
    if stamps.start is not None and stamps.done is not None and stamps.done > stamps.start:
        wall = stamps.done - stamps.start
        rate = "%.1f s wall for the steps (boot excluded), %.1f steps/s" % (wall, steps / wall)
    else:
        rate = "%.1f steps/s wall (boot included)" % (steps / res.seconds) if res.seconds else "n/a"
    if rep.tsc:
        # Bochs: the TSC advances one per instruction tick (ips fixed, tools/bochs.py).
        sim = rep.tsc / runlib.bochs.IPS
        rate += "; %d Bochs ticks (%.2f simulated s), %.0f steps per simulated s" % (
            rep.tsc, sim, steps / sim if sim else 0)
    w("hv fuzz: steps %d%s: %s\n" % (steps, "" if rep.done else " (at least; no DONE line)", rate))
    w("hv fuzz: whole run %.1f s wall, %s Bochs ticks\n" % (res.seconds, res.ticks))
    if rep.cpu1_steps is not None:
        w("hv fuzz: cpu 1 stream: %d steps\n" % rep.cpu1_steps)
    for line in rep.ring3_lines + rep.race_lines:
        w("hv fuzz: %s\n" % line)
    if rep.exits:
        w("hv fuzz: %d distinct VM-exit reasons: %s\n" % (len(rep.exits), " ".join(
            "%s=%d" % (k, v) for k, v in sorted(rep.exits.items(), key=lambda kv: -kv[1]))))
    else:
        w("hv fuzz: no exit counters printed (no power-off through the hypervisor)\n")
    for line in rep.fail_lines:
        w("hv fuzz: failure (seed %d): %s\n" % (args.seed, line))
    if res.status == "panic":
        for line in rep.panic_lines[:3]:
            w("hv fuzz: hypervisor panic (seed %d): %s\n" % (args.seed, line.strip()))
        if rep.last_traced:
            w("hv fuzz: the panic came at step %d (%s), the last one traced\n" % rep.last_traced)
        else:
            w("hv fuzz: the panic came after step %d (last progress line); replay with "
              "--seed %d --count %d --trace-from %d to see the step\n"
              % (rep.last_step, args.seed, args.count, max(1, rep.last_step)))
    elif res.status != "poweroff":
        w("hv fuzz: run ended %s: %s\n" % (res.status, res.detail))
        if res.emulator_log_tail:
            w(res.emulator_log_tail + "\n")
    if rep.result and rep.result[0] != "PASS":
        w("hv fuzz: guest case fuzz %s: %s\n" % rep.result)
    w("hv fuzz: %s\n" % ("PASS" if rep.ok(res) else "FAIL"))


def main(args):
    if args.count < 1 or args.seed < 0 or args.seed >= 2 ** 32:
        print("hv fuzz: --count must be >= 1 and --seed in [0, 2^32)", file=sys.stderr)
        return 2
    try:
        kernel = bazel.build([GUEST], clang=args.clang, quiet=True)[GUEST][0]
        iso = bazel.build_apps([args.app], clang=args.clang, quiet=True)[args.app]
        known = 0 if args.avoid_known else args.known
        disk = guest_disk(kernel, cmdline(args.seed, args.count, args.trace_from, known,
                                          ring3=not getattr(args, "no_ring3", False),
                                          race=not getattr(args, "no_race", False)))
        os.makedirs(LOG_DIR, exist_ok=True)
        log = args.log or os.path.join(LOG_DIR, "%s-seed%d-count%d-%d.serial" % (
            args.app, args.seed, args.count, int(time.time())))
        stamps = Stamps(sys.stdout if args.verbose else None)
        timeout = args.timeout or default_timeout(args.count, args.cpus)
        # Bochs's default MSR handling, not strict_msrs: under a hypervisor the MSR
        # policy (libvmx/msr_policy.c) already gives the guest #GP for every MSR it
        # does not pass, and strict Bochs #GPs IA32_PERF_GLOBAL_CTRL although its
        # CPUID advertises the PMU that has it, which TrustVisor's PAL entry writes
        # (docs/design.md section 5).
        res = runlib.run_image(args.app, iso, disk, cpus=args.cpus, timeout=timeout,
                               log=log, out=stamps)
    except runlib.RunError as e:
        print("hv fuzz: %s" % e, file=sys.stderr)
        return 2
    except bazel.BuildError as e:
        print("hv fuzz: %s" % e, file=sys.stderr)
        return 1
    rep = Report(res.serial)
    print_report(rep, res, args, stamps)
    print("hv fuzz: serial log %s" % os.path.relpath(log, bazel.ROOT))
    return 0 if rep.ok(res) else 1
