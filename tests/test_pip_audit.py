"""pip-audit adapter: the real pip-audit against the offline OSV server, and fault injection
with fake pip-audit executables (every failure must raise ScannerError, never pass)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name
from packaging.version import Version

from policy_gate.base.fileset import walk
from policy_gate.base.process import SCANNER_PATH_ENV, ScannerError
from policy_gate.catalogue import ScannerSettings
from policy_gate.findings import DEPENDENCY, UNSCANNED, Confidence, FindingsCounter, Severity
from policy_gate.osv import AdvisoryIndex, serve_advisories
from policy_gate.results import ScanOutput
from policy_gate.scanners.interface import ScanContext
from policy_gate.scanners.pip_audit import PipAuditScanner

PYPA = Path(__file__).resolve().parents[2] / "shared" / "advisories" / "pypa" / "vulns"
FOUR_PINS = "jinja2==2.10\nrequests==2.19.0\ndjango==3.2\npyyaml==5.3\n"


@pytest.fixture(scope="module")
def osv_url() -> Iterator[str]:
    if not PYPA.is_dir():
        pytest.skip(f"PyPA advisory snapshot not found at {PYPA}")
    index = AdvisoryIndex.load(PYPA)
    print(f"OSV DB load: {index.load_seconds:.2f} s")
    with serve_advisories(index) as url:
        yield url


@pytest.fixture(autouse=True)
def real_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCANNER_PATH_ENV, raising=False)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def run(root: Path, work: Path, url: str | None = None, timeout: float = 120) -> ScanOutput:
    ctx = ScanContext(fileset=walk(root), settings=ScannerSettings(timeout=timeout),
                      osv_url=url, work_dir=work)
    return PipAuditScanner().scan(ctx)


def expected_ids(name: str, version: str) -> set[str]:
    """Independently of the server: explicit versions list or [introduced, fixed)."""
    wanted = Version(version)
    ids = set()
    for path in (PYPA / canonicalize_name(name)).glob("*.yaml"):
        rec = yaml.safe_load(path.read_text())
        if rec.get("withdrawn"):
            continue
        for aff in rec["affected"]:
            if canonicalize_name(aff["package"]["name"]) != canonicalize_name(name):
                continue
            hit = version in [str(v) for v in aff.get("versions", [])]
            for rng in aff.get("ranges", []):
                start = None
                for ev in rng["events"] if rng["type"] == "ECOSYSTEM" else []:
                    if "introduced" in ev:
                        start = Version(str(ev["introduced"]))
                    elif "fixed" in ev and start is not None:
                        hit |= start <= wanted < Version(str(ev["fixed"]))
                        start = None
                hit |= start is not None and start <= wanted
            if hit:
                ids.add(rec["id"])
    return ids


# -- the real pip-audit -------------------------------------------------------------


def test_four_pins_find_exactly_the_database_advisories(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, osv_url: str
) -> None:
    write(tmp_path, "requirements.txt", FOUR_PINS + "flask>=2\n")
    started = time.monotonic()
    out = run(tmp_path, tmp_path_factory.mktemp("work"), osv_url)
    print(f"pip-audit scan: {time.monotonic() - started:.2f} s")
    vulns = [f for f in out.findings if f.rule_id == "vulnerable-dependency"]
    for name, version in [("jinja2", "2.10"), ("requests", "2.19.0"), ("django", "3.2"),
                          ("pyyaml", "5.3")]:
        expected = expected_ids(name, version)
        assert expected, f"the database lists advisories for {name} {version}"
        got = {f.flaw_key for f in vulns if f.dependency and f.dependency.package == name}
        assert got == expected, name
    assert {"PYSEC-2019-217", "PYSEC-2021-66", "PYSEC-2018-28", "PYSEC-2020-96"} <= {
        f.flaw_key for f in vulns
    }
    jinja = next(f for f in vulns if f.flaw_key == "PYSEC-2019-217")
    assert (jinja.category, jinja.path, jinja.start_line) == (DEPENDENCY, "requirements.txt", 1)
    assert jinja.title == "jinja2 2.10 is affected by PYSEC-2019-217"
    assert jinja.severity is None and jinja.confidence == Confidence.HIGH
    dep = jinja.dependency
    assert dep is not None
    assert (dep.ecosystem, dep.version, dep.fixed_versions) == ("PyPI", "2.10", ("2.10.1",))
    assert "CVE-2019-10906" in dep.aliases and list(dep.aliases) == sorted(dep.aliases)
    assert "2.10.1" in jinja.message and len(jinja.message) < 600
    unpinned = [f for f in out.findings if f.rule_id == "unpinned-requirement"]
    assert [(f.path, f.start_line, f.severity) for f in unpinned] == [
        ("requirements.txt", 5, Severity.MEDIUM)
    ]
    assert unpinned[0].flaw_key == "pip-audit:unpinned-requirement"
    # nothing lost: one Source per finding, counted as raw results
    assert FindingsCounter().counts == {}
    counter = FindingsCounter()
    counter.add(out.findings)
    assert counter.counts["pip-audit"] == out.raw_results == len(out.findings)
    assert any(f"{len(vulns)} vulnerability entries" in n for n in out.notes)
    assert out.files_scanned == 1 and out.version


def test_every_manifest_line_gets_the_finding(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, osv_url: str
) -> None:
    write(tmp_path, "requirements.txt", "-r sub/base.txt\njinja2==2.10\n")
    write(tmp_path, "sub/base.txt", "# base\ndjango==3.2\njinja2==2.10\n")
    write(tmp_path, "pyproject.toml", """\
