"""Quick tests of ./hv itself: arguments, messages, disks, and the end states of
`./hv run` on a tiny kernel (tests/boot/fixtures/tiny.S) booted bare in Bochs with
one CPU (about 2 s a boot) and in QEMU.

Each test runs ./hv as a user would and checks the exit code and the message.
"""

import atexit
import os
import struct
import subprocess
import sys
import tempfile
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tools import disk as disklib, run as runlib  # noqa: E402

HV = os.path.join(ROOT, "hv")


def hv(*args, timeout=120):
    return subprocess.run([HV] + list(args), cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def _expect(r, code, *needles):
    out = r.stdout + r.stderr
    assert r.returncode == code, "exit %d, expected %d:\n%s" % (r.returncode, code, out)
    for n in needles:
        assert n in out, "output lacks %r:\n%s" % (n, out)


def test_bad_option_prints_usage_and_exits_2():
    required = {"run": ["bare", "--disk", "x.img"], "disk": ["--kernel", "k", "-o", "x.img"]}
    for cmd in ("run", "disk", "build", "test", "setup"):
        r = hv(cmd, *required.get(cmd, []), "--no-such-option")
        _expect(r, 2, "usage: hv " + cmd, "unrecognized arguments: --no-such-option")
    _expect(hv("run", "bare", "--disk", "x.img", "--emulator", "vbox"), 2, "invalid choice")
    _expect(hv("run", "bare", "--disk", "x.img", "--cpus", "two"), 2, "invalid int value")


def test_every_command_has_help():
    for cmd in ("setup", "build", "disk", "run", "test", "compare"):
        r = hv(cmd, "--help")
        _expect(r, 0, "usage: hv " + cmd)


def test_missing_command_exits_2():
    _expect(hv(), 2, "usage: hv")


def test_disk_rejects_non_kernel():
    with tempfile.TemporaryDirectory() as d:
        junk = os.path.join(d, "junk.bin")
        with open(junk, "wb") as f:
            f.write(b"\x90" * 20000)
        r = hv("disk", "--kernel", junk, "-o", os.path.join(d, "x.img"))
        _expect(r, 1, "neither a multiboot kernel", "nor a Linux bzImage")
        assert not os.path.exists(os.path.join(d, "x.img")), "an image was written anyway"


def test_kernel_kind_detection():
    with tempfile.TemporaryDirectory() as d:
        mb = os.path.join(d, "mb")
        body = bytearray(16384)
        # Header at 4100 (aligned): found; checksum must make the sum zero.
        struct.pack_into("<III", body, 4100, 0x1BADB002, 3, (-(0x1BADB002 + 3)) & 0xFFFFFFFF)
        open(mb, "wb").write(body)
        assert disklib.kernel_kind(mb) == "multiboot"
        # Same header past 8 KiB: not a multiboot kernel.
        late = bytearray(16384)
        struct.pack_into("<III", late, 8200, 0x1BADB002, 3, (-(0x1BADB002 + 3)) & 0xFFFFFFFF)
        open(mb, "wb").write(late)
        try:
            disklib.kernel_kind(mb)
            raise AssertionError("a header past 8 KiB was accepted")
        except disklib.DiskError:
            pass
        # Bad checksum: rejected.
        bad = bytearray(16384)
        struct.pack_into("<III", bad, 0, 0x1BADB002, 3, 0)
        open(mb, "wb").write(bad)
        try:
            disklib.kernel_kind(mb)
            raise AssertionError("a header with a bad checksum was accepted")
        except disklib.DiskError:
            pass
        lx = bytearray(4096)
        lx[0x202:0x206] = b"HdrS"
        open(mb, "wb").write(lx)
        assert disklib.kernel_kind(mb) == "linux"


def test_grub_cfg_shapes():
    cfg = disklib.grub_cfg("multiboot", "console=ttyS0 x=1", [("a.bin", "a.bin")])
    lines = cfg.splitlines()
    assert lines[0] == "set timeout=0", cfg
    assert "multiboot /boot/kernel console=ttyS0 x=1" in lines, cfg
    assert "module /boot/a.bin a.bin" in lines, cfg
    assert lines[-1] == "boot", cfg
    cfg = disklib.grub_cfg("linux", "console=ttyS0", [], initrd="/x/initrd.cpio")
    assert "linux /boot/kernel console=ttyS0" in cfg and "initrd /boot/initrd" in cfg, cfg


def test_run_refuses_small_memory_for_hypervisor():
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "d.img")
        open(img, "wb").truncate(disklib.CYLINDER_BYTES)
        iso = os.path.join(d, "fake.iso")
        open(iso, "wb").write(b"x")
        r = hv("run", iso, "--disk", img, "--mem", "128")
        _expect(r, 2, "too small for a hypervisor image")
        r = hv("run", "bare", "--disk", os.path.join(d, "missing.img"))
        _expect(r, 2, "no such disk image")
        r = hv("run", "nosuchapp", "--disk", img)
        _expect(r, 2, "APP must be passthrough, trustvisor, bare")
        r = hv("run", iso, "--disk", img)
        _expect(r, 2, "is not an ISO 9660 image")


