"""`policy-gate init` on a repository with existing findings: it must leave the repository
passing, with every finding recorded in the baseline and reported as baselined, when the
gate is run exactly as the generated GitHub workflow and CircleCI job run it (real
scanners). The generated YAML is validated against the CI systems' schemas offline
(check-jsonschema's vendored SchemaStore copies). The same, in the image: test_container_init.py.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, REPO, real_tool
from tests.test_container import read_outputs

SHA = "0123456789abcdef0123456789abcdef01234567"
IMAGE = "ghcr.io/mojaloop/policy-gate@sha256:" + "ab" * 32
GENERATED = (".github/policy-gate.yaml", ".policy-gate/waivers.yaml", ".policy-gate/baseline.json")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout


def legacy_repo(path: Path) -> Path:
    """The example service (flaws of every kind) with its offline advisories, committed on
    main: a repository with existing findings."""
    shutil.copytree(REPO / "examples" / "vulnerable-service", path)
    shutil.copytree(EXAMPLE_ADVISORIES, path / "advisories")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "legacy")
    return path


def init(repo: Path, *args: str, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`policy-gate init` as a user runs it. The policy extends the offline-snapshot one
    (Mojaloop's without the advisory age limit: the example's advisories are a frozen
    snapshot) and names the advisories in the repository, so no test needs the network."""
    argv = [sys.executable, "-m", "policy_gate", "init", str(repo), *args]
    if "--extends" not in args:
        argv += ["--extends", str(OFFLINE_POLICY), "--advisories", "advisories"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})})


def snapshot(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(repo).parts}


