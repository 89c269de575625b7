"""Every report shows the evaluator's newer decisions — suppressed, waived, baselined,
pre-existing — and its notices (policy change first), loses no finding, and escapes
everything that came from the scanned tree or the waivers file.

The evaluation is real: hand-built findings, a waivers file parsed by load_waivers, a real
baseline and a diff scope, through policy_gate.policy.evaluate.evaluate."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sarif_check import assert_valid_sarif

from policy_gate.base.fileset import FileSet
from policy_gate.base.gitdiff import ChangeSet
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
    merge_findings,
)
from policy_gate.github import annotations, gate_outputs
from policy_gate.policy import baseline as bl
from policy_gate.policy.evaluate import (
    ACCEPTED,
    DiffScope,
    Inputs,
    Status,
    Verdict,
    evaluate,
)
from policy_gate.policy.loader import load_policy
from policy_gate.policy.model import Policy
from policy_gate.policy.waivers import load_waivers
from policy_gate.reports import json_report, junit, markdown, sarif, sarif_results, terminal
from policy_gate.reports.interface import STATUS_ORDER, ReportData, status_rank
from policy_gate.results import HISTORY, NOSEC, ScannerRun, ScanOutput, ScanResult, Suppression
from tests import gfm
from tests.conftest import EXTENDS_OFFLINE

TODAY = dt.date(2026, 11, 20)
BASE = "a" * 40
HEAD = "b" * 40
COMMIT = "c" * 40
WAIVERS_FILE = ".policy-gate/waivers.yaml"
HOSTILE = "<script>alert(1)</script> | `tick` [x](javascript:alert(1)) @mojaloop/security #12"
HOSTILE_ID = "WVR-1 <b>x</b> %0A::warning::y,z"
SECRET_VALUE = "AKIA" + "IOSFODNN7EXAMPLE"

WAIVERS = f"""\
version: 1
waivers:
  - id: {json.dumps(HOSTILE_ID)}
    rule: bandit:B602
    paths: ["src/waived.py"]
    reason: {json.dumps("False positive: " + HOSTILE)}
    owner: alice@example.org
    expires: 2026-11-30
  - id: WVR-2
    fingerprint: 0123456789abcdef0123456789abcdef
    reason: the finding was fixed long ago
    owner: bob@example.org
    expires: 2026-12-10
  - id: WVR-3
    rule: bandit:B602
    paths: ["src/app.py"]
    reason: a temporary acceptance that has run out
    owner: carol@example.org
    expires: 2026-11-01
  - id: WVR-4
    rule: bandit:B602
    paths: ["src/old.py"]
    reason: accepted for a year, longer than a high finding may be
    owner: dave@example.org
    expires: 2027-11-01
