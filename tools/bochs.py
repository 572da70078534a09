"""Bochs as the emulator of `./hv run`: the bochsrc, the command, and reading its log.

Debian 12's Bochs 2.7 is what CI runs; another build (e.g. upstream 3.0.devel) is
used when HV_BOCHS names it (`./hv run --bochs PATH` and `./hv compare --bochs
PATH` set it). The version is read once from its banner (version()): Bochs 3.x
runs its debugger loop only with -dbg, and logs port writes without 2.7's
"unmapped: " prefix; both are handled here, so the rest of the tools see one
Bochs.

Facts (docs/design.md section 5, checked again here): Bochs is built with its debugger,
so it needs `-rc FILE` holding "c" lines then "quit"; writing "Shutdown" to port
0x8900 makes it log a ">>PANIC<< Shutdown port: shutdown requested" and, with
`panic: action=fatal`, exit with status 1 - so the log, not the exit status, says
whether the machine powered off. Every log line starts with the system tick count
(one tick = one instruction per CPU at the configured ips), which makes the run's
length repeatable: that count is what `./hv run` reports as ticks.
"""

import os
import re
import string
import subprocess
import sys

from tools import disk as disklib

IPS = 200000000
BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGABIOS = "/usr/share/vgabios/vgabios.bin"
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", "bochsrc.in")
# One "c" per stop of the debugger: it stops at t=0 and again at every CPU reset.
CONTINUES = 16

_TICK = re.compile(rb"^(\d+)[a-z]\[")
# 2.7: "unmapped: 8-bit write to 00f4 = 2a"; 3.x drops the "unmapped: ".
_PORT_F4 = re.compile(rb"(?:unmapped: )?\d+-bit write to 00f4 = ([0-9a-fA-F]+)")
_BANNER = re.compile(r"Bochs x86 Emulator (\d+)\.(\d+)(\S*)")
_version = {}


def binary():
    """The Bochs to run: $HV_BOCHS, else Debian's bochs-bin."""
    return os.environ.get("HV_BOCHS") or "bochs-bin"


def parse_banner(text):
    """(major, minor, 'M.m[suffix]') from Bochs's start-up banner, or None."""
    m = _BANNER.search(text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), "%s.%s%s" % m.groups()


