"""`./hv sweep`: an NMI at every instruction of a hypervisor path (issue 16).

Builds the app, its ELF and the test guest with --config=nmi_sweep (the
hypervisor records where each guest NMI landed, core/nmi_sweep.h), boots the
guest with `sweep=PATH` (guest/case_sweep.c: slot 1 sends the boot CPU one NMI
per round, one instruction later each round) on 2 CPUs in Bochs, and reads the
guest's `SWEEP:` lines:

- outcomes per round: lost (the guest's handler took fewer NMIs than were
  sent), doubled (more), in-PAL (taken with the PAL's code or page tables
  current), wrong (the operation's result), unrecorded (the hypervisor's
  record disagrees with what was sent), and a panic or failed run;
- coverage: every hypervisor RIP an NMI interrupted, mapped to its function
  through the ELF (objdump -d). The path is what the sweep's NMIs met: the
  functions hit, and within them the basic blocks hit (a block is executed
  whole once any of its instructions was interrupted, so its other
  instructions are boundaries an NMI could have met). Coverage is hit/total
  over both; instructions of hit blocks never hit are listed with --missed.
"""

import collections
import os
import re
import subprocess
import sys
import time

from tools import bazel, disk as disklib, run as runlib, sweep_init

PATHS = ("pal-call", "pal-register", "pal-unregister", "vmcall", "nmi-window", "quiesce")
DEFAULT_PATH = {"trustvisor": "pal-call", "passthrough": "vmcall"}
FLAGS = ("--config=nmi_sweep",)
WHERE = {1: "guest", 2: "held", 3: "hypervisor"}

_LINE = re.compile(
    r"^SWEEP: r=(\d+) k=(\d+) sent=(\d+) got=(\d+)(?: late=(\d+))? pal=(\d+) ok=(\d+) phase=(\d+) hv=(\d+) "
    r"(?:own=(\d+) merged=(\d+) e=([0-9a-f]+),([0-9a-f]+),([0-9a-f]+) )?"
    r"w=(\d+) rip=([0-9a-f]+) w2=(\d+) rip2=([0-9a-f]+)(?: w3=(\d+) rip3=([0-9a-f]+))?$")
# Basic VM-exit reasons (SDM Vol. 3C Appendix C) the named paths select by.
EXIT_NMI_WINDOW = 8
NO_EXIT = 0xff
_END = re.compile(r"^SWEEP-END: rounds=(\d+) .* end=(\w+)$")
_INSN = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
_FUNC = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
_JUMP = re.compile(r"^(j[a-z]+|loop\w*)\s+([0-9a-f]+)\b")
_ENDS_BLOCK = re.compile(r"^(j[a-z]+|ret[a-z]*|iret[a-z]*|ud2|hlt|vmresume|vmlaunch)\b")


class Round:
    """One SWEEP line. lands: (where, rip, exit reason) of the first NMIs recorded."""
    __slots__ = ("r", "k", "sent", "got", "late", "pal", "ok", "phase", "hv", "own", "merged",
                 "lands")

    def __init__(self, m):
        (self.r, self.k, self.sent, self.got, self.late, self.pal, self.ok, self.phase,
         self.hv, self.own, self.merged) = (int(m.group(i) or 0) for i in range(1, 12))
        reasons = [int(m.group(i), 16) if m.group(i) else NO_EXIT for i in (12, 13, 14)]
        self.lands = []
        for i, (gw, gr) in enumerate(((15, 16), (17, 18), (19, 20))):
            if i < self.hv and m.group(gw):
                self.lands.append((int(m.group(gw)), int(m.group(gr), 16), reasons[i]))

    def outcomes(self):
        """Bad outcomes. The guest got + merged must be sent + own: an NMI the
        hypervisor merged into one already pending (the CPU or its PAL held
        one) is what the hardware does, not a loss; merges are counted apart."""
        bad = []
        want = self.sent + self.own
        if self.sent == 0:
            bad.append("not-sent")
        if self.got + self.merged < want and not self.cpu_merged():
            bad.append("lost")
        if self.late:
            bad.append("held-to-next-exit")
        if self.got + self.merged > want:
            bad.append("doubled")
        if self.pal:
            bad.append("in-PAL")
        if not self.ok:
            bad.append("wrong")
        if self.hv != want and not self.cpu_merged():
            bad.append("unrecorded")
        return bad

    def cpu_merged(self):
        """Two NMIs reached the CPU before it could take the first (the guest's
        own self-NMI and the sender's at the same boundary): the CPU latches
        one (SDM Vol. 3A 6.7.1), so the hypervisor never saw the other. Not a
        loss: everything the hypervisor saw was delivered or merged."""
        return self.own > 0 and self.hv < self.sent + self.own and self.got + self.merged == self.hv