"""


def _policy(tmp_path: Path, *, stale: str = "fail") -> Policy:
    path = tmp_path / f"policy-{stale}.yaml"
    path.write_text(
        EXTENDS_OFFLINE + "\n"
        "inline_suppressions: require-reason\n"
        "exclude: ['vendor/']\n"
        f"waivers: {{stale: {stale}}}\n"
        "rules:\n"
        "  'bandit:B101':\n"
        "    disable: true\n"
        "    reason: asserts are how these scripts check their input\n"
    )
    return load_policy(path)


def _sast(path: str, line: int, rule: str = "B602", sev: Severity = Severity.HIGH,
          message: str = "subprocess call with shell=True", n: int = 0) -> Finding:
    return Finding(
        category=SAST,
        sources=(Source("bandit", rule, sev, Confidence.HIGH, message),),
        path=path,
        start_line=line,
        end_line=line,
        message=message,
        flaw_key=f"CWE-78:{rule}:{n}",
        content_key=f"code-{path}-{n}",
        cwe=("CWE-78",),
        title="shell injection",
        fix="pass a list of arguments without shell=True",
    )


def _secret_in_history() -> Finding:
    return Finding(
        category=SECRET,
        sources=(Source("detect-secrets", "AWSKeyDetector", Severity.HIGH, Confidence.HIGH,
                        "AWS Access Key"),),
        path="src/gone.py",
        start_line=1,
        end_line=1,
        message=f'AWS Access Key (added in commit {COMMIT[:12]} "add key")',
        flaw_key="sha1:deadbeef",
        content_key="sha1:deadbeef",
        title="AWS Access Key",
        secret=SecretInfo("AWS Access Key", "AK****************LE", "sha1:deadbeef"),
        commit=COMMIT,
    )


def _dependency() -> Finding:
    return Finding(
        category=DEPENDENCY,
        sources=(Source("pip-audit", "PYSEC-2099-1", Severity.HIGH, None,
                        "foo 1.0 is affected by PYSEC-2099-1"),),
        path="requirements.txt",
        start_line=None,
        end_line=None,
        message="foo 1.0 is affected by PYSEC-2099-1",
        flaw_key="PYSEC-2099-1",
        dependency=DependencyInfo("PyPI", "foo", "1.0", ("1.1",), "PYSEC-2099-1"),
    )


FINDINGS = {
    # name -> (finding, expected status)
    "violation": (_sast("src/app.py", 5, message=HOSTILE, n=1), Status.VIOLATION),
    "suppressed": (_sast("src/sup.py", 3, n=2), Status.SUPPRESSED),
    "waived": (_sast("src/waived.py", 7, n=3), Status.WAIVED),
    "baselined": (_sast("src/base.py", 9, n=4), Status.BASELINED),
    "pre-existing": (_sast("src/old.py", 20, n=5), Status.PRE_EXISTING),
    "pre-existing-dep": (_dependency(), Status.PRE_EXISTING),
    "history": (_secret_in_history(), Status.VIOLATION),
    "below": (_sast("src/app.py", 6, rule="B404", sev=Severity.LOW, n=6), Status.BELOW_THRESHOLD),
    "excluded": (_sast("vendor/lib.py", 2, n=7), Status.EXCLUDED),
    "disabled": (_sast("src/app.py", 8, rule="B101", n=8), Status.DISABLED),
}

SUPPRESSIONS = (
    # honoured: names the rule and gives a reason; covers the "suppressed" finding
    Suppression("src/sup.py", 3, NOSEC, ("B602",), "constant <b>command</b> list", 3,
                "nosec B602 - constant <b>command</b> list"),
    # not honoured (no reason), covers nothing
    Suppression("src/other.py", 4, NOSEC, ("B101",), "", 4, "nosec B101"),
)

CHANGES = ChangeSet(
    base_ref="origin/main",
    base=BASE,
    head=HEAD,
    files={
        "src/app.py": frozenset({5, 6, 8}),
        "src/sup.py": None,
        "src/waived.py": None,
        "src/other.py": frozenset({4}),
        "src/old.py": frozenset({2}),  # changed, but not the flagged line
        WAIVERS_FILE: frozenset({3}),
    },
    deleted=(),
    renamed={},
)


def _result(findings: list[Finding], *, diff: bool) -> ScanResult:
    root = Path("/repo")
    runs = []
    for name in ("bandit", "detect-secrets", "pip-audit"):
        own = [f for f in findings if f.scanner == name and not f.commit]
        runs.append(ScannerRun(name, "ok", "", "1.0", 0.5, ScanOutput(own, "1.0", len(own), 1)))
    if diff:
        own = [f for f in findings if f.commit]
        runs.append(ScannerRun(HISTORY, "ok", "", "1.0", 0.5, ScanOutput(own, "1.0", len(own), 1)))
    return ScanResult(
        root=root,
        fileset=FileSet(root, ()),
        runs=runs,
        findings=findings,
        started=1_700_000_000.0,
        seconds=1.5,
        suppressions=list(SUPPRESSIONS),
        changes=CHANGES if diff else None,
        changed_files=tuple(sorted(CHANGES.files)) if diff else (),
    )


def _full(tmp_path: Path) -> ReportData:
    """Diff mode, a baseline, waivers and inline comments: every status and notice."""
    policy = _policy(tmp_path)
    findings = merge_findings([f for f, _ in FINDINGS.values()])
    baselined = [f for f in findings if f.path == "src/base.py"]
    baseline = dataclasses.replace(
        bl.create(baselined, policy_sha256=policy.sha256, created="2026-01-31T12:00:00Z"),
        source=".policy-gate/baseline.json",
    )
    inputs = Inputs(
        today=TODAY,
        waivers=load_waivers(WAIVERS, WAIVERS_FILE),
        baseline=baseline,
        diff=DiffScope(CHANGES),
        suppressions=SUPPRESSIONS,
        policy_changes=(WAIVERS_FILE,),
    )
    result = _result(findings, diff=True)
    ev = evaluate(policy, findings, (r.outcome for r in result.runs), inputs)
    return ReportData(result, policy, ev)


def _review_only(tmp_path: Path) -> ReportData:
    """Nothing fails but the change edits the gate's own inputs: verdict review."""
    policy = _policy(tmp_path, stale="warn")
    findings = merge_findings([FINDINGS["below"][0], FINDINGS["pre-existing"][0]])
    inputs = Inputs(
        today=TODAY,
        diff=DiffScope(CHANGES),
        policy_changes=(".policy-gate/policy.yaml",),
    )
    result = _result(findings, diff=True)
    ev = evaluate(policy, findings, (r.outcome for r in result.runs), inputs)
    return ReportData(result, policy, ev)


