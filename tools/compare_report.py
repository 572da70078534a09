"""The output of `./hv compare` (tools/compare.py): one table, its JSON, an SVG chart.

The table is printed for a terminal (at most 100 columns, `--format text`), as
Markdown that pastes into README.md (`--format markdown`) or as CSV (`--format
csv`). The JSON holds exactly the printed figures
(values rounded as printed): {config: {metric: {value, unit, ratio_to_bare, ...}},
"metadata": {...}, "targets": [...]}.
"""

import csv
import io
import json
import math
import os
import re
import textwrap

CONFIGS = ("bare", "passthrough", "trustvisor")
HV = ("passthrough", "trustvisor")

SECTIONS = [
    ("boot", "guest boot"),
    ("startup", "start-up, phase by phase (hv: phase lines; bare: the guest from power-on)"),
    ("work", "workloads (test guest, RDTSC in the guest)"),
    ("exit", "one VM exit, round trip from a guest loop (bare: the same instruction)"),
    ("nmi", "NMIs, IPIs and quiesce"),
    ("pal", "TrustVisor PALs and micro-TPM"),
    ("other", "other BENCH lines"),
    ("exits.linux", "VM exits, Linux boot run (all CPUs)"),
    ("exits.bench", "VM exits, test guest bench run (all CPUs)"),
]

# BENCH names with a fixed place, in this order: (section, label, configs it applies
# to, issue that will provide it or None). Rows with an issue are shown as
# "n/a (issue N)" until a run prints the line.
KNOWN = [
    ("guest_entry", "boot", "test guest: power-on to kernel entry", CONFIGS, None),
    ("cpu_crc32", "work", "CPU: CRC-32 over 2 MiB (bitwise)", CONFIGS, None),
    ("mem_chase", "work", "memory: 1 M loads, random pages of 64 MiB, guest paging", CONFIGS, None),
    # guest/bench/bench_exits.c: per exit reason, the mean of a 64-instruction loop.
    ("exit_cpuid", "exit", "CPUID (leaf 0)", CONFIGS, None),
    ("exit_rdmsr", "exit", "RDMSR IA32_FEATURE_CONTROL (emulated)", CONFIGS, None),
    ("exit_io", "exit", "IN port 0x92 (a watched reset port)", CONFIGS, None),
    ("exit_ept", "exit", "EPT violation: LAPIC TPR store, decoded and replayed", CONFIGS, None),
    ("exit_vmcall", "exit", "VMCALL (COUNTERS debug hypercall)", HV, None),
    # guest/bench/bench_nmi.c: the guest's own view, comparable in every configuration.
    ("nmi_latency", "nmi", "NMI latency (guest): self-NMI ICR write to handler", CONFIGS, None),
    # guest/bench/bench_ipi.c: the ICR write alone, after every CPU has started.
    ("ipi_self_xapic", "nmi", "IPI send, self, xAPIC (ICR write)", CONFIGS, None),
    ("ipi_cross_xapic", "nmi", "IPI send, to another CPU, xAPIC", CONFIGS, None),
    ("ipi_self_x2apic", "nmi", "IPI send, self, x2APIC (ICR MSR; not in `bench pal` runs)",
     CONFIGS, None),
    ("ipi_cross_x2apic", "nmi", "IPI send, to another CPU, x2APIC (not in `bench pal` runs)",
     CONFIGS, None),
    # core/debug_hypercall.c (BENCH hypercall): the hypervisor's part of the above.
    ("nmi_delivery", "nmi", "NMI delivery (hypervisor): NMI exit to injecting entry", HV, None),
    ("quiesce_round", "nmi", "quiesce round (stop + resume other CPUs)", HV, None),
    ("pal_register", "pal", "PAL register", ("trustvisor",), 5),
    ("pal_null_call", "pal", "PAL null call", ("trustvisor",), 5),
    ("pal_unregister", "pal", "PAL unregister", ("trustvisor",), 5),
    ("pal_register_64p", "pal", "PAL register, 64 pages (61 code, measured)", ("trustvisor",), 5),
    ("pal_unregister_64p", "pal", "PAL unregister, 64 pages", ("trustvisor",), 5),
    ("utpm_pcr_read", "pal", "micro-TPM PCR read", ("trustvisor",), 5),
    ("utpm_extend", "pal", "micro-TPM extend", ("trustvisor",), 5),
    ("utpm_seal", "pal", "micro-TPM seal", ("trustvisor",), 5),
    ("utpm_unseal", "pal", "micro-TPM unseal", ("trustvisor",), 5),
    ("utpm_quote", "pal", "micro-TPM quote", ("trustvisor",), 5),
    ("utpm_get_random", "pal", "micro-TPM random", ("trustvisor",), 5),
]
_KNOWN = {k[0]: k for k in KNOWN}
# Start-up rows (tools/compare.py startup_figures), in order: the hypervisor's phases
# (rt/boot_phase.h; each row is the ticks since the phase before), then the guest's own
# boot. Phases not listed here get a row "phase NAME" after these.
STARTUP = [
    ("entry", "power-on to hypervisor entry: firmware + the hypervisor's GRUB"),
    ("runtime", "hv: runtime (console, multiboot information, page allocator)"),
    ("vmx", "hv: boot CPU into VMX root (DMA protection, VMX capabilities)"),
    ("platform", "hv: platform (MADT, quiesce, hooks, ACPI power watch)"),
    ("aps", "hv: AP start (TSC calibration, INIT-SIPI-SIPI, APs into VMX root)"),
    ("memmap", "hv: guest E820 map and INT 15h hook"),
    ("ept", "hv: guest EPT build"),
    ("launch", "hv: MBR load to guest launch"),
    ("total", "hv: start-up, entry to guest launch"),
    ("guest.bench", "test guest's own boot: launch (bare: power-on) to kernel entry"),
    ("guest.linux", "Linux's own boot: launch (bare: power-on) to user space"),
]
_STARTUP = {k: (i, label) for i, (k, label) in enumerate(STARTUP)}
_ORDER = {k[0]: i for i, k in enumerate(KNOWN)}
# Extra k=v figures of a BENCH line: their row labels, in this order.
EXTRAS = {"exits": "VM exits", "quiesce": "quiesce rounds (all-CPU stops)", "samples": "samples"}


