"""`policy-gate explain`: one finding's decision, step by step.

The steps come from the evaluator (or from a JSON report that recorded them), so the
explanation is exactly what decided the verdict, not a reconstruction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from policy_gate.reports.interface import ReportData, printable


@dataclass(frozen=True)
class Explained:
    fingerprint: str
    location: str
    title: str
    category: str
    rules: tuple[str, ...]
    status: str
    severity: str
    steps: tuple[str, ...]
    message: str = ""
    verdict: str = ""  # the run's verdict, for context
    policy: str = ""  # policy name and hash


def from_data(data: ReportData) -> list[Explained]:
    policy = f"{data.policy.name} (sha256 {data.policy.sha256[:12]})"
    return [
        Explained(
            fingerprint=d.finding.fingerprint,
            location=d.finding.location,
            title=d.finding.title or d.finding.rule_id,
            category=d.finding.category,
            rules=tuple(dict.fromkeys(s.qualified_rule for s in d.finding.sources)),
            status=d.status.value,
            severity=d.severity.label,
            steps=d.steps,
            message=d.finding.message,
            verdict=data.evaluation.verdict.value,
            policy=policy,
        )
        for d in data.ordered()
    ]


def from_report(text: str) -> list[Explained]:
    """Entries from a policy-gate JSON report; ValueError if it is not one."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise ValueError("not a policy-gate JSON report (no findings list)")
    policy = doc.get("policy") or {}
    name = f"{policy.get('name', '?')} (sha256 {str(policy.get('sha256', ''))[:12]})"
    out = []
    for f in doc["findings"]:
        if not isinstance(f, dict):
            raise ValueError("not a policy-gate JSON report (a finding is not an object)")
        out.append(
            Explained(
                fingerprint=str(f.get("fingerprint", "")),
                location=_location(f),
                title=str(f.get("title") or f.get("rule_id") or ""),
                category=str(f.get("category", "")),
                rules=tuple(
                    f"{s.get('scanner')}:{s.get('rule_id')}"
                    for s in f.get("sources", [])
                    if isinstance(s, dict)
                ),
                status=str(f.get("status", "")),
                severity=str(f.get("effective_severity", "")),
                steps=tuple(str(s) for s in f.get("decision", [])),
                message=str(f.get("message", "")),
                verdict=str(doc.get("verdict", "")),
                policy=name,
            )
        )
    return out


def _location(f: dict[str, Any]) -> str:
    path = str(f.get("path", ""))
    line = f.get("start_line")
    return f"{path}:{line}" if line else path


def select(entries: Sequence[Explained], query: str) -> list[Explained]:
    """By fingerprint, a unique prefix of one (at least 6 characters), or PATH:LINE."""
    query = query.strip()
    exact = [e for e in entries if e.fingerprint == query]
    if exact:
        return exact
    if len(query) >= 6:
        prefixed = [e for e in entries if e.fingerprint.startswith(query)]
        if prefixed:
            return prefixed
    return [e for e in entries if e.location == query]


def render(e: Explained) -> str:
    lines = [
        f"{printable(e.title)} [{', '.join(printable(r) for r in e.rules)}]",
        f"  at        {printable(e.location)}",
        f"  category  {e.category}, effective severity {e.severity}",
        f"  finding   {e.fingerprint}",
        f"  policy    {printable(e.policy)}",
    ]
    if e.message:
        lines.append(f"  message   {printable(e.message)}")
    lines.append("")
    lines.append("How the policy decided, in order:")
    for i, step in enumerate(e.steps, 1):
        lines.append(f"  {i}. {printable(step)}")
    lines.append("")
    outcome = {
        "violation": "a VIOLATION: it fails the build",
        "below-threshold": "below the fail threshold: shown, does not fail",
        "suppressed": "suppressed by an inline comment the policy honours: does not fail",
        "waived": "accepted by a waiver: does not fail until the waiver expires",
        "baselined": "recorded in the baseline: does not fail",
        "pre-existing": "present before this change (diff mode): does not fail this change",
        "excluded": "in an excluded path: not judged",
        "disabled": "every rule that reported it is disabled: not judged",
    }.get(e.status, e.status)
    lines.append(f"Result: {outcome}. (Run verdict: {e.verdict or 'unknown'}.)")
    return "\n".join(lines) + "\n"


__all__ = ["Explained", "from_data", "from_report", "render", "select"]
