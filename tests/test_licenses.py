"""The licence check: SPDX semantics, PyPI metadata, exceptions, and real gate runs over
an npm lockfile and Python requirements (licences served by a local fake PyPI)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_gate.base.fileset import walk
from policy_gate.catalogue import ScannerSettings
from policy_gate.dependencies.pypi_metadata import PyPIMetadata, license_from_metadata
from policy_gate.dependencies.spdx import ALLOWED, DENIED, NOT_ALLOWED, UNKNOWN, Judge
from policy_gate.findings import LICENSE, Severity
from policy_gate.scanners.interface import ScanContext
from policy_gate.scanners.license_sources import registry_url
from policy_gate.scanners.licenses import LicensesScanner
from tests.conftest import OFFLINE_POLICY, REPO, GateRun, make_tree
from tests.fake_pypi import FakePyPI

MOJALOOP = yaml.safe_load((REPO / "policies" / "mojaloop.yaml").read_text())["licenses"]

# package -> (version, license field); None: no license field at all.
NPM_PACKAGES: dict[str, tuple[str, str | None]] = {
    "ok-mit": ("1.0.0", "MIT"),
    "dual": ("1.2.0", "(MIT OR GPL-3.0-only)"),
    "gpl-only": ("2.0.0", "GPL-3.0-only"),
    "both": ("3.1.0", "Apache-2.0 AND BSD-3-Clause"),
    "nolicense": ("0.1.0", None),
    "proprietary": ("4.0.0", "UNLICENSED"),
    "weird": ("1.0.1", "BSD"),  # which BSD? not guessed
    "named": ("1.1.0", "Apache License, Version 2.0"),  # corrected by LicenseLynx's map
    "devtool": ("5.0.0", "LGPL-3.0-or-later"),  # dev only: not checked under Mojaloop
}
EXPECTED_RULES = {
    "gpl-only@2.0.0": "license-denied",
    "proprietary@4.0.0": "license-not-allowed",
    "weird@1.0.1": "license-unknown",
    "1 package@None": "license-unresolved",  # nolicense@0.1.0, offline (npm lookups off)
}


def package_lock() -> dict[str, str]:
    """A hand-written package-lock.json v3 (and its package.json) with licence fields."""
    deps = {n: f"^{v}" for n, (v, _) in NPM_PACKAGES.items() if n != "devtool"}
    packages: dict[str, Any] = {
        "": {"name": "svc", "version": "1.0.0", "dependencies": deps,
             "devDependencies": {"devtool": "^5.0.0"}},
    }
    for name, (version, lic) in NPM_PACKAGES.items():
        entry: dict[str, Any] = {
            "version": version,
            "resolved": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz",
        }
        if lic is not None:
            entry["license"] = lic
        if name == "devtool":
            entry["dev"] = True
        packages[f"node_modules/{name}"] = entry
    lock = {"name": "svc", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": packages}
    manifest = {"name": "svc", "version": "1.0.0", "dependencies": deps,
                "devDependencies": {"devtool": "^5.0.0"}}
    return {"package-lock.json": json.dumps(lock, indent=2),
            "package.json": json.dumps(manifest, indent=2)}


def policy_file(tmp_path: Path, exceptions: list[dict[str, str]]) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1, "extends": str(OFFLINE_POLICY), "name": "licence-test",
        "licenses": {"exceptions": exceptions},
    }))
    return path


def licence_findings(run: GateRun) -> dict[str, dict[str, Any]]:
    found = run.findings(category=LICENSE)
    out = {f"{f['dependency']['package']}@{f['dependency']['version']}": f for f in found}
    assert len(out) == len(found), "one finding per package@version and manifest"
    return out


# -- SPDX semantics ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "status", "blocking"),
    [
        ("MIT", ALLOWED, ()),
        ("mit", ALLOWED, ()),  # the library normalises case
        ("(MIT OR Apache-2.0)", ALLOWED, ()),
        ("MIT OR GPL-3.0-only", ALLOWED, ()),  # a denied branch need not be chosen
        ("GPL-3.0-only OR MPL-2.0", DENIED, ("GPL-3.0-only", "MPL-2.0")),
        ("MPL-2.0 OR EPL-2.0", NOT_ALLOWED, ("MPL-2.0", "EPL-2.0")),
        ("Apache-2.0 AND BSD-3-Clause", ALLOWED, ()),
        ("MIT AND MPL-2.0", NOT_ALLOWED, ("MPL-2.0",)),
        ("MIT AND (BSD-2-Clause OR GPL-2.0-only)", ALLOWED, ()),
        ("MIT AND (GPL-2.0-only OR LGPL-3.0-only)", DENIED, ("GPL-2.0-only", "LGPL-3.0-only")),
        ("Apache-2.0 WITH LLVM-exception", ALLOWED, ()),  # judged by its base licence
        ("GPL-3.0-or-later WITH GCC-exception-3.1", DENIED, ("GPL-3.0-or-later",)),
        ("GPL-3.0", DENIED, ("GPL-3.0-only",)),  # deprecated id, normalised by the library
        ("GPL-2.0+", DENIED, ("GPL-2.0-or-later",)),
        ("LicenseRef-Proprietary", NOT_ALLOWED, ("LicenseRef-Proprietary",)),
        ("UNLICENSED", NOT_ALLOWED, ("UNLICENSED",)),
        (None, UNKNOWN, ()),
        ("", UNKNOWN, ()),
        # not SPDX, corrected by LicenseLynx's reviewed map of licence names
        ("Apache 2.0", ALLOWED, ()),
        ("MIT License", ALLOWED, ()),
        ("The MIT License", ALLOWED, ()),
        ("MIT OR Apache2", ALLOWED, ()),
        ("(MIT AND Zlib)", NOT_ALLOWED, ("Zlib",)),
        ("(Apache License, Version 2.0) OR (GPLv3)", ALLOWED, ()),
        ("GPLv3", DENIED, ("GPL-3.0-only",)),
        ("MIT/X11", NOT_ALLOWED, ("X11",)),
        ("BlueOak-1.0.0", ALLOWED, ()),  # on Mojaloop's own allowlist (policy comment)
        ("0BSD", ALLOWED, ()),
        # an ambiguous name stays unknown: which BSD?
        ("BSD", UNKNOWN, ()),
        ("GPL", NOT_ALLOWED, ("GPL-1.0-or-later",)),  # the SPDX library's own alias
        ("MIT*", UNKNOWN, ()),  # license-checker's guess from a file, not a declaration
        ("MIT OR", UNKNOWN, ()),
        ("MIT WITH Apache-2.0", UNKNOWN, ()),  # a licence is not an exception
        ("SEE LICENSE IN LICENSE.md", UNKNOWN, ()),
        ("NOASSERTION", UNKNOWN, ()),
    ],
)
def test_expression_semantics(declared: str | None, status: str,
                              blocking: tuple[str, ...]) -> None:
    judgement = Judge(MOJALOOP["allow"], MOJALOOP["deny"]).judge(declared)
    assert judgement.status == status
    assert judgement.blocking == blocking
    if status == UNKNOWN:
        assert judgement.reason


def test_deny_wins_over_allow() -> None:
    judge = Judge(["MIT", "GPL-3.0-only"], ["GPL-3.0"])
    assert judge.judge("GPL-3.0-only").status == DENIED
    assert judge.judge("MIT OR GPL-3.0-only").status == ALLOWED


# -- PyPI metadata -------------------------------------------------------------------


def _info(**info: Any) -> dict[str, Any]:
    return {"info": {"license": None, "classifiers": [], **info}}


@pytest.mark.parametrize(
    ("info", "expected", "source"),
    [
        ({"license_expression": "MIT OR Apache-2.0", "license": "GPL"}, "MIT OR Apache-2.0",
         "license_expression"),
        ({"license": "apache-2.0"}, "Apache-2.0", "license"),
        ({"license": "Apache 2.0",
          "classifiers": ["License :: OSI Approved :: Apache Software License"]},
         "Apache-2.0", "license"),
        ({"license": "BSD", "classifiers": [
            "License :: OSI Approved :: Apache Software License"]}, "Apache-2.0", "classifiers"),
        ({"license": "", "classifiers": ["License :: OSI Approved :: MIT License",
                                         "License :: OSI Approved :: Apache Software License"]},
         "MIT OR Apache-2.0", "classifiers"),
        ({"license": "GPLv3", "classifiers": [
            "License :: OSI Approved :: GNU General Public License v3 (GPLv3)"]},
         "GPL-3.0-only", "license"),
        ({"license": "BSD", "classifiers": ["License :: OSI Approved :: BSD License"]}, None,
         ""),
        ({"license": "MIT License\n\nCopyright (c) ...\nPermission is hereby granted"}, None, ""),
        ({}, None, ""),
    ],
)
def test_license_from_metadata(info: dict[str, Any], expected: str | None, source: str) -> None:
    found = license_from_metadata(_info(**info))
    assert found.license == expected
    assert found.source == source
    assert found.available
    if expected is None:
        assert found.reason


def test_metadata_lookup_failures_are_reasons(pypi: FakePyPI) -> None:
    pypi.raw[("broken", "1.0")] = (200, b"<html>not json</html>")
    pypi.raw[("down", "1.0")] = (503, b"")
    pypi.delay[("slow", "1.0")] = 2.0
    pypi.add("slow", "1.0", license="MIT")
    # Only the slow answer meets the short timeout: on a loaded machine the others may
    # take longer than 0.5 s too, and must still fail for their own reason.
    prompt, impatient = PyPIMetadata(pypi.url, timeout=60), PyPIMetadata(pypi.url, timeout=0.5)
    for name, words, client in [("missing", "HTTP 404", prompt),
                                ("broken", "did not answer JSON", prompt),
                                ("down", "HTTP 503", prompt),
                                ("slow", "did not answer within", impatient)]:
        found = client.license(name, "1.0")
        assert found.license is None and not found.available
        assert words in found.reason, found.reason
    unreachable = PyPIMetadata("http://127.0.0.1:9/pypi", timeout=2).license("x", "1")
    assert "cannot reach" in unreachable.reason and not unreachable.available
    with pytest.raises(ValueError, match="http"):
        PyPIMetadata("file:///etc")


# -- real runs: npm lockfile -----------------------------------------------------------


def test_npm_lockfile_under_mojaloop(gate: Callable[..., GateRun],
                                     tree: Callable[..., Path]) -> None:
    run = gate(tree(package_lock()), "--scanner", "licenses")
    assert run.code == 1, run.output
    found = licence_findings(run)
    assert {ref: f["rule_id"] for ref, f in found.items()} == EXPECTED_RULES
    for ref, f in found.items():
        assert f["status"] == "violation"
        assert f["effective_severity"] == "high"  # unknown_severity and the category default
        assert f["confidence"] == "high"
        assert f["path"] == "package-lock.json"
        assert f["dependency"]["ecosystem"] == "npm"
        if f["rule_id"] != "license-unresolved":
            assert f["start_line"] and ref in f["message"]
            assert "licenses.exceptions" in f["message"]
    gpl = found["gpl-only@2.0.0"]
    assert "'GPL-3.0-only' is on the licence deny list" in gpl["message"]
    assert gpl["severity"] is None  # graded by the license category's default
    assert gpl["dependency"]["license"] == "GPL-3.0-only"
    assert gpl["dependency"]["direct"] is True
    assert "'BSD' is not a valid SPDX expression" in found["weird@1.0.1"]["message"]
    assert "UNLICENSED" in found["proprietary@4.0.0"]["message"]
    # no licence anywhere and the registry off: one finding for the ecosystem, the
    # packages in its data
    unresolved = found["1 package@None"]
    assert unresolved["dependency"]["packages"] == ["nolicense@0.1.0"]
    assert "1 npm package's licence could not be resolved: nolicense@0.1.0" in (
        unresolved["message"])
    assert "registry lookups are off" in unresolved["message"]
    assert unresolved["severity"] == "high"
    scanner = run.scanner("licenses")
    assert scanner["status"] == "ok"
    assert scanner["raw_results"] == scanner["results_in_report"] == len(EXPECTED_RULES)
    assert scanner["notes"][0] == (
        "checked the licences of 8 packages: 1 license-denied, 1 license-not-allowed, "
        "1 license-unknown, 1 license-unresolved, 0 license-exception")
    assert "1 development-only packages not checked (licenses.include_dev is false)" in (
        scanner["notes"])


def test_exception_valid_and_expired(gate: Callable[..., GateRun], tree: Callable[..., Path],
                                     tmp_path: Path) -> None:
    policy = policy_file(tmp_path, [
        {"package": "gpl-only@2.0.0", "reason": "replacing it in Q3", "owner": "security",
         "expires": "2999-12-31"},
        {"package": "weird@1.0.1", "reason": "checked by hand", "expires": "2001-01-31"},
        {"package": "unused@9.9.9", "reason": "left over", "expires": "2999-12-31"},
    ])
    run = gate(tree(package_lock()), "--scanner", "licenses", "--policy", str(policy))
    assert run.code == 1, run.output
    found = licence_findings(run)
    live = found["gpl-only@2.0.0"]
    assert live["rule_id"] == "license-exception"
    assert live["severity"] == "info"
    assert live["status"] == "below-threshold" and live["reported"]
    assert "exception applies until 2999-12-31" in live["message"]
    assert "replacing it in Q3" in live["message"] and "security" in live["message"]
    expired = found["weird@1.0.1"]
    assert expired["rule_id"] == "license-unknown" and expired["status"] == "violation"
    assert "exception for 'weird@1.0.1' expired on 2001-01-31" in expired["message"]
    assert {r for r, f in found.items() if f["status"] == "violation"} == (
        set(EXPECTED_RULES) - {"gpl-only@2.0.0"})
    assert any("unused@9.9.9" in n for n in run.scanner("licenses")["notes"])


def test_exceptions_cover_everything_passes(gate: Callable[..., GateRun],
                                            tree: Callable[..., Path], tmp_path: Path) -> None:
    refs = [*(r for r in EXPECTED_RULES if "@None" not in r), "nolicense@0.1.0"]
    policy = policy_file(tmp_path, [
        {"package": ref, "reason": "accepted", "expires": "2999-01-01"} for ref in refs
    ])
    run = gate(tree(package_lock()), "--scanner", "licenses", "--policy", str(policy))
    assert run.code == 0, run.output
    assert {f["rule_id"] for f in run.findings(category=LICENSE)} == {"license-exception"}


def _scan_direct(root: Path, today: dt.date, exceptions: list[dict[str, str]]) -> Any:
    section = {**MOJALOOP, "exceptions": exceptions}
    ctx = ScanContext(walk(root, ()), ScannerSettings(timeout=60), licenses=section)
    return LicensesScanner(today=lambda: today).scan(ctx)


@pytest.mark.parametrize(
    ("today", "rule"),
    [
        (dt.date(2030, 6, 29), "license-exception"),
        (dt.date(2030, 6, 30), "license-exception"),  # the expiry day itself still counts
        (dt.date(2030, 7, 1), "license-denied"),
    ],
)
def test_exception_expiry_uses_injected_today(tmp_path: Path, today: dt.date, rule: str) -> None:
    root = make_tree(tmp_path / "repo", package_lock())
    out = _scan_direct(root, today, [
        {"package": "gpl-only@2.0.0", "reason": "r", "expires": "2030-06-30"}])
    gpl = next(f for f in out.findings if f.dependency and f.dependency.package == "gpl-only")
    assert gpl.rule_id == rule
    if rule == "license-exception":
        assert gpl.severity == Severity.INFO
    else:
        assert "expired on 2030-06-30" in gpl.message


def test_inventory_lists_every_package_with_its_licence(tmp_path: Path) -> None:
    """What was checked, each licence as the check read it (development-only packages are
    not checked under Mojaloop)."""
    root = make_tree(tmp_path / "repo", package_lock())
    out = _scan_direct(root, dt.date(2030, 1, 1), [])
    licences = {p.ref: p.license for p in out.inventory}
    shown = {"dual": "MIT OR GPL-3.0-only", "named": "Apache-2.0"}
    assert licences == {
        f"{name}@{version}": shown.get(name, lic)
        for name, (version, lic) in NPM_PACKAGES.items() if name != "devtool"
    }
    assert out.raw_results == len(out.findings) == len(EXPECTED_RULES)


def test_unreadable_lockfile_is_unscanned(gate: Callable[..., GateRun],
                                          tree: Callable[..., Path]) -> None:
    run = gate(tree({"package-lock.json": "{not json"}), "--scanner", "licenses")
    unscanned = run.findings(category="unscanned", scanner="licenses")
    assert len(unscanned) == 1 and unscanned[0]["path"] == "package-lock.json"
    assert run.scanner("licenses")["status"] == "ok"


# -- real runs: Python, licences from the (fake) PyPI JSON API --------------------------


REQUIREMENTS = textwrap.dedent("""\
    flask==3.0.0
    requests==2.31.0
    attrs==23.1.0
    gplthing==1.0
    jinja2==2.10
    ghost==0.0.1
    """)


def test_python_licences_from_pypi(scan_data: Callable[..., Any], pypi: FakePyPI) -> None:
    pypi.add("flask", "3.0.0", license_expression="BSD-3-Clause")
    pypi.add("requests", "2.31.0", license="Apache 2.0",
             classifiers=("License :: OSI Approved :: Apache Software License",))
    pypi.add("attrs", "23.1.0", license="MIT")
    pypi.add("gplthing", "1.0", license="GPLv3+", classifiers=(
        "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)",))
    pypi.add("jinja2", "2.10", license="BSD",
             classifiers=("License :: OSI Approved :: BSD License",))
    # ghost: the index has no such release (404)
    data = scan_data({"requirements.txt": REQUIREMENTS,
                      "sub/requirements-dev.txt": "attrs==23.1.0\n"}, only=["licenses"])
    run = next(r for r in data.result.runs if r.name == "licenses")
    assert run.status == "ok", run.reason
    by_ref = {f"{f.dependency.package}@{f.dependency.version}": f
              for f in data.result.findings if f.category == LICENSE and f.dependency}
    assert {ref: f.rule_id for ref, f in by_ref.items()} == {
        "gplthing@1.0": "license-denied",
        "jinja2@2.10": "license-unknown",  # the index answered: a licence, just not SPDX
        "1 package@None": "license-unresolved",  # ghost: the index has no such release
    }
    assert "GPL-3.0-or-later" in by_ref["gplthing@1.0"].message
    ghost = by_ref["1 package@None"]
    assert ghost.dependency is not None and ghost.dependency.packages == ("ghost@0.0.1",)
    assert "HTTP 404" in ghost.message and "could not be resolved" in ghost.message
    assert "BSD License" in by_ref["jinja2@2.10"].message
    assert "metadata unavailable" not in by_ref["jinja2@2.10"].message
    assert ghost.severity == Severity.HIGH  # licenses.unknown_severity
    assert all(f.dependency and f.dependency.ecosystem == "PyPI" for f in by_ref.values())
    assert {d.finding.rule_id for d in data.evaluation.violations} == {
        "license-denied", "license-unknown", "license-unresolved"}
    assert run.output is not None
    licences = {(p.ref, p.manifest): p.license for p in run.output.inventory}
    assert licences[("flask@3.0.0", "requirements.txt")] == "BSD-3-Clause"
    assert licences[("requests@2.31.0", "requirements.txt")] == "Apache-2.0"
    assert licences[("ghost@0.0.1", "requirements.txt")] is None
    assert licences[("attrs@23.1.0", "sub/requirements-dev.txt")] == "MIT"
    assert len(licences) == 7
    # one lookup per distinct name@version (attrs is pinned twice)
    assert sorted(pypi.requests) == sorted(
        f"/pypi/{n}/{v}/json" for n, v in [("flask", "3.0.0"), ("requests", "2.31.0"),
                                           ("attrs", "23.1.0"), ("gplthing", "1.0"),
                                           ("jinja2", "2.10"), ("ghost", "0.0.1")])


def test_python_offline_is_one_unresolved_finding(gate: Callable[..., GateRun],
                                                  tree: Callable[..., Path]) -> None:
    """No index reachable: not one finding per package, one for the ecosystem, which fails
    under Mojaloop (never a pass)."""
    pins = "attrs==23.1.0\nrequests==2.32.3\nsix==1.16.0\n"
    run = gate(tree({"requirements.txt": pins}), "--scanner", "licenses",
               env={"POLICY_GATE_PYPI_URL": "http://127.0.0.1:9/pypi"})
    assert run.code == 1, run.output
    (finding,) = run.findings(category=LICENSE)
    assert finding["rule_id"] == "license-unresolved" and finding["status"] == "violation"
    assert finding["dependency"]["packages"] == ["attrs@23.1.0", "requests@2.32.3",
                                                 "six@1.16.0"]
    assert "3 PyPI packages' licences could not be resolved" in finding["message"]
    assert "cannot reach" in finding["message"]
    off = gate(tree({"requirements.txt": pins}), "--scanner", "licenses",
               env={"POLICY_GATE_PYPI_URL": "off"})
    (finding,) = off.findings(category=LICENSE)
    assert "registry lookups are off" in finding["message"] and off.code == 1
    assert off.scanner("licenses")["notes"][0].startswith("checked the licences of 3 ")


def test_no_manifests_no_findings(gate: Callable[..., GateRun],
                                  tree: Callable[..., Path]) -> None:
    run = gate(tree({"app.py": "print('hi')\n"}), "--scanner", "licenses")
    assert run.code == 0, run.output
    assert run.scanner("licenses")["status"] == "ok"
    assert not run.findings(category=LICENSE)


def test_registry_lookups_are_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a setting, licences are looked up in the public registries; the
    environment overrides the policy, and either can name a mirror or turn lookups off."""
    for env in ("POLICY_GATE_PYPI_URL", "POLICY_GATE_NPM_URL"):
        monkeypatch.delenv(env)
    assert registry_url("npm", {}) == "https://registry.npmjs.org"
    assert registry_url("PyPI", {}) == "https://pypi.org/pypi"
    section = {"npm_url": "https://npm.example/", "pypi_url": "off"}
    assert registry_url("npm", section) == "https://npm.example/"
    assert registry_url("PyPI", section) == "off"
    monkeypatch.setenv("POLICY_GATE_NPM_URL", "OFF")
    assert registry_url("npm", section) == "off"
    assert registry_url("npm", section, {"npm": "http://127.0.0.1:1"}) == "http://127.0.0.1:1"
