"""The CycloneDX SBOM: every audited package a component, vulnerabilities on the right
components, valid against the CycloneDX 1.6 JSON schema the library ships."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from policy_gate.findings import DEPENDENCY, Severity
from policy_gate.packages import Package
from policy_gate.policy.evaluate import Status
from policy_gate.reports import cyclonedx
from policy_gate.reports.interface import ReportData
from policy_gate.results import ScannerRun, ScanOutput
from tests.conftest import GateRun
from tests.fake_pypi import FakePyPI
from tests.test_licenses import NPM_PACKAGES, package_lock

DEPENDENCY_SCANNERS = ["pip-audit", "osv", "licenses"]


def assert_valid(text: str) -> dict[str, Any]:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error
    doc: dict[str, Any] = json.loads(text)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    return doc


@pytest.fixture
def sbom_data(scan_data: Callable[..., Any], pypi: FakePyPI) -> Any:
    pypi.add("jinja2", "2.10", license="BSD",
             classifiers=("License :: OSI Approved :: BSD License",))
    pypi.add("markupsafe", "2.1.3", license_expression="BSD-3-Clause")
    files = {
        "requirements.txt": "jinja2==2.10\nmarkupsafe==2.1.3\n",
        "web/requirements.txt": "MarkupSafe==2.1.3\n",
        **{f"ui/{k}": v for k, v in package_lock().items()},
    }
    return scan_data(files, only=DEPENDENCY_SCANNERS)


def test_components_are_every_inventory_package(sbom_data: Any) -> None:
    for run in sbom_data.result.runs:
        if run.name in DEPENDENCY_SCANNERS:
            assert run.status == "ok", (run.name, run.reason)
    doc = assert_valid(cyclonedx.render(sbom_data))
    inventory = {
        (p.ecosystem, p.name, p.version)
        for run in sbom_data.result.runs if run.output for p in run.output.inventory
    }
    # jinja2, markupsafe (pinned twice) + the npm lockfile
    assert len(inventory) == 2 + len(NPM_PACKAGES)
    components = doc["components"]
    assert len(components) == len(inventory)
    assert {c["purl"] for c in components} == {
        f"pkg:{'pypi' if e == 'PyPI' else 'npm'}/{n}@{v}" for e, n, v in inventory}
    assert all(c["bom-ref"] == c["purl"] for c in components)
    by_name = {c["name"]: c for c in components}
    props = {p["value"] for p in by_name["markupsafe"]["properties"]
             if p["name"] == "policy-gate:manifest"}
    assert props == {"requirements.txt", "web/requirements.txt"}
    assert by_name["markupsafe"]["licenses"] == [{"expression": "BSD-3-Clause"}]
    assert by_name["dual"]["licenses"] == [{"expression": "MIT OR GPL-3.0-only"}]
    assert by_name["weird"]["licenses"] == [{"license": {"name": "BSD"}}]
    assert "licenses" not in by_name["nolicense"]
    assert by_name["devtool"]["scope"] == "optional"
    assert by_name["ok-mit"]["scope"] == "required"
    assert {"name": "policy-gate:dependency", "value": "direct"} in by_name["ok-mit"][
        "properties"]
    meta = doc["metadata"]
    assert meta["tools"]["components"][0]["name"] == "policy-gate"
    assert meta["component"]["name"] == "scanned"
    root_deps = next(d for d in doc["dependencies"] if d["ref"] == meta["component"]["bom-ref"])
    assert "pkg:npm/ok-mit@1.0.0" in root_deps["dependsOn"]


def test_vulnerabilities_attach_to_the_vulnerable_component(sbom_data: Any) -> None:
    doc = assert_valid(cyclonedx.render(sbom_data))
    expected = {
        f.dependency.advisory for f in sbom_data.result.findings
        if f.category == DEPENDENCY and f.dependency and f.dependency.advisory
    }
    assert expected, "jinja2 2.10 has advisories in examples/advisories"
    vulns = doc["vulnerabilities"]
    assert {v["id"] for v in vulns} == expected
    for v in vulns:
        assert [a["ref"] for a in v["affects"]] == ["pkg:pypi/jinja2@2.10"]
        assert v["affects"][0]["versions"] == [{"version": "2.10", "status": "affected"}]
        assert v["ratings"][0]["severity"] in {"low", "medium", "high", "critical"}
        assert v["source"]["url"].endswith(v["id"])
        assert "recommendation" in v
        assert "violation" in v["analysis"]["detail"]
    with_aliases = [v for v in vulns if v.get("references")]
    assert with_aliases and all(r["id"] and r["source"]["url"] for v in with_aliases
                                for r in v["references"])


def test_render_is_deterministic(sbom_data: Any) -> None:
    first, second = cyclonedx.render(sbom_data), cyclonedx.render(sbom_data)
    assert first == second
    assert json.loads(first)["serialNumber"].startswith("urn:uuid:")


def test_empty_tree_is_a_valid_sbom(scan_data: Callable[..., Any]) -> None:
    data = scan_data({"app.py": "print('hi')\n"}, only=DEPENDENCY_SCANNERS)
    doc = assert_valid(cyclonedx.render(data))
    assert doc.get("components", []) == []
    assert doc.get("vulnerabilities", []) == []


def test_cli_writes_cyclonedx(gate: Callable[..., GateRun], tree: Callable[..., Path],
                              tmp_path: Path, pypi: FakePyPI) -> None:
    pypi.add("jinja2", "2.10", license_expression="BSD-3-Clause")
    out = tmp_path / "sbom.cdx.json"
    run = gate(tree({"requirements.txt": "jinja2==2.10\n"}),
               *(a for s in DEPENDENCY_SCANNERS for a in ("--scanner", s)),
               "--format", "cyclonedx", "--output", str(out))
    assert run.code == 1, run.output  # jinja2 2.10 is vulnerable
    doc = assert_valid(out.read_text())
    (component,) = doc["components"]
    assert component["purl"] == "pkg:pypi/jinja2@2.10"
    assert component["licenses"] == [{"expression": "BSD-3-Clause"}]
    assert doc["vulnerabilities"]


# ---------------------------------------------------------------- the direct writer
# ``render`` writes the JSON itself (the library is too slow for the gate's overhead
# budget; see the module docstring). It must write what the library writes for the same
# SBOM, byte for byte: ``build`` is the library's model and ``_render_with_library`` its
# serialisation.


def test_render_is_what_the_library_writes(sbom_data: Any) -> None:
    text = cyclonedx.render(sbom_data)
    assert json.loads(text)["vulnerabilities"], "the fixture should exercise advisories"
    assert text == cyclonedx._render_with_library(sbom_data)


def test_empty_sbom_is_what_the_library_writes(scan_data: Callable[..., Any]) -> None:
    data = scan_data({"app.py": "print('hi')\n"}, only=DEPENDENCY_SCANNERS)
    assert cyclonedx.render(data) == cyclonedx._render_with_library(data)


def _awkward(data: Any) -> Any:
    """``data`` plus packages and advisories that exercise every branch and sort order:
    purls the purl library normalises, scoped npm names, a name in two ecosystems, SPDX
    and free-text licences, several parents, advisories on several versions and places,
    odd characters, empty texts, a URL the library must escape."""
    template = next(d for d in data.evaluation.decisions
                    if d.finding.category == DEPENDENCY and d.finding.dependency
                    and d.finding.dependency.advisory and d.finding.dependency.version)

    def vuln(advisory: str, package: str, version: str, *, ecosystem: str = "PyPI",
             aliases: tuple[str, ...] = (), message: str = "affected", title: str = "t",
             cwe: tuple[str, ...] = (), status: Status = Status.VIOLATION,
             severity: Severity = Severity.HIGH, fixed: tuple[str, ...] = (),
             fix: str | None = None, path: str = "requirements.txt", line: int = 1) -> Any:
        f = template.finding
        dep = dataclasses.replace(
            f.dependency, ecosystem=ecosystem, package=package, version=version,
            advisory=advisory, aliases=aliases, fixed_versions=fixed, fix_version=fix,
        )
        finding = dataclasses.replace(f, dependency=dep, message=message, title=title,
                                      cwe=cwe, path=path, start_line=line)
        return dataclasses.replace(template, finding=finding, status=status,
                                   severity=severity)

    decisions = [
        vuln("PYSEC-2024-1", "Foo_Bar", "1.0+local", aliases=("GHSA-aaaa-bbbb-cccc",
             "CVE-2024-2"), message='line one\nline "two" é … \x07 </script>', title="",
             cwe=("CWE-79", "CWE-20", "NVD-CWE-Other"), fixed=("1.1",), fix="2.0"),
        vuln("PYSEC-2024-1", "Foo_Bar", "0.9", status=Status.WAIVED, severity=Severity.LOW,
             fixed=("1.1",), fix="1.1", path="web/requirements.txt", line=3),
        vuln("PYSEC-2024-1", "Foo_Bar", "1.0+local", path="web/requirements.txt", line=7,
             status=Status.BELOW_THRESHOLD),
        vuln("GHSA-zzzz-yyyy-xxxx", "@scope/pkg", "2.0.0", ecosystem="npm", message="",
             title="", severity=Severity.INFO, status=Status.BELOW_THRESHOLD,
             path="package-lock.json", line=0),
        vuln("OSV 2024 [1]", "lib", "3.0.0", ecosystem="npm", path="package-lock.json"),
        vuln("CVE-2024-9", "lib", "3.0.0", severity=Severity.CRITICAL, aliases=("OSV-1",)),
        vuln("CVE-2024-9", "lib", "3.0.0", ecosystem="npm", path="package-lock.json"),
    ]
    lock = "package-lock.json"
    packages = [
        Package("PyPI", "Foo_Bar", "1.0+local", "requirements.txt", direct=True,
                license="Apache 2.0"),
        Package("PyPI", "Foo_Bar", "1.0+local", "web/requirements.txt", direct=True),
        Package("npm", "top", "1.0.0", lock, direct=True, optional=True, license="MIT"),
        Package("npm", "@scope/pkg", "2.0.0", lock, direct=False, dev=True,
                path=("top@1.0.0", "@scope/pkg@2.0.0"), license="MIT OR Apache-2.0"),
        Package("npm", "child", "1.0.0", lock, direct=False, path=("top@1.0.0", "child@1.0.0")),
        Package("npm", "child", "1.0.0", "web/" + lock, direct=False,
                path=("top@1.0.0", "@scope/pkg@2.0.0", "child@1.0.0"), license="NOASSERTION"),
        Package("npm", "orphan", "1.0.0", lock, direct=False,
                path=("gone@1.0.0", "orphan@1.0.0"), license="UNLICENSED"),
        Package("npm", "lib", "3.0.0", lock, direct=True),
        Package("PyPI", "lib", "3.0.0", "requirements.txt"),
    ]
    extra = ScannerRun("extra", "ok", version="1", output=ScanOutput([], "1", 0, 0,
                                                                     inventory=packages))
    return ReportData(
        dataclasses.replace(data.result, runs=[*data.result.runs, extra]),
        data.policy,
        dataclasses.replace(data.evaluation,
                            decisions=(*data.evaluation.decisions, *decisions)),
    )


def test_render_matches_the_library_on_awkward_input(sbom_data: Any) -> None:
    data = _awkward(sbom_data)
    text = cyclonedx.render(data)
    doc = assert_valid(text)
    assert text == cyclonedx._render_with_library(data)
    vulns = {v["id"]: v for v in doc["vulnerabilities"]}
    assert vulns["OSV 2024 [1]"]["source"]["url"] == \
        "https://osv.dev/vulnerability/OSV%202024%20%5B1%5D"
    assert [a["ref"] for a in vulns["PYSEC-2024-1"]["affects"]] == [
        "pkg:pypi/Foo_Bar@0.9", "pkg:pypi/Foo_Bar@1.0+local"]
    purls = {c["bom-ref"]: c["purl"] for c in doc["components"]}
    assert purls["pkg:pypi/Foo_Bar@1.0+local"] == "pkg:pypi/foo-bar@1.0%2Blocal"


def test_clashing_purls_are_left_to_the_library(sbom_data: Any) -> None:
    data = _awkward(sbom_data)
    clash = ScannerRun("clash", "ok", output=ScanOutput([], "1", 0, 0, inventory=[
        Package("Go", "same", "1.0", "go.sum"), Package("Maven", "same", "1.0", "pom.xml")]))
    data.result.runs.append(clash)
    doc = assert_valid(cyclonedx.render(data))  # the library renames the clashing refs
    same = [c["bom-ref"] for c in doc["components"] if c["name"] == "same"]
    assert len(same) == len(set(same)) == 2


def test_an_advisory_id_the_library_refuses_as_a_url_is_encoded() -> None:
    assert cyclonedx._uri("https://osv.dev/vulnerability/A%zz#b#") == \
        "https://osv.dev/vulnerability/A%25zz%23b%23"
    assert cyclonedx._uri("https://nvd.nist.gov/vuln/detail/CVE-1 x") == \
        "https://nvd.nist.gov/vuln/detail/CVE-1%20x"


@pytest.mark.parametrize("value", [
    {}, [], "", 0, -3, 1.5, True, None, {"a": []}, {"a": {}}, [[], {}, [1, [2, {"b": None}]]],
    {"é": "…\u2028\n\t\"\\", "z": [1.0e100, False, "x"], "a": {"b": {"c": [{"d": 1}]}}},
])
def test_json_is_what_json_dumps_writes(value: Any) -> None:
    assert cyclonedx._json(value) == json.dumps(value, indent=2)


def test_rendering_does_not_import_the_library() -> None:
    """Importing cyclonedx-python-lib alone costs most of the report's time budget."""
    code = ("import sys, policy_gate.reports.cyclonedx; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cyclonedx'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
