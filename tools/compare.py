"""`./hv compare`: the same guest workloads bare, under passthrough and under TrustVisor.

What runs (each configuration boots the same disks; tools/run.py does every boot):
  bench  the test guest with `bench` on its command line (guest/bench/): prints
         `BENCH: <name> ticks=<n>` for its power-on-to-entry time, a CPU-bound and a
         memory-bound workload and the NMI latency, each measured with RDTSC inside the
         guest; it then starts the other CPUs and, under a hypervisor, calls the BENCH
         debug hypercall: the hypervisor's quiesce_round and nmi_delivery lines.
  pal    under TrustVisor only, the test guest with `pal` (guest/case_pal.c,
         guest/pal64/): `BENCH: <pal_...|utpm_...> ticks=<n> exits=<n> quiesce=<n>
         cpus=<n>`, with --cpus CPUs and, unless --quick, also with 1, 2 and 4 CPUs.
         Only its PAL figures count. (`bench pal` in one boot cannot be used: both
         start the other CPUs, and the guest's smp case runs only once.)
  linux  (not with --quick) guest/linux's Debian kernel + busybox initramfs and command
         line, plus clearcpuid=rdrand,rdseed (linux_disk()), up to user space
         (`LINUXGUEST: DONE`), then power-off.

Figures come out of the serial log and, on Bochs, the Bochs log:
  - every `BENCH: <name> ticks=<n> [k=v ...]` line (guest) and `hv: bench: <name>
    ticks=<n> [k=v ...]` line (hypervisor) becomes a row; `cpus=<n>` is part of the
    row's name, other numeric k=v become rows "<name> <k>" of their own;
  - Linux boot: on Bochs the tick of the guest's mark after its DONE line ('D' to
    port 0xe9, logged by Bochs's unmapped-port report, one `dd`); on QEMU the
    wall time from the emulator's start until the DONE line reached the serial log;
  - `hv: cpu <n> exits: <reason>=<count> ...` (printed by libvmx at guest power-off),
    summed over CPUs, per million ticks of that run (Bochs) or per wall second (QEMU).

Start-up breakdown: the hypervisor records a TSC stamp at each phase of its start-up
(rt/boot_phase.h) and prints them at guest power-off as `hv: phase NAME tsc=N`. Each
becomes a row "startup.NAME": ticks since the phase before (the first, `entry`, since
power-on: the firmware and the hypervisor's GRUB); "startup.total" is entry to launch;
"startup.guest.<workload>" is the guest's own boot, from the `launch` stamp (bare:
power-on) to its kernel entry (bench) or to user space (linux).

--configs and --workloads run a subset (e.g. bare and passthrough Linux only); the
rows of what did not run say n/a.

Bochs ticks are instructions (ips fixed, one instruction per CPU per tick) and repeat
exactly run to run, so one run per configuration is enough; QEMU figures are medians
of --runs runs (default 5) with their min-max spread.
"""

import datetime
import hashlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

from tools import bazel, bochs, deps, disk as disklib, qemu, run as runlib
from tools import compare_report as report

CONFIGS = ("bare", "passthrough", "trustvisor")
HV_CONFIGS = ("passthrough", "trustvisor")
PAL_CPUS = (1, 2, 4)  # CPU counts of the PAL scaling runs
WORKLOADS = ("linux", "bench", "pal")
CMDLINES = {"bench": "bench", "pal": "pal"}  # the test guest's disks
GUEST_LABEL = "//guest:testguest.elf"
TIMEOUTS = {"bench": 900.0, "pal": 1800.0, "linux": 3000.0}
OUT_DIR = os.path.join(bazel.ROOT, "out")
LOG_DIR = os.path.join(OUT_DIR, "compare-logs")
PROGRESS_EVERY = 30.0

_BENCH = re.compile(r"(?:^|\s)(?:BENCH:|hv: bench:)\s*([A-Za-z0-9_.-]+)\s+ticks=(\d+)"
                    r"((?:\s+[A-Za-z0-9_]+=\S+)*)\s*$")