class Row:
    def __init__(self, key, label, unit, section, applies, issue=None, ratio=True, kind="ticks"):
        self.key, self.label, self.unit, self.section = key, label, unit, section
        self.applies, self.issue, self.ratio, self.kind = applies, issue, ratio, kind
        self.workload = key.split(".")[1] if key.startswith("exits.") else (
            "linux" if key in ("linux_boot", "startup.guest.linux") else "bench")
        self.order = (0,)
        self.cells = {}


class Table:
    def __init__(self, meta):
        self.meta = meta
        self.rows = []
        self.notes = []
        self.targets = []  # (what, text, value or None)


def _units(emulator):
    if emulator == "bochs":
        return {"ticks": "ticks", "boot": "ticks", "exits": "/M ticks"}
    return {"ticks": "TSC ticks", "boot": "s (wall)", "exits": "/s (wall)"}


def fmt(value, kind):
    """The printed form of a value (and so the JSON value: float(fmt(v)) or int)."""
    if kind in ("ticks", "count"):
        return "%d" % round(value)
    if kind == "seconds":
        return "%.2f" % value
    # Rates: 4 significant digits, never an exponent (exits per M ticks go down to 1e-4).
    if value == 0:
        return "0"
    digits = max(0, 3 - math.floor(math.log10(abs(value))))
    return "%.*f" % (digits, value)


def _num(text):
    return int(text) if text.lstrip("-").isdigit() else float(text)


def split_key(key):
    """'bench.name [cpus=N] [extra]' -> (name, cpus or None, extra or None)."""
    base, *rest = key[len("bench."):].split()
    cpus = [int(r[5:]) for r in rest if r.startswith("cpus=")]
    extra = [r for r in rest if "=" not in r]
    return base, cpus[0] if cpus else None, extra[0] if extra else None


