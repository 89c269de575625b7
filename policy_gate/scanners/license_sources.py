"""Where the licence check's licences come from (the licences scanner's first half): every
locked npm package and pinned Python package, each with the licence its lockfile
records, else its installed ``node_modules/.../package.json``, else its registry's
metadata (kept on disk between runs); development-only packages left out when the
policy's ``licenses.include_dev`` is false. Nothing is installed or run.

What could not be resolved at all (offline, lookups off, the registry failing) is kept
apart, per ecosystem, so that the scanner reports it once per ecosystem instead of once
per package; a licence that was found but is not SPDX is not "unresolved": it is judged
(and is *unknown*) package by package.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from policy_gate.dependencies import npm
from policy_gate.dependencies.license_lookup import (
    OFF,
    LicenseLookup,
    MetadataStore,
    Registry,
    resolve_all,
)
from policy_gate.dependencies.npm_registry import (
    DEFAULT_NPM_URL,
    NPM_URL_ENV,
    NpmRegistry,
    installed_license,
)
from policy_gate.dependencies.pypi_metadata import DEFAULT_PYPI_URL, PYPI_URL_ENV, PyPIMetadata
from policy_gate.dependencies.python import parse_manifests
from policy_gate.findings import Finding
from policy_gate.packages import NPM, PYPI, Package
from policy_gate.scanners.interface import ScanContext, unscanned_finding

# Where each licence came from, counted for the scanner's notes.
FROM_LOCKFILE = "lockfile"
FROM_INSTALLED = "node_modules"
FROM_REGISTRY = "registry"
FROM_STORE = "metadata cache"

_ENV = {NPM: NPM_URL_ENV, PYPI: PYPI_URL_ENV}
_POLICY_KEY = {NPM: "npm_url", PYPI: "pypi_url"}
_DEFAULT = {NPM: DEFAULT_NPM_URL, PYPI: DEFAULT_PYPI_URL}


def registry_url(ecosystem: str, licenses: Mapping[str, Any],
                 given: Mapping[str, str | None] | None = None) -> str:
    """Where an ecosystem's licences are looked up: the scanner's own setting (tests), the
    environment (``POLICY_GATE_NPM_URL``, ``POLICY_GATE_PYPI_URL``: operators, mirrors),
    the policy (``licenses.npm_url``, ``licenses.pypi_url``), else the public registry;
    ``off`` in any of them: no lookups."""
    for value in ((given or {}).get(ecosystem), os.environ.get(_ENV[ecosystem]),
                  licenses.get(_POLICY_KEY[ecosystem])):
        text = str(value).strip() if value is not None else ""
        if text:
            return OFF if text.lower() == OFF else text
    return _DEFAULT[ecosystem]


@dataclass
class Collected:
    """Every package to check, with its licence where one was found, and why the rest
    have none."""

    packages: list[Package] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # files that could not be read
    notes: list[str] = field(default_factory=list)
    # (ecosystem, name, version) -> the registry's answer, where a licence was to come
    # from it (its reason explains a missing or non-SPDX licence)
    lookups: dict[tuple[str, str, str], LicenseLookup] = field(default_factory=dict)
    # (ecosystem, name, version) -> where its licence came from (FROM_*)
    origin: dict[tuple[str, str, str], str] = field(default_factory=dict)
    dev_skipped: int = 0
    files: int = 0

    def unresolved(self, pkg: Package) -> LicenseLookup | None:
        """Why the package's licence could not be found at all (None: it was found, or
        the registry answered and declares none)."""
        if pkg.license:
            return None
        lookup = self.lookups.get((pkg.ecosystem, pkg.name, pkg.version))
        if lookup is None or not lookup.available:
            return lookup or LicenseLookup(None, reason="no licence recorded")
        return None


def collect(ctx: ScanContext, scanner: str, *, include_dev: bool,
            urls: Mapping[str, str], timeout: float | None) -> Collected:
    """The packages of every lockfile and pinned manifest, their licences resolved."""
    found = Collected()
    located = _npm_packages(ctx, scanner, found)
    pinned = _python_packages(ctx, scanner, found)
    packages = distinct([*located, *pinned])
    if not include_dev:
        found.dev_skipped = sum(1 for p in packages if p.dev)
        packages = [p for p in packages if not p.dev]
    deadline = time.monotonic() + ctx.settings.timeout
    for ecosystem in (NPM, PYPI):
        wanted = sorted({(p.name, p.version) for p in packages
                         if p.ecosystem == ecosystem and not p.license})
        if wanted:
            ctx.progress(scanner, f"looking up the licences of {len(wanted)} {ecosystem} "
                         "packages")
            _look_up(ecosystem, wanted, urls[ecosystem], timeout, deadline,
                     ctx.metadata_store, found)
    found.packages = [_with_lookup(p, found.lookups) for p in packages]
    return found


def origins(found: Collected) -> Counter[str]:
    """How many of the checked packages got their licence from where."""
    return Counter(found.origin[(p.ecosystem, p.name, p.version)] for p in found.packages
                   if p.license and (p.ecosystem, p.name, p.version) in found.origin)


def _npm_packages(ctx: ScanContext, scanner: str, found: Collected) -> list[Package]:
    """Every package of every npm lockfile; a licence the lockfile does not record is read
    from the installed package beside it, when that is the same release."""
    out: list[Package] = []
    for rel in npm.find_lockfiles(ctx.fileset):
        found.files += 1
        try:
            located = npm.locate_lockfile(ctx.root, rel)
        except npm.LockfileError as exc:
            found.findings.append(unscanned_finding(scanner, exc.path, exc.reason, exc.line))
            continue
        here = ctx.root / rel.rsplit("/", 1)[0] if "/" in rel else ctx.root
        for pkg, where in located:
            key = (NPM, pkg.name, pkg.version)
            if not pkg.license:
                installed = installed_license(here, where, pkg.name, pkg.version)
                if installed:
                    pkg = replace(pkg, license=installed)
                    found.origin.setdefault(key, FROM_INSTALLED)
            elif key not in found.origin:
                found.origin[key] = FROM_LOCKFILE
            out.append(pkg)
    return out


def _python_packages(ctx: ScanContext, scanner: str, found: Collected) -> list[Package]:
    """Every pinned Python package (their manifests record no licence)."""
    manifests = parse_manifests(ctx.fileset)
    found.files += len(manifests.manifests)
    for err in manifests.errors:
        found.findings.append(unscanned_finding(scanner, err.path, err.reason, err.line))
    if manifests.unpinned:
        found.notes.append(
            f"{len(manifests.unpinned)} Python requirements are not pinned; their licences "
            "were not checked (pip-audit reports them)"
        )
    return [Package(PYPI, pin.name, pin.version, pin.manifest_path, pin.line)
            for pin in manifests.pinned]


def _look_up(ecosystem: str, wanted: Sequence[tuple[str, str]], url: str,
             timeout: float | None, deadline: float, store: MetadataStore | None,
             found: Collected) -> None:
    """The registry's answers for ``wanted`` (or why there are none) into ``found``."""
    if url == OFF:
        off = LicenseLookup(None, reason=f"registry lookups are off ({_ENV[ecosystem]} or "
                            f"licenses.{_POLICY_KEY[ecosystem]} is '{OFF}')")
        found.lookups.update({(ecosystem, *pin): off for pin in wanted})
        return
    try:
        client: Registry = (NpmRegistry if ecosystem == NPM else PyPIMetadata)(
            url, **({} if timeout is None else {"timeout": timeout}))
    except ValueError as exc:
        failed = LicenseLookup(None, reason=str(exc))
        found.lookups.update({(ecosystem, *pin): failed for pin in wanted})
        return
    resolved = resolve_all(client, wanted, deadline=deadline, store=store)
    for pin, answer in resolved.answers.items():
        key = (ecosystem, *pin)
        found.lookups[key] = answer
        if answer.license or answer.declared:
            found.origin[key] = FROM_STORE if pin in resolved.from_store else FROM_REGISTRY


def _with_lookup(pkg: Package, lookups: Mapping[tuple[str, str, str], LicenseLookup]
                 ) -> Package:
    """The package with the licence its registry gave (an SPDX expression, else the
    licence as declared, which is then judged as not SPDX)."""
    if pkg.license:
        return pkg
    lookup = lookups.get((pkg.ecosystem, pkg.name, pkg.version))
    if lookup is None:
        return pkg
    return replace(pkg, license=lookup.license or lookup.declared)


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
