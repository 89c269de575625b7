"""The one normalised Finding type that every scanner's output is turned into.

Scanners report in their own vocabularies; everything downstream (policy evaluation,
reports, baselines, waivers) sees only :class:`Finding`. A Finding keeps every raw
scanner result that contributed to it (:class:`Source`), so merging the same flaw seen by
two scanners never loses an accounting of what each tool said.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from policy_gate.base.redact import redact_urls


class Severity(IntEnum):
    """Normalised severity; ordered so that thresholds compare with ``>=``."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: str) -> Severity:
        return cls[value.strip().upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


class Confidence(IntEnum):
    """How sure the scanner is that the result is real (not how bad it is)."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @classmethod
    def parse(cls, value: str) -> Confidence:
        return cls[value.strip().upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


# Categories the policy knows. A category is a string so that later ecosystems (licence,
# iac, coverage) add entries here and to the schema without reshaping the type.
SAST = "sast"
SECRET = "secret"  # noqa: S105 - a category name, not a credential
DEPENDENCY = "dependency"
LICENSE = "license"
UNSCANNED = "unscanned"  # a file a scanner could not analyse: never silently skipped
# An inline comment that silences every rule on its line (`# nosec`, `nosemgrep` with no
# rule id): the gate reports it so that blanket silencing is visible and reviewable.
SUPPRESSION = "suppression"
DATA = "data"  # payment card numbers (PANs) and personal data in code, fixtures, logs (M12)
CI = "ci"  # container images and CI workflows: pinned bases, non-root, pinned actions (M9)
COVERAGE = "coverage"  # unit-test coverage below the policy's thresholds (M7)
CATEGORIES: tuple[str, ...] = (
    SAST, SECRET, DEPENDENCY, LICENSE, DATA, CI, COVERAGE, UNSCANNED, SUPPRESSION
)


@dataclass(frozen=True, slots=True)
class Source:
    """One raw result as a scanner reported it (before merging)."""

    scanner: str
    rule_id: str
    severity: Severity | None
    confidence: Confidence | None
    message: str
    # The line the scanner reported it on, kept when results merge (the merged finding
    # has one start line; an inline comment of this scanner applies to this one).
    line: int | None = None

    def __post_init__(self) -> None:
        _mask_urls(self, "message")

    @property
    def qualified_rule(self) -> str:
        return f"{self.scanner}:{self.rule_id}"


def _mask_urls(obj: object, *names: str) -> None:
    """Credentials in URLs (userinfo, query values) masked in free text, here where every
    finding is built, so that no scanner, cache or report can forget it (redact.py)."""
    for name in names:
        value = getattr(obj, name)
        if value and "://" in value:
            object.__setattr__(obj, name, redact_urls(value))


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What may be shown about a secret: never its value."""

    kind: str
    preview: str  # masked, e.g. "AK****************LE"
    hash: str  # "sha1:<hex>" as detect-secrets computes it


@dataclass(frozen=True, slots=True)
class DependencyInfo:
    ecosystem: str  # "PyPI", "npm"
    package: str
    version: str | None  # None when the requirement is not pinned
    fixed_versions: tuple[str, ...] = ()
    advisory: str | None = None  # the advisory's primary id (PYSEC-/GHSA-/CVE-)
    aliases: tuple[str, ...] = ()  # every other id for the same flaw
    requirement: str | None = None  # the requirement line as written (unpinned case)
    direct: bool | None = None  # None: the manifest does not say
    dev: bool = False  # only needed to develop or test
    path: tuple[str, ...] = ()  # "name@version" from a direct dependency down to this one
    fix_version: str | None = None  # lowest version that fixes every advisory on it
    license: str | None = None  # SPDX expression as declared
    # A finding about many packages at once (licences that could not be resolved): each
    # one's "name@version", in the finding's data rather than only its message.
    packages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _mask_urls(self, "package", "version", "requirement")
        if any("://" in p for p in self.path):
            object.__setattr__(self, "path", tuple(redact_urls(p) for p in self.path))


@dataclass(frozen=True, slots=True)
class Finding:
    """A flaw at a place, seen by one or more scanners.

    ``flaw_key`` says *what* is wrong independently of which tool said it (a CWE for SAST,
    an advisory id for dependencies, a secret hash for secrets); two sources with the same
    category, path, line and flaw key are the same finding. ``content_key`` is a hash of
    the flagged code (or equivalent), which keeps the fingerprint stable when lines move.
    """

    category: str
    sources: tuple[Source, ...]
    path: str  # POSIX path relative to the scanned root
    start_line: int | None
    end_line: int | None
    message: str
    flaw_key: str
    content_key: str = ""
    cwe: tuple[str, ...] = ()  # "CWE-78"
    title: str = ""
    help_url: str | None = None
    fix: str = ""  # how to fix it, when the rule says
    secret: SecretInfo | None = None
    dependency: DependencyInfo | None = None
    fingerprint: str = ""  # filled by merge_findings()
    # Diff mode: the commit of the change that added it, for a secret found in the change's
    # history (it may be gone from the head, but it stays in the repository's history).
    commit: str | None = None
    # The first line of the flagged code when it starts above start_line: bandit reports
    # `shell=True` on the keyword's line, inside a call that began lines earlier. A change
    # to any line of the statement changes the flaw (see :attr:`span`).
    span_start: int | None = None
    # Columns, 1-based as SARIF counts them, where the scanner gives them (semgrep, bandit):
    # start_column on start_line; end_column, the column after the flagged code, on
    # end_line. SARIF regions carry them; nothing else depends on them.
    start_column: int | None = None
    end_column: int | None = None

    def __post_init__(self) -> None:
        _mask_urls(self, "message", "title", "fix")

    @property
    def scanner(self) -> str:
        return self.sources[0].scanner

    @property
    def rule_id(self) -> str:
        return self.sources[0].rule_id

    @property
    def qualified_rule(self) -> str:
        return self.sources[0].qualified_rule

    @property
    def scanners(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.scanner for s in self.sources))

    @property
    def severity(self) -> Severity | None:
        """The highest severity any scanner gave; None if no scanner graded it."""
        graded = [s.severity for s in self.sources if s.severity is not None]
        return max(graded) if graded else None

    @property
    def confidence(self) -> Confidence | None:
        graded = [s.confidence for s in self.sources if s.confidence is not None]
        return max(graded) if graded else None

    @property
    def span(self) -> tuple[int, int] | None:
        """First and last line of the flagged code (the whole statement, not only the line
        reported), or None without a line: diff mode and inline comments judge by it."""
        start = self.start_line
        if start is None:
            return None
        return min(start, self.span_start or start), max(start, self.end_line or start)

    @property
    def location(self) -> str:
        return f"{self.path}:{self.start_line}" if self.start_line else self.path

    @property
    def ids(self) -> tuple[str, ...]:
        """CWE, CVE, GHSA, PYSEC ids: everything a waiver or a reader may match on."""
        dep = self.dependency
        extra = ((dep.advisory,) if dep and dep.advisory else ()) + (dep.aliases if dep else ())
        return tuple(dict.fromkeys((*self.cwe, *extra)))

    def with_fingerprint(self, fingerprint: str) -> Finding:
        """A copy with this fingerprint (the constructor: dataclasses.replace costs three
        times as much, and it runs once per finding)."""
        return Finding(
            self.category, self.sources, self.path, self.start_line, self.end_line,
            self.message, self.flaw_key, self.content_key, self.cwe, self.title,
            self.help_url, self.fix, self.secret, self.dependency, fingerprint, self.commit,
            self.span_start, self.start_column, self.end_column,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "category": self.category,
            "scanner": self.scanner,
            "scanners": list(self.scanners),
            "rule_id": self.rule_id,
            "title": self.title,
            "message": self.message,
            "severity": self.severity.label if self.severity is not None else None,
            "confidence": self.confidence.label if self.confidence is not None else None,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "cwe": list(self.cwe),
            "ids": list(self.ids),
            "help_url": self.help_url,
            "fix": self.fix,
            "commit": self.commit,
            "secret": None
            if self.secret is None
            else {
                "kind": self.secret.kind,
                "preview": self.secret.preview,
                "hash": self.secret.hash,
            },
            "dependency": None
            if self.dependency is None
            else {
                "ecosystem": self.dependency.ecosystem,
                "package": self.dependency.package,
                "version": self.dependency.version,
                "fixed_versions": list(self.dependency.fixed_versions),
                "advisory": self.dependency.advisory,
                "aliases": list(self.dependency.aliases),
                "requirement": self.dependency.requirement,
                "direct": self.dependency.direct,
                "dev": self.dependency.dev,
                "path": list(self.dependency.path),
                "fix_version": self.dependency.fix_version,
                "license": self.dependency.license,
                "packages": list(self.dependency.packages),
            },
            "sources": [
                {
                    "scanner": s.scanner,
                    "rule_id": s.rule_id,
                    "severity": s.severity.label if s.severity is not None else None,
                    "confidence": s.confidence.label if s.confidence is not None else None,
                    "message": s.message,
                }
                for s in self.sources
            ],
        }