_EXITS = re.compile(r"^hv: cpu (\d+) exits:((?:\s+\S+=\d+)+)\s*$")
_PHASE = re.compile(r"^hv: phase ([A-Za-z0-9_.-]+) tsc=(\d+)\s*$")
_CRC = re.compile(r"bench cpu_crc32: .* crc ([0-9a-f]+)")
# guest/linux/init's mark after its DONE line: 'D' to port 0xe9, no device's.
_DONE_MARK = re.compile(rb"^(\d+)\w\[UNMAP \] (?:unmapped: )?8-bit write to 00e9 = 44\b", re.M)
LINUX_DONE = "LINUXGUEST: DONE"
TESTGUEST_DONE = re.compile(r"^TESTGUEST: DONE pass=(\d+) fail=(\d+)$", re.M)
DIMENSIONS = ("cpus",)  # k=v of a BENCH line that name a variant, not a figure
# Added to guest/linux's kernel command line: no RDRAND/RDSEED (see linux_disk()).
LINUX_EXTRA_ARGS = "clearcpuid=rdrand,rdseed"


class CompareError(Exception):
    """A comparison that cannot start (build failure, missing disk input)."""


class Job:
    def __init__(self, config, workload, index, image, disk, cpus):
        self.config, self.workload, self.index = config, workload, index
        self.image, self.disk, self.cpus = image, disk, cpus
        self.result = None
        self.figures = {}
        self.problem = None  # why the run does not count, or None
        self.crc = None
        self.started = None

    @property
    def name(self):
        cpus = " %d CPU(s)" % self.cpus if self.workload == "pal" else ""
        return "%s %s%s #%d" % (self.config, self.workload, cpus, self.index + 1)

    @property
    def problem_key(self):
        """Where a failure is filed: the workload, "pal N" for a scaling run."""
        return "pal %d" % self.cpus if self.workload == "pal" else self.workload


class _LineClock:
    """The `out` stream of run_image: remembers when each serial line arrived."""

    def __init__(self, start):
        self.start = start
        self.lines = []
        self.partial = ""

    def write(self, text):
        now = time.monotonic() - self.start
        text = self.partial + text
        *done, self.partial = text.split("\n")
        self.lines.extend((now, l) for l in done)

    def flush(self):
        pass

    def first(self, needle):
        for t, l in self.lines:
            if needle in l:
                return t
        return None


def bench_figures(serial):
    """{key: value} from BENCH lines: 'name' or 'name cpus=N', and 'name k' for extra k=v."""
    seen = {}
    for line in serial.splitlines():
        m = _BENCH.search(line)
        if not m:
            continue
        name, ticks = m.group(1), int(m.group(2))
        extras = dict(kv.split("=", 1) for kv in m.group(3).split())
        dims = " ".join("%s=%s" % (k, extras.pop(k)) for k in DIMENSIONS if k in extras)
        key = "bench.%s%s" % (name, " " + dims if dims else "")
        seen.setdefault(key, []).append(ticks)
        for k, v in extras.items():
            if re.fullmatch(r"\d+(\.\d+)?", v):
                seen.setdefault("%s %s" % (key, k), []).append(float(v))
    # Repeated lines in one run (a workload measured several times): their median.
    return {k: statistics.median(v) for k, v in seen.items()}


def startup_phases(serial):
    """[(name, tsc)] of the `hv: phase NAME tsc=N` lines in printed order (first of each name)."""
    out, seen = [], set()
    for line in serial.splitlines():
        m = _PHASE.match(line.strip())
        if m and m.group(1) not in seen:
            seen.add(m.group(1))
            out.append((m.group(1), int(m.group(2))))
    return out


def startup_figures(phases, workload, guest_done):
    """The start-up rows of one run: {key: ticks}.

    phases: startup_phases() of the run ([] bare); guest_done: the tick the guest
    reached its kernel (bench: guest_entry) or user space (linux), or None.
    """
    figs = {}
    prev = 0
    for name, tsc in phases:
        figs["startup." + name] = tsc - prev
        prev = tsc
    stamps = dict(phases)
    if "entry" in stamps and "launch" in stamps:
        figs["startup.total"] = stamps["launch"] - stamps["entry"]
    # Bare, the guest's own boot starts at power-on; under a hypervisor, at its launch.
    launch = stamps.get("launch", 0 if not phases else None)
    if guest_done is not None and launch is not None:
        figs["startup.guest.%s" % workload] = guest_done - launch
    return figs


def is_pal(key):
    """A PAL or micro-TPM figure (bench.pal_* / bench.utpm_*)."""
    return key.startswith(("bench.pal_", "bench.utpm_"))


