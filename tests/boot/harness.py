"""Helpers for boot tests (tests/boot/test_*.py), run by `./hv test`.

A boot test is a function test_*() that boots something and asserts on the result:

    import harness

    def test_guest_bare():
        r = harness.run("bare", harness.testguest_disk())
        harness.assert_poweroff(r)
        harness.assert_serial_contains(r, "TESTGUEST: DONE")

run(app, disk) goes through the same code as `./hv run` (tools/run.py), never a shell.
Builds happen once per test run (cached by label), disks are cached in out/disks/ by the
content of their inputs, and each run's serial log (and emulator log) is written to
out/test-logs/<file>.<test>[.<n>].serial[.<emulator>.log].
"""

import hashlib
import os
import re
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tools import bazel, disk as disklib, run as runlib  # noqa: E402

DISK_DIR = os.path.join(ROOT, "out", "disks")
TAIL_LINES = 40

_config = {"clang": False, "log_dir": os.path.join(ROOT, "out", "test-logs")}
_built = {}
_current = {"test": None, "runs": 0}


class BootTestFailure(AssertionError):
    pass


def configure(clang=False, log_dir=None):
    _config["clang"] = clang
    if log_dir:
        _config["log_dir"] = log_dir


def begin_test(test_id):
    _current["test"] = test_id
    _current["runs"] = 0


def end_test():
    _current["test"] = None


def build(*labels):
    """Build labels (once per test run); return {label: [paths]}."""
    todo = [l for l in labels if l not in _built]
    if todo:
        _built.update(bazel.build(todo, clang=_config["clang"], quiet=True))
    return {l: _built[l] for l in labels}


def output(label, suffix=""):
    """The single output of label ending with suffix, built if needed."""
    paths = [p for p in build(label)[label] if p.endswith(suffix)]
    if len(paths) != 1:
        raise BootTestFailure("%s: expected one output ending %r, got %s" % (label, suffix, paths))
    return paths[0]


def image(app):
    """The GRUB ISO of an app (passthrough, trustvisor), or a label's .iso."""
    label = app if app.startswith("//") else bazel.app_label(app)
    return output(label, ".iso")


def _digest(paths, extra):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    h.update(repr(extra).encode())
    return h.hexdigest()[:16]


def disk(kernel, initrd=None, cmdline="", modules=(), nounzip=False):
    """A guest disk booting kernel (cached in out/disks/ by content). nounzip: GRUB
    loads the modules and initrd of a multiboot kernel as they are (tools/disk.py)."""
    inputs = [kernel] + ([initrd] if initrd else []) + list(modules)
    extra = (cmdline, [os.path.basename(m) for m in modules], bool(initrd))
    if nounzip:
        extra += ("nounzip",)
    key = _digest(inputs, extra)
    path = os.path.join(DISK_DIR, "%s-%s.img" % (os.path.basename(kernel), key))
    if not os.path.exists(path):
        os.makedirs(DISK_DIR, exist_ok=True)
        tmp = "%s.%d.tmp" % (path, os.getpid())
        disklib.make_disk(kernel, tmp, initrd=initrd, cmdline=cmdline, modules=modules,
                          nounzip=nounzip)
        os.replace(tmp, path)
    return path


def testguest_disk(cmdline=""):
    """A disk booting the project's test guest (//guest:testguest.elf)."""
    return disk(output("//guest:testguest.elf", ".elf"), cmdline=cmdline)


def _log_path():
    test = _current["test"] or "adhoc"
    _current["runs"] += 1
    base = re.sub(r"[^A-Za-z0-9_.-]+", ".", test.replace(".py::", ".")).strip(".")
    if _current["runs"] > 1:
        base += ".%d" % _current["runs"]
    return os.path.join(_config["log_dir"], base + ".serial")


def xdist_group(name):
    """pytest.mark.xdist_group(name): tests sharing one boot run on one worker. `./hv
    test` lists the tests by importing the files without pytest, hence the fallback."""
    try:
        import pytest
    except ImportError:
        return lambda f: f
    return pytest.mark.xdist_group(name)


