"""Decide, for every finding, what the policy makes of it — pure functions, no I/O.

Each decision records the steps that led to it, in order, so reports (and later
`policy-gate explain`) can say *why* a finding fails or does not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import pathspec

from policy_gate.findings import Confidence, Finding, Severity
from policy_gate.policy.loader import category_policy, merge
from policy_gate.policy.model import CategoryPolicy, Policy, RulePolicy


class Status(StrEnum):
    VIOLATION = "violation"  # fails the build
    BELOW_THRESHOLD = "below-threshold"  # kept and shown per the report threshold; passes
    EXCLUDED = "excluded"  # its path is excluded by the policy
    DISABLED = "disabled"  # every rule that reported it is disabled by the policy


@dataclass(frozen=True)
class Decision:
    finding: Finding
    status: Status
    severity: Severity  # effective, after policy re-grading and defaults
    confidence: Confidence | None
    reported: bool  # at or above the category's report threshold (violations always are)
    annotate: bool
    steps: tuple[str, ...]  # why, in order
    category_policy: CategoryPolicy

    @property
    def is_violation(self) -> bool:
        return self.status is Status.VIOLATION


@dataclass(frozen=True)
class BudgetBreach:
    category: str
    severity: Severity
    allowed: int
    found: int


@dataclass(frozen=True)
class ScannerOutcome:
    """What the runner says about one scanner, for the verdict."""

    name: str
    status: str  # "ok", "failed", "skipped" (optional and failed), "disabled"
    reason: str = ""


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    ERROR = "error"  # a required scanner failed: the result cannot be trusted

    @property
    def exit_code(self) -> int:
        return {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.ERROR: 3}[self]


@dataclass(frozen=True)
class Evaluation:
    decisions: tuple[Decision, ...]
    budgets: tuple[BudgetBreach, ...]
    scanners: tuple[ScannerOutcome, ...]
    verdict: Verdict

    @property
    def violations(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.is_violation)

    def count(self, status: Status) -> int:
        return sum(1 for d in self.decisions if d.status is status)


class _Context:
    """Per-path effective settings, cached: a monorepo policy may have many overrides."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.exclude = pathspec.GitIgnoreSpec.from_lines(list(policy.exclude))
        self._cache: dict[
            tuple[int, ...], tuple[dict[str, CategoryPolicy], dict[str, RulePolicy]]
        ] = {}

    def settings(
        self, path: str
    ) -> tuple[dict[str, CategoryPolicy], dict[str, RulePolicy], list[str]]:
        matched = tuple(i for i, o in enumerate(self.policy.overrides) if o.matches(path))
        notes = [
            f"directory override #{i + 1} ({', '.join(self.policy.overrides[i].paths)}) applies"
            for i in matched
        ]
        if matched not in self._cache:
            doc = dict(self.policy.document["categories"])
            rules = dict(self.policy.rules)
            for i in matched:
                override = self.policy.overrides[i]
                doc = merge(doc, dict(override.categories))
                rules.update(override.rules)
            cats = {name: category_policy(name, cfg) for name, cfg in doc.items()}
            self._cache[matched] = (cats, rules)
        cats, rules = self._cache[matched]
        return cats, rules, notes


def evaluate(
    policy: Policy, findings: Sequence[Finding], scanners: Iterable[ScannerOutcome] = ()
) -> Evaluation:
    ctx = _Context(policy)
    decisions = [decide(ctx, f) for f in findings]
    decisions, breaches = apply_budgets(decisions)
    outcomes = tuple(scanners)
    if any(o.status == "failed" for o in outcomes):
        verdict = Verdict.ERROR
    elif breaches or any(d.is_violation for d in decisions):
        verdict = Verdict.FAIL
    else:
        verdict = Verdict.PASS
    return Evaluation(tuple(decisions), tuple(breaches), outcomes, verdict)