def _bench_row(key, units, main_cpus):
    base, cpus, extra = split_key(key)
    if base in _KNOWN:
        _, section, label, applies, issue = _KNOWN[base]
    else:
        section = ("pal" if base.startswith(("pal_", "utpm_")) else
                   "nmi" if base.startswith(("nmi", "quiesce")) else "other")
        label, applies, issue = base, CONFIGS, None
    if extra:
        label = "%s: %s" % (label, EXTRAS.get(extra, extra))
    if cpus is not None:
        label = "%s, %d CPU%s" % (label, cpus, "" if cpus == 1 else "s")
    if extra:
        row = Row(key, label, "count", section, applies, None, ratio=False, kind="count")
    else:
        row = Row(key, label, units["ticks"], section, applies, issue if cpus is None else None)
    if section == "pal":  # the pal runs (tools/compare.py)
        row.workload = "pal %d" % (main_cpus if cpus is None else cpus)
    # PAL rows: op by op, its ticks at each CPU count, then exits and quiesce rounds.
    extra_rank = list(EXTRAS).index(extra) + 1 if extra in EXTRAS else (len(EXTRAS) + 1
                                                                        if extra else 0)
    row.order = (_ORDER.get(base, len(_ORDER)), base, extra_rank, extra or "", cpus or 0)
    return row


def _startup_row(key, units):
    name = key[len("startup."):]
    rank, label = _STARTUP.get(name, (len(_STARTUP), "phase " + name))
    guest = name.startswith("guest.")
    # The hypervisor's phases have no bare counterpart; the guest's own boot has.
    row = Row(key, label, units["ticks"], "startup", CONFIGS if guest else HV, ratio=guest)
    row.order = (rank, name)
    return row


def _cell(row, config, cells, problems, bare):
    c = cells.get(config, {}).get(row.key)
    workload = row.workload
    if config not in row.applies:
        return {"value": None, "text": "-", "note": "does not apply"}
    problem = problems.get(config, {}).get(workload)
    if c is None:
        if problem and problem.startswith("n/a"):
            note = problem
        elif row.issue:
            note = "n/a (issue %d)" % row.issue
        elif problem:
            note = "n/a (run failed)"
        else:
            note = "n/a"
        return {"value": None, "text": note, "note": note}
    text = fmt(c["value"], row.kind)
    out = {"value": _num(text), "unit": row.unit, "n": c["n"]}
    if c["min"] != c["max"]:
        lo, hi = fmt(c["min"], row.kind), fmt(c["max"], row.kind)
        out.update(min=_num(lo), max=_num(hi))
        text += " [%s-%s]" % (lo, hi)
    out["ratio_to_bare"] = None
    if row.ratio and config != "bare" and bare and bare.get("value"):
        r = "%.3f" % (out["value"] / bare["value"])
        out["ratio_to_bare"] = float(r)
        text += " (%sx)" % r
    out["text"] = text
    return out


def build(cells, problems, meta):
    """The Table of cells {config: {key: {value, min, max, n}}} and problems {config: {why}}."""
    t = Table(meta)
    units = _units(meta["emulator"])
    rows = {}
    if not meta["quick"]:
        rows["linux_boot"] = Row("linux_boot", "Linux: power-on to user space (LINUXGUEST: DONE)",
                                 units["boot"], "boot", CONFIGS,
                                 kind="ticks" if meta["emulator"] == "bochs" else "seconds")
    keys = set()
    for c in CONFIGS:
        keys.update(cells.get(c, {}))
    main = meta["cpus"]
    hidden = []  # PAL exits/quiesce of the scaling runs: in the targets, not as rows
    for key in sorted(k for k in keys if k.startswith("bench.")):
        base, cpus, extra = split_key(key)
        if extra and cpus not in (None, main) and key[6:].startswith(("pal_", "utpm_")):
            hidden.append(key)
            continue
        rows[key] = _bench_row(key, units, main)
    have = {split_key(k)[0] for k in rows if k.startswith("bench.")}
    for name, *_ in KNOWN:  # placeholders for figures no run printed
        if name not in have:
            rows["bench." + name] = _bench_row("bench." + name, units, main)
    for key in (k for k in keys if k.startswith("startup.")):
        rows[key] = _startup_row(key, units)
    exit_keys = sorted((k for k in keys if k.startswith("exits.")),
                       key=lambda k: (k.split(".")[1], k.split(".", 2)[2] != "total", k))
    for key in exit_keys:
        _, workload, reason = key.split(".", 2)
        label = "all exits" if reason == "total" else reason
        rows[key] = Row(key, label, units["exits"], "exits." + workload, HV, ratio=False,
                        kind="rate")
    for sec, _ in SECTIONS:
        for row in sorted(rows.values(), key=lambda r: r.order):
            if row.section != sec:
                continue
            bare = None
            for config in CONFIGS:
                row.cells[config] = _cell(row, config, cells, problems, bare)
                if config == "bare":
                    bare = row.cells[config]
            t.rows.append(row)
    _notes(t, problems)
    _targets(t, cells, hidden)
    return t


