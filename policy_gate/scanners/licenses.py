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
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from policy_gate import __version__
from policy_gate.base.fileset import FileSet
from policy_gate.catalogue import LICENSES
from policy_gate.dependencies import npm
from policy_gate.dependencies.pypi_metadata import PYPI_URL_ENV, LicenseLookup, PyPIMetadata
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
from policy_gate.packages import PYPI, Package
from policy_gate.results import ScanOutput, packages_examined
from policy_gate.scanners.interface import ScanContext, Scanner, unscanned_finding

RULE_DENIED = "license-denied"
RULE_NOT_ALLOWED = "license-not-allowed"
RULE_UNKNOWN = "license-unknown"
RULE_EXCEPTION = "license-exception"
HELP_URL = "https://spdx.org/licenses/"
OFFLINE = "off"  # POLICY_GATE_PYPI_URL=off: no lookups, every Python licence is unknown
MAX_LOOKUP_THREADS = 8


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
        lookup_timeout: float | None = None,
    ) -> None:
        self._today = today
        self._pypi_url = pypi_url
        self._lookup_timeout = lookup_timeout

    def version(self, ctx: ScanContext) -> str:
        library = importlib.metadata.version("license-expression")
        return f"{__version__} (license-expression {library})"

    def cache_inputs(self, ctx: ScanContext) -> Mapping[str, Any]:
        # allow/deny lists, exceptions, and where licences are looked up (the environment
        # may name another index than the policy, or switch lookups off)
        return {"licenses": dict(ctx.licenses), "pypi_url": self._metadata_source(ctx)}

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return npm.find_lockfiles(fileset) + find_manifests(fileset)

    def cache_files(self, ctx: ScanContext) -> tuple[str, ...]:
        """The lockfiles, the package.json beside each, and every Python manifest with the
        files its includes pull in: all the answer reads."""
        lockfiles = npm.find_lockfiles(ctx.fileset)
        return (*self.targets(ctx.fileset), *(npm.manifest_path(rel) for rel in lockfiles),
                *parse_manifests(ctx.fileset).manifests)

    def scan(self, ctx: ScanContext) -> ScanOutput:
        version = self.version(ctx)
        if not self.targets(ctx.fileset):
            return ScanOutput([], version, 0, 0)
        policy = LicensePolicy.from_section(ctx.licenses)
        deadline = time.monotonic() + ctx.settings.timeout
        found = _Found()
        self._npm_packages(ctx, found)
        self._python_packages(ctx, deadline, found)
        inventory = distinct(found.packages)
        today = self._today()
        judged, used = self._judge(inventory, policy, today, found.reasons)
        findings = found.findings + judged
        inventory = [replace(p, license=_shown(p.license)) for p in inventory]
        notes = found.notes
        unused = [e.package for e in policy.exceptions
                  if e.package not in used and e.live(today)]
        if unused:
            notes.append(f"licence exceptions not needed by this tree: {', '.join(unused)}")
        notes.insert(0, _summary(len(inventory), findings))
        return ScanOutput(findings, version, len(findings), found.files, notes, inventory,
                          not_checked=found.not_checked, examined=packages_examined(inventory))

    def _npm_packages(self, ctx: ScanContext, found: _Found) -> None:
        """Every package of every npm lockfile, with the licence the lockfile records."""
        for rel in npm.find_lockfiles(ctx.fileset):
            found.files += 1
            try:
                found.packages += npm.parse_lockfile(ctx.root, rel)
            except npm.LockfileError as exc:
                found.findings.append(
                    unscanned_finding(self.name, exc.path, exc.reason, exc.line))

    def _python_packages(self, ctx: ScanContext, deadline: float, found: _Found) -> None:
        """Every pinned Python package, with the licence its index metadata gives (when
        an index is configured: otherwise a note says they were not checked)."""
        manifests = parse_manifests(ctx.fileset)
        found.files += len(manifests.manifests)
        for err in manifests.errors:
            found.findings.append(unscanned_finding(self.name, err.path, err.reason, err.line))
        source = self._metadata_source(ctx)
        if manifests.pinned and source is None:
            # Python lockfiles carry no licences; looking them up needs an index. Without
            # one configured the gate says so instead of guessing or calling out.
            found.notes.append(
                f"{len({(p.name, p.version) for p in manifests.pinned})} pinned Python packages: "
                "licences not checked (set `licenses.pypi_url` in the policy, e.g. "
                "https://pypi.org/pypi or a mirror, to look them up)"
            )
            found.not_checked = found.notes[-1]  # the licence controls are not checked
        elif manifests.pinned and source is not None:
            pins = sorted({(p.name, p.version) for p in manifests.pinned})
            ctx.progress(self.name, f"looking up the licences of {len(pins)} Python packages")
            lookups = self._lookup(pins, deadline, source)
            for pin in manifests.pinned:
                looked_up = lookups[(pin.name, pin.version)]
                if looked_up.license is None:
                    found.reasons[(pin.name, pin.version)] = looked_up
                found.packages.append(
                    Package(PYPI, pin.name, pin.version, pin.manifest_path, pin.line,
                            license=looked_up.license or looked_up.declared)
                )
        if manifests.unpinned:
            found.notes.append(
                f"{len(manifests.unpinned)} Python requirements are not pinned; their licences "
                "were not checked (pip-audit reports them)"
            )

    def _judge(
        self, inventory: list[Package], policy: LicensePolicy, today: dt.date,
        reasons: Mapping[tuple[str, str], LicenseLookup],
    ) -> tuple[list[Finding], set[str]]:
        """A finding per package whose licence fails, and the exceptions that were live
        and used (the rest are named in a note)."""
        findings: list[Finding] = []
        used: set[str] = set()
        for pkg in inventory:
            judgement = policy.judge.judge(pkg.license)
            if judgement.passes:
                continue
            exception = policy.exception_for(pkg, today)
            if exception is not None and exception.live(today):
                used.add(exception.package)
            lookup = reasons.get((pkg.name, pkg.version)) if pkg.ecosystem == PYPI else None
            findings.append(
                license_finding(self.name, pkg, judgement, policy, exception, today, lookup)
            )
        return findings, used

    def _metadata_source(self, ctx: ScanContext) -> str | None:
        """Where Python licence metadata comes from: the constructor (tests), the
        POLICY_GATE_PYPI_URL environment variable (operators, mirrors), then the policy's
        `licenses.pypi_url`; None means no lookups."""
        configured = ctx.licenses.get("pypi_url") if ctx.licenses else None
        return (
            self._pypi_url
            or os.environ.get(PYPI_URL_ENV)
            or (str(configured) if configured else None)
        )

    def _lookup(
        self, pins: Sequence[tuple[str, str]], deadline: float, base: str
    ) -> dict[tuple[str, str], LicenseLookup]:
        if base is not None and base.strip().lower() == OFFLINE:
            off = LicenseLookup(None, reason=f"lookups are disabled ({PYPI_URL_ENV}=off)")
            return dict.fromkeys(pins, off)
        try:
            client = PyPIMetadata(base) if self._lookup_timeout is None else PyPIMetadata(
                base, self._lookup_timeout)
        except ValueError as exc:
            failed = LicenseLookup(None, reason=str(exc))
            return dict.fromkeys(pins, failed)

        def one(pin: tuple[str, str]) -> LicenseLookup:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return LicenseLookup(None, reason="the licences scanner ran out of time")
            return client.license(*pin, timeout=min(client.timeout, remaining))

        workers = max(1, min(MAX_LOOKUP_THREADS, len(pins)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pypi") as pool:
            return dict(zip(pins, pool.map(one, pins), strict=True))


def distinct(packages: Iterable[Package]) -> list[Package]:
    """One entry per (ecosystem, name@version, manifest): a lockfile may install the same
    version at several places. It is direct if any copy is, dev only if every copy is."""
    merged: dict[tuple[str, str, str], Package] = {}
    for pkg in packages:
        key = (pkg.ecosystem, pkg.ref, pkg.manifest)
        seen = merged.get(key)
        if seen is None:
            merged[key] = pkg
            continue
        direct = (True if seen.direct or pkg.direct
                  else None if seen.direct is None or pkg.direct is None else False)
        merged[key] = replace(
            seen,
            direct=direct,
            dev=seen.dev and pkg.dev,
            optional=seen.optional and pkg.optional,
            license=seen.license or pkg.license,
            line=seen.line if seen.line is not None else pkg.line,
        )
    return sorted(merged.values(), key=lambda p: (p.manifest, p.ecosystem, p.name, p.version))


@dataclass
class _Found:
    """What the lockfiles and manifests yielded, before any licence is judged."""

    packages: list[Package] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # files that could not be read
    notes: list[str] = field(default_factory=list)
    # (name, version) -> why PyPI gave no SPDX licence (None: not PyPI's metadata)
    reasons: dict[tuple[str, str], LicenseLookup] = field(default_factory=dict)
    files: int = 0
    not_checked: str = ""  # packages found whose licences were not checked, and why


def _summary(packages: int, findings: Sequence[Finding]) -> str:
    """The first note: how many packages were checked, and the findings by rule."""
    counts = {
        rule: sum(1 for f in findings if f.rule_id == rule)
        for rule in (RULE_DENIED, RULE_NOT_ALLOWED, RULE_UNKNOWN, RULE_EXCEPTION)
    }
    return (f"checked the licences of {packages} packages: "
            + ", ".join(f"{n} {rule}" for rule, n in counts.items()))


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
    "LicensePolicy",
    "LicensesScanner",
    "license_finding",
]
