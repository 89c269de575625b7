"""The diff part (target 4): pull-request diff mode (``--diff-base main``) against
``--full-scan`` on a scratch git repository of the tree, whose ``pr`` branch has one
commit changing one file; both write every report and neither uses a cache.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from common import ENV, WORK, Measured, log, med_of, run_gate, wait_for_idle
from workloads import append_line, change_target

# git for the scratch repository: no hooks, no signing, no user configuration needed.
GIT = [
    "git",
    "-c", "core.hooksPath=/dev/null",
    "-c", "commit.gpgsign=false",
    "-c", "core.autocrlf=false",
    "-c", "user.name=policy-gate bench",
    "-c", "user.email=bench@example.invalid",
]  # fmt: skip
DIFF_REPO_VERSION = "1"


@dataclass
class DiffResult:
    changed_file: str
    full: list[Measured] = field(default_factory=list)
    diff: list[Measured] = field(default_factory=list)
    changed_files: int | None = None  # as the diff-mode report counts them
    scanned_files: int | None = None
    verdict: str = ""
    new_finding: str = ""  # the appended line's finding: its status, or "not reported"

    def ratio(self) -> float:
        return med_of(self.diff) / med_of(self.full)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        [*GIT, "-C", str(repo), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**ENV, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"},
    )


def prepare_diff_repo(key: str, tree: Path) -> tuple[Path, str, int]:
    """A git repository of the tree: everything committed on `main`, then a `pr` branch
    with one commit appending a flagged line to one file. Reused while it matches."""
    base = WORK / "diff" / key
    repo, marker = base / "repo", base / ".ready"
    if marker.exists():
        version, rel, number = marker.read_text().split("\n")[:3]
        if version == DIFF_REPO_VERSION:
            return repo, rel, int(number)
    log(f"{key}: building the scratch git repository for diff mode …")
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    shutil.copytree(tree, repo, symlinks=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A", "-f", ".")  # -f: a .gitignore in the tree must not drop files
    git(repo, "commit", "-q", "-m", "the workload as unpacked")
    git(repo, "checkout", "-q", "-b", "pr")
    target = change_target(repo)
    rel = target.relative_to(repo).as_posix()
    line = append_line(target)
    git(repo, "commit", "-q", "-a", "-m", f"change one file: {rel}")
    marker.write_text(f"{DIFF_REPO_VERSION}\n{rel}\n{line}\n")
    return repo, rel, line


def bench_diff(key: str, tree: Path, runs: int, jobs: int | None, idle: float) -> DiffResult:
    repo, rel, line = prepare_diff_repo(key, tree)
    result = DiffResult(rel)
    out = WORK / "diff" / key / "reports"
    for i in range(runs):
        order = ("full", "diff") if i % 2 == 0 else ("diff", "full")
        for side in order:
            wait_for_idle(idle)
            log(f"{key}: {side} scan {i + 1}/{runs} …")
            extra = ["--full-scan"] if side == "full" else ["--diff-base", "main"]
            m, report = run_gate(repo, out / side, jobs, extra)
            log(f"{key}: {side} scan {m.seconds:.1f} s")
            if side == "full":
                result.full.append(m)
                continue
            result.diff.append(m)
            scope = report.get("diff") or {}
            result.changed_files = scope.get("changed_files")
            result.scanned_files = scope.get("scanned_files")
            result.verdict = report["verdict"]
            hits = [f for f in report["findings"] if f["path"] == rel and f["start_line"] == line]
            result.new_finding = (
                ", ".join(sorted({f"{f['rule_id']}: {f['status']}" for f in hits}))
                or "not reported"
            )
    return result
