"""The parts that scan a workload (full, cache, diff), run in that order on one tree, and
what they measured, with the notes worth printing under the results. The overhead part
needs no workload: see ``overhead.py``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cache import CacheResult, bench_cache
from common import log
from diff import DiffResult, bench_diff
from full import FullResult, bench_full, ci_files
from workloads import WORKLOADS, count_files

PARTS = ("full", "overhead", "cache", "diff")


@dataclass
class WorkloadResult:
    key: str
    title: str
    files: Counter[str]
    full: FullResult | None = None
    cache: CacheResult | None = None
    diff: DiffResult | None = None
    notes: list[str] = field(default_factory=list)


def bench_workload(
    key: str, tree: Path, parts: Sequence[str], args: argparse.Namespace, url: str
) -> WorkloadResult:
    result = WorkloadResult(key, WORKLOADS[key][0], count_files(tree))
    runs, jobs, idle = args.runs, args.jobs, args.idle_wait
    if "full" in parts:
        result.full = bench_full(key, tree, runs, jobs, url, idle)
        result.notes += full_notes(result.full, tree, result.files)
    if "cache" in parts:
        uncached = result.full.report if result.full else None
        result.cache = bench_cache(key, tree, runs, jobs, idle, uncached)
        if not result.cache.supported:
            log(f"{key}: cache: not supported by this policy-gate ({result.cache.reason})")
    if "diff" in parts:
        result.diff = bench_diff(key, tree, runs, jobs, idle)
    return result


def full_notes(full: FullResult, tree: Path, files: Counter[str]) -> list[str]:
    """What the last gate run said (exclusions, scanner notes, verdict) and which CI
    tools could not run by hand."""
    notes = []
    report = full.report
    excluded = report["scan"]["excluded"]
    if excluded:
        notes.append(f"gate excluded {len(excluded)} path(s) by policy: {', '.join(excluded[:5])}")
    for s in report["scanners"]:
        if s["status"] == "ok":
            notes += [f"gate {s['name']}: {note}" for note in s["notes"]]
    dockerfiles, workflows = ci_files(tree)
    for found, name in ((dockerfiles, "hadolint"), (workflows, "zizmor")):
        if found and name not in full.hand:
            notes.append(f"{len(found)} file(s) for {name}, but {name} not found")
    if not dockerfiles and not workflows:
        notes.append("no Dockerfiles or workflow files: hadolint/zizmor not run")
    notes.append(
        f"gate verdict {full.gate_verdict}; {full.gate_files:,} files in scope of {files['all']:,}"
    )
    return notes
