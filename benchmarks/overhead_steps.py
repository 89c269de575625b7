"""One timed pass of the overhead part, run in a fresh interpreter by ``overhead.py
--child``: build the synthetic findings (not timed), then time each step the gate runs
after its scanners return, through the functions the CLI uses.

The gate's modules are imported here, before anything is timed, as ``policy-gate scan``
imports them at start-up; what they import lazily is paid inside the timed steps, as it
is once per scan.
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from synthetic_findings import Synthetic, build
from synthetic_mix import N_WAIVERS

import policy_gate.cli as cli  # what start-up imports before any scan
import policy_gate.cli_output as cli_output
from policy_gate.base.fileset import FileSet
from policy_gate.findings import merge_findings
from policy_gate.policy.evaluate import Inputs, evaluate
from policy_gate.policy.loader import load_policy
from policy_gate.policy.model import Policy
from policy_gate.policy.suppressions import bare_findings
from policy_gate.policy.waivers import load_waivers
from policy_gate.policy.withheld import withhold
from policy_gate.reports import terminal
from policy_gate.reports.interface import ReportData
from policy_gate.results import ScannerRun, ScanOutput, ScanResult
from policy_gate.scanners import registry

POLICY = "builtin:mojaloop"
FORMATS = ("json", "sarif", "junit", "markdown", "cyclonedx", "openvex")


@contextmanager
def step(times: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    times[name] = time.perf_counter() - started


def child(n: int) -> dict[str, Any]:
    """One pass in this (fresh) interpreter: build untimed, then time each gate step."""
    times: dict[str, float] = {}
    reference: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        root = Path(tmp, "repo")
        root.mkdir()
        reports = Path(tmp, "reports")
        synthetic = build(n, root)

        with step(times, "load policy (builtin:mojaloop)"):
            policy = load_policy(POLICY)
        with step(times, f"load waivers ({N_WAIVERS})"):
            waivers = load_waivers(synthetic.waivers_yaml.encode(), ".policy-gate/waivers.yaml")

        runs = scanner_runs(policy, synthetic)
        raw = [f for r in runs if r.output for f in r.output.findings]

        with step(times, "merge + fingerprint"):
            raw += bare_findings(synthetic.suppressions)
            merged = merge_findings(raw)
        with step(times, "withhold free text (policy.withheld)"):
            kept = withhold(merged, policy, waivers, synthetic.suppressions)
            policy, waivers, merged = kept.policy, kept.waivers, kept.findings
            suppressions = list(kept.suppressions)
        result = ScanResult(
            root=root,
            fileset=FileSet(root, tuple(synthetic.files)),
            runs=runs,
            findings=merged,
            started=time.time(),
            seconds=1.0,
            suppressions=suppressions,
        )
        with step(times, "evaluate"):
            inputs = Inputs(
                today=dt.date.today(), waivers=waivers, suppressions=tuple(suppressions)
            )
            evaluation = evaluate(policy, merged, (r.outcome for r in runs), inputs)
        gc.freeze()  # as policy_gate.cli does before writing the reports
        data = ReportData(result, policy, evaluation)
        sizes = write_reports(data, reports, times, reference)
    return {
        "times": times,
        "reference": reference,
        "raw_results": len(raw),
        "findings": len(merged),
        "violations": len(evaluation.violations),
        "by_category": _count(f.category for f in merged),
        "verdict": evaluation.verdict.value,
        "notices": len(evaluation.notices),
        "report_bytes": sizes,
    }


def scanner_runs(policy: Policy, synthetic: Synthetic) -> list[ScannerRun]:
    """Every registered scanner's run as the runner records it, with the synthetic
    findings as its output (not timed: the scanners' own work)."""
    root = synthetic.root
    runs = []
    for name, scanner in registry().items():
        settings = policy.scanners.get(name)
        if settings is not None and not settings.enabled:
            runs.append(ScannerRun(name, "disabled", "disabled by the policy"))
            continue
        found = synthetic.outputs.get(name, [])
        not_checked = "no coverage report found" if name == "coverage" else ""
        output = ScanOutput(
            found,
            "1.0.0",
            sum(len(f.sources) for f in found),
            len(scanner.targets(FileSet(root, tuple(synthetic.files)))),
            inventory=synthetic.inventory.get(name, []),
            not_checked=not_checked,
        )
        runs.append(ScannerRun(name, "ok", version="1.0.0", seconds=1.0, output=output))
    return runs


def write_reports(
    data: ReportData, reports: Path, times: dict[str, float], reference: dict[str, float]
) -> dict[str, int]:
    """Time every report as the CLI writes them, then (for reference, not in the total)
    each format alone; the size of each file written."""
    reports.mkdir()
    requests = [(fmt, reports / fmt) for fmt in FORMATS]
    requests.append(("compliance", reports / "compliance.md"))
    every = "every report, as the CLI writes them (`cli_output.write_reports`)"
    with reports.joinpath("terminal.txt").open("w") as fh, step(times, every):
        cli_output.write_reports(data, requests, partial(terminal.render, data, cli._console(fh)))
    # For reference (not in the total): each format alone, rendered one after another
    # in this process (their modules are imported by now).
    for fmt, _ in requests:
        with step(reference, fmt):
            cli_output._render_text(fmt, data, page=True)
    with step(reference, "terminal"):
        terminal.render(data, cli._console(io.StringIO()))
    sizes = {p.name: p.stat().st_size for p in reports.iterdir()}
    keep = os.environ.get("OVERHEAD_KEEP")  # a directory to copy the reports to
    if keep:
        shutil.copytree(reports, keep, dirs_exist_ok=True)
    return sizes


def _count(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
