#!/usr/bin/env python3
"""Benchmark ``policy-gate scan`` against issue 7's speed targets, each as a ratio in one run.

Parts (``--only``, default all), each on every workload (``--workload``):

* ``full``: the gate (every report format written) against running the same scanners
  one after another by hand: bandit, semgrep (policy-gate's rule pack), detect-secrets,
  pip-audit (one run per requirements file, against the same offline OSV database) and,
  when the tree has them, hadolint (Dockerfiles) and zizmor --offline (GitHub workflows).
  From the same gate runs: its overhead (wall time minus the slowest scanner, which all
  run concurrently) and its peak memory (the summed RSS of the process tree, from /proc).
  Finding counts of the gate (its per-scanner ``raw_results``) are compared with what the
  tools report by hand.
* ``overhead``: what the gate does after its scanners return, in-process, on 10,000
  synthetic findings (``benchmarks/overhead.py``).
* ``cache``: ``--cache-dir``: a cold run (empty cache) against a warm re-run of an
  unchanged copy of the tree (same findings?), then a re-run after one file changed (only
  that file rescanned?).
* ``diff``: pull-request diff mode (``--diff-base main``) against ``--full-scan`` on a
  scratch git repository of the tree with one commit on a ``pr`` branch changing one file.

Run it with the interpreter of the venv policy-gate is installed in (it imports
``policy_gate`` to serve the advisory database to the by-hand pip-audit):

    python benchmarks/bench.py --runs 3 --write
    python benchmarks/bench.py --runs 1 --workload django --only full,cache

Workloads are built under ``benchmarks/.work`` (gitignored): a generated tree, Django 4.2
from its wheel (unpacked, never run) and, when npm is available, @mojaloop/central-ledger
from its npm tarball plus a package-lock.json (``npm install --package-lock-only
--ignore-scripts``; nothing is installed or run).

The parts live beside this entry point: ``full.py``, ``cache.py``, ``diff.py`` and
``overhead.py`` (with ``overhead_steps.py`` and ``synthetic_findings.py``); the workloads
in ``workloads.py`` and ``generated_tree.py``; what they share (running and measuring
processes, finding tools, waiting for an idle machine) in ``common.py``; the tables and
README rewriting in ``render.py``. ``audit_bench.py`` times the dependency audits alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from common import ADVISORIES, IDLE_WAIT, README, REPO, WORK, compile_package, log
from full import osv_server
from overhead import OverheadResult
from overhead import measure as measure_overhead
from parts import PARTS, WorkloadResult, bench_workload
from render import render, write_readme
from workloads import WORKLOADS


def parts_arg(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(PARTS)}"
        )
    return [p for p in PARTS if p in parts]


def arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Parts: full = gate (all report formats) vs the scanners by hand, gate "
        "overhead, peak memory (targets 1, 2a, 5); overhead = the gate's steps after the "
        "scanners on synthetic findings, in-process (2b; no workload needed); cache = cold "
        "vs warm `--cache-dir` runs and a one-file change (3); diff = `--diff-base` vs "
        "`--full-scan` on a scratch git repository with one changed file (4).",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--write", action="store_true", help="rewrite README.md's results")
    parser.add_argument("--jobs", type=int, help="pass --jobs N to the gate (and the tools)")
    parser.add_argument(
        "--workload",
        action="append",
        choices=list(WORKLOADS),
        help="run only these workloads (repeatable; default: all)",
    )
    parser.add_argument(
        "--only",
        type=parts_arg,
        default=list(PARTS),
        metavar="PARTS",
        help=f"comma-separated parts to run, of {','.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--overhead-findings",
        type=int,
        default=10_000,
        metavar="N",
        help="synthetic findings for the overhead part (default 10,000)",
    )
    parser.add_argument(
        "--overhead-runs",
        type=int,
        metavar="N",
        help="fresh interpreters for the overhead part (default: max(5, --runs))",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=IDLE_WAIT,
        metavar="S",
        help="before each measurement wait up to S seconds for other processes to go quiet",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = arg_parser().parse_args(argv)
    parts: list[str] = args.only
    if "full" in parts and not ADVISORIES.is_dir():
        sys.exit(f"bench: advisory database not found at {ADVISORIES}")
    WORK.mkdir(parents=True, exist_ok=True)
    log(f"python {sys.executable}; {os.cpu_count()} cores; parts {', '.join(parts)}")
    compile_package()
    trees = prepare_trees(args.workload, parts)
    results, osv_load = bench_workloads(trees, parts, args)
    overhead = bench_overhead(args) if "overhead" in parts else None
    table = render(results, args, parts, overhead, osv_load)
    print(table)
    if args.write:
        write_readme(table)
        log(f"wrote {README.relative_to(REPO)}")
    return 0


def prepare_trees(workloads: list[str] | None, parts: Sequence[str]) -> list[tuple[str, Path]]:
    """The workloads' trees, built on first use, if a part that scans one is to run."""
    trees: list[tuple[str, Path]] = []
    if {"full", "cache", "diff"} & set(parts):
        for key in workloads or list(WORKLOADS):
            tree = WORKLOADS[key][1]()
            if tree is not None:
                trees.append((key, tree))
    return trees


def bench_workloads(
    trees: list[tuple[str, Path]], parts: Sequence[str], args: argparse.Namespace
) -> tuple[list[WorkloadResult], float | None]:
    """Every chosen part on every tree; with the full part, behind an OSV server for the
    by-hand pip-audit (and how long it took to load)."""
    results = []
    osv_load: float | None = None
    with contextlib.ExitStack() as stack:
        url = ""
        if "full" in parts:
            url, osv_load = stack.enter_context(osv_server())
            log(f"OSV server for the by-hand pip-audit at {url} (loaded in {osv_load:.1f} s)")
        for key, tree in trees:
            results.append(bench_workload(key, tree, parts, args, url))
    return results, osv_load


def bench_overhead(args: argparse.Namespace) -> OverheadResult:
    n_runs = args.overhead_runs or max(5, args.runs)
    log(f"overhead: {args.overhead_findings:,} synthetic findings, {n_runs} runs …")
    return measure_overhead(args.overhead_findings, n_runs, log)


if __name__ == "__main__":
    sys.exit(main())
