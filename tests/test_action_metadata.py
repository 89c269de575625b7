"""Static checks of the GitHub Action, its image and the example workflows: schema
validation (check-jsonschema's vendored SchemaStore schemas), hadolint, zizmor (offline),
and consistency between action.yml, the entrypoint, the Dockerfile and pyproject.toml."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_gate import action_entrypoint as ae

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is missing: pip install -r requirements/test.txt"
    return found


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    data = load(REPO / "action.yml")
    assert isinstance(data, dict)
    return data


def test_action_yml_matches_the_schema() -> None:
    proc = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions",
               "action.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_match_the_schema(workflow: Path) -> None:
    proc = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
               str(workflow))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_finds_nothing() -> None:
    proc = run(tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_has_no_warnings() -> None:
    proc = run(tool("hadolint"), "--failure-threshold", "style", "Dockerfile")
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_inputs_match_the_entrypoint(action: dict[str, Any]) -> None:
    inputs = action["inputs"]
    assert list(inputs) == list(ae.INPUT_DEFAULTS)
    for name, spec in inputs.items():
        assert len(spec["description"]) > 60, f"input {name}: say what to put, what happens"
        assert spec.get("required") is False, name
        default = str(spec.get("default", ""))
        if name == "github-token":
            assert default == "${{ github.token }}"
        else:
            assert default == (ae.INPUT_DEFAULTS[name] or ""), name


def test_outputs_match_the_entrypoint(action: dict[str, Any], tmp_path: Path) -> None:
    report = {"verdict": "fail", "summary": {"findings": 1, "by_status": {"violation": 1}}}
    produced = ae.step_outputs(1, report, {})
    assert set(action["outputs"]) == set(produced)
    for name, spec in action["outputs"].items():
        assert len(spec["description"]) > 40, name


def test_runs_and_branding(action: dict[str, Any]) -> None:
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert action["branding"]["icon"] == "shield"
    assert "diff-base" in action["inputs"] and "fetch-depth: 0" in (
        action["inputs"]["diff-base"]["description"])
    assert "NEVER" in action["inputs"]["fail-on-violations"]["description"]


def test_dockerfile_contract() -> None:
    text = (REPO / "Dockerfile").read_text()
    first_from = text.index("\nFROM ")
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", text[:first_from], re.M)
    assert base and re.fullmatch(r"python:3\.12-slim-bookworm@sha256:[0-9a-f]{64}", base[1])
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert [s.split()[0] for s in stages] == ["${BASE_IMAGE}", "${BASE_IMAGE}"]
    builder, final = stages
    assert "ARG PIP_CERT" in builder and "PIP_CERT" not in final
    assert "--require-hashes" in builder and "--only-binary=:all:" in builder
    assert "--no-deps" in builder
    assert "\nUSER 1001:1001\n" in final
    assert "safe.directory /github/workspace" in final
    assert '"-I", "-m", "policy_gate.action_entrypoint"' in final
    assert "--no-install-recommends" in final and "rm -rf /var/lib/apt/lists/*" in final


def test_dockerignore_is_an_allow_list() -> None:
    lines = [ln for ln in (REPO / ".dockerignore").read_text().splitlines()
             if ln and not ln.startswith("#")]
    assert lines[0] == "*"
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", (REPO / "Dockerfile").read_text(), re.M)
    for sources in copied:
        for src in sources.split():
            assert f"!{src}" in lines or f"!{src.rstrip('/')}/" in lines, src


def test_scanner_lock_covers_scanners_txt() -> None:
    def names(path: Path) -> dict[str, str]:
        pins = re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", path.read_text(), re.M)
        return {re.sub(r"[-_.]+", "-", n).lower(): v for n, v in pins}

    lock = names(REPO / "requirements" / "scanners.lock.txt")
    wanted = names(REPO / "requirements" / "scanners.txt")
    assert {k: lock.get(k) for k in wanted} == wanted
    blocks = re.split(r"\n(?=[A-Za-z])", (REPO / "requirements/scanners.lock.txt").read_text())
    for block in blocks[1:]:
        assert "--hash=sha256:" in block, block.splitlines()[0]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_actions_are_pinned_by_sha(workflow: Path) -> None:
    for line in workflow.read_text().splitlines():
        m = re.match(r"^\s*(?:- )?uses: (.+)$", line)
        if m and not m[1].startswith(("$/", "./")):
            assert SHA_PIN.match(m[1]), f"{workflow.name}: {m[1]} is not pinned by commit SHA"


def test_example_workflow_permissions() -> None:
    wf = load(REPO / ".github" / "workflows" / "policy-gate.yml")
    assert wf["permissions"] == {}
    job = wf["jobs"]["policy-gate"]
    assert job["permissions"] == {"contents": "read", "security-events": "write",
                                  "pull-requests": "write"}
    reusable = load(REPO / ".github" / "workflows" / "reusable-policy-gate.yml")
    assert "workflow_call" in reusable[True]  # YAML 1.1 reads the key `on` as True


def test_pre_commit_hook() -> None:
    hooks = load(REPO / ".pre-commit-hooks.yaml")
    hook = next(h for h in hooks if h["id"] == "policy-gate")
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert hook["entry"].startswith("policy-gate scan")
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["scanners"]
    assert sorted(hook["additional_dependencies"]) == sorted(extra)
