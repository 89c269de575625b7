"""The cache part (target 3): ``--cache-dir`` on a copy of the tree. A cold run (empty
cache), a warm re-run of the unchanged tree that must report the same findings, then a
re-run after one file changed in which every file-local scanner must rescan that file
alone, report its new line and leave every other file's findings as they were.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import WORK, Measured, log, med_of, run_gate, wait_for_idle
from workloads import append_line, change_target

# Scanners whose result for a file depends on that file alone; asked of the registry, this
# is the fallback if policy_gate cannot say.
FILE_LOCAL = ("bandit", "semgrep", "detect-secrets", "data-protection", "dockerfile", "workflows")
# Report fields that differ between two runs of the same scan.
VOLATILE = frozenset({"seconds", "generated_at", "cache"})


@dataclass
class CacheResult:
    supported: bool
    reason: str = ""
    changed_file: str = ""
    cold: list[Measured] = field(default_factory=list)
    warm: list[Measured] = field(default_factory=list)
    changed: list[Measured] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)  # warm vs cold, any run
    vs_uncached: list[str] | None = None  # cold vs the full part's report, if it ran
    # After the one-file change: per scanner (name, status, cache stats or None).
    changed_scanners: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    rescanned_ok: list[bool] = field(default_factory=list)  # file-local files_scanned <= 1
    new_finding: list[bool] = field(default_factory=list)  # the appended line is reported
    others_unchanged: list[bool] = field(default_factory=list)  # every other file's findings

    def ratio(self) -> float:
        return med_of(self.warm) / med_of(self.cold)

    def complete_runs(self) -> int:
        """Runs whose one-file change found the new line and left every other file alone."""
        pairs = zip(self.new_finding, self.others_unchanged, strict=True)
        return sum(new and same for new, same in pairs)

    def check_changed(
        self,
        cold: dict[str, Any],
        changed: dict[str, Any],
        line: int,
        local: frozenset[str],
    ) -> None:
        """Judge the run after the one-file change against the cold run before it."""
        rel = self.changed_file
        self.changed_scanners = [
            (s["name"], s["status"], s.get("cache")) for s in changed["scanners"]
        ]
        stats = [c for name, st, c in self.changed_scanners if name in local and st == "ok"]
        self.rescanned_ok.append(
            bool(stats)
            and all(c is not None and c.get("files_scanned", sys.maxsize) <= 1 for c in stats)
        )
        self.new_finding.append(
            any(f["path"] == rel and f["start_line"] == line for f in changed["findings"])
        )
        before = [f for f in stable(cold["findings"]) if f["path"] != rel]
        after = [f for f in stable(changed["findings"]) if f["path"] != rel]
        self.others_unchanged.append(before == after)


def bench_cache(
    key: str,
    tree: Path,
    runs: int,
    jobs: int | None,
    idle: float,
    uncached: dict[str, Any] | None,
) -> CacheResult:
    """Cold (empty cache) vs warm (unchanged tree) vs one file changed, on a copy of the
    tree so that the change never touches the workload the other parts measure."""
    base = WORK / "cache" / key
    copy, out = base / "tree", base / "reports"
    # The gate refuses a cache inside the git repository around the tree (a pull request
    # could commit entries there), and the copy lies inside this repository's .work.
    cache_dir = Path(tempfile.gettempdir()) / "policy-gate-bench-cache" / key
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(tree, copy, symlinks=True)
    target = change_target(copy)
    original = target.read_bytes()
    rel = target.relative_to(copy).as_posix()
    result = CacheResult(True, changed_file=rel)
    local = file_local_scanners()
    extra = ["--cache-dir", str(cache_dir)]
    for i in range(runs):
        if cache_dir.exists():
            shutil.rmtree(cache_dir)
        target.write_bytes(original)
        wait_for_idle(idle)
        log(f"{key}: cache run {i + 1}/{runs}: cold …")
        m, cold = run_gate(copy, out / "cold", jobs, extra, ok=(0, 1, 2))
        if m.returncode == 2:
            tail = (m.stderr.strip().splitlines() or [""])[-1]
            return CacheResult(False, f"`--cache-dir` rejected (exit 2: {tail[:200]})")
        result.cold.append(m)
        if i == 0 and uncached is not None:
            result.vs_uncached = differences(uncached, cold)
        wait_for_idle(idle)
        log(f"{key}: cold {m.seconds:.1f} s; warm …")
        m, warm = run_gate(copy, out / "warm", jobs, extra)
        result.warm.append(m)
        result.mismatches += [f"run {i + 1}: {d}" for d in differences(cold, warm)]
        line = append_line(target)
        try:
            wait_for_idle(idle)
            log(f"{key}: warm {m.seconds:.1f} s; after changing {rel} …")
            m, changed = run_gate(copy, out / "changed", jobs, extra)
        finally:
            target.write_bytes(original)
        result.changed.append(m)
        log(f"{key}: one file changed {m.seconds:.1f} s")
        result.check_changed(cold, changed, line, local)
    return result


def file_local_scanners() -> frozenset[str]:
    try:
        from policy_gate.scanners import registry

        return frozenset(name for name, s in registry().items() if s.file_local)
    except ImportError:
        return frozenset(FILE_LOCAL)


def stable(value: Any) -> Any:
    """A report value without what differs between two runs of the same scan."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """How two reports of the same tree differ in verdict, summary and findings."""
    out = []
    for key in ("verdict", "summary"):
        if stable(a.get(key)) != stable(b.get(key)):
            out.append(f"{key} differs")
    fa, fb = stable(a.get("findings", [])), stable(b.get("findings", []))
    if fa != fb:
        ka = Counter(json.dumps(f, sort_keys=True) for f in fa)
        kb = Counter(json.dumps(f, sort_keys=True) for f in fb)
        only_a, only_b = ka - kb, kb - ka
        if not only_a and not only_b:
            out.append(f"the same {len(fa)} findings, in another order")
            return out
        where = Counter(json.loads(f)["path"].split("/")[0] for f in (only_a + only_b).elements())
        out.append(
            f"findings differ ({len(fa)} vs {len(fb)}: {sum(only_a.values())} only in the "
            f"first, {sum(only_b.values())} only in the second, under "
            + ", ".join(f"{d}/ x{n}" for d, n in where.most_common(3))
            + ")"
        )
    return out