def test_serial_cleaning():
    raw = b"\x1b[H\x1b[J\x1b[1;1Hhello\r\n\x1b[0;30;47mWelcome\r\n"
    assert runlib.clean_serial(raw) == "hello\nWelcome\n", repr(runlib.clean_serial(raw))


def test_padding_to_cylinders():
    with tempfile.NamedTemporaryFile() as f:
        f.write(b"x" * (disklib.CYLINDER_BYTES + 1))
        f.flush()
        assert disklib.pad_to_cylinders(f.name) == 2
        assert os.path.getsize(f.name) == 2 * disklib.CYLINDER_BYTES
        assert disklib.cylinders_of(f.name) == 2


_TINY = {}
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "tiny.S")


def tiny_disk(mode):
    """A guest disk booting tiny.S assembled with MODE=mode (cached for this run)."""
    if mode not in _TINY:
        d = tempfile.mkdtemp(prefix="hv-tiny-")
        atexit.register(shutil.rmtree, d, True)
        obj, elf, img = (os.path.join(d, n) for n in ("tiny.o", "tiny.elf", "tiny.img"))
        subprocess.run(["as", "--32", "--defsym", "MODE=%d" % mode, FIXTURE, "-o", obj], check=True)
        subprocess.run(["ld", "-m", "elf_i386", "-n", "-Ttext=0x100000", obj, "-o", elf],
                       check=True, stderr=subprocess.DEVNULL)
        r = hv("disk", "--kernel", elf, "-o", img)
        _expect(r, 0, "multiboot kernel")
        _TINY[mode] = img
    return _TINY[mode]


def _summary(r):
    lines = [l for l in r.stdout.splitlines() if l.startswith("hv run: ") and " ticks" in l]
    assert lines, "no summary line:\n" + r.stdout + r.stderr
    return lines[-1]


def test_run_bare_bochs_poweroff_with_code():
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "serial.log")
        r = hv("run", "bare", "--disk", tiny_disk(0), "--cpus", "1", "--timeout", "120",
               "--log", log)
        # The guest's failure code passes through as 16 + code (tools/run.py).
        _expect(r, 16 + 42, "tiny: hello from the tiny kernel", "exit code 42 (port 0xf4)",
                "the guest reported failure (exit status 58")
        s = _summary(r)
        assert s.startswith("hv run: bare on bochs: poweroff after "), s
        ticks = int(s.split(", ")[-1].split()[0])
        assert ticks > 10**6, s
        assert "tiny: hello" in open(log).read()
        assert os.path.getsize(log + ".bochs.log") > 0
        # Bochs runs are deterministic: the same disk takes the same number of ticks.
        again = _summary(hv("run", "bare", "--disk", tiny_disk(0), "--cpus", "1", "--quiet"))
        assert again.endswith(", %d ticks" % ticks), (s, again)


def run_logged(*args):
    """./hv run with --log in a temporary directory (failed runs keep no work dir)."""
    with tempfile.TemporaryDirectory() as d:
        return hv("run", *args, "--log", os.path.join(d, "serial.log"))


def test_run_bare_bochs_panic_is_exit_3():
    r = run_logged("bare", "--disk", tiny_disk(1), "--cpus", "1", "--timeout", "120")
    _expect(r, 3, "PANIC on CPU 0", "after the panic line")
    assert ": panic after " in _summary(r), r.stdout


