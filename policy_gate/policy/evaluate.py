"""Decide, for every finding, what the policy makes of it — pure functions, no I/O.

Each decision records the steps that led to it, in order, so reports and
`policy-gate explain` can say *why* a finding fails or does not. Besides the policy, a
decision may depend on what the caller read for it (:class:`Inputs`): inline suppression
comments, waivers, a baseline, and — in pull-request diff mode — what the change touched.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Literal

from policy_gate.base.gitdiff import ChangeSet
from policy_gate.base.patterns import PathPatterns
from policy_gate.catalogue import ADVISORY_SCANNERS
from policy_gate.exit_codes import EXIT_INTERNAL, EXIT_PASS, EXIT_VIOLATIONS
from policy_gate.findings import Confidence, DependencyInfo, Finding, Severity, Source
from policy_gate.policy.baseline import Baseline, BaselineEntry, match_key
from policy_gate.policy.baseline import match as match_baseline
from policy_gate.policy.loader import category_policy, merge
from policy_gate.policy.model import CategoryPolicy, Policy, RulePolicy
from policy_gate.policy.suppressions import covering
from policy_gate.policy.waivers import Waiver, WaiverSet
from policy_gate.results import ScannerOutcome, Suppression


class Status(StrEnum):
    VIOLATION = "violation"  # fails the build
    BELOW_THRESHOLD = "below-threshold"  # kept and shown per the report threshold; passes
    SUPPRESSED = "suppressed"  # over the threshold, silenced by an honoured inline comment
    WAIVED = "waived"  # over the threshold, accepted by a valid waiver
    BASELINED = "baselined"  # over the threshold, recorded in the baseline
    PRE_EXISTING = "pre-existing"  # over the threshold, not on a line the change touches
    EXCLUDED = "excluded"  # its path is excluded by the policy
    DISABLED = "disabled"  # every rule that reported it is disabled by the policy


# Statuses of findings that are over the fail threshold but do not fail this run.
ACCEPTED = frozenset({Status.SUPPRESSED, Status.WAIVED, Status.BASELINED, Status.PRE_EXISTING})


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
    waiver: Waiver | None = None  # the waiver that accepted it (status WAIVED)
    suppression: Suppression | None = None  # the inline comment that covers it, if any
    # Every comment that, together, names each rule that reported it (one per tool).
    suppressions: tuple[Suppression, ...] = ()
    baseline: BaselineEntry | None = None  # the baseline entry it matched, if any
    introduced: bool | None = None  # diff mode: on a line (or dependency) the change adds

    @property
    def is_violation(self) -> bool:
        return self.status is Status.VIOLATION


@dataclass(frozen=True)
class DiffScope:
    """What a pull request changed, as evaluation needs it."""

    changes: ChangeSet
    # manifest path (at head) -> dependency keys (see dependency_key) present at the base
    base_dependencies: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # file (at head) -> match keys (baseline.match_key) of the findings its base version
    # had, for files the gate checked again as they were at the base (Dockerfiles): there a
    # finding can point at a line the change did not touch (`FROM` when the `USER` line is
    # removed, `USER $NAME` when an ARG changes), so "already present" is asked directly.
    base_findings: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def released(self, path: str) -> bool:
        """Whether the change touched this file (changed, renamed away or deleted), so that
        a flaw recorded there may have moved: an untouched file is not scanned again in
        diff mode, and its recorded flaws are still in it."""
        changes = self.changes
        return (changes.is_changed(path) or path in changes.deleted
                or path in changes.renamed.values())

    def introduced(self, finding: Finding) -> bool:
        """Whether the change brings this finding in: a secret found in one of its commits,
        a finding whose flagged code has an added or modified line (or lost one from inside
        it), one the base's version of a re-checked file did not have, or a dependency
        (version) that the base's copy of the same manifest did not have."""
        if finding.commit:
            return True
        if finding.dependency is not None:
            if not self.changes.is_changed(finding.path):
                return False
            before = self.base_dependencies.get(finding.path)
            return before is None or dependency_key(finding.dependency) not in before
        had = self.base_findings.get(finding.path)
        if had is not None and match_key(finding) not in had:
            return True  # the base's version of the file did not have it
        # The whole flagged statement: a tainted argument on the second line of a call
        # whose flaw bandit reports on its first (or on `shell=True`) is a change to it.
        span = finding.span
        return self.changes.touches(finding.path, *(span or (None, None)))