def sha256_hex(*parts: str) -> str:
    """SHA-256 of the parts, each followed by a NUL byte (one encode: the gate hashes
    every finding)."""
    text = "\x00".join(parts) + "\x00" if parts else ""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def content_key(text: str) -> str:
    """Hash code with whitespace folded, so re-indenting does not change identity."""
    return sha256_hex(" ".join(text.split()))[:32]


# A span longer than this is not one statement (a rule matching a whole function or
# class): such a finding merges with another only when both report the same line.
MAX_STATEMENT_LINES = 30


def _flaw_key(f: Finding) -> tuple[str, str, str]:
    return (f.category, f.path, f.flaw_key)


def _extent(f: Finding) -> tuple[int, int]:
    """The lines by which ``f`` meets another report of its flaw: its statement, or only
    its reported line when the span is wider than a statement."""
    span = f.span
    assert span is not None and f.start_line is not None  # callers pass located findings
    lo, hi = span
    return span if hi - lo < MAX_STATEMENT_LINES else (f.start_line, f.start_line)


def _same_flaw_groups(raw: Iterable[Finding]) -> list[list[Finding]]:
    """Reports of one flaw: same category, file and flaw key, and statements that share a
    line. bandit and semgrep report different lines of one multi-line statement (the
    call's first line, the ``shell=True`` argument's line), so equal start lines alone
    would count one flaw twice. Groups come in the order of their first report."""
    by_flaw: dict[tuple[str, str, str], list[tuple[int, Finding]]] = defaultdict(list)
    for index, finding in enumerate(raw):
        by_flaw[_flaw_key(finding)].append((index, finding))
    groups: list[tuple[int, list[Finding]]] = []
    for members in by_flaw.values():
        unlocated = [(i, f) for i, f in members if f.start_line is None]
        if unlocated:
            groups.append((unlocated[0][0], [f for _, f in unlocated]))
        located = sorted(((_extent(f), i, f) for i, f in members if f.start_line is not None),
                         key=lambda item: (item[0], item[1]))
        reach: int | None = None  # the last line of this flaw key's latest group
        for (lo, hi), index, finding in located:
            if reach is None or lo > reach:  # shares no line with the group before
                groups.append((index, []))
                reach = hi
            first, current = groups[-1]
            current.append(finding)
            groups[-1] = (min(first, index), current)
            reach = max(reach, hi)
    return [members for _, members in sorted(groups, key=lambda group: group[0])]


