"""The offline OSV query server: loading, matching, serving, and the timestamp gotcha."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.utils import canonicalize_name
from packaging.version import Version

from policy_gate.osv import AdvisoryDBError, AdvisoryIndex, OSVServer, rfc3339, serve_advisories
from tests.conftest import cpu_seconds

PYPA = Path(__file__).resolve().parents[2] / "shared" / "advisories" / "pypa" / "vulns"
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


# CPU seconds the module's one load of the PyPA snapshot took (the index's own
# load_seconds is wall time, which depends on the machine's load).
PYPA_LOAD_CPU: list[float] = []


@pytest.fixture(scope="module")
def pypa_index() -> AdvisoryIndex:
    if not PYPA.is_dir():
        pytest.skip(f"PyPA advisory snapshot not found at {PYPA}")
    started = cpu_seconds()
    index = AdvisoryIndex.load(PYPA)
    PYPA_LOAD_CPU.append(cpu_seconds() - started)
    return index


def post(url: str, payload: object) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def naive_affected_ids(db: Path, name: str, version: str) -> set[str]:
    """An independent, deliberately simple matcher: the explicit versions list, or an
    [introduced, fixed) interval of an ECOSYSTEM range. Withdrawn records are ignored."""
    wanted = Version(version)
    ids: set[str] = set()
    for path in (db / canonicalize_name(name)).glob("*.yaml"):
        record = yaml.safe_load(path.read_text())
        if record.get("withdrawn"):
            continue
        for affected in record.get("affected", []):
            if canonicalize_name(affected["package"]["name"]) != canonicalize_name(name):
                continue
            if version in [str(v) for v in affected.get("versions", [])]:
                ids.add(record["id"])
            for rng in affected.get("ranges", []):
                if rng["type"] != "ECOSYSTEM":
                    continue
                start = None
                for event in rng["events"]:
                    if "introduced" in event:
                        start = Version(str(event["introduced"]))
                    elif "fixed" in event and start is not None:
                        if start <= wanted < Version(str(event["fixed"])):
                            ids.add(record["id"])
                        start = None
                if start is not None and start <= wanted:
                    ids.add(record["id"])
    return ids


def write_yaml(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(record))


def record(vuln_id: str, name: str, events: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    return {
        "id": vuln_id,
        "modified": datetime(2023, 8, 3, 19, 36, 12, tzinfo=UTC),  # YAML dumps a timestamp
        "published": datetime(2021, 1, 2, 3, 4, 5, 120000, tzinfo=timezone(timedelta(hours=2))),
        "details": f"{vuln_id} details",
        "affected": [
            {
                "package": {"name": name, "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                **extra,
            }
        ],
    }


# -- the real PyPA snapshot ---------------------------------------------------------


def test_loads_every_pypa_record_quickly(pypa_index: AdvisoryIndex) -> None:
    yaml_files = [p for p in PYPA.rglob("*.yaml") if p.is_file()]
    assert pypa_index.files == len(yaml_files)
    assert len(pypa_index.records) + pypa_index.withdrawn == len(yaml_files)
    assert pypa_index.withdrawn > 0
    print(f"loaded {pypa_index.files} records in {pypa_index.load_seconds:.2f} s, "
          f"{PYPA_LOAD_CPU[0]:.2f} CPU-s")
    assert PYPA_LOAD_CPU[0] < 30


@pytest.mark.parametrize(
    ("name", "version", "vulnerable"),
    [("jinja2", "2.10", True), ("requests", "2.19.0", True), ("django", "3.2", True),
     ("PyYAML", "5.3", True), ("urllib3", "1.26.4", True), ("Jinja2", "3.1.4", False)],
)
def test_query_matches_an_independent_matcher(
    pypa_index: AdvisoryIndex, name: str, version: str, vulnerable: bool
) -> None:
    expected = naive_affected_ids(PYPA, name, version)
    assert bool(expected) == vulnerable  # the comparison below is not vacuous
    with OSVServer(pypa_index) as server:
        status, body = post(server.query_url, {"package": {"name": name, "ecosystem": "PyPI"},
                                               "version": version})
    assert status == 200
    got = {v["id"] for v in body.get("vulns", [])}
    assert got == expected
    if version == "2.10":
        assert {"PYSEC-2019-217", "PYSEC-2021-66"} <= got  # known jinja2 2.10 advisories
    for vuln in body.get("vulns", []):
        for key in ("modified", "published"):
            assert RFC3339_Z.match(vuln[key]), vuln[key]


def test_no_vulnerabilities_is_an_empty_object(pypa_index: AdvisoryIndex) -> None:
    with OSVServer(pypa_index) as server:
        status, body = post(server.query_url, {"package": {"name": "no-such-package-xyz",
                                                           "ecosystem": "PyPI"}, "version": "1.0"})
    assert (status, body) == (200, {})


# -- matching rules on synthetic records ---------------------------------------------


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    db = tmp_path / "db"
    write_yaml(db / "foo/OSV-1.yaml", record(
        "OSV-1", "Foo_Bar",
        [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"last_affected": "2.3"}],
    ))
    write_yaml(db / "foo/OSV-2.yaml", record(
        "OSV-2", "foo-bar", [{"introduced": "0"}, {"fixed": "0.5"}], versions=["0.9"],
    ))
    withdrawn = record("OSV-3", "foo-bar", [{"introduced": "0"}])
    withdrawn["withdrawn"] = "2024-01-01T00:00:00Z"
    write_yaml(db / "foo/OSV-3.yaml", withdrawn)
    (db / "README.md").write_text("not a record")
    return db


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1", {"OSV-2"}), ("0.5", set()), ("0.9", {"OSV-2"}), ("1.0", {"OSV-1"}),
     ("1.4.9", {"OSV-1"}), ("1.5", set()), ("1.9", set()), ("2.0rc1", set()),
     ("2.3", {"OSV-1"}), ("2.3.0", {"OSV-1"}), ("2.3.1", set()), ("not-a-version", set())],
)
def test_ranges_versions_and_withdrawn(small_db: Path, version: str, expected: set[str]) -> None:
    index = AdvisoryIndex.load(small_db)
    assert index.withdrawn == 1
    assert {r["id"] for r in index.query("PyPI", "FOO.bar", version)} == expected


def test_serves_rfc3339_timestamps_and_canonical_names(small_db: Path) -> None:
    with serve_advisories(small_db) as url:
        _, body = post(url, {"package": {"name": "foo_bar", "ecosystem": "PyPI"},
                             "version": "1.2"})
    (vuln,) = body["vulns"]
    assert vuln["modified"] == "2023-08-03T19:36:12Z"
    assert vuln["published"] == "2021-01-02T01:04:05.120000Z"  # converted to UTC
    assert vuln["affected"][0]["package"]["name"] == "foo-bar"
    # the exact formats pip-audit parses
    datetime.strptime(vuln["modified"], "%Y-%m-%dT%H:%M:%SZ")
    datetime.strptime(vuln["published"], "%Y-%m-%dT%H:%M:%S.%fZ")


def test_rfc3339() -> None:
    assert rfc3339(datetime(2023, 8, 3, 19, 36, 12)) == "2023-08-03T19:36:12Z"
    assert rfc3339(date(2023, 8, 3)) == "2023-08-03T00:00:00Z"
    assert rfc3339("2023-08-03 19:36:12+00:00") == "2023-08-03T19:36:12Z"
    assert rfc3339("2023-08-03T21:36:12.123456789+02:00") == "2023-08-03T19:36:12.123456Z"
    assert rfc3339("yesterday") == "yesterday"


def test_all_zip_of_json_records(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        rec = record("GHSA-aaaa-bbbb-cccc", "bar", [{"introduced": "0"}, {"fixed": "3"}])
        zf.writestr("GHSA-aaaa-bbbb-cccc.json", json.dumps(rec, default=str))
    index = AdvisoryIndex.load(archive)
    assert [r["id"] for r in index.query("PyPI", "bar", "2.9")] == ["GHSA-aaaa-bbbb-cccc"]
    assert index.query("PyPI", "bar", "3.0") == []
    assert index.records["GHSA-aaaa-bbbb-cccc"]["modified"] == "2023-08-03T19:36:12Z"


def test_protocol_errors_batch_and_get(small_db: Path) -> None:
    with OSVServer(AdvisoryIndex.load(small_db)) as server:
        assert post(server.query_url, {"version": "1"})[0] == 400
        assert post(server.query_url, ["not", "a", "query"])[0] == 400
        assert post(server.base_url + "/v2/other", {})[0] == 404
        status, body = post(server.base_url + "/v1/querybatch", {"queries": [
            {"package": {"name": "foo-bar", "ecosystem": "PyPI"}, "version": "1.0"},
            {"package": {"name": "foo-bar", "ecosystem": "PyPI"}, "version": "1.5"},
        ]})
        assert status == 200
        assert body["results"][0]["vulns"][0]["id"] == "OSV-1"
        assert body["results"][1] == {}
        with urllib.request.urlopen(server.base_url + "/v1/vulns/OSV-2", timeout=10) as resp:
            assert json.loads(resp.read())["id"] == "OSV-2"
        url = server.query_url
    with pytest.raises(OSError):  # stopped: nothing listens any more
        urllib.request.urlopen(url, data=b"{}", timeout=2)


def test_broken_or_empty_database_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(AdvisoryDBError, match="no OSV records"):
        AdvisoryIndex.load(tmp_path)
    (tmp_path / "bad.yaml").write_text("id: [unclosed\n")
    with pytest.raises(AdvisoryDBError, match=r"bad\.yaml"):
        AdvisoryIndex.load(tmp_path)
    with pytest.raises(AdvisoryDBError):
        AdvisoryIndex.load(tmp_path / "missing")


def test_naive_matcher_sanity() -> None:
    """Guard the guard: the independent matcher must itself find known advisories."""
    if not PYPA.is_dir():
        pytest.skip(f"PyPA advisory snapshot not found at {PYPA}")
    assert "PYSEC-2019-217" in naive_affected_ids(PYPA, "jinja2", "2.10")
    assert "PYSEC-2019-217" not in naive_affected_ids(PYPA, "jinja2", "2.10.1")
