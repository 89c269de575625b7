"""SARIF as GitHub code scanning reads it (issue 20): categories that keep two scans of one
repository apart, URIs and JUnit ``file`` attributes from the repository root whatever
directory the CLI scans, ``primaryLocationLineHash`` exactly as upload-sarif computes it,
columns, a tool version on every run, and the checks of the SARIF Multitool's GitHub rule
set that apply, written as assertions (the Multitool itself is a .NET tool we cannot run
offline)."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import click
import pytest
from rich.console import Console

from policy_gate import __version__, cli
from policy_gate.base.fileset import FileSet
from policy_gate.base.gitdiff import ChangeSet
from policy_gate.catalogue import ScannerSettings
from policy_gate.reports import sarif
from policy_gate.reports.line_hash import Hasher, line_hashes
from policy_gate.results import HISTORY, ScannerRun, ScanOutput
from policy_gate.scanners.interface import ScanContext, columns
from policy_gate.scanners.semgrep import SemgrepScanner
from tests.conftest import gate_process, make_tree
from tests.sarif_check import assert_valid_sarif, multitool_github_problems
from tests.test_sarif import sast_finding, synthetic

# github/codeql-action src/fingerprints.test.ts, test "hash": the input and the hash the
# TypeScript code gives each of its lines, in order.
UPLOAD_SARIF_VECTORS: dict[str, list[str]] = {
    "": ["c129715d7a2bc9a3:1"],
    " a\nb\n  \t\tc\n d": [
        "271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1",
    ],
    " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End": [
        "8b7cf3e952e7aeb2:1", "b1ae1287ec4718d9:1", "bff680108adb0fcc:1",
        "c6805c5e1288b612:1", "b86d3392aea1be30:1", "e6ceba753e1a442:1",
    ],
    **{
        text: [
            "e9496ae3ebfced30:1", "fb7c023a8b9ccb3f:1", "ce8ba1a563dcdaca:1",
            "e20e36e16fcb0cc8:1", "b3edc88f2938467e:1", "c8e28b0b4002a3a0:1",
            "c129715d7a2bc9a3:1",
        ]
        for text in (
            " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n",
            " hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r",
            " hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n",
            " hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n",
        )
    },
    "Lorem ipsum dolor sit amet.\n" * 10: [
        *(f"a7f2ff13bc495cf2:{n}" for n in range(1, 7)),
        "a7f2ff1481e87703:1", "a9cf91f7bbf1862b:1", "55ec222b86bcae53:1",
        "cc97dc7b1d7d8f7b:1", "c129715d7a2bc9a3:1",
    ],
    "x = 2\nx = 1\nprint(x)\nx = 3\nprint(x)\nx = 4\nprint(x)\n": [
        "e54938cc54b302f1:1", "bb609acbe9138d60:1", "1131fd5871777f34:1",
        "5c482a0f8b35ea28:1", "54517377da7028d2:1", "2c644846cb18d53e:1",
        "f1b89f20de0d133:1", "c129715d7a2bc9a3:1",
    ],
}


@pytest.mark.parametrize("text", list(UPLOAD_SARIF_VECTORS))
def test_line_hashes_are_upload_sarifs(text: str) -> None:
    expected = UPLOAD_SARIF_VECTORS[text]
    got = line_hashes(text)
    # as the TypeScript test checks: one hash per line (CR, LF and CR LF end lines)
    assert list(got) == list(range(1, len(re.split(r"\r\n|\r|\n", text)) + 1))
    assert list(got.values()) == expected
    assert line_hashes(text, {2, 99}) == ({2: expected[1]} if len(expected) > 1 else {})


def test_hasher_reads_the_tree_never_through_a_link(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {"a.py": "x = 2\nx = 1\nprint(x)\n"})
    (root / "link.py").symlink_to(root / "a.py")
    hasher = Hasher(root, {"a.py": {2}, "link.py": {1}})
    assert hasher.get("a.py", 2) == line_hashes("x = 2\nx = 1\nprint(x)\n")[2]
    assert hasher.get("a.py", 40) is None  # past the end: upload-sarif gives none either
    assert hasher.get("link.py", 1) is None and hasher.get("gone.py", 1) is None
    assert set(hasher.why) == {"link.py", "gone.py"}
    assert "does not exist" in hasher.why["gone.py"]


# ----------------------------------------------------------------------- categories


def _ids(doc: dict[str, Any]) -> dict[str, str]:
    return {run["tool"]["driver"]["name"]: run["automationDetails"]["id"] for run in doc["runs"]}


def _upload_sarif_category(run: dict[str, Any], category: str) -> str:
    """What github/codeql-action/upload-sarif and code scanning make of a run
    (upload-lib.ts populateRunAutomationDetails: the ``category`` input, with a ``/``
    added, only for a run without automationDetails; docs.github.com "SARIF support for
    code scanning", runAutomationDetails: the category is the id up to its last ``/``)."""
    details = run.get("automationDetails") or {"id": category.rstrip("/") + "/"}
    ident: str = details["id"]
    return ident.rsplit("/", 1)[0] if "/" in ident else ""


def test_two_directories_and_every_scanner_get_their_own_category() -> None:
    findings = [sast_finding("a.py", 1), sast_finding("b.py", 2, scanner="semgrep", rule="r", n=1)]
    top = synthetic(findings)
    # the repository's top: the ids of earlier versions, so no alert is orphaned
    assert _ids(sarif.build(top)) == {
        name: f"policy-gate/{name}/"
        for name in ("bandit", "detect-secrets", "pip-audit", "policy-gate", "safety", "semgrep")
    }
    api = dataclasses.replace(top, path_prefix="services/api/")
    web = dataclasses.replace(top, path_prefix="services/web/")
    named = dataclasses.replace(top, sarif_category="mono/api")
    assert _ids(sarif.build(api))["bandit"] == "policy-gate/services/api/bandit/"
    assert _ids(sarif.build(named))["semgrep"] == "mono/api/semgrep/"
    # a matrix over directories, each uploaded with the same upload-sarif `category:`
    # input: GitHub's analyses (tool, category) never coincide
    seen: list[tuple[str, str]] = []
    for data in (top, api, web, named):
        for run in sarif.build(data)["runs"]:
            seen.append((run["tool"]["driver"]["name"], _upload_sarif_category(run, "ignored")))
    assert len(seen) == len(set(seen)) == 24
    assert all(category != "ignored" for _tool, category in seen)


def test_diff_mode_runs_have_categories_of_their_own() -> None:
    data = synthetic([sast_finding("a.py", 1)])
    changes = ChangeSet("origin/main", "a" * 40, "b" * 40, files={}, deleted=(), renamed={})
    diff = dataclasses.replace(data, result=dataclasses.replace(data.result, changes=changes),
                               path_prefix="svc/")
    ids = _ids(sarif.build(diff))
    assert ids["bandit"] == "policy-gate/svc/bandit/diff/"
    assert ids["pip-audit"] == "policy-gate/svc/pip-audit/"  # reads every manifest


def test_sarif_category_option_is_checked() -> None:
    assert cli._category(None) == ""
    assert cli._category(" mono/api/ ") == "mono/api"
    for bad in ("", "///", "a\nb", "x\x1b[0m"):
        with pytest.raises(click.BadParameter):
            cli._category(bad)


def test_repository_root_is_found_or_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    err = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - closed with the process
    repo = make_tree(tmp_path / "repo", {"svc/api/a.py": "x = 1\n"})
    (repo / ".git").mkdir()
    plain = make_tree(tmp_path / "plain", {"svc/a.py": "x = 1\n"})
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    assert cli._repo_prefix(repo / "svc" / "api", None, False, err) == "svc/api/"
    assert cli._repo_prefix(repo, None, False, err) == ""
    assert cli._repo_prefix(plain / "svc", None, False, err) == ""  # not in git: itself
    assert cli._repo_prefix(plain / "svc", plain, False, err) == "svc/"
    monkeypatch.setenv("GITHUB_WORKSPACE", str(plain))
    assert cli._repo_prefix(plain / "svc", None, True, err) == "svc/"  # GitHub: the workspace
    assert cli._repo_prefix(plain / "svc", None, False, err) == ""
    with pytest.raises(SystemExit) as exc:
        cli._repo_prefix(plain, repo, False, err)
    assert exc.value.code == 2


# ----------------------------------------------------------------------- versions, columns


def test_every_run_names_its_tools_version() -> None:
    data = synthetic([sast_finding("a.py", 1)])
    history = ScannerRun(HISTORY, "ok", "", "", 0.1, ScanOutput([], "", 0, 0))
    engine = ScannerRun(HISTORY, "ok", "", "1.2.3", 0.1, ScanOutput([], "1.2.3", 0, 0))
    for run in (history, engine):
        result = dataclasses.replace(data.result, runs=[*data.result.runs, run])
        doc = sarif.build(dataclasses.replace(data, result=result))
        (searched,) = [r for r in doc["runs"] if r["tool"]["driver"]["name"] == HISTORY]
        assert searched["tool"]["driver"]["version"] == __version__  # the gate's own search
        assert searched["properties"]["scanner"].get("engineVersion", "") == run.version
        assert not multitool_github_problems(doc)


def test_columns_are_one_based_and_consistent() -> None:
    assert columns(0, 17, 0, True) == (1, 18)  # bandit: AST offsets
    assert columns(5, 9, 1, True) == (5, 9)  # semgrep: already 1-based
    assert columns(11, 5, 0, False) == (12, 6)  # ends on a later line
    assert columns(11, 5, 0, True) == (12, None)  # one line, end before start: dropped
    assert columns("1", None, 1, True) == (None, None)
    assert columns(0, 5, 0, True, "x = 'é'") == (None, None)  # bytes vs UTF-16: none
    assert columns(0, 5, 0, True, "x = 'e'") == (1, 6)
    finding = dataclasses.replace(sast_finding("a.py", 3), start_column=5, end_column=9)
    (run,) = [r for r in sarif.build(synthetic([finding]))["runs"] if r["results"]]
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 9}


