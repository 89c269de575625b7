"""Where a licence comes from when the lockfile does not record it: the installed
package beside the lockfile, then the registry (real answers of registry.npmjs.org and
pypi.org, recorded in tests/data/registry and served on 127.0.0.1), kept in the
authenticated metadata cache; and what is reported when none of them answers: one
finding per ecosystem, never one per package."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_gate.base.fileset import walk
from policy_gate.cache import ResultsCache, Seal, metadata_cache
from policy_gate.catalogue import ScannerSettings
from policy_gate.dependencies.license_lookup import STORE_KIND, LicenseLookup, _key
from policy_gate.dependencies.npm_registry import MAX_DOCUMENT_BYTES, declared_license
from policy_gate.findings import LICENSE, Finding
from policy_gate.results import ScanOutput
from policy_gate.scanners.interface import ScanContext
from policy_gate.scanners.licenses import LicensesScanner
from tests.conftest import REPO, GateRun, make_tree
from tests.recorded_registry import RecordedRegistry, npm_document, recorded_registry

MOJALOOP = yaml.safe_load((REPO / "policies" / "mojaloop.yaml").read_text())["licenses"]

# name -> version: every one recorded in tests/data/registry/npm, with its real licence
RECORDED_NPM = {
    "ms": "2.1.3",  # MIT
    "@babel/code-frame": "7.24.7",  # MIT, a scoped name
    "jackspeak": "3.4.3",  # BlueOak-1.0.0: on Mojaloop's allowlist
    "tslib": "2.6.2",  # 0BSD: on Mojaloop's allowlist
    "esprima": "4.0.1",  # BSD-2-Clause
    "spdx-exceptions": "2.5.0",  # CC-BY-3.0
    "json-schema": "0.2.3",  # licenses: [{type: AFLv2.1}, {type: BSD}]: not SPDX
    "buffers": "0.1.1",  # no licence at all
}
GONE = ("left-pad-private", "9.9.9")  # the mirror has no such release: 404


@pytest.fixture
def mirror() -> Any:
    with recorded_registry() as served:
        yield served


def lockfile(packages: dict[str, str], *, dev: tuple[str, ...] = (),
             licences: dict[str, str] | None = None) -> dict[str, str]:
    """A package-lock.json v3 (and its package.json) whose entries record no licence,
    unless ``licences`` gives one."""
    deps = {n: v for n, v in packages.items() if n not in dev}
    entries: dict[str, Any] = {"": {"name": "svc", "version": "1.0.0", "dependencies": deps,
                                    "devDependencies": {n: packages[n] for n in dev}}}
    for name, version in packages.items():
        entries[f"node_modules/{name}"] = {
            "version": version, **({"dev": True} if name in dev else {}),
            **({"license": licences[name]} if licences and name in licences else {})}
    lock = {"name": "svc", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": entries}
    manifest = {"name": "svc", "version": "1.0.0", "dependencies": deps,
                "devDependencies": {n: packages[n] for n in dev}}
    return {"package-lock.json": json.dumps(lock, indent=2),
            "package.json": json.dumps(manifest, indent=2)}


def scan(root: Path, *, npm_url: str = "off", pypi_url: str = "off",
         store: ResultsCache | None = None, section: dict[str, Any] | None = None,
         timeout: float = 30) -> ScanOutput:
    ctx = ScanContext(walk(root, ()), ScannerSettings(timeout=120),
                      licenses=section or MOJALOOP, metadata_store=store)
    scanner = LicensesScanner(today=lambda: dt.date(2030, 1, 1), npm_url=npm_url,
                              pypi_url=pypi_url, lookup_timeout=timeout)
    return scanner.scan(ctx)


def rules(out: ScanOutput) -> dict[str, str]:
    found: dict[str, str] = {}
    for f in out.findings:
        assert f.category == LICENSE and f.dependency is not None
        for ref in f.dependency.packages or (f"{f.dependency.package}@{f.dependency.version}",):
            assert ref not in found, "one finding per package"
            found[ref] = f.rule_id
    return found


def unresolved(out: ScanOutput) -> list[Finding]:
    return [f for f in out.findings if f.rule_id == "license-unresolved"]


# -- the npm registry ------------------------------------------------------------------


def test_npm_licences_come_from_the_registry(tmp_path: Path, mirror: RecordedRegistry) -> None:
    root = make_tree(tmp_path / "repo", lockfile({**RECORDED_NPM, GONE[0]: GONE[1]}))
    out = scan(root, npm_url=mirror.npm_url)
    assert rules(out) == {
        "json-schema@0.2.3": "license-unknown",  # AFLv2.1 OR BSD: which BSD?
        "buffers@0.1.1": "license-unknown",  # the registry says: no licence
        "left-pad-private@9.9.9": "license-unresolved",  # the registry has no such release
    }
    licences = {p.ref: p.license for p in out.inventory}
    assert licences["jackspeak@3.4.3"] == "BlueOak-1.0.0"
    assert licences["tslib@2.6.2"] == "0BSD"
    assert licences["@babel/code-frame@7.24.7"] == "MIT"
    # one request per package, the scoped name escaped as npm escapes it
    assert sorted(mirror.requests) == sorted(
        f"/npm/{n.replace('/', '%2F')}/{v}" for n, v in {**RECORDED_NPM, GONE[0]: GONE[1]}.items())
    (gone,) = unresolved(out)
    assert "HTTP 404" in gone.message
    assert "licences from registry: 7" in out.notes


def test_a_lockfile_licence_is_not_looked_up(tmp_path: Path, mirror: RecordedRegistry) -> None:
    root = make_tree(tmp_path / "repo", lockfile({"ms": "2.1.3", "tslib": "2.6.2"},
                                                 licences={"ms": "Apache 2.0"}))
    out = scan(root, npm_url=mirror.npm_url)
    assert not out.findings
    assert mirror.requests == ["/npm/tslib/2.6.2"]
    assert {p.ref: p.license for p in out.inventory} == {"ms@2.1.3": "Apache-2.0",
                                                         "tslib@2.6.2": "0BSD"}


def test_dev_only_packages_are_not_checked_under_mojaloop(
    tmp_path: Path, mirror: RecordedRegistry
) -> None:
    files = lockfile({"ms": "2.1.3", "buffers": "0.1.1"}, dev=("buffers",))
    out = scan(make_tree(tmp_path / "repo", files), npm_url=mirror.npm_url)
    assert not out.findings and mirror.requests == ["/npm/ms/2.1.3"]
    assert "1 development-only packages not checked (licenses.include_dev is false)" in (
        out.notes)
    checked = scan(make_tree(tmp_path / "repo2", files), npm_url=mirror.npm_url,
                   section={**MOJALOOP, "include_dev": True})
    assert rules(checked) == {"buffers@0.1.1": "license-unknown"}


# -- node_modules ----------------------------------------------------------------------


def installed(name: str, version: str, licence: Any) -> str:
    return json.dumps({"name": name, "version": version, "license": licence})


def test_installed_package_json_is_read_first(tmp_path: Path, mirror: RecordedRegistry) -> None:
    files = {
        **lockfile({"ms": "2.1.3", "tslib": "2.6.2", "esprima": "4.0.1"}),
        "node_modules/ms/package.json": installed("ms", "2.1.3", "MIT"),
        # another version installed there: says nothing about the locked one
        "node_modules/tslib/package.json": installed("tslib", "1.0.0", "GPL-3.0-only"),
        "node_modules/esprima/package.json": installed(
            "esprima", "4.0.1", [{"type": "BSD-2-Clause", "url": "x"}]),
    }
    out = scan(make_tree(tmp_path / "repo", files), npm_url=mirror.npm_url)
    assert not out.findings
    assert mirror.requests == ["/npm/tslib/2.6.2"]
    assert "licences from node_modules: 2, registry: 1" in out.notes


def test_installed_files_never_lead_out_of_the_tree(tmp_path: Path) -> None:
    """A linked package directory or package.json, a huge or broken file: not read, the
    licence stays unresolved (lookups off)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "package.json").write_text(installed("ms", "2.1.3", "MIT"))
    files = {
        **lockfile({"ms": "2.1.3", "tslib": "2.6.2", "esprima": "4.0.1", "jackspeak": "3.4.3"}),
        "node_modules/esprima/package.json": "{" * 100_000,
        "node_modules/jackspeak/package.json": installed("jackspeak", "3.4.3", "MIT")
        + " " * (2 * 1024 * 1024),
    }
    root = make_tree(tmp_path / "repo", files)
    (root / "node_modules" / "ms").symlink_to(outside)
    (root / "node_modules" / "tslib").mkdir()
    (root / "node_modules" / "tslib" / "package.json").symlink_to(outside / "package.json")
    out = scan(root)
    (finding,) = unresolved(out)
    assert finding.dependency is not None
    assert finding.dependency.packages == ("esprima@4.0.1", "jackspeak@3.4.3", "ms@2.1.3",
                                           "tslib@2.6.2")


