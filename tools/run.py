"""`./hv run`: boot an image in Bochs or QEMU, stream its serial console, decide the end state.

End states and exit codes (the boot tests use the same code path through run()):
  poweroff  the machine powered off (Bochs: "Shutdown" on port 0x8900 or an ACPI
            soft power-off; QEMU: isa-debug-exit or a clean exit):
              the guest wrote 0 to port 0xf4, or nothing                       -> 0
              the hypervisor powered off with its own nonzero code
              (rt/power.h: no VT-x, no bootable guest, guest stopped, ...)     -> 7
              the guest wrote N != 0 to port 0xf4 (its failure code)     -> 16 + N
                                                         (N > 239 gives 255)
  panic     a serial line contained "PANIC": the emulator is killed after a
            short grace period that lets the register dump reach the log      -> 3
  timeout   no end within --timeout seconds of wall time: killed             -> 4
  error     the emulator failed or exited without powering off              -> 5
  scripted  (boot tests only) Bochs ran a debugger script to its end: resets
            and magic breakpoints are the script's business, not errors      -> 6
Bad arguments exit 2 before anything boots. The guest's code is offset by 16 so
that no guest code reads as one of hv's own outcomes.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from tools import bochs, checks, deps, disk as disklib, qemu

EXIT_CODES = {"poweroff": 0, "panic": 3, "timeout": 4, "error": 5, "scripted": 6}
EXIT_HV_REFUSED = 7  # powered off by the hypervisor with one of its own nonzero codes
EXIT_GUEST_BASE = 16  # + the guest's nonzero port-0xf4 code
# The hypervisor's own codes (rt/power.h, enum hv_power_code), for the messages.
HV_POWER_CODES = {2: "the machine cannot run the hypervisor (no VT-x)",
                  3: "the guest disk has no boot signature",
                  4: "the guest did something with no hardware answer and was stopped",
                  5: "the guest triple-faulted",
                  6: "the guest's reset request was ignored by the hardware"}
HV_MIN_MEM = 256  # the hypervisor region is 192..208 MiB and the guest needs RAM around it
PANIC_GRACE = 2.0  # seconds to keep reading serial after "PANIC" (register dump)
PANIC_QUIET = 0.5  # ... or until it has been quiet this long
POLL = 0.05

_SERIAL_CODE = re.compile(r"power off \(code (\d+)")
_HV_POWER_OFF = re.compile(r"^hv: power off \(code (\d+)\)", re.M)
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78cDEHM])")


def clean_serial(raw):
    """Serial bytes as text: ANSI escapes (GRUB's screen control) and CRs removed."""
    text = raw.decode("utf-8", "replace")
    return _ANSI.sub("", text).replace("\r", "")


def _is_iso9660(path):
    # The primary volume descriptor sits in sector 16 (ECMA-119 section 8.4).
    try:
        with open(path, "rb") as f:
            f.seek(16 * 2048 + 1)
            return f.read(5) == b"CD001"
    except OSError:
        return False


class RunError(Exception):
    """A run that could not be started (bad arguments, missing files): exit 2-like."""


class Result:
    def __init__(self, app, emulator):
        self.app = app
        self.emulator = emulator
        self.status = "error"
        self.serial = ""
        self.seconds = 0.0
        self.ticks = None
        self.code = None  # value written to port 0xf4, if any
        self.detail = ""  # what went wrong, for status error
        self.emulator_log = ""  # path of the emulator's log (copied next to --log)
        self.emulator_log_tail = ""
        self.emulator_output = ""  # the emulator's stdout (Bochs: what its debugger printed,
        # and port 0xE9 bytes with port_e9)
        self.workdir = None
        self.accel = ""

    @property
    def hv_code(self):
        """The code of the hypervisor's own "hv: power off (code N)" line, or None."""
        m = _HV_POWER_OFF.findall(self.serial)
        return int(m[-1]) if m else None

    @property
    def exit_code(self):
        if self.status == "poweroff":
            if self.hv_code:
                return EXIT_HV_REFUSED
            if self.code:
                return min(EXIT_GUEST_BASE + self.code, 255)
        return EXIT_CODES[self.status]

    @property
    def simulated_seconds(self):
        if self.emulator == "bochs":
            return bochs.simulated_seconds(self.ticks)
        return None

    def summary(self):
        ticks = str(self.ticks) if self.ticks is not None else "n/a"
        return "hv run: %s on %s: %s after %.1f s, %s ticks" % (
            self.app, self.emulator, self.status, self.seconds, ticks)

    def __repr__(self):
        return "<Result %s>" % self.summary()


_LIVE = set()  # emulator processes running now (kill_running)
_LIVE_LOCK = threading.Lock()


def kill_running():
    """Kill every emulator a run of this process has going (Ctrl-C in ./hv compare):
    each of those runs then ends as an error and returns."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _die_with_parent():
    """preexec_fn: the emulator gets SIGKILL when ./hv dies, however it dies (prctl(2))."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


_BOCHS_AT = re.compile(rb"Next at t=(\d+)")


def _stop_bochs(proc, stdout_path):
    """Stop a running Bochs; return its tick count at the stop, or None.

    Ctrl-C makes the Bochs debugger break in and print "Next at t=N" (then it takes
    the next "c" from the rc file and runs on), so: SIGINT, wait for that line, kill.
    """
    def breaks():
        try:
            with open(stdout_path, "rb") as f:
                return _BOCHS_AT.findall(f.read())
        except OSError:
            return []

    before = len(breaks())
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except (ProcessLookupError, PermissionError):
        return None
    deadline = time.monotonic() + 2.0
    ticks = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = breaks()
        if len(found) > before:
            ticks = int(found[-1])
            break
        time.sleep(POLL)
    _kill(proc)
    return ticks


class _SerialTail:
    """Reads the serial file as it grows; yields complete cleaned lines."""

    def __init__(self, path, out, sink=None):
        self.path = path
        self.sink = sink  # --log: the serial log, written as the run goes (tail -f works)
        self.raw = bytearray()
        self.pos = 0
        self.partial = b""
        self.out = out
        self.last_growth = time.monotonic()

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return []
        if not data:
            return []
        self.pos += len(data)
        self.raw += data
        self.last_growth = time.monotonic()
        buf = self.partial + data
        *lines, self.partial = buf.split(b"\n")
        text = [clean_serial(l) for l in lines]
        for stream in (self.out, self.sink):
            if stream:
                for l in text:
                    stream.write(l + "\n")
                stream.flush()
        return text

    def finish(self):
        self.poll()
        if self.partial:
            last = clean_serial(self.partial)
            for stream in (self.out, self.sink):
                if stream and last:
                    stream.write(last + "\n")
                    stream.flush()
            self.partial = b""
            return [last]
        return []

    def pending_has(self, needle):
        return needle in clean_serial(self.partial)


def run_image(app, image, disk, emulator="bochs", cpus=2, mem=256, timeout=600.0,
              log=None, quiet=False, allow_no_vmx=False, disk_writable=False, keep=False,
              out=None, strict_msrs=False, debugger_script=None, iommu=False, devices=(),
              port_e9=False, quantum=None):
    """Boot image (an .iso, or None for bare) with disk as BIOS drive 0x80.

    Returns a Result. Raises RunError for bad arguments (before anything starts).
    out: where the serial stream goes (default sys.stdout; None with quiet).
    debugger_script (Bochs only): debugger commands run at its stops (power-on,
    resets, magic breakpoints; tools/bochs.py); the run then ends "scripted"
    when Bochs quits, and Result.emulator_output holds what the debugger printed.
    """
    if emulator not in ("bochs", "qemu"):
        raise RunError("unknown emulator %r (bochs or qemu)" % emulator)
    if (iommu or devices) and emulator != "qemu":
        raise RunError("--iommu and --device need --emulator qemu (Bochs has no IOMMU)")
    if debugger_script is not None and emulator != "bochs":
        raise RunError("a debugger script needs Bochs")
    if not os.path.isfile(disk):
        raise RunError("no such disk image: %s" % disk)
    if image is not None and not os.path.isfile(image):
        raise RunError("no such image: %s" % image)
    problem = checks.cpus(cpus)
    if problem:
        raise RunError(problem)
    if image is not None and mem < HV_MIN_MEM:
        raise RunError("--mem %d is too small for a hypervisor image: it needs at least %d MB "
                       "(the hypervisor lives at 192..208 MiB)" % (mem, HV_MIN_MEM))
    if mem < 16:
        raise RunError("--mem %d is too small (at least 16 MB)" % mem)
    if image is not None and not _is_iso9660(image):
        raise RunError("%s is not an ISO 9660 image (hypervisor images come from bazel's "
                       "grub_iso rule, e.g. ./hv build)" % image)
    deps.require(emulator)
    res = Result(app, emulator)
    use_kvm = False
    if emulator == "qemu":
        kvm, nested, why = qemu.kvm_status()
        if image is None:
            use_kvm = kvm
            res.accel = "kvm" if kvm else "tcg"
        elif nested:
            use_kvm = True
            res.accel = "kvm (nested VMX)"
        elif allow_no_vmx:
            use_kvm = kvm
            res.accel = ("kvm" if kvm else "tcg") + " without VMX (--allow-no-vmx)"
        else:
            raise RunError(qemu.NO_VMX_MESSAGE + " [" + why + "]")
        print("hv run: qemu accelerator: %s (%s)" % (res.accel, why), file=sys.stderr, flush=True)

    workdir = tempfile.mkdtemp(prefix="hv-run-")
    res.workdir = workdir
    try:
        if disk_writable:
            if disklib.cylinders_of(disk) is None:
                raise RunError("%s is not padded to 516096-byte cylinders; make it with ./hv disk" % disk)
            run_disk = os.path.abspath(disk)
            if os.path.exists(run_disk + ".lock") and emulator == "bochs":
                raise RunError("%s.lock exists: another Bochs uses this disk, or one was killed "
                               "(remove the lock if no Bochs runs)" % run_disk)
        else:
            # A private copy: runs are repeatable, can share a disk, and Bochs's lock
            # file never outlives a killed run.
            run_disk = os.path.join(workdir, "disk.img")
            shutil.copyfile(disk, run_disk)
            disklib.pad_to_cylinders(run_disk)
        iso = os.path.abspath(image) if image else None
        try:
            if emulator == "bochs":
                argv, serial_path, emu_log = bochs.prepare(workdir, run_disk, iso, cpus, mem,
                                                           strict_msrs, debugger_script,
                                                           port_e9, quantum)
            else:
                argv, serial_path, emu_log = qemu.prepare(workdir, run_disk, iso, cpus, mem,
                                                          use_kvm, iommu, devices)
        except ValueError as e:
            raise RunError(str(e))
        res.emulator_log = emu_log
        stream = None if quiet else (out or sys.stdout)
        sink = None
        if log:
            os.makedirs(os.path.dirname(os.path.abspath(log)) or ".", exist_ok=True)
            sink = open(log, "w")
        try:
            _boot(res, argv, workdir, serial_path, emu_log, emulator, timeout, stream,
                  run_disk + ".lock", scripted=debugger_script is not None, sink=sink)
        except KeyboardInterrupt:
            # Ctrl-C: the emulator is dead and the serial log holds every line read.
            if sink:
                sink.close()
                sink = None
                _copy_emulator_log(res, emu_log, log, emulator)
                print("hv run: interrupted; the serial log so far is in %s" % log,
                      file=sys.stderr, flush=True)
            else:
                print("hv run: interrupted; logs and bochsrc kept in %s" % workdir,
                      file=sys.stderr, flush=True)
            raise
        finally:
            if sink:
                sink.close()
        if log:
            # Rewritten whole: the streamed copy lacks a last line cut by the kill.
            with open(log, "w") as f:
                f.write(res.serial)
            _copy_emulator_log(res, emu_log, log, emulator)
    finally:
        if keep:
            pass
        elif res.status != "poweroff" and not log and res.emulator_log.startswith(workdir):
            # A failed run without --log: keep the logs (not the disk copy) for a look.
            if not disk_writable:
                try:
                    os.unlink(os.path.join(workdir, "disk.img"))
                except OSError:
                    pass
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            res.workdir = None
    return res


def _copy_emulator_log(res, emu_log, log, emulator):
    if os.path.exists(emu_log):
        shutil.copyfile(emu_log, log + "." + emulator + ".log")
        res.emulator_log = log + "." + emulator + ".log"


def _boot(res, argv, workdir, serial_path, emu_log, emulator, timeout, stream, disk_lock,
          scripted=False, sink=None):
    stdout_path = os.path.join(workdir, "emulator.out")
    tail = _SerialTail(serial_path, stream, sink)
    start = time.monotonic()
    with open(stdout_path, "wb") as so:
        proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=so,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_die_with_parent)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    panic_at = None
    state = None
    reset_at = None
    out_size = 0
    try:
        while True:
            lines = tail.poll()
            now = time.monotonic()
            if emulator == "bochs" and panic_at is None and not scripted:
                # The debugger stops (and prints "Next at t=N") at power-on and at every
                # machine reset; INIT-SIPI-SIPI to APs does not stop it. A reset is a
                # triple fault or a reset request: never a healthy run's way to end.
                size = os.path.getsize(stdout_path)
                if size != out_size:
                    out_size = size
                    with open(stdout_path, "rb") as f:
                        stops = _BOCHS_AT.findall(f.read())
                    if len(stops) > 1:
                        reset_at = int(stops[1])
                        state = "error"
                        break
            if panic_at is None and (any("PANIC" in l for l in lines) or tail.pending_has("PANIC")):
                panic_at = now
            if panic_at is not None:
                if now - panic_at >= PANIC_GRACE or (now - tail.last_growth >= PANIC_QUIET
                                                     and now - panic_at >= PANIC_QUIET):
                    state = "panic"
                    break
            if proc.poll() is not None:
                break
            if now - start >= timeout:
                state = "timeout"
                break
            time.sleep(POLL)
    except KeyboardInterrupt:
        _kill(proc)
        tail.finish()  # the last lines reach the --log sink before the caller reports
        raise
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
        ended = time.monotonic()
        stop_ticks = None
        if proc.poll() is None:
            if emulator == "bochs" and state is not None:
                stop_ticks = _stop_bochs(proc, stdout_path)
            else:
                _kill(proc)
            if os.path.exists(disk_lock):
                os.unlink(disk_lock)  # Bochs's lock, stale now that it is killed
    res.seconds = ended - start
    tail.finish()
    res.serial = clean_serial(bytes(tail.raw))
    if panic_at is None and "PANIC" in res.serial:
        state = "panic"  # printed just before the emulator exited
    try:
        with open(stdout_path, "rb") as f:
            emu_out = f.read().decode("utf-8", "replace")
    except OSError:
        emu_out = ""
    if emulator == "bochs":
        powered_off, res.code, res.ticks = bochs.read_log(emu_log)
        if stop_ticks is not None:
            res.ticks = max(stop_ticks, res.ticks or 0)
        log_tail = bochs.log_tail(emu_log)
    else:
        with open(emu_log, "w") as f:
            f.write(emu_out)
        codes = _SERIAL_CODE.findall(res.serial)
        powered_off, res.code = qemu.classify_exit(proc.returncode, emu_out,
                                                   bool(codes) and int(codes[-1]) == 0)
        log_tail = "\n".join(emu_out.splitlines()[-30:])
    if res.code is None:
        m = _SERIAL_CODE.findall(res.serial)
        if m:
            res.code = int(m[-1])
    res.emulator_output = emu_out
    if state is None:
        if powered_off:
            state = "poweroff"
        elif scripted:
            state = "scripted"
        else:
            state = "error"
            res.detail = "%s exited with status %s without powering off" % (emulator, proc.returncode)
            m = re.search(r"exiting with the following message:\s*\n(.+)", emu_out)
            if m:
                res.detail += ": " + m.group(1).strip()
    if reset_at is not None:
        res.detail = "the machine reset at tick %d (triple fault or reset request)" % reset_at
        why = bochs.reset_reason(emu_log)
        if why:
            res.detail += ": " + why
    res.status = state
    if state == "error":
        res.emulator_log_tail = (log_tail + "\n--- emulator output ---\n"
                                 + "\n".join(emu_out.splitlines()[-15:]))