def parse_serial(text):
    """(rounds, how the guest ended the sweep or None)."""
    rounds, end = [], None
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m:
            rounds.append(Round(m))
            continue
        m = _END.match(line.strip())
        if m:
            end = m.group(2)
    return rounds, end


class Image:
    """The hypervisor ELF's instructions by function (objdump -d)."""

    def __init__(self, elf):
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", elf], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        self.func_of = {}  # instruction address -> function
        self.text = {}  # instruction address -> disassembly
        self.funcs = collections.OrderedDict()  # function -> [addresses]
        func = None
        for line in out.splitlines():
            m = _FUNC.match(line)
            if m:
                func = m.group(2)
                self.funcs.setdefault(func, [])
                continue
            m = _INSN.match(line)
            if m and func and m.group(2).strip() and not m.group(2).startswith("("):
                a = int(m.group(1), 16)
                self.func_of[a] = func
                self.text[a] = m.group(2).strip()
                self.funcs[func].append(a)

    def blocks(self, func):
        """Basic blocks of func: lists of addresses (calls do not end a block)."""
        addrs = self.funcs[func]
        leaders = {addrs[0]} if addrs else set()
        for i, a in enumerate(addrs):
            t = self.text[a]
            m = _JUMP.match(t)
            if m and int(m.group(2), 16) in self.func_of and self.func_of[int(m.group(2), 16)] == func:
                leaders.add(int(m.group(2), 16))
            if _ENDS_BLOCK.match(t) and i + 1 < len(addrs):
                leaders.add(addrs[i + 1])
        blocks, cur = [], []
        for a in addrs:
            if a in leaders and cur:
                blocks.append(cur)
                cur = []
            cur.append(a)
        if cur:
            blocks.append(cur)
        return blocks


def coverage(image, rips):
    """{function: (hit, total, hit blocks' instructions, missed in hit blocks)} for the
    functions the RIPs fall in; RIPs that are no instruction start are returned apart."""
    per = collections.OrderedDict()
    stray = sorted(r for r in rips if r not in image.func_of)
    funcs = sorted({image.func_of[r] for r in rips if r in image.func_of},
                   key=lambda f: image.funcs[f][0])
    for f in funcs:
        addrs = image.funcs[f]
        hit = [a for a in addrs if a in rips]
        in_blocks, missed = 0, []
        for b in image.blocks(f):
            if any(a in rips for a in b):
                in_blocks += len(b)
                missed.extend(a for a in b if a not in rips)
        per[f] = (len(hit), len(addrs), in_blocks, missed)
    return per, stray


# The initiator's side of a quiesce round (libquiesce/quiesce.c and
# quiesce_platform.c, as the image names them after inlining): quiesce_run to
# its return, the function run while the others are parked included. The
# responder's side (quiesce_handle_nmi, park, quiesce_poll) runs on the other
# CPUs, which the sweep's NMIs do not target.
QUIESCE_FUNCS = ("quiesce_run", "quiesce_begin", "quiesce_end", "post_requests", "send_nmi",
                 "wait_for_ack", "platform_send_nmi", "platform_relax", "nothing", "empty_round",
                 "lapic_send_nmi", "lapic_wait_icr_idle", "lapic_is_enabled", "smp_apic_id")