[project]
name = "demo"
dependencies = ["pyyaml==5.3"]
[tool.poetry.dependencies]
python = "^3.11"
requests = "2.19.0"
""")
    write(tmp_path, "poetry.lock", '[[package]]\nname = "jinja2"\nversion = "2.10"\n')
    write(tmp_path, "svc/uv.lock", """\
version = 1
[[package]]
name = "requests"
version = "2.19.0"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "requests"
version = "2.20.0"
source = { registry = "https://pypi.org/simple" }
""")
    out = run(tmp_path, tmp_path_factory.mktemp("work"), osv_url)
    places = {(f.path, f.start_line) for f in out.findings if f.flaw_key == "PYSEC-2019-217"}
    assert places == {("requirements.txt", 2), ("sub/base.txt", 3), ("poetry.lock", 2)}
    django = {(f.path, f.start_line) for f in out.findings
              if f.dependency and f.dependency.package == "django"}
    assert django == {("sub/base.txt", 2)}
    assert ("pyproject.toml", 3) in {(f.path, f.start_line) for f in out.findings
                                     if f.dependency and f.dependency.package == "pyyaml"}
    requests = {(f.path, f.start_line, f.dependency.version) for f in out.findings
                if f.dependency and f.dependency.package == "requests"}
    # two versions of one package: audited in two pip-audit runs, both reported
    assert ("svc/uv.lock", 3, "2.19.0") in requests
    assert ("svc/uv.lock", 7, "2.20.0") in requests
    assert ("pyproject.toml", 6, "2.19.0") in requests
    assert out.raw_results == len(out.findings)


def test_nothing_from_the_tree_is_executed(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, osv_url: str
) -> None:
    marker = tmp_path_factory.mktemp("marker") / "EXECUTED"
    payload = f"open({str(marker)!r}, 'w').write('pwned')\n"
    write(tmp_path, "setup.py", payload + "from setuptools import setup\nsetup(name='x')\n")
    write(tmp_path, "backend/evil_backend.py", payload + "def build_wheel(*a, **k): pass\n")
    write(tmp_path, "pyproject.toml", """\
[build-system]
requires = []
build-backend = "evil_backend"
backend-path = ["backend"]

