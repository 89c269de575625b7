"""Licences: every locked npm package and every pinned Python package, checked against the
policy's ``licenses`` section (M6, M6a).

Where licences come from, never by installing anything:

* npm: the ``license`` field the lockfile records for each package
  (``policy_gate.dependencies.npm``);
* Python: the package index's metadata for the pinned release
  (``policy_gate.dependencies.pypi_metadata``); a failed lookup is an *unknown* licence.

How an SPDX expression is judged is in ``policy_gate.dependencies.spdx``. One finding is
made per ``name@version`` and manifest that fails:

=======================  ====================================  ===========================
rule id                  when                                  severity
=======================  ====================================  ===========================
``license-denied``       a failing id is on ``deny``           ungraded: the ``license``
``license-not-allowed``  a failing id is not on ``allow``      category's default grades
``license-unknown``      missing, not SPDX, lookup failed      ``licenses.unknown_severity``
``license-exception``    would fail, a live exception covers   info (below any threshold)
=======================  ====================================  ===========================

An exception (``package: name@version``, ``reason``, ``expires``) applies up to and
including its ``expires`` date; after it, the finding fails again and says when the
exception expired.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from policy_gate import __version__
from policy_gate.base.fileset import FileSet
from policy_gate.catalogue import LICENSES
from policy_gate.dependencies import npm
from policy_gate.dependencies.license_lookup import OFF, LicenseLookup
from policy_gate.dependencies.python import find_manifests, parse_manifests
from policy_gate.dependencies.spdx import (
    DENIED,
    NOT_ALLOWED,
    NPM_UNLICENSED,
    UNKNOWN,
    Judge,
    Judgement,
    parse,
)
from policy_gate.findings import (
    LICENSE,
    Confidence,
    DependencyInfo,
    Finding,
    Severity,
    Source,
    content_key,
)
from policy_gate.packages import NPM, PYPI, Package
from policy_gate.results import ScanOutput, packages_examined
from policy_gate.scanners.interface import ScanContext, Scanner
from policy_gate.scanners.license_sources import (
    FROM_INSTALLED,
    FROM_LOCKFILE,
    FROM_REGISTRY,
    FROM_STORE,
    Collected,
    collect,
    distinct,
    origins,
    registry_url,
)

RULE_DENIED = "license-denied"
RULE_NOT_ALLOWED = "license-not-allowed"
RULE_UNKNOWN = "license-unknown"
RULE_EXCEPTION = "license-exception"
RULE_UNRESOLVED = "license-unresolved"
HELP_URL = "https://spdx.org/licenses/"
SHOWN_UNRESOLVED = 20  # packages named in an unresolved finding's message (all in its data)


@dataclass(frozen=True, slots=True)
class LicenseException:
    package: str  # "name@version" as written in the policy
    reason: str
    owner: str | None
    expires: dt.date | None  # None: the date is not a real date (the exception never applies)
    expires_text: str

    def matches(self, pkg: Package) -> bool:
        name, _, version = self.package.rpartition("@")
        if pkg.ecosystem == PYPI:
            return canonicalize_name(name) == pkg.name and _same_version(version, pkg.version)
        return name == pkg.name and version == pkg.version

    def live(self, today: dt.date) -> bool:
        return self.expires is not None and today <= self.expires


@dataclass(frozen=True)
class LicensePolicy:
    judge: Judge
    unknown_severity: Severity
    exceptions: tuple[LicenseException, ...]
    include_dev: bool = True

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> LicensePolicy:
        exceptions = []
        for entry in section.get("exceptions", ()):
            text = str(entry["expires"])
            try:
                expires: dt.date | None = dt.date.fromisoformat(text)
            except ValueError:
                expires = None
            exceptions.append(
                LicenseException(
                    package=str(entry["package"]),
                    reason=str(entry["reason"]),
                    owner=str(entry["owner"]) if entry.get("owner") else None,
                    expires=expires,
                    expires_text=text,
                )
            )
        return cls(
            judge=Judge(section.get("allow", ()), section.get("deny", ())),
            unknown_severity=Severity.parse(str(section.get("unknown_severity", "medium"))),
            exceptions=tuple(exceptions),
            include_dev=section.get("include_dev", True) is not False,
        )

    def exception_for(self, pkg: Package, today: dt.date) -> LicenseException | None:
        """The live exception covering the package, else the one that expired last (for
        the message), else None."""
        matching = [e for e in self.exceptions if e.matches(pkg)]
        live = [e for e in matching if e.live(today)]
        if live:
            return max(live, key=lambda e: e.expires or dt.date.min)
        return max(matching, key=lambda e: e.expires or dt.date.min, default=None)


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class LicensesScanner(Scanner):
    info = LICENSES
    executable = ""  # runs in-process: no external tool

    def __init__(
        self,
        *,
        today: Callable[[], dt.date] = utc_today,
        pypi_url: str | None = None,
        npm_url: str | None = None,
        lookup_timeout: float | None = None,
    ) -> None:
        self._today = today
        self._urls = {PYPI: pypi_url, NPM: npm_url}
        self._lookup_timeout = lookup_timeout

    def version(self, ctx: ScanContext) -> str:
        library = importlib.metadata.version("license-expression")
        return f"{__version__} (license-expression {library})"

    def urls(self, ctx: ScanContext) -> dict[str, str]:
        """Where each ecosystem's missing licences are looked up (``off``: nowhere)."""
        return {eco: registry_url(eco, ctx.licenses, self._urls) for eco in (NPM, PYPI)}

    def cacheable(self, ctx: ScanContext) -> bool:
        """With registry lookups on, the answer depends on what a server says (and a
        failed lookup must be tried again next time): never from the results cache; the
        registry's answers are kept on their own (``ScanContext.metadata_store``)."""
        return all(url == OFF for url in self.urls(ctx).values())

    def cache_inputs(self, ctx: ScanContext) -> Mapping[str, Any]:
        # allow/deny lists, exceptions, include_dev, and where licences are looked up
        return {"licenses": dict(ctx.licenses), "urls": self.urls(ctx)}

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return npm.find_lockfiles(fileset) + find_manifests(fileset)

    def cache_files(self, ctx: ScanContext) -> tuple[str, ...]:
        """The lockfiles, the package.json beside each, the installed package.json of
        every locked package that has no licence in its lockfile, and every Python
        manifest with the files its includes pull in: all the answer reads."""
        lockfiles = npm.find_lockfiles(ctx.fileset)
        installed: list[str] = []
        for rel in lockfiles:
            here = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
            try:
                located = npm.locate_lockfile(ctx.root, rel)
            except npm.LockfileError:
                continue
            installed += [f"{here}{where}/package.json" for pkg, where in located
                          if not pkg.license]
        return (*self.targets(ctx.fileset), *(npm.manifest_path(rel) for rel in lockfiles),
                *parse_manifests(ctx.fileset).manifests, *sorted(set(installed)))

    def scan(self, ctx: ScanContext) -> ScanOutput:
        version = self.version(ctx)
        if not self.targets(ctx.fileset):
            return ScanOutput([], version, 0, 0, not_checked="no lockfile or pinned manifest")
        policy = LicensePolicy.from_section(ctx.licenses)
        found = collect(ctx, self.name, include_dev=policy.include_dev, urls=self.urls(ctx),
                        timeout=self._lookup_timeout)
        today = self._today()
        judged, used = self._judge(found, policy, today)
        findings = found.findings + judged
        inventory = [replace(p, license=_shown(p.license)) for p in found.packages]
        notes = found.notes
        unused = [e.package for e in policy.exceptions
                  if e.package not in used and e.live(today)]
        if unused:
            notes.append(f"licence exceptions not needed by this tree: {', '.join(unused)}")
        notes[:0] = _summary(found, findings)
        return ScanOutput(findings, version, len(findings), found.files, notes, inventory,
                          not_checked=_not_checked(found),
                          examined=packages_examined(inventory))

    def _judge(
        self, found: Collected, policy: LicensePolicy, today: dt.date
    ) -> tuple[list[Finding], set[str]]:
        """A finding per package whose licence fails, one per ecosystem for those whose
        licence could not be resolved at all, and the exceptions that were live and used
        (the rest are named in a note)."""
        findings: list[Finding] = []
        used: set[str] = set()
        unresolved: dict[str, list[tuple[Package, LicenseLookup]]] = {}
        for pkg in found.packages:
            judgement = policy.judge.judge(pkg.license)
            if judgement.passes:
                continue
            exception = policy.exception_for(pkg, today)
            live = exception is not None and exception.live(today)
            missing = found.unresolved(pkg)
            if missing is not None and not live:
                unresolved.setdefault(pkg.ecosystem, []).append((pkg, missing))
                continue
            if live and exception is not None:
                used.add(exception.package)
            lookup = found.lookups.get((pkg.ecosystem, pkg.name, pkg.version))
            findings.append(
                license_finding(self.name, pkg, judgement, policy, exception, today, lookup)
            )
        findings += [unresolved_finding(self.name, eco, items, policy)
                     for eco, items in sorted(unresolved.items())]
        return findings, used