def merge_findings(raw: Iterable[Finding]) -> list[Finding]:
    """Fold results of different scanners about the same flaw into one finding each,
    then give every finding its fingerprint.

    Sources are kept in full, so the count of sources per scanner always equals the count
    of results that scanner reported.
    """
    merged: list[Finding] = []
    for members in _same_flaw_groups(raw):
        if len(members) == 1:  # nothing to fold (most findings)
            merged.append(members[0])
            continue
        # The most severe, then most confident, report leads; ties go by scanner name so
        # that the result does not depend on which scanner finished first.
        members.sort(
            key=lambda f: (
                -(f.severity if f.severity is not None else -1),
                -(f.confidence if f.confidence is not None else 0),
                f.scanner,
                f.rule_id,
            )
        )
        lead = members[0]
        sources = tuple(s if s.line is not None else replace(s, line=m.start_line)
                        for m in members for s in m.sources)
        cwe = tuple(dict.fromkeys(c for m in members for c in m.cwe))
        spans = [span for m in members if (span := m.span) is not None]
        # The flagged code is the widest span any scanner gave (bandit's whole call, where
        # semgrep focuses on one argument), so the identity is the same whichever
        # scanners saw it.
        widest = max(members, key=_width)
        end_line = max(hi for _, hi in spans) if spans else lead.end_line
        merged.append(
            replace(
                lead,
                sources=sources,
                cwe=cwe,
                end_line=end_line,
                # the lead's end column is on the lead's last line only
                end_column=lead.end_column if end_line == lead.end_line else None,
                span_start=_span_start(lead.start_line, spans),
                content_key=widest.content_key
                or lead.content_key
                or next((m.content_key for m in members if m.content_key), ""),
                # the lead may lack guidance another scanner gave for the same flaw
                fix=lead.fix or next((m.fix for m in members if m.fix), ""),
                help_url=lead.help_url or next((m.help_url for m in members if m.help_url), None),
            )
        )
    return assign_fingerprints(merged)


