"""OpenVEX export of dependency waivers: a v0.2.0 document valid against OpenVEX's own
JSON schema (vendored in tests/data/openvex/, see its README), one statement per
(advisory, waiver), purls for products, the status the waiver's decision calls for, a
content-derived id."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
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

OPENVEX_SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "openvex" / "openvex_json_schema.json").read_text("utf-8")
)
SPEC_JUSTIFICATIONS = set(
    OPENVEX_SCHEMA["properties"]["statements"]["items"]["properties"]["justification"]["enum"]
)
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")

# jsonschema checks "date-time", "uri" and "iri" only with optional packages the gate does
# not need; these checkers hold the documents to the same rules (RFC 3339 with an offset;
# an IRI has a scheme and no spaces), so that the schema's formats are not mere comments.
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


@FORMATS.checks("iri")
@FORMATS.checks("uri")
def _iri(value: object) -> bool:
    return isinstance(value, str) and _SCHEME.fullmatch(value) is not None


VALIDATOR = jsonschema.Draft202012Validator(OPENVEX_SCHEMA, format_checker=FORMATS)


def assert_valid_openvex(doc: dict[str, Any]) -> None:
    """Valid against OpenVEX's schema, and what the spec asks beyond it: every statement
    names its products (here purls) once each."""
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in VALIDATOR.iter_errors(doc)]
    assert errors == []
    assert doc["@context"] == "https://openvex.dev/ns/v0.2.0"
    for st in doc["statements"]:
        products = st["products"]
        assert products, "a statement must name a product"
        assert len({p["@id"] for p in products}) == len(products)
        for product in products:
            PackageURL.from_string(product["@id"])
            subs = product.get("subcomponents", [])
            assert len({c["@id"] for c in subs}) == len(subs)
            for sub in subs:
                PackageURL.from_string(sub["@id"])
    json.dumps(doc)  # plain JSON


@pytest.mark.parametrize(("change", "why"), [
    (lambda d: d.update(statements=[]), "should be non-empty"),
    (lambda d: d["statements"][0].pop("action_statement"), "'action_statement' is a required"),
    (lambda d: d["statements"][0].update(status="not_affected"), "is not valid under any"),
    (lambda d: d["statements"][0].update(justification="not_exploitable"), "is not one of"),
    (lambda d: d.update(timestamp="2026-13-01T00:00:00Z"), "is not a 'date-time'"),
    (lambda d: d.update(timestamp="2026-11-20T10:00:00"), "is not a 'date-time'"),
    (lambda d: d.update({"@id": "not an iri"}), "is not a 'iri'"),
    (lambda d: d["statements"][0].update(expires="2026-12-31"), "Additional properties"),
])
def test_the_validator_refuses_what_the_schema_refuses(change: Any, why: str) -> None:
    """Else a test that validates could not fail."""
    doc = build([(dep(), waiver())], author=AUTHOR, timestamp=TS)
    assert doc is not None
    assert_valid_openvex(doc)
    change(doc)
    messages = [e.message for e in VALIDATOR.iter_errors(doc)]
    assert any(why in m for m in messages), messages


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
    # the reason in words beside the label, as the spec recommends
    assert st["impact_statement"] == "only the build uses the vulnerable function"
    assert "action_statement" not in st
    # who decided it and until when travel with the statement
    assert "alice@example.org" in st["status_notes"]
    assert "2026-12-31" in st["status_notes"]


def test_without_a_justification_the_risk_is_accepted_not_absent() -> None:
    """Scanners suppress ``not_affected`` for good; an accepted risk is ``affected``, with
    who accepted it, why and until when as the action statement."""
    w = waiver(id="WVR-7", created=dt.date(2026, 11, 2))
    doc = build([(dep(), w)], author=AUTHOR, timestamp=TS)
    assert doc is not None
    assert_valid_openvex(doc)
    (st,) = doc["statements"]
    assert st["status"] == "affected"
    assert "justification" not in st and "impact_statement" not in st
    assert st["action_statement"].startswith(
        "Risk accepted by alice@example.org until 2026-12-31: "
        "only the build uses the vulnerable function. "
    )
    assert st["action_statement_timestamp"] == "2026-11-02T00:00:00Z"
    assert st["status_notes"] == f"Recorded as policy-gate {w.describe()}"
    assert "WVR-7" in st["status_notes"]


def test_justifications_agree_with_the_spec_and_the_waiver_schema() -> None:
    assert len(SPEC_JUSTIFICATIONS) == 5
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
    assert doc is None  # the schema asks for a statement: no document rather than an empty one


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
    doc = build([(dep(), waiver())], author=AUTHOR,
                timestamp="2026-11-20T10:00:00.123456+02:00")
    assert doc is not None
    assert_valid_openvex(doc)
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
    assert render(nothing) == ""  # type: ignore[arg-type]  # no file: see test_vex.py


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
