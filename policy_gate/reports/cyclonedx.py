"""A CycloneDX 1.6 JSON SBOM of every dependency the gate audited (M10: "a Software Bill
of Materials ships with each release"), in the form of the CycloneDX Python library's
(``cyclonedx-python-lib``) model and serialiser.

* components: the union of every dependency scanner's inventory (``ScanOutput.inventory``),
  one per (ecosystem, name, version), with its purl (also its bom-ref), licence (an SPDX
  expression, or the declared name when it is not SPDX), scope (``optional`` for
  development-only and optional dependencies, else ``required``) and properties naming
  every manifest that pins it and whether it is a direct or transitive dependency;
* dependencies: the scanned root depends on the direct dependencies; every other package
  hangs off the package before it on its dependency path, when the lockfile says;
* vulnerabilities: one per advisory in the dependency findings, affecting every component
  it was found on, rated with the severity the policy gave it, with the fix version as the
  recommendation and the policy's decision as the analysis: its detail always, and, when
  waivers decided it on every component, the state, justification and response the
  OpenVEX export states too (``vex``: ``not_affected`` with the mapped justification, or
  ``exploitable`` with ``will_not_fix`` for an accepted risk). An advisory that any
  component has without a waiver has no state: nobody analysed it there, and a state
  covers every component the entry lists;
* metadata: policy-gate as the tool, the scan's start as the timestamp, the scanned root
  as the subject component.

The serial number is derived from the document's content, so the same scan renders the
same SBOM byte for byte.

How the JSON is written
-----------------------
:func:`build` returns the library's model (``cyclonedx.model.bom.Bom``), and serialising
that with the library's outputter is the reference for this format. :func:`render` does
not go through it: it writes the same JSON from plain dicts, because the library cannot
meet the gate's overhead budget (issue 7: everything that is not a scanner under 1 s for
10,000 findings, 0.12 s of it for this report). On the benchmark's 10,000 findings (364
components, 1,102 advisories) the library took 1.5 s, in its own code and with no option
to avoid it: importing it (~80 ms, most of the budget), building the model (~0.6 s:
every ``SortedSet`` re-sorts by comparing whole-object tuples, ``register_dependency``
scans every dependency so far) and serialising (~0.3 s per pass: ``py_serializable``
reflects over every property of every object, then the JSON is parsed and dumped again;
the content-derived serial number needs two passes). Writing the dicts takes under a
tenth of that.

The dicts are what the library would emit, key for key and in the same order: the
library sorts every collection by a tuple of its fields, which, with the facts here
(unique bom-refs, advisory ids and versions), reduces to the sort keys used below, and
it writes keys sorted, ``indent=2``, ASCII-escaped, ``$schema``, ``bomFormat`` and
``specVersion`` last; URLs get the ``XsUri`` escapes. The text is identical byte for
byte, serial number included. ``tests/test_cyclonedx.py`` holds the two to that on a
scanned fixture and on a crafted inventory that takes every branch and sort order
(against :func:`build` and the library's outputter), and validates what :func:`render`
writes with the library's JSON schema validator. Two components with the same purl
(packages of two ecosystems that both map to ``pkg:generic``), whose bom-refs the library
renames, are left to the library. An advisory id the library refuses in a URL (a stray
``%``, two ``#``), which stopped the report, is now written with those encoded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from packageurl import PackageURL

from policy_gate import __version__
from policy_gate.dependencies.spdx import parse
from policy_gate.findings import DEPENDENCY, Severity
from policy_gate.packages import Package
from policy_gate.policy.evaluate import Decision
from policy_gate.reports import vex
from policy_gate.reports.interface import ReportData

if TYPE_CHECKING:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component
    from cyclonedx.model.license import License
    from cyclonedx.model.vulnerability import (
        Vulnerability,
        VulnerabilityAnalysis,
        VulnerabilitySource,
    )

SPEC_VERSION = "1.6"
SCHEMA_URI = "http://cyclonedx.org/schema/bom-1.6.schema.json"
PROPERTY_PREFIX = "policy-gate:"
SUBJECT_REF = "policy-gate:scanned-root"
TOOL_REF = f"{PROPERTY_PREFIX}tool"

# CycloneDX's vulnerability severities (``VulnerabilitySeverity`` values).
_SEVERITY = {
    Severity.INFO: "info",
    Severity.LOW: "low",
    Severity.MEDIUM: "medium",
    Severity.HIGH: "high",
    Severity.CRITICAL: "critical",
}
# What the library's ``XsUri`` replaces to make a URL a valid xs:anyURI / iri-reference.
_URI_ESCAPES = (
    (" ", "%20"), ('"', "%22"), ("'", "%27"), ("[", "%5B"), ("]", "%5D"),
    ("<", "%3C"), (">", "%3E"), ("{", "%7B"), ("}", "%7D"),
)
_INVALID_URI = re.compile(r"%(?![0-9A-F]{2})|#.*#", re.IGNORECASE)  # as ``XsUri`` has it
_ZERO_SERIAL = uuid.UUID(int=0).urn

Key = tuple[str, str, str]  # (ecosystem, name, version)


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

    @property
    def scope(self) -> str:
        return "optional" if self.dev or self.optional else "required"

    def properties(self) -> list[tuple[str, str]]:
        """(name, value) pairs, in the order they are given to the library."""
        out = [(f"{PROPERTY_PREFIX}manifest", m) for m in self.manifests]
        if self.direct is not None:
            out.append((f"{PROPERTY_PREFIX}dependency",
                        "direct" if self.direct else "transitive"))
        if self.dev:
            out.append((f"{PROPERTY_PREFIX}dev", "true"))
        out.append((f"{PROPERTY_PREFIX}ecosystem", self.ecosystem))
        return out


def _key(ecosystem: str, name: str, version: str) -> Key:
    return (ecosystem, name, version)


def inventory(data: ReportData) -> dict[Key, _Entry]:
    """Every package any dependency scanner audited, merged by (ecosystem, name, version)."""
    return _inventory(data, _vulnerable(data))


def _inventory(data: ReportData, vulnerable: list[Decision]) -> dict[Key, _Entry]:
    entries: dict[Key, _Entry] = {}
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
    for decision in vulnerable:
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


def _license(declared: str | None, seen: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """("expression", SPDX expression) or ("name", the declared text); None without one."""
    if not declared:
        return None
    found = seen.get(declared)
    if found is None:
        parsed = parse(declared)
        if parsed.expression is not None and parsed.tree is not None:
            found = ("expression", parsed.expression)
        else:
            found = ("name", declared)
        seen[declared] = found
    return found


def _graph(entries: dict[Key, _Entry]) -> tuple[list[Key], dict[Key, list[Key]]]:
    """The scanned root's dependencies, and each package's children (by parent)."""
    by_ref = {(e.ecosystem, f"{e.name}@{e.version}"): k for k, e in entries.items()}
    children: dict[Key, list[Key]] = {}
    roots: list[Key] = []
    for key, entry in entries.items():
        parents = [by_ref[(entry.ecosystem, p)] for p in sorted(entry.parents)
                   if (entry.ecosystem, p) in by_ref]
        if entry.direct is not False or not parents:
            roots.append(key)
        for parent in parents:
            children.setdefault(parent, []).append(key)
    return roots, children


def _reference_source(advisory_id: str) -> tuple[str, str]:
    """(name, URL) of the database that publishes an advisory."""
    if advisory_id.startswith("CVE-"):
        return "NVD", f"https://nvd.nist.gov/vuln/detail/{advisory_id}"
    if advisory_id.startswith("GHSA-"):
        return "GitHub", f"https://github.com/advisories/{advisory_id}"
    return "OSV", f"https://osv.dev/vulnerability/{advisory_id}"


@dataclass(frozen=True)
class _Advisory:
    """One vulnerability entry, in neither representation yet."""

    id: str
    aliases: list[str]  # sorted
    severity: str  # CycloneDX severity
    cwes: list[int]  # sorted
    description: str
    detail: str
    recommendation: str
    analysis: str  # the detail
    affects: list[tuple[str, list[str]]]  # (bom-ref, versions), both sorted
    statuses: list[str]  # sorted
    justification: str  # of the rating: the policy graded it
    state: str | None = None  # the analysis: CycloneDX's state, justification, responses
    analysis_justification: str | None = None
    responses: tuple[str, ...] = ()

    @property
    def bom_ref(self) -> str:
        return f"{PROPERTY_PREFIX}vulnerability:{self.id}"

    def properties(self) -> list[tuple[str, str]]:
        """(name, value) pairs: the policy's decisions on it."""
        return [(f"{PROPERTY_PREFIX}status", s) for s in self.statuses]


