"""SARIF 2.1.0 for GitHub code scanning: schema-valid, one run per scanner, every finding
kept once with its policy decision, and GitHub's upload limits respected."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sarif_check import assert_valid_sarif, multitool_github_problems

from policy_gate.base.fileset import FileSet
from policy_gate.findings import (
    DEPENDENCY,
    SAST,
    Confidence,
    DependencyInfo,
    Finding,
    Severity,
    Source,
    merge_findings,
)
from policy_gate.policy.evaluate import Decision, Status, evaluate
from policy_gate.policy.loader import load_policy
from policy_gate.policy.model import Policy
from policy_gate.reports import sarif
from policy_gate.reports.interface import ReportData
from policy_gate.results import ScannerRun, ScanOutput, ScanResult
from policy_gate.scanners import registry
from tests.conftest import EXTENDS_OFFLINE, WITH_DETECT_SECRETS

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
ODD_PATH = "odd dir/we%ird #1.py"

FILES: dict[str, str | bytes] = {
    # bandit B602 and semgrep's shell=True rule: one merged finding
    "app/run.py": """\
        import random
        import subprocess


        def run(cmd):
            return subprocess.call(cmd, shell=True)


        def jitter():
            return random.random()
        """,
    "web/app.js": """\
        const express = require("express");
        const app = express();
        app.get("/run", (req, res) => {
          res.send(String(eval(req.query.code)));
        });
        """,
    "config.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n',
    "requirements.txt": "jinja2==2.10\n",
    ODD_PATH: """\
        import pickle


        def load(blob):
            return pickle.loads(blob)
        """,
}

_CACHE: dict[str, tuple[ReportData, str, dict[str, Any]]] = {}


@pytest.fixture
def scanned(scan_data: Callable[..., ReportData]) -> tuple[ReportData, str, dict[str, Any]]:
    """One real scan (bandit, semgrep, detect-secrets, pip-audit) shared by the tests of
    this module: the scanners take seconds, the assertions do not. Every scanner runs:
    detect-secrets beside kingfisher (builtin:mojaloop runs kingfisher alone)."""
    if "real" not in _CACHE:
        data = scan_data(FILES, policy=str(WITH_DETECT_SECRETS))
        text = sarif.render(data)
        _CACHE["real"] = (data, text, json.loads(text))
    return _CACHE["real"]


def results(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(run["tool"]["driver"]["name"], r) for run in doc["runs"] for r in run["results"]]


def decisions_by_fingerprint(data: ReportData) -> dict[str, Decision]:
    return {d.finding.fingerprint: d for d in data.evaluation.decisions}


EXPECTED_LEVEL = {
    (Status.VIOLATION, True): "error",
    (Status.VIOLATION, False): "error",
    (Status.BELOW_THRESHOLD, True): "warning",
    (Status.BELOW_THRESHOLD, False): "note",
    (Status.EXCLUDED, False): "none",
    (Status.DISABLED, False): "none",
}


# ----------------------------------------------------------------------- real scan


def test_real_scan_is_valid_sarif_with_one_run_per_scanner(scanned: Any) -> None:
    data, _text, doc = scanned
    assert_valid_sarif(doc)
    assert multitool_github_problems(doc) == []  # every scanner's run, GitHub's rules
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    ran = sorted(r.name for r in data.result.runs if r.status == "ok")
    assert ran == sorted(n for n in registry() if n != "safety")  # safety is off by default
    names = [run["tool"]["driver"]["name"] for run in doc["runs"]]
    assert names == sorted([*ran, "policy-gate"])  # deterministic order, no duplicates
    ids = [run["automationDetails"]["id"] for run in doc["runs"]]
    assert len(set(ids)) == len(ids)
    assert ids == [f"policy-gate/{n}/" for n in names]
    assert len(doc["runs"]) <= sarif.MAX_RUNS
    # safety is disabled by the policy: no run, but the gate run says it did not check
    gate = next(run for run in doc["runs"] if run["tool"]["driver"]["name"] == "policy-gate")
    notes = gate["invocations"][0]["toolExecutionNotifications"]
    assert any(n["properties"]["scanner"] == "safety" for n in notes)
    assert gate["results"] == []
    assert gate["properties"]["verdict"] == data.evaluation.verdict.value
    for run in doc["runs"]:
        assert run["properties"]["policy"]["sha256"] == data.policy.sha256
        assert run["properties"]["policy"]["name"] == data.policy.name
        invocation = run["invocations"][0]
        assert invocation["executionSuccessful"] is True
        assert invocation["startTimeUtc"] <= invocation["endTimeUtc"]
    bandit = next(run for run in doc["runs"] if run["tool"]["driver"]["name"] == "bandit")
    assert bandit["tool"]["driver"]["version"]
    assert bandit["tool"]["driver"]["informationUri"].startswith("https://")


def test_every_finding_appears_exactly_once_in_its_lead_scanners_run(scanned: Any) -> None:
    data, _text, doc = scanned
    seen = [(tool, r["partialFingerprints"]["policyGate/v1"]) for tool, r in results(doc)]
    fingerprints = [fp for _, fp in seen]
    assert sorted(fingerprints) == sorted(d.finding.fingerprint for d in data.evaluation.decisions)
    assert len(set(fingerprints)) == len(fingerprints)
    by_fp = decisions_by_fingerprint(data)
    for tool, fp in seen:
        assert tool == by_fp[fp].finding.scanner


def test_merged_finding_is_reported_once_with_all_its_scanners(scanned: Any) -> None:
    data, _text, doc = scanned
    merged = [
        d for d in data.evaluation.decisions
        if d.finding.path == "app/run.py" and set(d.finding.scanners) == {"bandit", "semgrep"}
    ]
    assert len(merged) == 1, [d.finding.scanners for d in data.evaluation.decisions]
    finding = merged[0].finding
    hits = [
        (tool, r) for tool, r in results(doc)
        if r["partialFingerprints"]["policyGate/v1"] == finding.fingerprint
    ]
    assert len(hits) == 1
    tool, result = hits[0]
    assert tool == finding.scanner
    assert result["ruleId"] == finding.rule_id
    assert sorted(result["properties"]["scanners"]) == ["bandit", "semgrep"]
    assert {s["scanner"] for s in result["properties"]["sources"]} == {"bandit", "semgrep"}
    other = next(s for s in finding.sources[1:])
    related = result["relatedLocations"]
    assert len(related) == len(finding.sources) - 1
    assert other.rule_id in related[0]["message"]["text"]
    # the other scanner's rule did not lead anything, so it is not listed in its run
    other_run = next(run for run in doc["runs"] if run["tool"]["driver"]["name"] == other.scanner)
    assert all(
        r["partialFingerprints"]["policyGate/v1"] != finding.fingerprint
        for r in other_run["results"]
    )


def test_levels_follow_policy_decisions(scanned: Any) -> None:
    data, _text, doc = scanned
    by_fp = decisions_by_fingerprint(data)
    levels = set()
    for _tool, r in results(doc):
        d = by_fp[r["partialFingerprints"]["policyGate/v1"]]
        accepted = d.status in (Status.EXCLUDED, Status.DISABLED)
        assert r["level"] == EXPECTED_LEVEL[(d.status, d.annotate and not accepted)]
        assert r["properties"]["status"] == d.status.value
        assert r["properties"]["severity"] == d.severity.label
        assert r["properties"]["decision"] == list(d.steps)
        levels.add(r["level"])
        if d.status is Status.VIOLATION:
            assert "suppressions" not in r
    assert "error" in levels


def test_below_threshold_findings_are_kept(scanned: Any) -> None:
    data, _text, doc = scanned
    below = [r for _t, r in results(doc) if r["properties"]["status"] == "below-threshold"]
    assert below, "the fixture has bandit's low findings (random, import subprocess)"
    # random.random() is annotated (warning); `import subprocess`, re-graded to info, is not
    assert {r["level"] for r in below} == {"warning", "note"}
    assert len(below) == data.evaluation.count(Status.BELOW_THRESHOLD)
    assert all("suppressions" not in r for r in below)
    assert not any("baselineState" in r for _t, r in results(doc))


def test_locations_are_relative_percent_encoded_uris(scanned: Any) -> None:
    data, _text, doc = scanned
    by_fp = decisions_by_fingerprint(data)
    uris = set()
    for run in doc["runs"]:
        if run["results"]:
            base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
            assert base.startswith("file:///") and base.endswith("/")
        for r in run["results"]:
            finding = by_fp[r["partialFingerprints"]["policyGate/v1"]].finding
            loc = r["locations"][0]["physicalLocation"]
            art = loc["artifactLocation"]
            assert art["uriBaseId"] == "%SRCROOT%"
            assert not art["uri"].startswith("/") and "://" not in art["uri"]
            assert " " not in art["uri"] and "#" not in art["uri"]
            assert unquote(art["uri"]) == finding.path
            uris.add(art["uri"])
            if finding.start_line:
                assert loc["region"]["startLine"] == finding.start_line >= 1
                assert loc["region"].get("endLine", finding.start_line) >= finding.start_line
            else:
                assert "region" not in loc
    assert "odd%20dir/we%25ird%20%231.py" in uris
    assert {"app/run.py", "web/app.js", "config.py", "requirements.txt"} <= uris


def test_rules_carry_security_severity_help_and_tags(scanned: Any) -> None:
    data, _text, doc = scanned
    by_fp = decisions_by_fingerprint(data)
    bands = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9),
             "low": (0.1, 3.9), "info": (0.0, 0.0)}
    for run in doc["runs"]:
        rules = run["tool"]["driver"]["rules"]
        ids = [rule["id"] for rule in rules]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        for rule in rules:
            score = float(rule["properties"]["security-severity"])
            assert 0.0 <= score <= 10.0
            assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
            assert len(rule["shortDescription"]["text"]) <= 1024
            assert rule["help"]["text"] and rule["help"]["markdown"]
            tags = rule["properties"]["tags"]
            assert tags[0] == "security" and len(tags) <= 10
            assert rule["properties"]["precision"] in {"very-high", "high", "medium", "low"}
        worst: dict[str, Severity] = {}
        for r in run["results"]:
            assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
            d = by_fp[r["partialFingerprints"]["policyGate/v1"]]
            rule = rules[r["ruleIndex"]]
            assert d.finding.category in rule["properties"]["tags"]
            for cwe in d.finding.cwe:
                assert cwe in rule["properties"]["tags"]
            worst[r["ruleId"]] = max(worst.get(r["ruleId"], Severity.INFO), d.severity)
        for rule in rules:
            # a rule's score is the worst effective severity of its results, in GitHub's band
            low, high = bands[worst[rule["id"]].label]
            assert low <= float(rule["properties"]["security-severity"]) <= high
    # the rule of the merged shell=True finding explains policy, fix, link and standards
    rule = next(
        rule for run in doc["runs"] for rule in run["tool"]["driver"]["rules"]
        if rule["id"] in ("B602", "py-subprocess-shell-true")
    )
    sast_policy = data.policy.category(SAST)
    help_md = rule["help"]["markdown"]
    assert sast_policy.rationale in help_md
    assert all(src in help_md for src in sast_policy.sources)
    assert "CWE-78" in rule["properties"]["tags"]
    assert "How to fix" in help_md and rule["helpUri"] in help_md
    assert rule["properties"]["security-severity"] == "8.0"


def test_dependency_findings_carry_advisory_ids(scanned: Any) -> None:
    _data, _text, doc = scanned
    deps = [r for tool, r in results(doc) if tool == "pip-audit"]
    assert deps
    assert all(r["properties"]["category"] == DEPENDENCY for r in deps)
    assert any(i.startswith("CVE-") for r in deps for i in r["properties"]["ids"])
    assert all("jinja2" in r["message"]["text"] for r in deps)


def test_secret_value_never_appears(scanned: Any) -> None:
    _data, text, doc = scanned
    secrets = [r for tool, r in results(doc) if tool == "detect-secrets"]
    assert secrets, "detect-secrets should flag the AWS key"
    assert AWS_KEY not in text
    assert AWS_KEY[4:] not in text
    assert AWS_KEY not in json.dumps(doc, ensure_ascii=True)


def test_partial_fingerprints_are_present_and_unique(scanned: Any) -> None:
    _data, _text, doc = scanned
    fps = [r["partialFingerprints"]["policyGate/v1"] for _t, r in results(doc)]
    assert all(len(fp) == 32 for fp in fps)
    assert len(set(fps)) == len(fps)


def test_rendering_is_deterministic(scanned: Any) -> None:
    data, text, _doc = scanned
    assert sarif.render(data) == text


# ----------------------------------------------------------------------- synthetic


def synthetic(
    findings: list[Finding],
    policy: Policy | None = None,
    statuses: dict[str, tuple[str, str]] | None = None,
    root: Path = Path("/repo"),
) -> ReportData:
    """ReportData for hand-made findings: every scanner that reported one ran ok."""
    policy = policy or load_policy("builtin:mojaloop")
    merged = merge_findings(findings)
    runs = []
    for name in ("bandit", "semgrep", "detect-secrets", "pip-audit", "safety"):
        status, reason = (statuses or {}).get(name, ("ok", ""))
        own = [f for f in findings if f.scanner == name]
        output = ScanOutput(own, "1.0", len(own), 1) if status == "ok" else None
        runs.append(ScannerRun(name, status, reason, "1.0" if output else "", 0.5, output))
    result = ScanResult(
        root=root,
        fileset=FileSet(root, ()),
        runs=runs,
        findings=merged,
        started=1_700_000_000.0,
        seconds=1.25,
    )
    ev = evaluate(policy, merged, (r.outcome for r in runs))
    return ReportData(result, policy, ev)


def sast_finding(
    path: str, line: int | None, rule: str = "B999", sev: Severity = Severity.HIGH,
    scanner: str = "bandit", n: int = 0,
) -> Finding:
    return Finding(
        category=SAST,
        sources=(Source(scanner, rule, sev, Confidence.HIGH, f"flaw {n} in {path}"),),
        path=path,
        start_line=line,
        end_line=line,
        message=f"flaw {n} in {path}",
        flaw_key=f"CWE-78:{n}",
        content_key=f"c{n}",
        cwe=("CWE-78",),
        title="test rule",
    )


def test_accepted_findings_are_suppressed_not_dropped(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        EXTENDS_OFFLINE + "\n"
        "exclude: ['vendor/']\n"
        "rules:\n"
        "  'bandit:B101':\n"
        "    disable: true\n"
        "    reason: asserts are fine here\n"
    )
    policy = load_policy(policy_file)
    data = synthetic(
        [
            sast_finding("vendor/lib.py", 3, n=1),  # a scanner reported an excluded path
            sast_finding("src/a.py", 4, rule="B101", n=2),  # a disabled rule
            sast_finding("src/b.py", 5, n=3),  # a violation
        ],
        policy,
    )
    doc = sarif.build(data)
    assert_valid_sarif(doc)
    by_path = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r
               for _t, r in results(doc)}
    assert len(by_path) == 3
    excluded, disabled, violation = by_path["vendor/lib.py"], by_path["src/a.py"], by_path[
        "src/b.py"]
    assert excluded["properties"]["status"] == "excluded"
    assert disabled["properties"]["status"] == "disabled"
    for r in (excluded, disabled):
        assert r["level"] == "none"
        (mark,) = r["suppressions"]
        assert mark["kind"] == "external" and mark["status"] == "accepted"
    assert "excluded" in excluded["suppressions"][0]["justification"]
    assert "asserts are fine here" in disabled["suppressions"][0]["justification"]
    assert violation["level"] == "error" and "suppressions" not in violation


def test_failed_scanner_has_no_run_but_is_recorded() -> None:
    data = synthetic(
        [sast_finding("a.py", 1)],
        statuses={"semgrep": ("failed", "semgrep crashed: exit 2"),
                  "pip-audit": ("skipped", "no network"),
                  "safety": ("disabled", "disabled by the policy")},
    )
    doc = sarif.build(data)
    assert_valid_sarif(doc)
    names = [run["tool"]["driver"]["name"] for run in doc["runs"]]
    # an empty run would tell GitHub every semgrep alert is fixed: the failed one gets none
    assert names == ["bandit", "detect-secrets", "policy-gate"]
    gate = doc["runs"][-1]
    invocation = gate["invocations"][0]
    assert invocation["executionSuccessful"] is False
    levels = {n["properties"]["scanner"]: n["level"]
              for n in invocation["toolExecutionNotifications"]}
    assert levels == {"semgrep": "error", "pip-audit": "warning", "safety": "note"}
    texts = " ".join(n["message"]["text"] for n in invocation["toolExecutionNotifications"])
    assert "semgrep crashed" in texts and "no network" in texts
    assert gate["properties"]["verdict"] == "error"


def test_finding_without_a_line_has_no_region_and_odd_paths_are_encoded() -> None:
    dep = Finding(
        category=DEPENDENCY,
        sources=(Source("pip-audit", "vulnerable-dependency", None, Confidence.HIGH, "bad"),),
        path="reqs/requirements dev.txt",
        start_line=None,
        end_line=None,
        message="foo 1.0 is affected by CVE-2099-1",
        flaw_key="CVE-2099-1",
        dependency=DependencyInfo("PyPI", "foo", "1.0", ("1.1",), "CVE-2099-1"),
    )
    odd = sast_finding("x/a\nb:c?d.py", 2, n=7)
    doc = sarif.build(synthetic([dep, odd]))
    assert_valid_sarif(doc)
    locs = {tool: r["locations"][0]["physicalLocation"] for tool, r in results(doc)}
    assert locs["pip-audit"] == {
        "artifactLocation": {"uri": "reqs/requirements%20dev.txt", "uriBaseId": "%SRCROOT%"}
    }
    assert locs["bandit"]["artifactLocation"]["uri"] == "x/a%0Ab%3Ac%3Fd.py"
    assert locs["bandit"]["region"] == {"startLine": 2, "endLine": 2}
    (dep_result,) = [r for tool, r in results(doc) if tool == "pip-audit"]
    assert dep_result["properties"]["ids"] == ["CVE-2099-1"]


def test_run_limit_omits_runs_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif, "MAX_RUNS", 2)
    data = synthetic([sast_finding("a.py", 1), sast_finding("b.py", 1, scanner="semgrep",
                                                              rule="r", n=1)])
    doc = sarif.build(data)
    assert_valid_sarif(doc)
    assert [run["tool"]["driver"]["name"] for run in doc["runs"]] == ["bandit", "policy-gate"]
    notes = doc["runs"][-1]["invocations"][0]["toolExecutionNotifications"]
    assert any(n["properties"] == {"scanner": "semgrep", "status": "omitted"} for n in notes)


def test_results_limit_keeps_the_most_severe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS_PER_RUN", 3)
    sevs = [Severity.LOW, Severity.CRITICAL, Severity.MEDIUM, Severity.HIGH, Severity.INFO,
            Severity.HIGH]
    findings = [sast_finding(f"f{i}.py", i + 1, sev=s, n=i) for i, s in enumerate(sevs)]
    data = synthetic(findings)
    doc = sarif.build(data)
    assert_valid_sarif(doc)
    (bandit,) = [run for run in doc["runs"] if run["tool"]["driver"]["name"] == "bandit"]
    kept = bandit["results"]
    assert len(kept) == 3
    assert [r["properties"]["severity"] for r in kept] == ["critical", "high", "high"]
    assert all(r["level"] == "error" for r in kept)
    truncated = bandit["properties"]["truncated"]
    assert truncated["dropped"] == 3 and truncated["kept"] == 3 and truncated["total"] == 6
    assert "3 results per run" in truncated["reason"]
    warnings = [n for n in bandit["invocations"][0]["toolExecutionNotifications"]
                if n["level"] == "warning"]
    assert len(warnings) == 1 and "3 of 6" in warnings[0]["message"]["text"]


def test_size_limit_halves_the_largest_run(monkeypatch: pytest.MonkeyPatch) -> None:
    findings = [sast_finding(f"src/file{i}.py", i + 1, n=i) for i in range(200)]
    findings += [sast_finding(f"web/f{i}.js", 1, scanner="semgrep", rule="js", n=1000 + i)
                 for i in range(10)]
    data = synthetic(findings)
    full = sarif.render(data)
    limit = len(gzip.compress(full.encode())) // 2
    monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", limit)
    text = sarif.render(data)
    assert len(gzip.compress(text.encode(), compresslevel=6)) <= limit
    doc = json.loads(text)
    assert_valid_sarif(doc)
    runs = {run["tool"]["driver"]["name"]: run for run in doc["runs"]}
    assert len(runs["semgrep"]["results"]) == 10  # the small run is untouched
    truncated = runs["bandit"]["properties"]["truncated"]
    assert truncated["kept"] + truncated["dropped"] == 200
    assert truncated["kept"] == len(runs["bandit"]["results"]) < 200
    assert "gzipped" in truncated["reason"]


def test_thirty_thousand_findings_respect_githubs_real_limits() -> None:
    """How long this takes is benchmarks/' to measure (target 2b), not asserted here."""
    n = 30_000
    sevs = list(Severity)
    findings = [
        sast_finding(f"pkg{i % 300}/mod{i}.py", (i % 500) + 1, rule=f"B{i % 40:03d}",
                     sev=sevs[i % len(sevs)], n=i)
        for i in range(n)
    ]
    data = synthetic(findings)
    text = sarif.render(data)
    assert len(gzip.compress(text.encode("utf-8"), compresslevel=6)) <= 10_000_000
    doc = json.loads(text)
    assert_valid_sarif(doc)
    assert len(doc["runs"]) <= 20
    (bandit,) = [run for run in doc["runs"] if run["tool"]["driver"]["name"] == "bandit"]
    assert len(bandit["results"]) == sarif.MAX_RESULTS_PER_RUN == 25_000
    assert bandit["properties"]["truncated"]["dropped"] == n - 25_000
    assert len(bandit["tool"]["driver"]["rules"]) == 40
    # violations first, then by severity: nothing dropped outranks anything kept
    rank = {s.label: s for s in Severity}
    kept = [rank[r["properties"]["severity"]] for r in bandit["results"]]
    assert kept == sorted(kept, reverse=True)
    worst_dropped = max(d.severity for d in data.ordered()[25_000:])
    assert worst_dropped <= kept[-1]


