"""`./hv compare --quick`: one table with bare, passthrough and trustvisor columns, and
a JSON file holding the same figures (tools/compare.py, tools/compare_report.py).

The boot test runs the real command (the test guest's bench workloads in Bochs with
one CPU, about a minute); the others feed the parsers serial text and check that
any BENCH line becomes a row.
"""

import json
import os
import re
import subprocess
import sys
import time
import xml.dom.minidom

import harness

from tools import compare, compare_report  # noqa: E402  (harness put ROOT on sys.path)

JSON_PATH = os.path.join(harness.ROOT, "out", "compare-test.json")
CONFIGS = ["bare", "passthrough", "trustvisor"]
_CELL = re.compile(r"^(-?[\d.]+)(?: \[(-?[\d.]+)-(-?[\d.]+)\])?(?: \(([\d.]+)x\))?$")


def parse_table(text):
    """(header cells, [(section, label, unit, {config: cell text})]) of the Markdown table."""
    lines = [l for l in text.splitlines() if l.startswith("|")]
    if len(lines) < 3:
        raise AssertionError("no table in the output:\n" + text)
    split = [[c.strip() for c in l.strip().strip("|").split("|")] for l in lines]
    head, rows, section = split[0], [], None
    for cols in split[2:]:
        if cols[0].startswith("**"):
            section = cols[0].strip("*")
            continue
        rows.append((section, cols[0], cols[1], dict(zip(head[2:], cols[2:]))))
    return head, rows


def _num(s):
    return float(s)


def check_cell(where, text, cell):
    """The printed cell and its JSON entry say the same thing."""
    if text == "-" or text.startswith("n/a"):
        if cell["value"] is not None:
            raise AssertionError("%s: table says %r, JSON value %r" % (where, text, cell["value"]))
        want = "does not apply" if text == "-" else text
        if cell.get("note") != want:
            raise AssertionError("%s: table says %r, JSON note %r" % (where, text,
                                                                     cell.get("note")))
        return
    m = _CELL.match(text)
    if not m:
        raise AssertionError("%s: cannot parse cell %r" % (where, text))
    if cell["value"] is None or _num(m.group(1)) != cell["value"]:
        raise AssertionError("%s: table %s, JSON %r" % (where, m.group(1), cell["value"]))
    if m.group(2) and (_num(m.group(2)), _num(m.group(3))) != (cell.get("min"), cell.get("max")):
        raise AssertionError("%s: spread %s-%s, JSON %r-%r" % (where, m.group(2), m.group(3),
                                                               cell.get("min"), cell.get("max")))
    ratio = _num(m.group(4)) if m.group(4) else None
    if ratio != cell.get("ratio_to_bare"):
        raise AssertionError("%s: ratio %r, JSON %r" % (where, ratio, cell.get("ratio_to_bare")))


