"""The results as Markdown: one row per target and workload, then a section per part,
and the rewriting of the results section of ``benchmarks/README.md`` (``--write``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
from collections import Counter
from collections.abc import Sequence

from common import GIB, IDLE_WAIT, med_of, write_readme_section
from full import HAND_TOOLS
from overhead import OverheadResult
from overhead import render as render_overhead
from parts import PARTS, WorkloadResult

RESULTS_BEGIN = "<!-- results:begin (bench.py --write rewrites this section) -->"
RESULTS_END = "<!-- results:end -->"


def mib(kb: float) -> str:
    return f"{kb / 1024:,.0f} MiB"


def med(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f}"


def outcome(ok: bool | str | None) -> str:
    """pass / **FAIL**; n/a when not measured; a word for a row that has no target."""
    if isinstance(ok, str):
        return ok
    return "n/a" if ok is None else ("pass" if ok else "**FAIL**")


# target, what, workload, measured, goal, ok
Row = tuple[str, str, str, str, str, bool | str | None]


def target_rows(results: list[WorkloadResult], overhead: OverheadResult | None) -> list[Row]:
    """One row per target and workload, in the issue's order."""
    rows: list[Row] = []
    for r in results:
        rows += full_rows(r) + cache_rows(r) + diff_rows(r)
    if overhead is not None:
        rows.append(
            (
                "2b",
                f"gate steps after the scanners, {overhead.findings:,} findings",
                "synthetic",
                f"{overhead.total:.2f} s",
                "< 1 s",
                overhead.passed,
            )
        )
    order = ("1", "2a", "2b", "3", "4", "5")
    return sorted(rows, key=lambda row: order.index(row[0]))  # stable: workloads keep order


def full_rows(r: WorkloadResult) -> list[Row]:
    """Targets 1, 2a and 5."""
    f = r.full
    if not f:
        return []
    seconds, share = f.overhead()
    return [
        (
            "1",
            "full scan / the same scanners by hand",
            r.key,
            f"{f.ratio():.2f}",
            "≤ 0.60",
            f.ratio() <= 0.60,
        ),
        (
            "2a",
            "gate overhead: (wall - slowest scanner) / wall",
            r.key,
            f"{share:.1%} ({seconds:.1f} s)",
            "< 3 %",
            share < 0.03,
        ),
        (
            "5",
            "peak memory, gate process tree",
            r.key,
            mib(f.rss_median()),
            "< 1.5 GiB",
            f.rss_median() < 1.5 * GIB,
        ),
    ]


def cache_rows(r: WorkloadResult) -> list[Row]:
    """Target 3: warm / cold, and the three checks of the same findings."""
    c = r.cache
    if c and not c.supported:
        return [("3", "results cache", r.key, "not supported by this policy-gate", "", None)]
    if not c:
        return []
    return [
        (
            "3",
            "warm re-run / cold run (`--cache-dir`)",
            r.key,
            f"{c.ratio():.2f}",
            "≤ 0.10",
            c.ratio() <= 0.10,
        ),
        (
            "3",
            "warm run: findings, verdict, summary = cold run's",
            r.key,
            "identical" if not c.mismatches else "; ".join(c.mismatches[:2]),
            "identical",
            not c.mismatches,
        ),
        (
            "3",
            "one file changed: file-local scanners rescan ≤ 1 file",
            r.key,
            f"{sum(c.rescanned_ok)} of {len(c.rescanned_ok)} run(s)",
            "every run",
            all(c.rescanned_ok),
        ),
        (
            "3",
            "one file changed: its new finding reported, other files' unchanged",
            r.key,
            f"{c.complete_runs()} of {len(c.new_finding)} run(s)",
            "every run",
            all(c.new_finding) and all(c.others_unchanged),
        ),
    ]


def diff_rows(r: WorkloadResult) -> list[Row]:
    """Target 4: set on Django; the other workloads are shown for reference."""
    d = r.diff
    if not d:
        return []
    on_django = r.key == "django"
    return [
        (
            "4",
            "diff mode, one file changed / full scan",
            r.key,
            f"{d.ratio():.3f}",
            "≤ 0.05" if on_django else "(target set on Django)",
            d.ratio() <= 0.05 if on_django else "reference",
        )
    ]


