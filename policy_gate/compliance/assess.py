"""Judge every control of the catalogue against one gate run: pass, fail, not-checked or
not-covered, with the evidence behind each status: what each check examined, and how many.

:func:`assess` is a pure function of the report data (plus the commit, which the caller
looks up with :func:`head_commit`), so the same run always gives the same answer and the
Markdown and HTML renderings cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress

from policy_gate import __version__
from policy_gate.catalogue import (
    AUDIT_SCANNERS,
    BY_NAME,
    LICENSES,
    SCANNERS,
    SECRET_ENGINES,
    checking,
)
from policy_gate.compliance.catalogue import (
    FRAMEWORKS,
    Catalogue,
    Check,
    Control,
    ControlMap,
    build_map,
    load_catalogue,
)
from policy_gate.findings import DEPENDENCY, LICENSE, SUPPRESSION
from policy_gate.policy.evaluate import ACCEPTED, Decision, Status
from policy_gate.reports.interface import ReportData
from policy_gate.results import ScannerRun

PASS = "pass"  # noqa: S105 - a status, not a password
FAIL = "fail"
NOT_CHECKED = "not-checked"
NOT_COVERED = "not-covered"
STATUSES: tuple[str, ...] = (FAIL, NOT_CHECKED, NOT_COVERED, PASS)
# A check's status only: its scanners ran but found nothing of their kind to examine (no
# Python files, no packages). A control passes when another of its checks examined
# something; when none did, the control is not checked.
NOTHING = "nothing-examined"

GLOSSARY: dict[str, str] = {
    PASS: "Every check covering the control ran to completion, at least one on something "
    "(the files or packages it examined are counted), and none found anything that fails "
    "the policy. Accepted findings (waived, baselined, pre-existing, suppressed) are listed.",
    FAIL: "At least one covering check found a violation, or the gate's configuration is "
    "weaker than the control requires. The violations are listed.",
    NOT_CHECKED: "A covering check did not run (its scanner was disabled, not selected, "
    "failed or skipped, or no scanner in this gate checks it), could not check everything "
    "it found (data missing), or no check had anything to examine (no files of its "
    "language, no packages). Absence of findings proves nothing.",
    NOT_COVERED: "No automated check covers the control. Manual evidence is needed.",
    NOTHING: "A check's status only: its scanners completed but found nothing of their "
    "kind to examine (no files of their language, no packages). It does not stop a "
    "control whose other checks examined something from passing.",
}
# What a check's scanners did, as _coverage() decides it.
_RAN = "ran"

GATE = "policy-gate"  # the gate itself: looks for inline suppression comments on every scan
_WAIVER_NOTICES = ("expired-waiver", "waiver-too-long", "stale-waiver")


@dataclass(frozen=True)
class ScannerEvidence:
    name: str
    status: str  # ok | failed | skipped | disabled | missing | not checked
    version: str = ""
    reason: str = ""
    optional: bool = False
    # What it examined and how many (("Python files", 12),), when it ran.
    examined: tuple[tuple[str, int], ...] = ()

    @property
    def total(self) -> int:
        """How many things it examined, of every kind."""
        return sum(n for _, n in self.examined) if self.status == "ok" else 0


@dataclass(frozen=True)
class CheckResult:
    check: Check
    title: str
    origins: tuple[str, ...]
    status: str  # pass | fail | not-checked | nothing-examined
    why: str
    scanners: tuple[ScannerEvidence, ...] = ()
    decisions: tuple[Decision, ...] = ()
    cwe: tuple[str, ...] = ()

    @property
    def examined(self) -> int:
        """How many things its scanners examined (0 for a check of configuration only)."""
        return sum(e.total for e in self.scanners)


@dataclass(frozen=True)
class WaiverEvidence:
    id: str
    owner: str
    expires: dt.date
    reason: str
    where: str  # the finding it accepts


@dataclass(frozen=True)
class ControlResult:
    control: Control
    status: str
    why: str
    checks: tuple[CheckResult, ...]
    violations: tuple[Decision, ...]
    accepted: tuple[Decision, ...]
    counts: Counter[str]  # decision status -> count, each finding once
    waivers: tuple[WaiverEvidence, ...]
    not_checked: tuple[tuple[str, str], ...]  # (what, why)
    failures: tuple[str, ...]  # configuration or budget failures (not findings)
    related: tuple[str, ...]

    @property
    def below_threshold(self) -> int:
        return self.counts.get(Status.BELOW_THRESHOLD.value, 0)

    @property
    def not_enforced(self) -> int:
        return self.counts.get(Status.EXCLUDED.value, 0) + self.counts.get(
            Status.DISABLED.value, 0
        )


@dataclass(frozen=True)
class Evidence:
    """What identifies the run the statuses rest on."""

    root: str
    commit: str | None
    commit_source: str  # "git HEAD", "diff head", or why it is unknown
    policy_name: str
    policy_files: tuple[str, ...]
    policy_sha256: str
    scanners: tuple[ScannerEvidence, ...]
    scanned_at: str
    gate_version: str
    verdict: str
    verdict_headline: str
    advisories: str  # advisory data and its age at scan time, or how the audit got it
    files_in_scope: int
    diff: str = ""  # "base..head" in diff mode
    waivers: str = ""  # waivers file, count and hash


@dataclass(frozen=True)
class Assessment:
    evidence: Evidence
    controls: tuple[ControlResult, ...]
    catalogue: Catalogue
    unknown_sources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def by_status(self) -> Counter[str]:
        return Counter(c.status for c in self.controls)

    def result(self, control_id: str) -> ControlResult:
        return next(c for c in self.controls if c.control.id == control_id)


def head_commit(data: ReportData) -> tuple[str | None, str]:
    """(sha, where it came from): diff mode's head, else the scanned root's git HEAD.

    Best effort: a tree outside git, or a git that fails, gives (None, why)."""
    changes = data.changes
    if changes is not None and changes.head:
        return changes.head, "diff head"
    try:
        from policy_gate.base.git import Repo

        return Repo.open(data.result.root).head(), "git HEAD"
    except Exception as exc:  # any failure means "unknown", never a crash
        return None, f"not a git work tree or HEAD unreadable ({type(exc).__name__})"


def _runs(data: ReportData) -> dict[str, ScannerRun]:
    return {r.name: r for r in data.result.runs}


def _scanner_evidence(data: ReportData, name: str) -> ScannerEvidence:
    settings = data.policy.scanners.get(name)
    optional = bool(settings is not None and settings.optional)
    run = _runs(data).get(name)
    if run is None:
        return ScannerEvidence(name, "missing", reason="not part of this run", optional=optional)
    if run.status != "ok" or run.output is None:
        return ScannerEvidence(name, run.status, run.version, run.reason, optional)
    info = BY_NAME.get(name)
    examined = tuple(run.output.examined.items()) or (
        (info.examines if info is not None else "files", run.output.files_scanned),)
    if run.output.not_checked and any(n for _, n in examined):
        # it checked some of what it found, not all (data missing): never a pass
        return ScannerEvidence(name, "not checked", run.version, run.output.not_checked,
                               optional, examined)
    # it checked nothing: why (no coverage report) is what it found nothing of
    return ScannerEvidence(name, "ok", run.version, run.output.not_checked or run.reason,
                           optional, examined)


def _gate_evidence(data: ReportData) -> ScannerEvidence:
    """The gate itself: it reads every file in scope (in diff mode, the changed ones) for
    inline suppression comments."""
    files = data.result.changed_files if data.changes is not None else \
        data.result.fileset.files
    return ScannerEvidence(GATE, "ok", __version__, examined=(("files", len(files)),))


def _none_found(data: ReportData, e: ScannerEvidence) -> str:
    """Why a scanner that ran examined nothing: none of its kind in scope (or in the
    change, for a scanner diff mode gives only the changed files)."""
    if e.reason:
        return f"{e.name}: {e.reason}"
    what = " or ".join(kind for kind, _ in e.examined) or "files"
    info = BY_NAME.get(e.name)
    where = "in the change" if data.changes is not None and info is not None and \
        info.file_local else "found"
    return f"{e.name}: no {what} {where}"


def counted_text(n: int, kind: str) -> str:
    """"1 Python file", "12 Python files": every kind is a plural ending in s."""
    return f"{n} {kind[:-1] if n == 1 and kind.endswith('s') else kind}"


def examined_text(ev: Iterable[ScannerEvidence]) -> str:
    """"bandit: 12 Python files; osv: 40 npm packages": what each scanner examined."""
    parts = []
    for e in ev:
        counted = [counted_text(n, kind) for kind, n in e.examined if n]
        if e.status == "ok" and counted:
            parts.append(f"{e.name}: {', '.join(counted)}")
    return "; ".join(parts)


def _coverage(
    data: ReportData, scanners: list[str]
) -> tuple[str, str, tuple[ScannerEvidence, ...]]:
    """What the scanners behind a check did: ran (on something), nothing examined, or not
    checked, and why. Every required scanner must complete and check everything it found;
    optional ones (a second opinion) may be absent as long as one completed; and a check
    runs on something only when one of them examined at least one file or package."""
    ev = tuple(_scanner_evidence(data, s) for s in scanners)
    if not ev:
        return NOT_CHECKED, "no scanner in this gate checks it", ev
    # the secret engines are alternatives (the Mojaloop policy runs kingfisher, not
    # detect-secrets): one switched off leaves no gap while another completed; one that
    # failed or was skipped is still a fault
    engine_ran = any(e.status == "ok" and e.name in SECRET_ENGINES for e in ev)
    missing = [e for e in ev if e.status != "ok" and not e.optional
               and not (engine_ran and e.status == "disabled" and e.name in SECRET_ENGINES)]
    if missing or not any(e.status == "ok" for e in ev):
        return NOT_CHECKED, "; ".join(
            f"{e.name} {e.status}: {e.reason or 'no reason given'}" for e in missing or ev
        ), ev
    if not any(e.total for e in ev):
        return NOTHING, "nothing examined: " + "; ".join(
            _none_found(data, e) for e in ev if e.status == "ok"), ev
    return _RAN, "", ev


def _category_scanners(category: str) -> list[str]:
    names = checking(category)
    return [GATE, *names] if category == SUPPRESSION else names


def _findings_status(decisions: Iterable[Decision], state: str, why_not: str,
                     extra_fail: list[str], ev: Iterable[ScannerEvidence]) -> tuple[str, str]:
    ds = list(decisions)
    violations = sum(1 for d in ds if d.status is Status.VIOLATION)
    if violations or extra_fail:
        parts = [f"{violations} violation(s)"] if violations else []
        return FAIL, "; ".join(parts + extra_fail)
    if state != _RAN:
        found = f" ({len(ds)} finding(s))" if ds else ""
        return state, why_not + found
    accepted = sum(1 for d in ds if d.status in ACCEPTED)
    return PASS, (f"examined {examined_text(ev)}; no violations ({len(ds)} finding(s), "
                  f"{accepted} accepted)")


class _Index:
    """The run's decisions by category, rule and scanner, each list in decision order.

    Each grouping is built once, on first use, in one pass over the decisions, so a check
    looks its findings up instead of scanning every decision (controls cite dozens of
    rules; 10,000 findings made that the report's main cost)."""

    def __init__(self, decisions: Sequence[Decision]) -> None:
        self.decisions = decisions

    @cached_property
    def by_category(self) -> dict[str, tuple[Decision, ...]]:
        out: defaultdict[str, list[Decision]] = defaultdict(list)
        for d in self.decisions:
            out[d.finding.category].append(d)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def by_rule(self) -> dict[str, tuple[Decision, ...]]:
        """By qualified rule ("scanner:rule id"); a finding under each of its rules once."""
        out: defaultdict[str, list[Decision]] = defaultdict(list)
        for d in self.decisions:
            sources = d.finding.sources
            if len(sources) == 1:  # most findings: one scanner reported them
                s = sources[0]
                out[f"{s.scanner}:{s.rule_id}"].append(d)
            else:
                for key in {s.qualified_rule for s in sources}:
                    out[key].append(d)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def by_scanner(self) -> dict[str, tuple[Decision, ...]]:
        out: defaultdict[str, list[Decision]] = defaultdict(list)
        for d in self.decisions:
            for name in {s.scanner for s in d.finding.sources}:
                out[name].append(d)
        return {k: tuple(v) for k, v in out.items()}


def _check_category(data: ReportData, name: str, index: _Index | None = None) -> CheckResult:
    state, why, ev = _coverage(data, [s for s in _category_scanners(name) if s != GATE])
    if name == SUPPRESSION:  # the gate itself always looks
        ev = (_gate_evidence(data), *ev)
        state, why = (_RAN, "") if ev[0].total else (NOTHING, "nothing examined: no files")
    ds = (index or _Index(data.evaluation.decisions)).by_category.get(name, ())
    budgets = [
        f"budget exceeded: {b.found} {b.severity.label} finding(s), {b.allowed} allowed"
        for b in data.evaluation.budgets if b.category == name
    ]
    if name not in data.policy.categories:
        return CheckResult(Check("category", name), f"category {name}", (), NOT_CHECKED,
                           "the policy has no such category", ev, ds)
    status, text = _findings_status(ds, state, why, budgets, ev)
    return CheckResult(Check("category", name), f"category {name}", (), status, text, ev, ds)


def _check_rule(data: ReportData, name: str, index: _Index | None = None) -> CheckResult:
    scanner = name.partition(":")[0]
    state, why, ev = _coverage(data, [scanner] if scanner in BY_NAME else [])
    if not ev:
        why = f"no scanner named {scanner} in this gate"
    ds = (index or _Index(data.evaluation.decisions)).by_rule.get(name, ())
    status, text = _findings_status(ds, state, why, [], ev)
    return CheckResult(Check("rule", name), f"rule {name}", (), status, text, ev, ds)


def _check_scanner(data: ReportData, name: str, index: _Index | None = None) -> CheckResult:
    state, why, ev = _coverage(data, [name] if name in BY_NAME else [])
    ds = (index or _Index(data.evaluation.decisions)).by_scanner.get(name, ())
    status, text = _findings_status(ds, state, why, [], ev)
    return CheckResult(Check("scanner", name), f"scanner {name}", (), status, text, ev, ds)


# ---------------------------------------------------------------- gate features
FeatureResult = tuple[str, str, tuple[ScannerEvidence, ...]]


def _dependency_runs(data: ReportData) -> list[str]:
    return [s.name for s in SCANNERS if DEPENDENCY in s.categories or
            LICENSE in s.categories]


def _feature_waivers(data: ReportData, _p: dict[str, object]) -> FeatureResult:
    caps = data.policy.waivers.max_days
    if not caps:
        return FAIL, "the policy sets no maximum waiver lifetime", ()
    failing = [n for n in data.evaluation.notices if n.kind in _WAIVER_NOTICES and n.fails]
    if failing:
        return FAIL, "; ".join(n.message for n in failing), ()
    limits = ", ".join(f"{s.label} {d} days" for s, d in sorted(caps.items(), reverse=True))
    inputs = data.inputs
    ws = inputs.waivers if inputs is not None else None
    held = (f"{len(ws.waivers)} waiver(s) in {ws.file}, each with an owner, a reason and an "
            "expiry" if ws is not None else "no waivers file was read")
    return PASS, f"{held}; lifetimes capped at {limits}", ()


def _feature_suppressions(data: ReportData, _p: dict[str, object]) -> FeatureResult:
    mode = data.policy.inline_suppressions
    found, honoured = data.suppression_counts()
    seen = f"{found} inline comment(s) found, {honoured} honoured"
    if mode == "honour":
        return FAIL, f"the policy honours inline suppressions without a reason; {seen}", ()
    return PASS, f"inline suppressions: {mode}; {seen}", ()


def _feature_advisory_age(data: ReportData, p: dict[str, object]) -> FeatureResult:
    required = p.get("max_age_days")
    limit = data.policy.advisories.max_age_days
    state, why, ev = _coverage(data, list(AUDIT_SCANNERS))
    if limit is None:
        return FAIL, "the policy sets no advisory data age limit", ev
    if isinstance(required, int | float) and limit > required:
        return FAIL, (f"the policy accepts advisory data up to {limit:g} days old; the "
                      f"control requires at most {required:g}"), ev
    info = data.result.advisory_info
    if info is not None:
        age = info.age_days(dt.datetime.fromtimestamp(data.result.started, dt.UTC))
        if age is not None and age > limit:
            return FAIL, f"advisory data {age:.1f} days old; the policy allows {limit:g}", ev
    if state != _RAN:
        unread = (f"; {data.result.advisories} was not read" if data.result.advisories_unread
                  else "")
        return state, why + unread, ev
    if info is None:
        return PASS, (f"{examined_text(ev)} audited against advisories queried live from OSV; "
                      f"limit {limit:g} days"), ev
    return PASS, f"{examined_text(ev)} audited against the "\
                 f"{info.summary(dt.datetime.fromtimestamp(data.result.started, dt.UTC))}; "\
                 f"limit {limit:g} days", ev


def _feature_aliases(data: ReportData, _p: dict[str, object]) -> FeatureResult:
    state, why, ev = _coverage(data, list(AUDIT_SCANNERS))
    if state != _RAN:
        return state, why, ev
    return PASS, (f"{examined_text(ev)} audited; waivers and baselines match any of a "
                  "vulnerability's ids"), ev


def _feature_sbom(data: ReportData, _p: dict[str, object]) -> FeatureResult:
    names = _dependency_runs(data)
    ev = tuple(_scanner_evidence(data, n) for n in names)
    ok = [e for e in ev if e.status == "ok"]
    if not ok:
        return NOT_CHECKED, "no dependency or licence scanner completed", ev
    runs = _runs(data)
    components: set[tuple[str, str, str]] = set()
    for e in ok:
        output = runs[e.name].output
        if output is not None:
            components |= {(p.ecosystem, p.name, p.version) for p in output.inventory}
    if not components:
        return NOTHING, ("nothing examined: no third-party component found by "
                         f"{', '.join(e.name for e in ok)}"), ev
    return PASS, (f"{len(components)} third-party component(s) inventoried by "
                  f"{', '.join(e.name for e in ok)}; `--format cyclonedx` writes the SBOM"), ev


def _feature_licences(data: ReportData, _p: dict[str, object]) -> FeatureResult:
    allow = data.policy.licenses.get("allow") or []
    state, why, ev = _coverage(data, [LICENSES.name])
    if not allow:
        return FAIL, "the policy has no licence allowlist", ev
    if state != _RAN:
        return state, why, ev
    return PASS, (f"{examined_text(ev)} checked; {len(allow)} licence(s) allowed, any other "
                  "licence fails"), ev


def _feature_tamper(data: ReportData, _p: dict[str, object]) -> FeatureResult:
    if data.policy.review.policy_change != "fail":
        return FAIL, "a change to the policy, waivers or baseline only warns", ()
    change = data.evaluation.policy_change
    if change is not None:
        return FAIL, f"this change alters the gate's inputs: {change.message}", ()
    if data.changes is None:
        return PASS, ("configured (policy_change: fail); enforced on pull requests — this "
                      "was a full scan"), ()
    return PASS, "inputs read from the base ref; the change does not alter them", ()


FEATURES: dict[str, Callable[[ReportData, dict[str, object]], FeatureResult]] = {
    "waiver-expiry": _feature_waivers,
    "inline-suppressions": _feature_suppressions,
    "advisory-age": _feature_advisory_age,
    "alias-matching": _feature_aliases,
    "sbom": _feature_sbom,
    "licence-allowlist": _feature_licences,
    "tamper-resistance": _feature_tamper,
}


def _check_feature(data: ReportData, catalogue: Catalogue, name: str) -> CheckResult:
    feature = catalogue.features.get(name)
    fn = FEATURES.get(name)
    title = feature.title if feature else f"feature {name}"
    if fn is None or feature is None:
        return CheckResult(Check("feature", name), title, (), NOT_CHECKED,
                           "this gate has no evaluator for the feature")
    status, why, ev = fn(data, dict(feature.params))
    return CheckResult(Check("feature", name), title, (), status, why, ev)


def _evaluate_check(
    data: ReportData, catalogue: Catalogue, check: Check, index: _Index | None = None
) -> CheckResult:
    if check.kind == "category":
        return _check_category(data, check.name, index)
    if check.kind == "rule":
        return _check_rule(data, check.name, index)
    if check.kind == "scanner":
        return _check_scanner(data, check.name, index)
    return _check_feature(data, catalogue, check.name)


# ---------------------------------------------------------------- controls
_KIND_ORDER = {"feature": 0, "category": 1, "scanner": 2, "rule": 3}


@dataclass(frozen=True)
class _Tally:
    """One check's findings by status: worked out once, however many controls cite it."""

    ids: frozenset[int]  # id() of each decision
    violations: tuple[Decision, ...]
    accepted: tuple[Decision, ...]
    statuses: Counter[Status]

    @classmethod
    def of(cls, decisions: Sequence[Decision]) -> _Tally:
        ids = frozenset(map(id, decisions))
        if len(ids) < len(decisions):  # each finding once
            decisions = list({id(d): d for d in decisions}.values())
        statuses = [d.status for d in decisions]
        return cls(ids,
                   tuple(compress(decisions, [s is Status.VIOLATION for s in statuses])),
                   tuple(compress(decisions, [s in ACCEPTED for s in statuses])),
                   Counter(statuses))


def _merge(
    checks: list[CheckResult], tallies: list[_Tally]
) -> tuple[tuple[Decision, ...], tuple[Decision, ...], Counter[Status]]:
    """Violations, accepted findings and statuses of the checks together: each finding
    once, in the order the checks list them (a finding is often under several checks).
    When a check's findings are all new or all counted already (the usual case), set
    operations on their ids decide it and its tally is reused: no loop over findings."""
    found = [(c, t) for c, t in zip(checks, tallies, strict=True) if t.ids]
    if len(found) == 1:
        t = found[0][1]
        return t.violations, t.accepted, Counter(t.statuses)
    seen: set[int] = set()
    violations: list[Decision] = []
    accepted: list[Decision] = []
    statuses: Counter[Status] = Counter()
    for c, t in found:
        if t.ids <= seen:
            continue
        part = t if seen.isdisjoint(t.ids) else _Tally.of(
            [d for d in c.decisions if id(d) not in seen])
        violations += part.violations
        accepted += part.accepted
        statuses.update(part.statuses)
        seen |= t.ids
    return tuple(violations), tuple(accepted), statuses


def _judge(
    control: Control,
    checks: list[CheckResult],
    cmap: ControlMap,
    tallies: list[_Tally] | None = None,  # of each check, when already worked out
) -> ControlResult:
    if tallies is None:
        tallies = [_Tally.of(c.decisions) for c in checks]
    violations, accepted, statuses = _merge(checks, tallies)
    counts: Counter[str] = Counter({s.value: n for s, n in statuses.items()})
    waivers = tuple(
        WaiverEvidence(d.waiver.id or f"#{d.waiver.index}", d.waiver.owner, d.waiver.expires,
                       d.waiver.reason, d.finding.location)
        for d in accepted if d.status is Status.WAIVED and d.waiver is not None
    )
    not_checked = tuple((c.title, c.why) for c in checks if c.status == NOT_CHECKED)
    failures = tuple(f"{c.title}: {c.why}" for c, t in zip(checks, tallies, strict=True)
                     if c.status == FAIL and not t.violations)
    related = list(control.related)
    examined = [c for c in checks if c.status == PASS and c.examined]
    if not checks:
        status, why = NOT_COVERED, "no automated check; manual evidence needed"
    elif violations or failures:
        status = FAIL
        why = "; ".join(
            ([f"{len(violations)} violation(s)"] if violations else []) + list(failures)
        )
    elif not_checked:
        status = NOT_CHECKED
        why = "; ".join(f"{what}: {reason}" for what, reason in not_checked)
    elif not examined:  # every check had nothing to examine, or checks configuration only
        status = NOT_CHECKED
        why = "; ".join(f"{c.title}: {c.why}" for c in checks if c.status == NOTHING) or \
            "only the configuration was checked: nothing was examined"
    else:
        status = PASS
        why = (f"{len(examined)} check(s) ran with no violations, on "
               f"{examined_text(_distinct_scanners(examined))}")
        configured = sum(1 for c in checks if c.status == PASS and not c.examined)
        if configured:
            why += f"; {configured} configuration check(s) passed"
        idle = sum(1 for c in checks if c.status == NOTHING)
        if idle:
            why += f"; {idle} found nothing of their kind to examine"
        if accepted:
            why += f"; {len(accepted)} finding(s) accepted"
    return ControlResult(control, status, why, tuple(checks), violations, accepted, counts,
                         waivers, not_checked, failures, tuple(related))


def _distinct_scanners(checks: Iterable[CheckResult]) -> list[ScannerEvidence]:
    """The scanners behind some checks, each once (several checks share a scanner)."""
    seen: dict[str, ScannerEvidence] = {}
    for c in checks:
        for e in c.scanners:
            seen.setdefault(e.name, e)
    return list(seen.values())


def _related(catalogue: Catalogue, cmap: ControlMap) -> dict[str, list[str]]:
    """Explicit links, both ways, plus controls that share a category or feature check."""
    out: dict[str, list[str]] = {c.id: list(c.related) for c in catalogue.controls}
    for c in catalogue.controls:
        for r in c.related:
            if c.id not in out[r]:
                out[r].append(c.id)
    shared: dict[str, list[str]] = {}
    for cid, checks in cmap.checks.items():
        for key in checks:
            if not key.startswith("rule:"):
                shared.setdefault(key, []).append(cid)
    for ids in shared.values():
        for a in ids:
            for b in ids:
                if a != b and b not in out[a]:
                    out[a].append(b)
    order = {c.id: i for i, c in enumerate(catalogue.controls)}
    return {k: sorted(v, key=lambda x: order.get(x, len(order))) for k, v in out.items()}


def _advisories_line(data: ReportData) -> str:
    info = data.result.advisory_info
    if info is not None:
        return info.summary(dt.datetime.fromtimestamp(data.result.started, dt.UTC))
    if data.result.advisories_unread:
        return f"{data.result.advisories}: not read, the tree has no manifest or lockfile"
    if data.result.osv_url:
        return f"queried live from {data.result.osv_url}"
    return "no offline advisory database; audits query OSV live (if they ran)"


def evidence(data: ReportData, commit: tuple[str | None, str] | None = None) -> Evidence:
    sha, source = commit if commit is not None else (None, "not looked up")
    changes = data.changes
    inputs = data.inputs
    ws = inputs.waivers if inputs is not None else None
    return Evidence(
        root=str(data.result.root),
        commit=sha,
        commit_source=source,
        policy_name=data.policy.name,
        policy_files=tuple(data.policy.files),
        policy_sha256=data.policy.sha256,
        scanners=tuple(_scanner_evidence(data, r.name) for r in data.result.runs),
        scanned_at=data.generated_at,
        gate_version=__version__,
        verdict=data.evaluation.verdict.value,
        verdict_headline=data.evaluation.verdict.headline,
        advisories=_advisories_line(data),
        files_in_scope=len(data.result.fileset.files),
        diff=f"{changes.base}..{changes.head}" if changes is not None else "",
        waivers=(f"{ws.file}: {len(ws.waivers)} waiver(s), sha256 {ws.sha256}"
                 if ws is not None else ""),
    )


_LAST: tuple[ReportData, Assessment] | None = None


def assessed(data: ReportData) -> Assessment:
    """This run's assessment with its commit, made once for every report that shows it
    (the JSON report's controls, the compliance page): it runs git and reads the catalogue.
    The last run's is kept (by identity: the same ReportData object)."""
    global _LAST
    last = _LAST
    if last is not None and last[0] is data:
        return last[1]
    made = assess(data, commit=head_commit(data))
    _LAST = (data, made)
    return made


def assess(
    data: ReportData,
    catalogue: Catalogue | None = None,
    *,
    commit: tuple[str | None, str] | None = None,
    cmap: ControlMap | None = None,
) -> Assessment:
    """Every control's status and evidence for this run (catalogue order)."""
    cat = catalogue or load_catalogue()
    mapping = cmap or build_map(data.policy, cat)
    related = _related(cat, mapping)
    cache: dict[str, tuple[CheckResult, _Tally]] = {}
    index = _Index(data.evaluation.decisions)
    results: list[ControlResult] = []
    frame_order = {f: i for i, f in enumerate(FRAMEWORKS)}
    for control in sorted(cat.controls, key=lambda c: frame_order.get(c.framework, 99)):
        checks: list[CheckResult] = []
        tallies: list[_Tally] = []
        for key, origins in sorted(mapping.checks.get(control.id, {}).items(),
                                   key=lambda kv: (_KIND_ORDER.get(kv[0].split(":")[0], 9),
                                                   kv[0])):
            check = Check.parse(key)
            if key not in cache:
                evaluated = _evaluate_check(data, cat, check, index)
                cache[key] = evaluated, _Tally.of(evaluated.decisions)
            base, tally = cache[key]
            checks.append(CheckResult(base.check, base.title, origins, base.status, base.why,
                                      base.scanners, base.decisions,
                                      mapping.cwe.get(key, ())))
            tallies.append(tally)
        result = _judge(control, checks, mapping, tallies)
        results.append(ControlResult(
            result.control, result.status, result.why, result.checks, result.violations,
            result.accepted, result.counts, result.waivers, result.not_checked, result.failures,
            tuple(related.get(control.id, ())),
        ))
    return Assessment(
        evidence=evidence(data, commit),
        controls=tuple(results),
        catalogue=cat,
        unknown_sources=tuple(sorted(mapping.unknown.items())),
    )