def _notes(t, problems):
    m = t.meta
    if m["emulator"] == "bochs":
        t.notes.append("Bochs counts instructions, not cycles: caches, TLBs and EPT walks cost "
                       "nothing, so the CPU and memory rows show only instructions a hypervisor "
                       "adds (its exits). Cycle costs need hardware: --emulator qemu with KVM "
                       "and nested VMX.")
    if not m["quick"]:
        t.notes.append("Linux boot: %s; under a hypervisor it includes the hypervisor's GRUB and "
                       "start-up (compare the test guest's power-on-to-entry row)." % (
                           "power-on to the first power-off byte written after the DONE line"
                           if m["emulator"] == "bochs" else
                           "wall time from the emulator's start to the DONE line on the serial "
                           "log (polled every 50 ms)"))
    t.notes.append("VM exits: counters the hypervisor prints at guest power-off, summed over "
                   "CPUs, divided by the whole run (%s)." % (
                       "ticks: BIOS, GRUB, hypervisor start-up and guest"
                       if m["emulator"] == "bochs" else "wall seconds"))
    if any(r.key.startswith("bench.pal_register") for r in t.rows):
        t.notes.append("DMA protection (libiommu): these runs have no IOMMU (Bochs has none; "
                       "./hv compare gives QEMU none), so PAL register/unregister exclude its "
                       "cost: one context-cache + IOTLB invalidation per remapping unit at each. "
                       "QEMU's emulated VT-d runs only under TCG, without VMX: the TrustVisor "
                       "path cannot be timed here (libiommu/qemu_test times iommu_protect).")
    for config in CONFIGS:
        for workload, why in sorted(problems.get(config, {}).items()):
            if not why.startswith("n/a"):
                t.notes.append("%s %s run failed: %s (logs in out/compare-logs/%s/)" % (
                    config, workload + " CPUs" if workload.startswith("pal") else workload,
                    why, m["emulator"]))


def _row(t, key):
    for r in t.rows:
        if r.key == key:
            return r
    return None