def dependency_key(dep: DependencyInfo) -> str:
    return f"{dep.ecosystem}:{dep.package.lower()}@{dep.version or dep.requirement or ''}"


def base_occurrences(
    findings: Sequence[Finding], introduced: Callable[[Finding], bool]
) -> dict[str, str]:
    """Fingerprints as they were before the change, where a copy moved them.

    A fingerprint numbers identical flaws in a file from the top (findings.assign_
    fingerprints), so an identical line inserted above a waived or baselined flaw takes
    over its number. Within each such group the findings the change did not introduce
    keep the first numbers and the added copies take the last: returns fingerprint ->
    fingerprint to match waivers with, only for findings whose number moved."""
    groups: dict[tuple[str, str, str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.category, f.flaw_key, f.path, f.content_key), []).append(f)
    moved: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda f: (f.start_line or 0, f.fingerprint))
        numbers = [f.fingerprint for f in members]
        new = {f.fingerprint: introduced(f) for f in members}
        renumbered = sorted(members, key=lambda f: new[f.fingerprint])
        for f, before in zip(renumbered, numbers, strict=True):
            if f.fingerprint != before:
                moved[f.fingerprint] = before
    return moved


@dataclass(frozen=True)
class Inputs:
    """Everything besides the policy and the findings that a decision depends on. The
    caller reads these (from the repository, or from the base ref in diff mode)."""

    today: dt.date
    waivers: WaiverSet | None = None
    baseline: Baseline | None = None
    diff: DiffScope | None = None
    suppressions: tuple[Suppression, ...] = ()
    # Files among the gate's own inputs (policy, waivers, baseline, review paths) that the
    # pull request changes: "policy change needs security review".
    policy_changes: tuple[str, ...] = ()
    # The scanners that looked at the whole tree (None: all of them did). A waiver is only
    # judged stale when what it waives was looked for: after `--scanner bandit`, or in diff
    # mode (SAST and secrets read only the changed files), an unused waiver may be unused
    # only because its finding was not searched for.
    complete_scanners: frozenset[str] | None = None
    # Diff mode: fingerprint -> the fingerprint the finding had before the change added an
    # identical copy above it in the same file (see base_occurrences); filled by evaluate().
    renumbered: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def _waiver_matches(self) -> dict[int, tuple[Finding, tuple[Waiver, ...]]]:
        return {}

    def waivers_for(self, finding: Finding) -> tuple[Waiver, ...]:
        """The waivers that match a finding, in file order; matched once per finding
        (deciding it and judging the waivers afterwards both need them). Keyed by identity:
        hashing a whole Finding costs more than matching it; the entry holds the finding,
        so its id is not reused while the entry lives."""
        if self.waivers is None:
            return ()
        cache = self._waiver_matches
        hit = cache.get(id(finding))
        if hit is None or hit[0] is not finding:
            before = self.renumbered.get(finding.fingerprint)
            seen = finding if before is None else finding.with_fingerprint(before)
            hit = cache[id(finding)] = (finding, tuple(self.waivers.matching(seen)))
        return hit[1]

    @cached_property
    def suppressions_by_path(self) -> Mapping[str, tuple[Suppression, ...]]:
        by_path: dict[str, list[Suppression]] = {}
        for s in self.suppressions:
            by_path.setdefault(s.path, []).append(s)
        return {path: tuple(found) for path, found in by_path.items()}

    def can_judge_stale(self, waiver: Waiver) -> bool:
        done = self.complete_scanners
        if done is None:
            return True
        if waiver.kind == "rule" and waiver.rule:
            return waiver.rule.split(":", 1)[0] in done
        if waiver.kind == "advisory":
            return bool(done & ADVISORY_SCANNERS)
        return False