def test_run_bare_bochs_timeout_is_exit_4():
    r = run_logged("bare", "--disk", tiny_disk(2), "--cpus", "1", "--timeout", "5", "--quiet")
    _expect(r, 4)
    assert ": timeout after " in _summary(r), r.stdout


def test_run_bare_bochs_acpi_power_off_is_a_power_off():
    r = run_logged("bare", "--disk", tiny_disk(4), "--cpus", "1", "--timeout", "120")
    _expect(r, 0, "tiny: hello from the tiny kernel")
    assert ": poweroff after " in _summary(r), r.stdout


def test_run_bare_bochs_triple_fault_is_an_error():
    r = run_logged("bare", "--disk", tiny_disk(3), "--cpus", "1", "--timeout", "120")
    _expect(r, 5, "tiny: hello", "the machine reset at tick", "3rd (13) exception")
    assert ": error after " in _summary(r), r.stdout


def test_run_bare_qemu_poweroff_maps_debug_exit_code():
    r = hv("run", "bare", "--disk", tiny_disk(0), "--emulator", "qemu", "--timeout", "120")
    _expect(r, 16 + 42, "tiny: hello", "exit code 42 (port 0xf4)", "qemu accelerator:")
    assert "bare on qemu: poweroff after " in _summary(r), r.stdout


def test_qemu_refuses_hypervisor_image_without_nested_vmx():
    from tools import qemu

    if qemu.kvm_status()[1]:
        return  # this machine has nested VMX: nothing to refuse
    with tempfile.TemporaryDirectory() as d:
        iso = os.path.join(d, "some.iso")
        shutil.copyfile(tiny_disk(0), iso)
        r = hv("run", iso, "--disk", tiny_disk(0), "--emulator", "qemu")
        _expect(r, 2, "QEMU without KVM has no VMX", "nested VMX")


def test_setup_prints_the_apt_line_when_it_cannot_install():
    import contextlib
    import io

    from tools import deps

    saved = deps.missing_packages
    deps.missing_packages = lambda: ["bochs", "xorriso"]
    try:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            rc = deps.setup(dry_run=True)
    finally:
        deps.missing_packages = saved
    assert rc == 1, rc
    want = ("apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
            "--no-install-recommends bochs xorriso")
    assert want in buf.getvalue().splitlines(), buf.getvalue()


def test_missing_tool_message_names_setup_and_package():
    from tools import deps

    saved = dict(deps.PACKAGES)
    deps.PACKAGES["bochs"] = "/nonexistent/bochs-bin"
    try:
        deps.require("bochs")
        raise AssertionError("require() accepted a missing tool")
    except deps.MissingTool as e:
        assert str(e) == ("missing tool /nonexistent/bochs-bin: run ./hv setup "
                          "(or: apt-get install bochs)"), str(e)
    finally:
        deps.PACKAGES.clear()
        deps.PACKAGES.update(saved)


def test_arguments_are_checked_before_any_build_or_boot():
    """Each bad path or number: exit 2 with one line, at once, nothing written."""
    with tempfile.TemporaryDirectory() as d:
        existing = os.path.join(d, "out")
        os.mkdir(existing)
        cases = [
            (["compare", "--json", d], "--json %s is a directory" % d),
            (["compare", "--json", os.path.join(d, "x.svg")], "must end in .json"),
            (["compare", "--mem", "99999999"], "more than this machine has available"),
            (["compare", "--cpus", "9"], "--cpus must be 1..8"),
            (["compare", "--jobs", "0"], "--jobs must be >= 1"),
            (["run", "bare", "--disk", "x.img", "--log", d], "is a directory"),
            (["run", "trustvisor", "--disk", "x.img", "--cpus", "0"], "--cpus must be 1..8"),
            (["disk", "--kernel", "k", "-o", existing], "-o %s is a directory" % existing),
            (["fuzz", "--count", "0"], "--count must be >= 1"),
            (["fuzz", "--log", d], "is a directory"),
            (["sweep", "--step", "0"], "--step must be >= 1"),
            (["sweep", "--serial", os.path.join(d, "none")], "no such file"),
            (["sweep", "--busy"], "--busy needs --pit"),
            (["sweep", "--app", "passthrough", "--event", "init"], "--event init is the INIT"),
        ]
        for args, needle in cases:
            r = hv(*args, timeout=20)
            _expect(r, 2, needle)
            lines = (r.stdout + r.stderr).strip().splitlines()
            assert len(lines) == 1, (args, lines)  # one line, no build output
        assert os.listdir(existing) == [], "a check wrote into the folder"


