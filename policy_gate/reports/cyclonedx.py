"""A CycloneDX 1.6 JSON SBOM of every dependency the gate audited (M10: "a Software Bill
of Materials ships with each release"), built and serialised with the CycloneDX Python
library (``cyclonedx-python-lib``).

* components: the union of every dependency scanner's inventory (``ScanOutput.inventory``),
  one per (ecosystem, name, version), with its purl (also its bom-ref), licence (an SPDX
  expression, or the declared name when it is not SPDX), scope (``optional`` for
  development-only and optional dependencies, else ``required``) and properties naming
  every manifest that pins it and whether it is a direct or transitive dependency;
* dependencies: the scanned root depends on the direct dependencies; every other package
  hangs off the package before it on its dependency path, when the lockfile says;
* vulnerabilities: one per advisory in the dependency findings, affecting every component
  it was found on, rated with the severity the policy gave it, with the fix version as the
  recommendation and the policy's decision as the analysis detail;
* metadata: policy-gate as the tool, the scan's start as the timestamp, the scanned root
  as the subject component.

The serial number is derived from the document's content, so the same scan renders the
same SBOM byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field

from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.model.impact_analysis import ImpactAnalysisAffectedStatus
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from packageurl import PackageURL

from policy_gate import __version__
from policy_gate.dependencies.inventory import Package
from policy_gate.dependencies.spdx import parse
from policy_gate.findings import DEPENDENCY, Severity
from policy_gate.policy.evaluate import Decision
from policy_gate.reports.interface import ReportData

SCHEMA_VERSION = SchemaVersion.V1_6
PROPERTY_PREFIX = "policy-gate:"
SUBJECT_REF = "policy-gate:scanned-root"

_SEVERITY = {
    Severity.INFO: VulnerabilitySeverity.INFO,
    Severity.LOW: VulnerabilitySeverity.LOW,
    Severity.MEDIUM: VulnerabilitySeverity.MEDIUM,
    Severity.HIGH: VulnerabilitySeverity.HIGH,
    Severity.CRITICAL: VulnerabilitySeverity.CRITICAL,
}


@dataclass
class _Entry:
    """One component: every inventory record of the same (ecosystem, name, version)."""

    ecosystem: str
    name: str
    version: str
    purl: str
    manifests: list[str] = field(default_factory=list)
    direct: bool | None = None
    dev: bool = True
    optional: bool = True
    license: str | None = None
    parents: set[str] = field(default_factory=set)  # "name@version" one step up the path

    def add(self, pkg: Package) -> None:
        if pkg.manifest and pkg.manifest not in self.manifests:
            self.manifests.append(pkg.manifest)
        if pkg.direct:
            self.direct = True
        elif pkg.direct is False and self.direct is None:
            self.direct = False
        self.dev = self.dev and pkg.dev
        self.optional = self.optional and pkg.optional
        self.license = self.license or pkg.license
        if not pkg.direct and len(pkg.path) >= 2:
            self.parents.add(pkg.path[-2])


def _key(ecosystem: str, name: str, version: str) -> tuple[str, str, str]:
    return (ecosystem, name, version)


def inventory(data: ReportData) -> dict[tuple[str, str, str], _Entry]:
    """Every package any dependency scanner audited, merged by (ecosystem, name, version)."""
    entries: dict[tuple[str, str, str], _Entry] = {}
    for run in data.result.runs:
        if run.output is None:
            continue
        for pkg in run.output.inventory:
            key = _key(pkg.ecosystem, pkg.name, pkg.version)
            entry = entries.get(key)
            if entry is None:
                entry = entries[key] = _Entry(pkg.ecosystem, pkg.name, pkg.version, pkg.purl)
            entry.add(pkg)
    # A vulnerable package a scanner reported without listing it still gets a component.
    for decision in _vulnerable(data):
        dep = decision.finding.dependency
        assert dep is not None and dep.version is not None
        key = _key(dep.ecosystem, dep.package, dep.version)
        if key not in entries:
            pkg = Package(dep.ecosystem, dep.package, dep.version, decision.finding.path,
                          direct=dep.direct, dev=dep.dev, path=dep.path, license=dep.license)
            entry = entries[key] = _Entry(pkg.ecosystem, pkg.name, pkg.version, pkg.purl)
            entry.add(pkg)
    return dict(sorted(entries.items()))


def _vulnerable(data: ReportData) -> list[Decision]:
    return [
        d for d in data.evaluation.decisions
        if d.finding.category == DEPENDENCY
        and d.finding.dependency is not None
        and d.finding.dependency.advisory is not None
        and d.finding.dependency.version is not None
    ]


def _licenses(declared: str | None) -> list[License]:
    if not declared:
        return []
    parsed = parse(declared)
    if parsed.expression is not None and parsed.tree is not None:
        return [LicenseExpression(parsed.expression)]
    return [DisjunctiveLicense(name=declared)]


def _component(entry: _Entry) -> Component:
    properties = [Property(name=f"{PROPERTY_PREFIX}manifest", value=m) for m in entry.manifests]
    if entry.direct is not None:
        properties.append(
            Property(name=f"{PROPERTY_PREFIX}dependency",
                     value="direct" if entry.direct else "transitive")
        )
    if entry.dev:
        properties.append(Property(name=f"{PROPERTY_PREFIX}dev", value="true"))
    properties.append(Property(name=f"{PROPERTY_PREFIX}ecosystem", value=entry.ecosystem))
    return Component(
        type=ComponentType.LIBRARY,
        name=entry.name,
        version=entry.version,
        purl=PackageURL.from_string(entry.purl),
        bom_ref=entry.purl,
        scope=ComponentScope.OPTIONAL if entry.dev or entry.optional else ComponentScope.REQUIRED,
        licenses=_licenses(entry.license),
        properties=properties,
    )


def _reference_source(advisory_id: str) -> VulnerabilitySource:
    if advisory_id.startswith("CVE-"):
        return VulnerabilitySource(
            name="NVD", url=XsUri(f"https://nvd.nist.gov/vuln/detail/{advisory_id}")
        )
    if advisory_id.startswith("GHSA-"):
        return VulnerabilitySource(
            name="GitHub", url=XsUri(f"https://github.com/advisories/{advisory_id}")
        )
    return VulnerabilitySource(
        name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{advisory_id}")
    )


def _vulnerabilities(
    data: ReportData, refs: dict[tuple[str, str, str], str]
) -> list[Vulnerability]:
    grouped: dict[str, list[Decision]] = {}
    for decision in _vulnerable(data):
        dep = decision.finding.dependency
        assert dep is not None and dep.advisory is not None
        grouped.setdefault(dep.advisory, []).append(decision)
    vulnerabilities: list[Vulnerability] = []
    for advisory, decisions in sorted(grouped.items()):
        first = decisions[0].finding
        assert first.dependency is not None
        aliases = sorted({a for d in decisions for a in (d.finding.dependency.aliases
                                                         if d.finding.dependency else ())})
        targets: dict[str, set[str]] = {}
        for d in decisions:
            dep = d.finding.dependency
            assert dep is not None and dep.version is not None
            ref = refs[_key(dep.ecosystem, dep.package, dep.version)]
            targets.setdefault(ref, set()).add(dep.version)
        worst = max(decisions, key=lambda d: d.severity)
        fixes = sorted({_fix_text(d) for d in decisions} - {""})
        statuses = sorted({d.status.value for d in decisions})
        places = sorted({d.finding.location for d in decisions})
        vulnerabilities.append(
            Vulnerability(
                bom_ref=f"{PROPERTY_PREFIX}vulnerability:{advisory}",
                id=advisory,
                source=_reference_source(advisory),
                references=[VulnerabilityReference(id=a, source=_reference_source(a))
                            for a in aliases],
                ratings=[
                    VulnerabilityRating(
                        source=VulnerabilitySource(name="policy-gate"),
                        severity=_SEVERITY[worst.severity],
                        justification=(
                            f"severity as graded under the policy '{data.policy.name}'"
                        ),
                    )
                ],
                cwes=sorted({int(c.split("-", 1)[1]) for d in decisions for c in d.finding.cwe
                             if c.split("-", 1)[1].isdigit()}),
                description=first.title or first.message,
                detail=first.message,
                recommendation="; ".join(fixes) if fixes else "No fixed version is published.",
                analysis=VulnerabilityAnalysis(
                    detail=f"policy-gate decision: {', '.join(statuses)} "
                    f"(policy '{data.policy.name}'); found at {', '.join(places)}"
                ),
                affects=[
                    BomTarget(
                        ref=ref,
                        versions=[
                            BomTargetVersionRange(
                                version=v, status=ImpactAnalysisAffectedStatus.AFFECTED
                            )
                            for v in sorted(versions)
                        ],
                    )
                    for ref, versions in sorted(targets.items())
                ],
                properties=[Property(name=f"{PROPERTY_PREFIX}status", value=s)
                            for s in statuses],
            )
        )
    return vulnerabilities


def _fix_text(decision: Decision) -> str:
    dep = decision.finding.dependency
    if dep is None or not (dep.fixed_versions or dep.fix_version):
        return ""
    text = f"Upgrade {dep.package} {dep.version}"
    if dep.fixed_versions:
        text += f" to {' or '.join(dep.fixed_versions)} (fixes this advisory)"
    if dep.fix_version and dep.fix_version not in dep.fixed_versions:
        text += f"; {dep.fix_version} fixes every known advisory on it"
    return text


def build(data: ReportData) -> Bom:
    entries = inventory(data)
    components = {key: _component(entry) for key, entry in entries.items()}
    refs = {key: entry.purl for key, entry in entries.items()}
    started = dt.datetime.fromtimestamp(data.result.started, dt.UTC).replace(microsecond=0)
    subject = Component(
        type=ComponentType.APPLICATION,
        name=data.result.root.name or str(data.result.root),
        bom_ref=SUBJECT_REF,
        properties=[Property(name=f"{PROPERTY_PREFIX}policy", value=data.policy.name),
                    Property(name=f"{PROPERTY_PREFIX}policy-sha256", value=data.policy.sha256),
                    Property(name=f"{PROPERTY_PREFIX}verdict",
                             value=data.evaluation.verdict.value),
                    *([Property(name=f"{PROPERTY_PREFIX}advisories",
                                value=data.result.advisory_info.summary())]
                      if data.result.advisory_info is not None else [])],
    )
    metadata = BomMetaData(component=subject, timestamp=started)
    metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="policy-gate", version=__version__,
                  bom_ref=f"{PROPERTY_PREFIX}tool")
    )
    bom = Bom(metadata=metadata, components=components.values(),
              vulnerabilities=_vulnerabilities(data, refs))

    by_ref = {(e.ecosystem, f"{e.name}@{e.version}"): components[k] for k, e in entries.items()}
    children: dict[str, list[Component]] = {}
    roots: list[Component] = []
    for key, entry in entries.items():
        parents = [by_ref[(entry.ecosystem, p)] for p in sorted(entry.parents)
                   if (entry.ecosystem, p) in by_ref]
        if entry.direct is not False or not parents:
            roots.append(components[key])
        for parent in parents:
            children.setdefault(str(parent.bom_ref), []).append(components[key])
    bom.register_dependency(subject, roots)
    for component in components.values():
        bom.register_dependency(component, children.get(str(component.bom_ref), []))
    return bom


def _serialise(bom: Bom) -> str:
    return str(make_outputter(bom, OutputFormat.JSON, SCHEMA_VERSION).output_as_string(indent=2))


def render(data: ReportData) -> str:
    bom = build(data)
    bom.serial_number = uuid.UUID(int=0)
    digest = hashlib.sha256(_serialise(bom).encode("utf-8")).hexdigest()
    bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:policy-gate:sbom:{digest}")
    return _serialise(bom) + "\n"


__all__ = ["build", "inventory", "render"]
