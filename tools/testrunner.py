"""`./hv test`: unit tests through Bazel, then the boot tests in tests/boot/ through pytest.

A boot test file is tests/boot/test_*.py; each module-level function test_*() is one
test (it passes unless it raises), and each unittest.TestCase method is one test too.
pytest with pytest-xdist runs them, two at a time on a 2-core machine (each Bochs is
one thread); tests/boot/conftest.py prints the `PASS|FAIL file::test (N s)` lines.
The last line printed is "N passed, N failed", counting Bazel test targets and boot
tests together.
"""

import fnmatch
import importlib.util
import os
import subprocess
import sys
import time
import traceback
import unittest

from tools import bazel, bochs, deps

ROOT = bazel.ROOT
BOOT_DIR = os.path.join(ROOT, "tests", "boot")
LOG_DIR = os.path.join(ROOT, "out", "test-logs")


def run_unit(clang=False):
    """(passed, failed) over Bazel test targets."""
    log = os.path.join(LOG_DIR, "bazel-test%s.log" % ("-clang" if clang else ""))
    rc, results = bazel.test(bazel.config_flags(clang) + ["//..."], log)
    passed = sum(1 for _, s in results if s in ("PASSED", "FLAKY"))
    failed = len(results) - passed
    if rc == 4 and not results:
        print("hv test: bazel found no test targets")
        return 0, 0
    if rc != 0 and failed == 0:
        # The build broke before any test ran, or bazel itself failed.
        print("hv test: bazel test failed (exit %d) before reporting tests; see %s"
              % (rc, os.path.relpath(log, ROOT)))
        failed = 1
    print("hv test: unit (%s): %d passed, %d failed (bazel exit %d)"
          % ("clang" if clang else "gcc", passed, failed, rc), flush=True)
    return passed, failed


def _load(path):
    name = "boottest_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def collect(pattern=None):
    """[(test id, callable)] in file order then definition order."""
    sys.path.insert(0, BOOT_DIR)
    tests = []
    files = sorted(f for f in os.listdir(BOOT_DIR) if f.startswith("test_") and f.endswith(".py"))
    for f in files:
        path = os.path.join(BOOT_DIR, f)
        try:
            mod = _load(path)
        except Exception:
            err = traceback.format_exc()

            def broken(err=err):
                raise ImportError("cannot import:\n" + err)

            tests.append(("%s::<import>" % f, broken))
            continue
        funcs = [(n, o) for n, o in vars(mod).items()
                 if n.startswith("test_") and callable(o) and not isinstance(o, type)
                 and getattr(o, "__module__", None) == mod.__name__]
        funcs.sort(key=lambda item: item[1].__code__.co_firstlineno)
        for n, fn in funcs:
            tests.append(("%s::%s" % (f, n), fn))
        for cname, cls in sorted(vars(mod).items()):
            if isinstance(cls, type) and issubclass(cls, unittest.TestCase) \
                    and cls.__module__ == mod.__name__:
                for m in unittest.TestLoader().getTestCaseNames(cls):
                    tests.append(("%s::%s.%s" % (f, cname, m), _unittest_callable(cls, m)))
    if pattern:
        pat = pattern if any(c in pattern for c in "*?[") else "*" + pattern + "*"
        tests = [t for t in tests if fnmatch.fnmatch(t[0], pat)]
    return tests


def _unittest_callable(cls, method):
    def call():
        result = unittest.TestResult()
        cls(method).run(result)
        problems = result.failures + result.errors
        if problems:
            raise AssertionError("\n".join(text for _, text in problems))
        if result.skipped:
            print("skipped: " + "; ".join(why for _, why in result.skipped))
    return call


# Boot tests that take minutes start first, so two workers finish close together
# (xdist hands out tests in the order given). From a CI run's durations.
SLOW_FIRST = ("test_linux.py", "test_nmi_linux.py", "test_trustvisor_tpm.py", "test_trustvisor.py",
              "test_trustvisor_guest.py", "test_fuzz.py", "test_sweep.py", "test_reset_scrub.py",
              "test_guest_input.py")
PYTEST_MODULES = ("pytest", "xdist")


