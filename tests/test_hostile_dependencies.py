"""Dependency audits that used to pass on what they could not see (issue 14).

- advisory data that does not cover an audited ecosystem (no npm records, or npm records
  older than the policy allows while the PyPI ones are fresh) fails the audit closed, and
  every report shows the records per ecosystem;
- a manifest, lockfile, include or submodule the gate finds but cannot audit (dynamic
  pyproject dependencies, symbolic links, unsupported lockfiles, a package.json with no
  lockfile, a submodule whose code is not in the tree, an unparseable file) is a finding
  that fails under the Mojaloop policy; an empty scan path is a usage error;
- manifests are decoded the way pip and npm decode them (BOMs, PEP 263 coding lines, lone
  surrogate escapes, invalid UTF-8 bytes), so a file the ecosystem's tool installs from is
  audited rather than refused.
"""

from __future__ import annotations

import codecs
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from policy_gate.advisories.database import AdvisoryIndex, coverage_reason
from policy_gate.base import jsontext
from policy_gate.base.fileset import walk
from policy_gate.dependencies import npm
from policy_gate.dependencies.python import parse_manifests
from policy_gate.results import DatabaseInfo
from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, GateRun, make_tree
from tests.test_advisories import npm_record

Gate = Callable[..., GateRun]
NOW = datetime.now(UTC)
OLD = "2019-05-01T00:00:00Z"


def pypi_record(vuln_id: str, package: str, fixed: str, modified: str) -> dict[str, Any]:
    return {"id": vuln_id, "modified": modified, "summary": f"{vuln_id} in {package}",
            "affected": [{"package": {"ecosystem": "PyPI", "name": package},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}


def write_db(root: Path, records: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True)
    for record in records:
        (root / f"{record['id']}.json").write_text(json.dumps(record))
    return root


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


LEFT_PAD_ADVISORY = npm_record("GHSA-aaaa-bbbb-cccc", "left-pad",
                               [{"introduced": "0"}, {"fixed": "1.3.0"}], modified=OLD)
REQUESTS_ADVISORY = pypi_record("PYSEC-0000-1", "requests", "2.20.0", OLD)


def lockfile(version: str = "1.2.0", **extra: Any) -> dict[str, Any]:
    return {"name": "svc", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "svc", "version": "1.0.0",
                              "dependencies": {"left-pad": version}},
                         "node_modules/left-pad": {"version": version, "license": "WTFPL",
                                                   **extra}}}


def lockfile_text(**extra: Any) -> str:
    return json.dumps(lockfile(**extra), indent=2)


@pytest.fixture
def pypi_only_db(tmp_path: Path) -> Path:
    return write_db(tmp_path / "pypi-db", [REQUESTS_ADVISORY])


@pytest.fixture
def npm_only_db(tmp_path: Path) -> Path:
    return write_db(tmp_path / "npm-db", [LEFT_PAD_ADVISORY])


@pytest.fixture
def both_db(tmp_path: Path) -> Path:
    return write_db(tmp_path / "both-db", [LEFT_PAD_ADVISORY, REQUESTS_ADVISORY])


@pytest.fixture
def fresh_pypi_old_npm_db(tmp_path: Path) -> Path:
    return write_db(tmp_path / "mixed-db", [
        pypi_record("PYSEC-0000-2", "flask", "9.9.9", stamp(NOW - timedelta(hours=6))),
        LEFT_PAD_ADVISORY,
    ])


def not_audited(run: GateRun) -> list[dict[str, Any]]:
    return [f for f in run.report["findings"] if f["category"] == "unscanned"] \
        if run.report else []


def status_of(finding: dict[str, Any]) -> str:
    return str(finding["status"])


# ------------------------------------------- item 11: advisory data that covers nothing


def test_npm_lockfile_against_a_database_with_no_npm_records_fails_closed(
        gate: Gate, tree: Callable[..., Path], pypi_only_db: Path) -> None:
    root = tree({"package-lock.json": lockfile_text()})
    run = gate(root, "--advisories", str(pypi_only_db), "--scanner", "osv")
    assert run.code == 3, run.output
    osv = run.scanner("osv")
    assert osv["status"] == "failed"
    assert "no npm records" in osv["reason"] and "all.zip" in osv["reason"]
    assert "--advisories" in osv["reason"]
    ecosystems = run.report["scan"]["advisories"]["ecosystems"] if run.report else {}
    assert ecosystems["npm"]["records"] == 0 and ecosystems["PyPI"]["records"] == 1