# What a notice is about (the JSON report's schema lists these): a change to the gate's own
# inputs, or a waiver that matches nothing, has run out, runs out soon or is too long.
NoticeKind = Literal[
    "policy-change", "stale-waiver", "expired-waiver", "expiring-waiver", "waiver-too-long"
]


@dataclass(frozen=True)
class Notice:
    """Something about the run rather than one finding: a waiver problem, or a change to
    the gate's own inputs. ``fails`` makes the build fail."""

    kind: NoticeKind
    message: str
    fails: bool
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class SuppressionUse:
    """One inline suppression comment and what the policy made of it."""

    suppression: Suppression
    covered: int  # findings on its line it would silence
    honoured: bool
    why: str


@dataclass(frozen=True)
class BudgetBreach:
    category: str
    severity: Severity
    allowed: int
    found: int


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    # Nothing else fails, but the change alters what the gate enforces (its policy, waivers
    # or baseline) and the policy makes that fail until a security lead reviews it.
    REVIEW = "review"
    ERROR = "error"  # a required scanner failed: the result cannot be trusted

    @property
    def exit_code(self) -> int:
        return {Verdict.PASS: EXIT_PASS, Verdict.FAIL: EXIT_VIOLATIONS,
                Verdict.REVIEW: EXIT_VIOLATIONS, Verdict.ERROR: EXIT_INTERNAL}[self]

    @property
    def headline(self) -> str:
        return {
            Verdict.PASS: "passed",
            Verdict.FAIL: "failed",
            Verdict.REVIEW: "policy change needs security review",
            Verdict.ERROR: "error: a required scanner did not complete",
        }[self]


POLICY_CHANGE_TITLE = "policy change needs security review"


@dataclass(frozen=True)
class Evaluation:
    decisions: tuple[Decision, ...]
    budgets: tuple[BudgetBreach, ...]
    scanners: tuple[ScannerOutcome, ...]
    verdict: Verdict
    notices: tuple[Notice, ...] = ()
    suppressions: tuple[SuppressionUse, ...] = ()
    inputs: Inputs | None = None

    @property
    def policy_change(self) -> Notice | None:
        return next((n for n in self.notices if n.kind == "policy-change"), None)

    @property
    def violations(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.is_violation)

    def count(self, status: Status) -> int:
        return sum(1 for d in self.decisions if d.status is status)


