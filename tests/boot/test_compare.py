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
           "--json", JSON_PATH]
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
        by_label = {v["label"]: v for v in doc[config].values()}
        if len(by_label) != len(rows):
            raise AssertionError("%s: %d JSON figures, %d table rows" % (config, len(by_label),
                                                                         len(rows)))
        for section, label, unit, cells in rows:
            cell = by_label.get(label)
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
    svg = os.path.splitext(JSON_PATH)[0] + ".svg"
    bars = [e for e in xml.dom.minidom.parse(svg).getElementsByTagName("rect")
            if e.getAttribute("fill") in ("#4477aa", "#cc6677") and
            float(e.getAttribute("height")) > 12]
    if len(bars) != 6:  # 3 groups x (passthrough, trustvisor); legend swatches are 12 high
        raise AssertionError("SVG has %d ratio bars, expected 6" % len(bars))


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
    if rows["bench.quiesce_round"].cells["passthrough"]["text"] != "n/a (issue 4)":
        raise AssertionError("placeholder: %r" % rows["bench.quiesce_round"].cells)
    if rows["bench.cpu_crc32"].cells["trustvisor"]["text"] != "n/a (run failed)":
        raise AssertionError("failed run: %r" % rows["bench.cpu_crc32"].cells["trustvisor"])
    if rows["exits.bench.total"].cells["bare"]["text"] != "-":
        raise AssertionError("bare exits: %r" % rows["exits.bench.total"].cells["bare"])
    if not any("trustvisor bench run failed: timeout" in n for n in t.notes):
        raise AssertionError("notes: %r" % t.notes)
    if "99.0% of bare speed: met" not in t.targets[0][1]:
        raise AssertionError("CPU target: %r" % (t.targets[0],))
    # The rendered table and its JSON agree, row by row.
    head, parsed = parse_table(compare_report.render_text(t))
    doc = compare_report.to_json(t)
    for section, label, unit, texts in parsed:
        for config in CONFIGS:
            match = [v for v in doc[config].values() if v["label"] == label]
            check_cell("%s %r" % (config, label), texts[config], match[0])
