"""The Docker image, built and run the way GitHub runs a Docker action.

No Docker engine here: ../shared/container/build-image.sh builds the Dockerfile with buildah
on a debootstrapped Debian bookworm base, and run-image.sh runs the image's ENTRYPOINT as
its USER with the workspace mounted at /github/workspace (see ../shared/container/README.md).
This test is part of CI. It is skipped only when buildah/podman/debootstrap are missing and
cannot be installed (not root, or apt fails); any other failure is a failure.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_gate.reports import json_report
from tests.report_schema import assert_valid_report

REPO = Path(__file__).resolve().parents[1]
CONTAINER = REPO.parent / "shared" / "container"
# One tag per test process, removed afterwards: repeated or concurrent runs never trip over
# (or delete) each other's image, and vfs copies of old images do not pile up.
TAG = f"localhost/policy-gate:test-{os.getpid()}"
STORE = ["--storage-driver", "vfs"]
UID = 1001
TOOLS = ("buildah", "podman", "debootstrap")


def _ensure_tools() -> None:
    if all(shutil.which(t) for t in TOOLS):
        return
    if os.geteuid() != 0:
        pytest.skip(f"{', '.join(TOOLS)} are missing and only root can install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *TOOLS]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if proc.returncode != 0:
            pytest.skip(f"cannot install {', '.join(TOOLS)}: {' '.join(cmd)} failed: "
                        f"{(proc.stderr or proc.stdout)[-500:]}")


def _buildah(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["buildah", *STORE, *args], capture_output=True, text=True,
                          check=check, timeout=600)


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *STORE, *args], capture_output=True, text=True,
                          check=check, timeout=600)


BUILD_TIMEOUT = 1800
# The build's exit code is written here when it ends, so that any process can wait for it:
# under pytest-xdist the controller builds and a worker runs the container tests.
EXIT_CODE = "exit-code"


@dataclass
class Build:
    """The image build started in the background at the session's start (see
    start_build): where its log and exit code go, and the tag it builds."""
    folder: Path
    tag: str
    proc: subprocess.Popen[bytes] | None = None  # None where another process started it

    @property
    def log(self) -> Path:
        return self.folder / "image-build.log"

    def wait(self) -> int:
        """The build's exit code, once it has ended."""
        code = self.folder / EXIT_CODE
        deadline = time.monotonic() + BUILD_TIMEOUT  # a hung build, not a slow one
        while not code.exists():
            if self.proc is not None and self.proc.poll() is not None and not code.exists():
                pytest.fail(f"the image build was ended before it wrote {code}")
            if self.proc is None and not self.log.exists():
                pytest.fail(f"the image build in {self.folder} is gone")
            if time.monotonic() > deadline:
                pytest.fail(f"the image build did not end within {BUILD_TIMEOUT}s")
            time.sleep(1)
        return int(code.read_text())


BACKGROUND: list[Build] = []


def start_build(folder: Path, tag: str = TAG) -> None:
    """Start building the image now, while the rest of the suite runs: the build takes
    minutes (downloads, layer copies under vfs) with a core mostly idle. Only where the
    tools are already there; otherwise the `image` fixture installs them, or skips."""
    if BACKGROUND or not CONTAINER.is_dir() or not all(shutil.which(t) for t in TOOLS):
        return
    build = Build(folder, tag)
    code = folder / EXIT_CODE
    with build.log.open("wb") as out:
        build.proc = subprocess.Popen(
            ["bash", "-c", 'bash "$0" Dockerfile . "$1"; echo $? >"$2.part"; mv "$2.part" "$2"',
             str(CONTAINER / "build-image.sh"), tag, str(code)],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # so that stop_build ends buildah too
        )
    BACKGROUND.append(build)


def stop_build() -> None:
    """At the session's end: end a background build nobody waited for (the session was
    interrupted), remove its image if no test did, and its log."""
    for build in BACKGROUND:
        assert build.proc is not None
        if build.proc.poll() is None:
            os.killpg(build.proc.pid, signal.SIGKILL)
        build.proc.wait()
        _buildah("rmi", "--force", build.tag, check=False)
        shutil.rmtree(build.folder, ignore_errors=True)


