"""What every report format receives, and the one function each format implements.

Besides the data, this module holds what several formats say the same way — the order of
statuses, why an accepted finding does not fail, the order of notices, the diff-mode
scope — so that the JSON, terminal, Markdown, SARIF, JUnit and annotation outputs agree.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import quote

from policy_gate.base.gitdiff import ChangeSet
from policy_gate.catalogue import BY_NAME
from policy_gate.findings import CATEGORIES, SUPPRESSION, Severity
from policy_gate.policy.evaluate import (
    ACCEPTED,
    Decision,
    Evaluation,
    Inputs,
    Notice,
    Status,
    SuppressionUse,
)
from policy_gate.policy.model import Policy
from policy_gate.results import ScanResult, Suppression

# Most important first: what fails, then what is over the fail threshold but accepted (in
# the order the evaluator applies the acceptances), then what the policy tolerates.
STATUS_ORDER: tuple[Status, ...] = (
    Status.VIOLATION,
    Status.SUPPRESSED,
    Status.WAIVED,
    Status.BASELINED,
    Status.PRE_EXISTING,
    Status.BELOW_THRESHOLD,
    Status.EXCLUDED,
    Status.DISABLED,
)
ACCEPTED_ORDER: tuple[Status, ...] = tuple(s for s in STATUS_ORDER if s in ACCEPTED)
_STATUS_ORDER = {s: i for i, s in enumerate(STATUS_ORDER)}
# Most severe first, as the tables show them.
_SEVERITY_LABELS: dict[Severity, str] = {s: s.label for s in reversed(Severity)}

# How a report names an accepted status in a sentence ("3 waived, 1 in the baseline").
ACCEPTED_WORDS: dict[Status, str] = {
    Status.SUPPRESSED: "suppressed inline",
    Status.WAIVED: "waived",
    Status.BASELINED: "in the baseline",
    Status.PRE_EXISTING: "pre-existing",
}


def status_rank(status: Status) -> int:
    """Sort key of a status; one the table does not know yet sorts last instead of
    failing every report."""
    return _STATUS_ORDER.get(status, len(_STATUS_ORDER))


@dataclass(frozen=True)
class ReportData:
    result: ScanResult
    policy: Policy
    evaluation: Evaluation
    # The scanned root's path inside the repository ("services/api/"; "" at its top), for
    # formats that point at repository files: annotations, SARIF, JUnit, links (repo_path).
    # Finding paths stay root-relative.
    path_prefix: str = ""
    # SARIF: the category every run's automationDetails.id starts with (--sarif-category);
    # "" derives one from path_prefix (sarif.category_base).
    sarif_category: str = ""

    @property
    def generated_at(self) -> str:
        return dt.datetime.fromtimestamp(self.result.started, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def repo_path(self, path: str) -> str:
        """A root-relative path (a finding's) as the repository names it (:func:`repo_path`)."""
        return repo_path(self.path_prefix, path)

    @property
    def inputs(self) -> Inputs | None:
        return self.evaluation.inputs

    @property
    def changes(self) -> ChangeSet | None:
        """Diff mode's change set (None on a full scan): the one decisions were made with."""
        inputs = self.evaluation.inputs
        if inputs is not None and inputs.diff is not None:
            return inputs.diff.changes
        return self.result.changes

    @cached_property
    def _ordered(self) -> tuple[Decision, ...]:
        # Sorted once per report run (every format asks for it); the evaluation is frozen.
        rank, last = _STATUS_ORDER, len(_STATUS_ORDER)
        return tuple(
            sorted(
                self.evaluation.decisions,
                key=lambda d: (
                    rank.get(d.status, last),
                    -d.severity,
                    d.finding.path,
                    d.finding.start_line or 0,
                ),
            )
        )

    def ordered(self) -> list[Decision]:
        """Most important first: violations, then accepted, then by severity and place."""
        return list(self._ordered)

    def table(self) -> dict[str, dict[str, Counter[str]]]:
        """category -> severity -> status -> count."""
        # One counting pass in C over (category, severity, status), then the nested dict:
        # categories in CATEGORIES order then as first seen, and each Counter's statuses in
        # the order first seen, as counting decision by decision would give.
        counts = Counter(
            [(d.finding.category, d.severity, d.status) for d in self.evaluation.decisions]
        )
        labels = _SEVERITY_LABELS
        out: dict[str, dict[str, Counter[str]]] = {
            c: {label: Counter() for label in labels.values()} for c in CATEGORIES
        }
        for (category, severity, status), n in counts.items():
            sevs = out.get(category)
            if sevs is None:
                sevs = out[category] = {label: Counter() for label in labels.values()}
            sevs[labels[severity]][status.value] = n
        return out

    @cached_property
    def _accepted(self) -> dict[Status, tuple[Decision, ...]]:
        out: dict[Status, list[Decision]] = {s: [] for s in ACCEPTED_ORDER}
        for d in self._ordered:
            if d.status in ACCEPTED:
                out.setdefault(d.status, []).append(d)
        return {s: tuple(ds) for s, ds in out.items()}

    def accepted(self) -> dict[Status, list[Decision]]:
        """Accepted decisions by status (every accepted status, in ACCEPTED_ORDER)."""
        return {s: list(ds) for s, ds in self._accepted.items()}

    def accepted_summary(self) -> str:
        """'2 waived, 1 pre-existing' ('' when nothing is accepted), for headlines."""
        return ", ".join(
            f"{len(ds)} {ACCEPTED_WORDS.get(s, s.value)}" for s, ds in self._accepted.items() if ds
        )

    def why(self, d: Decision) -> str:
        """One line on why this decision came out as it did."""
        return decision_reason(d, self.evaluation.inputs)

    def notices(self) -> list[Notice]:
        """The policy change first, then what fails, then the rest (each in run order)."""
        return ordered_notices(self.evaluation.notices)

    @cached_property
    def _honoured(self) -> dict[Suppression, bool]:
        return {u.suppression: u.honoured for u in self.evaluation.suppressions}

    def honoured(self, d: Decision) -> bool | None:
        """Whether the policy honours the inline comment covering ``d`` (None: none)."""
        if d.suppression is None:
            return None
        return self._honoured.get(d.suppression, d.status is Status.SUPPRESSED)

    def suppression_counts(self) -> tuple[int, int]:
        """(inline suppression comments found, of them honoured by the policy)."""
        uses = self.evaluation.suppressions
        return len(uses), sum(1 for u in uses if u.honoured)


def suppression_dict(s: Suppression) -> dict[str, Any]:
    """An inline suppression comment as the JSON report and SARIF properties show it.
    ``text`` and ``reason`` hold only what follows the marker, never the code before it
    (that code may be the very secret being suppressed)."""
    return {
        "path": s.path,
        "line": s.line,
        "kind": s.kind,
        "rules": list(s.rules),
        "reason": s.reason,
        "text": s.text,
    }


def ordered_notices(notices: tuple[Notice, ...] | list[Notice]) -> list[Notice]:
    return sorted(notices, key=lambda n: (n.kind != "policy-change", not n.fails))


def notice_place(notice: Notice) -> str:
    """'file:line', 'file' or '' — where a notice points."""
    if not notice.file:
        return ""
    return f"{notice.file}:{notice.line}" if notice.line else notice.file


def repo_path(prefix: str, path: str) -> str:
    """A path relative to the scanned root (a finding's, a notice's) as a path relative to
    the repository root, ``prefix`` being where the scanned root sits in it: what SARIF
    URIs, JUnit ``file`` attributes, annotations and links all name, since GitHub resolves
    each of them from the repository root. One function, so that they never disagree."""
    prefix = prefix.strip("/")
    joined = f"{prefix}/{path}" if prefix else path
    if any(part in ("", ".", "..") for part in path.split("/")):
        return posixpath.normpath(joined)  # a notice's `../policy.yaml`
    return joined


def notice_repo_path(notice: Notice, prefix: str) -> str | None:
    """The repository path of the file a notice concerns, for annotations, SARIF and JUnit.

    Notices name files relative to the scanned root, like findings, with `..` for a file
    above it (a repository policy when a subdirectory is scanned); one above the
    repository root has none."""
    if not notice.file:
        return None
    joined = repo_path(prefix, notice.file)
    return None if joined.startswith("../") or joined == ".." else joined


def decision_reason(d: Decision, inputs: Inputs | None) -> str:
    """Why a finding over the fail threshold does not fail this run (waiver and its
    reason, the inline comment, the baseline, or diff mode's base), else the decision's
    last step. Plain text: each format escapes it for its own markup."""
    if d.status is Status.WAIVED and d.waiver is not None:
        return f"{d.waiver.describe()}: {d.waiver.reason}"
    if d.status is Status.SUPPRESSED and d.suppression is not None:
        s = d.suppression
        return f"suppressed by the inline comment at {s.path}:{s.line}: {s.text}"
    if d.status is Status.BASELINED and d.baseline is not None:
        source = inputs.baseline.source if inputs and inputs.baseline else ""
        entry = d.baseline
        where = f"{entry.path}:{entry.line}" if entry.line else entry.path
        return f"recorded in the baseline{' ' + source if source else ''} (as {where})"
    if d.status is Status.PRE_EXISTING:
        base = inputs.diff.changes.base[:12] if inputs and inputs.diff else "the base"
        if d.finding.dependency is not None:
            dep = d.finding.dependency
            return (
                f"diff mode: {dep.package} {dep.version or dep.requirement or ''}".rstrip()
                + f" was already a dependency at the base ({base})"
            )
        return f"diff mode: not on a line this change adds; present at the base ({base})"
    return d.steps[-1] if d.steps else d.status.value


def suppression_place(use: SuppressionUse) -> str:
    return f"{use.suppression.path}:{use.suppression.line}"


class Reporter(Protocol):
    def __call__(self, data: ReportData) -> str: ...


def artifact_uri(path: str) -> str:
    """A relative URI for a POSIX path (SARIF locations, links to files): spaces, '%',
    '#', ':', newlines and non-ASCII are percent-encoded (undecodable file-name bytes are
    kept as their original bytes)."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


# What the GitHub Actions runner takes for a workflow command in any line the gate prints
# (stdout or stderr): `::name` at the start of the line, after blanks, and the legacy
# `##[name]` anywhere in it (actions/runner ActionCommand.TryParseV2 and TryParse).
_RUNNER_COMMAND = re.compile(r"\A(\s*)::|##\[")


def _no_command(match: re.Match[str]) -> str:
    return "##\\[" if match.group(1) is None else match.group(1) + "\\::"


def unprintable_escaped(text: str) -> str:
    """Control characters (ANSI escapes, CR, newlines in file names) shown escaped instead
    of being interpreted."""
    if text.isprintable():  # nearly always: one C pass, no copy
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def printable(text: str) -> str:
    """Make a string safe to show on a terminal or a CI log: control characters escaped
    (:func:`unprintable_escaped`), and what the Actions runner would read as a workflow
    command (a file named ``##[stop-commands]x``, a message starting with ``::error::``)
    gets a backslash."""
    text = unprintable_escaped(text)
    if "::" in text or "##[" in text:
        text = _RUNNER_COMMAND.sub(_no_command, text)
    return text


def scanners_by_category(data: ReportData) -> dict[str, list[str]]:
    """category -> the scanners that check it and ran to completion ("ok"). The gate
    itself looks for inline suppression comments on every scan, whichever scanners ran."""
    out: dict[str, list[str]] = defaultdict(list)
    out[SUPPRESSION].append("policy-gate")
    for run in data.result.runs:
        scanner = BY_NAME.get(run.name)
        # a scanner that had nothing to check (no coverage report) checked nothing
        checked = run.output is not None and not run.output.not_checked
        if scanner is not None and run.status == "ok" and checked:
            for category in scanner.categories:
                out[category].append(run.name)
    return dict(out)


def not_checked_reasons(data: ReportData) -> dict[str, str]:
    """category -> why a scanner for it ran but checked nothing (e.g. no coverage report)."""
    out: dict[str, str] = {}
    for run in data.result.runs:
        scanner = BY_NAME.get(run.name)
        if scanner is not None and run.output is not None and run.output.not_checked:
            for category in scanner.categories:
                out.setdefault(category, f"{run.name}: {run.output.not_checked}")
    return out
