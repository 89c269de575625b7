"""`policy-gate scan` in GitHub Actions mode, end to end: annotations on stdout with
repository paths, the job summary, step outputs, every report format and the sticky
comment, from a real scan of a subdirectory of the workspace."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

from policy_gate.github import read_outputs
from tests.conftest import make_tree
from tests.sarif_check import assert_valid_sarif
from tests.test_github import TOKEN, FakeGitHub, fake_github  # noqa: F401 - fixture

FLAW = "import hashlib, subprocess\n\n\ndef run(cmd):\n    hashlib.md5(cmd)\n"


def test_github_mode_end_to_end(gate, tmp_path: Path, fake_github: FakeGitHub) -> None:  # noqa: F811
    workspace = tmp_path / "workspace"
    make_tree(workspace / "services" / "api", {"worker.py": FLAW})
    summary = tmp_path / "summary.md"
    outputs = tmp_path / "outputs.txt"
    event = tmp_path / "event.json"
    head = "a" * 40
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": head}}}))
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_REPOSITORY": "mojaloop/central-ledger",
        "GITHUB_SHA": "b" * 40,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_TOKEN": TOKEN,
    }
    reports = tmp_path / "out"
    args = [
        "--scanner",
        "bandit",
        "--pr-comment",
        "--format",
        "sarif",
        "--output",
        str(reports / "r.sarif"),
        "--format",
        "junit",
        "--output",
        str(reports / "r.xml"),
        "--format",
        "markdown",
        "--output",
        str(reports / "r.md"),
    ]
    run = gate(workspace / "services" / "api", *args, env=env)
    assert run.code == 1, run.output

    errors = [line for line in run.stdout.splitlines() if line.startswith("::error ")]
    assert any("file=services/api/worker.py,line=5" in line for line in errors), errors

    text = summary.read_text()
    assert text.lstrip().startswith("#") or "FAIL" in text.splitlines()[0]
    assert "FAIL" in text[:200]
    assert (
        f"https://github.com/mojaloop/central-ledger/blob/{head}/services/api/worker.py#L5" in text
    )

    out = read_outputs(outputs)
    assert out["verdict"] == "fail" and out["exit-code"] == "1"
    assert int(out["violations"]) >= 1
    assert out["report-sarif"].endswith("r.sarif")

    sarif = json.loads((reports / "r.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert_valid_sarif(sarif)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for run_ in sarif["runs"] for r in run_.get("results", [])
    }
    assert "services/api/worker.py" in uris
    # JUnit names the same repository paths as SARIF and the annotations (issue 20)
    junit_files = {case.get("file") for case in ElementTree.parse(reports / "r.xml").iter(
        "testcase") if case.get("file")}
    assert junit_files and junit_files <= uris
    assert "FAIL" in (reports / "r.md").read_text()[:200]
    assert TOKEN not in run.output

    posts = [c for c in fake_github.calls if c[0] == "POST"]
    assert len(posts) == 1
    assert posts[0][2]["authorization"] == f"Bearer {TOKEN}"
    # a second push updates the same comment instead of adding one
    run = gate(workspace / "services" / "api", *args, env=env)
    assert run.code == 1
    assert len([c for c in fake_github.calls if c[0] == "POST"]) == 1
    assert len([c for c in fake_github.calls if c[0] == "PATCH"]) == 1


def test_outside_github_no_workflow_commands(gate, tree) -> None:
    run = gate(tree({"worker.py": FLAW}), "--scanner", "bandit", env={"GITHUB_ACTIONS": ""})
    assert run.code == 1
    assert "::error" not in run.stdout


def test_every_sarif_the_cli_writes_is_valid(gate, tree, tmp_path: Path) -> None:
    out = tmp_path / "r.sarif"
    run = gate(
        tree({"worker.py": FLAW, "deps/requirements.txt": "jinja2==2.10\n"}),
        "--format",
        "sarif",
        "--output",
        str(out),
    )
    assert run.code == 1
    assert_valid_sarif(json.loads(out.read_text()))
