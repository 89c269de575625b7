"""VEX that means what it says (issue 20, item 3): the OpenVEX export and the CycloneDX
SBOM's vulnerability analysis state the same decision for each waiver, and both validate
against their official schemas.

One evaluation, built in process from hand-made dependency findings and a real waivers
file and baseline (the real evaluator decides; no scanner runs), holds every case: a
justified waiver (not affected), a risk accepted for a time (affected), an expired waiver,
a baselined advisory, an advisory waived on one package and failing on another, and one
whose waivers disagree. The same decisions with nothing waived give no OpenVEX document:
the command line writes no file, removes an old one, and says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from policy_gate import cli, cli_output
from policy_gate.base.fileset import FileSet
from policy_gate.findings import (
    DEPENDENCY,
    Confidence,
    DependencyInfo,
    Finding,
    Severity,
    Source,
    merge_findings,
)
from policy_gate.policy import baseline as bl
from policy_gate.policy.evaluate import Inputs, Status, evaluate
from policy_gate.policy.loader import load_policy
from policy_gate.policy.model import Policy
from policy_gate.policy.waivers import load_waivers, schema
from policy_gate.reports import cyclonedx, openvex, terminal, vex
from policy_gate.reports.interface import ReportData
from policy_gate.results import ScannerRun, ScanOutput, ScanResult
from tests.conftest import OFFLINE_POLICY
from tests.test_openvex import OPENVEX_SCHEMA, assert_valid_openvex

TODAY = dt.date(2026, 12, 1)
WAIVERS_FILE = ".policy-gate/waivers.yaml"
WAIVERS = """\
version: 1
waivers:
  - id: JUSTIFIED
    advisory: GHSA-aaaa-0000-0001
    justification: vulnerable_code_not_in_execute_path
    reason: only the build calls lodash.template, never with user input
    owner: alice@example.org
    created: 2026-11-20
    expires: 2026-12-15
  - id: ACCEPTED
    advisory: GHSA-aaaa-0000-0002
    reason: no fixed release yet; the parser only reads our own config
    owner: platform-team
    created: 2026-11-25
    expires: 2026-12-20
  - id: EXPIRED
    advisory: GHSA-aaaa-0000-0003
    reason: accepted until the upgrade, which has not happened
    owner: bob@example.org
    expires: 2026-11-30
  - id: ONE-PACKAGE
    advisory: GHSA-aaaa-0000-0005
    package: left-pad
    justification: component_not_present
    reason: left-pad is listed in the lockfile but never installed
    owner: alice@example.org
    expires: 2026-12-20
  - id: MIXED-JUSTIFIED
    advisory: GHSA-aaaa-0000-0006
    package: uuid
    justification: inline_mitigations_already_exist
    reason: the input is validated by a schema before it reaches uuid
    owner: alice@example.org
    expires: 2026-12-20
  - id: MIXED-ACCEPTED
    advisory: GHSA-aaaa-0000-0006
    package: chalk
    reason: chalk only colours our own log lines; upgrade planned
    owner: alice@example.org
    expires: 2026-12-20
"""


def _finding(package: str, version: str, advisory: str, line: int) -> Finding:
    """As the audits report one: on the package's line of the lockfile."""
    message = f"{package} {version} is affected by {advisory}"
    return Finding(
        category=DEPENDENCY,
        sources=(Source("osv", advisory, Severity.HIGH, Confidence.HIGH, message),),
        path="package-lock.json",
        start_line=line,
        end_line=line,
        message=message,
        flaw_key=advisory,
        dependency=DependencyInfo("npm", package, version, ("9.9.9",), advisory,
                                  aliases=(advisory.replace("GHSA-aaaa", "CVE-2026"),)),
    )


FINDINGS = {
    # name -> (finding, status the evaluator must give it)
    "justified": (_finding("lodash", "4.17.20", "GHSA-aaaa-0000-0001", 10), Status.WAIVED),
    "accepted": (_finding("minimist", "1.2.5", "GHSA-aaaa-0000-0002", 20), Status.WAIVED),
    "expired": (_finding("qs", "6.0.0", "GHSA-aaaa-0000-0003", 30), Status.VIOLATION),
    "baselined": (_finding("express", "4.0.0", "GHSA-aaaa-0000-0004", 40), Status.BASELINED),
    "one-package": (_finding("left-pad", "1.0.0", "GHSA-aaaa-0000-0005", 50), Status.WAIVED),
    "other-package": (_finding("right-pad", "1.0.0", "GHSA-aaaa-0000-0005", 60), Status.VIOLATION),
    "mixed-justified": (_finding("uuid", "3.0.0", "GHSA-aaaa-0000-0006", 70), Status.WAIVED),
    "mixed-accepted": (_finding("chalk", "2.0.0", "GHSA-aaaa-0000-0006", 80), Status.WAIVED),
}


@functools.cache
def _policy() -> Policy:
    return load_policy(OFFLINE_POLICY)


