"""`policy-gate aggregate`: the organisation view over several repositories' reports, as the
fan-out workflow's last job makes it. The reports come from real gate runs on fixture
repositories (pip-audit against the example advisories); the view is checked in all three
formats, and reports that are not the gate's, or of a schema it does not read, are refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
import yaml
from conftest import gate_process, make_tree

from policy_gate.org import reader, view
from policy_gate.org.reader import Advisory, ControlStatus, RepoReport, WaiverUse

TODAY = dt.datetime.now(dt.UTC).date()
SOON = (TODAY + dt.timedelta(days=10)).isoformat()
LATER = (TODAY + dt.timedelta(days=25)).isoformat()  # the policy allows 30 for high
HOSTILE = "<script>alert(1)</script>*x*|y"


def _waivers(*entries: str) -> str:
    return "version: 1\nwaivers:\n" + "".join(entries)


REPOS: dict[str, dict[str, str]] = {
    "mojaloop/ledger": {
        "requirements.txt": "jinja2==2.10\npyyaml==5.3\n",
        ".policy-gate/waivers.yaml": _waivers(
            f"  - advisory: PYSEC-2020-96\n    reason: {json.dumps(HOSTILE)}\n"
            f"    owner: ledger-team\n    expires: {SOON}\n",
            f"  - advisory: PYSEC-2021-142\n    reason: loader is never given user input\n"
            f"    owner: ledger-team\n    expires: {LATER}\n"),
    },
    "mojaloop/quoting": {"requirements.txt": "jinja2==2.10\n"},
    "mojaloop/clean": {"requirements.txt": "requests==2.32.3\n"},
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each fixture repository scanned by the gate, its JSON report where the fan-out
    workflow's download puts it: <dir>/<owner>/<repo>/policy-gate.json."""
    base = tmp_path_factory.mktemp("org")
    out = base / "reports"
    for name, files in REPOS.items():
        work = base / "work" / name
        work.mkdir(parents=True)
        run = gate_process(work, make_tree(base / "repos" / name, files),
                           "--scanner", "pip-audit", "--scanner", "osv")
        assert run.code in (0, 1), run.stderr
        (out / name).mkdir(parents=True)
        (work / "report.json").rename(out / name / "policy-gate.json")
    return out