def exit_counts(serial):
    """{reason: count} summed over CPUs, or None when no exit counters were printed."""
    total = None
    for line in serial.splitlines():
        m = _EXITS.match(line.strip())
        if not m:
            continue
        total = total or {}
        for tok in m.group(2).split():
            reason, count = tok.rsplit("=", 1)
            total[reason] = total.get(reason, 0) + int(count)
    return total


def linux_boot_ticks(bochs_log):
    """The tick of the Linux guest's done mark ('D' to port 0xe9), or None."""
    try:
        with open(bochs_log, "rb") as f:
            m = _DONE_MARK.search(f.read())
    except OSError:
        return None
    return int(m.group(1)) if m else None


def _check_end(job):
    """None when the run ended as it should, else what went wrong."""
    r = job.result
    if r.status != "poweroff":
        return "%s%s" % (r.status, (": " + r.detail) if r.detail else "")
    if job.workload in ("bench", "pal"):
        m = TESTGUEST_DONE.search(r.serial)
        if not m:
            return "no TESTGUEST: DONE line"
        if int(m.group(2)):
            return "%s bench case(s) failed" % m.group(2)
    elif LINUX_DONE not in r.serial:
        return "no %s line" % LINUX_DONE
    return None


def extract(job, emulator, clock):
    """Fill job.figures from its result."""
    r = job.result
    job.problem = _check_end(job)
    if job.problem:
        return
    figs = bench_figures(r.serial)
    if job.workload == "pal":  # a scaling run: its PAL figures only
        job.figures = {k: v for k, v in figs.items() if is_pal(k)}
        return
    m = _CRC.search(r.serial)
    job.crc = m.group(1) if m else None
    if job.workload == "linux":
        if emulator == "bochs":
            t = linux_boot_ticks(r.emulator_log)
        else:
            t = clock.first(LINUX_DONE) if clock else None
        if t is None:
            job.problem = "could not find when %s was printed" % LINUX_DONE
            return
        figs["linux_boot"] = t
    figs.update(startup_figures(startup_phases(r.serial), job.workload, figs.get(
        "linux_boot" if job.workload == "linux" else "bench.guest_entry")))
    exits = exit_counts(r.serial)
    if exits is not None and job.config != "bare":
        per = (r.ticks / 1e6) if emulator == "bochs" else r.seconds
        if not per:
            job.problem = "no tick count for the run"
            return
        for reason, count in exits.items():
            figs["exits.%s.%s" % (job.workload, reason)] = count / per
        figs["exits.%s.total" % job.workload] = sum(exits.values()) / per
    job.figures = figs