def test_quick_compare_table_matches_json():
    if os.path.exists(JSON_PATH):
        os.unlink(JSON_PATH)
    cmd = [sys.executable, os.path.join(harness.ROOT, "hv"), "compare", "--quick", "--cpus", "1",
           "--json", JSON_PATH, "--format", "markdown"]
    r = subprocess.run(cmd, cwd=harness.ROOT, capture_output=True, text=True, timeout=1800)
    print(r.stdout)
    if r.returncode != 0:
        raise AssertionError("./hv compare exited %d\n%s\n%s" % (r.returncode, r.stdout,
                                                                r.stderr[-3000:]))
    head, rows = parse_table(r.stdout)
    if head != ["metric", "unit"] + CONFIGS:
        raise AssertionError("table columns %r" % head)
    with open(JSON_PATH) as f:
        doc = json.load(f)
    if doc["metadata"]["emulator"] != "bochs" or doc["metadata"]["cpus"] != 1:
        raise AssertionError("metadata %r" % doc["metadata"])
    for config in CONFIGS:
        # Labels repeat between sections (the exit reasons of each run).
        by_label = {(v["section"], v["label"]): v for v in doc[config].values()}
        if len(by_label) != len(rows):
            raise AssertionError("%s: %d JSON figures, %d table rows" % (config, len(by_label),
                                                                         len(rows)))
        for section, label, unit, cells in rows:
            cell = by_label.get((section, label))
            if cell is None:
                raise AssertionError("%s: row %r not in the JSON" % (config, label))
            if cell["unit"] != unit or cell["section"] != section:
                raise AssertionError("%s %r: unit/section %r/%r vs JSON %r/%r" % (
                    config, label, unit, section, cell["unit"], cell["section"]))
            check_cell("%s %r" % (config, label), cells[config], cell)
    # The workloads ran in every configuration; ratios are value / bare.
    for key in ("bench.guest_entry", "bench.cpu_crc32", "bench.mem_chase"):
        bare = doc["bare"][key]["value"]
        if not bare:
            raise AssertionError("bare %s: %r" % (key, doc["bare"][key]))
        for config in CONFIGS[1:]:
            c = doc[config][key]
            if c["value"] is None or c["ratio_to_bare"] != round(c["value"] / bare, 3):
                raise AssertionError("%s %s: %r (bare %r)" % (config, key, c, bare))
    # Under a hypervisor the guest starts later (its GRUB runs after the hypervisor's).
    if not doc["passthrough"]["bench.guest_entry"]["value"] > bare_entry(doc):
        raise AssertionError("passthrough reached the guest no later than bare")
    # The hypervisors printed exit counters; bare has none.
    for config in CONFIGS[1:]:
        total = doc[config].get("exits.bench.total", {}).get("value")
        if not total or total <= 0:
            raise AssertionError("%s: no VM exit counters in the JSON" % config)
    if doc["bare"]["exits.bench.total"]["value"] is not None:
        raise AssertionError("bare has VM exits")
    # NMI latency measured by the guest everywhere; the hypervisor's own lines under both.
    for config in CONFIGS:
        want = ["nmi_latency"] + (["nmi_delivery", "quiesce_round"] if config != "bare" else [])
        for name in want:
            values = figures(doc, config, name)
            if not values or not all(v > 0 for v in values):
                raise AssertionError("%s %s: %r" % (config, name, values))
    # The PAL cases ran under TrustVisor (`bench pal`): the null call's target figures.
    exits = figures(doc, "trustvisor", "pal_null_call", "exits")
    stops = figures(doc, "trustvisor", "pal_null_call", "quiesce")
    if len(exits) != 1 or not 1 <= exits[0] <= 4 or stops != [0]:
        raise AssertionError("null PAL call: exits %r, quiesce rounds %r" % (exits, stops))
    if not figures(doc, "trustvisor", "pal_null_call"):
        raise AssertionError("null PAL call without its ticks")
    for config in CONFIGS[:2]:
        if figures(doc, config, "pal_null_call"):
            raise AssertionError("%s has PAL figures" % config)
    svg = os.path.splitext(JSON_PATH)[0] + ".svg"
    bars = [e for e in xml.dom.minidom.parse(svg).getElementsByTagName("rect")
            if e.getAttribute("fill") in ("#4477aa", "#cc6677") and
            float(e.getAttribute("height")) > 12]
    if len(bars) != 6:  # 3 groups x (passthrough, trustvisor); legend swatches are 12 high
        raise AssertionError("SVG has %d ratio bars, expected 6" % len(bars))


def figures(doc, config, name, extra=None):
    """The numeric values of every JSON figure of BENCH name (any cpus=N), or extra k."""
    out = []
    for key, cell in doc[config].items():
        if key.startswith("bench.") and cell["value"] is not None:
            base, _, e = compare_report.split_key(key)
            if base == name and e == extra:
                out.append(cell["value"])
    return out


def bare_entry(doc):
    return doc["bare"]["bench.guest_entry"]["value"]


SERIAL = """testguest: start
BENCH: cpu_crc32 ticks=1000
BENCH: mem_chase ticks=50
BENCH: mem_chase ticks=70
BENCH: mem_chase ticks=60
hv: bench: quiesce_round ticks=4000 cpus=2 exits=3
BENCH: widget ticks=12
hv: cpu 0 exits: CPUID=10 VMCALL=2
hv: cpu 1 exits: CPUID=5 EPT-violation=1"""


