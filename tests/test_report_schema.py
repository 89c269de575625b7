"""The JSON report's published schema (policy_gate/reports/schema/report-1.1.json) says what
the report writes: its enums are the code's own values, its `$schema` URL is where the file
will be at the release tag, and a report using every optional part (diff mode, waivers, a
baseline, inline comments, notices, a failed scanner, the cache, advisory data) is valid.

Every gate run of the suite is validated too (conftest's gate_process), so a field added
without the schema fails the tests that produce it. All of this is in-process and cheap:
one evaluation of hand-built findings, no scanner."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest

from policy_gate import REPORT_SCHEMA_VERSION, REPOSITORY, __version__
from policy_gate.base.fileset import ALL_FILES, BY_GIT
from policy_gate.compliance.assess import STATUSES as CONTROL_STATUSES
from policy_gate.compliance.catalogue import FRAMEWORKS
from policy_gate.findings import CATEGORIES, Confidence, Severity
from policy_gate.policy.evaluate import NoticeKind, Status, Verdict, evaluate
from policy_gate.policy.waivers import KINDS
from policy_gate.reports import json_report
from policy_gate.reports.interface import ReportData
from policy_gate.results import (
    SCANNERS_OF,
    CacheUse,
    DatabaseInfo,
    EcosystemInfo,
    ScannerRun,
    ScannerStatus,
)
from tests.conftest import REPO
from tests.report_schema import assert_valid_report, validator
from tests.test_reports_decisions import _full

SCHEMA = json_report.schema()
DEFS = SCHEMA["$defs"]
CONTROL = SCHEMA["properties"]["compliance"]["properties"]["controls"]["items"]["properties"]


def _enum(node: dict[str, Any]) -> list[Any]:
    return list(node["enum"])


# ------------------------------------------------------------------ the schema and the code


@pytest.mark.parametrize(
    ("where", "node", "values"),
    [
        ("severity", DEFS["severity"], [s.label for s in Severity]),
        ("confidence", DEFS["confidence"], [c.label for c in Confidence]),
        ("category", DEFS["category"], list(CATEGORIES)),
        ("status", DEFS["status"], [s.value for s in Status]),
        ("verdict", SCHEMA["properties"]["verdict"], [v.value for v in Verdict]),
        ("headline", SCHEMA["properties"]["headline"], [v.headline for v in Verdict]),
        ("exit_code", SCHEMA["properties"]["exit_code"],
         list(dict.fromkeys(v.exit_code for v in Verdict))),
        ("scanner status", DEFS["scanner"]["properties"]["status"], list(get_args(ScannerStatus))),
        ("notice kind", DEFS["notice"]["properties"]["kind"], list(get_args(NoticeKind))),
        ("suppression kind", DEFS["suppression"]["properties"]["kind"], list(SCANNERS_OF)),
        ("waiver kind", DEFS["waiver"]["properties"]["kind"], list(KINDS)),
        ("selection", SCHEMA["properties"]["scan"]["properties"]["selection"]["properties"]["by"],
         [BY_GIT, ALL_FILES]),
        ("control framework", CONTROL["framework"], list(FRAMEWORKS)),
        ("control status", CONTROL["status"], list(CONTROL_STATUSES)),
    ],
)
def test_enums_are_the_codes_values(where: str, node: dict[str, Any], values: list[Any]) -> None:
    """Each enum is exactly the values the code can write, in the code's order: a value
    added to a Python enum or Literal without the schema (or the reverse) fails here."""
    assert _enum(node) == values, where


def test_schema_version_and_dialect() -> None:
    validator()  # checked against its metaschema
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["properties"]["schema_version"] == {"const": REPORT_SCHEMA_VERSION}


def test_schema_url_is_the_shipped_file_at_the_release_tag() -> None:
    """`$schema` names the raw file at tag v<version> of the repository the project
    metadata names: the file in this tree at that path is what the tag will hold."""
    url = json_report.SCHEMA_URL
    prefix = f"https://raw.githubusercontent.com/{REPOSITORY}/v{__version__}/"
    assert url.startswith(prefix)
    shipped = REPO / url.removeprefix(prefix)
    assert shipped.is_file() and json.loads(shipped.read_text()) == SCHEMA
    assert re.fullmatch(SCHEMA["properties"]["$schema"]["pattern"], url)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Homepage"] == f"https://github.com/{REPOSITORY}"
    assert project.get("version", __version__) == __version__  # one version, one tag


def test_schema_is_linked_from_the_docs() -> None:
    doc = (REPO / "docs" / "report-format.md").read_text()
    assert f"(schema_version {REPORT_SCHEMA_VERSION})" in doc.splitlines()[0]
    assert f"../policy_gate/reports/{json_report.SCHEMA_FILE}" in doc
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert f"`schema_version` {REPORT_SCHEMA_VERSION}" in changelog  # the consumers' entry


# ------------------------------------------------------------------ a rich report


def _rich(tmp_path: Path) -> ReportData:
    """The decisions scenario (diff mode, waivers, a baseline, inline comments, every
    notice, a secret found in a commit) plus a failed scanner, cache use and advisory
    data: every part of the report that is otherwise null or empty."""
    data = _full(tmp_path)
    result = data.result
    newest = datetime(2026, 11, 1, tzinfo=UTC)
    runs = [dataclasses.replace(r, cache=CacheUse(3, 1, False, 1)) for r in result.runs]
    runs.append(ScannerRun("semgrep", "failed", "semgrep exited 2", "1.185.0", 1.25))
    result = dataclasses.replace(
        result, runs=runs, advisories="/data/advisories",
        advisory_info=DatabaseInfo("/data/advisories", 19, 1, newest,
                                   {"PyPI": EcosystemInfo(17, newest)}),
    )
    ev = evaluate(data.policy, list(result.findings), (r.outcome for r in runs),
                  data.evaluation.inputs)
    return ReportData(result, data.policy, ev)


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json_report.render(_rich(tmp_path_factory.mktemp("r"))))
    return doc


def test_a_rich_report_is_valid_and_uses_every_optional_part(rich: dict[str, Any]) -> None:
    assert_valid_report(rich)
    assert rich["verdict"] == "error" and rich["exit_code"] == 3
    for key in ("diff", "waivers", "baseline", "review_required"):
        assert rich[key] is not None, key
    assert rich["scan"]["advisories"]["ecosystems"]["npm"]["records"] == 0
    assert {s["status"] for s in rich["scanners"]} == {"ok", "failed"}
    assert all(s["cache"] for s in rich["scanners"] if s["status"] == "ok")
    assert {n["kind"] for n in rich["notices"]} == set(get_args(NoticeKind))
    assert {u["honoured"] for u in rich["suppressions"]} == {True, False}
    findings = rich["findings"]
    for key in ("waiver", "suppression", "secret", "dependency", "commit"):
        assert any(f[key] is not None for f in findings), key
    assert {f["introduced"] for f in findings} == {True, False, None}


def test_the_dict_form_is_valid_too(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(json_report.build(_rich(tmp_path))))
    assert_valid_report(doc)


# ------------------------------------------------------------------ it is strict


def _broken(doc: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """A copy of ``doc`` with the value at ``path`` replaced (``...``: the key removed)."""
    out = copy.deepcopy(doc)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (("unknown",), 1, "Additional properties are not allowed"),
        (("findings", 0, "extra"), 1, "Additional properties are not allowed"),
        (("scanners", 0, "cache", "extra"), 1, "Additional properties are not allowed"),
        (("findings", 0, "status"), "accepted", "is not one of"),
        (("findings", 0, "category"), "iac", "is not one of"),
        (("findings", 0, "effective_severity"), "severe", "is not one of"),
        (("verdict",), "ok", "is not one of"),
        (("schema_version",), "1.0", "was expected"),
        (("notices", 0, "kind"), "note", "is not one of"),
        (("summary", "by_status", "accepted"), 1, "is not one of"),
        (("findings", 0, "waiver"), ..., "is a required property"),
        (("generated_at",), "2026-11-20 12:00", "does not match"),
        (("$schema",), "https://github.com/mojaloop/policy-gate/report.schema.json",
         "does not match"),
    ],
)
def test_the_schema_refuses_what_the_gate_does_not_write(
    rich: dict[str, Any], path: tuple[str | int, ...], value: object, error: str
) -> None:
    with pytest.raises(AssertionError, match=r"breaks its schema \(1 errors\)") as caught:
        assert_valid_report(_broken(rich, path, value))
    assert error in str(caught.value)


def test_the_schema_file_is_the_one_the_validator_uses() -> None:
    assert validator().schema == SCHEMA
    assert isinstance(validator(), jsonschema.Draft202012Validator)
