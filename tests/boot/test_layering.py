"""Source checks of the library boundary (issue 14), run with the boot tests.

Event state (struct vcpu_events, `v->ev`) is written only in libvmx/event.c: the
one injection point owns it, and every other file asks event.c (vmx_internal.h
lists the few writers and why; apps have vmx_discard_pending_events()).
"""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OWNER = os.path.join("libvmx", "event.c")
# An assignment, increment or decrement of v->ev.FIELD / ev->FIELD / v->ev itself.
_WRITE = re.compile(r"(?:\bev\.[a-z_]+(?:\[[^]]*\])?|\bev->[a-z_]+(?:\[[^]]*\])?|->ev)\s*"
                    r"(?:[-+*/|&^]?=(?!=)|\+\+|--)|(?:\+\+|--)\s*\w+(?:->|\.)ev\b")


def c_sources(*dirs):
    for d in dirs:
        for base, _, files in os.walk(os.path.join(ROOT, d)):
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(base, f), ROOT)


def event_writes(text):
    return [(i + 1, line.strip()) for i, line in enumerate(text.splitlines())
            if _WRITE.search(line) and not line.strip().startswith(("*", "/*", "//"))]


def test_the_pattern_finds_writes_and_not_reads():
    found = event_writes("v->ev.reinject = false;\nx = v->ev.nmi_pending;\n"
                         "ev->exception = true;\nv->ev.nmis_merged += 2;\n"
                         "if (v->ev.nmi_window == on)\nv->ev = (struct vcpu_events){0};\n"
                         "v->ev.nmi_pending--;\n")
    assert [n for n, _ in found] == [1, 3, 4, 6, 7], found


def test_event_state_is_written_only_in_event_c():
    bad = []
    for path in c_sources("libvmx", "libquiesce", "libsmp", "core", "apps", "rt"):
        if path == OWNER:
            continue
        with open(os.path.join(ROOT, path)) as f:
            bad += ["%s:%d: %s" % (path, n, line) for n, line in event_writes(f.read())]
    assert not bad, "event state written outside %s:\n%s" % (OWNER, "\n".join(bad))