class _Context:
    """Per-path effective settings, cached: a monorepo policy may have many overrides."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.exclude = PathPatterns(policy.exclude)
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
    policy: Policy,
    findings: Sequence[Finding],
    scanners: Iterable[ScannerOutcome] = (),
    inputs: Inputs | None = None,
) -> Evaluation:
    inputs = inputs or Inputs(today=dt.datetime.now(dt.UTC).date())
    ctx = _Context(policy)
    introduced = inputs.diff.introduced if inputs.diff is not None else None
    if introduced is not None and not inputs.renumbered:
        inputs = replace(inputs, renumbered=base_occurrences(findings, introduced))
    released = inputs.diff.released if inputs.diff is not None else None
    baseline = (
        match_baseline(inputs.baseline, findings, introduced, released)
        if inputs.baseline else {}
    )
    decisions = [decide(ctx, f, inputs, baseline) for f in findings]
    decisions, breaches = apply_budgets(decisions)
    notices = waiver_notices(policy, inputs, decisions)
    if inputs.policy_changes:
        notices.insert(0, policy_change_notice(policy, inputs.policy_changes))
    outcomes = tuple(scanners)
    failing_notices = [n for n in notices if n.fails and n.kind != "policy-change"]
    if any(o.status == "failed" for o in outcomes):
        verdict = Verdict.ERROR
    elif breaches or failing_notices or any(d.is_violation for d in decisions):
        verdict = Verdict.FAIL
    elif any(n.fails for n in notices):
        verdict = Verdict.REVIEW
    else:
        verdict = Verdict.PASS
    return Evaluation(
        tuple(decisions),
        tuple(breaches),
        outcomes,
        verdict,
        tuple(notices),
        suppression_uses(policy, inputs.suppressions, decisions),
        inputs,
    )


def decide(
    ctx: _Context,
    finding: Finding,
    inputs: Inputs | None = None,
    baseline: Mapping[str, BaselineEntry] | None = None,
) -> Decision:
    inputs = inputs or Inputs(today=dt.datetime.now(dt.UTC).date())
    cats, rules, steps = ctx.settings(finding.path)
    cat = cats[finding.category]
    steps = list(steps)

    # Rule settings apply per source: a flaw seen by two scanners stays unless every
    # rule that saw it is disabled.
    live: list[tuple[Severity | None, Confidence | None]] = []
    live_sources: list[Source] = []
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
        live_sources.append(source)

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
        f"threshold ({fail.describe()}): {'over the threshold' if fails else 'below threshold'}"
    )
    status = Status.VIOLATION if fails else Status.BELOW_THRESHOLD
    reported = fails or cat.report.admits(severity, confidence)
    annotate = cat.annotate.admits(severity, confidence)
    decision = Decision(
        finding, status, severity, confidence, reported, annotate, tuple(steps), cat
    )
    entry = (baseline or {}).get(finding.fingerprint)
    return _accept(ctx.policy, decision, inputs, entry, tuple(live_sources))


def _accept(
    policy: Policy,
    d: Decision,
    inputs: Inputs,
    entry: BaselineEntry | None,
    sources: tuple[Source, ...] = (),
) -> Decision:
    """Apply, in order, what can accept a finding over the threshold: an inline comment the
    policy honours, a waiver, the baseline, and diff mode. Every one that matches is
    recorded, even when an earlier one already decided, so `explain` shows them all."""
    steps = list(d.steps)
    status = d.status
    over = status is Status.VIOLATION

    def settle(new: Status, step: str) -> None:
        nonlocal status
        if status is Status.VIOLATION:
            status = new
            steps.append(step + f": {new.value}")
        else:
            steps.append(step + (" (already decided)" if over else " (below threshold anyway)"))

    # 1. inline suppression comments
    silencing = _silencing(policy, inputs, d.finding, sources or d.finding.sources)
    if silencing.honoured:
        settle(Status.SUPPRESSED, silencing.step)
    elif silencing.step:
        steps.append(silencing.step)
    suppression = silencing.shown

    # 2. waivers
    before = inputs.renumbered.get(d.finding.fingerprint)
    if before is not None:
        steps.append(
            f"diff mode: the change adds an identical copy of this flaw in {d.finding.path}; "
            f"fingerprint waivers are matched as the base numbers the copies: {before}"
        )
    waiver_used: Waiver | None = None
    for waiver in inputs.waivers_for(d.finding):
        problem = waiver_problem(policy, waiver, d.severity, inputs.today)
        if problem:
            steps.append(f"{waiver.describe()} matches but does not apply: {problem}")
            continue
        if waiver_used is None:
            waiver_used = waiver
            settle(Status.WAIVED, f"{waiver.describe()} accepts it: {waiver.reason}")

    # 3. baseline
    if entry is not None:
        source = inputs.baseline.source if inputs.baseline else "the baseline"
        settle(Status.BASELINED, f"recorded in baseline {source} ({entry.path}:{entry.line})")

    # 4. diff mode
    introduced, step = _diff_mode(inputs.diff, d.finding)
    if introduced is False:
        settle(Status.PRE_EXISTING, step)
    elif step:
        steps.append(step)

    if status is Status.VIOLATION:
        steps.append("violation")
    # the constructor, not dataclasses.replace: this runs once per finding
    return Decision(
        d.finding, status, d.severity, d.confidence, d.reported, d.annotate, tuple(steps),
        d.category_policy,
        waiver=waiver_used if status is Status.WAIVED else None,
        suppression=suppression,
        suppressions=silencing.comments,
        baseline=entry,
        introduced=introduced,
    )


def _diff_mode(diff: DiffScope | None, finding: Finding) -> tuple[bool | None, str]:
    """Whether the change introduces the finding (None outside diff mode), and the step."""
    if diff is None:
        return None, ""
    if not diff.introduced(finding):
        return False, f"diff mode: already present at the base ({diff.changes.base[:12]})"
    if finding.commit:
        return True, f"diff mode: found in commit {finding.commit[:12]} of this change"
    had = diff.base_findings.get(finding.path)
    if had is not None and match_key(finding) not in had:
        return True, "diff mode: the base's version of this file did not have it"
    span = finding.span
    if finding.dependency is None and span is not None and span[0] != span[1]:
        return True, (
            "diff mode: the change introduces it (it adds, modifies or removes a line of "
            f"the flagged code, lines {span[0]}-{span[1]})"
        )
    return True, "diff mode: the change introduces it"


@dataclass(frozen=True)
class _Silencing:
    """What the inline comments on a finding's lines make of it."""

    shown: Suppression | None = None  # the comment reports show (a refused one first)
    comments: tuple[Suppression, ...] = ()  # together, they name every source
    honoured: bool = False  # each source is named by a comment the policy honours
    step: str = ""