def _quiesce_func(f):
    return f in QUIESCE_FUNCS


# Named paths (issue 16): which landings belong to them.
#   nmi-window: root-mode landings while the CPU handled an NMI-window exit (the
#     exit's basic reason, read from the VMCS by the recorder): from the exit stub
#     to the VM entry that injects the NMI, the app's guest_may_take_nmi included.
#   quiesce: root-mode landings in the initiator's functions (QUIESCE_FUNCS).
NAMED = {
    "nmi-window": lambda image, rip, reason: reason == EXIT_NMI_WINDOW,
    "quiesce": lambda image, rip, reason: _quiesce_func(image.func_of.get(rip, "")),
}
NAMED_FUNCS = {"quiesce": QUIESCE_FUNCS}
# The named paths each sweep reports beside its own landings.
SUBPATHS = {"nmi-window": ("nmi-window",), "quiesce": ("quiesce",),
            "pal-register": ("quiesce",)}


def describe(image, where, rip):
    if where != 3:
        return "%s rip %x" % (WHERE.get(where, "nowhere"), rip)
    f = image.func_of.get(rip)
    if f is None:
        return "hypervisor %x (no instruction start)" % rip
    return "hypervisor %s+0x%x (%x: %s)" % (f, rip - image.funcs[f][0], rip, image.text[rip])


def report_named(name, image, rips, out, missed=False):
    """A named path's figures: hit over the instructions of the blocks hit (the
    executed boundaries, as for the whole sweep) and over its functions' whole
    symbol ranges. Returns (hit, executed, symbol-range total)."""
    per, _ = coverage(image, rips)
    hit = sum(v[0] for v in per.values())
    total = sum(v[1] for v in per.values())
    blocks = sum(v[2] for v in per.values())
    w = out.write
    w("sweep: named path %s: %d functions; executed boundaries %d/%d = %.1f%%; "
      "their symbol ranges %d/%d = %.1f%%\n" % (
          name, len(per), hit, blocks, 100.0 * hit / blocks if blocks else 0.0, hit, total,
          100.0 * hit / total if total else 0.0))
    for f, (h, t, b, miss) in per.items():
        w("sweep:   [%s] %-27s %4d/%-4d of its blocks, %4d/%-4d of the function\n" % (
            name, f, h, b, h, t))
        if missed:
            for a in miss:
                w("sweep:     missed %x  %s\n" % (a, image.text[a]))
    # The path's own functions no NMI met at all (not in the figures above).
    never = [(f, len(image.funcs[f])) for f in NAMED_FUNCS.get(name, ())
             if f in image.funcs and f not in per]
    if never:
        w("sweep:   [%s] functions never met: %s\n" % (
            name, ", ".join("%s (%d instructions)" % fn for fn in never)))
    return hit, blocks, total


