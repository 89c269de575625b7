"""The finding model: merging across scanners and fingerprints that survive moved lines."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from policy_gate.findings import (
    MAX_STATEMENT_LINES,
    SAST,
    Confidence,
    Finding,
    Severity,
    Source,
    content_key,
    cwe_id,
    merge_findings,
)
from policy_gate.policy.loader import load_policy
from policy_gate.runner import scan
from tests.conftest import make_tree

FLAW = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"


def _finding(scanner: str, rule: str, line: int, sev: Severity, text: str = "x") -> Finding:
    return Finding(
        category=SAST,
        sources=(Source(scanner, rule, sev, Confidence.HIGH, f"{scanner} says"),),
        path="a.py", start_line=line, end_line=line, message=f"{scanner} says",
        flaw_key="CWE-78", content_key=content_key(text), cwe=("CWE-78",),
    )


def test_same_flaw_same_place_merges_keeping_every_source() -> None:
    merged = merge_findings([
        _finding("semgrep", "py-shell", 5, Severity.MEDIUM),
        _finding("bandit", "B602", 5, Severity.HIGH),
        _finding("bandit", "B602", 9, Severity.HIGH),
    ])
    assert len(merged) == 2
    first = next(f for f in merged if f.start_line == 5)
    assert first.scanners == ("bandit", "semgrep")  # the most severe leads
    assert first.severity == Severity.HIGH
    assert len(first.sources) == 2


def _spanning(scanner: str, line: int, first: int, last: int) -> Finding:
    return replace(_finding(scanner, f"{scanner}-rule", line, Severity.HIGH),
                   span_start=first if first < line else None, end_line=last)


def test_one_statement_reported_on_different_lines_is_one_finding() -> None:
    """bandit reports a call's `shell=True` line, semgrep its first line or its tainted
    argument: where the statements share a line, they are one flaw (issue 17)."""
    merged = merge_findings([
        _spanning("semgrep", 11, 11, 11),  # the tainted argument
        _spanning("bandit", 12, 10, 13),  # the whole call, reported at `shell=True`
        _spanning("semgrep", 20, 20, 22),  # the next statement: another flaw
    ])
    assert [(f.start_line, len(f.sources)) for f in merged] == [(12, 2), (20, 1)]
    assert merged[0].span == (10, 13)


def test_a_span_wider_than_a_statement_merges_only_on_its_own_line() -> None:
    """A rule that matches a whole function must not swallow each flaw inside it."""
    merged = merge_findings([
        _spanning("semgrep", 5, 5, 5 + MAX_STATEMENT_LINES),
        _spanning("bandit", 9, 9, 9),
        _spanning("bandit", 5, 5, 5),
    ])
    assert sorted((f.start_line, len(f.sources)) for f in merged) == [(5, 2), (9, 1)]


def test_a_line_number_below_one_never_joins_another_flaw() -> None:
    """A scanner's output is hostile input: a nonsense line number (0, negative) must not
    attach a finding to another flaw's group."""
    other = replace(_spanning("bandit", 4, 4, 4), flaw_key="CWE-89", cwe=("CWE-89",))
    merged = merge_findings([other, _spanning("semgrep", -2, -2, -2),
                             _spanning("bandit", 0, 0, 0)])
    assert sorted((f.flaw_key, f.start_line, len(f.sources)) for f in merged) == [
        ("CWE-78", -2, 1), ("CWE-78", 0, 1), ("CWE-89", 4, 1)]


def test_touching_statements_of_one_rule_stay_apart() -> None:
    merged = merge_findings([_spanning("bandit", 3, 3, 4), _spanning("bandit", 5, 5, 6)])
    assert len(merged) == 2


def test_cwe_normalisation() -> None:
    assert cwe_id("CWE-78: OS Command Injection") == "CWE-78"
    assert cwe_id({"id": 259, "link": "x"}) == "CWE-259"
    assert cwe_id(78) == "CWE-78"
    assert cwe_id("nonsense") is None and cwe_id(True) is None and cwe_id(0) is None


def _bandit_fingerprints(root: Path) -> dict[tuple[str, int | None], str]:
    policy = load_policy("builtin:mojaloop")
    result = scan(root, policy, only=["bandit"])
    return {(f.path, f.start_line): f.fingerprint for f in result.findings
            if f.rule_id == "B602"}


def test_fingerprint_survives_inserted_lines_and_separates_copies(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "r", {"a.py": FLAW})
    before = _bandit_fingerprints(root)
    (root / "a.py").write_text("# a comment\n# another\n" + FLAW)
    after = _bandit_fingerprints(root)
    assert list(before.values()) == list(after.values())
    assert list(after) == [("a.py", 7)]

    (root / "a.py").write_text(FLAW + "\n\ndef again(cmd):\n    subprocess.call(cmd, shell=True)\n")
    twice = _bandit_fingerprints(root)
    assert len(set(twice.values())) == 2
    assert before[("a.py", 5)] in twice.values()  # the original keeps its identity


def test_with_fingerprint_is_replace() -> None:
    """The fast copy must carry every field (a field added to Finding must be added there)."""
    from dataclasses import fields, replace

    from policy_gate.findings import DependencyInfo, SecretInfo

    values = {f.name: f"v-{f.name}" for f in fields(Finding)}
    values.update(
        sources=(Source("s", "r", Severity.LOW, None, "m"),),
        start_line=3, end_line=4, cwe=("CWE-1",),
        secret=SecretInfo("k", "p", "h"), dependency=DependencyInfo("PyPI", "x", "1"),
    )
    finding = Finding(**values)  # type: ignore[arg-type]
    assert finding.with_fingerprint("new") == replace(finding, fingerprint="new")