def test_run_log_streams_and_survives_ctrl_c():
    """--log grows while the run goes (tail -f works) and is complete after Ctrl-C."""
    import signal
    import time

    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "serial.log")
        p = subprocess.Popen([HV, "run", "bare", "--disk", tiny_disk(2), "--cpus", "1",
                              "--quiet", "--timeout", "120", "--log", log], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             # A shell's background job starts with SIGINT ignored, and a
                             # Python started so keeps ignoring it: give ./hv a normal one.
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 60
        seen = ""
        while time.monotonic() < deadline and "tiny: hello" not in seen:
            time.sleep(0.2)
            if os.path.exists(log):
                seen = open(log).read()
        assert "tiny: hello" in seen, "the log did not grow during the run: %r" % seen
        assert p.poll() is None, "the run ended before Ctrl-C"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 130, (p.returncode, out, err)
        assert "interrupted; the serial log so far is in %s" % log in err, err
        assert "tiny: hello from the tiny kernel" in open(log).read()
        assert os.path.getsize(log + ".bochs.log") > 0


def test_run_warns_when_the_image_is_not_a_hypervisor():
    with tempfile.TemporaryDirectory() as d:
        iso = os.path.join(d, "not-hv.iso")
        shutil.copyfile(tiny_disk(4), iso)  # a GRUB ISO booting tiny, which powers off by ACPI
        r = hv("run", iso, "--disk", tiny_disk(4), "--cpus", "1", "--quiet", "--timeout", "120")
        _expect(r, 0, "the image printed no 'hv:' line")


def test_run_hypervisor_refusal_has_its_own_exit_status():
    """A disk with no boot signature: the hypervisor powers off with its code 3 -> exit 7."""
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "blank.img")
        open(img, "wb").truncate(disklib.CYLINDER_BYTES)
        r = hv("run", "passthrough", "--disk", img, "--cpus", "1", "--quiet", "--timeout", "300",
               timeout=900)
        _expect(r, runlib.EXIT_HV_REFUSED, "the hypervisor powered off with its code 3",
                "no boot signature")
        assert "warning" not in r.stderr, r.stderr


def test_test_and_compare_install_missing_packages_or_print_the_sudo_line():
    import contextlib
    import io

    from tools import deps

    saved = deps.missing_packages, os.geteuid
    calls = []
    deps.missing_packages = lambda: ["bochs", "xorriso"]
    try:
        os.geteuid = lambda: 1000
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            rc = deps.ensure("test", setup_fn=lambda: calls.append("setup") or 0)
        assert rc == 1 and calls == [], (rc, calls)
        assert buf.getvalue().strip() == ("hv test: missing packages: bochs xorriso; install "
                                          "them with: sudo ./hv setup"), buf.getvalue()
        os.geteuid = lambda: 0
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            rc = deps.ensure("compare", setup_fn=lambda: calls.append("setup") or 0)
        assert rc is None and calls == ["setup"], (rc, calls)
        assert "installing the missing packages first" in buf.getvalue(), buf.getvalue()
        with contextlib.redirect_stdout(io.StringIO()):
            assert deps.ensure("compare", setup_fn=lambda: 1) == 1  # apt-get failed: stop
    finally:
        deps.missing_packages, os.geteuid = saved