_UNSILENCED = _Silencing()


def _silencing(
    policy: Policy, inputs: Inputs, finding: Finding, sources: Sequence[Source]
) -> _Silencing:
    """A finding is silenced only when every rule that reported it is named by a comment of
    that rule's tool: `# nosec B404` on a line where B404 and B602 (or B602 and semgrep)
    were merged into one finding names the harmless rule only, and silences nothing."""
    on_file = inputs.suppressions_by_path.get(finding.path)
    if not on_file:
        return _UNSILENCED  # most findings: no comment in their file
    named = covering(on_file, finding, sources)
    if not any(comments for _, comments in named):
        return _UNSILENCED
    missing = [src.qualified_rule for src, comments in named if not comments]
    if missing:
        some = next(c for _, comments in named for c in comments)
        return _Silencing(step=(
            f"`{some.text}` at {some.path}:{some.line} does not silence it: "
            f"{', '.join(missing)} also reported it and no comment names "
            f"{'that rule' if len(missing) == 1 else 'those rules'} (a finding is suppressed "
            "only when every rule that reported it is named, by its own tool's comment)"
        ))
    chosen: list[Suppression] = []
    refused: list[tuple[Suppression, str]] = []
    reasons: list[str] = []
    for _, comments in named:
        verdicts = [(c, *suppression_honoured(policy, c)) for c in comments]
        ok = next(((c, why) for c, honoured, why in verdicts if honoured), None)
        if ok is None:
            refused.append((verdicts[0][0], verdicts[0][2]))
            chosen.append(verdicts[0][0])
        else:
            chosen.append(ok[0])
            reasons.append(ok[1])
    comments = tuple(dict.fromkeys(chosen))
    if refused:
        c, why = refused[0]
        return _Silencing(c, comments, False, f"`{c.text}` at {c.path}:{c.line} is not "
                                              f"honoured: {why}")
    texts = " and ".join(f"`{c.text}` at {c.path}:{c.line}" for c in comments)
    verb = "suppresses" if len(comments) == 1 else "suppress"
    return _Silencing(comments[0], comments, True, f"{texts} {verb} it ({reasons[0]})")


def suppression_honoured(policy: Policy, s: Suppression) -> tuple[bool, str]:
    mode = policy.inline_suppressions
    if mode == "honour":
        return True, "the policy honours inline suppressions"
    if mode == "require-reason":
        if s.bare:
            return False, "the policy requires a rule id and a reason; this names no rule"
        if not s.reason.strip():
            return False, "the policy requires a reason after the rule id"
        return True, f"names the rule and gives a reason: {s.reason}"
    return False, "the policy ignores inline suppressions (record a waiver instead)"


def waiver_problem(policy: Policy, waiver: Waiver, severity: Severity, today: dt.date) -> str:
    """Why a matching waiver cannot accept a finding of this severity today, or ''."""
    if waiver.expires < today:
        days = (today - waiver.expires).days
        return f"it expired on {waiver.expires.isoformat()}, {days} day(s) ago"
    cap = policy.waivers.cap(severity)
    start = waiver.created or today
    lifetime = (waiver.expires - start).days
    if cap is not None and lifetime > cap:
        since = "from its creation" if waiver.created else "from today"
        return (
            f"it lasts {lifetime} days {since}, but the policy allows at most {cap} for "
            f"{severity.label} findings (M1 remediation deadlines)"
        )
    return ""