def test_python_pins_against_a_database_with_no_pypi_records_fail_closed(
        gate: Gate, tree: Callable[..., Path], npm_only_db: Path) -> None:
    root = tree({"requirements.txt": "requests==2.19.0\n"})
    run = gate(root, "--advisories", str(npm_only_db), "--scanner", "pip-audit")
    assert run.code == 3, run.output
    reason = run.scanner("pip-audit")["reason"]
    assert run.scanner("pip-audit")["status"] == "failed"
    assert "no PyPI records" in reason and "PyPI" in reason


def test_an_ecosystem_must_be_fresh_on_its_own(
        gate: Gate, tree: Callable[..., Path], fresh_pypi_old_npm_db: Path) -> None:
    """The database's newest record is hours old (PyPI), its npm records years old: the
    npm audit fails under builtin:mojaloop (2 days), the PyPI audit passes."""
    npm_tree = tree({"package-lock.json": lockfile_text()})
    run = gate(npm_tree, "--policy", "builtin:mojaloop", "--advisories",
               str(fresh_pypi_old_npm_db), "--scanner", "osv")
    assert run.code == 3, run.output
    reason = run.scanner("osv")["reason"]
    assert "npm" in reason and "2019-05-01" in reason and "allows 2" in reason

    py_tree = tree({"requirements.txt": "flask==10.0.0\n"})
    ok = gate(py_tree, "--policy", "builtin:mojaloop", "--advisories",
              str(fresh_pypi_old_npm_db), "--scanner", "pip-audit")
    assert ok.code == 0, ok.output
    assert ok.scanner("pip-audit")["status"] == "ok"


def test_every_report_shows_records_per_ecosystem(
        gate: Gate, tree: Callable[..., Path], both_db: Path, tmp_path: Path) -> None:
    root = tree({"package-lock.json": lockfile_text(), "requirements.txt": "requests==2.19.0\n"})
    md, compliance = tmp_path / "summary.md", tmp_path / "compliance.md"
    run = gate(root, "--advisories", str(both_db), "--scanner", "osv", "--scanner",
               "pip-audit", "--format", "markdown", "--output", str(md),
               "--format", "compliance", "--output", str(compliance))
    assert run.code == 1, run.output
    assert run.report is not None
    ecosystems = run.report["scan"]["advisories"]["ecosystems"]
    assert ecosystems["npm"]["records"] == 1 and ecosystems["PyPI"]["records"] == 1
    assert ecosystems["npm"]["newest"] == OLD
    for text in (run.stdout, md.read_text(), compliance.read_text()):
        assert "PyPI 1 record" in text and "npm 1 record" in text, text[-3000:]


def test_coverage_survives_the_results_cache(
        gate: Gate, tree: Callable[..., Path], pypi_only_db: Path, tmp_path: Path) -> None:
    root = tree({"package-lock.json": lockfile_text()})
    for _ in range(2):  # the second run reads the database's description from the cache
        run = gate(root, "--advisories", str(pypi_only_db), "--scanner", "osv",
                   "--cache-dir", str(tmp_path / "cache"))
        assert run.code == 3, run.output
        assert "no npm records" in run.scanner("osv")["reason"]


def test_database_info_counts_records_per_ecosystem(both_db: Path) -> None:
    info = AdvisoryIndex.load(both_db).info
    assert info.ecosystems["npm"].records == 1 and info.ecosystems["PyPI"].records == 1
    assert DatabaseInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
    assert coverage_reason(info, "npm", 100000) == ""
    assert "no Go records" in coverage_reason(info, "Go", None)
    assert "allows 2" in coverage_reason(info, "npm", 2)


# --------------------------------------- item 14: manifests the audit cannot read


def test_dynamic_pyproject_dependencies_are_not_audited_and_fail(
        gate: Gate, tree: Callable[..., Path], both_db: Path) -> None:
    root = tree({"pyproject.toml": "[project]\nname = 'svc'\nversion = '1'\n"
                                   "dynamic = ['dependencies']\n\n[build-system]\n"
                                   "requires = ['hatchling']\nbuild-backend = 'hatchling.build'\n"})
    run = gate(root, "--advisories", str(both_db), "--scanner", "pip-audit")
    assert run.code == 1, run.output
    [finding] = not_audited(run)
    assert finding["path"] == "pyproject.toml" and finding["start_line"] == 4
    assert "dynamic" in finding["message"] and status_of(finding) == "violation"