@pytest.fixture
def full(tmp_path: Path) -> ReportData:
    return _full(tmp_path)


@pytest.fixture
def review(tmp_path: Path) -> ReportData:
    return _review_only(tmp_path)


def _status_of(data: ReportData) -> dict[str, Status]:
    by_fp = {d.finding.fingerprint: d.status for d in data.evaluation.decisions}
    merged = {f.path + str(f.start_line) + f.category: f for f in data.result.findings}
    out = {}
    for name, (f, _status) in FINDINGS.items():
        m = merged[f.path + str(f.start_line) + f.category]
        out[name] = by_fp[m.fingerprint]
    return out


# ----------------------------------------------------------------------- the scenario


def test_the_scenario_has_every_status_and_notice(full: ReportData) -> None:
    """The evaluation the other tests render: if the evaluator changes, this says so
    first."""
    assert _status_of(full) == {name: status for name, (_f, status) in FINDINGS.items()}
    assert set(STATUS_ORDER) == set(Status)  # every status has a place in every report
    ev = full.evaluation
    assert ev.verdict is Verdict.FAIL
    kinds = [n.kind for n in full.notices()]
    assert kinds[0] == "policy-change"
    assert set(kinds) == {
        "policy-change", "stale-waiver", "expired-waiver", "expiring-waiver", "waiver-too-long"
    }
    assert {n.kind for n in ev.notices if n.fails} == {"policy-change", "stale-waiver"}
    assert [u.honoured for u in ev.suppressions] == [True, False]


def test_status_order_puts_accepted_between_violations_and_below_threshold() -> None:
    ranks = [status_rank(s) for s in STATUS_ORDER]
    assert ranks == sorted(ranks)
    assert status_rank(Status.VIOLATION) < min(status_rank(s) for s in ACCEPTED)
    assert max(status_rank(s) for s in ACCEPTED) < status_rank(Status.BELOW_THRESHOLD)
    assert status_rank(Status.BELOW_THRESHOLD) < status_rank(Status.EXCLUDED)
    assert status_rank(Status.EXCLUDED) < status_rank(Status.DISABLED)


def test_why_accepted_names_the_waiver_comment_baseline_and_base(full: ReportData) -> None:
    why = {d.status: full.why(d) for d in full.evaluation.decisions if d.status in ACCEPTED}
    assert "alice@example.org" in why[Status.WAIVED]
    assert "expires 2026-11-30" in why[Status.WAIVED]
    assert "False positive" in why[Status.WAIVED]
    assert why[Status.SUPPRESSED].startswith("suppressed by the inline comment at src/sup.py:3")
    assert ".policy-gate/baseline.json" in why[Status.BASELINED]
    assert BASE[:12] in why[Status.PRE_EXISTING]


# ----------------------------------------------------------------------- JSON


