"""pytest glue for the boot tests (run by `./hv test` through tools/testrunner.py).

Each test function stays a plain `def test_*():` that raises on failure; this file
only tells harness.py which test is running (it names the serial logs after it),
passes `./hv test`'s settings through the environment to every xdist worker, and
prints one `PASS|FAIL file::test (N s)` line per test in the controller, the
lines `./hv test` has always printed.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import harness  # noqa: E402

import pytest  # noqa: E402


def boot_test_id(nodeid):
    """'tests/boot/test_x.py::Cls::m' -> 'test_x.py::Cls.m', the id ./hv test prints."""
    path, _, rest = nodeid.partition("::")
    return "%s::%s" % (os.path.basename(path), rest.replace("::", "."))


def pytest_configure(config):
    harness.configure(clang=os.environ.get("HV_TEST_CLANG") == "1",
                      log_dir=os.environ.get("HV_TEST_LOG_DIR") or None)


@pytest.fixture(autouse=True)
def _named_logs(request):
    harness.begin_test(boot_test_id(request.node.nodeid))
    yield
    harness.end_test()


def _is_worker(config):
    return hasattr(config, "workerinput")


_durations = {}


def pytest_runtest_logreport(report):
    config = _config[0] if _config else None
    if config is None or _is_worker(config):
        return
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration
    if report.when == "call" or (report.when == "setup" and not report.passed):
        word = "FAIL" if report.failed else ("SKIP" if report.skipped else "PASS")
        # A failure's traceback and output follow in pytest's FAILURES section.
        sys.stdout.write("%s %s (%.1f s)\n" % (word, boot_test_id(report.nodeid),
                                               _durations[report.nodeid]))
        sys.stdout.flush()


_config = []


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    _config.append(session.config)


def pytest_report_teststatus(report, config):
    # The PASS/FAIL lines above replace pytest's progress letters.
    if report.when == "call" or not report.passed:
        return report.outcome, "", ""
    return None