def test_setuptools_dynamic_dependencies_from_a_file_are_audited(
        gate: Gate, tree: Callable[..., Path]) -> None:
    root = tree({
        "pyproject.toml": "[project]\nname = 'svc'\nversion = '1'\n"
                          "dynamic = ['dependencies', 'optional-dependencies']\n\n"
                          "[tool.setuptools.dynamic]\ndependencies = {file = ['deps.in']}\n"
                          "optional-dependencies.web = {file = ['web.in']}\n",
        "deps.in": "requests==2.19.0\n",
        "web.in": "flask==0.12\n",
    })
    run = gate(root, "--advisories", str(EXAMPLE_ADVISORIES), "--scanner", "pip-audit")
    assert run.code == 1, run.output
    assert not not_audited(run), not_audited(run)
    paths = {f["path"] for f in run.findings(category="dependency")}
    assert paths == {"deps.in", "web.in"}


def test_dynamic_dependencies_with_a_lockfile_beside_are_audited_there(
        tmp_path: Path) -> None:
    root = make_tree(tmp_path / "r", {
        "pyproject.toml": "[project]\nname = 'svc'\nversion = '1'\ndynamic = ['dependencies']\n",
        "uv.lock": "version = 1\n\n[[package]]\nname = 'requests'\nversion = '2.19.0'\n"
                   "source = { registry = 'https://pypi.org/simple' }\n",
    })
    scan = parse_manifests(walk(root))
    assert not scan.errors and [p.name for p in scan.pinned] == ["requests"]


def test_setup_py_is_reported_unless_its_dependencies_are_declared_as_data(
        tmp_path: Path) -> None:
    root = make_tree(tmp_path / "r", {
        "legacy/setup.py": "from setuptools import setup\nsetup(install_requires=['x'])\n",
        "cfg/setup.py": "from setuptools import setup\nsetup()\n",
        "cfg/setup.cfg": "[metadata]\nname = svc\n\n[options]\ninstall_requires =\n"
                         "    requests==2.19.0\n    flask>=1 ; python_version >= '3'\n\n"
                         "[options.extras_require]\nweb = jinja2==2.10\n",
        "pinned/setup.py": "from setuptools import setup\nsetup()\n",
        "pinned/requirements.txt": "requests==2.19.0\n",
    })
    scan = parse_manifests(walk(root))
    assert [(e.path, "never runs" in e.reason) for e in scan.errors] == [
        ("legacy/setup.py", True)]
    assert {(p.name, p.manifest_path, p.line) for p in scan.pinned} == {
        ("requests", "cfg/setup.cfg", 6), ("jinja2", "cfg/setup.cfg", 10),
        ("requests", "pinned/requirements.txt", 1)}
    assert [(u.name, u.manifest_path, u.line) for u in scan.unpinned] == [
        ("flask", "cfg/setup.cfg", 7)]


def test_symlinked_requirements_and_includes_fail(
        gate: Gate, tree: Callable[..., Path], both_db: Path) -> None:
    root = tree({"deps/base.txt": "requests==2.19.0\n",
                 "requirements-dev.txt": "-r linked.txt\n"})
    (root / "linked.txt").symlink_to("deps/base.txt")
    (root / "requirements.txt").symlink_to("deps/base.txt")
    run = gate(root, "--advisories", str(both_db), "--scanner", "pip-audit")
    assert run.code == 1, run.output
    found = {(f["path"], f["start_line"]) for f in not_audited(run)}
    assert found == {("requirements.txt", None), ("requirements-dev.txt", 1)}, found
    for finding in not_audited(run):
        assert "symbolic link" in finding["message"] and status_of(finding) == "violation"


def test_symlinked_and_unsupported_npm_lockfiles_fail(
        gate: Gate, tree: Callable[..., Path], both_db: Path) -> None:
    root = tree({"real/lock.json": lockfile_text(),
                 "pnpm/pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
                 "pnpm/package.json": json.dumps({"name": "p", "dependencies": {"a": "1"}})})
    (root / "package-lock.json").symlink_to("real/lock.json")
    run = gate(root, "--advisories", str(both_db), "--scanner", "osv")
    assert run.code == 1, run.output
    found = {f["path"]: f for f in not_audited(run)}
    assert set(found) == {"package-lock.json", "pnpm/pnpm-lock.yaml"}, found
    assert "symbolic link" in found["package-lock.json"]["message"]
    assert "pnpm" in found["pnpm/pnpm-lock.yaml"]["message"]
    assert all(status_of(f) == "violation" for f in found.values())