def decide(ctx: _Context, finding: Finding) -> Decision:
    cats, rules, steps = ctx.settings(finding.path)
    cat = cats[finding.category]
    steps = list(steps)

    # Rule settings apply per source: a flaw seen by two scanners stays unless every
    # rule that saw it is disabled.
    live: list[tuple[Severity | None, Confidence | None]] = []
    for source in finding.sources:
        rule = rules.get(source.qualified_rule)
        if rule and rule.disable:
            steps.append(f"rule {rule.key} is disabled by the policy: {rule.reason}")
            continue
        severity = source.severity
        if rule and rule.severity is not None:
            steps.append(
                f"rule {rule.key} re-graded from "
                f"{severity.label if severity is not None else 'ungraded'} to "
                f"{rule.severity.label}: {rule.reason}"
            )
            severity = rule.severity
        live.append((severity, source.confidence))

    graded = [s for s, _ in live if s is not None]
    if graded:
        severity = max(graded)
    else:
        severity = cat.default_severity
        if live:
            steps.append(
                f"no scanner graded it; the {cat.name} default severity {severity.label} applies"
            )
    confidences = [c for _, c in live if c is not None]
    confidence = max(confidences) if confidences else None

    if not live:
        return Decision(
            finding, Status.DISABLED, severity, confidence, False, False, tuple(steps), cat
        )
    if finding.path and ctx.exclude.match_file(finding.path):
        steps.append("its path is excluded by the policy's `exclude` patterns")
        return Decision(
            finding, Status.EXCLUDED, severity, confidence, False, False, tuple(steps), cat
        )

    dev = finding.dependency is not None and finding.dependency.dev
    fail = cat.fail_for(dev)
    fails = fail.admits(severity, confidence)
    conf_text = confidence.label if confidence else "unstated"
    which = "development-dependency fail" if fail is not cat.fail else "fail"
    steps.append(
        f"{severity.label} severity, {conf_text} confidence against the {cat.name} {which} "
        f"threshold ({fail.describe()}): {'violation' if fails else 'below threshold'}"
    )
    status = Status.VIOLATION if fails else Status.BELOW_THRESHOLD
    reported = fails or cat.report.admits(severity, confidence)
    annotate = cat.annotate.admits(severity, confidence)
    return Decision(finding, status, severity, confidence, reported, annotate, tuple(steps), cat)


def apply_budgets(decisions: list[Decision]) -> tuple[list[Decision], list[BudgetBreach]]:
    """A budget caps how many findings of a category and severity may pass. When a budget is
    exceeded, the findings it counts become violations (each says why)."""
    counts: Counter[tuple[str, Severity]] = Counter(
        (d.finding.category, d.severity) for d in decisions if d.status is Status.BELOW_THRESHOLD
    )
    breaches: list[BudgetBreach] = []
    over: set[tuple[str, Severity]] = set()
    budgets = {
        (d.category_policy.name, sev): allowed
        for d in decisions
        for sev, allowed in d.category_policy.budgets.items()
    }
    for (category, sev), allowed in sorted(budgets.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        found = counts.get((category, sev), 0)
        if found > allowed:
            breaches.append(BudgetBreach(category, sev, allowed, found))
            over.add((category, sev))
    if not over:
        return decisions, breaches
    result = []
    for d in decisions:
        key = (d.finding.category, d.severity)
        if d.status is Status.BELOW_THRESHOLD and key in over:
            allowed = budgets[key]
            d = Decision(
                d.finding,
                Status.VIOLATION,
                d.severity,
                d.confidence,
                True,
                True,
                (
                    *d.steps,
                    f"the {key[0]} budget allows {allowed} {key[1].label} findings and "
                    f"{counts[key]} were found: budget exceeded",
                ),
                d.category_policy,
            )
        result.append(d)
    return result, breaches


__all__ = [
    "BudgetBreach",
    "Decision",
    "Evaluation",
    "ScannerOutcome",
    "Status",
    "Verdict",
    "evaluate",
]
