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

from tools import bazel, disk as disklib, run as runlib

PATHS = ("pal-call", "pal-register", "pal-unregister", "vmcall")
DEFAULT_PATH = {"trustvisor": "pal-call", "passthrough": "vmcall"}
FLAGS = ("--config=nmi_sweep",)
WHERE = {1: "guest", 2: "held", 3: "hypervisor"}

_LINE = re.compile(
    r"^SWEEP: r=(\d+) k=(\d+) sent=(\d+) got=(\d+)(?: late=(\d+))? pal=(\d+) ok=(\d+) phase=(\d+) hv=(\d+) "
    r"w=(\d+) rip=([0-9a-f]+) w2=(\d+) rip2=([0-9a-f]+)$")
_END = re.compile(r"^SWEEP-END: rounds=(\d+) .* end=(\w+)$")
_INSN = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
_FUNC = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
_JUMP = re.compile(r"^(j[a-z]+|loop\w*)\s+([0-9a-f]+)\b")
_ENDS_BLOCK = re.compile(r"^(j[a-z]+|ret[a-z]*|iret[a-z]*|ud2|hlt|vmresume|vmlaunch)\b")


class Round:
    __slots__ = ("r", "k", "sent", "got", "late", "pal", "ok", "phase", "hv", "lands")

    def __init__(self, m):
        (self.r, self.k, self.sent, self.got, self.late, self.pal, self.ok, self.phase,
         self.hv) = (int(m.group(i) or 0) for i in range(1, 10))
        self.lands = [(int(m.group(10)), int(m.group(11), 16))]
        if self.hv > 1:
            self.lands.append((int(m.group(12)), int(m.group(13), 16)))

    def outcomes(self):
        bad = []
        if self.sent == 0:
            bad.append("not-sent")
        if self.got < self.sent:
            bad.append("lost")
        if self.late:
            bad.append("held-to-next-exit")
        if self.got > self.sent:
            bad.append("doubled")
        if self.pal:
            bad.append("in-PAL")
        if not self.ok:
            bad.append("wrong")
        if self.hv != self.sent:
            bad.append("unrecorded")
        return bad


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


def describe(image, where, rip):
    if where != 3:
        return "%s rip %x" % (WHERE.get(where, "nowhere"), rip)
    f = image.func_of.get(rip)
    if f is None:
        return "hypervisor %x (no instruction start)" % rip
    return "hypervisor %s+0x%x (%x: %s)" % (f, rip - image.funcs[f][0], rip, image.text[rip])


def report(rounds, end, image, out, missed=False, status="poweroff", args_max_bad=20):
    """Prints the summary; returns the number of bad outcomes (a failed run counts)."""
    lands = collections.Counter()
    host = set()
    bad = collections.Counter()
    for rd in rounds:
        for where, rip in rd.lands:
            lands[WHERE.get(where, "none")] += 1
            if where == 3:
                host.add(rip)
        for b in rd.outcomes():
            bad[b] += 1
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
        if missed:
            for a in miss:
                w("sweep:     missed %x  %s\n" % (a, image.text[a]))
    shown = 0
    for rd in rounds:
        b = rd.outcomes()
        if b and shown < args_max_bad:
            shown += 1
            where = ", ".join(describe(image, wh, rip) for wh, rip in rd.lands)
            w("sweep: bad round r=%d k=%d: %s; landed: %s\n" % (rd.r, rd.k, " ".join(b), where))
    names = ("lost", "held-to-next-exit", "doubled", "in-PAL", "wrong", "unrecorded",
             "not-sent")
    w("sweep: outcomes: %s, run %s\n" % (", ".join("%s %d" % (n, bad[n]) for n in names), status))
    # A sweep that stopped before the arrival point passed the operation's end
    # (too few --rounds) has not covered the path: that fails too.
    return sum(bad.values()) + (status != "poweroff") + (end != "passed")


def build(app):
    labels = ["//apps/%s:iso" % app, "//apps/%s:hv.elf" % app, "//guest:testguest.elf"]
    out = bazel.build(labels, quiet=True, flags=FLAGS)
    iso = [p for p in out[labels[0]] if p.endswith(".iso")][0]
    return iso, out[labels[1]][0], out[labels[2]][0]


def cmdline(path, rounds, first, step, passes):
    return "sweep=%s sweep_rounds=%d sweep_first=%d sweep_step=%d sweep_passes=%d" % (
        path, rounds, first, step, passes)


def main(args):
    app = args.app
    path = args.path or DEFAULT_PATH[app]
    if path.startswith("pal-") and app != "trustvisor":
        print("hv sweep: --path %s needs --app trustvisor (passthrough has no PALs; "
              "its path is vmcall)" % path, file=sys.stderr)
        return 2
    try:
        iso, elf, guest = build(app)
    except bazel.BuildError as e:
        print("hv sweep: %s" % e, file=sys.stderr)
        return 1
    image = Image(elf)
    if args.serial:
        text = ""
        for p in (args.serial, args.serial + ".e9"):
            if os.path.exists(p):
                with open(p) as f:
                    text += f.read()
        status = "poweroff"
    else:
        os.makedirs(os.path.join(bazel.ROOT, "out"), exist_ok=True)
        disk = os.path.join(bazel.ROOT, "out", "sweep-%s-%d.img" % (path, os.getpid()))
        log = args.log or os.path.join(bazel.ROOT, "out", "sweep-%s-%s.serial" % (app, path))
        try:
            disklib.make_disk(guest, disk, cmdline=cmdline(path, args.rounds, args.first,
                                                           args.step, args.passes))
            t0 = time.time()
            res = runlib.run_image(app, iso, disk, cpus=args.cpus, timeout=args.timeout,
                                   log=log, quiet=True, port_e9=True,
                                   quantum=args.quantum)
        except (runlib.RunError, disklib.DiskError) as e:
            print("hv sweep: %s" % e, file=sys.stderr)
            return 2
        finally:
            if os.path.exists(disk):
                os.unlink(disk)
        # The SWEEP lines come through port 0xE9 (the emulator's output), the rest
        # through the UART; both are kept for --serial.
        with open(log + ".e9", "w") as f:
            f.write(res.emulator_output)
        text, status, secs, ticks = res.serial + res.emulator_output, res.status, time.time() - t0, res.ticks
        # Bochs logs every port 0xE9 byte as an unmapped write (~6 KB a round): keep
        # its log only when the run failed.
        if status == "poweroff" and res.emulator_log and os.path.exists(res.emulator_log):
            os.unlink(res.emulator_log)
        print("hv sweep: %s, path %s, %d CPUs: %s after %.1f s wall, %s ticks; serial log %s"
              % (app, path, args.cpus, status, secs, ticks, os.path.relpath(log)))
    rounds, end = parse_serial(text)
    for line in text.splitlines():
        if line.startswith("TESTGUEST: FAIL") or line.startswith("TESTGUEST: SKIP"):
            print("hv sweep: guest: %s" % line)
    bad = report(rounds, end, image, sys.stdout, missed=args.missed, status=status)
    if not rounds:
        print("hv sweep: no SWEEP lines in the serial log", file=sys.stderr)
        return 1
    return 1 if bad else 0