def aggregate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_gate", "aggregate", *args],
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def org(reports: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("view")
    proc = aggregate(str(reports), "--json", str(out / "org.json"), "--markdown",
                     str(out / "org.md"), "--html", str(out / "org.html"),
                     "--expiring-within", "14")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "policy-gate: aggregated 3 reports: 2 fail, 1 pass\n"
    return {"json": json.loads((out / "org.json").read_text()),
            "md": (out / "org.md").read_text(), "html": (out / "org.html").read_text()}


def test_verdicts_and_counts_per_repository(org: dict[str, Any]) -> None:
    doc = org["json"]
    assert doc["kind"] == "policy-gate-aggregate" and doc["as_of"] == TODAY.isoformat()
    repos = {r["name"]: r for r in doc["repositories"]}
    assert list(repos) == ["mojaloop/ledger", "mojaloop/quoting", "mojaloop/clean"]
    assert [r["verdict"] for r in repos.values()] == ["fail", "fail", "pass"]
    assert repos["mojaloop/ledger"]["by_status"]["waived"] == 2
    assert repos["mojaloop/quoting"]["violations"] == {"dependency": {"high": 2}}
    assert repos["mojaloop/clean"]["by_status"].get("violation", 0) == 0
    assert doc["summary"] == {"repositories": 3, "verdicts": {"fail": 2, "pass": 1},
                              "violations": 4, "advisories": 4, "expiring_waivers": 1,
                              "problems": 0, "without_report": 0}


def test_control_matrix_names_where_each_control_fails(org: dict[str, Any]) -> None:
    controls = {c["id"]: c for c in org["json"]["controls"]}
    # The dependency audit (M2) fails where a vulnerable pin is not waived, and is checked
    # (it examined packages) in the clean repository.
    assert controls["M2"]["failing"] == ["mojaloop/ledger", "mojaloop/quoting"]
    assert controls["M2"]["counts"] == {"fail": 2, "pass": 1}
    ledger = next(r for r in org["json"]["repositories"] if r["name"] == "mojaloop/ledger")
    assert ledger["controls"]["M2"]["status"] == "fail"
    assert "SAST" in str(ledger["controls"]) or ledger["controls"]["M12"]["status"] in (
        "not-checked", "pass")
    assert len(controls) == len(ledger["controls"]) >= 30


def test_advisories_ranked_by_repositories_hit(org: dict[str, Any]) -> None:
    advisories = org["json"]["advisories"]
    assert [(a["advisory"], len(a["repositories"])) for a in advisories] == [
        ("PYSEC-2019-217", 2), ("PYSEC-2021-66", 2), ("PYSEC-2020-96", 1),
        ("PYSEC-2021-142", 1)]
    assert advisories[0]["package"] == "jinja2" and advisories[0]["fix_versions"] == ["2.11.3"]
    assert advisories[0]["repositories"] == ["mojaloop/ledger", "mojaloop/quoting"]


def test_waivers_expiring_soon_by_owner(org: dict[str, Any]) -> None:
    (soon,) = org["json"]["expiring_waivers"]
    assert soon["repository"] == "mojaloop/ledger" and soon["owner"] == "ledger-team"
    assert soon["expires"] == SOON and soon["days"] == 10 and soon["findings"] == 1
    assert soon["id"] == ".policy-gate/waivers.yaml:3"  # no id: its place names it
    assert soon["reason"] == HOSTILE


def test_markdown_and_html_render_scanned_text_inert(org: dict[str, Any]) -> None:
    html_of_md = cmarkgfm.github_flavored_markdown_to_html(org["md"])
    assert "<script" not in html_of_md and "<em>x</em>" not in html_of_md
    assert "| ledger-team |" in org["md"] and "in 10 days" in org["md"]
    page = org["html"]
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('<td class="m s-') == 3 * len(org["json"]["controls"])
    assert "mojaloop/quoting" in page and 'href="#repo-mojaloop-ledger-' in page


def test_older_schema_is_read_and_foreign_files_are_refused(
        reports: Path, tmp_path: Path) -> None:
    doc = json.loads((reports / "mojaloop/clean/policy-gate.json").read_text())
    old = {k: v for k, v in doc.items() if k != "compliance"} | {"schema_version": "1.0"}
    (tmp_path / "old.json").write_text(json.dumps(old, indent=2))
    proc = aggregate(str(tmp_path / "old.json"), "--json", "-")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["repositories"][0]["controls"] is None
    assert got["problems"][0]["kind"] == "no-controls"
    (tmp_path / "sarif.json").write_text('{"version": "2.1.0", "runs": []}')
    proc = aggregate(str(tmp_path / "sarif.json"))
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (f"policy-gate: {tmp_path / 'sarif.json'}: not a policy-gate report "
                           '(no "tool": {"name": "policy-gate"}); give the JSON report of '
                           "`policy-gate scan --format json`\n")
    for name, text, says in [
        ("future.json", json.dumps({**doc, "schema_version": "2.0"}),
         "report schema version 2.0 (policy-gate 0.1.0); this gate reads 1.x"),
        ("broken.json", "{", "not JSON"),
        ("array.json", "[]", "not a policy-gate report"),
    ]:
        (tmp_path / name).write_text(text)
        with pytest.raises(reader.ReportError, match=re.escape(f"{tmp_path / name}: ")) as err:
            reader.summarise(name, tmp_path / name)
        assert says in str(err.value)


def test_the_gates_layout_is_read_like_any_layout(reports: Path, tmp_path: Path) -> None:
    """Only findings with an advisory or a waiver are decoded from a report in the gate's
    own layout; the same report re-indented by another tool is parsed whole, same answer."""
    for file in sorted(reports.rglob("*.json")):
        fast = reader.summarise("r", file)
        assert reader._gate_layout(file.read_bytes()) is not None
        again = tmp_path / "indented.json"
        again.write_text(json.dumps(json.loads(file.read_text()), indent=2))
        if fast.advisories or fast.waivers:  # with no findings both layouts are one
            assert reader._gate_layout(again.read_bytes()) is None
        slow = reader.summarise("r", again)
        slow.path = fast.path
        assert slow == fast


def _repo(name: str, **kw: Any) -> RepoReport:
    base: dict[str, Any] = dict(
        name=name, path=f"{name}.json", schema_version="1.1", gate_version="0.1.0",
        generated_at="2026-12-07T00:00:00Z", verdict="pass", headline="passed", exit_code=0,
        commit=None, policy="mojaloop", findings=0, by_status={}, violations={},
        controls=[ControlStatus("M2", "mojaloop", "Dependency audit", "pass", "", 0)])
    return RepoReport(**(base | kw))


def test_view_ranks_and_flags_what_weakens_a_verdict() -> None:
    adv = Advisory("GHSA-1", "npm", "lodash", "4.17.0", "4.17.21", "critical", "violation")
    low = Advisory("GHSA-2", "npm", "minimist", "1.0.0", "", "low", "violation")
    repos = [
        _repo("a", advisories=[adv, low], advisory_age_days=9.5, advisory_max_age_days=2,
              waivers=[WaiverUse("w1", "Zed", "2026-12-01", "r", "f", 3),
                       WaiverUse("w2", "amy", "2027-01-01", "r", "f", 1)]),
        _repo("b", advisories=[low], verdict="fail", exit_code=1,
              failures=["semgrep: failed: timed out after 600 s"]),
        _repo("c", controls=None, schema_version="1.0"),
    ]
    v = view.build(repos, dt.date(2026, 12, 7), 30)
    assert [r.name for r in v.repos] == ["b", "a", "c"]  # failing first
    assert [(h.advisory, h.repositories) for h in v.advisories] == [
        ("GHSA-2", ("a", "b")), ("GHSA-1", ("a",))]
    assert [(w.owner, w.days) for w in v.expiring] == [("amy", 25), ("Zed", -6)]
    assert [(p.repository, p.kind) for p in v.problems] == [
        ("b", "scanner-failure"), ("a", "stale-advisories"), ("c", "no-controls")]
    assert v.control_counts("M2") == {"pass": 2, "no-data": 1}


WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "org-policy-gate.yml"


def test_fan_in_step_as_the_org_workflow_runs_it(reports: Path, tmp_path: Path) -> None:
    """The workflow's last job: every report downloaded into reports/<owner>/<repo>/, the
    list of repositories that should have one, then the action with `aggregate:`. A
    repository whose scan job died is named, not silently missing."""
    workspace = tmp_path / "ws"
    shutil.copytree(reports, workspace / "reports")
    # The gate's other outputs beside a report are not reports, and are left alone.
    (workspace / "reports/mojaloop/clean/policy-gate.cdx.json").write_text('{"bomFormat": 1}')
    (workspace / "expected.json").write_text(json.dumps([*REPOS, "mojaloop/broken"]))
    summary = tmp_path / "summary.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env |= {"GITHUB_WORKSPACE": str(workspace), "GITHUB_STEP_SUMMARY": str(summary),
            "INPUT_AGGREGATE": "reports", "INPUT_EXPECTED": "expected.json",
            "INPUT_EXPIRING-WITHIN": "14", "INPUT_OUTPUT-DIR": "org-view"}
    proc = subprocess.run([sys.executable, "-m", "policy_gate.action_entrypoint"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((workspace / "org-view" / "policy-gate-org.json").read_text())
    assert doc["summary"]["without_report"] == 1
    assert doc["problems"][0]["repository"] == "mojaloop/broken"
    assert (workspace / "org-view" / "policy-gate-org.html").is_file()
    assert summary.read_text() == (workspace / "org-view" / "policy-gate-org.md").read_text()
    assert "**mojaloop/broken** no-report" in summary.read_text()
    env["INPUT_POLICY"] = "policies/other.yaml"
    proc = subprocess.run([sys.executable, "-m", "policy_gate.action_entrypoint"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2
    assert "input 'aggregate' reads reports and scans nothing: remove 'policy'" in proc.stderr


def test_org_workflow_fans_out_and_always_fans_in() -> None:
    wf = yaml.safe_load(WORKFLOW.read_text())
    assert wf["permissions"] == {}
    jobs = wf["jobs"]
    scan = jobs["scan"]
    assert scan["strategy"]["fail-fast"] is False
    assert scan["strategy"]["max-parallel"] == "${{ inputs.max-parallel }}"
    assert scan["timeout-minutes"] == "${{ inputs.timeout-minutes }}"
    assert scan["permissions"] == {"contents": "read"}
    gate = next(s for s in scan["steps"] if s.get("uses") == "$/")
    assert gate["with"]["formats"] == "json" and gate["with"]["fail-on-violations"] is False
    assert gate["with"]["output-dir"] == "org-reports/${{ matrix.repository }}"
    upload = scan["steps"][-1]
    assert upload["if"] == "${{ !cancelled() }}" and upload["with"]["path"] == "org-reports/"
    fan_in = jobs["aggregate"]
    assert fan_in["if"] == "${{ !cancelled() }}" and fan_in["needs"] == ["list", "scan"]
    assert fan_in["permissions"] == {}
    download = fan_in["steps"][0]["with"]
    assert upload["with"]["name"].startswith(download["pattern"].rstrip("*"))
    assert download["merge-multiple"] is True
    step = next(s for s in fan_in["steps"] if s.get("uses") == "$/")
    assert step["with"]["aggregate"] == download["path"]
    assert step["with"]["expected"] == "expected.json"


@pytest.mark.parametrize(("given", "file", "expected"), [
    ("mojaloop/a, mojaloop/b\nmojaloop/a", "", '["mojaloop/a", "mojaloop/b"]'),
    ("", "mojaloop/c  # ledger\n\n# none\nmojaloop/d\n", '["mojaloop/c", "mojaloop/d"]'),
    ("mojaloop/a;rm -rf /", "", None),
    ("", "", None),
])
def test_org_workflow_lists_repositories(tmp_path: Path, given: str, file: str,
                                         expected: str | None) -> None:
    """The list job's own script, run as the runner runs `shell: python3 {0}`."""
    step = yaml.safe_load(WORKFLOW.read_text())["jobs"]["list"]["steps"][1]
    script = tmp_path / "list.py"
    script.write_text(step["run"])
    (tmp_path / "repos.txt").write_text(file)
    out = tmp_path / "out"
    out.write_text("")
    env = {"PATH": os.environ["PATH"], "REPOSITORIES": given, "GITHUB_OUTPUT": str(out),
           "REPOSITORIES_FILE": str(tmp_path / "repos.txt") if file else ""}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    if expected is None:
        assert proc.returncode == 1 and "give 1 to 256 owner/name entries" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert out.read_text() == f"repositories={expected}\n"