def pytest_python():
    """A Python that can import pytest and xdist: this one, else Debian's."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import " + ", ".join(PYTEST_MODULES)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            return py
    raise deps.MissingTool("missing tool pytest with pytest-xdist: run ./hv setup (or: apt-get "
                           "install python3-pytest python3-pytest-xdist)")


def node_id(test_id):
    """'test_x.py::Cls.m' -> 'tests/boot/test_x.py::Cls::m' (pytest's node id)."""
    f, _, name = test_id.partition("::")
    return "tests/boot/%s::%s" % (f, name.replace(".", "::"))


def order(tests):
    rank = {f: i for i, f in enumerate(SLOW_FIRST)}
    return sorted(tests, key=lambda t: rank.get(t[0].split("::")[0], len(rank)))


def _count(text, word):
    return sum(1 for line in text.splitlines() if line.startswith(word + " "))


def run_boot(pattern=None, clang=False, jobs=None):
    """(passed, failed) over boot tests, run by pytest, JOBS at a time (default: one per
    CPU of this machine, since each Bochs is one thread)."""
    tests = collect(pattern)
    if not tests:
        print("hv test: no boot tests%s" % (" match %r" % pattern if pattern else ""))
        return 0, 0
    broken = [t for t in tests if t[0].endswith("::<import>")]
    for test_id, fn in broken:
        try:
            fn()
        except ImportError:
            traceback.print_exc(file=sys.stdout)
        print("FAIL %s (0.0 s)" % test_id, flush=True)
    tests = [t for t in tests if t not in broken]
    jobs = jobs or max(1, min(os.cpu_count() or 1, len(tests)))
    py = pytest_python()
    argv = [py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
            "--tb=short", "-o", "console_output_style=classic", "--rootdir", ROOT,
            "-c", os.path.join(BOOT_DIR, "pytest.ini")]
    if jobs > 1:
        # loadgroup: tests marked with one xdist_group run on one worker, so a
        # boot they share (tests/boot/tv_linux.py) happens once.
        argv += ["-n", str(jobs), "--dist", "loadgroup"]
    argv += [node_id(t) for t, _ in order(tests)]
    env = dict(os.environ, HV_TEST_CLANG="1" if clang else "0", HV_TEST_LOG_DIR=LOG_DIR,
               PYTHONDONTWRITEBYTECODE="1")
    began = time.monotonic()
    print("hv test: boot: %d tests, %d at a time (pytest)" % (len(tests), jobs), flush=True)
    if os.environ.get("HV_BOCHS"):
        # Another Bochs than CI's (tools/README.md, "Bochs 3.x"): say which ran.
        print("hv test: Bochs %s (HV_BOCHS=%s)" % (bochs.version()[2], bochs.binary()), flush=True)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            sys.stdout.write(line)
            sys.stdout.flush()
    finally:
        rc = proc.wait()
    text = "".join(seen)
    passed = _count(text, "PASS")
    failed = _count(text, "FAIL") + len(broken)
    if rc not in (0, 1) or passed + failed - len(broken) < len(tests):
        # pytest itself failed (usage, internal error, a worker crash): every test
        # it did not report counts as failed.
        missing = len(tests) - (passed + failed - len(broken))
        print("hv test: pytest exited %d with %d tests unreported" % (rc, missing))
        failed += max(missing, 1 if rc not in (0, 1) else 0)
    print("hv test: boot: %d passed, %d failed in %.0f s"
          % (passed, failed, time.monotonic() - began))
    return passed, failed


def main(unit=True, boot=True, pattern=None, clang=False):
    os.makedirs(LOG_DIR, exist_ok=True)
    passed = failed = 0
    if unit:
        # Both compilers build everything warning-clean (-Werror) and pass the
        # unit tests: the chosen one first, then the other.
        for compiler_clang in (clang, not clang):
            try:
                p, f = run_unit(compiler_clang)
            except deps.MissingTool as e:
                print("hv test: %s" % e)
                p, f = 0, 1
            passed += p
            failed += f
    if boot:
        try:
            p, f = run_boot(pattern, clang=clang)
        except deps.MissingTool as e:
            print("hv test: %s" % e)
            p, f = 0, 1
        passed += p
        failed += f
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0
