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


# ---- libvmx owns the VMX contract (issue 14) ----
#
# Apps reach the VMCS and the vcpu only through libvmx's public calls
# (vmx.h, vmx_guest.h, vmx_view.h): no VMREAD/VMWRITE accessor, no VMCS field,
# no struct vcpu member. The compiler enforces the last one too: vmx.h gives
# apps struct vcpu incomplete (vcpu_public.h), and they never include vcpu.h.

_VMCS_ACCESS = re.compile(r"\bvmcs_(?:read|write)\w*\s*\(|\bVMCS_[A-Z0-9_]+\b")
_INTERNAL_INCLUDE = re.compile(r'#\s*include\s+"libvmx/(?:vcpu|vmx_internal)\.h"')
_VCPU_DECL = re.compile(r"\bstruct\s+vcpu\s*\*\s*(?:const\s+)?(\w+)")
# The one writer of the exception bitmap (vmx_view.h: request/release, views).
BITMAP_OWNER = os.path.join("libvmx", "exception_mask.c")
_BITMAP_WRITE = re.compile(r"\bvmcs_write\w*\s*\(\s*VMCS_EXCEPTION_BITMAP\b")


def _code_lines(text):
    """(line number, line) of C code, comments dropped (block and line)."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return [(i + 1, re.sub(r"//.*", "", line)) for i, line in enumerate(text.splitlines())]


def vcpu_internals(text):
    """Lines that dereference a `struct vcpu *` (its members are libvmx's)."""
    names = set(_VCPU_DECL.findall(text))
    if not names:
        return []
    alt = "|".join(map(re.escape, sorted(names)))
    deref = re.compile(r"\b(?:%s)\s*->|\(\s*\*\s*(?:%s)\s*\)\s*\." % (alt, alt))
    return [(n, line.strip()) for n, line in _code_lines(text) if deref.search(line)]


def vmcs_uses(text):
    return [(n, line.strip()) for n, line in _code_lines(text)
            if _VMCS_ACCESS.search(line) or _INTERNAL_INCLUDE.search(line)]


def test_the_app_patterns_find_what_they_should():
    text = ("static void f(struct vcpu *v, struct tv_call *c)\n{\n"
            "\tuint32_t cpu = v->cpu;\n\tc->cr3 = 1;\n"
            "\tx = vmcs_readnat(VMCS_GUEST_RIP);\n\t/* v->gpr in a comment */\n"
            "\tvcpu_gpr_write(v, GPR_RAX, 0);\n\tconst struct vcpu *t = vmx_vcpu(1);\n"
            "\ty = (*t).eptp;\n}\n#include \"libvmx/vcpu.h\"\n")
    assert [n for n, _ in vcpu_internals(text)] == [3, 9]
    assert [n for n, _ in vmcs_uses(text)] == [5, 11]
    assert _BITMAP_WRITE.search("vmcs_write32(VMCS_EXCEPTION_BITMAP, 0xffffffffu);")
    assert not _BITMAP_WRITE.search("vmcs_read32(VMCS_EXCEPTION_BITMAP)")


def test_apps_never_touch_the_vmcs_or_vcpu_internals():
    bad = []
    for path in c_sources("apps"):
        with open(os.path.join(ROOT, path)) as f:
            text = f.read()
        bad += ["%s:%d: %s" % (path, n, line) for n, line in vmcs_uses(text)]
        bad += ["%s:%d: %s" % (path, n, line) for n, line in vcpu_internals(text)]
    assert not bad, ("apps must use libvmx's calls (vmx_guest.h, vmx_view.h), not the "
                     "VMCS or struct vcpu:\n" + "\n".join(bad))


def test_vmx_h_gives_apps_struct_vcpu_incomplete():
    """What an app includes does not define struct vcpu: a dereference fails to compile."""
    import shutil
    import subprocess
    cc = shutil.which("gcc") or shutil.which("clang")
    assert cc, "no C compiler"
    src = ('#include "libvmx/vmx.h"\n'
           'unsigned f(struct vcpu *v) { return vmx_vcpu_index(v); }\n')
    bad = src + "unsigned g(struct vcpu *v) { return v->cpu; }\n"
    run = lambda s: subprocess.run([cc, "-std=c11", "-fsyntax-only", "-I", ROOT, "-x", "c", "-"],
                                   input=s, text=True, capture_output=True)
    ok = run(src)
    assert ok.returncode == 0, ok.stderr
    r = run(bad)
    # GCC: "invalid use of undefined type"; Clang: "incomplete definition of type".
    assert r.returncode != 0 and re.search(r"undefined type|incomplete", r.stderr), r.stderr


def test_exception_bitmap_is_written_only_by_its_owner():
    bad = []
    for path in c_sources("libvmx", "libquiesce", "libsmp", "core", "apps", "rt", "hw"):
        if path == BITMAP_OWNER:
            continue
        with open(os.path.join(ROOT, path)) as f:
            bad += ["%s:%d: %s" % (path, n, line.strip())
                    for n, line in _code_lines(f.read()) if _BITMAP_WRITE.search(line)]
    assert not bad, "VMCS_EXCEPTION_BITMAP written outside %s:\n%s" % (BITMAP_OWNER,
                                                                        "\n".join(bad))
