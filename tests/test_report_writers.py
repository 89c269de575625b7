"""The JSON, SARIF and JUnit reports are written as text, not built as dicts or element
trees and then encoded (10,000 findings must take a fraction of a second). These tests
hold the text to what the dicts and ElementTree would have written: the same content,
the same escaping, nothing from a finding unescaped, whatever its characters."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from sarif_check import assert_valid_sarif

from policy_gate.findings import (
    DEPENDENCY,
    SAST,
    SECRET,
    Confidence,
    DependencyInfo,
    Finding,
    SecretInfo,
    Severity,
    Source,
)
from policy_gate.policy.evaluate import Decision
from policy_gate.reports import json_report, junit, sarif, sarif_results
from policy_gate.reports.interface import ReportData, artifact_uri, suppression_dict
from tests.test_reports_decisions import _full, _review_only
from tests.test_sarif import synthetic

# Every kind of character a file name, a message or a rule can bring.
NASTY = [
    "plain",
    "a&b<c>d\"e'f",
    "tab\there",
    "cr\rlf\nnl",
    "nul\x00ctl\x01\x0b\x1b\x7f",
    "ellipsis…é中文",
    "lone\udcff\udc80x",  # undecodable file-name bytes (surrogateescape)
    "astral😀",
    "nonchar\ufffe\uffff",
    "pct%20 #x:y",
    "\\backslash\\u0041",
]


def _hostile() -> ReportData:
    findings = []
    n = 0
    for i, a in enumerate(NASTY):
        for j, b in enumerate(NASTY):
            n += 1
            message = f"message {b} and {a}"
            sources: tuple[Source, ...] = (
                Source(
                    "bandit",
                    f"B{i:03d}",
                    Severity.HIGH if j % 2 else Severity.LOW,
                    Confidence.HIGH if j % 3 else None,
                    message,
                ),
            )
            if j % 4 == 0:
                sources += (Source("semgrep", f"rule-{a}", Severity.MEDIUM, None, f"other {a}"),)
            line = j % 5 or None
            findings.append(
                Finding(
                    category=SAST,
                    sources=sources,
                    path=f"dir {a}/file{n}{b}.py",
                    start_line=line,
                    end_line=line + j % 3 if line else None,
                    message=message,
                    flaw_key=f"CWE-{i}:{n}",
                    content_key=f"c{n}",
                    cwe=(f"CWE-{i}", f"CWE-{j}"),
                    title=f"title {a}" if j % 2 else "",
                    help_url=f"https://example.org/{b}" if j % 3 else None,
                    fix=f"fix {a}" if j % 2 else "",
                )
            )
    secret = "secret " + NASTY[6]
    findings.append(
        Finding(
            category=SECRET,
            sources=(Source("detect-secrets", "AWS Key", Severity.HIGH, Confidence.HIGH, secret),),
            path="k\udcff.py",
            start_line=3,
            end_line=3,
            message=secret,
            flaw_key="sha1:x",
            secret=SecretInfo("AWS <Key>", "AK**…**LE", "sha1:abc"),
        )
    )
    findings.append(
        Finding(
            category=DEPENDENCY,
            sources=(Source("pip-audit", "PYSEC-1", Severity.CRITICAL, None, "dep … <x>"),),
            path="requirements.txt",
            start_line=1,
            end_line=1,
            message="dep … <x>",
            flaw_key="PYSEC-1",
            dependency=DependencyInfo(
                "PyPI", "pkg&<", "1.0\n", ("2.0", "3.0"), "PYSEC-1", ("CVE-1", "GHSA-\x00"),
                None, True, False, ("a@1", "b@2"), "2.0", "MIT…",
            ),
        )
    )
    return synthetic(findings)


@pytest.fixture(params=["full", "review", "hostile"])
def data(request: pytest.FixtureRequest, tmp_path: Path) -> ReportData:
    if request.param == "full":
        return _full(tmp_path)
    if request.param == "review":
        return _review_only(tmp_path)
    return _hostile()


# ----------------------------------------------------------------------- JSON


def test_json_report_is_the_dicts(data: ReportData) -> None:
    text = json_report.render(data)
    assert text.isascii()  # other characters as \u escapes: a lone surrogate cannot break it
    text.encode("utf-8")
    doc = json.loads(text)
    assert doc == json_report.build(data)
    assert list(doc) == list(json_report.build(data))
    # one finding per line, exactly as json.dumps writes its dict
    lines = text.split('\n  "findings": [\n    ', 1)[1].rsplit("\n  ]\n}\n", 1)[0]
    expected = [
        json.dumps(json_report._finding(d, data.honoured(d)), separators=(",", ":"))
        for d in data.ordered()
    ]
    assert lines.split(",\n    ") == expected


# ----------------------------------------------------------------------- SARIF


def _reference_result(decision: Decision, rule_index: int, data: ReportData) -> dict[str, Any]:
    """A result as the SARIF layout describes it (the docstrings of sarif.py and
    sarif_results.py), built as a dict: what the writer must produce."""
    f = decision.finding
    prefix, inputs = data.path_prefix, data.inputs

    def location(message: str | None = None, ident: int | None = None) -> dict[str, Any]:
        uri = artifact_uri(f"{prefix.strip('/')}/{f.path}" if prefix.strip("/") else f.path)
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
        if f.start_line is not None and f.start_line >= 1:
            region: dict[str, Any] = {"startLine": f.start_line}
            if f.end_line is not None and f.end_line >= f.start_line:
                region["endLine"] = f.end_line
            physical["region"] = region
        out: dict[str, Any] = {"physicalLocation": physical}
        if ident is not None:
            out["id"] = ident
        if message:
            out["message"] = {"text": message}
        return out

    properties: dict[str, Any] = {
        "category": f.category,
        "severity": decision.severity.label,
        "confidence": decision.confidence.label if decision.confidence else None,
        "status": decision.status.value,
        "reported": decision.reported,
        "annotate": decision.annotate,
        "ids": list(f.ids),
        "scanners": list(f.scanners),
        "decision": list(decision.steps),
        "sources": [
            {
                "scanner": s.scanner,
                "ruleId": s.rule_id,
                "severity": s.severity.label if s.severity is not None else None,
                "confidence": s.confidence.label if s.confidence is not None else None,
                "message": s.message,
            }
            for s in f.sources
        ],
    }
    if f.title:
        properties["title"] = f.title
    if f.fix:
        properties["fix"] = f.fix
    if f.help_url:
        properties["helpUri"] = f.help_url
    if f.secret is not None:
        properties["secret"] = {"kind": f.secret.kind, "preview": f.secret.preview}
    if f.commit:
        properties["commit"] = f.commit
    if decision.waiver is not None:
        properties["waiver"] = decision.waiver.describe()
    if decision.suppression is not None:
        properties["suppressionComment"] = {
            **suppression_dict(decision.suppression),
            "honoured": data.honoured(decision),
        }
    if decision.baseline is not None:
        properties["baselined"] = True
    if decision.introduced is not None:
        properties["introduced"] = decision.introduced
    if f.dependency is not None:
        dep = f.dependency
        properties["dependency"] = {
            "ecosystem": dep.ecosystem,
            "package": dep.package,
            "version": dep.version,
            "fixedVersions": list(dep.fixed_versions),
            "advisory": dep.advisory,
            "aliases": list(dep.aliases),
        }
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": sarif_results.level(decision),
        "message": {"text": f.message or f.title or f.rule_id},
        "partialFingerprints": {sarif_results.FINGERPRINT_KEY: f.fingerprint},
        "properties": properties,
    }
    if f.path:
        result["locations"] = [location()]
    if f.path and f.sources[1:]:
        result["relatedLocations"] = [
            location(f"Also reported by {s.scanner} ({s.rule_id}): {s.message}", i + 1)
            for i, s in enumerate(f.sources[1:])
        ]
    state = sarif_results.baseline_state(decision, inputs)
    if state is not None:
        result["baselineState"] = state
    marks = sarif_results.suppressions(decision, inputs, prefix)
    if marks:
        result["suppressions"] = marks
    return result


def _no_surrogates(value: Any) -> Any:
    """What a SARIF file holds for ``value``: a lone surrogate becomes U+FFFD."""
    text = json.dumps(value, ensure_ascii=False)
    return json.loads(sarif_results._SURROGATE.sub("\ufffd", text))


@pytest.mark.parametrize("pretty", [True, False])
def test_sarif_results_are_the_dicts(
    data: ReportData, pretty: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not pretty:
        monkeypatch.setattr(sarif, "PRETTY_MAX_RESULTS", 0)
    text = sarif.render(data)
    text.encode("utf-8")  # no lone surrogate left
    doc = json.loads(text)
    assert_valid_sarif(doc)
    by_fingerprint = {d.finding.fingerprint: d for d in data.evaluation.decisions}
    seen = 0
    for run in doc["runs"]:
        rule_index = {rule["id"]: i for i, rule in enumerate(run["tool"]["driver"]["rules"])}
        for result in run["results"]:
            d = by_fingerprint[result["partialFingerprints"][sarif_results.FINGERPRINT_KEY]]
            expected = _reference_result(d, rule_index[d.finding.rule_id], data)
            assert result == _no_surrogates(expected)
            assert json.dumps(result) == json.dumps(_no_surrogates(expected))  # key order
            seen += 1
    assert seen == len(data.evaluation.decisions)
    if pretty:  # small files are indented, as json.dumps(indent=2) writes the document
        assert text == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    else:  # big ones compact and ASCII
        assert text.isascii() and "\n" not in text.rstrip("\n")
        assert text == json.dumps(doc, separators=(",", ":")) + "\n"


def test_sarif_size_check_agrees_with_gzip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif, "PRETTY_MAX_RESULTS", 0)
    readable = [s for s in NASTY if s.encode("utf-8", "ignore").decode() == s]
    for text in (sarif.render(_hostile()), json.dumps(readable * 50, ensure_ascii=False)):
        packed = len(gzip.compress(text.encode("utf-8"), compresslevel=6))
        size = len(text.encode("utf-8"))
        for limit in (packed // 2, packed - 1, packed, packed + 1, size - 1, size, size + 1):
            monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", limit)
            assert sarif._too_big(text) == (packed > limit), limit


# ----------------------------------------------------------------------- JUnit


def _elementtree(tag: str, text: str | None, **attrs: str) -> str:
    """What the ElementTree version wrote for one element (to an ASCII file)."""
    el = ET.Element(tag, {k: junit._one_line(v) for k, v in attrs.items()})
    if text is not None:
        el.text = junit.xml_text(text)
    return ET.tostring(el, encoding="unicode").encode("ascii", "xmlcharrefreplace").decode()


@pytest.mark.parametrize("value", [*NASTY, "", " ", "\u2028x\u00a0", "a\r\nb"])
def test_junit_escaping_is_elementtree(value: str) -> None:
    esc = junit._Escape()
    assert junit._el(esc, "failure", value, message=value, type=value) == _elementtree(
        "failure", value, message=value, type=value
    )
    assert junit._el(esc, "skipped", None, message=value) == _elementtree(
        "skipped", None, message=value
    )
    assert junit._el(esc, "system-out", value) == _elementtree("system-out", value)


def test_junit_document_is_what_elementtree_writes_back(data: ReportData) -> None:
    text = junit.render(data)
    assert text.isascii()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode("utf-8"))
    again = ET.tostring(root, encoding="unicode").encode("ascii", "xmlcharrefreplace").decode()
    body = text.split("\n", 1)[1]
    # a parser reads a CR in element text as a newline; elsewhere the text is ElementTree's
    assert again + "\n" == body.replace("\r", "\n")
    failures = root.findall(".//failure")
    assert len(failures) == len(data.evaluation.violations) + len(data.evaluation.budgets) + sum(
        1 for n in data.evaluation.notices if n.fails
    )
    for failure in failures:
        assert "\n" not in failure.get("message", "")
