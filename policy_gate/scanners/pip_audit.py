"""pip-audit: known vulnerabilities in the Python packages a repository pins.

The repository's manifests are parsed here (``policy_gate.dependencies``), never by pip:
pip-audit only ever reads a requirements file this module wrote, of ``name==version``
lines, with ``--disable-pip --no-deps``, so nothing from the scanned tree is installed,
built or resolved. Each vulnerability is then reported at every manifest line that pins
the package. Requirements that pin nothing auditable are findings of their own.

Environment markers are recorded but deliberately not written to pip-audit's input:
pip-audit evaluates them against its own interpreter and silently drops the pins that do
not match, so a Windows-only pin would never be audited on a Linux runner.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from policy_gate.advisories.database import Advisory as MergedAdvisory
from policy_gate.advisories.database import fix_version, severity_of
from policy_gate.base.fileset import FileSet
from policy_gate.base.process import Completed, ScannerError, run_tool, scanner_env, stderr_tail
from policy_gate.catalogue import PIP_AUDIT
from policy_gate.dependencies.python import (
    ManifestScan,
    PinnedDependency,
    UnpinnedRequirement,
    find_manifests,
    parse_manifests,
)
from policy_gate.findings import (
    DEPENDENCY,
    UNSCANNED,
    Confidence,
    DependencyInfo,
    Finding,
    Severity,
    Source,
    content_key,
)
from policy_gate.packages import PYPI, Package
from policy_gate.results import ScanOutput
from policy_gate.scanners.interface import ScanContext, Scanner, parse_report, require
from policy_gate.scanners.vulnerability import (
    PUBLIC_OSV_API,
    RULE,
    network_cause,
    not_audited,
    osv_unreachable,
    vulnerable_package,
)

# pip-audit exits 0 when nothing is vulnerable and 1 when something is, but also 1 on a
# fatal error or an uncaught exception: exit 1 is trusted only with a report listing a
# vulnerability.
EXIT_CLEAN, EXIT_VULNERABLE = 0, 1
UNPINNED_RULE = "unpinned-requirement"
UNPINNED_FLAW = "pip-audit:unpinned-requirement"
VULNERABLE_RULE = RULE
# pip-audit imports pip_api, which runs `python -m pip --version` on import (~0.7 of the
# ~1.4 CPU-s a pip-audit run costs) although, run with --disable-pip --no-deps -r and its
# own --cache-dir, pip-audit never runs pip. pip_api runs the program PIPAPI_PYTHON_LOCATION
# names instead of the interpreter: this script answers only that question (any pip from
# 20.1 satisfies what pip-audit checks) and fails on any other, so a pip-audit that did
# start to need pip would fail the scan, never audit less.
PIP_VERSION_STUB = """#!/bin/sh
if [ "$*" = "-m pip --version" ]; then
    echo "pip 25.0 from policy-gate (pip-audit runs with --disable-pip)"
    exit 0