def test_bench_lines_become_rows():
    figs = compare.bench_figures(SERIAL)
    want = {"bench.cpu_crc32": 1000, "bench.mem_chase": 60, "bench.quiesce_round cpus=2": 4000,
            "bench.quiesce_round cpus=2 exits": 3.0, "bench.widget": 12}
    if figs != want:
        raise AssertionError("bench_figures: %r" % figs)
    exits = compare.exit_counts(SERIAL)
    if exits != {"CPUID": 15, "VMCALL": 2, "EPT-violation": 1}:
        raise AssertionError("exit_counts: %r" % exits)
    if compare.exit_counts("no counters here") is not None:
        raise AssertionError("exit_counts invented counters")

    def cell(v):
        return {"value": v, "min": v, "max": v, "n": 1}

    cells = {"bare": {"bench.cpu_crc32": cell(1000), "bench.widget": cell(10)},
             "passthrough": {"bench.cpu_crc32": cell(1010), "bench.widget": cell(12),
                             "bench.quiesce_round cpus=2": cell(4000),
                             "exits.bench.total": cell(0.5)},
             "trustvisor": {}}
    meta = {"emulator": "bochs", "cpus": 2, "mem_mb": 256, "runs": 1, "quick": True,
            "date": "d", "git_commit": "c", "wall_seconds": 1.0, "ips": 200000000}
    t = compare_report.build(cells, {"trustvisor": {"bench": "timeout"}}, meta)
    rows = {r.key: r for r in t.rows}
    if rows["bench.widget"].section != "other" or rows["bench.widget"].cells["passthrough"][
            "text"] != "12 (1.200x)":
        raise AssertionError("unknown BENCH line: %r" % rows["bench.widget"].cells)
    q = rows["bench.quiesce_round cpus=2"]
    if (q.section != "nmi" or q.cells["passthrough"]["value"] != 4000
            or q.cells["bare"]["text"] != "-"):
        raise AssertionError("quiesce_round cpus=2: %r" % q.cells)
    if "bench.quiesce_round" in rows:  # no placeholder beside the real row
        raise AssertionError("placeholder: %r" % rows["bench.quiesce_round"].cells)
    if rows["bench.nmi_latency"].cells["passthrough"]["text"] != "n/a":
        raise AssertionError("nmi_latency placeholder: %r" % rows["bench.nmi_latency"].cells)
    if rows["bench.pal_null_call"].cells["trustvisor"]["text"] != "n/a (issue 5)":
        raise AssertionError("PAL placeholder: %r" % rows["bench.pal_null_call"].cells)
    if rows["bench.cpu_crc32"].cells["trustvisor"]["text"] != "n/a (run failed)":
        raise AssertionError("failed run: %r" % rows["bench.cpu_crc32"].cells["trustvisor"])
    if rows["exits.bench.total"].cells["bare"]["text"] != "-":
        raise AssertionError("bare exits: %r" % rows["exits.bench.total"].cells["bare"])
    if not any("trustvisor bench run failed: timeout" in n for n in t.notes):
        raise AssertionError("notes: %r" % t.notes)
    if "99.0% of bare speed: met" not in t.targets[0][1]:
        raise AssertionError("CPU target: %r" % (t.targets[0],))
    # The rendered table and its JSON agree, row by row.
    head, parsed = parse_table(compare_report.render_markdown(t))
    doc = compare_report.to_json(t)
    for section, label, unit, texts in parsed:
        for config in CONFIGS:
            match = [v for v in doc[config].values() if v["label"] == label]
            check_cell("%s %r" % (config, label), texts[config], match[0])


PAL_OPS = ("pal_register", "pal_null_call", "pal_unregister", "utpm_pcr_read", "utpm_extend",
           "utpm_seal", "utpm_unseal", "utpm_quote", "utpm_get_random")