def check_schema(schema: str, path: Path) -> None:
    tool = real_tool("check-jsonschema")
    assert tool, "check-jsonschema is pinned in requirements/test.txt"
    proc = subprocess.run([tool, "--builtin-schema", schema, str(path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def assert_all_baselined(repo: Path, report: dict[str, Any]) -> None:
    """The target: verdict pass, every finding recorded in the baseline and shown as such
    (those over the fail threshold with the status `baselined`), none in what init wrote."""
    assert report["verdict"] == "pass"
    findings = report["findings"]
    assert len(findings) >= 20, len(findings)  # the example's flaws were really found
    assert all(f["baselined"] for f in findings), [
        f["path"] for f in findings if not f["baselined"]]
    assert not [f for f in findings if f["status"] == "violation"]
    assert sum(f["status"] == "baselined" for f in findings) >= 15
    baseline = json.loads((repo / ".policy-gate/baseline.json").read_text())
    assert len(baseline["entries"]) == len(findings)
    assert report["baseline"]["entries"] == len(findings)
    written = {*GENERATED, ".github/workflows/policy-gate.yml", ".circleci/config.yml"}
    assert not [f for f in findings if f["path"] in written]
    kinds = {f["category"] for f in findings}
    assert {"sast", "secret", "dependency", "ci"} <= kinds, kinds


def workflow_inputs(workflow: dict[str, Any]) -> dict[str, str]:
    step = next(s for s in workflow["jobs"]["policy-gate"]["steps"] if s.get("id") == "gate")
    return {k: str(v) for k, v in step["with"].items()}


def run_workflow_step(repo: Path, workflow: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """The workflow's gate step as GitHub runs it on a push to main: the action's entry
    point with its `with:` inputs as INPUT_* variables, in the checked-out workspace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update({"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(repo),
                "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main",
                "GITHUB_STEP_SUMMARY": str(repo.parent / "summary.md"),
                "GITHUB_OUTPUT": str(repo.parent / "output.txt"), "NO_COLOR": "1"})
    for name in ("summary.md", "output.txt"):
        (repo.parent / name).write_text("")
    env.update({"INPUT_" + k.upper(): v for k, v in workflow_inputs(workflow).items()})
    return subprocess.run([sys.executable, "-I", "-m", "policy_gate.action_entrypoint"],
                          cwd=repo, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=600)


def circleci_command(config: dict[str, Any]) -> str:
    steps = config["jobs"]["policy-gate"]["steps"]
    return next(s["run"]["command"] for s in steps if isinstance(s, dict) and "run" in s)


def run_circleci_step(repo: Path, command: str, branch: str,
                      results: Path) -> subprocess.CompletedProcess[str]:
    """The job's `run` step as CircleCI's docker executor runs it: bash -eo pipefail in
    the checked-out directory (`policy-gate` on PATH, as in the image). The reports go to
    /tmp/policy-gate-results there; here to a private directory."""
    bindir = repo.parent / "bin"
    bindir.mkdir(exist_ok=True)
    # The image's console script, for the tree under test: never imports from the cwd.
    launcher = bindir / "policy-gate"
    launcher.write_text(f"#!/bin/sh\nPYTHONSAFEPATH=1 PYTHONPATH={shlex.quote(str(REPO))} "
                        f"exec {shlex.quote(sys.executable)} -m policy_gate \"$@\"\n")
    launcher.chmod(0o755)
    command = command.replace("/tmp/policy-gate-results", str(results))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update({"PATH": f"{bindir}:{os.environ['PATH']}", "CIRCLE_BRANCH": branch,
                "CIRCLECI": "true", "NO_COLOR": "1"})
    return subprocess.run(["/bin/bash", "-eo", "pipefail", "-c", command], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)


def test_init_github_leaves_a_legacy_repository_passing(tmp_path: Path) -> None:
    repo = legacy_repo(tmp_path / "service")
    proc = init(repo, "--action-ref", f"mojaloop/policy-gate@{SHA}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    baselined = json.loads((repo / ".policy-gate/baseline.json").read_text())["entries"]
    assert f"({len(baselined)} finding(s) baselined: ci " in proc.stdout
    for step in ("git add", "--baseline .policy-gate/baseline.json", "baseline create"):
        assert step in proc.stdout, proc.stdout

    workflow_path = repo / ".github/workflows/policy-gate.yml"
    check_schema("vendor.github-workflows", workflow_path)
    text = workflow_path.read_text()
    assert f"uses: mojaloop/policy-gate@{SHA} # v" in text  # pinned, version in a comment
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {}
    assert workflow["jobs"]["policy-gate"]["permissions"] == {"contents": "read"}
    assert workflow_inputs(workflow)["baseline"] == ".policy-gate/baseline.json"
    assert workflow_inputs(workflow)["policy"] == ".github/policy-gate.yaml"
    policy = yaml.safe_load((repo / ".github/policy-gate.yaml").read_text())
    assert policy["extends"] == str(OFFLINE_POLICY)
    assert ".github/workflows/policy-gate.yml" in policy["review"]["paths"]
    assert policy["waivers"]["file"] == ".policy-gate/waivers.yaml"

    proc = run_workflow_step(repo, workflow)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((repo / "policy-gate-results/policy-gate.json").read_text())
    assert_all_baselined(repo, report)
    scanners = {s["name"]: s for s in report["scanners"]}
    assert scanners["pip-audit"]["status"] == "ok", scanners["pip-audit"]
    # zizmor read the example's workflow and the generated one, and flagged only the former.
    assert scanners["workflows"]["status"] == "ok"
    assert scanners["workflows"]["files_scanned"] == 2, scanners["workflows"]
    assert read_outputs(tmp_path / "output.txt")["verdict"] == "pass"


def test_init_circleci_job_passes_and_fails_only_what_a_branch_adds(tmp_path: Path) -> None:
    repo = legacy_repo(tmp_path / "service")
    proc = init(repo, "--ci", "circleci", "--image", IMAGE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (repo / ".github/workflows/policy-gate.yml").exists()
    config_path = repo / ".circleci/config.yml"
    check_schema("vendor.circle-ci", config_path)
    config = yaml.safe_load(config_path.read_text())
    job = config["jobs"]["policy-gate"]
    assert job["docker"] == [{"image": IMAGE}]
    steps = job["steps"]
    assert steps[0] == "checkout"
    stored = {next(iter(s)): s[next(iter(s))] for s in steps[2:]}
    assert stored["store_test_results"] == {"path": "/tmp/policy-gate-results/junit",
                                            "when": "always"}
    assert stored["store_artifacts"]["path"] == "/tmp/policy-gate-results"
    assert config["workflows"]["policy-gate"]["jobs"] == ["policy-gate"]
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "adopt policy-gate")

    # On main: a full scan; every old finding is baselined, JUnit is where the job keeps it.
    results = tmp_path / "results"
    proc = run_circleci_step(repo, circleci_command(config), "main", results)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert_all_baselined(repo, json.loads((results / "policy-gate.json").read_text()))
    junit = (results / "junit/policy-gate.xml").read_text()
    assert "<testsuite" in junit and "<failure" not in junit

    # A branch that adds a flaw: diff mode against origin/main fails on it alone.
    clone = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "-b", "feature")
    (clone / "added.py").write_text("import hashlib\n\n\ndef token_digest(token):\n"
                                    "    return hashlib.md5(token.encode()).hexdigest()\n")
    git(clone, "add", "added.py")
    git(clone, "commit", "-qm", "add a flaw")
    results = tmp_path / "branch-results"
    proc = run_circleci_step(clone, circleci_command(config), "feature", results)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((results / "policy-gate.json").read_text())
    violations = [f for f in report["findings"] if f["status"] == "violation"]
    assert violations and {f["path"] for f in violations} == {"added.py"}
    assert "<failure" in (results / "junit/policy-gate.xml").read_text()


def test_circleci_beside_the_mojaloop_build_orb_and_beside_another_config(
        tmp_path: Path) -> None:
    """A Mojaloop service's config (setup: true, the mojaloop/build orb) is not touched:
    the job goes into the file the orb merges. Any other existing config is not touched
    either: the job is printed to add by hand."""
    orb_config = ("version: 2.1\nsetup: true\norbs:\n  build: mojaloop/build@1.1.17\n"
                  "workflows:\n  setup:\n    jobs:\n      - build/workflow:\n"
                  "          context: org-global\n")
    repo = legacy_repo(tmp_path / "orb")
    (repo / ".circleci").mkdir()
    (repo / ".circleci/config.yml").write_text(orb_config)
    proc = init(repo, "--ci", "circleci", "--image", IMAGE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / ".circleci/config.yml").read_text() == orb_config
    additional = yaml.safe_load((repo / ".circleci/additional-workflows.yaml").read_text())
    assert additional["workflows"]["build_and_test"]["jobs"] == [
        {"policy-gate": {"context": "org-global"}}]
    merged = tmp_path / "merged.yml"  # what the orb's merge makes of it: a whole config
    merged.write_text(yaml.safe_dump({"version": 2.1, **additional}))
    check_schema("vendor.circle-ci", merged)
    policy = yaml.safe_load((repo / ".github/policy-gate.yaml").read_text())
    assert ".circleci/additional-workflows.yaml" in policy["review"]["paths"]

    other = "version: 2.1\njobs:\n  test:\n    docker: [{image: node:20}]\n    steps: [checkout]\n"
    repo = tmp_path / "other"
    repo.mkdir()
    (repo / "app.py").write_text("print('hello')\n")
    (repo / ".circleci").mkdir()
    (repo / ".circleci/config.yml").write_text(other)
    git(repo, "init", "-q", "-b", "main")
    proc = init(repo, "--ci", "circleci", "--image", IMAGE, "--extends", str(OFFLINE_POLICY))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / ".circleci/config.yml").read_text() == other
    assert not (repo / ".circleci/additional-workflows.yaml").exists()
    assert ".circleci/config.yml exists and was not changed" in proc.stdout
    printed = proc.stdout[proc.stdout.index("jobs:"):proc.stdout.index("Next steps:")]
    job = yaml.safe_load(printed)["jobs"]["policy-gate"]
    assert job["docker"] == [{"image": IMAGE}]


@pytest.mark.parametrize("case", ["not-a-repo", "subdirectory", "exists", "no-action-ref",
                                  "bad-image", "symlink", "unwritable"])
def test_refusals_are_one_line_exit_2_and_change_nothing(tmp_path: Path, case: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("print('hello')\n")
    args = ["--action-ref", SHA]
    target = repo
    expected = ""
    if case == "not-a-repo":
        expected = "is not a git repository"
    else:
        git(repo, "init", "-q", "-b", "main")
    if case == "subdirectory":
        (repo / "sub").mkdir()
        target, expected = repo / "sub", "run init at its top"
    elif case == "exists":
        (repo / ".policy-gate").mkdir()
        (repo / ".policy-gate/waivers.yaml").write_text("version: 1\n")
        expected = ".policy-gate/waivers.yaml already exists"
    elif case == "no-action-ref":
        args, expected = [], "give --action-ref OWNER/REPO@COMMIT"
    elif case == "bad-image":
        args = ["--ci", "circleci", "--image", "policy-gate:latest"]
        expected = "--image NAME@sha256"
    elif case == "symlink":
        (repo / ".policy-gate").symlink_to(tmp_path)
        expected = "cannot write .policy-gate/waivers.yaml: .policy-gate is a symbolic link"
    elif case == "unwritable":
        (repo / ".github").write_text("a file where the directory goes\n")
        expected = "cannot write .github/policy-gate.yaml"
    before = snapshot(repo)
    proc = init(target, *args, "--extends", str(OFFLINE_POLICY))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert snapshot(repo) == before
    assert {p.name for p in repo.iterdir()} <= {".git", "app.py", "sub", ".policy-gate",
                                                 ".github"}


def test_force_overwrites_and_a_failed_scan_restores_everything(
        tmp_path: Path, scanner_bin: Any) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("import subprocess\nsubprocess.call('ls', shell=True)\n")
    git(repo, "init", "-q", "-b", "main")
    (repo / ".policy-gate").mkdir()
    (repo / ".policy-gate/waivers.yaml").write_text("version: 1\nwaivers: []  # ours\n")
    before = snapshot(repo)

    # A scanner that crashes: no baseline may hide what was never looked at (exit 3), and
    # what init wrote before the scan is taken back, what was there is put back.
    env = scanner_bin({"bandit": "import sys\nsys.exit(70)\n"})
    proc = init(repo, "--action-ref", SHA, "--extends", str(OFFLINE_POLICY), "--force",
                env=env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "no baseline written" in proc.stderr
    assert snapshot(repo) == before
    assert not (repo / ".github").exists()

    proc = init(repo, "--action-ref", SHA, "--extends", str(OFFLINE_POLICY), "--force")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "# ours" not in (repo / ".policy-gate/waivers.yaml").read_text()
    assert json.loads((repo / ".policy-gate/baseline.json").read_text())["entries"]
