#!/usr/bin/env python3
"""CPU-seconds of one gate run as the test suite and a user pay it, on a one-file tree.

The suite starts the gate hundreds of times, each a new interpreter that starts scanner
processes of its own, so what a run costs is mostly start-up: the gate's imports, and each
scanner's own start-up (rule loading, interpreter) rather than its work. This times, as
CPU (user + system, the gate and every process it waited for; wall time depends on what
else the machine runs), the median of ``--runs`` fresh runs of:

* ``policy-gate --version`` and ``validate builtin:mojaloop`` (imports only);
* ``scan`` of a one-file Python tree with each scanner alone (``--scanner NAME``) and with
  every scanner the built-in policy runs; a scanner's own cost is its row minus
  ``licenses`` (a scanner that does no work on this tree);
* ``scan`` of ``examples/vulnerable-service`` with pip-audit alone and with every scanner.

    python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from common import REPO, compile_package, measure

ONE_FILE = 'import subprocess\nsubprocess.call("ls", shell=True)\n'
EXAMPLE = REPO / "examples"
SCANNERS = ("licenses", "bandit", "semgrep", "kingfisher", "workflows")


def cases(tiny: Path, out: Path) -> list[tuple[str, list[str], Path | None]]:
    """(label, argv, cwd) of every timed command."""
    gate = [sys.executable, "-m", "policy_gate"]
    report = ["--format", "json", "--output", str(out / "report.json")]
    example = ["scan", "vulnerable-service", "--policy", "policy.yaml", "--advisories",
               "advisories", *report]
    return [
        ("--version", [*gate, "--version"], None),
        ("validate builtin:mojaloop", [*gate, "validate", "builtin:mojaloop"], None),
        *((f"one file, --scanner {s}", [*gate, "scan", ".", "--scanner", s, *report], tiny)
          for s in SCANNERS),
        ("one file, every scanner", [*gate, "scan", ".", *report], tiny),
        ("example, --scanner pip-audit", [*gate, *example, "--scanner", "pip-audit"], EXAMPLE),
        ("example, every scanner", [*gate, *example], EXAMPLE),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    compile_package()
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        tiny, out = Path(tmp) / "tree", Path(tmp) / "out"
        tiny.mkdir()
        out.mkdir()
        (tiny / "app.py").write_text(ONE_FILE)
        print("| run | CPU-s (median) | min | max |\n|---|---|---|---|")
        for label, command, cwd in cases(tiny, out):
            cpu = []
            for _ in range(args.runs):
                m = measure(command, cwd=cwd)
                if m.returncode not in (0, 1):
                    raise SystemExit(f"{label} exited {m.returncode}: {m.stderr[-1500:]}")
                cpu.append(m.cpu_seconds)
            print(f"| {label} | {statistics.median(cpu):.2f} | {min(cpu):.2f} | {max(cpu):.2f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
