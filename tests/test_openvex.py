"""OpenVEX export of dependency waivers: a valid v0.2.0 document, one statement per
(advisory, waiver), purls for products, the right status fields, a content-derived id."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from types import SimpleNamespace
from typing import Any

import pytest
from packageurl import PackageURL

from policy_gate.findings import (
    DEPENDENCY,
    LICENSE,
    SAST,
    Confidence,
    DependencyInfo,
    Finding,
    Severity,
    Source,
)
from policy_gate.policy.waivers import Waiver, load_waivers, schema
from policy_gate.reports.openvex import CONTEXT, ID_PREFIX, JUSTIFICATIONS, build, purl, render

TS = "2026-11-20T10:00:00Z"
AUTHOR = "security@example.org"

# What OpenVEX v0.2.0 (OPENVEX-SPEC.md and openvex_json_schema.json in openvex/spec)
# requires and allows. The schema is not vendored: its licence could not be confirmed, so
# its rules are restated here by hand.
DOC_REQUIRED = {"@context", "@id", "author", "timestamp", "version", "statements"}
DOC_ALLOWED = DOC_REQUIRED | {"role", "last_updated", "tooling"}
STATEMENT_REQUIRED = {"vulnerability", "status"}
STATEMENT_ALLOWED = STATEMENT_REQUIRED | {
    "@id",
    "version",
    "timestamp",
    "last_updated",
    "products",
    "supplier",
    "status_notes",
    "justification",
    "impact_statement",
    "action_statement",
    "action_statement_timestamp",
}
STATUSES = {"not_affected", "affected", "fixed", "under_investigation"}
SPEC_JUSTIFICATIONS = {
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
}
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def assert_valid_openvex(doc: dict[str, Any]) -> None:
    assert DOC_REQUIRED <= doc.keys() <= DOC_ALLOWED
    assert doc["@context"] == "https://openvex.dev/ns/v0.2.0"
    assert isinstance(doc["@id"], str) and re.match(r"^[a-z][a-z0-9+.-]*:", doc["@id"])
    assert isinstance(doc["author"], str) and doc["author"]
    assert RFC3339.fullmatch(doc["timestamp"])
    assert isinstance(doc["version"], int) and doc["version"] >= 1
    statements = doc["statements"]
    assert isinstance(statements, list)
    seen = [json.dumps(s, sort_keys=True) for s in statements]
    assert len(seen) == len(set(seen)), "statements must be unique"
    for st in statements:
        assert STATEMENT_REQUIRED <= st.keys() <= STATEMENT_ALLOWED
        vuln = st["vulnerability"]
        assert set(vuln) <= {"@id", "name", "description", "aliases"}
        assert isinstance(vuln["name"], str) and vuln["name"]
        aliases = vuln.get("aliases", [])
        assert len(aliases) == len(set(aliases)) and all(isinstance(a, str) for a in aliases)
        assert st["status"] in STATUSES
        products = st["products"]
        assert products, "a statement must name a product"
        assert len({p["@id"] for p in products}) == len(products)
        for product in products:
            assert set(product) <= {"@id", "identifiers", "hashes", "subcomponents"}
            PackageURL.from_string(product["@id"])  # a purl, hence an IRI
            subs = product.get("subcomponents", [])
            assert len({c["@id"] for c in subs}) == len(subs)
            for sub in subs:
                assert set(sub) <= {"@id", "identifiers", "hashes"}
                PackageURL.from_string(sub["@id"])
        if st["status"] == "not_affected":
            # the schema: exactly one of the two
            assert ("justification" in st) != ("impact_statement" in st)
        if "justification" in st:
            assert st["justification"] in SPEC_JUSTIFICATIONS
        if st["status"] == "affected":
            assert "action_statement" in st
    json.dumps(doc)  # plain JSON


def dep(
    package: str = "lodash",
    version: str | None = "4.17.20",
    advisory: str | None = "GHSA-aaaa-bbbb-cccc",
    aliases: tuple[str, ...] = ("CVE-2026-1234",),
    ecosystem: str = "npm",
    category: str = DEPENDENCY,
) -> Finding:
    return Finding(
        category=category,
        sources=(Source("osv", "vulnerable-dependency", Severity.HIGH, Confidence.HIGH, "m"),),
        path="package-lock.json",
        start_line=1,
        end_line=1,
        message="m",
        flaw_key=advisory or "x",
        fingerprint="0123456789abcdef0123456789abcdef",
        dependency=DependencyInfo(
            ecosystem=ecosystem,
            package=package,
            version=version,
            advisory=advisory,
            aliases=aliases,
        ),
    )


def waiver(index: int = 1, justification: str | None = None, **changes: Any) -> Waiver:
    base = Waiver(
        index=index,
        file=".policy-gate/waivers.yaml",
        line=3 + 6 * (index - 1),
        id=None,
        fingerprint=None,
        rule=None,
        paths=(),
        advisory="CVE-2026-1234",
        package=None,
        reason="only the build uses the vulnerable function",
        owner="alice@example.org",
        expires=dt.date(2026, 12, 31),
        created=None,
        justification=justification,
    )
    return dataclasses.replace(base, **changes)


def test_document_has_every_required_field() -> None:
    doc = build([(dep(), waiver())], author=AUTHOR, timestamp=TS)
    assert_valid_openvex(doc)
    assert doc["@context"] == CONTEXT
    assert doc["author"] == AUTHOR
    assert doc["timestamp"] == TS
    assert doc["version"] == 1
    assert doc["tooling"].startswith("policy-gate ")
    assert list(doc)[:2] == ["@context", "@id"]


def test_one_statement_per_advisory_and_waiver_with_every_product() -> None:
    w = waiver()
    doc = build(
        [
            (dep("lodash", "4.17.20"), w),
            (dep("lodash", "4.17.11", aliases=("CVE-2026-1234", "GHSA-zzzz-yyyy-xxxx")), w),
            (dep("lodash", "4.17.20"), w),  # the same finding twice: one product
            (dep("@babel/core", "7.1.0"), w),
        ],
        author=AUTHOR,
        timestamp=TS,
    )
    assert_valid_openvex(doc)
    (st,) = doc["statements"]
    assert st["vulnerability"] == {
        "name": "GHSA-aaaa-bbbb-cccc",
        "aliases": ["CVE-2026-1234", "GHSA-zzzz-yyyy-xxxx"],
    }
    assert st["products"] == [
        {"@id": "pkg:npm/%40babel/core@7.1.0"},
        {"@id": "pkg:npm/lodash@4.17.11"},
        {"@id": "pkg:npm/lodash@4.17.20"},
    ]


def test_two_waivers_or_two_advisories_make_two_statements() -> None:
    a, b = waiver(1, package="lodash"), waiver(2, package="minimist")
    doc = build(
        [
            (dep("lodash"), a),
            (dep("minimist", "1.2.5"), b),
            (dep("lodash", advisory="GHSA-bbbb-cccc-dddd", aliases=()), a),
        ],
        author=AUTHOR,
        timestamp=TS,
    )
    assert_valid_openvex(doc)
    summary = [
        (s["vulnerability"]["name"], [p["@id"] for p in s["products"]]) for s in doc["statements"]
    ]
    assert summary == [
        ("GHSA-aaaa-bbbb-cccc", ["pkg:npm/lodash@4.17.20"]),
        ("GHSA-aaaa-bbbb-cccc", ["pkg:npm/minimist@1.2.5"]),
        ("GHSA-bbbb-cccc-dddd", ["pkg:npm/lodash@4.17.20"]),
    ]
    notes = [s["status_notes"] for s in doc["statements"]]
    assert notes == [
        f"Recorded as policy-gate {a.describe()}",
        f"Recorded as policy-gate {b.describe()}",
        f"Recorded as policy-gate {a.describe()}",
    ]
    assert "aliases" not in doc["statements"][2]["vulnerability"]


@pytest.mark.parametrize("justification", sorted(SPEC_JUSTIFICATIONS))
def test_a_justification_is_exported_as_is(justification: str) -> None:
    doc = build([(dep(), waiver(justification=justification))], author=AUTHOR, timestamp=TS)
    assert_valid_openvex(doc)
    (st,) = doc["statements"]
    assert st["status"] == "not_affected"
    assert st["justification"] == justification
    assert "impact_statement" not in st
    # who accepted it, until when and why still travel with the statement
    assert "alice@example.org" in st["status_notes"]
    assert "2026-12-31" in st["status_notes"]
    assert "only the build uses the vulnerable function" in st["status_notes"]


def test_without_a_justification_the_acceptance_is_the_impact_statement() -> None:
    w = waiver(id="WVR-7")
    doc = build([(dep(), w)], author=AUTHOR, timestamp=TS)
    assert_valid_openvex(doc)
    (st,) = doc["statements"]
    assert st["status"] == "not_affected"
    assert "justification" not in st
    assert st["impact_statement"] == (
        "Risk accepted by alice@example.org until 2026-12-31: "
        "only the build uses the vulnerable function"
    )
    assert st["status_notes"] == f"Recorded as policy-gate {w.describe()}"
    assert "WVR-7" in st["status_notes"]


def test_justifications_agree_with_the_spec_and_the_waiver_schema() -> None:
    assert set(JUSTIFICATIONS) == SPEC_JUSTIFICATIONS
    waiver_enum = schema()["$defs"]["waiver"]["properties"]["justification"]["enum"]
    assert set(waiver_enum) == SPEC_JUSTIFICATIONS


@pytest.mark.parametrize(
    ("ecosystem", "package", "version", "expected"),
    [
        ("npm", "lodash", "4.17.20", "pkg:npm/lodash@4.17.20"),
        ("npm", "@types/node", "20.1.0", "pkg:npm/%40types/node@20.1.0"),
        ("npm", "semver", "7.0.0-beta.1", "pkg:npm/semver@7.0.0-beta.1"),
        ("PyPI", "django-rest-framework", "3.14.0", "pkg:pypi/django-rest-framework@3.14.0"),
        ("PyPI", "Django_Foo", "1.0", "pkg:pypi/django-foo@1.0"),  # purl normalises PyPI
        ("PyPI", "torch", "2.1.0+cpu", "pkg:pypi/torch@2.1.0%2Bcpu"),  # '+' is encoded
        ("PyPI", "requests", None, None),  # unpinned: no version to vouch for
        ("Go", "golang.org/x/net", "0.1.0", None),  # not an ecosystem the gate audits
    ],
)
def test_purls(ecosystem: str, package: str, version: str | None, expected: str | None) -> None:
    info = DependencyInfo(ecosystem=ecosystem, package=package, version=version)
    assert purl(info) == expected
    if expected:
        parsed = PackageURL.from_string(expected)
        assert parsed.version == version
        assert parsed.type == ecosystem.lower()


def test_findings_without_a_pinned_dependency_advisory_are_left_out() -> None:
    w = waiver()
    code = dataclasses.replace(dep(), category=SAST, dependency=None)
    licence = dep(category=LICENSE, advisory=None, aliases=())
    unpinned = dep("minimist", version=None)
    other = dep("golang.org/x/net", ecosystem="Go")
    doc = build([(code, w), (licence, w), (unpinned, w), (other, w)], author=AUTHOR, timestamp=TS)
    assert doc["statements"] == []
    assert doc.keys() >= DOC_REQUIRED  # still a document a pipeline can pass on


def test_id_is_derived_from_the_content() -> None:
    pairs = [(dep("lodash"), waiver(1)), (dep("minimist", "1.2.5"), waiver(2))]
    first = build(pairs, author=AUTHOR, timestamp=TS)
    again = build(list(reversed(pairs)), author=AUTHOR, timestamp=TS)
    assert first == again
    assert json.dumps(first) == json.dumps(again)  # same bytes, same key order
    assert re.fullmatch(re.escape(ID_PREFIX) + "[0-9a-f]{64}", first["@id"])
    other_reason = build(
        [(dep("lodash"), waiver(1, reason="a different reason entirely"))],
        author=AUTHOR,
        timestamp=TS,
    )
    later = build(pairs, author=AUTHOR, timestamp="2026-11-21T10:00:00Z")
    assert len({first["@id"], other_reason["@id"], later["@id"]}) == 3


def test_a_given_id_is_used() -> None:
    doc = build([(dep(), waiver())], author=AUTHOR, timestamp=TS, document_id="urn:uuid:1")
    assert doc["@id"] == "urn:uuid:1"


@pytest.mark.parametrize(
    "timestamp",
    ["2026-11-20", "2026-11-20T10:00:00", "2026-11-20 10:00:00Z", "2026-13-01T00:00:00Z"],
)
def test_timestamp_must_be_rfc3339_with_an_offset(timestamp: str) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        build([], author=AUTHOR, timestamp=timestamp)


def test_timestamp_with_fraction_and_offset_is_accepted() -> None:
    doc = build([], author=AUTHOR, timestamp="2026-11-20T10:00:00.123456+02:00")
    assert doc["timestamp"] == "2026-11-20T10:00:00.123456+02:00"


def test_author_is_required() -> None:
    with pytest.raises(ValueError, match="author"):
        build([], author="  ", timestamp=TS)


def test_from_a_loaded_waivers_file() -> None:
    text = """\