def _advisories(
    data: ReportData, vulnerable: list[Decision], refs: dict[Key, str]
) -> Iterator[_Advisory]:
    """One per advisory, by id (yielded: the direct writer renders each and drops it)."""
    grouped: dict[str, list[Decision]] = {}
    for decision in vulnerable:
        dep = decision.finding.dependency
        assert dep is not None and dep.advisory is not None
        grouped.setdefault(dep.advisory, []).append(decision)
    policy = data.policy.name
    for advisory, decisions in sorted(grouped.items()):
        first = decisions[0].finding
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
        state, label, responses, said = _analysis(decisions)
        yield _Advisory(
            id=advisory,
            aliases=aliases,
            severity=_SEVERITY[worst.severity],
            cwes=sorted({int(c.split("-", 1)[1]) for d in decisions for c in d.finding.cwe
                         if c.split("-", 1)[1].isdigit()}),
            description=first.title or first.message,
            detail=first.message,
            recommendation="; ".join(fixes) if fixes else "No fixed version is published.",
            analysis=f"policy-gate decision: {', '.join(statuses)} (policy '{policy}'); "
            f"found at {', '.join(places)}" + "".join(f"; {text}" for text in said),
            affects=[(ref, sorted(versions)) for ref, versions in sorted(targets.items())],
            statuses=statuses,
            justification=f"severity as graded under the policy '{policy}'",
            state=state,
            analysis_justification=label,
            responses=responses,
        )