def _span_start(start: int | None, spans: Sequence[tuple[int, int]]) -> int | None:
    """The merged span's first line, kept only when it is above the reported line."""
    first = min((lo for lo, _ in spans), default=None)
    return first if first is not None and start is not None and first < start else None


def _width(f: Finding) -> int:
    span = f.span
    return span[1] - span[0] if span else -1


def assign_fingerprints(findings: Sequence[Finding]) -> list[Finding]:
    """Fingerprint = category + flaw + path + flagged content + occurrence index.

    The line number is not part of it: inserting lines above a flaw keeps its
    fingerprint, while a second copy of the same code in the same file is told apart by
    its occurrence index (ordered by line).
    """
    ordered = sorted(findings, key=sort_key)
    seen: dict[tuple[str, str, str, str], int] = defaultdict(int)
    result: list[Finding] = []
    for f in ordered:
        identity = (f.category, f.flaw_key, f.path, f.content_key)
        occurrence = seen[identity]
        seen[identity] += 1
        fp = sha256_hex(*identity, str(occurrence))[:32]
        result.append(f if f.fingerprint == fp else f.with_fingerprint(fp))
    return result


def sort_key(f: Finding) -> tuple[str, int, str, str]:
    return (f.path, f.start_line or 0, f.category, f.flaw_key)


def cwe_id(value: object) -> str | None:
    """Normalise 'CWE-78', 'CWE-78: OS Command Injection', 78 or {'id': 78} to 'CWE-78'."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"CWE-{value}" if value > 0 else None
    if isinstance(value, str):
        head = value.strip().split(":", 1)[0].strip().upper()
        number = head.removeprefix("CWE-")
        if number.isdigit() and int(number) > 0:
            return f"CWE-{int(number)}"
    return None


@dataclass(frozen=True, slots=True)
class ScanGap:
    """Something a scanner could not look at; becomes an ``unscanned`` finding."""

    path: str
    reason: str


@dataclass
class FindingsCounter:
    """Counts raw results per scanner, for the 'nothing lost' accounting."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, findings: Iterable[Finding]) -> None:
        for f in findings:
            for s in f.sources:
                self.counts[s.scanner] += 1