def version():
    """(major, minor, text) of binary(), read once from its banner (a configless start
    that stops at once); (2, 7, '2.7?') if it cannot be read."""
    exe = binary()
    if exe not in _version:
        try:
            r = subprocess.run([exe, "-n", "display_library: nogui", "megs: 4"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=20)
            found = parse_banner(r.stdout.decode("utf-8", "replace"))
        except (OSError, subprocess.TimeoutExpired):
            found = None
        if found is None:
            # Said once: a 3.x taken for 2.7 runs without -dbg, so a triple fault
            # would go unseen (see command()).
            print("hv: cannot read the version of Bochs %r from its banner; assuming 2.7 "
                  "(no -dbg)" % exe, file=sys.stderr, flush=True)
        _version[exe] = found or (2, 7, "2.7?")
    return _version[exe]


def command(rc_path, cmds, major=None):
    """The argv of a run: 3.x needs -dbg for the debugger loop the tools rely on
    (triple faults stop it, ticks stay one instruction per CPU)."""
    major = version()[0] if major is None else major
    return [binary()] + (["-dbg"] if major >= 3 else []) + ["-q", "-f", rc_path, "-rc", cmds]
_SHUTDOWN = b"Shutdown port: shutdown requested"
# An OS's ACPI power-off (SLP_EN with S5 in PM1a control): Bochs's ACPI device
# logs this panic and, with `panic: action=fatal`, exits. A power-off like any other.
_ACPI_OFF = b"ACPI control: soft power off"


def _check_path(path, what):
    # The bochsrc parser splits on commas and spaces; refuse rather than misparse.
    if any(c in path for c in " ,\t\n\"'"):
        raise ValueError("%s path %r contains a space, comma or quote, which bochsrc cannot take" % (what, path))


def prepare(workdir, disk, iso, cpus, mem, strict_msrs=False, debugger_script=None,
            port_e9=False, quantum=None):
    """Write bochsrc and the rc file; return (argv, serial path, log path).

    debugger_script: debugger commands instead of the default ("c" at every
    stop, then "quit"); the debugger stops at power-on, at every machine reset
    and, with it, at every magic breakpoint (`xchg %bx, %bx`, enabled then).
    "quit" is appended.
    port_e9: bytes the guest writes to port 0xE9 go to Bochs's standard output at
    once, at no simulated cost (the UART takes ~87 us of simulated time per byte):
    the NMI sweep's per-round lines (tools/sweep.py). quantum: instructions a CPU
    runs before Bochs switches to the next (Bochs's default: 16).
    """
    cylinders = disklib.cylinders_of(disk)
    if cylinders is None:
        raise ValueError("disk %s is not a whole number of 516096-byte cylinders" % disk)
    serial = os.path.join(workdir, "serial.txt")
    log = os.path.join(workdir, "bochs.log")
    for p, what in ((disk, "disk"), (serial, "serial"), (log, "log")) + (((iso, "image"),) if iso else ()):
        _check_path(p, what)
    # The hypervisor's disc on the primary channel: the Bochs BIOS then finds both of its
    # devices (on ata1-master it waited ~3.4M ticks for a missing ata1-slave: "IDE time
    # out"). Bare runs have no CD drive; their BIOS still waits for the missing ata0-slave.
    cdrom = "ata0-slave: type=cdrom, path=%s, status=inserted" % iso if iso else "# no cdrom: bare run"
    with open(TEMPLATE) as f:
        text = string.Template(f.read()).substitute(
            bios=BIOS,
            vgabios=VGABIOS,
            megs=mem,
            cpus=cpus,
            ips=IPS,
            # Bochs reads unimplemented MSRs as 0 by default; strict makes them #GP as on
            # hardware, but Linux 6.1 then triple-faults (RDMSR 0x1a0 early in boot).
            cpu_extra=(", ignore_bad_msrs=0" if strict_msrs else "")
            + (", quantum=%d" % quantum if quantum else ""),
            disk=disk,
            cylinders=cylinders,
            cdrom=cdrom,
            boot="cdrom, disk" if iso else "disk",
            serial=serial,
            log=log,
            magic_break="magic_break: enabled=1" if debugger_script else "# no magic breakpoints",
            extra="port_e9_hack: enabled=1" if port_e9 else "",
        )
    rc_path = os.path.join(workdir, "bochsrc")
    with open(rc_path, "w") as f:
        f.write(text)
    cmds = os.path.join(workdir, "debugger.rc")
    with open(cmds, "w") as f:
        if debugger_script:
            f.write("".join(cmd + "\n" for cmd in debugger_script) + "quit\n")
        else:
            f.write("c\n" * CONTINUES + "quit\n")
    return command(rc_path, cmds), serial, log


def read_log(log):
    """(powered_off, exit code written to port 0xf4 or None, ticks or None)."""
    powered_off = False
    code = None
    ticks = None
    try:
        with open(log, "rb") as f:
            for line in f:
                m = _TICK.match(line)
                if m:
                    t = int(m.group(1))
                    if ticks is None or t > ticks:
                        ticks = t
                if _SHUTDOWN in line or _ACPI_OFF in line:
                    powered_off = True
                m = _PORT_F4.search(line)
                if m:
                    code = int(m.group(1), 16)
    except OSError:
        pass
    return powered_off, code, ticks


def reset_reason(log):
    """The Bochs log line explaining a CPU reset (e.g. a triple fault), or None."""
    try:
        with open(log, "rb") as f:
            for line in f:
                if b"resetting" in line or b"triple fault" in line.lower():
                    return line.decode("utf-8", "replace").strip()
    except OSError:
        pass
    return None


def log_tail(log, lines=30):
    try:
        with open(log, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no Bochs log)"
    return "\n".join(data.splitlines()[-lines:])


_XP_LINE = re.compile(r"^0x([0-9a-fA-F]+) <[^>]*>:\s*((?:0x[0-9a-fA-F]{2}\s*)+)$")


def parse_xp_bytes(text):
    """{physical address: byte} from the debugger's `xp /Nbx ADDR` output."""
    mem = {}
    for line in text.splitlines():
        m = _XP_LINE.match(line.strip())
        if not m:
            continue
        addr = int(m.group(1), 16)
        for i, b in enumerate(m.group(2).split()):
            mem[addr + i] = int(b, 16)
    return mem


def simulated_seconds(ticks):
    return ticks / IPS if ticks is not None else None