def _analysis(
    decisions: list[Decision],
) -> tuple[str | None, str | None, tuple[str, ...], list[str]]:
    """The analysis of one advisory: (state, justification, responses) and what each
    waiver says, in words. The least permissive decision wins, as one state covers every
    component: a decision without a waiver leaves the state out; an accepted risk makes it
    ``exploitable``; only when every waiver gives a reason it does not apply is it
    ``not_affected`` (with the justification when they all map to the same one)."""
    waivers = [d.waiver for d in decisions if d.waiver is not None]
    said = sorted({vex.not_affected(w) if w.justification else vex.accepted(w)
                   for w in waivers})
    if len(waivers) < len(decisions):
        return None, None, (), said
    stances = {vex.stance(w) for w in waivers}
    if any(s.cyclonedx_state != vex.NOT_AFFECTED for s in stances):
        return vex.EXPLOITABLE, None, (vex.WILL_NOT_FIX,), said
    labels = {s.cyclonedx_justification for s in stances}
    return vex.NOT_AFFECTED, labels.pop() if len(labels) == 1 else None, (), said


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


def _subject_properties(data: ReportData) -> list[tuple[str, str]]:
    info = data.result.advisory_info
    return [
        (f"{PROPERTY_PREFIX}policy", data.policy.name),
        (f"{PROPERTY_PREFIX}policy-sha256", data.policy.sha256),
        (f"{PROPERTY_PREFIX}verdict", data.evaluation.verdict.value),
        *([(f"{PROPERTY_PREFIX}advisories", info.summary())] if info is not None else []),
    ]


def _started(data: ReportData) -> dt.datetime:
    return dt.datetime.fromtimestamp(data.result.started, dt.UTC).replace(microsecond=0)


def _subject_name(data: ReportData) -> str:
    return data.result.root.name or str(data.result.root)


# ---------------------------------------------------------------- the library's model
def build(data: ReportData) -> Bom:
    """The SBOM as cyclonedx-python-lib's model: the reference :func:`render` matches."""
    from cyclonedx.model.bom import Bom

    vulnerable = _vulnerable(data)
    entries = _inventory(data, vulnerable)
    components = _library_components(entries)
    refs = {key: entry.purl for key, entry in entries.items()}
    metadata, subject = _library_metadata(data)
    vulnerabilities = [_library_vulnerability(a) for a in _advisories(data, vulnerable, refs)]
    bom = Bom(metadata=metadata, components=components.values(),
              vulnerabilities=vulnerabilities)
    roots, children = _graph(entries)
    bom.register_dependency(subject, [components[k] for k in roots])
    for key, component in components.items():
        bom.register_dependency(component, [components[k] for k in children.get(key, [])])
    return bom


