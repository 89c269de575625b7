"""Shared fixtures: fixture trees, a real gate run in a subprocess, scanner bin dirs for
fault injection (a fake scanner only ever stands in to inject a fault)."""

from __future__ import annotations

import compileall
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.fake_pypi import FakePyPI, serve

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PYPA_VULNS = SHARED / "advisories" / "pypa" / "vulns"
EXAMPLE_ADVISORIES = REPO / "examples" / "advisories"
# builtin:mojaloop with the advisory age limit lifted: the test databases are snapshots.
OFFLINE_POLICY = REPO / "tests" / "policies" / "offline-snapshot.yaml"
EXTENDS_OFFLINE = f"extends: {OFFLINE_POLICY}"
# The same with detect-secrets on beside kingfisher (builtin:mojaloop runs kingfisher alone),
# for tests written against detect-secrets' results.
WITH_DETECT_SECRETS = REPO / "tests" / "policies" / "with-detect-secrets.yaml"
EXTENDS_WITH_DETECT_SECRETS = f"extends: {WITH_DETECT_SECRETS}"
# `--scanner` arguments for a test whose question only these scanners answer (the others
# report nothing in its tree, and each one skipped saves its whole run): bandit and semgrep,
# whose findings on Python code merge; the default secret engine; the dependency audits.
SAST_ONLY = ("--scanner", "bandit", "--scanner", "semgrep")
SECRETS_ONLY = ("--scanner", "kingfisher")
DEPENDENCIES_ONLY = ("--scanner", "pip-audit", "--scanner", "osv")
REAL_SCANNERS = ("bandit", "semgrep", "detect-secrets", "kingfisher", "pip-audit", "safety",
                 "pysemgrep", "semgrep-core", "zizmor")


# No verdict may depend on the machine's load: hypothesis' defaults fail a test whose example
# takes over 200 ms of wall time (deadline) or whose data generation is slow (too_slow), and
# the suite runs beside other work on both cores. A test's own @settings still apply.
settings.register_profile("policy-gate", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("policy-gate")

def pytest_configure(config: pytest.Config) -> None:
    """Compile the gate's modules once, as installing a package does. The tests start the
    gate in many hundreds of new interpreters; with the editable install under
    PYTHONDONTWRITEBYTECODE (set on this project's machines, CI's included) each start
    compiled every module again: about 0.2 CPU-s of the 0.9 a `policy-gate validate` costs."""
    if not hasattr(config, "workerinput"):  # once per session, not per xdist worker
        compileall.compile_dir(REPO / "policy_gate", quiet=2)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The container tests go last, when the image built in the background since the
    session's start is ready. Under pytest-xdist (`--dist loadfile`: a module's tests on one
    worker, so its module-scoped fixtures are made once) modules are handed out in this
    order too, so the worker that gets them has both cores' worth of work done first."""
    items.sort(key=lambda item: item.path.name == CONTAINER_TESTS)  # stable


CONTAINER_TESTS = "test_container.py"


@pytest.hookimpl(trylast=True)  # after -k/-m have deselected what they will
def pytest_collection_finish(session: pytest.Session) -> None:
    """Without xdist: the image the container tests need starts building in the
    background now, its minutes of downloads and layer copies overlapping the rest of
    the suite. (Under xdist the controller does this once, not each worker.)"""
    config = session.config
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    container = [item for item in session.items if item.path.name == CONTAINER_TESTS]
    if container:
        module = container[0].module  # type: ignore[attr-defined]  # as pytest imported it
        module.start_build(Path(tempfile.mkdtemp(prefix="policy-gate-image-build-")))
        _AT_SESSION_END.append(module.stop_build)


_IMAGE_BUILD: dict[str, str] = {}


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: tell each worker where the one image build of this run will
    write its log and exit code, and the tag it builds."""
    if not _IMAGE_BUILD:
        _IMAGE_BUILD["folder"] = tempfile.mkdtemp(prefix="policy-gate-image-build-")
        _IMAGE_BUILD["tag"] = f"localhost/policy-gate:test-{os.getpid()}"
    node.workerinput["policy_gate_image_build"] = dict(_IMAGE_BUILD)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """xdist controller: once a worker has collected (after -k/-m, before any test runs),
    start the image build if container tests are among what will run."""
    if node.config.option.collectonly or not _IMAGE_BUILD or _AT_SESSION_END:
        return
    if any(i.split("::")[0].endswith("/" + CONTAINER_TESTS) for i in ids):
        from tests import test_container
        test_container.start_build(Path(_IMAGE_BUILD["folder"]), _IMAGE_BUILD["tag"])
        _AT_SESSION_END.append(test_container.stop_build)


_AT_SESSION_END: list[Callable[[], None]] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    for action in _AT_SESSION_END:
        action()
    if _IMAGE_BUILD and not hasattr(session.config, "workerinput"):
        shutil.rmtree(_IMAGE_BUILD["folder"], ignore_errors=True)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of every child it has waited for. A test
    that bounds how much work something takes bounds this, never the wall clock: wall time
    depends on what else the machine runs, and a verdict must not."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.fixture(scope="session")
def _pypi_server() -> Any:
    with serve(FakePyPI()) as fake:
        yield fake


@pytest.fixture(autouse=True)
def pypi(_pypi_server: FakePyPI, monkeypatch: pytest.MonkeyPatch) -> FakePyPI:
    """Licence lookups go to a local fake of the PyPI JSON API, never to pypi.org (gate
    subprocesses inherit the environment). Packages it does not know answer 404. npm
    registry lookups are off unless a test serves a mirror, and registry answers are not
    kept between runs unless a test names a cache: no test touches the internet or the
    user's cache directory."""
    _pypi_server.reset()
    for name, value in registry_env(_pypi_server).items():
        monkeypatch.setenv(name, value)
    return _pypi_server