def pal_serial(cpus, null_ticks, null_quiesce=0):
    """The PAL lines of a trustvisor `bench pal` run (guest/main.c's PAL cases)."""
    lines = ["BENCH: nmi_latency ticks=400", "hv: bench: nmi_delivery ticks=150 samples=15",
             "hv: bench: quiesce_round ticks=355 cpus=%d" % cpus]
    for i, op in enumerate(PAL_OPS):
        null = op == "pal_null_call"
        lines.append("BENCH: %s ticks=%d exits=%d quiesce=%d cpus=%d" % (
            op, null_ticks if null else 1000 * (i + 1), 2 if null else 5,
            null_quiesce if null else 1, cpus))
    return "\n".join(lines) + "\nTESTGUEST: DONE pass=9 fail=0\n"


class _Result:
    def __init__(self, serial):
        self.serial, self.status, self.detail = serial, "poweroff", None
        self.ticks, self.seconds, self.emulator_log = 10 ** 9, 1.0, None


def test_pal_rows_and_cpu_scaling():
    class Args:
        quick, runs, cpus, workloads = False, 1, 2, compare.WORKLOADS
    images = {"bare": None, "passthrough": "p.iso", "trustvisor": "t.iso"}
    disks = {"bench": "b.img", "pal": "p.img", "linux": "l.img"}
    jobs = compare.plan(Args, images, disks, {})
    pal = [j for j in jobs if j.workload == "pal"]
    if (sorted(j.cpus for j in pal) != [1, 2, 4] or {j.config for j in pal} != {"trustvisor"}
            or {j.disk for j in pal} != {"p.img"}):
        raise AssertionError("PAL runs: %r" % [j.name for j in jobs])
    Args.quick, Args.workloads = True, ("bench", "pal")
    quick = [(j.config, j.cpus) for j in compare.plan(Args, images, disks, {})
             if j.workload == "pal"]
    if quick != [("trustvisor", 2)]:
        raise AssertionError("--quick PAL runs: %r" % quick)
    Args.quick, Args.workloads = False, compare.WORKLOADS
    # Each run's figures: a pal run keeps only its PAL lines.
    serial = {1: pal_serial(1, 5000), 2: pal_serial(2, 5050), 4: pal_serial(4, 5200, 1)}
    for j in jobs:
        j.result = _Result(serial[j.cpus] if j.workload == "pal" else
                           "BENCH: nmi_latency ticks=%d\nTESTGUEST: DONE pass=3 fail=0\n" %
                           (30 if j.config == "bare" else 400))
        if j.workload == "linux":
            j.problem = "n/a: not run here"
        else:
            compare.extract(j, "bochs", None)
    scaled = pal[0]
    if not scaled.figures or not all(k.startswith("bench.pal_") or k.startswith("bench.utpm_")
                                     for k in scaled.figures):
        raise AssertionError("scaling run figures: %r" % scaled.figures)
    cells, problems = compare.aggregate(jobs, Args, {})
    meta = {"emulator": "bochs", "cpus": 2, "mem_mb": 256, "runs": 1, "quick": True,
            "date": "d", "git_commit": "c", "wall_seconds": 1.0, "ips": 200000000,
            "pal_cpus": [1, 2, 4]}
    t = compare_report.build(cells, problems, meta)
    rows = {r.key: r for r in t.rows}
    got = [rows["bench.pal_null_call cpus=%d" % n].cells["trustvisor"]["value"] for n in (1, 2, 4)]
    if got != [5000, 5050, 5200]:
        raise AssertionError("null call ticks at 1/2/4 CPUs: %r" % got)
    if rows["bench.pal_null_call cpus=2 exits"].cells["trustvisor"]["value"] != 2:
        raise AssertionError("exits row: %r" % rows["bench.pal_null_call cpus=2 exits"].cells)
    if "bench.pal_null_call cpus=4 exits" in rows or "bench.pal_null_call" in rows:
        raise AssertionError("scaling-run extras or a placeholder became rows")
    if rows["bench.pal_null_call cpus=2"].cells["passthrough"]["text"] != "-":
        raise AssertionError("PAL row under passthrough: %r" %
                             rows["bench.pal_null_call cpus=2"].cells)
    order = [r.key for r in t.rows if r.section == "pal"]
    if order[:5] != ["bench.pal_register cpus=1", "bench.pal_register cpus=2",
                     "bench.pal_register cpus=4", "bench.pal_register cpus=2 exits",
                     "bench.pal_register cpus=2 quiesce"]:
        raise AssertionError("PAL row order: %r" % order[:5])
    targets = {what: (text, v) for what, text, v in t.targets}
    null = targets["null PAL call: <= 4 VM exits, no all-CPU stop (2 CPUs)"]
    if null[0] != "2 VM exits, 0 quiesce rounds: met":
        raise AssertionError("null call target: %r" % (null,))
    flat = targets["null PAL call ticks at 1/2/4 CPUs"]
    if flat[1] != round(5200 / 5000, 3) or "4-CPU/1-CPU 1.040x" not in flat[0]:
        raise AssertionError("flatness: %r" % (flat,))
    if targets["null PAL call quiesce rounds (all-CPU stops) at 1/2/4 CPUs"][0] != "0/0/1":
        raise AssertionError("targets: %r" % t.targets)
    if not any(n.startswith("pal_null_call: 1 quiesce with 4 CPUs") for n in t.notes):
        raise AssertionError("no note on the 4-CPU quiesce round: %r" % t.notes)
    if not any(n.startswith("DMA protection (libiommu): these runs have no IOMMU") for n in t.notes):
        raise AssertionError("no note on the IOMMU cost missing from PAL rows: %r" % t.notes)
    # Every configuration printed the guest's NMI latency; the hypervisor's are HV-only.
    lat = rows["bench.nmi_latency"].cells
    if lat["bare"]["value"] != 30 or lat["trustvisor"]["text"] != "400 (13.333x)" or \
            "bench.quiesce_round cpus=1" in rows:  # pal runs: PAL figures only
        raise AssertionError("nmi_latency: %r" % lat)
    if rows["bench.nmi_delivery"].cells["bare"]["text"] != "-":
        raise AssertionError("nmi_delivery bare: %r" % rows["bench.nmi_delivery"].cells)