def _build(config: pytest.Config) -> tuple[int, str, str]:
    """The build's exit code, the end of its output and its tag: the background build if
    this process or the xdist controller started one, else one started here."""
    shared = getattr(config, "workerinput", {}).get("policy_gate_image_build")
    if BACKGROUND or (shared and (Path(shared["folder"]) / "image-build.log").exists()):
        build = BACKGROUND[0] if BACKGROUND else Build(Path(shared["folder"]), shared["tag"])
        code = build.wait()
        return code, build.log.read_text(errors="replace")[-8000:], build.tag
    proc = subprocess.run(
        ["bash", str(CONTAINER / "build-image.sh"), "Dockerfile", ".", TAG],
        cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )
    return proc.returncode, f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}", TAG


@pytest.fixture(scope="module")
def image(request: pytest.FixtureRequest) -> Iterator[str]:
    if not CONTAINER.is_dir():
        pytest.fail(f"{CONTAINER} is missing: the container scripts come with ../shared")
    _ensure_tools()
    started = time.monotonic()
    code, log, tag = _build(request.config)
    assert code == 0, f"image build failed:\n{log}"
    print(f"waited {time.monotonic() - started:.0f}s for the image")
    try:
        yield tag
    finally:
        _buildah("rmi", "--force", tag, check=False)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A GitHub-like workspace: the example service, with its offline advisories inside,
    owned by the runner's uid like /github/workspace on GitHub-hosted runners."""
    ws = tmp_path / "workspace"
    shutil.copytree(REPO / "examples" / "vulnerable-service", ws)
    shutil.copytree(REPO / "examples" / "advisories", ws / "advisories")
    # The example's advisories are a frozen snapshot; this policy lifts only the M4a age
    # limit (see examples/policy.yaml).
    shutil.copy(REPO / "examples" / "policy.yaml", ws / "policy-gate.yaml")
    (ws / ".runner").mkdir()  # stands in for /github/file_commands
    for name in ("step_summary.md", "output.txt"):
        (ws / ".runner" / name).write_text("")
    for path in (ws, *ws.rglob("*")):
        os.chown(path, UID, UID, follow_symlinks=False)
    return ws


def run_action(image: str, ws: Path, **inputs: str) -> subprocess.CompletedProcess[str]:
    # Inputs are spelled with underscores (INPUT_FAIL_ON_VIOLATIONS), which the entrypoint
    # also accepts: run-image.sh forwards variables with bash's ${!name}, which cannot read
    # the hyphenated names the GitHub runner uses (those are unit-tested).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update({
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_STEP_SUMMARY": "/github/workspace/.runner/step_summary.md",
        "GITHUB_OUTPUT": "/github/workspace/.runner/output.txt",
        "GITHUB_REPOSITORY": "mojaloop/example-service",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_REF": "refs/pull/7/merge",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "1",
    })
    env.update({"INPUT_" + k.upper(): v for k, v in inputs.items()})
    return subprocess.run(["bash", str(CONTAINER / "run-image.sh"), image, str(ws)],
                          capture_output=True, text=True, env=env, timeout=1200)


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a $GITHUB_OUTPUT file: `name=value` and `name<<DELIM … DELIM` entries."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


def _check_sarif(path: Path) -> dict[str, Any]:
    sarif = json.loads(path.read_text())
    assert sarif.get("version") == "2.1.0" and sarif.get("runs"), "not a SARIF 2.1.0 log"
    if (REPO / "tests" / "sarif_check.py").exists():  # schema + GitHub's upload rules
        importlib.import_module("sarif_check").assert_valid_sarif(sarif)
    return sarif