class Progress:
    """Stderr lines: each run's start and end, and every PROGRESS_EVERY s what is running."""

    def __init__(self, total, stream=sys.stderr):
        self.t0 = time.monotonic()
        self.total, self.done = total, 0
        self.running = []
        self.lock = threading.Lock()
        self.stream = stream
        self.stop = threading.Event()

    def elapsed(self, since=None):
        s = int(time.monotonic() - (since or self.t0))
        return "%d:%02d" % (s // 60, s % 60)

    def say(self, text):
        with self.lock:
            print("hv compare: [%s] %s" % (self.elapsed(), text), file=self.stream, flush=True)

    def ticker(self):
        while not self.stop.wait(PROGRESS_EVERY):
            with self.lock:
                now = ", ".join("%s (%s)" % (j.name, self.elapsed(j.started)) for j in self.running)
            self.say("%d of %d runs done; running: %s" % (self.done, self.total, now or "-"))


def _run_job(job, args, progress):
    job.started = time.monotonic()
    with progress.lock:
        progress.running.append(job)
    progress.say("start %s" % job.name)
    log = os.path.join(LOG_DIR, args.emulator, "%s.%s.%d.serial" % (
        job.config, job.workload + ("%dcpu" % job.cpus if job.workload == "pal" else ""),
        job.index + 1))
    clock = _LineClock(time.monotonic()) if args.emulator == "qemu" else None
    try:
        for attempt in range(2):
            job.result = runlib.run_image(
                job.config, job.image, job.disk, emulator=args.emulator, cpus=job.cpus,
                mem=args.mem, timeout=TIMEOUTS[job.workload], log=log, quiet=clock is None,
                out=clock)
            if not _failed_to_start(job.result) or attempt:
                break
            # Seen here: Bochs dies at start when its display (RFB) finds no free port
            # among 5900-5949, with other engineers' emulators running. Once more.
            progress.say("%s: the emulator failed to start (%s); retrying once" % (
                job.name, job.result.detail))
            time.sleep(5)
            if clock:
                clock = _LineClock(time.monotonic())
        extract(job, args.emulator, clock)
    except Exception as e:  # a broken run must not take the others down
        job.problem = "%s: %s" % (type(e).__name__, e)
    with progress.lock:
        progress.running.remove(job)
        progress.done += 1
    r = job.result
    progress.say("done  %s: %s%s, %s ticks, %.0f s wall%s" % (
        job.name, r.status if r else "error", " (" + job.problem + ")" if job.problem else "",
        r.ticks if r and r.ticks is not None else "n/a", r.seconds if r else 0,
        "" if not job.problem else "; log " + os.path.relpath(log, bazel.ROOT)))


def _failed_to_start(result):
    """An emulator that ended in error before the guest ran (no serial output)."""
    return result.status == "error" and not result.ticks and not result.serial.strip()


def run_jobs(jobs, args, progress):
    """Run jobs, args.jobs at a time (Bochs runs are independent processes)."""
    ticker = threading.Thread(target=progress.ticker, daemon=True)
    ticker.start()
    pending = list(jobs)
    threads = []
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                job = pending.pop(0)
            _run_job(job, args, progress)

    for _ in range(max(1, min(args.jobs, len(jobs)))):
        t = threading.Thread(target=worker, daemon=True)
        t.start()
        threads.append(t)
    interrupted = False
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    except KeyboardInterrupt:
        # Ctrl-C: keep what finished, stop the rest, print the partial table. A
        # second Ctrl-C while the emulators wind down is ignored, not a traceback.
        interrupted = True
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        with lock:
            not_started = list(pending)
            pending.clear()
        running = [j for j in jobs if j.started and j not in not_started and j.result is None]
        progress.say("interrupted: stopping %d running emulator(s); the table keeps the "
                     "finished runs" % len(progress.running))
        runlib.kill_running()
        for t in threads:
            t.join()
        for j in not_started + running:
            j.problem = "n/a: interrupted"
        for j in jobs:
            if j.result is not None and j.result.status != "poweroff" and not j.problem:
                j.problem = "n/a: interrupted"
        signal.signal(signal.SIGINT, old)
    progress.stop.set()
    return interrupted


def _digest(paths, extra):
    h = hashlib.sha256(repr(extra).encode())
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def guest_disk(kernel, workload):
    """The test guest with CMDLINES[workload] (cached in out/disks/ by content)."""
    cmdline = CMDLINES[workload]
    path = os.path.join(OUT_DIR, "disks", "testguest-%s-%s.img" % (
        workload, _digest([kernel], cmdline)))
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = "%s.%d.tmp" % (path, os.getpid())
        disklib.make_disk(kernel, tmp, cmdline=cmdline)
        os.replace(tmp, path)
    return path


def linux_disk():
    """guest/linux's kernel, initramfs and command line, plus LINUX_EXTRA_ARGS.

    Bochs's RDRAND/RDSEED give other values in every run, and Linux's path (and so
    its tick count) depends on them: two bare boots of guest/linux's own disk a few
    seconds apart differ (by ~1e-5 with one CPU, up to 2% with two). Without those
    instructions Linux seeds from the TSC and interrupts, which Bochs repeats.

    The disk boots the bzImage (GRUB's `linux`: real-mode setup, XZ decompressor),
    not the PVH path the boot tests' bare and TrustVisor Linux boots take
    (guest/linux/README.md, "PVH boot"): a benchmark keeps its definition, so this
    row stays comparable with earlier tables.
    """
    sys.path.insert(0, os.path.join(bazel.ROOT, "guest", "linux"))
    try:
        import make_disk  # noqa: E402
    finally:
        sys.path.pop(0)
    try:
        kernel = make_disk.fetch_kernel(os.path.join(OUT_DIR, "cache"))
        os.makedirs(os.path.join(OUT_DIR, "disks"), exist_ok=True)
        tmp = os.path.join(OUT_DIR, "disks", "linux-initrd.%d.tmp" % os.getpid())
        make_disk.build_initramfs(tmp)
        cmdline = "%s guest_scenario=smp %s" % (make_disk.CMDLINE, LINUX_EXTRA_ARGS)
        key = _digest([kernel, tmp], cmdline)
        initrd = os.path.join(OUT_DIR, "disks", "linux-initrd-%s.gz" % key)
        os.replace(tmp, initrd)
        path = os.path.join(OUT_DIR, "disks", "linux-compare-%s.img" % key)
        if not os.path.exists(path):
            disklib.make_disk(kernel, path + ".tmp", initrd=initrd, cmdline=cmdline)
            os.replace(path + ".tmp", path)
        return path
    except make_disk.DiskError as e:
        raise CompareError("Linux disk: %s" % e)


def git_commit():
    try:
        r = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                           cwd=bazel.ROOT, capture_output=True, text=True)
        return r.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def plan(args, images, disks, skipped):
    jobs = []
    # Longest first, so the short runs fill the gaps at the end. Repeats of one
    # configuration do not start together, so --runs 2 is a real repeat.
    for workload in [w for w in ("linux", "bench") if w in args.workloads]:
        for i in range(args.runs):
            for config in CONFIGS:
                if config not in skipped:
                    jobs.append(Job(config, workload, i, images.get(config), disks[workload],
                                    args.cpus))
    if "trustvisor" not in skipped and "pal" in args.workloads:
        for i in range(args.runs):
            for n in sorted({args.cpus} | (set() if args.quick else set(PAL_CPUS))):
                jobs.append(Job("trustvisor", "pal", i, images["trustvisor"], disks["pal"], n))
    order = {"linux": 0, "pal": 1, "bench": 2}
    return sorted(jobs, key=lambda j: order[j.workload])