def waiver_notices(
    policy: Policy, inputs: Inputs, decisions: Sequence[Decision]
) -> list[Notice]:
    """Expired, over-long, expiring and stale waivers, each once."""
    if inputs.waivers is None:
        return []
    notices: list[Notice] = []
    matched: dict[int, list[Decision]] = {}
    for d in decisions:
        for w in inputs.waivers_for(d.finding):
            matched.setdefault(w.index, []).append(d)
    for w in inputs.waivers.waivers:
        users = matched.get(w.index, [])
        if w.expires < inputs.today:
            days = (inputs.today - w.expires).days
            notices.append(Notice(
                "expired-waiver",
                f"{w.describe()} expired on {w.expires.isoformat()} ({days} day(s) ago)"
                + (f"; {len(users)} finding(s) it covered fail again" if users else ""),
                False, w.file, w.line,
            ))
            if users or not inputs.can_judge_stale(w):
                continue
        else:
            too_long = {
                waiver_problem(policy, w, d.severity, inputs.today) for d in users
            } - {""}
            for problem in sorted(too_long):
                notices.append(Notice(
                    "waiver-too-long", f"{w.describe()} is not applied: {problem}", False,
                    w.file, w.line,
                ))
            left = (w.expires - inputs.today).days
            if left <= policy.waivers.warn_before_days:
                notices.append(Notice(
                    "expiring-waiver",
                    f"{w.describe()} expires in {left} day(s): fix the finding or renew it",
                    False, w.file, w.line,
                ))
        if not users and inputs.can_judge_stale(w):
            notices.append(Notice(
                "stale-waiver",
                f"{w.describe()} matches no finding: remove it (the finding is gone or the "
                "waiver is mistyped)",
                policy.waivers.stale == "fail", w.file, w.line,
            ))
    return notices


def policy_change_notice(policy: Policy, files: Sequence[str]) -> Notice:
    fails = policy.review.policy_change == "fail"
    return Notice(
        "policy-change",
        f"{POLICY_CHANGE_TITLE}: this change modifies {', '.join(files)}. The gate enforced "
        "the base ref's version; the change takes effect once a security lead has reviewed "
        "and merged it" + ("" if fails else " (the policy only warns about this)"),
        fails,
        files[0] if files else None,
    )


def suppression_uses(
    policy: Policy, suppressions: Sequence[Suppression], decisions: Sequence[Decision]
) -> tuple[SuppressionUse, ...]:
    covered = Counter(s for d in decisions for s in d.suppressions)
    uses = []
    for s in suppressions:
        honoured, why = suppression_honoured(policy, s)
        uses.append(SuppressionUse(s, covered[s], honoured, why))
    return tuple(uses)


def apply_budgets(decisions: list[Decision]) -> tuple[list[Decision], list[BudgetBreach]]:
    """A budget caps how many findings of a category and severity may pass. When a budget is
    exceeded, the findings it counts become violations (each says why).

    In diff mode only what the change introduces counts: SAST and secrets read only the
    changed files there, so counting the rest would make the verdict depend on which files
    happened to be read, and a change cannot be blamed for findings it did not add."""
    counted = [
        d for d in decisions if d.status is Status.BELOW_THRESHOLD and d.introduced is not False
    ]
    counts: Counter[tuple[str, Severity]] = Counter(
        (d.finding.category, d.severity) for d in counted
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
        if d.status is Status.BELOW_THRESHOLD and d.introduced is not False and key in over:
            allowed = budgets[key]
            d = replace(
                d,
                status=Status.VIOLATION,
                reported=True,
                annotate=True,
                steps=(
                    *d.steps,
                    f"the {key[0]} budget allows {allowed} {key[1].label} findings and "
                    f"{counts[key]} were found: budget exceeded",
                ),
            )
        result.append(d)
    return result, breaches


__all__ = [
    "ACCEPTED",
    "BudgetBreach",
    "Decision",
    "DiffScope",
    "Evaluation",
    "Inputs",
    "Notice",
    "Status",
    "SuppressionUse",
    "Verdict",
    "evaluate",
]