fi
echo "policy-gate: pip-audit ran pip ($*), which it should not with --disable-pip" >&2
exit 1
"""


@dataclass(frozen=True, slots=True)
class Advisory:
    """One vulnerability a tool reported for one (package, version)."""

    package: str
    version: str
    primary: str
    aliases: tuple[str, ...]
    fixed_versions: tuple[str, ...]
    description: str


class PipAuditScanner(Scanner):
    info = PIP_AUDIT
    executable = "pip-audit"
    distribution = "pip-audit"

    def targets(self, fileset: FileSet) -> tuple[str, ...]:
        return find_manifests(fileset)

    def cache_files(self, ctx: ScanContext) -> tuple[str, ...]:
        """Every manifest the answer reads: the targets and what their ``-r``/``-c``
        includes pull in (any name), as the parser follows them."""
        return (*self.targets(ctx.fileset), *parse_manifests(ctx.fileset).manifests)

    def scan(self, ctx: ScanContext) -> ScanOutput:
        """Parse the manifests, audit every distinct pin once, map results back.

        ``raw_results`` counts the Sources emitted (one per finding), which is what the
        "nothing lost" check compares. It differs from the number of vulnerability
        entries pip-audit printed: one entry maps to every manifest line pinning that
        package version, and unpinned requirements and manifest errors are findings that
        pip-audit never saw. The notes give both counts.
        """
        version = self.version(ctx)
        if not self.targets(ctx.fileset):
            return ScanOutput([], version, 0, 0)
        manifests = parse_manifests(ctx.fileset)
        findings = manifest_findings(self.name, manifests)
        pins = distinct_pins(manifests.pinned)
        notes: list[str] = []
        if pins:
            ctx.progress(
                self.name,
                f"auditing {len(pins)} pinned packages from {len(manifests.manifests)} manifests",
            )
            advisories, skipped = self._audit(ctx, pins)
            fixes = fix_versions(advisories)
            vulnerable = [
                vulnerability_finding(
                    self.name,
                    pin,
                    adv,
                    fixes.get((adv.package, adv.version)),
                    graded_severity(ctx, adv),
                )
                for adv in advisories
                for pin in pins_for(manifests.pinned, adv.package, adv.version)
            ]
            findings += vulnerable
            for name, pin_version, reason in skipped:
                findings += [
                    not_audited_finding(self.name, p, reason)
                    for p in pins_for(manifests.pinned, name, pin_version)
                ]
            notes.append(
                f"pip-audit reported {len(advisories)} vulnerability entries for "
                f"{len(pins)} distinct pinned packages ({len(skipped)} skipped); each maps to "
                f"every manifest line pinning that version: {len(vulnerable)} findings"
            )
        if manifests.unpinned:
            notes.append(
                f"{len(manifests.unpinned)} requirements are not pinned and were not audited"
            )
        inventory = [
            Package(
                ecosystem=PYPI,
                name=p.name,
                version=p.version,
                manifest=p.manifest_path,
                line=p.line,
            )
            for p in manifests.pinned
        ]
        return ScanOutput(
            findings, version, len(findings), len(manifests.manifests), notes, inventory=inventory,
            examined={"pinned Python packages": len(pins)},
        )

    def _audit(
        self, ctx: ScanContext, pins: Sequence[tuple[str, str]]
    ) -> tuple[list[Advisory], list[tuple[str, str, str]]]:
        """Run pip-audit over the pins. pip-audit refuses one package pinned at two
        versions in one run, so each extra version of a package costs one more run."""
        advisories: list[Advisory] = []
        skipped: list[tuple[str, str, str]] = []
        deadline = time.monotonic() + ctx.settings.timeout
        with private_dir(ctx, self.name) as work:
            for i, layer in enumerate(layers(pins)):
                requirements = work / f"pinned-{i}.txt"
                requirements.write_text("".join(f"{n}=={v}\n" for n, v in layer), "utf-8")
                argv = [
                    "pip-audit",
                    "--disable-pip",
                    "--no-deps",
                    "-r",
                    str(requirements),
                    "-s",
                    "osv",
                    "--format",
                    "json",
                    "--desc",
                    "on",
                    "--aliases",
                    "on",
                    "--progress-spinner",
                    "off",
                    "--cache-dir",
                    str(work / "cache"),
                ]
                if ctx.osv_url:
                    argv += ["--osv-url", ctx.osv_url]
                remaining = max(1.0, deadline - time.monotonic())
                completed = run_tool(self.name, argv, timeout=remaining, cwd=work,
                                     env=pip_stub_env(work), budget=ctx.settings.timeout)
                if completed.returncode not in (EXIT_CLEAN, EXIT_VULNERABLE) or (
                    completed.returncode == EXIT_VULNERABLE and not completed.stdout.strip()
                ):
                    raise ScannerError(self.name, failure_reason(completed, ctx.osv_url))
                found, skips = self._parse(parse_report(self.name, completed), layer)
                if completed.returncode == EXIT_VULNERABLE and not found:
                    raise ScannerError(
                        self.name,
                        f"exited 1 without reporting a vulnerability{stderr_tail(completed)}",
                    )
                advisories += found
                skipped += skips
        return advisories, skipped

    def _parse(
        self, report: Any, layer: Sequence[tuple[str, str]]
    ) -> tuple[list[Advisory], list[tuple[str, str, str]]]:
        """Read pip-audit's JSON report; every package it was given must be in it."""
        deps = require(self.name, report, "dependencies", list, "report")
        advisories: list[Advisory] = []
        skipped: list[tuple[str, str, str]] = []
        seen: set[tuple[str, str]] = set()
        for i, dep in enumerate(deps):
            where = f"dependencies[{i}]"
            name = canonicalize_name(require(self.name, dep, "name", str, where))
            if "skip_reason" in dep:
                reason = require(self.name, dep, "skip_reason", str, where)
                matches = [(n, v) for n, v in layer if n == name]
                if not matches:
                    raise ScannerError(
                        self.name, f"reported skipping '{name}', which it was not given"
                    )
                skipped += [(n, v, reason) for n, v in matches]
                seen.update(matches)
                continue
            version = _normalise(require(self.name, dep, "version", str, where))
            seen.add((name, version))
            for j, vuln in enumerate(require(self.name, dep, "vulns", list, where)):
                at = f"{where}.vulns[{j}]"
                vuln_id = require(self.name, vuln, "id", str, at)
                fixes = require(self.name, vuln, "fix_versions", list, at)
                aliases = require(self.name, vuln, "aliases", list, at)
                description = require(self.name, vuln, "description", str, at)
                primary, others = primary_id([vuln_id, *(str(a) for a in aliases)])
                advisories.append(
                    Advisory(
                        name, version, primary, others, tuple(str(f) for f in fixes), description
                    )
                )
        missing = [f"{n}=={v}" for n, v in layer if (n, v) not in seen]
        if missing:
            raise ScannerError(
                self.name,
                f"did not report on {len(missing)} of the packages it was given "
                f"(e.g. {', '.join(missing[:3])})",
            )
        return advisories, skipped


