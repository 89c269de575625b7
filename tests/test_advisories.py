"""The advisory database: npm semver matching, alias merging, CVSS grading, withdrawn
records, data age, fix guidance; and the PyPA snapshot through the full gate."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from packaging.utils import canonicalize_name
from packaging.version import Version

from policy_gate.advisories.database import (
    Advisory,
    AdvisoryIndex,
    fix_version,
    grade,
)
from policy_gate.findings import Severity
from policy_gate.osv import AdvisoryIndex as OsvAdvisoryIndex
from tests.conftest import PYPA_VULNS

CRITICAL_V3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
MEDIUM_V3 = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"  # 4.2
HIGH_V4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N"  # 8.7


def npm_record(vuln_id: str, package: str, events: list[dict[str, str]] | None = None,
               **extra: Any) -> dict[str, Any]:
    affected: dict[str, Any] = {"package": {"ecosystem": "npm", "name": package}}
    if events is not None:
        affected["ranges"] = [{"type": "SEMVER", "events": events}]
    if "versions" in extra:
        affected["versions"] = extra.pop("versions")
    return {"id": vuln_id, "modified": extra.pop("modified", "2024-01-01T00:00:00Z"),
            "summary": f"{vuln_id} in {package}", "affected": [affected], **extra}


NPM_RECORDS = [
    # one flaw, two records (GHSA and CVE), only the GHSA one graded
    npm_record("GHSA-aaaa-bbbb-cccc", "left-pad", [{"introduced": "0"}, {"fixed": "1.3.0"}],
               aliases=["CVE-2020-0001"],
               severity=[{"type": "CVSS_V3", "score": CRITICAL_V3}]),
    npm_record("CVE-2020-0001", "left-pad", [{"introduced": "0"}, {"fixed": "1.3.0"}],
               modified="2024-03-05T10:00:00Z"),
    # last_affected with prereleases
    npm_record("GHSA-last-affe-cted", "lib-b",
               [{"introduced": "2.0.0-beta.1"}, {"last_affected": "2.1.0"}],
               severity=[{"type": "CVSS_V3", "score": MEDIUM_V3}]),
    # fixed in a prerelease
    npm_record("GHSA-prer-elea-sefx", "lib-c", [{"introduced": "0"}, {"fixed": "3.0.0-rc.2"}],
               severity=[{"type": "CVSS_V4", "score": HIGH_V4}]),
    # explicit versions only
    npm_record("GHSA-vers-ions-only", "lib-d", None, versions=["1.0.0", "1.0.1"]),
    # withdrawn: never matched
    npm_record("GHSA-with-draw-nnnn", "lib-e", [{"introduced": "0"}],
               withdrawn="2024-02-01T00:00:00Z", modified="2025-06-01T00:00:00Z"),
    # no CVSS: the database's own label, or nothing at all
    npm_record("GHSA-labe-lled-only", "lib-f", [{"introduced": "0"}, {"fixed": "2.0.0"}],
               database_specific={"severity": "MODERATE"}),
    npm_record("GHSA-unsc-ored-xxxx", "lib-g", [{"introduced": "1.0.0"}, {"fixed": "1.5.0"}]),
    # two branches fixed separately, and a second flaw on the same package
    npm_record("GHSA-bran-ches-xxxx", "lib-h",
               [{"introduced": "1.0.0"}, {"fixed": "1.2.5"}, {"introduced": "2.0.0"},
                {"fixed": "2.0.3"}]),
    npm_record("GHSA-seco-ndfl-awxx", "lib-h", [{"introduced": "0"}, {"fixed": "1.3.0"}]),
    npm_record("GHSA-nofi-xxxx-xxxx", "lib-i", [{"introduced": "0"}]),
    npm_record("GHSA-fixd-xxxx-xxxx", "lib-i", [{"introduced": "0"}, {"fixed": "5.0.0"}]),
]


@pytest.fixture(scope="module")
def npm_db(tmp_path_factory: pytest.TempPathFactory) -> AdvisoryIndex:
    root = tmp_path_factory.mktemp("npm-db")
    for record in NPM_RECORDS:
        (root / f"{record['id']}.json").write_text(json.dumps(record))
    return AdvisoryIndex.load(root)


def ids(db: AdvisoryIndex, name: str, version: str) -> list[str]:
    return [a.id for a in db.advisories("npm", name, version)]


@pytest.mark.parametrize(("name", "version", "expected"), [
    ("left-pad", "1.2.9", ["GHSA-aaaa-bbbb-cccc"]),
    ("left-pad", "1.3.0", []),
    ("left-pad", "1.3.0-beta.1", ["GHSA-aaaa-bbbb-cccc"]),  # a prerelease precedes 1.3.0
    ("left-pad", "1.2.9+build.7", ["GHSA-aaaa-bbbb-cccc"]),  # build metadata ignored
    ("lib-b", "2.0.0-beta.0", []),
    ("lib-b", "2.0.0-beta.1", ["GHSA-last-affe-cted"]),
    ("lib-b", "2.0.0-beta.10", ["GHSA-last-affe-cted"]),  # numeric, not lexical, order
    ("lib-b", "2.1.0", ["GHSA-last-affe-cted"]),
    ("lib-b", "2.1.1-rc.1", []),  # after last_affected
    ("lib-b", "1.9.9", []),
    ("lib-c", "3.0.0-rc.1", ["GHSA-prer-elea-sefx"]),
    ("lib-c", "3.0.0-rc.2", []),
    ("lib-c", "3.0.0", []),
    ("lib-c", "2.99.0", ["GHSA-prer-elea-sefx"]),
    ("lib-d", "1.0.1", ["GHSA-vers-ions-only"]),
    ("lib-d", "1.0.2", []),
    ("lib-e", "1.0.0", []),  # withdrawn
    ("lib-g", "0.9.0", []),
    ("lib-g", "1.4.9", ["GHSA-unsc-ored-xxxx"]),
    ("lib-h", "2.0.2", ["GHSA-bran-ches-xxxx"]),
    ("lib-h", "1.2.0", ["GHSA-bran-ches-xxxx", "GHSA-seco-ndfl-awxx"]),
    ("lib-h", "1.2.7", ["GHSA-seco-ndfl-awxx"]),
    ("not-in-db", "1.0.0", []),
])
def test_npm_semver_matching(npm_db: AdvisoryIndex, name: str, version: str,
                             expected: list[str]) -> None:
    assert ids(npm_db, name, version) == expected


def test_aliases_merge_into_one_graded_advisory(npm_db: AdvisoryIndex) -> None:
    [adv] = npm_db.advisories("npm", "left-pad", "1.0.0")
    assert adv.id == "GHSA-aaaa-bbbb-cccc" and adv.aliases == ("CVE-2020-0001",)
    assert set(adv.records) == {"GHSA-aaaa-bbbb-cccc", "CVE-2020-0001"}
    assert adv.severity is Severity.CRITICAL and adv.score == pytest.approx(9.8)
    assert adv.fixed == ("1.3.0",)


def test_severity_from_cvss_and_labels(npm_db: AdvisoryIndex) -> None:
    def sev(name: str, version: str) -> Severity | None:
        return npm_db.advisories("npm", name, version)[0].severity

    assert sev("lib-b", "2.1.0") is Severity.MEDIUM  # CVSS v3 4.2
    assert sev("lib-c", "1.0.0") is Severity.HIGH  # CVSS v4 8.7
    assert sev("lib-f", "1.0.0") is Severity.MEDIUM  # GHSA MODERATE
    assert sev("lib-g", "1.0.0") is None  # ungraded: the policy's default_severity grades it
    assert [grade(s) for s in (9.0, 8.9, 7.0, 4.0, 3.9, 0.1, 0.0)] == [
        Severity.CRITICAL, Severity.HIGH, Severity.HIGH, Severity.MEDIUM, Severity.LOW,
        Severity.LOW, Severity.INFO]


def test_withdrawn_counted_not_served_and_age(npm_db: AdvisoryIndex) -> None:
    assert npm_db.withdrawn == 1 and "GHSA-with-draw-nnnn" not in npm_db.records
    info = npm_db.info
    assert info.records == len(NPM_RECORDS) - 1
    # the newest 'modified' of the data (a withdrawal is news too)
    assert info.newest == datetime(2025, 6, 1, tzinfo=UTC)
    assert info.age_days(datetime(2025, 6, 11, tzinfo=UTC)) == pytest.approx(10)
    assert info.to_dict(datetime(2025, 6, 11, tzinfo=UTC))["newest"] == "2025-06-01T00:00:00Z"


def test_fix_version_fixes_every_advisory(npm_db: AdvisoryIndex) -> None:
    def fix(name: str, version: str) -> str | None:
        return fix_version("npm", name, version, npm_db.advisories("npm", name, version),
                           npm_db)

    assert fix("left-pad", "1.0.0") == "1.3.0"
    assert fix("lib-h", "1.2.0") == "1.3.0"  # 1.2.5 still has the second flaw
    assert fix("lib-h", "2.0.1") == "2.0.3"
    assert fix("lib-c", "3.0.0-rc.1") == "3.0.0-rc.2"
    assert fix("lib-i", "1.0.0") is None  # one advisory has no fix
    assert fix("lib-b", "2.1.0") is None  # last_affected only: no fixed version
    pypi = [Advisory("PYSEC-1", (), "", "", None, None, ("2.10.1", "2.11.3"), ("PYSEC-1",), ""),
            Advisory("PYSEC-2", (), "", "", None, None, ("2.11.3",), ("PYSEC-2",), "")]
    assert fix_version("PyPI", "jinja2", "2.10", pypi) == "2.11.3"


def test_osv_package_names_still_import() -> None:
    assert OsvAdvisoryIndex is AdvisoryIndex


# --- the PyPA snapshot, end to end ------------------------------------------------------

POETRY_PINS = {"jinja2": "2.10", "requests": "2.19.0", "django": "3.2", "pyyaml": "5.3"}


def expected_pypa(name: str, version: str) -> set[str]:
    """Independently of the gate: which PyPA records list this version or range it."""
    wanted = Version(version)
    found = set()
    for path in sorted((PYPA_VULNS / name).glob("*.yaml")):
        record = yaml.safe_load(path.read_text())
        if record.get("withdrawn"):
            continue
        for affected in record.get("affected", []):
            if canonicalize_name(affected["package"]["name"]) != name:
                continue
            hit = any(Version(str(v)) == wanted for v in affected.get("versions", []))
            for rng in affected.get("ranges", []):
                if rng["type"] != "ECOSYSTEM":
                    continue
                state = False
                points = []
                for event in rng["events"]:
                    for kind, value in event.items():
                        points.append((Version("0") if str(value) == "0" else Version(str(value)),
                                       kind))
                for point, kind in sorted(points, key=lambda p: p[0]):
                    if kind == "introduced" and wanted >= point:
                        state = True
                    elif (kind == "fixed" and wanted >= point) or (
                        kind == "last_affected" and wanted > point
                    ):
                        state = False
                hit = hit or state
            if hit:
                found.add(record["id"])
    return found


POETRY_LOCK = "".join(
    f'[[package]]\nname = "{n}"\nversion = "{v}"\ndescription = "x"\noptional = false\n\n'
    for n, v in POETRY_PINS.items()
)


@pytest.mark.skipif(not PYPA_VULNS.is_dir(), reason="the shared PyPA snapshot is absent")
def test_poetry_lock_against_pypa_snapshot_through_the_gate(gate: Any, tree: Any) -> None:
    root = tree({"poetry.lock": POETRY_LOCK})
    run = gate(root, "--advisories", str(PYPA_VULNS), "--scanner", "pip-audit")
    assert run.report is not None, run.output
    assert run.scanner("pip-audit")["status"] == "ok", run.scanner("pip-audit")
    got: dict[str, set[str]] = {n: set() for n in POETRY_PINS}
    for f in run.findings(category="dependency"):
        dep = f["dependency"]
        got[dep["package"]].add(dep["advisory"])
        assert dep["version"] == POETRY_PINS[dep["package"]]
    expected = {n: expected_pypa(n, v) for n, v in POETRY_PINS.items()}
    assert all(expected.values())  # every one of these old pins has known advisories
    assert got == expected
    # fix guidance: one version that fixes every advisory on the pin
    for f in run.findings(category="dependency"):
        fix = f["dependency"]["fix_version"]
        if fix is not None:
            assert all(Version(fix) >= min(Version(v) for v in
                                             f2["dependency"]["fixed_versions"]
                                             if Version(v) > Version(f2["dependency"]["version"]))
                       for f2 in run.findings(category="dependency")
                       if f2["dependency"]["package"] == f["dependency"]["package"]
                       and f2["dependency"]["fixed_versions"])
            assert f"Upgrade to {fix}" in f["message"]
    # the data is stated in the report
    adv = run.report["scan"]["advisories"]
    assert adv["records"] > 2000 and adv["newest"].startswith("2024-")
