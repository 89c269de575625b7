"""The full part (targets 1, 2a and 5): the gate, writing every report, against the same
scanners run one after another by hand; from the same gate runs, its overhead (wall time
minus the slowest scanner, as they all run at once) and its peak memory. The findings of
both sides are compared by (path, line, rule) so that a faster gate is not one that
scans less.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    ADVISORIES,
    RULES,
    WORK,
    Measured,
    add_up,
    check,
    log,
    measure,
    optional_tool,
    run_gate,
    tool,
    wait_for_idle,
)
from workloads import walk_tree

HAND_TOOLS = ("bandit", "semgrep", "detect-secrets", "pip-audit", "hadolint", "zizmor")
DS_FILTERS = "detect_secrets.filters."


@dataclass
class GateTiming:
    """One gate run, and where its JSON report says the time went. Scanners run
    concurrently, so whatever the gate's wall time exceeds the slowest scanner by is time
    the gate spent on its own work: start-up, policy, walk, advisory database, merging,
    evaluation and writing the reports."""

    measured: Measured
    scan_seconds: float  # runner.scan(): walk, advisory database, scanners, merge
    slowest: str
    slowest_seconds: float

    @property
    def wall(self) -> float:
        return self.measured.seconds

    @property
    def overhead(self) -> float:
        return self.wall - self.slowest_seconds

    @property
    def outside_runner(self) -> float:
        """Start-up, policy and waivers, evaluation, every report."""
        return self.wall - self.scan_seconds

    @property
    def runner_not_scanners(self) -> float:
        """The walk, loading the advisory database, merging (inside runner.scan)."""
        return self.scan_seconds - self.slowest_seconds


def gate_timing(m: Measured, report: dict[str, Any]) -> GateTiming:
    timed = [(s["seconds"], s["name"]) for s in report["scanners"] if s["status"] != "disabled"]
    seconds, name = max(timed, default=(0.0, "-"))
    return GateTiming(m, report["scan"]["seconds"], name, seconds)


def requirement_files(tree: Path) -> list[Path]:
    pattern = re.compile(r"^(?:.*[-_.])?requirements(?:[-_.].*)?\.txt$", re.IGNORECASE)
    found = []
    for rel in walk_tree(tree):
        path = Path(rel)
        if path.suffix == ".txt" and (
            pattern.match(path.name) or path.parent.name == "requirements"
        ):
            found.append(tree / rel)
    return sorted(found)


def ci_files(tree: Path) -> tuple[list[str], list[str]]:
    """(Dockerfiles, GitHub workflow and action files), as the gate's scanners pick them."""
    try:
        from policy_gate.scanners.dockerfile import is_dockerfile
        from policy_gate.scanners.workflows import is_workflow
    except ImportError:  # an older policy-gate: the names these scanners look for

        def is_dockerfile(path: str) -> bool:
            name = path.rsplit("/", 1)[-1]
            return name in ("Dockerfile", "Containerfile") or name.endswith(".Dockerfile")

        def is_workflow(path: str) -> bool:
            return "/.github/workflows/" in f"/{path}" and path.endswith((".yml", ".yaml"))

    files = walk_tree(tree)
    return [f for f in files if is_dockerfile(f)], [f for f in files if is_workflow(f)]


@contextmanager
def osv_server() -> Iterator[tuple[str, float]]:
    """The gate's own OSV server over the shared database, for the by-hand pip-audit;
    yields its URL and how long loading the database took."""
    try:
        from policy_gate.osv.server import serve_advisories
    except ImportError:
        sys.exit("bench: run me with the python of the venv policy-gate is installed in")
    started = time.perf_counter()
    with serve_advisories(ADVISORIES) as url:
        yield url, time.perf_counter() - started


# --------------------------------------------------------------------------- by hand


def by_hand(
    tree: Path, osv_url: str, jobs: int | None, idle: float
) -> dict[str, tuple[Measured, Any]]:
    """The tools, one after another, each with its own file discovery (hadolint and zizmor,
    which take no directory, get the files the gate would give its CI scanners)."""
    runs: dict[str, tuple[Measured, Any]] = {}
    bandit = [tool("bandit"), "-r", ".", "-f", "json", "-q", "--ignore-nosec"]
    runs["bandit"] = tool_run(bandit, tree, (0, 1), "bandit", idle)
    runs["semgrep"] = tool_run(semgrep_argv(jobs), tree, (0, 1), "semgrep", idle)
    runs["detect-secrets"] = tool_run(secrets_argv(jobs), tree, (0,), "detect-secrets", idle)
    runs["pip-audit"] = pip_audit(tree, osv_url, idle)
    dockerfiles, workflows = ci_files(tree)
    hadolint, zizmor = optional_tool("hadolint"), optional_tool("zizmor")
    if dockerfiles and hadolint:
        argv = [hadolint, "--no-fail", "--no-color", "-f", "json", *dockerfiles]
        runs["hadolint"] = tool_run(argv, tree, (0,), "hadolint", idle, empty="[]")
    if workflows and zizmor:
        argv = [zizmor, "--offline", "--no-exit-codes", "--format", "json", *workflows]
        runs["zizmor"] = tool_run(argv, tree, (0,), "zizmor", idle, empty="[]")
    return runs