def _not_checked(found: Collected) -> str:
    """Why the licence controls are not (wholly) checked: no package, or packages whose
    licence nothing resolved (their finding may fail too; a policy that grades it below
    the threshold must still not make the controls pass)."""
    if not found.packages:
        return "no package to check"
    missing: dict[str, int] = {}
    for pkg in found.packages:
        if found.unresolved(pkg) is not None:
            missing[pkg.ecosystem] = missing.get(pkg.ecosystem, 0) + 1
    return "; ".join(f"the licences of {n} {eco} package{'s' if n > 1 else ''} could not be "
                     "resolved" for eco, n in sorted(missing.items()))


def _summary(found: Collected, findings: Sequence[Finding]) -> list[str]:
    """The first notes: how many packages were checked, the findings by rule, where the
    licences came from, and what was left out."""
    counts = {
        rule: sum(len(f.dependency.packages) if rule == RULE_UNRESOLVED and f.dependency
                  else 1 for f in findings if f.rule_id == rule)
        for rule in (RULE_DENIED, RULE_NOT_ALLOWED, RULE_UNKNOWN, RULE_UNRESOLVED,
                     RULE_EXCEPTION)
    }
    out = [f"checked the licences of {len(found.packages)} packages: "
           + ", ".join(f"{n} {rule}" for rule, n in counts.items())]
    came = origins(found)
    if came:
        out.append("licences from " + ", ".join(
            f"{where}: {came[where]}" for where in
            (FROM_LOCKFILE, FROM_INSTALLED, FROM_STORE, FROM_REGISTRY) if came[where]))
    if found.dev_skipped:
        out.append(f"{found.dev_skipped} development-only packages not checked "
                   "(licenses.include_dev is false)")
    return out