def test_json_records_every_finding_with_what_accepted_it(full: ReportData) -> None:
    doc = json.loads(json_report.render(full))
    assert doc["verdict"] == "fail" and doc["exit_code"] == 1
    assert len(doc["findings"]) == len(full.evaluation.decisions) == len(FINDINGS)
    assert {f["status"] for f in doc["findings"]} == set(Status)
    assert doc["summary"]["by_status"] == {
        s.value: full.evaluation.count(s) for s in Status if full.evaluation.count(s)
    }
    by_status = {f["status"]: f for f in doc["findings"]}
    waived = by_status["waived"]
    assert waived["waiver"] == {
        "id": HOSTILE_ID,
        "file": WAIVERS_FILE,
        "line": 3,
        "owner": "alice@example.org",
        "expires": "2026-11-30",
        "reason": "False positive: " + HOSTILE,
        "kind": "rule",
    }
    suppressed = by_status["suppressed"]
    assert suppressed["suppression"] == {
        "path": "src/sup.py",
        "line": 3,
        "kind": "nosec",
        "rules": ["B602"],
        "reason": "constant <b>command</b> list",
        "text": "nosec B602 - constant <b>command</b> list",
        "honoured": True,
    }
    assert by_status["baselined"]["baselined"] is True
    assert by_status["pre-existing"]["introduced"] is False
    assert by_status["violation"]["introduced"] is True
    assert by_status["excluded"]["introduced"] is None  # decided before diff mode applies
    for f in doc["findings"]:
        assert set(f) >= {"waiver", "suppression", "baselined", "introduced", "commit"}
    history = next(f for f in doc["findings"] if f["commit"])
    assert history["commit"] == COMMIT and history["status"] == "violation"


def test_json_top_level_notices_inputs_and_suppressions(full: ReportData) -> None:
    doc = json.loads(json_report.render(full))
    assert doc["notices"][0]["kind"] == "policy-change"
    assert doc["review_required"] == doc["notices"][0]
    assert doc["review_required"]["fails"] is True
    assert doc["review_required"]["file"] == WAIVERS_FILE
    stale = next(n for n in doc["notices"] if n["kind"] == "stale-waiver")
    assert stale == {
        "kind": "stale-waiver",
        "message": stale["message"],
        "fails": True,
        "file": WAIVERS_FILE,
        "line": 9,
    }
    assert [s["honoured"] for s in doc["suppressions"]] == [True, False]
    assert doc["suppressions"][0]["covered"] == 1
    assert doc["suppressions"][1]["covered"] == 0
    assert "reason" in doc["suppressions"][1]["why"]
    assert doc["diff"]["base_ref"] == "origin/main"
    assert doc["diff"]["base"] == BASE and doc["diff"]["head"] == HEAD
    assert doc["diff"]["changed_files"] == len(CHANGES.files)
    assert doc["diff"]["files"] == sorted(CHANGES.files)
    assert doc["waivers"]["file"] == WAIVERS_FILE
    assert doc["waivers"]["count"] == 4 and len(doc["waivers"]["sha256"]) == 64
    assert doc["baseline"] == {"source": ".policy-gate/baseline.json", "entries": 1}
    # the history run is accounted for: what it found is in the report
    runs = {s["name"]: s for s in doc["scanners"]}
    assert runs[HISTORY]["results_in_report"] == runs[HISTORY]["raw_results"] == 1
    assert runs["detect-secrets"]["results_in_report"] == runs["detect-secrets"]["raw_results"]


def test_json_full_scan_has_null_inputs(tmp_path: Path) -> None:
    policy = _policy(tmp_path, stale="warn")
    findings = merge_findings([FINDINGS["violation"][0]])
    result = _result(findings, diff=False)
    ev = evaluate(policy, findings, (r.outcome for r in result.runs), Inputs(today=TODAY))
    doc = json.loads(json_report.render(ReportData(result, policy, ev)))
    assert doc["diff"] is None and doc["waivers"] is None and doc["baseline"] is None
    assert doc["review_required"] is None and doc["notices"] == []
    assert doc["findings"][0]["introduced"] is None
    assert doc["findings"][0]["waiver"] is None


def test_json_diff_file_list_is_capped(full: ReportData, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_report, "MAX_DIFF_FILES", 2)
    diff = json.loads(json_report.render(full))["diff"]
    assert diff["changed_files"] == len(CHANGES.files)
    assert len(diff["files"]) == 2 and diff["files_truncated"] is True


def test_json_review_verdict(review: ReportData) -> None:
    doc = json.loads(json_report.render(review))
    assert doc["verdict"] == "review" and doc["exit_code"] == 1
    assert doc["headline"] == "policy change needs security review"
    assert doc["review_required"]["file"] == ".policy-gate/policy.yaml"


# ----------------------------------------------------------------------- terminal


def _terminal(data: ReportData) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=200, no_color=True, force_terminal=False)
    terminal.render(data, console)
    return buf.getvalue()