def test_action_run_fails_the_example_with_github_outputs(image: str, workspace: Path) -> None:
    started = time.monotonic()
    proc = run_action(image, workspace, advisories="advisories", policy="policy-gate.yaml",
                      formats="sarif,json,markdown")
    took = time.monotonic() - started
    log = f"exit {proc.returncode} after {took:.0f}s\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    assert proc.returncode == 1, log

    results = workspace / "policy-gate-results"
    sarif_path = results / "policy-gate.sarif"
    assert sarif_path.is_file(), log
    sarif = _check_sarif(sarif_path)
    assert sum(len(run.get("results", [])) for run in sarif["runs"]) > 0

    report = json.loads((results / "policy-gate.json").read_text())
    assert_valid_report(report)
    assert report["verdict"] == "fail"
    pip_audit = next(s for s in report["scanners"] if s["name"] == "pip-audit")
    assert pip_audit["status"] == "ok", pip_audit  # the offline advisories were used

    summary = (workspace / ".runner" / "step_summary.md").read_text()
    first = next(line for line in summary.splitlines() if line.strip())
    assert "FAIL" in first.upper(), summary[:500]

    outputs = read_outputs(workspace / ".runner" / "output.txt")
    assert outputs["verdict"] == "fail", outputs
    assert outputs["exit-code"] == "1"
    assert outputs["sarif-file"] == "policy-gate-results/policy-gate.sarif"
    assert outputs["json-file"] == "policy-gate-results/policy-gate.json"
    assert outputs["summary-file"] == "policy-gate-results/policy-gate.md"
    assert int(outputs["violations"]) > 0

    # Written as the image's non-root user, so later steps (the runner, uid 1001) own them.
    for path in results.iterdir():
        assert path.stat().st_uid == UID, f"{path} is owned by uid {path.stat().st_uid}"
    # Annotations were emitted as workflow commands.
    assert "::error" in proc.stdout or "::warning" in proc.stdout, log


def test_fail_on_violations_false_and_bad_input(image: str, workspace: Path) -> None:
    proc = run_action(image, workspace, advisories="advisories", formats="sarif",
                      policy="policy-gate.yaml", fail_on_violations="false", scanners="bandit")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "::notice title=policy-gate::policy violations found" in proc.stdout
    outputs = read_outputs(workspace / ".runner" / "output.txt")
    assert outputs["verdict"] == "fail" and outputs["exit-code"] == "1"

    proc = run_action(image, workspace, path="../..", fail_on_violations="false")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "::error title=policy-gate::input 'path'" in proc.stdout
    assert "outside the workspace" in proc.stderr


def test_image_has_no_build_leftovers(image: str) -> None:
    config = json.loads(_buildah("inspect", "--type", "image", image).stdout)["OCIv1"]["config"]
    assert config["User"] == f"{UID}:{UID}"
    assert config["Entrypoint"][:3] == ["/opt/policy-gate/bin/python", "-I", "-m"]
    assert not any(e.startswith("PIP_CERT=") for e in config.get("Env", []))

    # The image's own file system, mounted in place (read here, never written): a working
    # container (`buildah from`) would first copy all of it, about 100 s under vfs.
    root = Path(_podman("image", "mount", image).stdout.strip())
    try:
        for leftover in ("root/.cache", "home/policygate/.cache", "tmp/build-venv", "tmp/wheels",
                         "src"):
            assert not (root / leftover).exists(), f"/{leftover} is in the image"
        # build-image.sh bind-mounts the host CA bundle for pip (PIP_CERT); buildah leaves
        # the empty mount point behind, but no certificate may be baked into the image.
        mount_point = root / "etc/ssl/certs/host-ca.crt"
        assert not mount_point.exists() or mount_point.stat().st_size == 0
        for compiler in ("gcc", "cc", "g++", "make", "ld"):
            for bindir in ("usr/bin", "usr/local/bin", "opt/policy-gate/bin"):
                assert not (root / bindir / compiler).exists(), f"/{bindir}/{compiler} in image"
        assert (root / "opt/policy-gate/bin/policy-gate").exists()
        # package data: the JSON report's schema ships in the image, as in the wheel
        shipped = REPO / "policy_gate" / "reports" / json_report.SCHEMA_FILE
        copies = list(root.glob("opt/policy-gate/lib/python3*/site-packages/policy_gate/"
                                f"reports/{json_report.SCHEMA_FILE}"))
        assert [c.read_bytes() for c in copies] == [shipped.read_bytes()]
        assert "/github/workspace" in (root / "etc/gitconfig").read_text()
        passwd = (root / "etc/passwd").read_text()
        assert f"policygate:x:{UID}:{UID}:" in passwd
        assert not list((root / "var/lib/apt/lists").glob("*_Packages"))
    finally:
        _podman("image", "unmount", image, check=False)


# ---- `policy-gate init`: what the generated workflow and CircleCI job run, in the image ----
# init runs on the host (as a maintainer runs it); the image runs what it generated. The
# repository's policy extends a copy of the offline-snapshot policy kept in the repository
# (the image cannot see the host's path) and names the advisories in it: no network.