version: 1
waivers:
  - advisory: cve-2026-1234
    package: lodash
    justification: vulnerable_code_not_in_execute_path
    reason: the vulnerable template helper is never called
    owner: platform-team
    expires: 2026-12-31
"""
    ws = load_waivers(text, ".policy-gate/waivers.yaml")
    findings = [dep("lodash"), dep("lodash", "3.10.1"), dep("underscore", "1.0.0")]
    pairs = [(f, w) for f in findings for w in ws.matching(f)]
    assert len(pairs) == 2  # the package restriction leaves underscore out
    doc = build(pairs, author=AUTHOR, timestamp=TS)
    assert_valid_openvex(doc)
    (st,) = doc["statements"]
    # named as the finding names it, the waiver's spelling aside
    assert st["vulnerability"]["name"] == "GHSA-aaaa-bbbb-cccc"
    assert st["vulnerability"]["aliases"] == ["CVE-2026-1234"]
    assert [p["@id"] for p in st["products"]] == ["pkg:npm/lodash@3.10.1", "pkg:npm/lodash@4.17.20"]
    assert st["justification"] == "vulnerable_code_not_in_execute_path"
    assert ".policy-gate/waivers.yaml:3" in st["status_notes"]


def test_render_exports_the_waivers_the_evaluation_applied() -> None:
    # ReportData stand-in: render reads only the decisions and the scan's start time
    applied = waiver(1, owner="platform-team")
    decisions = [
        SimpleNamespace(finding=dep("lodash"), waiver=applied),
        SimpleNamespace(finding=dep("minimist", "1.2.5"), waiver=None),  # not waived
        SimpleNamespace(finding=dep(category=SAST), waiver=waiver(2, owner="someone-else")),
    ]
    data = SimpleNamespace(
        evaluation=SimpleNamespace(decisions=decisions), generated_at="2026-11-20T10:00:00Z"
    )
    text = render(data)  # type: ignore[arg-type]
    assert text.endswith("}\n")
    doc = json.loads(text)
    assert_valid_openvex(doc)
    assert doc["author"] == "platform-team"  # only owners of exported statements
    assert doc["timestamp"] == "2026-11-20T10:00:00Z"
    assert [p["@id"] for s in doc["statements"] for p in s["products"]] == [
        "pkg:npm/lodash@4.17.20"
    ]
    nothing = SimpleNamespace(evaluation=SimpleNamespace(decisions=[]), generated_at=TS)
    empty = json.loads(render(nothing))  # type: ignore[arg-type]
    assert empty["author"] == "policy-gate"
    assert empty["statements"] == []


def test_a_given_product_carries_the_packages_as_subcomponents() -> None:
    image = "pkg:oci/central-ledger@sha256%3Aabc123"
    doc = build(
        [(dep("lodash"), waiver()), (dep("lodash", "4.17.11"), waiver())],
        author=AUTHOR,
        timestamp=TS,
        product=image,
    )
    assert_valid_openvex(doc)
    (st,) = doc["statements"]
    assert st["products"] == [
        {
            "@id": image,
            "subcomponents": [
                {"@id": "pkg:npm/lodash@4.17.11"},
                {"@id": "pkg:npm/lodash@4.17.20"},
            ],
        }
    ]
    plain = build([(dep("lodash"), waiver())], author=AUTHOR, timestamp=TS)
    assert plain["@id"] != doc["@id"]
