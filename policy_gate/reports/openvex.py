"""OpenVEX v0.2.0 export of the waivers applied to dependency findings.

Mojaloop scans container images with grype, which keeps its own ignore list (M4); without
an export, an advisory decided here would be decided again there, by someone else, with
another reason and another end date. An OpenVEX document lets trivy, grype and other
VEX-aware tools read the same decision.

* one statement per (advisory, waiver): the vulnerability is named by the finding's
  primary advisory id with every other id as an alias (M5), and the products are the purls
  (package@version) of every dependency finding that waiver covers (or, when the caller
  names the image they ship in, that image with the packages as its subcomponents);
* what the statement says is the waiver's decision (``vex.stance``): a waiver with a
  technical ``justification`` is ``not_affected`` with that justification and its reason
  as the impact statement (the spec recommends both); a waiver without one is a risk
  accepted for a time, ``affected`` with an action statement naming the owner, the reason
  and the expiry (and ``action_statement_timestamp``, the waiver's ``created`` day, when
  it has one). Scanners suppress ``not_affected`` for good, so only a technical reason
  earns it;
* findings that are not dependency advisories, and unpinned dependencies (no version, so
  no purl that would not also cover fixed versions), are left out.

``build`` is pure: the caller passes only the waivers it applied (not expired, within the
policy's lifetime caps), the author and the timestamp; the same input gives the same
document, and the document ``@id`` is a hash of its content unless one is given. With
nothing to state there is no document (the schema asks for at least one statement):
``build`` returns None and ``render`` an empty text, which the command line writes as no
file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packageurl import PackageURL

from policy_gate import __version__
from policy_gate.findings import DEPENDENCY, DependencyInfo, Finding
from policy_gate.policy.waivers import Waiver
from policy_gate.reports import vex

if TYPE_CHECKING:
    from policy_gate.reports.interface import ReportData

CONTEXT = "https://openvex.dev/ns/v0.2.0"
# The namespace OpenVEX's own tools (vexctl, go-vex) use for content-addressed documents.
ID_PREFIX = "https://openvex.dev/docs/public/vex-"
JUSTIFICATIONS = tuple(vex.JUSTIFICATIONS)
# Said on the terminal when the run has nothing to state (and so writes no document).
NOTHING_TO_STATE = (
    "nothing to state (no waiver this run applied covers an advisory on a pinned "
    "dependency, and an OpenVEX document needs at least one statement)"
)

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)


@dataclass
class _Statement:
    aliases: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)  # purls


def purl(dep: DependencyInfo) -> str | None:
    """The package URL of a pinned npm or PyPI dependency; None when there is none to give.

    Built with packageurl-python so that names and versions are encoded and normalised
    exactly as the purl specification says (PyPI names lowercased with '-' for '_', npm
    scopes as an encoded namespace), the same way scanners that read the document do.
    """
    if not dep.version:
        return None
    if dep.ecosystem == "PyPI":
        return PackageURL(type="pypi", name=dep.package, version=dep.version).to_string()
    if dep.ecosystem == "npm":
        namespace, _, name = dep.package.rpartition("/")
        return PackageURL(
            type="npm", namespace=namespace or None, name=name, version=dep.version
        ).to_string()
    return None


def build(
    waived: Sequence[tuple[Finding, Waiver]],
    *,
    author: str,
    timestamp: str,
    document_id: str | None = None,
    product: str | None = None,
) -> dict[str, Any] | None:
    """Build the OpenVEX document for the (finding, waiver) pairs the gate applied.

    ``timestamp`` is RFC 3339 with an offset (the scan's start); ``author`` is whoever
    answers for the document (an e-mail address or team). With nothing to state, None:
    OpenVEX's schema requires at least one statement, and a document that states nothing
    would only tell a consumer that nothing was decided, which no file says as well.

    By default the vulnerable packages are the products, which trivy matches directly.
    grype matches products against what it scans (an image), so for grype pass that
    image's purl (``pkg:oci/central-ledger@sha256:...``) as ``product``: each statement
    then names it, with the packages as its subcomponents.
    """
    if not author.strip():
        raise ValueError("an OpenVEX document needs an author")
    _check_timestamp(timestamp)
    groups: dict[tuple[str, Waiver], _Statement] = {}
    for finding, waiver in waived:
        found = _advisory_product(finding)
        if found is None:
            continue
        advisory, dep, package = found
        group = groups.setdefault((advisory, waiver), _Statement())
        group.aliases.update(a for a in dep.aliases if a and a != advisory)
        group.packages.add(package)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1].file, kv[0][1].index))
    statements = [
        _statement(advisory, waiver, group, product) for (advisory, waiver), group in ordered
    ]
    if not statements:
        return None
    body: dict[str, Any] = {
        "@context": CONTEXT,
        "author": author,
        "timestamp": timestamp,
        "version": 1,
        "tooling": f"policy-gate {__version__}",
        "statements": statements,
    }
    if document_id is None:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        document_id = ID_PREFIX + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return {"@context": CONTEXT, "@id": document_id, **body}


def _advisory_product(finding: Finding) -> tuple[str, DependencyInfo, str] | None:
    """The advisory, the dependency and its purl, when the finding is an advisory on a
    pinned package."""
    dep = finding.dependency
    if finding.category != DEPENDENCY or dep is None or not dep.advisory:
        return None
    package = purl(dep)
    return None if package is None else (dep.advisory, dep, package)


def _statement(
    advisory: str, waiver: Waiver, group: _Statement, product: str | None
) -> dict[str, Any]:
    vulnerability: dict[str, Any] = {"name": advisory}
    if group.aliases:
        vulnerability["aliases"] = sorted(group.aliases)
    packages = [{"@id": p} for p in sorted(group.packages)]
    decision = vex.stance(waiver)
    statement: dict[str, Any] = {
        "vulnerability": vulnerability,
        "products": [{"@id": product, "subcomponents": packages}] if product else packages,
        "status": decision.openvex_status,
    }
    if decision.openvex_justification is not None:
        statement["justification"] = decision.openvex_justification
        statement["impact_statement"] = waiver.reason
    else:
        statement["action_statement"] = vex.accepted(waiver)
        issued = vex.issued(waiver)
        if issued is not None:
            statement["action_statement_timestamp"] = issued
    statement["status_notes"] = f"Recorded as policy-gate {waiver.describe()}"
    return statement


def _check_timestamp(timestamp: str) -> None:
    if not _RFC3339.fullmatch(timestamp):
        raise ValueError(
            f"timestamp {timestamp!r} is not RFC 3339 with an offset (2026-11-20T10:00:00Z)"
        )
    try:
        dt.datetime.fromisoformat(timestamp)
    except ValueError:
        raise ValueError(f"timestamp {timestamp!r} is not a real time") from None


def render(data: ReportData) -> str:
    """``--format openvex``: the waivers this run applied, as the CLI writes every format;
    empty (no file) when there is nothing to state.

    The author is the waivers' owners, who made the decisions the statements carry (the
    gate only records them).
    """
    waived = [(d.finding, d.waiver) for d in data.evaluation.decisions if d.waiver is not None]
    owners = sorted({w.owner for f, w in waived if _advisory_product(f) is not None})
    doc = build(
        waived,
        author=", ".join(owners) if owners else "policy-gate",
        timestamp=data.generated_at,
    )
    return "" if doc is None else json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def has_statements(data: ReportData) -> bool:
    """Whether ``render`` writes a document: some waiver this run applied covers an
    advisory on a pinned dependency."""
    return any(
        d.waiver is not None and _advisory_product(d.finding) is not None
        for d in data.evaluation.decisions
    )