def _targets(t, cells, hidden):
    boot = _row(t, "linux_boot")
    if boot:
        pt = boot.cells["passthrough"]
        r = pt.get("ratio_to_bare")
        text = ("%.3fx: %s" % (r, "met" if r <= 1.005 else "1.01x met" if r <= 1.01 else
                               "NOT met") if r else pt.get("text", "n/a"))
        t.targets.append(("passthrough Linux boot <= 1.005x bare (issue 15; 1.01x issue 11)",
                          text, r))
    for key, what in (("bench.cpu_crc32", "CPU workload"), ("bench.mem_chase", "memory workload")):
        row = _row(t, key)
        pt = row.cells["passthrough"] if row else {}
        if pt.get("ratio_to_bare"):
            pct = round(100.0 / pt["ratio_to_bare"], 1)
            text = "%.1f%% of bare speed: %s" % (pct, "met" if pct >= 99.0 else "NOT met")
        else:
            pct, text = None, pt.get("text", "n/a")
        t.targets.append(("passthrough >= 99%% of bare, %s" % what, text, pct))
    tv = cells.get("trustvisor", {})

    def tv_value(name, cpus, extra=None):
        c = tv.get("bench.%s cpus=%d%s" % (name, cpus, " " + extra if extra else ""))
        return None if c is None else _num(fmt(c["value"], "count" if extra else "ticks"))

    main = t.meta["cpus"]
    exits, stops = tv_value("pal_null_call", main, "exits"), tv_value("pal_null_call", main,
                                                                       "quiesce")
    what = "null PAL call: <= 4 VM exits, no all-CPU stop (%d CPU%s)" % (main,
                                                                        "" if main == 1 else "s")
    if exits is None or stops is None:
        t.targets.append((what, "n/a (issue 5)", None))
    else:
        ok = exits <= 4 and stops == 0
        t.targets.append((what, "%d VM exits, %d quiesce rounds: %s" % (
            exits, stops, "met" if ok else "NOT met"), {"exits": exits, "quiesce": stops}))
    # Flatness: the pal runs at 1, 2 and 4 CPUs (tools/compare.py), every op.
    want = t.meta.get("pal_cpus") or [main]
    lo, hi = min(want), max(want)
    a = tv_value("pal_null_call", lo)
    if lo == hi:
        t.targets.append(("null PAL call ticks at 1/2/4 CPUs", "not run (--quick): %d CPU%s: %s"
                          % (lo, "" if lo == 1 else "s", _or_na(a)), None))
    else:
        b = tv_value("pal_null_call", hi)
        flat = round(b / a, 3) if a and b is not None else None
        per = ", ".join("%d: %s" % (n, _or_na(tv_value("pal_null_call", n))) for n in want)
        counts = "/".join(map(str, want))
        t.targets.append(("null PAL call ticks at %s CPUs" % counts, "%s; %d-CPU/%d-CPU %s" % (
            per, hi, lo, "n/a" if flat is None else "%.3fx" % flat), flat))
        for extra in ("exits", "quiesce"):
            vals = [tv_value("pal_null_call", n, extra) for n in want]
            t.targets.append(("null PAL call %s at %s CPUs" % (EXTRAS[extra], counts),
                              "/".join(map(_or_na, vals)), None))
        ratios = []
        for name, section, *_ in KNOWN:
            a, b = tv_value(name, lo), tv_value(name, hi)
            if section == "pal" and a and b is not None:
                ratios.append("%s %.3fx" % (name, b / a))
        t.targets.append(("every PAL op, %d-CPU/%d-CPU ticks" % (hi, lo),
                          ", ".join(ratios) or "n/a", None))
    # Exits or quiesce rounds of a scaling run that differ from the main run's.
    for key in hidden:
        base, cpus, extra = split_key(key)
        v, m = tv_value(base, cpus, extra), tv_value(base, main, extra)
        if v != m:
            t.notes.append("%s: %s with %d CPUs, %s with %d (only the %d-CPU figures are "
                           "rows)" % (base, _or_na(v) + " " + extra, cpus, _or_na(m), main, main))


def _or_na(v):
    return "n/a" if v is None else str(v)


