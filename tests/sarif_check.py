"""Validate a SARIF document against the OASIS SARIF 2.1.0 schema (shared copy), with the
schema's string formats actually checked (jsonschema skips `uri`/`uri-reference` unless an
optional package is installed, so they are checked here).

    from sarif_check import assert_valid_sarif
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"

# RFC 3986 characters (unreserved, reserved, and '%' only as the start of an escape).
_URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def _uri_reference(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI_CHARS.match(value))


def _uri(value: object) -> bool:
    return not isinstance(value, str) or (
        bool(_URI_CHARS.match(value)) and bool(_SCHEME.match(value))
    )


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema with every non-recursive `#/definitions/...` reference replaced by
    its target (recursive ones stay references and still resolve): identical meaning
    under draft 4, where a `$ref` replaces its siblings, and markedly faster to validate
    large files with."""
    definitions = schema["definitions"]

    def walk(node: Any, stack: frozenset[str]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                name = ref.removeprefix("#/definitions/")
                return node if name in stack else walk(definitions[name], stack | {name})
            return {
                key: value if key in ("enum", "default", "required") else walk(value, stack)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [walk(item, stack) for item in node]
        return node

    top = walk({k: v for k, v in schema.items() if k != "definitions"}, frozenset())
    top["definitions"] = definitions
    return dict(top)


@cache
def _validator() -> jsonschema.Draft4Validator:
    schema = _inline(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    checker = jsonschema.FormatChecker()
    checker.checks("uri")(_uri)
    checker.checks("uri-reference")(_uri_reference)
    checker.checks("date-time")(_date_time)
    return jsonschema.Draft4Validator(schema, format_checker=checker)


def sarif_errors(doc: dict[str, Any], limit: int = 10) -> list[str]:
    errors = []
    for error in _validator().iter_errors(doc):
        where = "/".join(str(p) for p in error.absolute_path)
        errors.append(f"{where}: {error.message[:300]}")
        if len(errors) >= limit:
            break
    return errors


def assert_valid_sarif(doc: dict[str, Any]) -> None:
    """Fail with the first schema violations, and check what GitHub additionally needs:
    the 2.1.0 version, at least one run, and relative artifact URIs that parse."""
    errors = sarif_errors(doc)
    assert not errors, "invalid SARIF:\n" + "\n".join(errors)
    assert doc.get("version") == "2.1.0"
    assert doc.get("runs"), "a SARIF file needs at least one run"
    for run in doc["runs"]:
        assert run["tool"]["driver"].get("name"), "every run needs tool.driver.name"
        for result in run.get("results", []):
            for loc in result.get("locations", []):
                uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                assert not urlsplit(uri).scheme, f"artifact URI is not relative: {uri!r}"


def multitool_github_problems(doc: dict[str, Any]) -> list[str]:
    """The checks of the SARIF Multitool's GitHub rule set (`sarif validate --rule-kind-option
    Gh`, microsoft/sarif-sdk) that apply to the gate's files, plus SARIF2005:
    GH1001 every result location gives physicalLocation.artifactLocation.uri; GH1002 thread
    flow locations inline (the gate writes none); GH1003 a region gives startLine; GH1004
    GitHub's array limits (20 runs, 25,000 rules and results a run, 1,000 locations a
    result, 20 tags a rule); GH1005 locations are relative URIs; GH1006 an absolute URI
    needs a checkout path (none is absolute); GH1007 every message is fully formatted
    (text, never only an id and arguments); SARIF2005 every tool gives name, version and
    informationUri."""
    problems: list[str] = []
    runs = doc["runs"]
    if len(runs) > 20:
        problems.append(f"GH1004: {len(runs)} runs")
    for run in runs:
        driver = run["tool"]["driver"]
        name = driver.get("name", "?")
        for key in ("name", "version", "informationUri"):
            if not driver.get(key):
                problems.append(f"SARIF2005: {name} has no tool.driver.{key}")
        rules, results = driver.get("rules", []), run.get("results", [])
        if len(rules) > 25_000 or len(results) > 25_000:
            problems.append(f"GH1004: {name}: {len(rules)} rules, {len(results)} results")
        problems += [f"GH1004: {name}: rule {r['id']} has {len(r['properties']['tags'])} tags"
                     for r in rules if len(r.get("properties", {}).get("tags", [])) > 20]
        for result in results:
            if "text" not in result.get("message", {}):
                problems.append(f"GH1007: {name}: a result message without text")
            locations = result.get("locations", []) + result.get("relatedLocations", [])
            if len(locations) > 1000:
                problems.append(f"GH1004: {name}: {len(locations)} locations")
            if "codeFlows" in result:
                problems.append(f"GH1002: {name}: code flows")
            for loc in locations:
                physical = loc.get("physicalLocation", {})
                uri = physical.get("artifactLocation", {}).get("uri")
                if not uri:
                    problems.append(f"GH1001: {name}: a location without a URI")
                elif urlsplit(uri).scheme or uri.startswith("/"):
                    problems.append(f"GH1005/GH1006: {name}: {uri} is not relative")
                region = physical.get("region")
                if region is not None and "startLine" not in region:
                    problems.append(f"GH1003: {name}: a region without startLine")
    return problems