def render(
    results: list[WorkloadResult],
    args: argparse.Namespace,
    parts: Sequence[str],
    overhead: OverheadResult | None,
    osv_load: float | None,
) -> str:
    cores = os.cpu_count()
    lines = [
        f"Measured {dt.date.today().isoformat()} on {platform.node() or 'this machine'}: "
        f"**{cores} cores** (`os.cpu_count()`), Linux {platform.release()}, Python "
        f"{platform.python_version()}; median of {args.runs} run(s)"
        + (f", `--jobs {args.jobs}`" if args.jobs else "")
        + f"; parts: {', '.join(parts)}; workloads: "
        + (", ".join(r.key for r in results) or "none")
        + ". Times are wall-clock seconds.",
        "",
        "Reproduce: `" + reproduce(args) + "`",
        "",
        "| target | measure | workload | measured | goal | result |",
        "|---|---|---|---:|---|---|",
        *(
            f"| {t} | {what} | {key} | {value} | {goal} | {outcome(ok)} |"
            for t, what, key, value, goal, ok in target_rows(results, overhead)
        ),
    ]
    full = [r for r in results if r.full]
    if full:
        lines += render_full(full)
    if overhead is not None:
        lines += [
            "",
            "### 2b. The gate's own steps on synthetic findings (`overhead.py`)",
            "",
            render_overhead(overhead).rstrip(),
        ]
    cached = [r for r in results if r.cache]
    if cached:
        lines += render_cache(cached)
    diffs = [r for r in results if r.diff]
    if diffs:
        lines += render_diff(diffs)
    notes = [f"- {r.key}: {n}" for r in results for n in r.notes]
    if osv_load is not None and full:
        notes.append(
            f"- The by-hand pip-audit used an in-process OSV server over the same database; "
            f"loading it took {osv_load:.1f} s, not counted in the by-hand times (the gate "
            "loads it on every run, inside its time)."
        )
    if notes:
        lines += ["", "Notes from the runs:", "", *notes]
    return "\n".join(lines) + "\n"


def reproduce(args: argparse.Namespace) -> str:
    argv = ["python", "benchmarks/bench.py", "--runs", str(args.runs)]
    if args.jobs:
        argv += ["--jobs", str(args.jobs)]
    for key in args.workload or ():
        argv += ["--workload", key]
    if args.only != list(PARTS):
        argv += ["--only", ",".join(args.only)]
    if args.overhead_findings != 10_000:
        argv += ["--overhead-findings", str(args.overhead_findings)]
    if args.overhead_runs is not None:
        argv += ["--overhead-runs", str(args.overhead_runs)]
    if args.idle_wait != IDLE_WAIT:
        argv += ["--idle-wait", f"{args.idle_wait:g}"]
    return " ".join(argv) + (" --write" if args.write else "")


# --------------------------------------------------------------------------- full


def render_full(results: list[WorkloadResult]) -> list[str]:
    """Targets 1, 2a and 5 in detail: four tables."""
    return (
        by_hand_table(results)
        + overhead_table(results)
        + scanner_table(results)
        + counts_table(results)
    )