def report(rounds, end, image, out, missed=False, status="poweroff", args_max_bad=20,
           path=None, window=False):
    """Prints the summary; returns the number of bad outcomes (a failed run counts)."""
    lands = collections.Counter()
    host = set()
    named = {n: set() for n in SUBPATHS.get(path, ())}
    bad = collections.Counter()
    merged = cpu_merged = 0
    for rd in rounds:
        for where, rip, reason in rd.lands:
            lands[WHERE.get(where, "none")] += 1
            if where == 3:
                host.add(rip)
                for n in named:
                    if NAMED[n](image, rip, reason):
                        named[n].add(rip)
        for b in rd.outcomes():
            bad[b] += 1
        merged += rd.merged
        cpu_merged += rd.cpu_merged()
    per, stray = coverage(image, host)
    hit = sum(v[0] for v in per.values())
    total = sum(v[1] for v in per.values())
    blocks = sum(v[2] for v in per.values())
    ks = [rd.k for rd in rounds]
    w = out.write
    w("sweep: rounds %d (delays %s..%s), end: %s\n" % (
        len(rounds), min(ks) if ks else "-", max(ks) if ks else "-", end or "none (run cut short)"))
    w("sweep: NMIs landed: %s\n" % ", ".join("%s %d" % kv for kv in sorted(lands.items())))
    w("sweep: distinct hypervisor instructions hit: %d in %d functions%s\n" % (
        hit, len(per), ", %d RIPs not at an instruction start" % len(stray) if stray else ""))
    w("sweep: path = the functions hit: %d instructions, coverage %d/%d = %.1f%%\n" % (
        total, hit, total, 100.0 * hit / total if total else 0.0))
    w("sweep: path = the basic blocks hit: %d instructions, coverage %d/%d = %.1f%%\n" % (
        blocks, hit, blocks, 100.0 * hit / blocks if blocks else 0.0))
    for f, (h, t, b, miss) in per.items():
        w("sweep:   %-32s %4d/%-4d of the function, %4d/%-4d of its blocks hit\n" % (f, h, t, h, b))
        if missed and not named:
            for a in miss:
                w("sweep:     missed %x  %s\n" % (a, image.text[a]))
    for n, rips in named.items():
        report_named(n, image, rips, out, missed=missed)
    shown = 0
    for rd in rounds:
        b = rd.outcomes()
        if b and shown < args_max_bad:
            shown += 1
            where = ", ".join(describe(image, wh, rip) for wh, rip, _ in rd.lands)
            w("sweep: bad round r=%d k=%d: %s; landed: %s\n" % (rd.r, rd.k, " ".join(b), where))
    names = ("lost", "held-to-next-exit", "doubled", "in-PAL", "wrong", "unrecorded",
             "not-sent")
    w("sweep: outcomes: %s, run %s\n" % (", ".join("%s %d" % (n, bad[n]) for n in names), status))
    w("sweep: merged (sent while one was pending and the CPU or its PAL held NMIs): %d; "
      "rounds where the CPU itself merged two NMIs that met at one boundary: %d\n"
      % (merged, cpu_merged))
    # A sweep that stopped before the arrival point passed the operation's end
    # (too few --rounds) has not covered the path: that fails too, unless only
    # a window of delays was asked for (--window).
    return sum(bad.values()) + (status != "poweroff") + (end != "passed" and not window)


def build(app):
    labels = ["//apps/%s:iso" % app, "//apps/%s:hv.elf" % app, "//guest:testguest.elf"]
    out = bazel.build(labels, quiet=True, flags=FLAGS)
    iso = [p for p in out[labels[0]] if p.endswith(".iso")][0]
    return iso, out[labels[1]][0], out[labels[2]][0]


def cmdline(path, rounds, first, step, passes, nmis=1, gap=64, pit=False, busy=False,
            event="nmi"):
    return ("sweep=%s sweep_rounds=%d sweep_first=%d sweep_step=%d sweep_passes=%d "
            "sweep_nmis=%d sweep_gap=%d sweep_pit=%d sweep_busy=%d sweep_event=%s" % (
                path, rounds, first, step, passes, nmis, gap, pit or 0, 1 if busy else 0, event))