# A passthrough run's serial log: the guest's entry, then at power-off the phases.
PHASES = """BENCH: guest_entry ticks=150000000
TESTGUEST: DONE pass=1 fail=0
hv: phase entry tsc=53000000
hv: phase vmx tsc=55000000
hv: phase widget tsc=55500000
hv: phase launch tsc=60000000
hv: cpu 0 exits: CPUID=10
hv: phase entry tsc=1
"""


def test_startup_phases_become_rows():
    if compare.startup_phases(PHASES) != [("entry", 53000000), ("vmx", 55000000),
                                          ("widget", 55500000), ("launch", 60000000)]:
        raise AssertionError("phases: %r" % compare.startup_phases(PHASES))

    class Args:
        quick, runs, cpus, workloads, configs = False, 1, 2, ("linux", "bench"), \
            ("bare", "passthrough")
    images = {"bare": None, "passthrough": "p.iso"}
    jobs = compare.plan(Args, images, {"bench": "b.img", "linux": "l.img"},
                        {"trustvisor": "n/a: not run (--configs)"})
    if sorted((j.config, j.workload) for j in jobs) != [
            ("bare", "bench"), ("bare", "linux"), ("passthrough", "bench"),
            ("passthrough", "linux")]:
        raise AssertionError("--configs/--workloads runs: %r" % [j.name for j in jobs])
    for j in jobs:
        serial = PHASES if j.config == "passthrough" else \
            "BENCH: guest_entry ticks=83000000\nTESTGUEST: DONE pass=1 fail=0\n"
        if j.workload == "linux":
            serial = serial.replace("TESTGUEST: DONE pass=1 fail=0", compare.LINUX_DONE)
        j.result = _Result(serial)
        j.figures = compare.startup_figures(compare.startup_phases(serial), j.workload, (
            6400000000 if j.config == "bare" else 6460000000) if j.workload == "linux" else
            compare.bench_figures(serial)["bench.guest_entry"])
    pt = [j for j in jobs if j.config == "passthrough" and j.workload == "bench"][0].figures
    want = {"startup.entry": 53000000, "startup.vmx": 2000000, "startup.widget": 500000,
            "startup.launch": 4500000, "startup.total": 7000000,
            "startup.guest.bench": 90000000}
    if pt != want:
        raise AssertionError("passthrough start-up figures: %r" % pt)
    cells, problems = compare.aggregate(jobs, Args, {"trustvisor": "n/a: not run (--configs)"})
    meta = {"emulator": "bochs", "cpus": 2, "mem_mb": 256, "runs": 1, "quick": False,
            "date": "d", "git_commit": "c", "wall_seconds": 1.0, "ips": 200000000}
    t = compare_report.build(cells, problems, meta)
    rows = [r for r in t.rows if r.section == "startup"]
    order = [r.key[len("startup."):] for r in rows]
    if order != ["entry", "vmx", "launch", "total", "guest.bench", "guest.linux", "widget"]:
        raise AssertionError("start-up row order: %r" % order)
    by = {r.key: r.cells for r in rows}
    if by["startup.entry"]["bare"]["text"] != "-" or \
            by["startup.entry"]["passthrough"]["text"] != "53000000":
        raise AssertionError("entry row: %r" % by["startup.entry"])
    # The guest's own boot: bare from power-on, passthrough from the hypervisor's launch.
    if by["startup.guest.bench"]["bare"]["value"] != 83000000 or \
            by["startup.guest.bench"]["passthrough"]["text"] != "90000000 (1.084x)":
        raise AssertionError("guest's own boot: %r" % by["startup.guest.bench"])
    if by["startup.guest.linux"]["passthrough"]["value"] != 6400000000:
        raise AssertionError("Linux's own boot: %r" % by["startup.guest.linux"])
    if by["startup.widget"]["passthrough"]["value"] != 500000:
        raise AssertionError("unknown phase: %r" % by["startup.widget"])
    if by["startup.total"]["trustvisor"]["text"] != "n/a: not run (--configs)":
        raise AssertionError("skipped configuration: %r" % by["startup.total"]["trustvisor"])
    if [r for r in t.rows if r.key == "bench.pal_null_call"][0].cells["trustvisor"][
            "text"] != "n/a: not run (--configs)":
        raise AssertionError("PAL placeholder of a skipped configuration")
    head, parsed = parse_table(compare_report.render_markdown(t))
    doc = compare_report.to_json(t)
    if doc["passthrough"]["startup.total"]["value"] != 7000000:
        raise AssertionError("JSON: %r" % doc["passthrough"]["startup.total"])
    for section, label, unit, texts in parsed:
        for config in CONFIGS:
            match = [v for v in doc[config].values() if v["label"] == label]
            check_cell("%s %r" % (config, label), texts[config], match[0])
    if compare._subset("passthrough,bare", compare.CONFIGS, "--configs") != ("bare",
                                                                           "passthrough"):
        raise AssertionError("--configs parsing")
    try:
        compare._subset("linux,bogus", compare.WORKLOADS, "--workloads")
    except compare.CompareError:
        pass
    else:
        raise AssertionError("--workloads took an unknown name")