def aggregate(jobs, args, skipped):
    """{config: {key: cell}} and {config: {workload: problem}} from the finished jobs."""
    values, problems = {c: {} for c in CONFIGS}, {c: {} for c in CONFIGS}
    # The counters line omits reasons that never exited: 0 for a run that printed it.
    reasons = {k for j in jobs for k in j.figures if k.startswith("exits.")}
    for job in jobs:
        if job.problem:
            problems[job.config].setdefault(job.problem_key, job.problem)
            continue
        if "exits.%s.total" % job.workload in job.figures:
            for k in reasons:
                if k.startswith("exits.%s." % job.workload):
                    job.figures.setdefault(k, 0.0)
        for k, v in job.figures.items():
            values[job.config].setdefault(k, []).append(v)
    cells = {c: {} for c in CONFIGS}
    for c in CONFIGS:
        for k, vs in values[c].items():
            cells[c][k] = {"value": statistics.median(vs), "min": min(vs), "max": max(vs),
                           "n": len(vs)}
    for w in WORKLOADS:
        if w not in args.workloads:
            for c in CONFIGS:
                why = "n/a: not run (--workloads)"
                if w == "pal":
                    problems[c].update({"pal %d" % n: why for n in PAL_CPUS + (args.cpus,)})
                else:
                    problems[c][w] = why
    for c in skipped:
        problems[c] = {"bench": skipped[c], "linux": skipped[c]}
        problems[c].update({"pal %d" % n: skipped[c] for n in PAL_CPUS + (args.cpus,)})
    return cells, problems


def crc_check(jobs):
    crcs = {j.config: j.crc for j in jobs if j.crc}
    if len(set(crcs.values())) > 1:
        return "WARNING: the CPU workload's CRC differs between configurations: %s" % crcs
    return None