def test_terminal_shows_notices_accepted_counts_suppressions_and_diff(full: ReportData) -> None:
    text = _terminal(full)
    first = text.splitlines()[0]
    assert first.startswith("FAIL policy-gate — failed: 2 violation(s)")
    assert "accepted: 1 suppressed inline, 1 waived, 1 in the baseline, 2 pre-existing" in first
    assert "\x1b[" not in text  # no colour off a terminal
    notices = text.index("Notices (5, 2 failing)")
    assert text.index("POLICY CHANGE") < text.index("stale-waiver")
    assert notices < text.index("Violations (2)")
    assert "Accepted (5)" in text
    # each accepted status names the rules it holds, counted (not a line per finding)
    assert "  in the baseline: bandit:B602 (1)\n" in text
    assert "  pre-existing: bandit:B602 (1), pip-audit:PYSEC-2099-1 (1)\n" in text
    assert "inline suppressions: 2 found, 1 honoured" in text
    assert f"diff mode: against origin/main (base {BASE[:12]}), 6 changed file(s)" in text
    # markup from the waivers file is shown, not interpreted
    assert "<b>x</b>" in text
    assert "Also: this change modifies what the gate enforces" in text
    assert text.rstrip().endswith("FAIL (2 violation(s); exit 1)")


def test_terminal_review_headline(review: ReportData) -> None:
    text = _terminal(review)
    assert text.startswith("REVIEW policy-gate — policy change needs security review")
    assert "a security lead must review" in text
    assert text.rstrip().endswith(
        "REVIEW (0 violation(s); policy change needs security review; exit 1)"
    )


# ----------------------------------------------------------------------- Markdown


def test_markdown_headline_notices_and_accepted(full: ReportData) -> None:
    text = markdown.render(full)
    first = text.splitlines()[0]
    assert first.startswith("**FAIL** — 2 violations; the policy is violated")
    assert "the policy change also needs security review" in first
    assert text.index("### Notices") < text.index("### Findings")
    notice_rows = [r for r in text.splitlines() if r.startswith("| **fails**") or
                   r.startswith("| warning")]
    assert notice_rows[0].startswith("| **fails** | **policy change** |")
    assert len(notice_rows) == 5
    assert "### Accepted (5)" in text
    assert "1 suppressed inline, 1 waived, 1 in the baseline, 2 pre-existing" in text
    waived_row = next(r for r in text.splitlines() if r.startswith("| src/waived.py:7 |"))
    assert "alice@\u200dexample.org | 2026-11-30 | False positive" in waived_row
    assert "WVR-1 \\<b>x\\</b>" in waived_row
    assert "nosec B602 - constant \\<b>command\\</b> list" in text
    assert "recorded in the baseline .policy-gate/baseline.json" in text
    assert f"2 findings pre-existing, already at the base ({BASE[:12]})" in text
    assert "Diff mode: compared with origin/main" in text
    assert "Inline suppression comments: 2 found, 1 honoured" in text
    assert "waivers .policy-gate/waivers.yaml (4, sha256" in text
    assert "| sast | high | 1 | 4 | 0 | 1 | 0 |" in text  # accepted column
    assert "| suppression | — | no findings | | | | | |" not in text  # 7 columns
    assert "| suppression | — | no findings | | | | |" in text  # the gate looks itself