def test_semgrep_columns_are_kept(tmp_path: Path) -> None:
    """semgrep's JSON (recorded from semgrep 1.185 on this file with `pattern: eval(...)`)
    counts columns from 1 and ends after the match, as SARIF does."""
    root = make_tree(tmp_path / "t", {"a.js": "x = 1;\nres.send(eval(req.query.code));\n"})
    ctx = ScanContext(fileset=FileSet(root, ("a.js",)), settings=ScannerSettings())
    item = {"check_id": "rules.ev", "path": "a.js",
            "start": {"line": 2, "col": 10, "offset": 16},
            "end": {"line": 2, "col": 30, "offset": 36},
            "extra": {"message": "m", "severity": "ERROR", "metadata": {}}}
    found = SemgrepScanner()._finding(ctx, item, "results[0]", {})
    assert (found.start_column, found.end_column) == (10, 30)
    (run,) = [r for r in sarif.build(synthetic([found]))["runs"] if r["results"]]
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "startColumn": 10, "endLine": 2, "endColumn": 30}


# ----------------------------------------------------------------------- the Multitool's rules


def test_multitool_checks_catch_what_they_check() -> None:
    good = sarif.build(synthetic([sast_finding("a.py", 1)]))
    assert multitool_github_problems(good) == []
    bad = json.loads(json.dumps(good))
    del bad["runs"][0]["tool"]["driver"]["version"]
    result = bad["runs"][0]["results"][0]
    result["message"] = {"id": "default", "arguments": []}
    physical = result["locations"][0]["physicalLocation"]
    physical["artifactLocation"]["uri"] = "file:///work/a.py"
    physical["region"] = {"startColumn": 3}
    assert [p.split(":")[0] for p in multitool_github_problems(bad)] == [
        "SARIF2005", "GH1007", "GH1005/GH1006", "GH1003",
    ]