def compare(args, stdout=sys.stdout):
    """Build, run, print the table; write JSON/SVG. Returns the exit code."""
    deps.require("bazel", "iso", args.emulator)
    started = time.monotonic()
    skipped = {}
    if args.emulator == "qemu":
        kvm, nested, why = qemu.kvm_status()
        if not nested:
            for c in HV_CONFIGS:
                skipped[c] = "n/a: no VMX"
            print("hv compare: QEMU without nested VMX (%s): passthrough and trustvisor cannot "
                  "run; bare only" % why, file=sys.stderr, flush=True)
    for c in CONFIGS:
        if c not in args.configs:
            skipped[c] = "n/a: not run (--configs)"
    labels = [GUEST_LABEL] + [bazel.app_label(c) for c in HV_CONFIGS if c not in skipped]
    print("hv compare: building " + " ".join(labels), file=sys.stderr, flush=True)
    try:
        built = bazel.build(labels, quiet=True)
    except bazel.BuildError as e:
        raise CompareError(str(e))
    kernel = [p for p in built[GUEST_LABEL] if p.endswith(".elf")][0]
    images = {c: [p for p in built[bazel.app_label(c)] if p.endswith(".iso")][0]
              for c in HV_CONFIGS if c not in skipped}
    # Private copies: other Bazel builds may replace bazel-bin's files between runs.
    snap = os.path.join(LOG_DIR, args.emulator, "images")
    os.makedirs(snap, exist_ok=True)
    for c in list(images):
        images[c] = shutil.copy(images[c], os.path.join(snap, c + ".iso"))
    images["bare"] = None
    disks = {w: guest_disk(kernel, w) for w in CMDLINES}
    if "linux" in args.workloads:
        print("hv compare: Linux disk (guest/linux/make_disk.py)", file=sys.stderr, flush=True)
        disks["linux"] = linux_disk()
    os.makedirs(os.path.join(LOG_DIR, args.emulator), exist_ok=True)
    jobs = plan(args, images, disks, skipped)
    progress = Progress(len(jobs))
    progress.say("%d runs on %s with %d CPU(s), %d at a time; logs in %s" % (
        len(jobs), args.emulator, args.cpus, args.jobs,
        os.path.relpath(os.path.join(LOG_DIR, args.emulator), bazel.ROOT)))
    interrupted = run_jobs(jobs, args, progress)
    cells, problems = aggregate(jobs, args, skipped)
    meta = {
        "emulator": args.emulator,
        "cpus": args.cpus,
        "mem_mb": args.mem,
        "runs": args.runs,
        "quick": "linux" not in args.workloads,
        "workloads": list(args.workloads),
        "pal_cpus": sorted({j.cpus for j in jobs if j.workload == "pal"}),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(),
        "wall_seconds": round(time.monotonic() - started, 1),
        "ips": bochs.IPS if args.emulator == "bochs" else None,
        "emulator_version": bochs.version()[2] if args.emulator == "bochs" else None,
        "accelerator": ", ".join(sorted({"%s: %s" % (j.config, j.result.accel) for j in jobs
                                         if j.result and j.result.accel})) or None,
    }
    meta["differing"] = sorted("%s %s" % (c, k) for c in CONFIGS for k, v in cells[c].items()
                               if v["n"] > 1 and v["min"] != v["max"])
    table = report.build(cells, problems, meta)
    warning = crc_check(jobs)
    if warning:
        table.notes.append(warning)
    if interrupted:
        table.notes.append("interrupted (Ctrl-C): %d of %d runs finished; the others read n/a"
                           % (sum(1 for j in jobs if j.problem != "n/a: interrupted"), len(jobs)))
    stdout.write(report.render(table, getattr(args, "format", None) or "text"))
    stdout.flush()
    if args.json:
        svg = os.path.splitext(args.json)[0] + ".svg"
        report.write_json(table, args.json)
        report.write_svg(table, svg)
        print("hv compare: wrote %s and %s" % (args.json, svg), file=sys.stderr, flush=True)
    progress.say("finished in %s" % progress.elapsed())
    if interrupted:
        return 130
    failed = [j for j in jobs if j.problem]
    return 1 if failed or warning else 0


def _subset(text, allowed, option):
    """The names of a comma-separated option (all of allowed when not given)."""
    if text is None:
        return tuple(allowed)
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise CompareError("%s takes a comma-separated subset of %s, not %r" % (
            option, ",".join(allowed), text))
    return tuple(n for n in allowed if n in names)


def main(args):
    """Entry point of `./hv compare` (args from its argparse block in ./hv)."""
    if args.runs is None:
        args.runs = 1 if args.emulator == "bochs" else 5
    if args.jobs is None:
        # Bochs: independent single-threaded processes, ticks unaffected by load.
        # QEMU: wall-clock figures, so one at a time.
        args.jobs = (os.cpu_count() or 1) if args.emulator == "bochs" else 1
    if args.runs < 1 or args.jobs < 1 or not 1 <= args.cpus <= 8:
        print("hv compare: --runs and --jobs must be >= 1, --cpus 1..8", file=sys.stderr)
        return 2
    try:
        args.configs = _subset(getattr(args, "configs", None), CONFIGS, "--configs")
        args.workloads = _subset(getattr(args, "workloads", None),
                                 ("bench", "pal") if args.quick else WORKLOADS, "--workloads")
    except CompareError as e:
        print("hv compare: %s" % e, file=sys.stderr)
        return 2
    try:
        return compare(args)
    except (CompareError, runlib.RunError, disklib.DiskError) as e:
        print("hv compare: %s" % e, file=sys.stderr)
        return 1
