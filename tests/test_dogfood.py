"""The gate, run on this repository with its own policy (`.github/policy-gate.yaml`:
Mojaloop's, with each false positive of the gate's own source turned off for one rule in
one file, and why), passes. The checkout itself is scanned, as a maintainer scans it: the
gate reads what git tracks and the untracked files it does not ignore, so a local `.venv`,
`.mypy_cache`, `.hypothesis`, `report.json` or `benchmarks/.work` does not change the
answer, and a fresh clone gives the same one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PYPA_VULNS, REPO

SELF_POLICY = REPO / ".github" / "policy-gate.yaml"


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout")
def test_the_gate_passes_on_its_own_repository(tmp_path: Path) -> None:
    root = REPO
    # The only change to the repository's policy: the shared advisory database is a fixed
    # snapshot, and builtin:mojaloop refuses data more than 2 days old (M4a).
    offline = tmp_path / "offline.yaml"
    # And no registry to ask here: the licences of the gate's own pins (which its lockfiles
    # do not record) cannot be resolved offline, which fails closed (license-unresolved);
    # the licence check itself is tested against recorded registry answers
    # (tests/test_license_resolution.py).
    offline.write_text(
        f"version: 1\nextends: {root / '.github' / 'policy-gate.yaml'}\nname: self-offline\n"
        "advisories: {max_age_days: 100000}\nscanners: {licenses: {enabled: false}}\n"
    )
    report = tmp_path / "self.json"
    done = subprocess.run(
        [sys.executable, "-m", "policy_gate", "scan", str(root), "--policy", str(offline),
         "--advisories", str(PYPA_VULNS), "--format", "json", "--output", str(report)],
        capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    data = json.loads(report.read_text())
    assert data["scan"]["selection"]["by"] == "git", data["scan"]["selection"]
    violations = [f"{f['scanner']}:{f['rule_id']} {f['path']}:{f['start_line']}"
                  for f in data["findings"] if f["status"] == "violation"]
    assert done.returncode == 0, "\n".join([*violations, done.stderr[-2000:]])
    assert data["verdict"] == "pass"
    assert all(s["status"] in ("ok", "disabled") for s in data["scanners"]), data["scanners"]
    # It really looked: the gate's own source went through every scanner that reads it.
    ran = {s["name"]: s for s in data["scanners"]}
    assert ran["bandit"]["files_scanned"] > 50 and ran["semgrep"]["files_scanned"] > 50
    assert ran["kingfisher"]["files_scanned"] > 80
    assert ran["pip-audit"]["files_scanned"] >= 1
    # No waivers, and every rule turned off names a reason, one rule in named files.
    assert not (root / ".policy-gate" / "waivers.yaml").exists()
    policy = yaml.safe_load(SELF_POLICY.read_text())
    for override in policy.get("overrides", []):
        assert override["paths"] and all("*" not in p for p in override["paths"])
        for rule, setting in override["rules"].items():
            assert len(setting["reason"]) > 20, rule
    assert "rules" not in policy, "a rule may be turned off only for named files"