def _library_properties(pairs: Iterable[tuple[str, str]]) -> list[Property]:
    from cyclonedx.model import Property

    return [Property(name=n, value=v) for n, v in pairs]


def _library_licenses(declared: str | None, seen: dict[str, tuple[str, str]]) -> list[License]:
    """The component's licence: an SPDX expression, else the declared name."""
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression

    found = _license(declared, seen)
    if found is None:
        return []
    kind, value = found
    if kind == "expression":
        return [LicenseExpression(value)]
    return [DisjunctiveLicense(name=value)]


def _library_components(entries: dict[Key, _Entry]) -> dict[Key, Component]:
    """A library component per package, its purl its bom-ref."""
    from cyclonedx.model.component import Component, ComponentScope, ComponentType

    licences: dict[str, tuple[str, str]] = {}
    return {
        key: Component(
            type=ComponentType.LIBRARY,
            name=entry.name,
            version=entry.version,
            purl=PackageURL.from_string(entry.purl),
            bom_ref=entry.purl,
            scope=ComponentScope(entry.scope),
            licenses=_library_licenses(entry.license, licences),
            properties=_library_properties(entry.properties()),
        )
        for key, entry in entries.items()
    }


def _library_metadata(data: ReportData) -> tuple[BomMetaData, Component]:
    """The metadata (the scan's start, policy-gate as the tool) and its subject, the
    scanned root, which the dependency graph starts from."""
    from cyclonedx.model.bom import BomMetaData
    from cyclonedx.model.component import Component, ComponentType

    subject = Component(
        type=ComponentType.APPLICATION,
        name=_subject_name(data),
        bom_ref=SUBJECT_REF,
        properties=_library_properties(_subject_properties(data)),
    )
    metadata = BomMetaData(component=subject, timestamp=_started(data))
    metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="policy-gate", version=__version__,
                  bom_ref=TOOL_REF)
    )
    return metadata, subject


def _library_source(advisory_id: str) -> VulnerabilitySource:
    from cyclonedx.model import XsUri
    from cyclonedx.model.vulnerability import VulnerabilitySource

    name, url = _reference_source(advisory_id)
    return VulnerabilitySource(name=name, url=XsUri(url))


def _library_vulnerability(a: _Advisory) -> Vulnerability:
    """One advisory, rated as the policy graded it, affecting the components it was found
    on."""
    from cyclonedx.model.impact_analysis import ImpactAnalysisAffectedStatus
    from cyclonedx.model.vulnerability import (
        BomTarget,
        BomTargetVersionRange,
        Vulnerability,
        VulnerabilityRating,
        VulnerabilityReference,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )

    affected = ImpactAnalysisAffectedStatus.AFFECTED
    return Vulnerability(
        bom_ref=a.bom_ref,
        id=a.id,
        source=_library_source(a.id),
        references=[VulnerabilityReference(id=x, source=_library_source(x)) for x in a.aliases],
        ratings=[
            VulnerabilityRating(
                source=VulnerabilitySource(name="policy-gate"),
                severity=VulnerabilitySeverity(a.severity),
                justification=a.justification,
            )
        ],
        cwes=a.cwes,
        description=a.description,
        detail=a.detail,
        recommendation=a.recommendation,
        analysis=_library_analysis(a),
        affects=[
            BomTarget(
                ref=ref,
                versions=[BomTargetVersionRange(version=v, status=affected) for v in versions],
            )
            for ref, versions in a.affects
        ],
        properties=_library_properties(a.properties()),
    )


def _library_analysis(a: _Advisory) -> VulnerabilityAnalysis:
    from cyclonedx.model.impact_analysis import (
        ImpactAnalysisJustification,
        ImpactAnalysisResponse,
        ImpactAnalysisState,
    )
    from cyclonedx.model.vulnerability import VulnerabilityAnalysis

    return VulnerabilityAnalysis(
        state=None if a.state is None else ImpactAnalysisState(a.state),
        justification=(None if a.analysis_justification is None
                       else ImpactAnalysisJustification(a.analysis_justification)),
        responses=[ImpactAnalysisResponse(r) for r in a.responses],
        detail=a.analysis,
    )


def _serialise(bom: Bom) -> str:
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    outputter = make_outputter(bom, OutputFormat.JSON, SchemaVersion.from_version(SPEC_VERSION))
    return str(outputter.output_as_string(indent=2))