def _shown(declared: str | None) -> str | None:
    """The inventory's licence: the normalised SPDX expression when there is one, else
    the string as declared."""
    parsed = parse(declared)
    return parsed.expression if parsed.expression is not None else declared


def _ids(ids: Sequence[str]) -> str:
    quoted = [f"'{i}'" for i in ids]
    if len(quoted) == 1:
        return f"{quoted[0]} is"
    return f"{', '.join(quoted[:-1])} and {quoted[-1]} are"


def unresolved_finding(scanner: str, ecosystem: str,
                       items: Sequence[tuple[Package, LicenseLookup]],
                       policy: LicensePolicy) -> Finding:
    """One finding for every package of an ecosystem whose licence could not be found at
    all (offline, lookups off, the registry failing): graded as an unknown licence, the
    packages named in its data (``dependency.packages``), the first of them and the
    reasons in its message."""
    refs = tuple(sorted({pkg.ref for pkg, _ in items}))
    reasons = sorted({lookup.reason for _, lookup in items if lookup.reason})
    shown = ", ".join(refs[:SHOWN_UNRESOLVED]) + (
        f" and {len(refs) - SHOWN_UNRESOLVED} more" if len(refs) > SHOWN_UNRESOLVED else "")
    why = "; ".join(reasons[:3]) or "no lookup"
    if ecosystem == NPM:
        how = ("The lockfile does not record them, node_modules does not hold them, and the "
               f"npm registry gave no answer ({why})")
        fix = ("Run the gate with access to the npm registry or a mirror (`licenses.npm_url` "
               "in the policy, or POLICY_GATE_NPM_URL), or install the dependencies first "
               "(`npm ci --ignore-scripts`) so that node_modules holds their package.json.")
    else:
        how = f"Python manifests record no licences, and the index gave no answer ({why})"
        fix = ("Run the gate with access to PyPI or a mirror (`licenses.pypi_url` in the "
               "policy, or POLICY_GATE_PYPI_URL).")
    count = (f"1 {ecosystem} package's licence could not" if len(refs) == 1
             else f"{len(refs)} {ecosystem} packages' licences could not")
    message = (f"{count} be resolved: {shown}. {how}; a licence that cannot be checked is "
               f"never assumed to be allowed. {fix}")
    first = min((pkg for pkg, _ in items), key=lambda p: (p.manifest, p.line or 0))
    packages = "1 package" if len(refs) == 1 else f"{len(refs)} packages"
    return Finding(
        category=LICENSE,
        sources=(Source(scanner, RULE_UNRESOLVED, policy.unknown_severity, Confidence.HIGH,
                        message),),
        path=first.manifest,
        start_line=None,
        end_line=None,
        message=message,
        flaw_key=f"license-unresolved:{ecosystem}",
        content_key=content_key("\n".join(refs)),
        title=f"Licences not resolved: {ecosystem}, {packages}",
        help_url=HELP_URL,
        dependency=DependencyInfo(ecosystem=ecosystem, package=packages,
                                  version=None, packages=refs),
    )


