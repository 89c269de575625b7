"""The finding model: merging across scanners and fingerprints that survive moved lines."""

from __future__ import annotations

from pathlib import Path

from policy_gate.findings import (
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