def test_package_json_without_a_lockfile_fails(
        gate: Gate, tree: Callable[..., Path], both_db: Path) -> None:
    root = tree({
        "web/package.json": json.dumps({"name": "web", "dependencies": {"left-pad": "^1.0.0"}}),
        "tool/package.json": json.dumps({"name": "tool", "scripts": {"x": "echo"}}),
        # a workspace: its root lockfile pins what it installs
        "ws/package-lock.json": lockfile_text(version="1.3.0"),
        "ws/package.json": json.dumps({"name": "ws", "dependencies": {"left-pad": "1.3.0"}}),
        "ws/packages/a/package.json": json.dumps({"name": "a",
                                                  "dependencies": {"left-pad": "1.3.0"}}),
    })
    run = gate(root, "--advisories", str(both_db), "--scanner", "osv")
    assert run.code == 1, run.output
    [finding] = not_audited(run)
    assert finding["path"] == "web/package.json" and "no lockfile" in finding["message"]
    assert status_of(finding) == "violation"


def test_unparseable_manifests_fail_under_mojaloop(
        gate: Gate, tree: Callable[..., Path], both_db: Path) -> None:
    root = tree({"package-lock.json": '{"lockfileVersion": 3,',
                 "requirements.txt": b"requests==2.19.0  # caf\xe9\n"})
    run = gate(root, "--advisories", str(both_db), "--scanner", "osv", "--scanner",
               "pip-audit")
    assert run.code == 1, run.output
    found = {f["path"]: f for f in not_audited(run)}
    assert set(found) == {"package-lock.json", "requirements.txt"}, found
    assert all(status_of(f) == "violation" for f in found.values())


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.org",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True, text=True).stdout


def test_a_submodule_not_in_the_tree_fails(
        gate: Gate, tree: Callable[..., Path], both_db: Path) -> None:
    root = tree({"app.py": "print('hi')\n",
                 ".gitmodules": '[submodule "vendor/lib"]\n\tpath = vendor/lib\n'
                                "\turl = https://example.org/lib.git\n"
                                '[submodule "present"]\n\tpath = present\n'
                                "\turl = https://example.org/present.git\n",
                 "present/code.py": "print('checked out, so scanned')\n"})
    (root / "vendor" / "lib").mkdir(parents=True)
    run = gate(root, "--advisories", str(both_db), "--scanner", "bandit")
    assert run.code == 1, run.output
    [finding] = not_audited(run)
    assert finding["path"] == ".gitmodules" and finding["start_line"] == 2
    assert "vendor/lib" in finding["message"] and "https://example.org/lib.git" in \
        finding["message"]
    assert status_of(finding) == "violation"


def test_a_gitlink_added_by_the_pull_request_fails(
        gate: Gate, tree: Callable[..., Path], both_db: Path) -> None:
    root = tree({"app.py": "print('hi')\n"})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD").strip()
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{base},vendor/lib")
    git(root, "commit", "-q", "-m", "add a submodule without .gitmodules")
    (root / "vendor" / "lib").mkdir(parents=True)  # as a checkout without submodules leaves it
    run = gate(root, "--advisories", str(both_db), "--scanner", "bandit",
               "--diff-base", base)
    assert run.code == 1, run.output
    [finding] = not_audited(run)
    assert finding["path"] == "vendor/lib/" and "submodule" in finding["message"]
    assert status_of(finding) == "violation"


@pytest.mark.parametrize("layout", ["empty", "only-excluded", "only-git"])
def test_an_empty_scan_path_is_a_usage_error(
        gate: Gate, tmp_path: Path, both_db: Path, layout: str) -> None:
    root = tmp_path / "scanned"
    root.mkdir()
    args: list[str] = []
    if layout == "only-excluded":
        make_tree(root, {"gen/a.py": "x = 1\n"})
        policy = tmp_path / "policy.yaml"
        policy.write_text(f"extends: {OFFLINE_POLICY}\nexclude: ['gen/']\n")
        args = ["--policy", str(policy)]
    elif layout == "only-git":
        git(root, "init", "-q")
    run = gate(root, "--advisories", str(both_db), *args)
    assert run.code == 2, run.output
    assert "no files to scan" in run.stderr


def test_a_missing_scan_path_is_a_usage_error(gate: Gate, tmp_path: Path) -> None:
    run = gate(tmp_path / "does-not-exist")
    assert run.code == 2 and "does not exist" in run.stderr


# ---------------------------------- item 10: decode what the ecosystem's tools decode