def by_hand_table(results: list[WorkloadResult]) -> list[str]:
    """Each tool by hand, their sum, the gate, memory, CPU and the other load."""
    tools = [t for t in HAND_TOOLS if any(r.full and t in r.full.hand for r in results)]
    lines = [
        "",
        "### 1, 2a, 5. Full scan vs the same scanners by hand",
        "",
        "*other load* is the CPU other processes on the machine used meanwhile, in cores "
        "(0 = the machine was otherwise idle); RSS is the median peak of the summed RSS of "
        "the process tree.",
        "",
        "| workload | files (.py / .js) | "
        + " | ".join(tools)
        + " | by hand, sequential | **policy-gate** | **gate / by hand** | gate peak RSS "
        "| by-hand peak RSS | CPU s gate / by hand | other load gate / by hand |",
        "|---|---|" + "---:|" * len(tools) + "---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        f = r.full
        assert f is not None
        hand_cpu = statistics.median(
            sum(f.hand[t][i].cpu_seconds for t in f.hand) for i in range(len(f.hand_totals))
        )
        lines.append(
            f"| {r.title} | {r.files['all']:,} ({r.files['.py']:,} / {r.files['.js']:,}) | "
            + " | ".join(med([m.seconds for m in f.hand[t]]) if t in f.hand else "-" for t in tools)
            + f" | {f.hand_median():.1f} | **{f.gate_median():.1f}** | **{f.ratio():.2f}** | "
            f"{mib(f.rss_median())} | "
            f"{mib(max(m.tree_rss_kb for t in f.hand for m in f.hand[t]))} | "
            f"{statistics.median(t.measured.cpu_seconds for t in f.gate):.0f} / "
            f"{hand_cpu:.0f} | {f.foreign('gate'):.2f} / {f.foreign('hand'):.2f} |"
        )
    return lines


def overhead_table(results: list[WorkloadResult]) -> list[str]:
    """Target 2a: the gate's wall time against its slowest scanner, and where it went."""
    lines = [
        "",
        "Gate overhead (2a), from the same gate runs (every report format written). The "
        "scanners run concurrently, so overhead = wall - the slowest scanner's `seconds`; "
        "it splits into the time outside `runner.scan` (start-up, policy, evaluation, "
        "reports: wall - `scan.seconds`) and the runner's own time (walk, advisory "
        "database, merge: `scan.seconds` - slowest scanner):",
        "",
        "| workload | gate wall | slowest scanner | **overhead** | **share of wall** "
        "| outside the runner | runner, not scanners | largest single process |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        f = r.full
        assert f is not None
        seconds, share = f.overhead()
        slowest = Counter(t.slowest for t in f.gate).most_common(1)[0][0]
        lines.append(
            f"| {r.key} | {f.gate_median():.1f} | {slowest} "
            f"{statistics.median(t.slowest_seconds for t in f.gate):.1f} | **{seconds:.2f}** "
            f"| **{share:.1%}** | {statistics.median(t.outside_runner for t in f.gate):.2f} | "
            f"{statistics.median(t.runner_not_scanners for t in f.gate):.2f} | "
            f"{mib(max(t.measured.max_rss_kb for t in f.gate))} |"
        )
    return lines


def scanner_table(results: list[WorkloadResult]) -> list[str]:
    """Median seconds of each scanner inside the gate (they run concurrently)."""
    names = list(dict.fromkeys(n for r in results if r.full for n in r.full.gate_scanner_seconds))
    lines = [
        "",
        "Inside the gate: median seconds each scanner took (concurrently):",
        "",
        "| workload | " + " | ".join(names) + " | gate wall | runs (s) |",
        "|---|" + "---:|" * len(names) + "---:|---|",
    ]
    for r in results:
        f = r.full
        assert f is not None
        per = f.gate_scanner_seconds
        lines.append(
            f"| {r.key} | "
            + " | ".join(med(per[n]) if n in per else "-" for n in names)
            + f" | {f.gate_median():.1f} | "
            + ", ".join(f"{t.wall:.1f}" for t in f.gate)
            + " |"
        )
    return lines


def counts_table(results: list[WorkloadResult]) -> list[str]:
    """The gate's results per scanner against what the tool printed by hand."""
    lines = [
        "",
        "Findings: the gate's per-scanner `raw_results` (of which `unscanned` = files it "
        "reports it could not analyse) vs the results the tool printed by hand:",
        "",
        "| workload | scanner | gate raw_results | of which unscanned | by hand "
        "| where they differ |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        assert r.full is not None
        for scanner, raw, unscanned, hand, why in r.full.counts:
            lines.append(f"| {r.key} | {scanner} | {raw:,} | {unscanned:,} | {hand:,} | {why} |")
    return lines


# --------------------------------------------------------------------------- cache and diff


def render_cache(results: list[WorkloadResult]) -> list[str]:
    lines = [
        "",
        "### 3. Results cache (`--cache-dir`, on a copy of the tree)",
        "",
        "| workload | changed file | cold | warm | **warm / cold** | warm = cold "
        "| cold = uncached full run | one file changed | its new finding | other files "
        "unchanged |",
        "|---|---|---:|---:|---:|---|---|---:|---|---|",
    ]
    stats: list[str] = []
    for r in results:
        c = r.cache
        assert c is not None
        if not c.supported:
            lines.append(
                f"| {r.key} | cache: not supported by this policy-gate ({c.reason}) "
                "| | | | | | | | |"
            )
            continue
        uncached = (
            "not compared (no full part)"
            if c.vs_uncached is None
            else "; ".join(c.vs_uncached) or "identical"
        )
        lines.append(
            f"| {r.key} | `{c.changed_file}` | {med_of(c.cold):.1f} | {med_of(c.warm):.1f} | "
            f"**{c.ratio():.2f}** | {'; '.join(c.mismatches) or 'identical'} | {uncached} | "
            f"{med_of(c.changed):.1f} | {sum(c.new_finding)}/{len(c.new_finding)} runs | "
            f"{sum(c.others_unchanged)}/{len(c.others_unchanged)} runs |"
        )
        for name, status, cache in c.changed_scanners:
            if status == "disabled":
                continue
            if cache is None:
                stats.append(f"| {r.key} | {name} | {status} | - | - | - (no `cache` field) |")
                continue
            stats.append(
                f"| {r.key} | {name} | {status} | {cache.get('files_from_cache')} | "
                f"{cache.get('files_scanned')} | {cache.get('run_from_cache')} |"
            )
    if stats:
        lines += [
            "",
            "After the one-file change (last run), each scanner's `cache` in the JSON report "
            "(file-local scanners must have `files_scanned` ≤ 1):",
            "",
            "| workload | scanner | status | files_from_cache | files_scanned | run_from_cache |",
            "|---|---|---|---:|---:|---|",
            *stats,
        ]
    return lines


def render_diff(results: list[WorkloadResult]) -> list[str]:
    lines = [
        "",
        "### 4. Pull-request diff mode (scratch git repository, one commit changing one file)",
        "",
        "| workload | changed file | `--full-scan` | `--diff-base main` | **diff / full** "
        "| changed files | files given to file-local scanners | verdict | the added line |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        d = r.diff
        assert d is not None
        lines.append(
            f"| {r.key} | `{d.changed_file}` | {med_of(d.full):.1f} | {med_of(d.diff):.1f} | "
            f"**{d.ratio():.3f}** | {d.changed_files} | {d.scanned_files} | {d.verdict} | "
            f"{d.new_finding} |"
        )
    return lines


def write_readme(table: str) -> None:
    write_readme_section(RESULTS_BEGIN, RESULTS_END, "Results", table)
