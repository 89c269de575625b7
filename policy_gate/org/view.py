"""The organisation view: many repositories' reports folded into the answers a security
lead asks for (pure: no I/O). Which repositories fail, and on which controls; which advisory
hits how many services and what fixes it; which waivers expire soon, by owner; where a
scanner failed or the advisory data was stale, so a pass there means less."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from policy_gate.org.reader import RepoReport, days_until

SEVERITY_RANK = {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}
CONTROL_STATUSES = ("fail", "not-checked", "not-covered", "pass")
NO_DATA = "no-data"  # a report from before controls were in the JSON report


@dataclass(frozen=True)
class AdvisoryHit:
    """One advisory across the organisation: the repositories it hits and what fixes it."""

    advisory: str
    ecosystem: str
    package: str
    severity: str
    versions: tuple[str, ...]
    fix_versions: tuple[str, ...]
    repositories: tuple[str, ...]


@dataclass(frozen=True)
class ExpiringWaiver:
    repository: str
    id: str
    owner: str
    expires: str
    days: int
    reason: str
    findings: int


@dataclass(frozen=True)
class Problem:
    """Something that makes a repository's verdict mean less than it says."""

    repository: str
    kind: str  # no-report | scanner-failure | stale-advisories | no-controls
    detail: str


@dataclass(frozen=True)
class OrgView:
    as_of: dt.date
    within_days: int
    repos: tuple[RepoReport, ...]
    controls: tuple[tuple[str, str, str], ...]  # (id, framework, title), catalogue order
    advisories: tuple[AdvisoryHit, ...]
    expiring: tuple[ExpiringWaiver, ...]
    problems: tuple[Problem, ...]

    @property
    def verdicts(self) -> Counter[str]:
        return Counter(r.verdict for r in self.repos)

    def control_status(self, repo: RepoReport, control_id: str) -> str:
        if repo.controls is None:
            return NO_DATA
        for c in repo.controls:
            if c.id == control_id:
                return c.status
        return NO_DATA

    def failing(self, control_id: str) -> list[str]:
        """The repositories where the control fails, in the view's order."""
        return [r.name for r in self.repos if self.control_status(r, control_id) == "fail"]

    def control_counts(self, control_id: str) -> Counter[str]:
        return Counter(self.control_status(r, control_id) for r in self.repos)


def build(reports: Sequence[RepoReport], as_of: dt.date, within_days: int,
          expected: Sequence[str] = ()) -> OrgView:
    """The view of ``reports`` (one per repository; a later report of the same name is a
    different run and is kept as its own row, named with its file). Each name in
    ``expected`` without a report is a problem: its scan failed before writing one."""
    repos = tuple(sorted(reports, key=lambda r: (r.exit_code == 0, r.name)))
    have = {r.name for r in repos}
    missing = [Problem(name, "no-report", "no report: its scan job failed, timed out or "
                       "could not check it out (see that job's log)")
               for name in dict.fromkeys(expected) if name not in have]
    return OrgView(
        as_of=as_of, within_days=within_days, repos=repos,
        controls=_controls(repos),
        advisories=_advisories(repos),
        expiring=_expiring(repos, as_of, within_days),
        problems=(*missing, *_problems(repos)),
    )


def _controls(repos: Sequence[RepoReport]) -> tuple[tuple[str, str, str], ...]:
    seen: dict[str, tuple[str, str, str]] = {}
    for repo in repos:
        for c in repo.controls or ():
            seen.setdefault(c.id, (c.id, c.framework, c.title))
    return tuple(seen.values())


def _advisories(repos: Sequence[RepoReport]) -> tuple[AdvisoryHit, ...]:
    by_id: dict[tuple[str, str, str], dict[str, set[str]]] = {}
    severity: dict[tuple[str, str, str], str] = {}
    for repo in repos:
        for a in repo.advisories:
            key = (a.advisory, a.ecosystem, a.package)
            entry = by_id.setdefault(key, {"repos": set(), "versions": set(), "fix": set()})
            entry["repos"].add(repo.name)
            entry["versions"].add(a.version)
            if a.fix_version:
                entry["fix"].add(a.fix_version)
            if SEVERITY_RANK.get(a.severity, 0) > SEVERITY_RANK.get(severity.get(key, ""), 0):
                severity[key] = a.severity
    hits = [
        AdvisoryHit(key[0], key[1], key[2], severity.get(key, "unknown"),
                    tuple(sorted(v["versions"])), tuple(sorted(v["fix"])),
                    tuple(sorted(v["repos"])))
        for key, v in by_id.items()
    ]
    hits.sort(key=lambda h: (-len(h.repositories), -SEVERITY_RANK.get(h.severity, 0),
                             h.advisory, h.package))
    return tuple(hits)


def _expiring(repos: Sequence[RepoReport], as_of: dt.date, within: int,
              ) -> tuple[ExpiringWaiver, ...]:
    out = []
    for repo in repos:
        for w in repo.waivers:
            days = days_until(w.expires, as_of)
            if days is not None and days <= within:
                out.append(ExpiringWaiver(repo.name, w.id, w.owner, w.expires, days, w.reason,
                                          w.findings))
    out.sort(key=lambda w: (w.owner.lower(), w.days, w.repository, w.id))
    return tuple(out)


def _problems(repos: Sequence[RepoReport]) -> tuple[Problem, ...]:
    out: list[Problem] = []
    for repo in repos:
        out += [Problem(repo.name, "scanner-failure", f) for f in repo.failures]
        age, limit = repo.advisory_age_days, repo.advisory_max_age_days
        if age is not None and limit is not None and age > limit:
            out.append(Problem(repo.name, "stale-advisories",
                               f"advisory data {age:g} days old; the policy allows {limit:g}"))
        if repo.controls is None:
            out.append(Problem(repo.name, "no-controls",
                               f"report schema {repo.schema_version} has no control results "
                               f"(policy-gate {repo.gate_version}); re-run with a newer gate"))
    return tuple(out)
