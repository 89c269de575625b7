"""What every report format receives, and the one function each format implements."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from policy_gate.findings import CATEGORIES, Severity
from policy_gate.policy.evaluate import Decision, Evaluation, Status
from policy_gate.policy.model import Policy
from policy_gate.runner import ScanResult


@dataclass(frozen=True)
class ReportData:
    result: ScanResult
    policy: Policy
    evaluation: Evaluation
    # The scanned root's path inside the repository (GitHub mode), for formats that point
    # at repository files: annotations, SARIF, links. Finding paths stay root-relative.
    path_prefix: str = ""

    @property
    def generated_at(self) -> str:
        return dt.datetime.fromtimestamp(self.result.started, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def ordered(self) -> list[Decision]:
        """Most important first: violations, then by severity, then by place."""
        return sorted(
            self.evaluation.decisions,
            key=lambda d: (
                _STATUS_ORDER[d.status],
                -d.severity,
                d.finding.path,
                d.finding.start_line or 0,
            ),
        )

    def table(self) -> dict[str, dict[str, Counter[str]]]:
        """category -> severity -> status -> count."""
        out: dict[str, dict[str, Counter[str]]] = {
            c: {s.label: Counter() for s in reversed(Severity)} for c in CATEGORIES
        }
        for d in self.evaluation.decisions:
            out.setdefault(d.finding.category, {s.label: Counter() for s in reversed(Severity)})
            out[d.finding.category][d.severity.label][d.status.value] += 1
        return out


_STATUS_ORDER = {
    Status.VIOLATION: 0,
    Status.BELOW_THRESHOLD: 1,
    Status.EXCLUDED: 2,
    Status.DISABLED: 3,
}


class Reporter(Protocol):
    def __call__(self, data: ReportData) -> str: ...


def printable(text: str) -> str:
    """Make a string safe to show on a terminal: control characters (ANSI escapes, CR,
    newlines in file names) are shown escaped instead of being interpreted."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )
