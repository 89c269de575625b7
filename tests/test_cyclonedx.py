"""The CycloneDX SBOM: every audited package a component, vulnerabilities on the right
components, valid against the CycloneDX 1.6 JSON schema the library ships."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from policy_gate.findings import DEPENDENCY
from policy_gate.reports import cyclonedx
from tests.conftest import GateRun
from tests.fake_pypi import FakePyPI
from tests.test_licenses import package_lock

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
    assert len(inventory) == 2 + 8  # jinja2, markupsafe (pinned twice) + the npm lockfile
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
    assert by_name["weird"]["licenses"] == [{"license": {"name": "Apache 2.0"}}]
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