# -- offline: one notice per ecosystem ---------------------------------------------------


def test_offline_is_one_notice_per_ecosystem(gate: Callable[..., GateRun],
                                             tree: Callable[..., Path]) -> None:
    files = {**lockfile(RECORDED_NPM), "requirements.txt": "attrs==26.1.0\nrequests==2.34.2\n"}
    run = gate(tree(files), "--scanner", "licenses",
               env={"POLICY_GATE_NPM_URL": "http://127.0.0.1:9/npm",
                    "POLICY_GATE_PYPI_URL": "off"})
    assert run.code == 1, run.output
    found = run.findings(category=LICENSE)
    assert sorted((f["rule_id"], f["dependency"]["ecosystem"]) for f in found) == [
        ("license-unresolved", "PyPI"), ("license-unresolved", "npm")]
    npm_notice = next(f for f in found if f["dependency"]["ecosystem"] == "npm")
    assert npm_notice["dependency"]["packages"] == sorted(
        f"{n}@{v}" for n, v in RECORDED_NPM.items())
    assert npm_notice["message"].startswith("8 npm packages' licences could not be resolved")
    assert "cannot reach http://127.0.0.1:9" in npm_notice["message"]
    assert all(f["status"] == "violation" for f in found)
    assert run.scanner("licenses")["notes"][0] == (
        "checked the licences of 10 packages: 0 license-denied, 0 license-not-allowed, "
        "0 license-unknown, 10 license-unresolved, 0 license-exception")