def registry_env(fake: FakePyPI) -> dict[str, str]:
    """The registry settings the ``pypi`` fixture gives each test, for a gate run made once
    for a whole module (a module-scoped fixture runs outside any test's monkeypatch)."""
    return {"POLICY_GATE_PYPI_URL": fake.url, "POLICY_GATE_NPM_URL": "off",
            "POLICY_GATE_METADATA_CACHE": "off"}


def real_tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


@dataclass
class GateRun:
    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def findings(self, **match: Any) -> list[dict[str, Any]]:
        assert self.report is not None
        return [
            f for f in self.report["findings"]
            if all(f.get(k) == v for k, v in match.items())
        ]

    def scanner(self, name: str) -> dict[str, Any]:
        assert self.report is not None
        return next(s for s in self.report["scanners"] if s["name"] == name)


def make_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content))
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    def build(files: dict[str, str | bytes]) -> Path:
        return make_tree(tmp_path / "repo", files)

    return build


def gate_process(work: Path, root: Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 300) -> GateRun:
    """`policy-gate scan ROOT` as a user runs it: a separate process, real scanners, the
    JSON report written into ``work`` and validated against the report's schema."""
    report_path = work / "report.json"
    if report_path.exists():
        report_path.unlink()
    argv = [sys.executable, "-m", "policy_gate", "scan", str(root),
            "--format", "json", "--output", str(report_path), *args]
    if "--advisories" not in args:
        argv += ["--advisories", str(EXAMPLE_ADVISORIES)]
    if "--policy" not in args:
        argv += ["--policy", str(OFFLINE_POLICY)]
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run(argv, capture_output=True, text=True, env=full_env,
                          timeout=timeout, check=False)
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    if report is not None:  # every report the suite produces follows the shipped schema
        from tests.report_schema import assert_valid_report

        assert_valid_report(report)
    return GateRun(proc.returncode, proc.stdout, proc.stderr, report)


@pytest.fixture
def gate(tmp_path: Path) -> Callable[..., GateRun]:
    """Run `policy-gate scan` as a user would: a separate process, real scanners."""

    def run(root: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 300) -> GateRun:
        return gate_process(tmp_path, root, *args, env=env, timeout=timeout)

    return run


@pytest.fixture
def scanner_bin(tmp_path: Path) -> Callable[[dict[str, str]], dict[str, str]]:
    """A bin dir with the real scanners, where some are replaced by fake scripts; returns
    the environment that makes the gate use it."""

    def build(fakes: dict[str, str]) -> dict[str, str]:
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        for name in REAL_SCANNERS:
            real = real_tool(name)
            if real and name not in fakes and not (bindir / name).exists():
                (bindir / name).symlink_to(real)
        for name, body in fakes.items():
            script = bindir / name
            script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
            script.chmod(0o755)
        return {"POLICY_GATE_SCANNER_PATH": str(bindir)}

    return build


@pytest.fixture
def scan_data(tmp_path: Path) -> Callable[..., Any]:
    """A real in-process scan of a fixture tree, evaluated, as every report receives it."""
    from policy_gate.policy.evaluate import evaluate
    from policy_gate.policy.loader import load_policy
    from policy_gate.reports.interface import ReportData
    from policy_gate.runner import scan

    def run(files: dict[str, str | bytes], *, policy: str = str(OFFLINE_POLICY),
            only: list[str] | None = None) -> ReportData:
        root = make_tree(tmp_path / "scanned", files)
        loaded = load_policy(policy)
        result = scan(root, loaded, only=only, advisories=str(EXAMPLE_ADVISORIES))
        ev = evaluate(loaded, result.findings, (r.outcome for r in result.runs))
        return ReportData(result, loaded, ev)

    return run