def header(t):
    m = t.meta
    wall = int(m["wall_seconds"])
    lines = ["hv compare: %s, %d CPU(s), %d MiB guest RAM, commit %s, %s, %d:%02d wall" % (
        "Bochs %s (software VMX)" % m.get("emulator_version", "2.7") if m["emulator"] == "bochs" else
        "QEMU (%s)" % (m.get("accelerator") or "?"), m["cpus"],
        m["mem_mb"], m["git_commit"], m["date"], wall // 60, wall % 60)]
    if m["emulator"] == "bochs":
        lines.append("ticks = Bochs system ticks: one instruction per CPU per tick (ips=%d), "
                     "not wall time" % m["ips"])
        if m["runs"] == 1:
            lines.append("one run per configuration (Bochs repeats a run tick for tick, Linux "
                         "booted with clearcpuid=rdrand,rdseed; --runs 2 checks that)")
        elif m.get("differing"):
            lines.append("%d runs per configuration: medians; %d figure(s) differed between "
                         "runs, [min-max] shown" % (m["runs"], len(m["differing"])))
        else:
            lines.append("%d runs per configuration: every figure identical in all runs "
                         "(deterministic)" % m["runs"])
    else:
        lines.append("medians of %d runs with the [min-max] spread; TSC ticks and wall seconds "
                     "vary run to run" % m["runs"])
    lines.append("(N.NNNx) = configuration / bare: 1.000x is as fast as bare, higher is slower")
    return lines


def render(t, fmt="text"):
    """The table as `./hv compare --format` prints it: text, markdown or csv."""
    return {"text": render_text, "markdown": render_markdown, "csv": render_csv}[fmt](t)


TEXT_WIDTH = 100
_INT = re.compile(r"(?<![\d.])(\d{4,})(?![\d.])")


def thousands(text):
    """Integers of 4 or more digits in text with thousands separators."""
    return _INT.sub(lambda m: "{:,}".format(int(m.group(1))), text)


def _targets_text(t):
    out = ["targets (reported, not enforced):"]
    w = max(len(x[0]) for x in t.targets)
    return out + ["  %s  %s" % (what.ljust(w), text) for what, text, _ in t.targets]


def render_text(t):
    """For a terminal: at most TEXT_WIDTH columns, sections as plain headings, numbers
    right-aligned with thousands separators, labels wrapped to fit."""
    cells = [[thousands(r.cells[c]["text"]) for c in CONFIGS] for r in t.rows]
    widths = [max([len(c)] + [len(x[i]) for x in cells]) for i, c in enumerate(CONFIGS)]
    label_w = max(24, TEXT_WIDTH - sum(w + 2 for w in widths))
    titles = dict(SECTIONS)

    def wrapped(lines, indent=""):
        return [w for l in lines for w in (textwrap.wrap(l, TEXT_WIDTH,
                                                         subsequent_indent=indent) or [""])]

    out = wrapped(header(t), "  ") + [""]
    out.append("".ljust(label_w) + "".join("  " + c.rjust(w) for c, w in zip(CONFIGS, widths)))
    section = None
    for r, row in zip(t.rows, cells):
        if r.section != section:
            section = r.section
            out += ["", titles[section]]
        label = r.label + ("" if r.unit == "ticks" else " [%s]" % r.unit)
        lines = textwrap.wrap(label, label_w - 2, subsequent_indent="  ") or [""]
        for extra in lines[:-1]:
            out.append("  " + extra)
        out.append(("  " + lines[-1]).ljust(label_w) +
                   "".join("  " + v.rjust(w) for v, w in zip(row, widths)))
    out.append("")
    out += wrapped(["note: " + n for n in t.notes], "      ")
    out.append("")
    out += wrapped(_targets_text(t), "      ")
    return "\n".join(out) + "\n"


def render_csv(t):
    """One line per row: section, metric, unit, then per configuration value and ratio."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "metric", "unit"] +
               [x for c in CONFIGS for x in (c, c + "_ratio_to_bare")])
    titles = dict(SECTIONS)
    for r in t.rows:
        vals = []
        for c in CONFIGS:
            cell = r.cells[c]
            v = cell.get("value")
            vals += ["" if v is None else v, cell.get("ratio_to_bare") or ""]
        w.writerow([titles[r.section], r.label, r.unit] + vals)
    return buf.getvalue()


def render_markdown(t):
    head = ["metric", "unit"] + list(CONFIGS)
    body = []
    titles = dict(SECTIONS)
    section = None
    for r in t.rows:
        if r.section != section:
            section = r.section
            body.append(["**%s**" % titles[section], "", "", "", ""])
        body.append([r.label, r.unit] + [r.cells[c]["text"] for c in CONFIGS])
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]

    def line(cols):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths)) + " |"

    out = header(t) + ["", line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(b) for b in body]
    out.append("")
    out += ["note: " + n for n in t.notes]
    out.append("")
    out += _targets_text(t)
    return "\n".join(out) + "\n"


def to_json(t):
    doc = {"metadata": dict(t.meta)}
    for config in CONFIGS:
        doc[config] = {}
        for r in t.rows:
            cell = dict(r.cells[config])
            cell.pop("text", None)
            cell.setdefault("unit", r.unit)
            cell.setdefault("ratio_to_bare", None)
            cell["label"] = r.label
            cell["section"] = dict(SECTIONS)[r.section]
            doc[config][r.key] = cell
    doc["targets"] = [{"target": what, "result": text, "value": v} for what, text, v in t.targets]
    doc["notes"] = list(t.notes)
    return doc


def write_json(t, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(to_json(t), f, indent=2, sort_keys=False)
        f.write("\n")


def _esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chart_groups(t):
    """[(group label, {config: ratio or None})] for boot, CPU and memory."""
    groups = []
    boot = _row(t, "linux_boot")
    if not boot or all(boot.cells[c].get("ratio_to_bare") is None for c in HV):
        boot = _row(t, "bench.guest_entry")
    for row, label in ((boot, "boot: " + ("Linux" if boot and boot.key == "linux_boot"
                                            else "test guest entry")),
                       (_row(t, "bench.cpu_crc32"), "CPU (CRC-32)"),
                       (_row(t, "bench.mem_chase"), "memory (page chase)")):
        groups.append((label, {c: row.cells[c].get("ratio_to_bare") if row else None for c in HV}))
    return groups


def write_svg(t, path):
    """A bar chart of passthrough/bare and trustvisor/bare, hand-written SVG."""
    groups = chart_groups(t)
    ratios = [v for _, g in groups for v in g.values() if v is not None]
    need = max([1.2] + [v * 1.1 for v in ratios])
    step = next(s for s in (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 1e9) if need / s <= 6)
    top = step * -(-need // step)
    W, H, left, right, y0, y1 = 640, 360, 50, 80, 60, 300  # y0 top of plot, y1 axis
    colors = {"passthrough": "#4477aa", "trustvisor": "#cc6677"}

    def y(v):
        return y1 - (y1 - y0) * v / top

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">' % (W, H, W, H),
           '<rect width="%d" height="%d" fill="white"/>' % (W, H),
           '<text x="%d" y="22" font-size="15" text-anchor="middle">hv compare: ratio to bare '
           '(lower is faster)</text>' % (W // 2),
           '<text x="%d" y="40" text-anchor="middle" fill="#555">%s</text>' % (W // 2, _esc(
               "%s, %d CPU(s), commit %s, %s" % (t.meta["emulator"], t.meta["cpus"],
                                                 t.meta["git_commit"], t.meta["date"])))]
    for i in range(int(round(top / step)) + 1):
        v = step * i
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' %
                   (left, W - right, y(v), y(v)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%.2f</text>' % (left - 6, y(v) + 4, v))
    out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="black" stroke-dasharray="5,3"/>'
               % (left, W - right, y(1.0), y(1.0)))
    out.append('<text x="%d" y="%.1f">bare = 1.0</text>' % (W - right + 6, y(1.0) + 4))
    gw = (W - left - right) / len(groups)
    bw = gw / 4
    for gi, (label, vals) in enumerate(groups):
        gx = left + gi * gw
        for ci, config in enumerate(HV):
            x = gx + bw * (1 + ci * 1.1)
            v = vals[config]
            if v is None:
                out.append('<text x="%.1f" y="%.1f" text-anchor="middle" fill="#888">n/a</text>'
                           % (x + bw / 2, y1 - 6))
                continue
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' %
                       (x, y(v), bw, y1 - y(v), colors[config]))
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle">%.3f</text>' %
                       (x + bw / 2, y(v) - 4, v))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' %
                   (gx + gw / 2, y1 + 18, _esc(label)))
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (left, W - right, y1, y1))
    for ci, config in enumerate(HV):
        lx = left + 10 + ci * 150
        out.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' %
                   (lx, H - 28, colors[config]))
        out.append('<text x="%d" y="%d">%s / bare</text>' % (lx + 18, H - 18, config))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