def _adopted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             *init_args: str) -> tuple[Path, str]:
    from tests.test_init import init, legacy_repo

    # The baseline is recorded on the host and enforced in the image: the same environment
    # for both, so no licence look-ups at the suite's fake PyPI (the image cannot reach it,
    # and its answers would be baselined findings the image never reports).
    monkeypatch.delenv("POLICY_GATE_PYPI_URL", raising=False)
    repo = legacy_repo(tmp_path / "service")
    shutil.copy(REPO / "tests" / "policies" / "offline-snapshot.yaml",
                repo / ".github" / "mojaloop-offline.yaml")
    proc = init(repo, *init_args, "--extends", "mojaloop-offline.yaml",
                "--advisories", "advisories")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in (repo, *repo.rglob("*")):
        os.chown(path, UID, UID, follow_symlinks=False)
    return repo, proc.stdout


def test_init_github_workflow_runs_in_the_image_and_passes(
        image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_init import SHA, assert_all_baselined, workflow_inputs

    repo, _ = _adopted(tmp_path, monkeypatch, "--action-ref", SHA)
    workflow = yaml.safe_load((repo / ".github/workflows/policy-gate.yml").read_text())
    (repo / ".runner").mkdir()  # stands in for /github/file_commands
    for name in ("step_summary.md", "output.txt"):
        (repo / ".runner" / name).write_text("")
        os.chown(repo / ".runner" / name, UID, UID)
    os.chown(repo / ".runner", UID, UID)
    proc = run_action(image, repo, **workflow_inputs(workflow))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert_all_baselined(repo, json.loads((repo / "policy-gate-results/policy-gate.json")
                                          .read_text()))
    assert read_outputs(repo / ".runner" / "output.txt")["verdict"] == "pass"


def test_init_circleci_job_runs_in_the_image_as_the_docker_executor_would(
        image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CircleCI ignores a primary container's ENTRYPOINT and runs each `run` step with the
    image's shell (bash -eo pipefail where bash exists), as the image's USER, in the
    checked-out working directory (~/project); `checkout` needs git and ssh there."""
    from tests.test_init import assert_all_baselined, circleci_command

    inspected = json.loads(_buildah("inspect", "--type", "image", image).stdout)
    pinned = f"localhost/policy-gate@{inspected['FromImageDigest']}"
    repo, _ = _adopted(tmp_path, monkeypatch, "--ci", "circleci", "--image", pinned)
    config = yaml.safe_load((repo / ".circleci/config.yml").read_text())
    assert config["jobs"]["policy-gate"]["docker"] == [{"image": pinned}]
    results = tmp_path / "results"  # the job's /tmp/policy-gate-results, to read here
    results.mkdir()
    os.chown(results, UID, UID)
    user = inspected["OCIv1"]["config"]["User"]
    project = "/home/policygate/project"
    ctr = _buildah("from", image).stdout.strip()
    try:
        def run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
            flags = [f"--env={k}={v}" for k, v in env.items()]
            return _buildah("run", "--isolation", "chroot", "--user", user,
                            f"--volume={repo}:{project}", f"--volume={results}:/tmp/"
                            "policy-gate-results", "--workingdir", project, *flags, ctr,
                            "--", *argv, check=False)

        tools = run("/bin/sh", "-c", "command -v bash git ssh tar gzip && ls /etc/ssl/certs"
                    " | grep -c . && echo \"$HOME\"")
        assert tools.returncode == 0, tools.stdout + tools.stderr
        assert tools.stdout.strip().endswith("/home/policygate"), tools.stdout
        proc = run("/bin/bash", "-eo", "pipefail", "-c", circleci_command(config),
                   CIRCLE_BRANCH="main", CIRCLECI="true", NO_COLOR="1")
    finally:
        _buildah("rm", ctr, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert_all_baselined(repo, json.loads((results / "policy-gate.json").read_text()))
    junit = (results / "junit" / "policy-gate.xml").read_text()
    assert "<testsuite" in junit and "<failure" not in junit
    for path in results.rglob("*"):
        assert path.stat().st_uid == UID, f"{path} is owned by uid {path.stat().st_uid}"