def license_finding(
    scanner: str,
    pkg: Package,
    judgement: Judgement,
    policy: LicensePolicy,
    exception: LicenseException | None,
    today: dt.date,
    lookup: LicenseLookup | None = None,
) -> Finding:
    """The finding for a package whose licence fails (``lookup``: the PyPI metadata
    lookup, when that is where its licence was to come from)."""
    ref = pkg.ref
    shown = judgement.expression or pkg.license
    failure = _failure(ref, shown, judgement, policy, lookup)
    rule, severity, title = failure.rule, failure.severity, failure.title
    message = (f"{pkg.ecosystem} package {ref} fails the licence policy: {failure.why}. "
               f"{_fix(ref, judgement)}")
    if exception is not None and exception.live(today):
        owner = f", owner {exception.owner}" if exception.owner else ""
        message = (
            f"{pkg.ecosystem} package {ref} would fail the licence policy ({failure.why}), "
            f"but an exception applies until {exception.expires_text}{owner}: "
            f"{exception.reason}"
        )
        rule, severity = RULE_EXCEPTION, Severity.INFO
        title = f"Licence exception: {ref}"
    elif exception is not None:
        message += _lapsed(ref, exception)
    return Finding(
        category=LICENSE,
        sources=(Source(scanner, rule, severity, Confidence.HIGH, message),),
        path=pkg.manifest,
        start_line=pkg.line,
        end_line=pkg.line,
        message=message,
        flaw_key=f"license:{pkg.name}@{pkg.version}",
        content_key=content_key(f"{pkg.name}@{pkg.version}:{pkg.license}"),
        title=title,
        help_url=HELP_URL,
        dependency=DependencyInfo(
            ecosystem=pkg.ecosystem,
            package=pkg.name,
            version=pkg.version,
            direct=pkg.direct,
            dev=pkg.dev,
            path=pkg.path,
            license=shown,
        ),
    )


class _Failure(NamedTuple):
    """How a licence fails the policy: the rule, its grade (None: the category's), why
    in words, and the finding's title."""

    rule: str
    severity: Severity | None
    why: str
    title: str


def _failure(
    ref: str, shown: str | None, judgement: Judgement, policy: LicensePolicy,
    lookup: LicenseLookup | None,
) -> _Failure:
    """Unknown (graded by the policy's ``unknown_severity``), denied, or not allowed."""
    if judgement.status == UNKNOWN:
        if lookup is not None and not lookup.available:
            what = f"its licence is unknown (metadata unavailable: {lookup.reason})"
        elif lookup is not None:
            what = f"its licence is unknown (package metadata: {lookup.reason})"
        else:
            what = f"its licence is unknown ({judgement.reason})"
        why = f"{what}; a licence that cannot be checked is never assumed to be allowed"
        return _Failure(RULE_UNKNOWN, policy.unknown_severity, why, f"Unknown licence: {ref}")
    if judgement.status == DENIED:
        others = [b for b in judgement.blocking if b not in judgement.denied]
        why = (
            f"it is licensed '{shown}': {_ids(judgement.denied)} on the licence deny list"
            + (f" and {_ids(others)} not on the allowlist" if others else "")
            + ", and no choice within the expression uses only allowed licences"
        )
        return _Failure(RULE_DENIED, None, why, f"Denied licence: {ref} ({shown})")
    why = (
        f"it is licensed '{shown}': {_ids(judgement.blocking)} not on the licence "
        "allowlist, and no choice within the expression uses only allowed licences"
    )
    if shown == NPM_UNLICENSED:
        why = (f"it is marked '{NPM_UNLICENSED}' (npm: no licence is granted to others), "
               "which is not on the licence allowlist")
    return _Failure(RULE_NOT_ALLOWED, None, why, f"Licence not allowed: {ref} ({shown})")


def _fix(ref: str, judgement: Judgement) -> str:
    """What to do: another package, or an exception (an unknown licence: check it first)."""
    if judgement.status == UNKNOWN:
        return (
            "Check the package's licence by hand; then use another package, or have a security "
            f"lead add an exception for '{ref}' with a reason and an expiry date to the "
            "policy's `licenses.exceptions`."
        )
    return (
        "Depend on another package (or version) under an allowed licence, or have a security "
        f"lead add an exception for '{ref}' with a reason and an expiry date to the policy's "
        "`licenses.exceptions`."
    )


def _lapsed(ref: str, exception: LicenseException) -> str:
    """Why the exception for a package no longer covers it (expired, or a bad date)."""
    if exception.expires is None:
        return (
            f" The exception for '{ref}' does not apply: its expiry date "
            f"'{exception.expires_text}' is not a valid date."
        )
    return f" The exception for '{ref}' expired on {exception.expires_text}."


__all__ = [
    "DENIED",
    "NOT_ALLOWED",
    "RULE_DENIED",
    "RULE_EXCEPTION",
    "RULE_NOT_ALLOWED",
    "RULE_UNKNOWN",
    "RULE_UNRESOLVED",
    "LicensePolicy",
    "LicensesScanner",
    "distinct",
    "license_finding",
    "unresolved_finding",
]