def test_retry_only_when_the_emulator_did_not_start():
    dead = _Result("")
    dead.status, dead.ticks, dead.seconds = "error", 0, 0.0
    if not compare._failed_to_start(dead):
        raise AssertionError("an emulator that died at start is not retried")
    for status, serial in (("error", "testguest: start\n"), ("timeout", ""), ("poweroff", "")):
        r = _Result(serial)
        r.status, r.ticks = status, 0
        if compare._failed_to_start(r):
            raise AssertionError("%s with serial %r would be retried" % (status, serial))


def _big_table():
    def cell(v):
        return {"value": v, "min": v, "max": v, "n": 1}

    cells = {"bare": {"linux_boot": cell(6420135600), "bench.cpu_crc32": cell(148902920)},
             "passthrough": {"linux_boot": cell(6506626490), "bench.cpu_crc32": cell(148902921),
                             "bench.exit_ept": cell(5363)},
             "trustvisor": {"linux_boot": cell(6631289682), "bench.cpu_crc32": cell(148902925)}}
    meta = {"emulator": "bochs", "cpus": 2, "mem_mb": 256, "runs": 1, "quick": False,
            "date": "d", "git_commit": "c", "wall_seconds": 1.0, "ips": 200000000}
    return compare_report.build(cells, {}, meta)