def test_an_exception_covers_an_unresolved_package(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "repo", lockfile({"ms": "2.1.3", "tslib": "2.6.2"}))
    out = scan(root, section={**MOJALOOP, "exceptions": [
        {"package": "ms@2.1.3", "reason": "MIT, checked by hand", "expires": "2031-01-01"}]})
    assert rules(out) == {"ms@2.1.3": "license-exception", "tslib@2.6.2": "license-unresolved"}


# -- the metadata cache -----------------------------------------------------------------


def test_a_cached_answer_needs_no_request(tmp_path: Path, mirror: RecordedRegistry) -> None:
    store = ResultsCache(tmp_path / "cache", Seal(b"k" * 32))
    root = make_tree(tmp_path / "repo", lockfile({"ms": "2.1.3", "tslib": "2.6.2",
                                                  GONE[0]: GONE[1]}))
    cold = scan(root, npm_url=mirror.npm_url, store=store)
    assert len(mirror.requests) == 3
    mirror.requests.clear()
    warm = scan(root, npm_url=mirror.npm_url, store=ResultsCache(tmp_path / "cache",
                                                                 Seal(b"k" * 32)))
    # answers are kept; the failure is asked again (it may be answered next time)
    assert mirror.requests == [f"/npm/{GONE[0]}/{GONE[1]}"]
    assert rules(warm) == rules(cold) == {f"{GONE[0]}@{GONE[1]}": "license-unresolved"}
    assert "licences from metadata cache: 2" in warm.notes


def test_a_forged_cache_entry_is_not_believed(tmp_path: Path, mirror: RecordedRegistry) -> None:
    """An entry written under another key (a poisoned cache directory) is a miss: the
    package is looked up, and its real licence judged."""
    forger = ResultsCache(tmp_path / "cache", Seal(b"f" * 32))
    forger.put(STORE_KIND, _key("npm", ("buffers", "0.1.1")),
               {"license": "MIT", "source": "registry", "reason": "", "available": True,
                "declared": "MIT"})
    root = make_tree(tmp_path / "repo", lockfile({"buffers": "0.1.1"}))
    out = scan(root, npm_url=mirror.npm_url, store=ResultsCache(tmp_path / "cache",
                                                                Seal(b"k" * 32)))
    assert mirror.requests == ["/npm/buffers/0.1.1"]
    assert rules(out) == {"buffers@0.1.1": "license-unknown"}


