"""The osv scanner: npm lockfiles matched against an offline OSV database or an
OSV-compatible API, through the runner and the full gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policy_gate.advisories.database import AdvisoryIndex
from policy_gate.base.fileset import walk
from policy_gate.base.process import ScannerError
from policy_gate.catalogue import ScannerSettings
from policy_gate.osv.server import OSVServer
from policy_gate.policy.evaluate import evaluate
from policy_gate.policy.loader import load_policy
from policy_gate.runner import scan
from policy_gate.scanners.interface import ScanContext
from policy_gate.scanners.osv import OSVScanner, api_base
from tests.conftest import EXTENDS_OFFLINE, OFFLINE_POLICY, make_tree
from tests.test_advisories import NPM_RECORDS

LOCK = {
    "name": "svc", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
    "packages": {
        "": {"name": "svc", "version": "1.0.0", "dependencies": {"web": "1.0.0"},
             "devDependencies": {"lib-f": "1.0.0"}},
        "node_modules/web": {"version": "1.0.0", "license": "MIT",
                             "dependencies": {"left-pad": "^1.0.0", "lib-g": "1.0.0"}},
        "node_modules/left-pad": {"version": "1.2.0", "license": "WTFPL"},
        "node_modules/lib-g": {"version": "1.0.0"},
        "node_modules/lib-f": {"version": "1.0.0", "dev": True},
        "node_modules/lib-c": {"version": "3.0.0"},  # not affected (fixed in rc.2)
    },
}


@pytest.fixture
def npm_db_dir(tmp_path: Path) -> Path:
    root = tmp_path / "npm-db"
    root.mkdir()
    for record in NPM_RECORDS:
        (root / f"{record['id']}.json").write_text(json.dumps(record))
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "repo", {"svc/package-lock.json": json.dumps(LOCK, indent=2)})


def ctx_for(root: Path, **kw: Any) -> ScanContext:
    return ScanContext(fileset=walk(root), settings=ScannerSettings(timeout=30), **kw)


def by_package(findings: list[Any]) -> dict[str, Any]:
    return {f.dependency.package: f for f in findings if f.dependency}


def test_offline_findings(repo: Path, npm_db_dir: Path) -> None:
    out = OSVScanner().scan(ctx_for(repo, advisory_db=AdvisoryIndex.load(npm_db_dir)))
    found = by_package(out.findings)
    assert set(found) == {"left-pad", "lib-g", "lib-f"}
    assert len(out.findings) == out.raw_results == 3  # the alias pair is one finding
    pad = found["left-pad"]
    assert pad.flaw_key == "GHSA-aaaa-bbbb-cccc" and pad.dependency.aliases == ("CVE-2020-0001",)
    assert pad.severity is not None and pad.severity.label == "critical"
    assert pad.dependency.direct is False and pad.dependency.path == ("web@1.0.0",
                                                                      "left-pad@1.2.0")
    assert pad.dependency.fix_version == "1.3.0" and pad.dependency.license == "WTFPL"
    assert "transitive" in pad.message and "through web@1.0.0" in pad.message
    assert "Upgrade to 1.3.0" in pad.message
    assert pad.path == "svc/package-lock.json" and pad.start_line is not None
    assert found["lib-g"].severity is None  # ungraded: graded by the policy default
    assert found["lib-f"].dependency.dev and found["lib-f"].dependency.direct
    assert {p.ref for p in out.inventory} == {"web@1.0.0", "left-pad@1.2.0", "lib-g@1.0.0",
                                              "lib-f@1.0.0", "lib-c@3.0.0"}


def test_api_path_against_a_local_osv_server(repo: Path, npm_db_dir: Path) -> None:
    index = AdvisoryIndex.load(npm_db_dir)
    offline = OSVScanner().scan(ctx_for(repo, advisory_db=index))
    with OSVServer(index) as server:
        online = OSVScanner().scan(ctx_for(repo, osv_url=server.query_url))
    assert [(f.flaw_key, f.dependency, f.severity) for f in online.findings] == [
        (f.flaw_key, f.dependency, f.severity) for f in offline.findings]
    assert api_base("https://api.osv.dev/v1/query") == "https://api.osv.dev"
    assert api_base(None) == "https://api.osv.dev"


def test_unreachable_api_fails_closed(repo: Path) -> None:
    with pytest.raises(ScannerError) as caught:
        OSVScanner().scan(ctx_for(repo, osv_url="http://127.0.0.1:9"))
    assert caught.value.reason == (
        "cannot reach the OSV service at http://127.0.0.1:9/v1/querybatch (the connection "
        "was refused), so the npm packages cannot be audited; audit offline with "
        "--advisories DIR (an OSV database: a directory of records or an all.zip) or give "
        "--osv-url URL (an OSV mirror); the policy's advisories.database and "
        "advisories.osv_url do the same")


def test_malformed_lockfile_is_unscanned(tmp_path: Path, npm_db_dir: Path) -> None:
    root = make_tree(tmp_path / "r", {"package-lock.json": '{"lockfileVersion": 3,'})
    out = OSVScanner().scan(ctx_for(root, advisory_db=AdvisoryIndex.load(npm_db_dir)))
    [f] = out.findings
    assert f.category == "unscanned" and "not valid JSON" in f.message


def test_gate_end_to_end_with_policy_default_severity(gate: Any, repo: Path,
                                                     npm_db_dir: Path) -> None:
    run = gate(repo, "--advisories", str(npm_db_dir), "--scanner", "osv")
    assert run.report is not None, run.output
    assert run.scanner("osv")["status"] == "ok"
    assert run.code == 1  # the mojaloop policy fails on any vulnerable dependency
    decisions = {d["fingerprint"]: d for d in run.report.get("decisions", [])}
    graded = {f["dependency"]["package"]: f for f in run.findings(category="dependency")}
    assert graded["lib-g"]["severity"] is None
    if decisions:  # the evaluated severity: the policy's default for dependencies (high)
        assert decisions[graded["lib-g"]["fingerprint"]]["effective_severity"] == "high"
    adv = run.report["scan"]["advisories"]
    assert adv["records"] == len(NPM_RECORDS) - 1 and adv["withdrawn"] == 1
    assert adv["newest"] == "2025-06-01T00:00:00Z"


def test_stale_database_fails_closed_under_mojaloop(gate: Any, repo: Path,
                                                    npm_db_dir: Path) -> None:
    run = gate(repo, "--policy", "builtin:mojaloop", "--advisories", str(npm_db_dir),
               "--scanner", "osv", "--scanner", "pip-audit")
    assert run.code == 3, run.output
    assert run.report is not None
    for name in ("osv", "pip-audit"):
        reason = run.scanner(name)["reason"]
        assert run.scanner(name)["status"] == "failed"
        assert "newest record 2025-06-01 is" in reason
        assert "days old; the policy allows 2 (M4a)" in reason


def test_dev_only_dependencies_use_dev_fail(tmp_path: Path, repo: Path,
                                            npm_db_dir: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        EXTENDS_OFFLINE + "\ncategories:\n  dependency:\n"
        "    dev_fail: {severity: critical, confidence: low}\n"
    )
    policy = load_policy(str(policy_file))
    result = scan(repo, policy, only=["osv"], advisories=str(npm_db_dir))
    ev = evaluate(policy, result.findings, (r.outcome for r in result.runs))
    status = {d.finding.dependency.package: d.status.value
              for d in ev.decisions if d.finding.dependency}
    # lib-f is dev-only and MEDIUM: below dev_fail; the production ones still fail
    assert status["lib-f"] != "violation"
    assert status["left-pad"] == "violation" and status["lib-g"] == "violation"
    strict = load_policy(str(OFFLINE_POLICY))
    ev2 = evaluate(strict, result.findings, (r.outcome for r in result.runs))
    assert {d.finding.dependency.package: d.status.value for d in ev2.decisions
            if d.finding.dependency}["lib-f"] == "violation"
    assert result.advisory_info is not None and result.advisory_info.records > 0