def test_text_table_fits_100_columns_with_separators():
    t = _big_table()
    text = compare_report.render(t, "text")
    table = text.split("\nnote:")[0].split("targets (")[0]
    wide = [l for l in text.splitlines() if len(l) > 100]
    if wide:
        raise AssertionError("lines over 100 columns:\n" + "\n".join(wide))
    if "**" in text or "|" in table:
        raise AssertionError("Markdown in the text table:\n" + text)
    if "6,420,135,600" not in text or "6,506,626,490 (1.013x)" not in text:
        raise AssertionError("no thousands separators:\n" + text)
    # Numbers are right-aligned: each value column ends at one place.
    rows = [l for l in table.splitlines() if "6,4" in l or "148,902,92" in l]
    ends = {len(l) for l in rows}
    if len(rows) < 2 or len(ends) != 1:
        raise AssertionError("value columns not aligned:\n" + "\n".join(rows))
    # Sections are plain headings.
    if "\none VM exit, round trip from a guest loop" not in text:
        raise AssertionError("section heading missing:\n" + text)


def test_csv_has_every_row_and_the_json_values():
    import csv
    import io

    t = _big_table()
    rows = list(csv.reader(io.StringIO(compare_report.render(t, "csv"))))
    head, body = rows[0], rows[1:]
    if head[:3] != ["section", "metric", "unit"] or "passthrough_ratio_to_bare" not in head:
        raise AssertionError("csv header %r" % head)
    if len(body) != len(t.rows):
        raise AssertionError("%d csv rows for %d table rows" % (len(body), len(t.rows)))
    doc = compare_report.to_json(t)
    col = head.index("passthrough")
    for r, line in zip(t.rows, body):
        want = doc["passthrough"][r.key]["value"]
        got = line[col]
        if (want is None and got != "") or (want is not None and float(got) != want):
            raise AssertionError("%s: csv %r, JSON %r" % (r.key, got, want))


def test_ctrl_c_keeps_the_finished_runs():
    """One Ctrl-C: the finished runs stay, running and waiting ones read 'n/a:
    interrupted', the emulators are killed, and run_jobs says it was interrupted."""
    import _thread
    import io
    import signal
    import threading

    class FakeJob:
        def __init__(self, i):
            self.name, self.started, self.result, self.problem = "job%d" % i, None, None, None

    class Ended:
        def __init__(self, status):
            self.status = status

    jobs = [FakeJob(i) for i in range(4)]
    killed = threading.Event()

    def fake_run(job, args, progress):
        job.started = time.monotonic()
        with progress.lock:
            progress.running.append(job)
        if job is jobs[0]:
            time.sleep(0.3)  # job1 is running by now
            job.result = Ended("poweroff")
            _thread.interrupt_main()  # Ctrl-C while job1 runs and job2, job3 wait
            time.sleep(0.5)  # the main thread takes it before this worker asks for more
        else:
            killed.wait(20)  # until run_jobs kills the emulators
            job.result = Ended("error")
        with progress.lock:
            progress.running.remove(job)

    class Args:
        jobs = 2

    saved = compare._run_job, compare.runlib.kill_running
    compare._run_job, compare.runlib.kill_running = fake_run, killed.set
    # interrupt_main() does nothing while SIGINT is ignored (as in a job a shell put in
    # the background): Python's own handler for the test's length.
    saved_sigint = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        interrupted = compare.run_jobs(jobs, Args, compare.Progress(4, stream=io.StringIO()))
    finally:
        compare._run_job, compare.runlib.kill_running = saved
        signal.signal(signal.SIGINT, saved_sigint)
    if not interrupted or not killed.is_set():
        raise AssertionError("interrupted=%r killed=%r" % (interrupted, killed.is_set()))
    got = [(j.started is not None, j.problem) for j in jobs]
    want = [(True, None), (True, "n/a: interrupted"), (False, "n/a: interrupted"),
            (False, "n/a: interrupted")]
    if got != want:
        raise AssertionError("jobs after Ctrl-C: %r" % got)