# The line a Python program's uncaught exception ends with ("requests.exceptions.X: …"),
# or one pip-audit logs before it exits ("ERROR:pip_audit._cli:…").
_ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b|ERROR\b).*")
REASON_CHARS = 300


def failure_reason(completed: Completed, osv_url: str | None) -> str:
    """Why pip-audit gave no report, in one line: the OSV service it could not reach (and
    the ways on), else the error it ended with, never its traceback."""
    cause = network_cause(completed.stderr)
    if cause is not None:
        url = osv_url or f"{PUBLIC_OSV_API}/v1/query"
        return osv_unreachable(url, cause, "the Python packages")
    lines = [line.strip() for line in completed.stderr.splitlines() if line.strip()]
    last = next((line for line in reversed(lines) if _ERROR_LINE.match(line)),
                lines[-1] if lines else "no error message")
    if len(last) > REASON_CHARS:
        last = last[:REASON_CHARS] + "…"
    return f"exited {completed.returncode} without a report: {last}"


def _normalise(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def distinct_pins(pinned: Sequence[PinnedDependency]) -> list[tuple[str, str]]:
    """Every (name, version) pinned anywhere, once, in a stable order."""
    return sorted({(p.name, p.version) for p in pinned})


def pins_for(pinned: Sequence[PinnedDependency], name: str, version: str) -> list[PinnedDependency]:
    return [p for p in pinned if p.name == name and p.version == version]


def layers(pins: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split pins so that no layer holds two versions of one package (usually: one layer)."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for name, version in pins:
        by_name[name].append(version)
    depth = max((len(v) for v in by_name.values()), default=0)
    return [
        [(name, versions[k]) for name, versions in sorted(by_name.items()) if k < len(versions)]
        for k in range(depth)
    ]


def primary_id(ids: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The id findings are keyed on (a PYSEC id, else GHSA, else the first given) and the
    other ids, sorted."""
    unique = list(dict.fromkeys(ids))
    primary = next(
        (i for prefix in ("PYSEC-", "GHSA-") for i in unique if i.startswith(prefix)), unique[0]
    )
    return primary, tuple(sorted(i for i in unique if i != primary))


def fix_versions(advisories: Sequence[Advisory]) -> dict[tuple[str, str], str | None]:
    """Per (package, version): the lowest fixed version, among those pip-audit gave,
    at or above a fixed version of every advisory on it (None if one has no fix)."""
    by_pin: dict[tuple[str, str], list[MergedAdvisory]] = defaultdict(list)
    for adv in advisories:
        by_pin[(adv.package, adv.version)].append(
            MergedAdvisory(
                adv.primary, adv.aliases, "", "", None, None, adv.fixed_versions, (adv.primary,), ""
            )
        )
    return {
        (name, version): fix_version(PYPI, name, version, advs)
        for (name, version), advs in by_pin.items()
    }


def graded_severity(ctx: ScanContext, adv: Advisory) -> Severity | None:
    """pip-audit's JSON carries no severity. With the advisory database at hand, grade the
    advisory from its CVSS vectors or its own rating; otherwise the policy grades it."""
    db = ctx.advisory_db
    if db is None:
        return None
    for vuln_id in (adv.primary, *adv.aliases):
        record = db.records.get(vuln_id)
        if record is not None:
            graded = severity_of(record, (PYPI, canonicalize_name(adv.package)))
            return graded[0] if graded else None
    return None


def vulnerability_finding(
    scanner: str,
    pin: PinnedDependency,
    adv: Advisory,
    fix: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    return vulnerable_package(
        scanner,
        pinned_package(pin),
        advisory=adv.primary,
        aliases=adv.aliases,
        fixed=adv.fixed_versions,
        description=adv.description,
        fix=fix,
        severity=severity,
    )


def pinned_package(pin: PinnedDependency) -> Package:
    return Package(PYPI, pin.name, pin.version, pin.manifest_path, pin.line)


def unpinned_finding(scanner: str, req: UnpinnedRequirement) -> Finding:
    message = (
        f"'{req.requirement_text}' {req.reason}, so {scanner} cannot audit it reliably: the "
        "version installed depends on the day and the index. Pin it to one version "
        f"({req.name}==X.Y.Z), or commit a lockfile (poetry.lock, uv.lock, pylock.toml, "
        "Pipfile.lock) that pins every package."
    )
    return Finding(
        category=DEPENDENCY,
        sources=(Source(scanner, UNPINNED_RULE, Severity.MEDIUM, Confidence.HIGH, message),),
        path=req.manifest_path,
        start_line=req.line,
        end_line=req.line,
        message=message,
        flaw_key=UNPINNED_FLAW,
        content_key=content_key(req.requirement_text),
        title=f"Unpinned requirement: {req.name}",
        dependency=DependencyInfo(
            ecosystem=PYPI, package=req.name, version=None, requirement=req.requirement_text
        ),
    )


def not_audited_finding(scanner: str, pin: PinnedDependency, reason: str) -> Finding:
    """A pin the tool skipped: shown as ``unscanned``, never dropped."""
    message = f"{scanner} did not audit {pin.name}=={pin.version}: {reason}"
    return Finding(
        category=UNSCANNED,
        sources=(
            Source(scanner, "dependency-not-audited", Severity.MEDIUM, Confidence.HIGH, message),
        ),
        path=pin.manifest_path,
        start_line=pin.line,
        end_line=pin.line,
        message=message,
        flaw_key=f"{scanner}:unscanned",
        content_key=content_key(f"{pin.name}=={pin.version}"),
        title="Dependency not audited",
    )


def manifest_findings(scanner: str, manifests: ManifestScan) -> list[Finding]:
    """Unpinned requirements, and manifests (or includes) that could not be read."""
    findings = [unpinned_finding(scanner, u) for u in manifests.unpinned]
    for err in manifests.errors:
        findings.append(not_audited(scanner, err.path, err.reason, err.line, fix=err.fix))
    return findings


def pip_stub_env(work: Path) -> dict[str, str] | None:
    """The scanners' environment with pip_api pointed at ``PIP_VERSION_STUB`` (written in
    ``work``); None (pip-audit asks the real pip) where ``work`` cannot hold a program
    (a file system mounted noexec)."""
    if os.statvfs(work).f_flag & os.ST_NOEXEC:
        return None
    stub = work / "pip-version"
    stub.write_text(PIP_VERSION_STUB, "utf-8")
    stub.chmod(0o700)
    return scanner_env({"PIPAPI_PYTHON_LOCATION": str(stub)})


@contextmanager
def private_dir(ctx: ScanContext, scanner: str) -> Iterator[Path]:
    """Where the generated requirements file and pip-audit's cache live: the scanner's
    work dir when the runner gave one, else a temporary directory removed afterwards."""
    if ctx.work_dir is not None:
        work = ctx.work_dir / scanner
        work.mkdir(parents=True, exist_ok=True)
        yield work
    else:
        with tempfile.TemporaryDirectory(prefix=f"policy-gate-{scanner}-") as tmp:
            yield Path(tmp)