@pytest.mark.parametrize(("label", "data"), [
    ("utf-8 BOM", codecs.BOM_UTF8 + b"requests==2.19.0\n"),
    ("utf-16 LE BOM", codecs.BOM_UTF16_LE + "requests==2.19.0\n".encode("utf-16-le")),
    ("utf-16 BE BOM", codecs.BOM_UTF16_BE + "requests==2.19.0\n".encode("utf-16-be")),
    ("utf-32 BE BOM", codecs.BOM_UTF32_BE + "requests==2.19.0\n".encode("utf-32-be")),
    ("latin-1 coding line", b"# -*- coding: latin-1 -*-\n# caf\xe9\nrequests==2.19.0\n"),
    ("coding on line 2", b"#!/usr/bin/env x\n# vim: set fileencoding=cp1252 :\n"
                         b"requests==2.19.0  # \x93quoted\x94\n"),
])
def test_requirements_are_decoded_as_pip_decodes_them(
        tmp_path: Path, label: str, data: bytes) -> None:
    root = make_tree(tmp_path / "r", {"requirements.txt": data})
    scan = parse_manifests(walk(root))
    assert not scan.errors, (label, scan.errors)
    assert [(p.name, p.version) for p in scan.pinned] == [("requests", "2.19.0")], label


@pytest.mark.parametrize(("label", "data", "why"), [
    ("latin-1 without a coding line", b"requests==2.19.0  # caf\xe9\n", "UTF-8"),
    ("an unknown coding", b"# coding: no-such-codec\nrequests==2.19.0\n", "no-such-codec"),
    ("a coding that does not decode", b"# coding: ascii\nrequests==2.19.0 # \xff\n", "ascii"),
])
def test_requirements_pip_cannot_decode_are_not_audited(
        tmp_path: Path, label: str, data: bytes, why: str) -> None:
    root = make_tree(tmp_path / "r", {"requirements.txt": data})
    [error] = parse_manifests(walk(root)).errors
    assert why in error.reason, (label, error.reason)


def test_utf16_requirements_are_audited_through_the_gate(
        gate: Gate, tree: Callable[..., Path]) -> None:
    root = tree({"requirements.txt": codecs.BOM_UTF16_LE
                 + "flask==0.12\nrequests==2.19.0\n".encode("utf-16-le")})
    run = gate(root, "--scanner", "pip-audit")
    assert run.code == 1, run.output
    assert {f["dependency"]["package"] for f in run.findings(category="dependency")} == {
        "flask", "requests"}


@pytest.mark.parametrize(("label", "data"), [
    ("a lone surrogate escape", lockfile_text(description="\\ud800").replace(
        '"\\\\ud800"', '"\\ud800"').encode()),
    ("a BOM", codecs.BOM_UTF8 + lockfile_text().encode()),
    ("an invalid UTF-8 byte", lockfile_text(description="caf").replace(
        '"caf"', '"caf\udce9"').encode("utf-8", "surrogateescape")),
])
def test_lockfiles_are_parsed_as_npm_parses_them(
        tmp_path: Path, label: str, data: bytes) -> None:
    assert b"left-pad" in data
    root = make_tree(tmp_path / "r", {"package-lock.json": data})
    packages = npm.parse_lockfile(root, "package-lock.json")
    assert [(p.name, p.version) for p in packages] == [("left-pad", "1.2.0")], label


def test_a_lockfile_with_a_lone_surrogate_is_audited_through_the_gate(
        gate: Gate, tree: Callable[..., Path], both_db: Path) -> None:
    text = lockfile_text(description="x").replace('"x"', '"\\udfff and \\ud800"')
    root = tree({"package-lock.json": text})
    run = gate(root, "--advisories", str(both_db), "--scanner", "osv")
    assert run.code == 1, run.output
    [finding] = run.findings(category="dependency")
    assert finding["dependency"]["package"] == "left-pad"
    assert finding["dependency"]["advisory"] == "GHSA-aaaa-bbbb-cccc"


def test_lone_surrogates_become_replacement_characters_but_never_merge_keys() -> None:
    text = '{"a\\ud800": "b\\udc00c", "ok": "\\ud83d\\ude00"}'
    assert jsontext.loads(text, surrogates="replace") == {
        "a\ufffd": "b\ufffdc", "ok": "\U0001f600"}
    with pytest.raises(ValueError, match="surrogate"):
        jsontext.loads('{"a\\ud800": 1, "a\\ud801": 2}', surrogates="replace")
    with pytest.raises(ValueError, match="lone surrogate"):  # the default: files npm never reads
        jsontext.loads(text)