# Lines as the two Bochs versions write them (from real runs of the test guest and
# of a Linux guest): 2.7 logs an unmapped port write as "unmapped: 8-bit write ...",
# 3.0.devel (upstream, built per docs/design.md section 5) without the prefix.
_LOG_LINES = {
    "2.7": ["00000000000i[      ] Bochs x86 Emulator 2.7",
            "00335582985d[UNMAP ] unmapped: 8-bit write to 00f4 = 2a",
            "00335583000d[UNMAP ] unmapped: 8-bit write to 00e9 = 44",
            "00335583525d[UNMAP ] unmapped: 8-bit write to 8900 = 53",
            "00350783075p[UNMAP ] >>PANIC<< Shutdown port: shutdown requested"],
    "3.0.devel": ["00000000000i[      ] Bochs x86 Emulator 3.0.devel",
                  "00335504195d[UNMAP ] 8-bit write to 00f4 = 2a",
                  "00335583000d[UNMAP ] 8-bit write to 00e9 = 44",
                  "00335504525d[UNMAP ] 8-bit write to 8900 = 53",
                  "00350704285p[UNMAP ] >>PANIC<< Shutdown port: shutdown requested"],
}


def test_bochs_versions_and_log_formats():
    """2.7 and 3.x: the banner gives the version, 3.x runs with -dbg, and the port
    0xf4 code, the Linux power-off tick and the power-off are found in both log
    formats; a line in neither format gives no code."""
    from tools import bochs, compare

    assert bochs.parse_banner("   Bochs x86 Emulator 2.7\n") == (2, 7, "2.7")
    assert bochs.parse_banner("Bochs x86 Emulator 3.0.devel\n") == (3, 0, "3.0.devel")
    assert bochs.parse_banner("no banner") is None
    assert "-dbg" not in bochs.command("rc", "cmds", major=2)
    assert bochs.command("rc", "cmds", major=3)[1] == "-dbg"
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "bochs.log")
        for version, lines in _LOG_LINES.items():
            with open(log, "w") as f:
                f.write("\n".join(lines) + "\n")
            assert bochs.parse_banner(lines[0])[2] == version
            ticks = int(lines[-1][:11])
            assert bochs.read_log(log) == (True, 0x2a, ticks), version
            assert compare.linux_boot_ticks(log) == 335583000, version
        # An ACPI power-off (Linux's poweroff -f), logged alike by both.
        with open(log, "w") as f:
            f.write("00900000000p[ACPI  ] >>PANIC<< ACPI control: soft power off\n")
        assert bochs.read_log(log) == (True, None, 900000000)
        # A format the tools do not know: no code, no mark (never a guess).
        with open(log, "w") as f:
            f.write("00000100000d[UNMAP ] outb 00f4 <- 2a\n"
                    "00000150000d[UNMAP ] outb 00e9 <- 44\n")
        assert bochs.read_log(log) == (False, None, 150000)
        assert compare.linux_boot_ticks(log) is None


def test_assert_poweroff_fails_without_an_exit_code():
    """A power-off whose port 0xf4 code was not found (a Bochs log format the tools
    cannot read) fails assert_poweroff(code=0); code=None (an OS's ACPI power-off)
    and the right code pass."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness

    res = runlib.Result("bare", "bochs")
    res.status = "poweroff"
    try:
        harness.assert_poweroff(res)
    except harness.BootTestFailure as e:
        assert "(none found in the log)" in str(e), str(e)
    else:
        raise AssertionError("assert_poweroff passed a run with no exit code")
    harness.assert_poweroff(res, code=None)
    res.code = 0
    harness.assert_poweroff(res)
    res.code = 3
    try:
        harness.assert_poweroff(res)
    except harness.BootTestFailure as e:
        assert "exit code 3, expected 0" in str(e), str(e)
    else:
        raise AssertionError("assert_poweroff passed exit code 3")


def test_bochs_option_must_name_an_executable():
    r = hv("run", "bare", "--disk", "x.img", "--bochs", "/nonexistent/bochs", timeout=20)
    _expect(r, 2, "--bochs /nonexistent/bochs is not an executable file")


def test_bochs_option_runs_that_bochs():
    with tempfile.TemporaryDirectory() as d:
        marker, wrapper = os.path.join(d, "ran"), os.path.join(d, "my-bochs")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\necho "$@" >> %s\nexec bochs-bin "$@"\n' % marker)
        os.chmod(wrapper, 0o755)
        r = hv("run", "bare", "--disk", tiny_disk(0), "--cpus", "1", "--quiet", "--timeout",
               "120", "--bochs", wrapper)
        _expect(r, 16 + 42, "exit code 42 (port 0xf4)")
        calls = open(marker).read()
        assert "-q -f " in calls, calls  # the run itself, after the banner probe
