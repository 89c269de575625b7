"""Policy evaluation is a pure function of findings and policy: thresholds for fail, report
and annotate are independent, and a scanner failure always wins over a pass."""

from __future__ import annotations

from pathlib import Path

from policy_gate.findings import (
    DEPENDENCY,
    SAST,
    Confidence,
    DependencyInfo,
    Finding,
    Severity,
    Source,
    merge_findings,
)
from policy_gate.policy.evaluate import Status, Verdict, evaluate
from policy_gate.policy.loader import load_policy
from policy_gate.results import ScannerOutcome


def sast(sev: Severity | None, conf: Confidence | None, path: str = "a.py",
         line: int = 1) -> Finding:
    return Finding(
        category=SAST, sources=(Source("bandit", "B999", sev, conf, "m"),), path=path,
        start_line=line, end_line=line, message="m", flaw_key=f"k{line}",
    )


def policy_from(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return load_policy(p)


def test_fail_report_annotate_are_separate(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, """
categories:
  sast:
    fail: {severity: high, confidence: high}
    report: {severity: low}
    annotate: {severity: medium, confidence: medium}
""")
    findings = merge_findings([
        sast(Severity.HIGH, Confidence.HIGH, line=1),    # violation
        sast(Severity.HIGH, Confidence.MEDIUM, line=2),  # below: confidence too low
        sast(Severity.MEDIUM, Confidence.MEDIUM, line=3),  # below, annotated
        sast(Severity.LOW, Confidence.LOW, line=4),       # below, reported only
        sast(Severity.INFO, Confidence.LOW, line=5),      # below, not reported
    ])
    ev = evaluate(policy, findings)
    by_line = {d.finding.start_line: d for d in ev.decisions}
    assert by_line[1].status is Status.VIOLATION
    assert [by_line[i].status for i in (2, 3, 4, 5)] == [Status.BELOW_THRESHOLD] * 4
    assert [by_line[i].annotate for i in (1, 2, 3, 4, 5)] == [True, True, True, False, False]
    assert [by_line[i].reported for i in (1, 2, 3, 4, 5)] == [True, True, True, True, False]
    assert ev.verdict is Verdict.FAIL
    assert "violation" in by_line[1].steps[-1]


def test_ungraded_finding_takes_category_default(tmp_path: Path) -> None:
    policy = load_policy("builtin:mojaloop")
    dep = Finding(
        category=DEPENDENCY,
        sources=(Source("pip-audit", "vulnerable-dependency", None, Confidence.HIGH, "m"),),
        path="requirements.txt", start_line=1, end_line=1, message="m", flaw_key="PYSEC-1",
        dependency=DependencyInfo("PyPI", "x", "1.0", advisory="PYSEC-1"),
    )
    [d] = evaluate(policy, merge_findings([dep])).decisions
    assert d.severity is Severity.HIGH and d.status is Status.VIOLATION
    assert any("default severity high" in s for s in d.steps)


def test_failed_scanner_is_error_even_without_findings(tmp_path: Path) -> None:
    policy = load_policy("builtin:mojaloop")
    ev = evaluate(policy, [], [ScannerOutcome("bandit", "failed", "boom")])
    assert ev.verdict is Verdict.ERROR and ev.verdict.exit_code == 3
    ev = evaluate(policy, [], [ScannerOutcome("safety", "skipped", "not installed")])
    assert ev.verdict is Verdict.PASS


def test_excluded_path_is_kept_and_marked(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "exclude: ['gen/']\n")
    [d] = evaluate(policy, merge_findings([sast(Severity.HIGH, Confidence.HIGH,
                                                path="gen/x.py")])).decisions
    assert d.status is Status.EXCLUDED


def test_regrade_can_raise_and_lower(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, """
rules:
  "bandit:B999": {severity: critical, reason: we care}
""")
    [d] = evaluate(policy, merge_findings([sast(Severity.LOW, Confidence.HIGH)])).decisions
    assert d.severity is Severity.CRITICAL and d.status is Status.VIOLATION


def test_diff_mode_budgets_count_only_what_the_change_introduces(tmp_path: Path) -> None:
    """A budget of 1 low finding: the tree has 3, the change adds 1. A full scan breaches
    the budget; diff mode does not blame the change for the 2 it did not add."""
    import datetime as dt

    from policy_gate.base.gitdiff import ChangeSet
    from policy_gate.policy.evaluate import DiffScope, Inputs

    policy = policy_from(tmp_path, """
categories:
  sast:
    fail: {severity: high}
    budgets: {low: 1}
""")
    findings = merge_findings([sast(Severity.LOW, Confidence.HIGH, "a.py", n) for n in (1, 2, 3)])
    full = evaluate(policy, findings)
    assert full.verdict is Verdict.FAIL and full.budgets
    changes = ChangeSet(base_ref="main", base="0" * 40, head="1" * 40,
                        files={"a.py": frozenset({3})}, deleted=(), renamed={})
    inputs = Inputs(today=dt.date(2026, 11, 25), diff=DiffScope(changes))
    diff = evaluate(policy, findings, (), inputs)
    assert diff.verdict is Verdict.PASS and not diff.budgets
    assert [d.introduced for d in diff.decisions] == [False, False, True]
    # two introduced lows breach it in diff mode too
    changes2 = ChangeSet(base_ref="main", base="0" * 40, head="1" * 40,
                         files={"a.py": frozenset({2, 3})}, deleted=(), renamed={})
    diff2 = evaluate(policy, findings, (), Inputs(today=dt.date(2026, 11, 25),
                                                  diff=DiffScope(changes2)))
    assert diff2.verdict is Verdict.FAIL
    assert sum(d.is_violation for d in diff2.decisions) == 2