def _data(waivers: str = WAIVERS) -> ReportData:
    policy = _policy()
    findings = merge_findings([f for f, _ in FINDINGS.values()])
    baselined = [f for f in findings if f.dependency and f.dependency.package == "express"]
    baseline = bl.create(baselined, policy_sha256=policy.sha256, created="2026-11-01T00:00:00Z")
    inputs = Inputs(today=TODAY, waivers=load_waivers(waivers, WAIVERS_FILE), baseline=baseline)
    root = Path("/repo")
    run = ScannerRun("osv", "ok", "", "1.0", 0.5, ScanOutput(findings, "1.0", 1, 1))
    result = ScanResult(root=root, fileset=FileSet(root, ()), runs=[run], findings=findings,
                        started=1_796_000_000.0, seconds=1.0)
    return ReportData(result, policy, evaluate(policy, findings, [run.outcome], inputs))


@pytest.fixture(scope="module")
def data() -> ReportData:
    return _data()


@pytest.fixture(scope="module")
def statements(data: ReportData) -> dict[str, list[dict[str, Any]]]:
    doc = json.loads(openvex.render(data))
    assert_valid_openvex(doc)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for st in doc["statements"]:
        by_name.setdefault(st["vulnerability"]["name"], []).append(st)
    return by_name


@pytest.fixture(scope="module")
def analyses(data: ReportData) -> dict[str, dict[str, Any]]:
    text = cyclonedx.render(data)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error
    return {v["id"]: v["analysis"] for v in json.loads(text)["vulnerabilities"]}


def test_the_evaluator_decided_as_the_cases_say(data: ReportData) -> None:
    by_package = {d.finding.dependency.package: d.status for d in data.evaluation.decisions
                  if d.finding.dependency}
    expected = {f.dependency.package: s for f, s in FINDINGS.values() if f.dependency}
    assert by_package == expected


def test_a_justified_waiver_is_not_affected_with_its_justification(
    statements: dict[str, list[dict[str, Any]]], analyses: dict[str, dict[str, Any]]
) -> None:
    (st,) = statements["GHSA-aaaa-0000-0001"]
    assert st["status"] == "not_affected"
    assert st["justification"] == "vulnerable_code_not_in_execute_path"
    # both: the machine-readable label, and the reason in words (the spec recommends it)
    assert st["impact_statement"] == "only the build calls lodash.template, never with user input"
    assert "action_statement" not in st
    assert "JUSTIFIED" in st["status_notes"] and "expires 2026-12-15" in st["status_notes"]
    analysis = analyses["GHSA-aaaa-0000-0001"]
    assert analysis["state"] == "not_affected"
    assert analysis["justification"] == "code_not_reachable"
    assert "response" not in analysis
    assert "only the build calls lodash.template" in analysis["detail"]


def test_a_risk_acceptance_is_affected_with_the_owner_reason_and_expiry(
    statements: dict[str, list[dict[str, Any]]], analyses: dict[str, dict[str, Any]]
) -> None:
    (st,) = statements["GHSA-aaaa-0000-0002"]
    assert st["status"] == "affected"
    assert "justification" not in st and "impact_statement" not in st
    action = st["action_statement"]
    for fact in ("platform-team", "2026-12-20", "the parser only reads our own config"):
        assert fact in action
    assert st["action_statement_timestamp"] == "2026-11-25T00:00:00Z"  # the waiver's created
    assert "ACCEPTED" in st["status_notes"]
    analysis = analyses["GHSA-aaaa-0000-0002"]
    assert analysis["state"] == "exploitable"
    assert analysis["response"] == ["will_not_fix"]
    assert "justification" not in analysis
    assert action in analysis["detail"]


def test_no_created_day_no_action_timestamp() -> None:
    data = _data(WAIVERS.replace("    created: 2026-11-25\n", ""))
    (st,) = [s for s in json.loads(openvex.render(data))["statements"]
             if s["vulnerability"]["name"] == "GHSA-aaaa-0000-0002"]
    assert st["status"] == "affected" and "action_statement_timestamp" not in st


def test_an_expired_waiver_and_a_baseline_entry_state_nothing(
    statements: dict[str, list[dict[str, Any]]], analyses: dict[str, dict[str, Any]]
) -> None:
    """Only decisions someone answers for, in force today, are stated: a consumer that
    reads no statement reports the advisory, as the gate fails (expired) or would fail
    without its baseline."""
    for advisory in ("GHSA-aaaa-0000-0003", "GHSA-aaaa-0000-0004"):
        assert advisory not in statements
        assert "state" not in analyses[advisory]
        assert "justification" not in analyses[advisory]
        assert "response" not in analyses[advisory]
    assert "violation" in analyses["GHSA-aaaa-0000-0003"]["detail"]
    assert "baselined" in analyses["GHSA-aaaa-0000-0004"]["detail"]


def test_an_advisory_waived_on_one_package_only(
    statements: dict[str, list[dict[str, Any]]], analyses: dict[str, dict[str, Any]]
) -> None:
    (st,) = statements["GHSA-aaaa-0000-0005"]
    assert [p["@id"] for p in st["products"]] == ["pkg:npm/left-pad@1.0.0"]
    assert st["justification"] == "component_not_present"
    # one CycloneDX analysis covers every component the entry lists: right-pad fails, so
    # no state (the waiver is still in the detail)
    analysis = analyses["GHSA-aaaa-0000-0005"]
    assert "state" not in analysis and "left-pad is listed" in analysis["detail"]