def tool_run(
    argv: list[str], tree: Path, ok: tuple[int, ...], what: str, idle: float, empty: str = ""
) -> tuple[Measured, Any]:
    """One tool in cwd ``tree`` once the machine is quiet; its JSON output (``empty`` if
    it printed nothing)."""
    wait_for_idle(idle)
    m = measure(argv, cwd=tree)
    check(m, ok, what)
    return m, json.loads(m.stdout or empty)


def semgrep_argv(jobs: int | None) -> list[str]:
    """The gate's rule pack, no nosem, no .gitignore (``benchmarks/.work/`` is ignored)."""
    argv = [
        tool("semgrep"),
        "scan",
        "--config",
        str(RULES),
        "--json",
        "--metrics=off",
        "--disable-version-check",
        "--quiet",
        "--disable-nosem",
        "--no-git-ignore",
    ]
    if jobs:
        argv.append(f"--jobs={jobs}")
    return [*argv, "."]


def secrets_argv(jobs: int | None) -> list[str]:
    """Every file, without the two filters the gate's policy turns off."""
    argv = [tool("detect-secrets")]
    if jobs:
        argv += ["--cores", str(jobs)]
    return [
        *argv,
        "scan",
        "--all-files",
        "--no-verify",
        "--disable-filter",
        DS_FILTERS + "allowlist.is_line_allowlisted",
        "--disable-filter",
        DS_FILTERS + "heuristic.is_swagger_file",
        ".",
    ]


def pip_audit(tree: Path, osv_url: str, idle: float) -> tuple[Measured, Any]:
    """pip-audit once per requirements file against the OSV server; the runs' total and
    (file, report) pairs."""
    reports = []
    total = Measured([], 0.0, 0, "", "", 0, 0, 0.0)
    wait_for_idle(idle)
    with tempfile.TemporaryDirectory(prefix="bench-pip-audit-") as cache:
        for req in requirement_files(tree):
            argv = [
                tool("pip-audit"),
                "--disable-pip",
                "--no-deps",
                "-r",
                str(req),
                "-s",
                "osv",
                "--osv-url",
                osv_url,
                "-f",
                "json",
                "--progress-spinner",
                "off",
                "--cache-dir",
                cache,
            ]
            m = measure(argv, cwd=tree)
            check(m, (0, 1), "pip-audit")
            reports.append((str(req.relative_to(tree)), json.loads(m.stdout)))
            add_up(total, m)
    return total, reports


# --------------------------------------------------------------------------- the part


@dataclass
class FullResult:
    gate: list[GateTiming] = field(default_factory=list)
    gate_scanner_seconds: dict[str, list[float]] = field(default_factory=dict)
    hand: dict[str, list[Measured]] = field(default_factory=dict)
    hand_totals: list[float] = field(default_factory=list)
    counts: list[tuple[str, int, int, int, str]] = field(default_factory=list)
    gate_files: int = 0
    gate_verdict: str = ""
    report: dict[str, Any] = field(default_factory=dict)  # the last gate run's JSON

    def gate_median(self) -> float:
        return statistics.median(t.wall for t in self.gate)

    def hand_median(self) -> float:
        return statistics.median(self.hand_totals)

    def ratio(self) -> float:
        return self.gate_median() / self.hand_median()

    def rss_median(self) -> float:
        return statistics.median(t.measured.tree_rss_kb for t in self.gate)

    def overhead(self) -> tuple[float, float]:
        """Median seconds, and median share of the gate's wall time."""
        return (
            statistics.median(t.overhead for t in self.gate),
            statistics.median(t.overhead / t.wall for t in self.gate),
        )

    def foreign(self, side: str) -> float:
        """Cores' worth of CPU other processes used during this side's runs."""
        ms = (
            [t.measured for t in self.gate]
            if side == "gate"
            else [m for t in self.hand.values() for m in t]
        )
        wall = sum(m.seconds for m in ms)
        return sum(m.foreign_cpu for m in ms) / wall if wall else 0.0

    def add_gate_run(self, m: Measured, report: dict[str, Any]) -> GateTiming:
        """Record one gate run; a scanner that failed or was skipped stops the benchmark."""
        self.gate.append(gate_timing(m, report))
        self.report = report
        for s in report["scanners"]:
            if s["status"] == "ok":
                self.gate_scanner_seconds.setdefault(s["name"], []).append(s["seconds"])
            elif s["status"] != "disabled":
                raise RuntimeError(f"gate: {s['name']} {s['status']}: {s['reason']}")
        return self.gate[-1]

    def add_hand_run(self, hand: dict[str, tuple[Measured, Any]]) -> float:
        """Record one by-hand run (every tool); its total seconds."""
        for name, (m, _report) in hand.items():
            self.hand.setdefault(name, []).append(m)
        self.hand_totals.append(sum(m.seconds for m, _ in hand.values()))
        return self.hand_totals[-1]

    def compare(self, hand_reports: dict[str, Any]) -> None:
        """The last gate run's findings against the last by-hand run's, per scanner."""
        report = self.report
        self.gate_files = report["scan"]["files"]
        self.gate_verdict = report["verdict"]
        for s in report["scanners"]:
            # osv (npm lockfiles), licences, data-protection, dockerfile (hadolint's rules
            # are not the gate's) have no by-hand twin to count against
            if s["status"] != "ok" or s["name"] not in hand_reports:
                continue
            name = s["name"]
            gk = gate_keys(report, name)
            hk = hand_keys(name, hand_reports[name])
            unscanned = sum(
                1 for k in gk if k[2] in ("file-not-analysed", "dependency-not-audited")
            )
            why = explain(gk, hk, depth=3 if name == "pip-audit" else 2)
            self.counts.append((name, s["raw_results"], unscanned, len(hk), why))


