"""`./hv test`: unit tests through Bazel, then the boot tests in tests/boot/, one by one.

A boot test file is tests/boot/test_*.py; each module-level function test_*() is one
test (it passes unless it raises), and each unittest.TestCase method is one test too.
The last line printed is "N passed, N failed", counting Bazel test targets and boot
tests together.
"""

import fnmatch
import importlib.util
import os
import sys
import time
import traceback
import unittest

from tools import bazel, deps

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


def run_boot(pattern=None):
    """(passed, failed) over boot tests."""
    import harness  # tests/boot/harness.py, on sys.path through collect()

    tests = collect(pattern)
    if not tests:
        print("hv test: no boot tests%s" % (" match %r" % pattern if pattern else ""))
        return 0, 0
    passed = failed = 0
    began = time.monotonic()
    for test_id, fn in tests:
        harness.begin_test(test_id)
        start = time.monotonic()
        try:
            fn()
            ok = True
        except Exception:
            ok = False
            traceback.print_exc(file=sys.stdout)
        finally:
            harness.end_test()
        took = time.monotonic() - start
        print("%s %s (%.1f s)" % ("PASS" if ok else "FAIL", test_id, took), flush=True)
        if ok:
            passed += 1
        else:
            failed += 1
    print("hv test: boot: %d passed, %d failed in %.0f s" % (passed, failed, time.monotonic() - began))
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
        sys.path.insert(0, BOOT_DIR)
        import harness

        harness.configure(clang=clang, log_dir=LOG_DIR)
        p, f = run_boot(pattern)
        passed += p
        failed += f
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0