def test_markdown_escapes_waivers_comments_and_messages(full: ReportData) -> None:
    for links in (None, markdown.LinkBuilder("https://github.com", "o/r", HEAD)):
        text = markdown.render(full, links=links)
        assert "\\<script>" in text  # the hostile reason and message did arrive ...
        page = gfm.render(text)  # ... and are inert as GitHub renders them
        assert "script" not in page.tags and "b" not in page.tags, page.tags
        assert page.active() == []  # no mention, issue reference or autolink
        assert all(not href.lower().startswith("javascript") for href in page.hrefs)
        # code only around the gate's own hashes: the policy's sha256, the fingerprints
        assert page.code and all(re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{64}", c) for c in page.code)
        # tables keep their shape: every row of a table has its header's column count
        for table in page.tables:
            assert len({len(row) for row in table}) == 1, table
        assert any("<script>" in node for node in page.text)  # shown as text


def test_markdown_review_headline(review: ReportData) -> None:
    text = markdown.render(review)
    assert text.startswith("**REVIEW** — policy change needs security review; 0 violations")
    assert "| **fails** | **policy change** | .policy-gate/policy.yaml |" in text


def test_markdown_accepted_tables_are_capped(
    full: ReportData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(markdown, "MAX_ACCEPTED_ROWS", 0)
    monkeypatch.setattr(markdown, "MAX_NOTICES", 1)
    text = markdown.render(full)
    assert "1 more in the JSON report." in text
    assert "4 more notices in the JSON report." in text
    assert "**policy change**" in text  # the one notice kept is the policy change


# ----------------------------------------------------------------------- SARIF


def _results(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(run["tool"]["driver"]["name"], r) for run in doc["runs"] for r in run["results"]]


def test_sarif_keeps_every_finding_and_marks_accepted_ones(full: ReportData) -> None:
    doc = sarif.build(full)
    assert_valid_sarif(doc)
    results = _results(doc)
    fps = sorted(r["partialFingerprints"][sarif_results.FINGERPRINT_KEY] for _t, r in results)
    assert fps == sorted(d.finding.fingerprint for d in full.evaluation.decisions)
    by_status = {r["properties"]["status"]: r for _t, r in results}
    assert set(by_status) == {s.value for s in Status}

    waived = by_status["waived"]
    (mark,) = waived["suppressions"]
    assert mark["kind"] == "external" and mark["status"] == "accepted"
    assert mark["justification"] == "False positive: " + HOSTILE
    assert mark["location"]["physicalLocation"]["artifactLocation"]["uri"] == (
        ".policy-gate/waivers.yaml"
    )
    assert mark["properties"]["waiver"]["owner"] == "alice@example.org"
    assert by_status["baselined"]["suppressions"] == [
        {"kind": "external", "status": "accepted",
         "justification": "in baseline .policy-gate/baseline.json"}
    ]
    (inline,) = by_status["suppressed"]["suppressions"]
    assert inline["kind"] == "inSource" and inline["status"] == "accepted"
    assert inline["location"]["physicalLocation"]["region"] == {"startLine": 3}
    pre = by_status["pre-existing"]
    assert "suppressions" not in pre
    assert pre["baselineState"] == "unchanged"
    assert by_status["violation"]["baselineState"] == "new"
    # only violations are errors; no violation is ever suppressed
    for _t, r in results:
        status = r["properties"]["status"]
        assert (r["level"] == "error") == (status == "violation")
        if status == "violation":
            assert "suppressions" not in r
        if status in {s.value for s in ACCEPTED}:
            assert r["level"] in ("warning", "note")


def test_sarif_notices_are_gate_notifications(full: ReportData) -> None:
    doc = sarif.build(full)
    (gate,) = [run for run in doc["runs"] if run["tool"]["driver"]["name"] == "policy-gate"]
    notes = gate["invocations"][0]["toolExecutionNotifications"]
    notices = [n for n in notes if "notice" in n.get("properties", {})]
    assert notices[0]["properties"]["notice"] == "policy-change"
    assert len(notices) == 5
    for n in notices:
        assert n["level"] == ("error" if n["properties"]["fails"] else "warning")
        assert n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
            ".policy-gate/waivers.yaml"
        )
    expiring = next(n for n in notices if n["properties"]["notice"] == "expiring-waiver")
    assert expiring["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    props = gate["properties"]
    assert props["reviewRequired"] is True
    assert props["inlineSuppressions"] == {"found": 2, "honoured": 1}
    assert props["diff"]["base"] == BASE
    assert props["byStatus"]["waived"] == 1
    # notices are not alerts: the gate run has no results for them
    assert all(r["properties"]["category"] == "suppression" for r in gate["results"])


def test_sarif_diff_mode_uses_its_own_categories_for_partial_runs(full: ReportData) -> None:
    doc = sarif.build(full)
    ids = {run["tool"]["driver"]["name"]: run["automationDetails"]["id"] for run in doc["runs"]}
    assert ids["bandit"] == "policy-gate/bandit/diff/"
    assert ids["detect-secrets"] == "policy-gate/detect-secrets/diff/"
    assert ids["policy-gate"] == "policy-gate/policy-gate/diff/"
    assert ids["pip-audit"] == "policy-gate/pip-audit/"  # reads every manifest
    assert ids[HISTORY] == f"policy-gate/{HISTORY}/"
    # the secret found in a commit is in the history run that found it
    history = [r for tool, r in _results(doc) if tool == HISTORY]
    assert [r["properties"]["commit"] for r in history] == [COMMIT]
    # a tool and category never repeat (GitHub rejects the upload otherwise)
    pairs = [(run["tool"]["driver"]["name"], run["automationDetails"]["id"]) for run in doc["runs"]]
    assert len(pairs) == len(set(pairs))


def test_sarif_bare_suppression_findings_go_to_the_gate_run(tmp_path: Path) -> None:
    from policy_gate.policy.suppressions import bare_findings

    policy = _policy(tmp_path, stale="warn")
    bare = Suppression("src/x.py", 2, NOSEC, (), "", 2, "nosec")
    findings = merge_findings([*bare_findings([bare]), FINDINGS["violation"][0]])
    result = _result(findings, diff=False)
    ev = evaluate(policy, findings, (r.outcome for r in result.runs),
                  Inputs(today=TODAY, suppressions=(bare,)))
    doc = sarif.build(ReportData(result, policy, ev))
    assert_valid_sarif(doc)
    names = [run["tool"]["driver"]["name"] for run in doc["runs"]]
    assert names.count("policy-gate") == 1
    (gate,) = [run for run in doc["runs"] if run["tool"]["driver"]["name"] == "policy-gate"]
    assert gate["automationDetails"]["id"] == "policy-gate/policy-gate/"
    assert [r["ruleId"] for r in gate["results"]] == ["bare-nosec"]
    assert [rule["id"] for rule in gate["tool"]["driver"]["rules"]] == ["bare-nosec"]
    assert len(_results(doc)) == len(findings)


def test_sarif_never_contains_a_secret_value(full: ReportData) -> None:
    assert SECRET_VALUE not in sarif.render(full)
    assert SECRET_VALUE not in json_report.render(full)


# ----------------------------------------------------------------------- JUnit


def test_junit_accepted_pass_with_why_and_failing_notices_fail(full: ReportData) -> None:
    root = ET.fromstring(junit.render(full))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert "policy-gate" in suites
    cases = {c.get("name"): c for s in suites.values() for c in s.findall("testcase")}
    for status in ("suppressed", "waived", "baselined", "pre-existing"):
        case = cases[f"bandit:B602 ({status})"]
        assert case.find("failure") is None and case.find("skipped") is None
        out = case.findtext("system-out") or ""
        assert "accepted: " in out
    assert "owner alice@example.org" in (cases["bandit:B602 (waived)"].findtext("system-out") or "")
    assert "foo 1.0 was already a dependency" in (
        cases["pip-audit:PYSEC-2099-1 (pre-existing)"].findtext("system-out") or ""
    )

    gate = suites["policy-gate"]
    failing = [c for c in gate.findall("testcase") if c.find("failure") is not None]
    assert sorted(c.get("name", "").split()[0] for c in failing) == [
        "policy-change", "stale-waiver"
    ]
    assert int(gate.get("failures", "-1")) == 2
    passing = [c for c in gate.findall("testcase") if c.find("failure") is None]
    assert {c.get("name", "").split()[0] for c in passing} == {
        "expired-waiver", "expiring-waiver", "waiver-too-long", "inline"
    }
    inline = next(c for c in passing if c.get("name") == "inline suppressions")
    assert "src/other.py:4" in (inline.findtext("system-out") or "")
    props = {p.get("name"): p.get("value") for p in gate.iter("property")}
    assert props["review_required"] == "true"
    # totals still add up
    for attr in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(attr, "-1")) == sum(int(s.get(attr, "0")) for s in suites.values())


def test_junit_loses_no_finding(full: ReportData) -> None:
    text = junit.render(full)
    for d in full.evaluation.decisions:
        place = d.finding.location
        assert place in text, place


def test_junit_without_new_inputs_has_no_gate_suite(tmp_path: Path) -> None:
    policy = _policy(tmp_path, stale="warn")
    findings = merge_findings([FINDINGS["violation"][0]])
    result = dataclasses.replace(_result(findings, diff=False), suppressions=[])
    ev = evaluate(policy, findings, (r.outcome for r in result.runs), Inputs(today=TODAY))
    root = ET.fromstring(junit.render(ReportData(result, policy, ev)))
    assert "policy-gate" not in [s.get("name") for s in root.findall("testsuite")]


# ----------------------------------------------------------------------- GitHub


def test_annotations_for_notices(full: ReportData) -> None:
    lines, not_shown = annotations(full)
    assert not_shown == 0
    errors = [line for line in lines if line.startswith("::error")]
    warnings = [line for line in lines if line.startswith("::warning")]
    assert errors[0].startswith(
        "::error file=.policy-gate/waivers.yaml,"
        "title=policy-gate%3A policy change needs security review::"
    )
    stale = next(e for e in errors if "stale waiver" in e)
    assert "file=.policy-gate/waivers.yaml,line=9," in stale
    expiring = next(w for w in warnings if "waiver expiring soon" in w)
    assert "file=.policy-gate/waivers.yaml,line=3," in expiring
    assert any("expired waiver" in w for w in warnings)
    assert any("waiver lasts too long" in w for w in warnings)
    # violations still follow; accepted findings are not annotated
    assert sum(1 for e in errors if "bandit%3AB602" in e) == 1
    assert not any("src/waived.py" in line or "src/old.py" in line for line in lines)
    # a hostile waiver id cannot end the command or start another: no line break, and
    # the runner takes everything after the properties' "::" as the message
    for line in lines:
        assert "\n" not in line and "\r" not in line
        assert re.fullmatch(r"::(error|warning) [^:]*::.*", line), line
    assert "%250A%3A%3Awarning%3A%3Ay" not in expiring  # messages escape data, not properties
    assert "%250A::warning::y" in expiring


def test_annotations_prefix_notice_paths(full: ReportData, tmp_path: Path) -> None:
    # the waivers file is named relative to the scanned root: prefixed
    root = tmp_path / "services" / "api"
    (root / ".policy-gate").mkdir(parents=True)
    (root / WAIVERS_FILE).write_text(WAIVERS)
    data = dataclasses.replace(full, result=dataclasses.replace(full.result, root=root))
    lines, _ = annotations(data, path_prefix="services/api/")
    assert lines[0].startswith("::error file=services/api/.policy-gate/waivers.yaml,")
    assert all("file=services/api/.policy-gate/waivers.yaml" in line
               for line in lines if "waiver" in line and "title=" in line)
    # a policy file outside the scanned root is named relative to the repository: as is
    notice = dataclasses.replace(full.evaluation.notices[0], file="../../ci/policy.yaml")
    ev = dataclasses.replace(
        full.evaluation, notices=(notice, *full.evaluation.notices[1:])
    )
    lines, _ = annotations(dataclasses.replace(data, evaluation=ev), path_prefix="services/api/")
    assert lines[0].startswith("::error file=ci/policy.yaml,")


def test_notices_respect_the_annotation_caps(full: ReportData) -> None:
    lines, not_shown = annotations(full, per_type_limit=1, total_limit=2)
    assert len(lines) == 2
    assert "policy change needs security review" in lines[0]
    assert not_shown > 0


def test_outputs_say_review_required_and_accepted_counts(
    full: ReportData, review: ReportData
) -> None:
    out = gate_outputs(full)
    assert out["review-required"] == "true"
    assert (out["waived"], out["baselined"], out["pre-existing"], out["suppressed"]) == (
        "1", "1", "2", "1"
    )
    counts = json.loads(out["counts"])
    assert counts["notices"]["stale-waiver"] == 1
    rev = gate_outputs(review)
    assert rev["verdict"] == "review" and rev["exit-code"] == "1"
    assert rev["review-required"] == "true"


def test_outputs_without_a_policy_change(tmp_path: Path) -> None:
    policy = _policy(tmp_path, stale="warn")
    findings = merge_findings([FINDINGS["below"][0]])
    result = _result(findings, diff=False)
    ev = evaluate(policy, findings, (r.outcome for r in result.runs), Inputs(today=TODAY))
    out = gate_outputs(ReportData(result, policy, ev))
    assert out["review-required"] == "false" and out["waived"] == "0"


def test_notice_paths_are_root_relative_and_map_to_repository_paths() -> None:
    from policy_gate.policy.evaluate import Notice
    from policy_gate.reports.interface import notice_repo_path

    above = Notice("policy-change", "m", True, "../.policy-gate/policy.yaml")
    inside = Notice("stale-waiver", "m", False, ".policy-gate/waivers.yaml", 3)
    assert notice_repo_path(above, "services/api/") == "services/.policy-gate/policy.yaml"
    assert notice_repo_path(inside, "services/api/") == "services/api/.policy-gate/waivers.yaml"
    assert notice_repo_path(inside, "") == ".policy-gate/waivers.yaml"
    # never a path out of the repository
    assert notice_repo_path(above, "") is None