def run(app, disk_path, emulator="bochs", cpus=2, mem=256, timeout=600, allow_no_vmx=False,
        strict_msrs=False, debugger_script=None, iommu=False, devices=(), hv_options=()):
    """Boot app ('bare', an app name, a label or an .iso path) on disk_path; return a Result.

    The Result has .status (poweroff/panic/timeout/error), .serial (text), .seconds,
    .ticks (Bochs instruction ticks, None on QEMU), .code (port 0xf4 value or None),
    .log (serial log path). strict_msrs: Bochs raises #GP on MSRs it does not
    implement, as hardware would (Bochs's default reads them as 0; Linux needs that).
    debugger_script: Bochs debugger commands for its stops (tools/bochs.py); the
    run then ends "scripted" and .emulator_output has what the debugger printed.
    iommu, devices: QEMU only, a q35 machine with intel-iommu, more -device arguments.
    hv_options: NAME=VALUE words for the hypervisor's command line (an app name only;
    tools/boot_options.py, as `./hv run --hv-option`).
    """
    if app == "bare":
        name, iso = "bare", None
    elif app.endswith(".iso"):
        name, iso = os.path.basename(app), app
    else:
        name, iso = app, image(app)
    optdir = None
    if hv_options:
        from tools import boot_options
        optdir = tempfile.mkdtemp(prefix="hv-options-")
        iso = boot_options.image(app, list(hv_options), optdir, iso)
    log = _log_path()
    try:
        res = runlib.run_image(name, iso, disk_path, emulator=emulator, cpus=cpus, mem=mem,
                               timeout=timeout, log=log, quiet=True, allow_no_vmx=allow_no_vmx,
                               strict_msrs=strict_msrs, debugger_script=debugger_script,
                               iommu=iommu, devices=devices)
    finally:
        if optdir:
            shutil.rmtree(optdir, ignore_errors=True)
    res.log = log
    print("  %s  [%s]" % (res.summary(), os.path.relpath(log, ROOT)), flush=True)
    return res


def bochs_xp(res):
    """{physical address: byte} of every `xp /Nbx` the run's debugger script printed."""
    from tools import bochs
    return bochs.parse_xp_bytes(res.emulator_output)


def tail(res, lines=TAIL_LINES):
    text = res.serial.rstrip("\n").splitlines()
    return "\n".join(text[-lines:])


def fail(res, message):
    extra = ""
    if res.status == "error" and res.emulator_log_tail:
        extra = "\n--- emulator log tail ---\n" + res.emulator_log_tail
    raise BootTestFailure("%s\n%s\n--- serial tail (%s) ---\n%s%s" % (
        message, res.summary(), getattr(res, "log", ""), tail(res), extra))


def assert_status(res, status):
    if res.status != status:
        fail(res, "expected %s, got %s%s" % (status, res.status,
                                             (": " + res.detail) if res.detail else ""))


def assert_poweroff(res, code=0):
    """Powered off; with code not None also that the exit code (port 0xf4) is code,
    which must then be in the log (a run that wrote none, such as an OS's ACPI
    power-off, passes code=None)."""
    assert_status(res, "poweroff")
    if code is not None and res.code != code:
        fail(res, "powered off with exit code %s, expected %d" % (
            "(none found in the log)" if res.code is None else res.code, code))


def assert_serial_contains(res, text):
    if text not in res.serial:
        fail(res, "serial log lacks %r" % text)


def assert_serial_lacks(res, text):
    if text in res.serial:
        fail(res, "serial log contains %r" % text)


def assert_line(res, pattern):
    """Some serial line matches the regex pattern; returns the match."""
    rx = re.compile(pattern)
    for line in res.serial.splitlines():
        m = rx.search(line)
        if m:
            return m
    fail(res, "no serial line matches /%s/" % pattern)


def assert_in_order(res, *texts):
    """The texts appear in the serial log in this order."""
    pos = 0
    for t in texts:
        i = res.serial.find(t, pos)
        if i < 0:
            fail(res, "serial log lacks %r after position %d (expected order: %r)" % (t, pos, texts))
        pos = i + len(t)