def _boot(args, app, path, iso, guest, first, log):
    """One boot of the sweep from delay `first`: (serial + port 0xE9 text, status)."""
    disk = os.path.join(bazel.ROOT, "out", "sweep-%s-%d.img" % (path, os.getpid()))
    try:
        disklib.make_disk(guest, disk, cmdline=cmdline(path, args.rounds, first, args.step,
                                                       args.passes, args.nmis, args.gap,
                                                       args.pit, args.busy, args.event))
        t0 = time.time()
        res = runlib.run_image(app, iso, disk, cpus=args.cpus, timeout=args.timeout, log=log,
                               quiet=True, port_e9=True, quantum=args.quantum)
    finally:
        if os.path.exists(disk):
            os.unlink(disk)
    # The SWEEP lines come through port 0xE9 (the emulator's output), the rest
    # through the UART; both are kept for --serial.
    with open(log + ".e9", "w") as f:
        f.write(res.emulator_output)
    # Bochs logs every port 0xE9 byte as an unmapped write (~6 KB a round): keep
    # its log only when the run failed.
    if res.status == "poweroff" and res.emulator_log and os.path.exists(res.emulator_log):
        os.unlink(res.emulator_log)
    print("hv sweep: %s, path %s, %d CPUs: %s after %.1f s wall, %s ticks; serial log %s"
          % (app, path, args.cpus, res.status, time.time() - t0, res.ticks, os.path.relpath(log)))
    return res.serial + res.emulator_output, res.status


def main(args):
    app = args.app
    path = args.path or DEFAULT_PATH[app]
    if path.startswith("pal-") and app != "trustvisor":
        print("hv sweep: --path %s needs --app trustvisor (passthrough has no PALs; "
              "its path is vmcall)" % path, file=sys.stderr)
        return 2
    if args.event == "init" and (path != "pal-call" or app != "trustvisor"):
        print("hv sweep: --event init is the INIT variant of --app trustvisor --path pal-call "
              "(an INIT while CPU 1 calls a PAL)", file=sys.stderr)
        return 2
    try:
        iso, elf, guest = build(app)
    except bazel.BuildError as e:
        print("hv sweep: %s" % e, file=sys.stderr)
        return 1
    image = Image(elf)
    if args.serial:
        # Several logs (of the same build): their rounds together, e.g. runs with
        # other --pit counts or --busy.
        text = ""
        for log in args.serial:
            for p in (log, log + ".e9"):
                if os.path.exists(p):
                    with open(p) as f:
                        text += f.read() + "\n"
        status = "poweroff"
    else:
        os.makedirs(os.path.join(bazel.ROOT, "out"), exist_ok=True)
        log = args.log or os.path.join(bazel.ROOT, "out", "sweep-%s-%s.serial" % (app, path))
        text, first = "", args.first
        for b in range(args.boots if args.event == "init" else 1):
            # --boots (INIT): each boot goes on from the delay after the one that
            # lost CPU 1 in the boot before (Bochs 2.7: one INIT takes effect a boot).
            blog = log if b == 0 else "%s.%d" % (log, b + 1)
            try:
                btext, status = _boot(args, app, path, iso, guest, first, blog)
            except (runlib.RunError, disklib.DiskError) as e:
                print("hv sweep: %s" % e, file=sys.stderr)
                return 2
            text += btext + "\n"
            done = sweep_init.parse(btext)[0] if args.event == "init" else []
            if status != "poweroff" or not done or done[-1].cpu1 != 0:
                break
            first = done[-1].k + args.step
    guest_failed = False
    for line in text.splitlines():
        if line.startswith("TESTGUEST: FAIL") or line.startswith("TESTGUEST: SKIP"):
            print("hv sweep: guest: %s" % line)
            guest_failed = True
    if args.event == "init":
        rounds, end, ended = sweep_init.parse(text)
        bad = sweep_init.report(rounds, end, ended, sys.stdout, status=status,
                                window=args.window) + guest_failed
        if not rounds:
            print("hv sweep: no SWEEP-INIT lines in the serial log", file=sys.stderr)
            return 1
        return 1 if bad else 0
    rounds, end = parse_serial(text)
    bad = report(rounds, end, image, sys.stdout, missed=args.missed, status=status, path=path,
                 window=args.window)
    # The guest's own verdict counts too (it checks what the lines show).
    bad += guest_failed
    if not rounds:
        print("hv sweep: no SWEEP lines in the serial log", file=sys.stderr)
        return 1
    return 1 if bad else 0