def test_the_metadata_cache_is_never_in_the_tree(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "repo", {"a.txt": "x"})
    assert metadata_cache(root, {"POLICY_GATE_METADATA_CACHE": str(root / "c")}) is None
    assert metadata_cache(root, {"POLICY_GATE_METADATA_CACHE": "off"}) is None
    home = metadata_cache(root, {"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert home is not None and home.directory == tmp_path / "xdg" / "policy-gate" / "metadata"
    assert os.stat(home.directory).st_mode & 0o077 == 0


# -- hostile registries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (200, b"<html>gateway</html>", "did not answer JSON"),
        (200, b"[1, 2, 3]", "not ms@2.1.3"),
        (200, json.dumps({**npm_document("ms", "2.1.3"), "name": "other"}).encode(),
         "not ms@2.1.3"),
        (200, json.dumps({**npm_document("ms", "2.1.3"), "license": 42}).encode(),
         "neither a string"),
        (200, json.dumps({**npm_document("ms", "2.1.3"), "license": {"type": ["MIT"]}}
                         ).encode(), "neither a string"),
        (200, b"[" * 100_000 + b"]" * 100_000, "did not answer JSON"),
        (200, b'{"name": "ms", "pad": "' + b"x" * (MAX_DOCUMENT_BYTES + 10) + b'"}',
         "implausibly large"),
        (500, b"", "HTTP 500"),
    ],
    ids=["html", "array", "other-package", "number", "nested", "deep", "huge", "error"],
)
def test_hostile_answers_are_unresolved(tmp_path: Path, mirror: RecordedRegistry,
                                        status: int, body: bytes, words: str) -> None:
    mirror.raw["/npm/ms/2.1.3"] = (status, body)
    store = ResultsCache(tmp_path / "cache", Seal(secrets.token_bytes(32)))
    out = scan(make_tree(tmp_path / "repo", lockfile({"ms": "2.1.3"})),
               npm_url=mirror.npm_url, store=store)
    (finding,) = unresolved(out)
    assert words in finding.message, finding.message
    assert not out.inventory[0].license
    # never kept: the next run asks again
    assert store.get(STORE_KIND, _key("npm", ("ms", "2.1.3"))) is None


def test_declared_licence_shapes() -> None:
    assert declared_license("MIT") == "MIT"
    assert declared_license({"type": "ISC", "url": "x"}) == "ISC"
    assert declared_license([{"type": "MIT"}, "Apache 2.0"]) == "MIT OR (Apache 2.0)"
    assert declared_license([["MIT"]]) is None
    assert declared_license(42) is None and declared_license("  ") is None


# -- PyPI ----------------------------------------------------------------------------------


def test_python_licences_from_recorded_pypi(tmp_path: Path, mirror: RecordedRegistry) -> None:
    pins = "requests==2.34.2\nattrs==26.1.0\njinja2==3.1.6\npython-dateutil==4.0.0\n"
    out = scan(make_tree(tmp_path / "repo", {"requirements.txt": pins}),
               pypi_url=mirror.pypi_url)
    assert rules(out) == {
        # the index answered, but with no single SPDX licence ("BSD License" classifier)
        "jinja2@3.1.6": "license-unknown",
        "python-dateutil@4.0.0": "license-unknown",
    }
    licences = {p.ref: p.license for p in out.inventory}
    assert licences["requests@2.34.2"] == "Apache-2.0"
    assert licences["attrs@26.1.0"] == "MIT"  # PEP 639 License-Expression
    assert len(mirror.requests) == 4


def test_lookup_result_fields_are_what_the_store_keeps() -> None:
    """The store's entries are validated field by field against this dataclass."""
    assert set(LicenseLookup.__dataclass_fields__) == {
        "license", "source", "reason", "available", "declared"}


def test_the_gate_uses_a_mirror_and_never_the_results_cache(
    gate: Callable[..., GateRun], tree: Callable[..., Path], tmp_path: Path,
    mirror: RecordedRegistry
) -> None:
    """With lookups on, the licence check always runs (a failed lookup is tried again
    next time); the registry's answers are kept in the cache directory instead."""
    root = tree(lockfile({"ms": "2.1.3", "tslib": "2.6.2"}))
    cache = tmp_path / "cache"
    env = {"POLICY_GATE_NPM_URL": mirror.npm_url}
    first = gate(root, "--scanner", "licenses", "--cache-dir", str(cache), env=env)
    second = gate(root, "--scanner", "licenses", "--cache-dir", str(cache), env=env)
    assert first.code == second.code == 0, first.output
    assert second.scanner("licenses")["cache"] is None
    assert len(mirror.requests) == 2
    assert any("metadata cache: 2" in n for n in second.scanner("licenses")["notes"])