def _render_with_library(data: ReportData) -> str:
    bom = build(data)
    bom.serial_number = uuid.UUID(int=0)
    bom.serial_number = _serial(_serialise(bom))
    return _serialise(bom) + "\n"


def _serial(text: str) -> uuid.UUID:
    """The serial number of a document serialised with the all-zero one."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:policy-gate:sbom:{digest}")


# ---------------------------------------------------------------- the JSON, directly
def _uri(url: str) -> str:
    """The URL as the library's ``XsUri`` writes it. One it refuses (a stray ``%``, two
    ``#``), which would have stopped the report, has those characters encoded."""
    if _INVALID_URI.search(url):
        url = url.replace("%", "%25").replace("#", "%23")
    for old, new in _URI_ESCAPES:
        if old in url:
            url = url.replace(old, new)
    return url


def _source_dict(advisory_id: str) -> dict[str, str]:
    name, url = _reference_source(advisory_id)
    return {"name": name, "url": _uri(url)}


def _property_dicts(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in sorted(set(pairs))]


def document(data: ReportData, serial: str = _ZERO_SERIAL) -> dict[str, Any]:
    """The SBOM as the JSON object the library's outputter writes for :func:`build`."""
    vulnerable = _vulnerable(data)
    entries = _inventory(data, vulnerable)
    return _document(data, entries, vulnerable, serial, lambda item: item)


_LISTS = ("components", "dependencies", "vulnerabilities")  # the document's long lists
_ITEM = "\n    "  # the line their items start on


def _rendered(item: dict[str, Any]) -> str:
    return _json(item, _ITEM)


def _document(
    data: ReportData,
    entries: dict[Key, _Entry],
    vulnerable: list[Decision],
    serial: str,
    item: Callable[[dict[str, Any]], Any],
) -> dict[str, Any]:
    """The document; ``item`` is given each component, dependency and vulnerability as it
    is made (``render`` writes them out then, so thousands of dicts never live at once).
    Keys in the library's order: sorted, then ``$schema``, ``bomFormat``, ``specVersion``."""
    doc: dict[str, Any] = {}
    components = _component_items(entries, item)
    if components:
        doc["components"] = components
    doc["dependencies"] = _dependency_items(entries, item)
    doc["metadata"] = _metadata_dict(data)
    doc["serialNumber"] = serial
    doc["version"] = 1
    refs = {k: e.purl for k, e in entries.items()}
    vulnerabilities = [item(_vulnerability_dict(a)) for a in _advisories(data, vulnerable, refs)]
    if vulnerabilities:
        doc["vulnerabilities"] = vulnerabilities
    doc["$schema"] = SCHEMA_URI
    doc["bomFormat"] = "CycloneDX"
    doc["specVersion"] = SPEC_VERSION
    return doc


def _component_items(
    entries: dict[Key, _Entry], item: Callable[[dict[str, Any]], Any]
) -> list[Any]:
    """The packages, in the library's order: (type, group, name, version, bom-ref, ...);
    each is a library without a group, and bom-refs are unique."""
    licences: dict[str, tuple[str, str]] = {}
    components = [
        ((entry.name, entry.version, entry.purl), item(_component_dict(entry, licences)))
        for entry in entries.values()
    ]
    components.sort(key=lambda c: c[0])
    return [c for _, c in components]


def _component_dict(entry: _Entry, licences: dict[str, tuple[str, str]]) -> dict[str, Any]:
    component: dict[str, Any] = {"bom-ref": entry.purl}
    found = _license(entry.license, licences)
    if found is not None:
        kind, value = found
        component["licenses"] = [
            {"expression": value} if kind == "expression" else {"license": {"name": value}}
        ]
    component["name"] = entry.name
    component["properties"] = _property_dicts(entry.properties())
    component["purl"] = PackageURL.from_string(entry.purl).to_string()
    component["scope"] = entry.scope
    component["type"] = "library"
    component["version"] = entry.version
    return component