[project]
name = "evil"
dependencies = ["jinja2==2.10", "requests>=2"]
""")
    write(tmp_path, "requirements.txt", "-e .\n.\n./backend\njinja2==2.10\n")
    out = run(tmp_path, tmp_path_factory.mktemp("work"), osv_url)
    assert not marker.exists()
    assert any(f.flaw_key == "PYSEC-2019-217" for f in out.findings)
    assert sum(f.rule_id == "unpinned-requirement" for f in out.findings) == 4


def test_no_manifests_means_no_audit(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path_factory.mktemp("bin")
    log = bin_dir / "calls.log"
    fake_pip_audit(bin_dir, f"open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
                   "sys.exit(3)\n")
    monkeypatch.setenv(SCANNER_PATH_ENV, str(bin_dir))
    write(tmp_path, "app.py", "print('hi')\n")
    out = run(tmp_path, tmp_path_factory.mktemp("work"))
    assert (out.findings, out.raw_results, out.version) == ([], 0, "9.9.9")
    assert not log.exists()  # only --version ran


def test_manifest_errors_are_unscanned_findings(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, osv_url: str
) -> None:
    write(tmp_path, "pyproject.toml", "[project\n")
    write(tmp_path, "requirements.txt", "-r ../../etc/passwd\n")
    out = run(tmp_path, tmp_path_factory.mktemp("work"), osv_url)
    assert {(f.category, f.path, f.start_line) for f in out.findings} == {
        (UNSCANNED, "pyproject.toml", None), (UNSCANNED, "requirements.txt", 1)
    }


# -- fault injection ----------------------------------------------------------------


def fake_pip_audit(bin_dir: Path, body: str) -> None:
    script = bin_dir / "pip-audit"
    script.write_text(
        f"#!{sys.executable}\nimport sys, time\n"
        "if sys.argv[1:] == ['--version']:\n    print('pip-audit 9.9.9')\n    sys.exit(0)\n"
        + body
    )
    script.chmod(0o755)


def report(deps: list[dict[str, object]]) -> str:
    return f"print({json.dumps(json.dumps({'dependencies': deps, 'fixes': []}))})\n"


@pytest.fixture
def pinned_tree(tmp_path: Path) -> Path:
    write(tmp_path, "requirements.txt", "jinja2==2.10\n")
    return tmp_path


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("sys.stderr.write('boom: internal error')\nsys.exit(2)\n", "exited 2.*boom"),
        ("print('this is not json')\n", "not JSON"),
        ("sys.stderr.write('Traceback ...')\nsys.exit(1)\n", "exited 1 without a report"),
        (report([{"name": "jinja2"}]), "no 'version' field"),
        (report([{"name": "jinja2", "version": "2.10", "vulns": [{"id": "X"}]}]) +
         "sys.exit(1)\n", "no 'fix_versions' field"),
        ("print('{\"fixes\": []}')\n", "no 'dependencies' field"),
        (report([]), "did not report on 1 of the packages"),
        (report([{"name": "jinja2", "version": "2.10", "vulns": []}]) + "sys.exit(1)\n",
         "exited 1 without reporting"),
        # records its pid, and would mark that it finished had the timeout not ended it
        ("import os\nopen(sys.argv[0] + '.pid', 'w').write(str(os.getpid()))\n"
         "time.sleep(30)\nopen(sys.argv[0] + '.finished', 'w').close()\n", "timed out"),
    ],
    ids=["crash", "garbage", "exit1-no-json", "missing-version", "missing-vuln-field",
         "missing-dependencies", "package-missing", "exit1-no-vulns", "timeout"],
)
def test_failures_raise_scanner_error(
    pinned_tree: Path, tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch, body: str, error: str,
) -> None:
    bin_dir = tmp_path_factory.mktemp("bin")
    fake_pip_audit(bin_dir, body)
    monkeypatch.setenv(SCANNER_PATH_ENV, str(bin_dir))
    # a fault other than the timeout gets all the time a loaded machine may need
    timeout = 1 if error == "timed out" else 120
    with pytest.raises(ScannerError, match=error) as info:
        run(pinned_tree, tmp_path_factory.mktemp("work"), timeout=timeout)
    assert info.value.scanner == "pip-audit"
    # The timeout ended the fake: it never finished and does not run on. (Not a bound on
    # wall time: that depends on the machine's load.)
    fake = bin_dir / "pip-audit"
    assert not Path(f"{fake}.finished").exists()
    if Path(f"{fake}.pid").exists():  # it may be killed before it wrote it
        with pytest.raises(ProcessLookupError):
            os.kill(int(Path(f"{fake}.pid").read_text()), 0)


def test_missing_pip_audit(
    pinned_tree: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCANNER_PATH_ENV, str(tmp_path_factory.mktemp("empty")))
    with pytest.raises(ScannerError, match="not installed"):
        run(pinned_tree, tmp_path_factory.mktemp("work"))


def test_skipped_dependency_becomes_unscanned(
    pinned_tree: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path_factory.mktemp("bin")
    fake_pip_audit(bin_dir, report([{"name": "Jinja2", "skip_reason": "index unreachable"}]))
    monkeypatch.setenv(SCANNER_PATH_ENV, str(bin_dir))
    out = run(pinned_tree, tmp_path_factory.mktemp("work"))
    (finding,) = out.findings
    assert (finding.category, finding.path, finding.start_line) == (
        UNSCANNED, "requirements.txt", 1)
    assert "index unreachable" in finding.message
    assert out.raw_results == 1


def test_argv_is_the_safe_one(
    pinned_tree: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path_factory.mktemp("bin")
    seen = bin_dir / "argv.json"
    fake_pip_audit(bin_dir, f"import json\njson.dump(sys.argv[1:], open({str(seen)!r}, 'w'))\n"
                   "req = sys.argv[sys.argv.index('-r') + 1]\n"
                   f"open({str(seen)!r} + '.req', 'w').write(open(req).read())\n"
                   + report([{"name": "jinja2", "version": "2.10", "vulns": []}]))
    monkeypatch.setenv(SCANNER_PATH_ENV, str(bin_dir))
    run(pinned_tree, tmp_path_factory.mktemp("work"), url="http://127.0.0.1:9/v1/query")
    argv = json.loads(seen.read_text())
    for flag in ("--disable-pip", "--no-deps", "-r", "-s", "--format", "--progress-spinner",
                 "--cache-dir", "--osv-url"):
        assert flag in argv
    assert argv[argv.index("-s") + 1] == "osv" and argv[argv.index("--format") + 1] == "json"
    assert argv[argv.index("--osv-url") + 1] == "http://127.0.0.1:9/v1/query"
    assert str(pinned_tree) not in " ".join(argv)  # never a path inside the scanned tree
    assert Path(str(seen) + ".req").read_text() == "jinja2==2.10\n"


def test_pip_api_gets_its_pip_version_from_the_stub_and_nothing_else(tmp_path: Path) -> None:
    """pip-audit's pip_api asks pip its version on import (a second interpreter, ~0.7
    CPU-s): the gate answers through PIPAPI_PYTHON_LOCATION, and any other pip command
    fails, so pip-audit can never believe pip ran."""
    import subprocess

    from policy_gate.scanners.pip_audit import pip_stub_env

    env = pip_stub_env(tmp_path)
    assert env is not None and "PATH" in env  # the scanners' environment, plus the stub
    probe = "import pip_api; print(pip_api.PIP_VERSION)"
    asked = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                           text=True, check=False)
    assert (asked.returncode, asked.stdout) == (0, "25.0\n"), asked.stderr
    other = subprocess.run([env["PIPAPI_PYTHON_LOCATION"], "-m", "pip", "list"], env=env,
                           capture_output=True, text=True, check=False)
    assert other.returncode == 1 and "pip-audit ran pip (-m pip list)" in other.stderr


def test_safety_adapter_with_a_fake_safety(
    pinned_tree: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """safety is optional and not installed here: check the adapter's mapping and its
    fail-closed exit handling against its documented JSON (report_meta / vulnerabilities)."""
    from policy_gate.scanners.safety import SafetyScanner

    vuln = {"vulnerability_id": "38834", "package_name": "Jinja2", "analyzed_version": "2.10",
            "advisory": "Jinja2 before 2.10.1 has a sandbox escape.", "fixed_versions": ["2.10.1"],
            "CVE": "CVE-2019-10906", "severity": None}
    bin_dir = tmp_path_factory.mktemp("bin")
    script = bin_dir / "safety"
    payload = json.dumps({"report_meta": {}, "vulnerabilities": [vuln]})
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "if sys.argv[1:] == ['--version']:\n    print('safety, version 3.2.9')\n    sys.exit(0)\n"
        "print('DEPRECATED: this command is deprecated')\n"
        f"print({payload!r})\nsys.exit(64)\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv(SCANNER_PATH_ENV, str(bin_dir))
    ctx = ScanContext(fileset=walk(pinned_tree), settings=ScannerSettings(timeout=30),
                      work_dir=tmp_path_factory.mktemp("work"))
    out = SafetyScanner().scan(ctx)
    (finding,) = out.findings
    assert (finding.path, finding.start_line, finding.flaw_key) == (
        "requirements.txt", 1, "CVE-2019-10906")
    assert finding.dependency is not None and finding.dependency.aliases == ("PYUP-38834",)
    assert out.version == "3.2.9" and out.raw_results == 1
    script.write_text(script.read_text().replace("sys.exit(64)", "sys.exit(68)"))
    with pytest.raises(ScannerError, match="exited 68"):
        SafetyScanner().scan(ctx)
    monkeypatch.setenv(SCANNER_PATH_ENV, str(tmp_path_factory.mktemp("empty")))
    with pytest.raises(ScannerError, match="not installed"):
        SafetyScanner().scan(ctx)
