"""The typed policy the evaluator works with, built from validated, merged YAML."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from policy_gate.base.patterns import PathPatterns
from policy_gate.catalogue import ScannerSettings
from policy_gate.findings import CATEGORIES, Confidence, Severity


@dataclass(frozen=True)
class Threshold:
    """At or above ``severity`` (None: never) with at least ``confidence``."""

    severity: Severity | None
    confidence: Confidence = Confidence.LOW

    def admits(self, severity: Severity, confidence: Confidence | None) -> bool:
        if self.severity is None or severity < self.severity:
            return False
        # A scanner that gives no confidence is treated as sure: fail closed.
        return confidence is None or confidence >= self.confidence

    @cached_property
    def described(self) -> str:
        """In words, for a decision's steps (once per threshold, not once per finding)."""
        if self.severity is None:
            return "never"
        return f"severity >= {self.severity.label}, confidence >= {self.confidence.label}"

    def describe(self) -> str:
        return self.described


@dataclass(frozen=True)
class CategoryPolicy:
    name: str
    fail: Threshold
    report: Threshold
    annotate: Threshold
    default_severity: Severity
    budgets: Mapping[Severity, int] = field(default_factory=dict)
    rationale: str = ""
    sources: tuple[str, ...] = ()
    dev_fail: Threshold | None = None  # for development-only dependencies

    def fail_for(self, dev: bool) -> Threshold:
        return self.dev_fail if dev and self.dev_fail is not None else self.fail


@dataclass(frozen=True)
class AdvisorySettings:
    database: str | None = None  # resolved path of an offline OSV database
    osv_url: str | None = None
    max_age_days: float | None = None


@dataclass(frozen=True)
class WaiverPolicy:
    """Where accepted findings are recorded and how long an acceptance may last."""

    file: str = ".policy-gate/waivers.yaml"  # relative to the scanned root
    max_days: Mapping[Severity, int] = field(default_factory=dict)  # lifetime cap (M1)
    warn_before_days: int = 14
    stale: str = "warn"  # a waiver matching nothing: "warn" | "fail"

    def cap(self, severity: Severity) -> int | None:
        return self.max_days.get(severity)


@dataclass(frozen=True)
class ReviewPolicy:
    """What a pull request that changes the gate's own inputs gets (tamper resistance)."""

    policy_change: str = "fail"  # "fail" | "warn"
    paths: tuple[str, ...] = ()  # more paths whose change needs security review


@dataclass(frozen=True)
class RulePolicy:
    key: str  # "scanner:rule"
    disable: bool = False
    severity: Severity | None = None
    reason: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class DirectoryOverride:
    paths: tuple[str, ...]
    categories: Mapping[str, Any]  # partial category documents, merged over the base
    rules: Mapping[str, RulePolicy]
    description: str = ""

    @cached_property
    def spec(self) -> PathPatterns:
        return PathPatterns(self.paths)

    def matches(self, path: str) -> bool:
        return bool(self.spec.match_file(path))


@dataclass(frozen=True)
class TextSource:
    """Where a free text of a policy file (a rule's reason, a rationale, a description)
    was written, so that a secret found on those lines keeps the text out of every report
    (policy.withheld)."""

    text: str
    file: str  # the policy file's display name, as in Policy.files
    first: int  # its lines, 1-based, from its key to the line before the next key
    last: int


@dataclass(frozen=True)
class Policy:
    name: str
    files: tuple[str, ...]  # every file that contributed, base first
    sha256: str  # hash of the merged document: identifies exactly what was enforced
    document: Mapping[str, Any]  # the merged, validated document
    exclude: tuple[str, ...]
    inline_suppressions: str  # "ignore" | "honour" | "require-reason"
    max_file_bytes: int
    scanners: Mapping[str, ScannerSettings]
    categories: Mapping[str, CategoryPolicy]
    rules: Mapping[str, RulePolicy]
    overrides: tuple[DirectoryOverride, ...] = ()
    advisories: AdvisorySettings = field(default_factory=AdvisorySettings)
    # The validated `licenses` section: allow, deny, unknown_severity, exceptions,
    # include_dev, and where missing licences are looked up (npm_url, pypi_url)
    licenses: Mapping[str, Any] = field(default_factory=dict)
    waivers: WaiverPolicy = field(default_factory=WaiverPolicy)
    review: ReviewPolicy = field(default_factory=ReviewPolicy)
    # Generated and installed content recognised by evidence (policy_gate.base.generated.KINDS)
    generated: tuple[str, ...] = ()
    # The free texts of every file of the chain and their lines (empty once withheld).
    text_sources: tuple[TextSource, ...] = field(default=(), compare=False, repr=False)

    def category(self, name: str) -> CategoryPolicy:
        return self.categories[name]

    def known_categories(self) -> tuple[str, ...]:
        return tuple(c for c in CATEGORIES if c in self.categories)