def _dependency_items(
    entries: dict[Key, _Entry], item: Callable[[dict[str, Any]], Any]
) -> list[Any]:
    """What the scanned root and each package depend on, by bom-ref."""
    roots, children = _graph(entries)
    depends: dict[str, set[str]] = {SUBJECT_REF: {entries[k].purl for k in roots}}
    for key, entry in entries.items():
        depends[entry.purl] = {entries[k].purl for k in children.get(key, ())}
    return [
        item({"dependsOn": sorted(refs), "ref": ref} if refs else {"ref": ref})
        for ref, refs in sorted(depends.items())
    ]


def _metadata_dict(data: ReportData) -> dict[str, Any]:
    return {
        "component": {
            "bom-ref": SUBJECT_REF,
            "name": _subject_name(data),
            "properties": _property_dicts(_subject_properties(data)),
            "type": "application",
        },
        "timestamp": _started(data).isoformat(),
        "tools": {"components": [{"bom-ref": TOOL_REF, "name": "policy-gate",
                                  "type": "application", "version": __version__}]},
    }


def _vulnerability_dict(a: _Advisory) -> dict[str, Any]:
    vulnerability: dict[str, Any] = {
        "affects": [
            {"ref": ref, "versions": [{"status": "affected", "version": v}
                                      for v in versions]}
            for ref, versions in a.affects
        ],
        "analysis": _analysis_dict(a),
        "bom-ref": a.bom_ref,
    }
    if a.cwes:
        vulnerability["cwes"] = a.cwes
    vulnerability["description"] = a.description
    vulnerability["detail"] = a.detail
    vulnerability["id"] = a.id
    vulnerability["properties"] = _property_dicts(a.properties())
    vulnerability["ratings"] = [{
        "justification": a.justification,
        "severity": a.severity,
        "source": {"name": "policy-gate"},
    }]
    vulnerability["recommendation"] = a.recommendation
    if a.aliases:
        vulnerability["references"] = [{"id": x, "source": _source_dict(x)} for x in a.aliases]
    vulnerability["source"] = _source_dict(a.id)
    return vulnerability


def _analysis_dict(a: _Advisory) -> dict[str, Any]:
    """The analysis as the library writes it: keys sorted."""
    analysis: dict[str, Any] = {"detail": a.analysis}
    if a.analysis_justification is not None:
        analysis["justification"] = a.analysis_justification
    if a.responses:
        analysis["response"] = list(a.responses)
    if a.state is not None:
        analysis["state"] = a.state
    return analysis


def _json(value: Any, newline: str = "\n") -> str:
    """``json.dumps(value, indent=2)`` (what the library writes), two to three times faster:
    the standard library's C encoder does not indent, its Python one makes a generator per
    container. Keys are strings; containers start on the line ``newline`` ends."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = newline + "  "
        return "{" + inner + ("," + inner).join([
            f"{encode_basestring_ascii(k)}: "
            + (encode_basestring_ascii(v) if type(v) is str else _json(v, inner))
            for k, v in value.items()
        ]) + newline + "}"
    if kind is list:
        if not value:
            return "[]"
        inner = newline + "  "
        return "[" + inner + ("," + inner).join([
            encode_basestring_ascii(v) if type(v) is str else _json(v, inner) for v in value
        ]) + newline + "]"
    return json.dumps(value)  # numbers, booleans, null


def render(data: ReportData) -> str:
    """``--format cyclonedx``: the SBOM as the library would write it (see above)."""
    vulnerable = _vulnerable(data)
    entries = _inventory(data, vulnerable)
    if len({e.purl for e in entries.values()}) < len(entries):
        return _render_with_library(data)  # it makes clashing bom-refs unique
    # The long lists' items are written as they are made: the document holds their text.
    doc = _document(data, entries, vulnerable, _ZERO_SERIAL, _rendered)
    text = "{\n  " + ",\n  ".join([
        f"{encode_basestring_ascii(key)}: "
        + ("[" + _ITEM + ("," + _ITEM).join(value) + "\n  ]" if key in _LISTS and value
           else _json(value, "\n  "))
        for key, value in doc.items()
    ]) + "\n}"
    # The serial is the hash of the text with the zero serial, which is written once, on
    # the top level's own line (a newline inside a string is escaped).
    line = f'\n  "serialNumber": "{_ZERO_SERIAL}",\n'
    assert text.count(line) == 1
    serial = _serial(text).urn
    return text.replace(line, f'\n  "serialNumber": "{serial}",\n', 1) + "\n"


__all__ = ["build", "document", "inventory", "render"]
