#!/usr/bin/env python3
"""Time what policy-gate does after its scanners return, on 10,000 synthetic findings.

Issue 7 asks that the gate's own work (everything that is not a scanner) stays under 1 s
for 10,000 findings. A real tree with that many findings would take minutes to scan and
the scanners' time would drown the gate's, so this builds the findings directly, the way
the scanner adapters do (the same constructors, CWE flaw keys, content keys, SecretInfo
and DependencyInfo), and times each step the gate then runs, through the functions the
CLI uses:

* loading the built-in ``mojaloop`` policy and a waivers file (before the scanners);
* ``bare_findings`` + ``merge_findings`` (merging, fingerprinting), as the runner does;
* ``policy.withheld.withhold`` (free text a secret finding covers), as ``gate.run`` does;
* ``evaluate`` with the ``Inputs`` that ``gate.run`` builds (waivers, suppressions);
* every report, through ``cli_output.write_reports`` as ``policy-gate scan --format …
  --output …`` writes them: json, sarif, junit, markdown, cyclonedx, openvex and compliance
  (Markdown + HTML) files and the terminal summary. With more than one core and this many
  findings it forks a second process that writes about half of the files meanwhile. Each
  format alone, rendered one after another, is also shown, not in the total.

Each run is a fresh interpreter (``--child``), so the steps pay the lazy imports the real
CLI pays once per scan; the median of ``--runs`` is reported. Interpreter start-up and
the CLI's imports are timed separately (``policy-gate --version``) and not in the total.

    python benchmarks/overhead.py --runs 5 [--findings 10000] [--json]

The findings are built in ``synthetic_findings.py``; the timed pass is
``overhead_steps.py``, which this script runs in each fresh interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
from common import compile_package

LIMIT_SECONDS = 1.0


# --------------------------------------------------------------------------- the parent


@dataclass
class OverheadResult:
    findings: int
    runs: int
    steps: dict[str, float]  # step -> median seconds
    reference: dict[str, float]  # each report format alone (median seconds; not in total)
    total: float  # median of the per-run totals
    startup: float  # median wall time of `policy-gate --version`
    detail: dict[str, Any]  # the last run's counts

    @property
    def passed(self) -> bool:
        return self.total < LIMIT_SECONDS


def startup_seconds() -> float:
    """Interpreter start-up plus the CLI's imports: what every scan pays first."""
    exe = shutil.which("policy-gate", path=str(Path(sys.executable).parent)) or shutil.which(
        "policy-gate"
    )
    argv = [exe, "--version"] if exe else [sys.executable, "-m", "policy_gate", "--version"]
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(
    n: int = 10_000, runs: int = 5, log: Callable[[str], None] | None = None
) -> OverheadResult:
    """``runs`` fresh interpreters, each timing one pass; medians per step and of totals."""
    per_run: list[dict[str, Any]] = []
    compile_package()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for i in range(runs):
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--findings", str(n)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        per_run.append(json.loads(done.stdout))
        if log:
            log(f"overhead run {i + 1}/{runs}: {sum(per_run[-1]['times'].values()):.2f} s")
    names = list(per_run[0]["times"])
    steps = {k: statistics.median(r["times"][k] for r in per_run) for k in names}
    reference = {
        k: statistics.median(r["reference"][k] for r in per_run) for k in per_run[0]["reference"]
    }
    total = statistics.median(sum(r["times"].values()) for r in per_run)
    startup = statistics.median(startup_seconds() for _ in range(runs))
    return OverheadResult(
        per_run[-1]["findings"], runs, steps, reference, total, startup, per_run[-1]
    )


def render(r: OverheadResult) -> str:
    """Markdown: the steps, the total against the 1 s target, and what was built."""
    d = r.detail
    lines = [
        f"{r.findings:,} findings after merging ({d['raw_results']:,} scanner results; "
        + ", ".join(f"{k} {v:,}" for k, v in d["by_category"].items())
        + f"); verdict {d['verdict']}, {d['violations']:,} violations, {d['notices']} "
        f"notices; median of {r.runs} fresh interpreter(s):",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {k} | {v:.3f} |" for k, v in r.steps.items()),
        f"| **total (target < {LIMIT_SECONDS:g} s)** | **{r.total:.3f}** "
        f"({'pass' if r.passed else 'FAIL'}) |",
        f"| *not in the total:* start-up (`policy-gate --version`) | {r.startup:.3f} |",
        *(
            f"| *not in the total:* `{k}` alone, rendered in-process | {v:.3f} |"
            for k, v in r.reference.items()
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=10_000, help="findings after merging")
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters (median)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        from overhead_steps import child  # imports the gate: only in the fresh interpreter

        print(json.dumps(child(args.findings)))
        return 0
    result = measure(args.findings, args.runs, common.log)
    if args.json:
        print(json.dumps({**result.__dict__, "passed": result.passed}, indent=2))
    else:
        print(render(result))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