def test_schema_check_catches_what_github_would_reject() -> None:
    good = sarif.build(synthetic([sast_finding("a b.py", 3)]))
    assert_valid_sarif(good)

    def first_location(doc: dict[str, Any]) -> dict[str, Any]:
        loc: dict[str, Any] = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        return loc

    def line_zero(doc: dict[str, Any]) -> None:
        first_location(doc)["region"] = {"startLine": 0}

    def raw_space(doc: dict[str, Any]) -> None:
        first_location(doc)["artifactLocation"]["uri"] = "a b.py"

    def bad_level(doc: dict[str, Any]) -> None:
        doc["runs"][0]["results"][0]["level"] = "fatal"

    def no_success_flag(doc: dict[str, Any]) -> None:
        del doc["runs"][0]["invocations"][0]["executionSuccessful"]

    def old_version(doc: dict[str, Any]) -> None:
        doc["version"] = "2.0.0"

    for breakage in (line_zero, raw_space, bad_level, no_success_flag, old_version):
        bad = json.loads(json.dumps(good))
        breakage(bad)
        with pytest.raises(AssertionError):
            assert_valid_sarif(bad)


def test_subdirectory_scan_points_at_repository_paths() -> None:
    data = synthetic([sast_finding("src/a b.py", 3)], root=Path("/work/repo/services/api"))
    data = dataclasses.replace(data, path_prefix="services/api/")
    doc = sarif.build(data)
    assert_valid_sarif(doc)
    (bandit,) = [run for run in doc["runs"] if run["tool"]["driver"]["name"] == "bandit"]
    art = bandit["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": "services/api/src/a%20b.py", "uriBaseId": "%SRCROOT%"}
    assert bandit["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///work/repo/"
