"""Running Bazel from the CLI: builds that report their output files, and tests.

Bazel 4.2.3 (Debian bazel-bootstrap) has no `cquery --output=files`, so output paths
come from the build's own "Target ... up-to-date:" listing (--show_result), with a
Starlark cquery as the fallback.
"""

import os
import re
import subprocess
import sys

from tools import deps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

APPS = ("passthrough", "trustvisor")


class BuildError(Exception):
    pass


def _bazel(args, capture=False, echo=True):
    deps.require("bazel")
    cmd = ["bazel"] + args
    if echo:
        print("hv: " + " ".join(cmd), file=sys.stderr, flush=True)
    if capture:
        return subprocess.run(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    return subprocess.run(cmd, cwd=ROOT)


def config_flags(clang=False):
    return ["--config=clang"] if clang else []


def _parse_outputs(text):
    """{label: [paths]} from bazel build's --show_result listing."""
    outputs = {}
    label = None
    for line in text.splitlines():
        m = re.match(r"^(?:INFO: )?Target (\S+) up-to-date", line)
        if m:
            label = m.group(1)
            outputs[label] = []
            continue
        if label and line.startswith("  ") and line.strip():
            outputs[label].append(os.path.join(ROOT, line.strip()))
            continue
        label = None
    return outputs


def _canonical(label):
    if ":" not in label:
        label = label + ":" + label.rsplit("/", 1)[-1]
    return label


def cquery_files(label, clang=False, flags=()):
    expr = "'\\n'.join([f.path for f in target.files.to_list()])"
    r = _bazel(
        ["cquery"] + config_flags(clang) + list(flags)
        + ["--output=starlark", "--starlark:expr=" + expr, label],
        capture=True,
        echo=False,
    )
    if r.returncode != 0:
        raise BuildError("bazel cquery %s failed:\n%s" % (label, r.stdout[-3000:]))
    return [os.path.join(ROOT, p) for p in r.stdout.splitlines() if p.startswith("bazel-out/")]


def build(labels, clang=False, quiet=False, flags=()):
    """Build labels; return {label: [absolute output paths]}. Raises BuildError.

    flags: more bazel options (e.g. --config=nmi_sweep)."""
    args = ["build"] + config_flags(clang) + list(flags) + ["--show_result=1000"] + list(labels)
    r = _bazel(args, capture=True)
    if not quiet or r.returncode != 0:
        sys.stderr.write(r.stdout)
    if r.returncode != 0:
        raise BuildError("bazel build failed (exit %d)" % r.returncode)
    found = _parse_outputs(r.stdout)
    result = {}
    for label in labels:
        canon = _canonical(label)
        paths = found.get(canon) or found.get("/" + canon.lstrip("/"))
        if not paths:
            paths = cquery_files(label, clang, flags)
        # bazel-bin/... follows the configuration of whichever build ran last (another
        # test's --config=nmi_sweep, clang): resolve it now to the configuration's
        # own bazel-out directory, which later builds do not move.
        paths = [os.path.realpath(p) for p in paths]
        missing = [p for p in paths if not os.path.exists(p)]
        if not paths or missing:
            raise BuildError("bazel built %s but its output is not there: %s" % (label, paths))
        result[label] = paths
    return result


def app_label(app):
    return "//apps/%s:iso" % app


def build_apps(apps, clang=False, quiet=False):
    """Build the GRUB images of apps; return {app: iso path}."""
    labels = [app_label(a) for a in apps]
    out = build(labels, clang=clang, quiet=quiet)
    images = {}
    for app, label in zip(apps, labels):
        isos = [p for p in out[label] if p.endswith(".iso")]
        if len(isos) != 1:
            raise BuildError("%s produced %s, expected one .iso" % (label, out[label]))
        images[app] = isos[0]
    return images


def test(args, log_path):
    """Run `bazel test` with args; tee output to log_path. Returns (rc, results).

    results: list of (label, status) from bazel's summary, status being PASSED,
    FAILED, TIMEOUT, FLAKY, NO STATUS, ... ("(cached) PASSED" counts as PASSED).
    """
    deps.require("bazel", "unit")
    cmd = ["bazel", "test"] + args
    print("hv: " + " ".join(cmd), flush=True)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    text = []
    with open(log_path, "w") as log:
        for line in proc.stdout:
            text.append(line)
            log.write(line)
            sys.stdout.write(line)
            sys.stdout.flush()
    rc = proc.wait()
    return rc, parse_test_summary("".join(text))


_SUMMARY = re.compile(
    r"^(//\S+|@\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED|TIMEOUT|FLAKY|NO STATUS|"
    r"FAILED TO BUILD|INCOMPLETE|SKIPPED)\b"
)


def parse_test_summary(text):
    results = []
    for line in text.splitlines():
        m = _SUMMARY.match(line.strip())
        if m:
            results.append((m.group(1), m.group(2)))
    return results