# ----------------------------------------------------------------------- the CLI, end to end

FLAWS = """\
import hashlib, subprocess


def run(cmd):
    return subprocess.call(
        cmd,
        shell=True,
    )


value = eval("1 + 1")
digest = hashlib.md5(b"x")
"""


@pytest.fixture(scope="module")
def cli_scan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One CLI scan (bandit only, outside GitHub mode) of a subdirectory of a git work tree,
    writing SARIF and JUnit: the reports every test below reads."""
    work = tmp_path_factory.mktemp("cli")
    repo = make_tree(work / "repo", {"svc/app.py": FLAWS, "README.md": "x\n"})
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    out = work / "out"
    run = gate_process(work, repo / "svc", "--scanner", "bandit", "--no-github",
                       "--format", "sarif", "--output", str(out / "r.sarif"),
                       "--format", "junit", "--output", str(out / "r.xml"),
                       env={"GITHUB_ACTIONS": "", "GITHUB_WORKSPACE": ""})
    assert run.code == 1, run.stderr  # md5 is a violation, the rest below the threshold
    return {
        "sarif": json.loads((out / "r.sarif").read_text()),
        "junit": ElementTree.parse(out / "r.xml").getroot(),
        "repo": repo,
    }


def test_cli_sarif_names_repository_paths_with_line_hashes(cli_scan: dict[str, Any]) -> None:
    doc = cli_scan["sarif"]
    assert_valid_sarif(doc)
    assert multitool_github_problems(doc) == []
    (bandit,) = [r for r in doc["runs"] if r["tool"]["driver"]["name"] == "bandit"]
    assert bandit["automationDetails"]["id"] == "policy-gate/svc/bandit/"
    root_uri = bandit["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert root_uri == cli_scan["repo"].resolve().as_uri() + "/"
    text = (cli_scan["repo"] / "svc" / "app.py").read_text()
    hashes = line_hashes(text)
    by_rule = {r["ruleId"]: r for r in bandit["results"]}
    for result in by_rule.values():
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "svc/app.py"
        line = physical["region"]["startLine"]
        assert result["partialFingerprints"]["primaryLocationLineHash"] == hashes[line]
        assert len(result["partialFingerprints"]["policyGate/v1"]) == 32
    # bandit's columns, 1-based; the shell=True finding is reported on the keyword's line,
    # inside a call that starts above it, so its offsets (the call's) are left out
    assert by_rule["B307"]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 11, "startColumn": 9, "endLine": 11, "endColumn": 22,
    }
    shell = by_rule["B602"]["locations"][0]["physicalLocation"]["region"]
    assert shell == {"startLine": 7, "endLine": 8}


def test_cli_junit_files_agree_with_sarif(cli_scan: dict[str, Any]) -> None:
    cases = [case for case in cli_scan["junit"].iter("testcase") if case.get("file")]
    assert cases and {case.get("file") for case in cases} == {"svc/app.py"}
    assert all(case.get("name", "").endswith(" app.py:12") for case in cases)  # root-relative


def test_kingfisher_columns_are_kept() -> None:
    """kingfisher 2.14's JSON for an access key id at the start of a line (recorded: line 1,
    column_start 0, column_end 19 for the 20-character id): 0-based, the end inclusive."""
    from policy_gate.findings import Confidence
    from policy_gate.scanners import kingfisher

    key = "AKIA" + "IOSFODNN7EXAMPLF"

    class Lines(kingfisher._Lines):
        def __init__(self, text: str) -> None:
            self.cache = {"c.py": text.split("\n")}
            self.by_rel = {}

    found = kingfisher._Result("kingfisher.aws.1", "AWS Access Key ID", key, "c.py", 1,
                               Confidence.HIGH, "line 1", 0, 19)
    finding = kingfisher.to_finding(found, Lines(f"{key}\nx = 1\n"))
    assert (finding.start_column, finding.end_column) == (1, 21)
    other = kingfisher.to_finding(found, Lines(f"{key}\u00e9\n"))
    assert (other.start_column, other.end_column) == (None, None)  # not ASCII