def bench_full(
    key: str, tree: Path, runs: int, jobs: int | None, url: str, idle: float
) -> FullResult:
    result = FullResult()
    out = WORK / "reports" / key
    hand_reports: dict[str, Any] = {}
    for i in range(runs):
        # Alternate which side goes first, so neither always gets the warm page cache.
        order = ("gate", "hand") if i % 2 == 0 else ("hand", "gate")
        for side in order:
            if side == "gate":
                wait_for_idle(idle)
                log(f"{key}: policy-gate run {i + 1}/{runs} …")
                m, report = run_gate(tree, out, jobs)
                t = result.add_gate_run(m, report)
                log(
                    f"{key}: gate {m.seconds:.1f} s (exit {m.returncode}; slowest scanner "
                    f"{t.slowest} {t.slowest_seconds:.1f} s, overhead {t.overhead:.1f} s)"
                )
            else:
                log(f"{key}: by hand run {i + 1}/{runs} …")
                hand = by_hand(tree, url, jobs, idle)
                for name, (_m, hand_report) in hand.items():
                    hand_reports[name] = hand_report
                total = result.add_hand_run(hand)
                log(
                    f"{key}: by hand {total:.1f} s ("
                    + ", ".join(f"{n} {m.seconds:.1f}" for n, (m, _) in hand.items())
                    + ")"
                )
    result.compare(hand_reports)
    return result


# --------------------------------------------------------------------------- counting

Key = tuple[str, int | None, str]


def _ds_rule(kind: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "unknown"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _rel(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def hand_keys(name: str, report: Any) -> list[Key]:
    """(path, line, rule) for every result (and every per-file error) a tool reported."""
    if name == "bandit":
        return [
            (_rel(r["filename"]), r["line_number"], r["test_id"]) for r in report["results"]
        ] + [(_rel(e["filename"]), None, "file-not-analysed") for e in report["errors"]]
    if name == "semgrep":
        return [
            (_rel(r["path"]), r["start"]["line"], r["check_id"].rsplit(".", 1)[-1])
            for r in report["results"]
        ] + [(_rel(str(e.get("path"))), None, "file-not-analysed") for e in report["errors"]]
    if name == "detect-secrets":
        return [
            (_rel(path), item["line_number"], _ds_rule(item["type"]))
            for path, items in report["results"].items()
            for item in items
        ]
    # pip-audit: one key per vulnerability entry, by (requirements file, package)
    return [
        (req, None, canonical(dep["name"]))
        for req, rep in report
        for dep in rep["dependencies"]
        for vuln in dep.get("vulns", [])
    ]


def gate_keys(report: dict[str, Any], scanner: str) -> list[Key]:
    keys = []
    for finding in report["findings"]:
        for source in finding["sources"]:
            if source["scanner"] != scanner:
                continue
            rule = source["rule_id"]
            line = finding["start_line"]
            if rule == "file-not-analysed":
                line = None
            if scanner == "pip-audit":
                if rule != "vulnerable-dependency":
                    continue  # unpinned / not audited: pip-audit never saw these
                rule = canonical(finding["dependency"]["package"])
                line = None
            keys.append((finding["path"], line, rule))
    return keys


def top_dir(path: str, depth: int) -> str:
    parts = path.split("/")
    return "/".join(parts[:depth]) + ("/" if len(parts) > depth else "")


def explain(gate: list[Key], hand: list[Key], depth: int = 2) -> str:
    """Where the two sides differ, by directory and rule."""
    g, h = Counter(gate), Counter(hand)
    only_gate, only_hand = g - h, h - g
    bits = []
    for label, diff in (("gate only", only_gate), ("by hand only", only_hand)):
        if not diff:
            continue
        where: Counter[str] = Counter()
        for (path, _line, rule), n in diff.items():
            bucket = "unscanned" if rule == "file-not-analysed" else rule
            where[f"{top_dir(path, depth)} {bucket}"] += n
        top = ", ".join(f"{k} x{n}" for k, n in where.most_common(4))
        more = f" (+{len(where) - 4} more groups)" if len(where) > 4 else ""
        bits.append(f"{label} {sum(diff.values())}: {top}{more}")
    return "; ".join(bits) or "identical"