def test_waivers_that_disagree_give_the_less_permissive_analysis(
    statements: dict[str, list[dict[str, Any]]], analyses: dict[str, dict[str, Any]]
) -> None:
    by_status = {s["status"]: s for s in statements["GHSA-aaaa-0000-0006"]}
    assert sorted(by_status) == ["affected", "not_affected"]
    assert [p["@id"] for p in by_status["affected"]["products"]] == ["pkg:npm/chalk@2.0.0"]
    assert [p["@id"] for p in by_status["not_affected"]["products"]] == ["pkg:npm/uuid@3.0.0"]
    analysis = analyses["GHSA-aaaa-0000-0006"]
    assert (analysis["state"], analysis["response"]) == ("exploitable", ["will_not_fix"])


def test_the_direct_cyclonedx_writer_writes_the_analysis_as_the_library(
    data: ReportData,
) -> None:
    assert cyclonedx.render(data) == cyclonedx._render_with_library(data)


def test_one_table_serves_both_writers_and_every_schema() -> None:
    """The waiver schema's justifications are OpenVEX's, and each maps to a CycloneDX
    justification the CycloneDX schema allows."""
    from cyclonedx.model.impact_analysis import ImpactAnalysisJustification

    waiver_enum = schema()["$defs"]["waiver"]["properties"]["justification"]["enum"]
    statement = OPENVEX_SCHEMA["properties"]["statements"]["items"]["properties"]
    assert list(vex.JUSTIFICATIONS) == waiver_enum == statement["justification"]["enum"]
    allowed = {j.value for j in ImpactAnalysisJustification}
    assert set(vex.JUSTIFICATIONS.values()) <= allowed
    assert tuple(waiver_enum) == openvex.JUSTIFICATIONS


# ---------------------------------------------------------------- nothing to state
def _nothing_waived() -> ReportData:
    return _data("version: 1\nwaivers: []\n")


def test_nothing_waived_is_no_document() -> None:
    data = _nothing_waived()
    assert not openvex.has_statements(data)
    assert openvex.render(data) == ""
    # and what the evaluation did decide still goes into the SBOM, unanalysed
    doc = json.loads(cyclonedx.render(data))
    assert all("state" not in v["analysis"] for v in doc["vulnerabilities"])


def test_the_command_line_writes_no_file_removes_an_old_one_and_says_so(
    tmp_path: Path,
) -> None:
    data = _nothing_waived()
    target = tmp_path / "policy-gate.vex.json"
    target.write_text('{"statements": [{"status": "not_affected"}]}\n')  # a stale copy
    report = tmp_path / "report.json"
    shown = io.StringIO()
    requests = [("openvex", target), ("json", report)]
    written = cli_output.write_reports(
        data, requests, lambda: terminal.render(
            data, cli._console(shown), reports={f: str(p) for f, p in requests}),
    )
    assert not target.exists()
    assert report.exists() and written == {"json": str(report)}
    text = shown.getvalue()
    assert f"OpenVEX: {target} not written, nothing to state (no waiver" in text
    reports_line = next(line for line in text.splitlines() if line.startswith("Reports:"))
    assert str(target) not in reports_line


def test_with_statements_the_file_is_written_and_listed(tmp_path: Path) -> None:
    data = _data()
    target = tmp_path / "policy-gate.vex.json"
    shown = io.StringIO()
    written = cli_output.write_reports(
        data, [("openvex", target)],
        lambda: terminal.render(data, cli._console(shown), reports={"openvex": str(target)}),
    )
    assert written == {"openvex": str(target)}
    assert_valid_openvex(json.loads(target.read_text()))
    assert f"Reports: {target} (openvex)" in shown.getvalue()
    assert "not written" not in shown.getvalue()


def test_nothing_to_state_on_stdout_writes_nothing_there(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli_output.write_reports(_nothing_waived(), [("openvex", Path("-"))])
    out, err = capsys.readouterr()
    assert out == ""
    assert "openvex report has nothing to state" in err


def test_a_waiver_not_applied_to_a_pinned_advisory_states_nothing() -> None:
    """A waiver on an unpinned dependency (no purl that would not also cover fixed
    versions) is applied by the gate, but there is no product to name."""
    data = _nothing_waived()
    unpinned = dataclasses.replace(
        FINDINGS["accepted"][0],
        dependency=dataclasses.replace(FINDINGS["accepted"][0].dependency, version=None),
    )
    decisions = [dataclasses.replace(data.evaluation.decisions[0], finding=unpinned,
                                     waiver=load_waivers(WAIVERS, WAIVERS_FILE).waivers[1])]
    data = dataclasses.replace(data, evaluation=dataclasses.replace(
        data.evaluation, decisions=tuple(decisions)))
    assert not openvex.has_statements(data) and openvex.render(data) == ""
