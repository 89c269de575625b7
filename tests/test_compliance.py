"""The compliance mapping (catalogue + policy citations) and the evidence report built on
it: completeness of the default policy's mapping, statuses from real scans, and a report
that is self-contained, escaped and free of secret values."""

from __future__ import annotations

import dataclasses
import random
import re
import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from policy_gate.compliance.assess import (
    FAIL,
    FEATURES,
    NOT_COVERED,
    NOT_RUN,
    PASS,
    CheckResult,
    _Index,
    _judge,
    assess,
    head_commit,
)
from policy_gate.compliance.catalogue import (
    CatalogueError,
    Check,
    ControlMap,
    _ids_and_metadata,
    build_map,
    canonical,
    controls_for_rule,
    load_catalogue,
    parse_catalogue,
    semgrep_rule_metadata,
)
from policy_gate.policy.evaluate import ACCEPTED, Status
from policy_gate.policy.loader import load_policy
from policy_gate.reports import compliance as report
from policy_gate.scanners import registry
from tests import gfm

# Categories that are not about the security of processing: GDPR need not be cited. Any
# other category (including one added later) must map to GDPR Art. 25 or Art. 32.
NOT_SECURITY_OF_PROCESSING = {"license", "coverage", "suppression"}

VULN_PY = """\
import hashlib, subprocess


def run(cmd):
    hashlib.md5(cmd)
"""
HOSTILE = "<img src=x onerror=alert(1)>.py"
# A fake AWS key pair, generated from a fixed seed so no real-looking credential is
# committed: an id is "AKIA" and 16 base32 characters, a secret 40 base64 characters.
_RNG = random.Random(59)
AWS_KEY = "AKIA" + "".join(_RNG.choices(string.ascii_uppercase + "234567", k=16))
AWS_SECRET = "".join(_RNG.choices(string.ascii_letters + string.digits + "+/", k=40))


def _frameworks(ids: set[str]) -> set[str]:
    cat = load_catalogue()
    return {c.framework for c in cat.controls if c.id in ids}


# -- the mapping ---------------------------------------------------------------------------


def test_catalogue_is_valid_and_every_feature_has_an_evaluator() -> None:
    cat = load_catalogue()
    assert set(cat.features) == set(FEATURES)
    ids = {c.id for c in cat.controls}
    assert {f"M{n}" for n in range(1, 14)} <= ids
    assert {"M4a", "M6a", "GDPR Art. 25", "GDPR Art. 32"} <= ids
    for pci in ("3.2.1", "3.3.1", "3.4.1", "3.5.1", "4.2.1", "6.2.4", "6.3.1", "6.3.2",
                "6.3.3", "8.3.2", "8.6.2"):
        assert f"PCI DSS {pci}" in ids
    # honest gaps: what the gate cannot see is not-covered, with what to show instead
    for manual in ("M8", "M13"):
        control = cat.control(manual)
        assert control is not None and not control.checks and control.manual


def test_every_category_and_rule_of_the_default_policy_maps_to_controls() -> None:
    policy = load_policy("builtin:mojaloop")
    cmap = build_map(policy)
    assert policy.categories, "the default policy has categories"
    for name in policy.categories:
        frameworks = _frameworks(cmap.controls_of(f"category:{name}"))
        assert "mojaloop" in frameworks, f"category {name} maps to no Mojaloop fact"
        assert "pci-dss" in frameworks, f"category {name} maps to no PCI DSS requirement"
        if name not in NOT_SECURITY_OF_PROCESSING:
            assert "gdpr" in frameworks, f"category {name} maps to no GDPR article"
    scanners = registry()
    for key in policy.rules:
        scanner = key.split(":", 1)[0]
        categories = scanners[scanner].categories if scanner in scanners else ()
        frameworks = _frameworks(controls_for_rule(cmap, key, categories))
        assert {"mojaloop", "pci-dss"} <= frameworks, f"rule {key} maps to no control"


def test_rules_named_by_the_catalogue_exist() -> None:
    known = set(semgrep_rule_metadata())
    for control in load_catalogue().controls:
        for check in control.checks:
            if check.kind == "rule" and check.name.startswith("semgrep:"):
                assert check.name.split(":", 1)[1] in known, (control.id, check.key)
            if check.kind == "category":
                assert check.name in load_policy("builtin:mojaloop").categories


def test_policy_sources_change_the_evidence() -> None:
    policy = load_policy("builtin:mojaloop")
    lic = policy.categories["license"]
    edited = dataclasses.replace(
        policy,
        categories={**policy.categories, "license": dataclasses.replace(
            lic, sources=(*lic.sources, "pci-dss 6.3.3", "ISO 27001 A.8.28"))},
    )
    before, after = build_map(policy), build_map(edited)
    assert "category:license" not in before.checks["PCI DSS 6.3.3"]
    assert after.checks["PCI DSS 6.3.3"]["category:license"] == ("policy",)
    assert after.unknown["ISO 27001 A.8.28"] == ("category license",)


@pytest.mark.parametrize(("text", "expected"), [
    ("M4a", "M4a"), ("m11", "M11"), ("PCI DSS 6.2.4", "PCI DSS 6.2.4"),
    ("pci-dss 8.6.2", "PCI DSS 8.6.2"), ("PCI 3.5.1", "PCI DSS 3.5.1"),
    ("GDPR Art. 32", "GDPR Art. 32"), ("gdpr article 25", "GDPR Art. 25"),
    ("GDPR Art. 32(1)(d)", "GDPR Art. 32"), ("OWASP A03", None), ("6.3.2", None),
])
def test_citations_are_read_in_their_usual_spellings(text: str, expected: str | None) -> None:
    assert canonical(text) == expected
    assert canonical("6.3.2", pci=True) == "PCI DSS 6.3.2"


def test_a_malformed_catalogue_is_refused() -> None:
    good: dict[str, Any] = {
        "version": 1,
        "frameworks": {f: {"title": f, "reference": f} for f in ("mojaloop", "pci-dss", "gdpr")},
        "features": {},
        "controls": [{"id": "M1", "framework": "mojaloop", "title": "t", "requirement": "r",
                      "source": "s", "checks": ["category:dependency"]}],
    }
    assert parse_catalogue(good).controls[0].id == "M1"
    broken: dict[str, Any]
    for broken in (
        {"checks": ["feature:nope"]},
        {"checks": ["dependency"]},
        {"checks": []},  # no check and no `manual`
        {"id": "m1"},  # not canonical
        {"related": ["M99"]},
    ):
        doc = {**good, "controls": [{**good["controls"][0], **broken}]}
        with pytest.raises(CatalogueError):
            parse_catalogue(doc)


# -- statuses from real scans --------------------------------------------------------------


@pytest.fixture
def bandit_data(scan_data: Callable[..., Any]) -> Any:
    return scan_data({"app.py": VULN_PY, HOSTILE: VULN_PY}, only=["bandit"])


def test_statuses_from_a_real_scan(bandit_data: Any) -> None:
    a = assess(bandit_data)
    m11 = a.result("M11")
    assert m11.status == FAIL
    assert {d.finding.path for d in m11.violations} == {"app.py", HOSTILE}
    assert all(d.finding.rule_id == "B324" for d in m11.violations)
    # a violation in a shared category fails every control it covers
    assert a.result("PCI DSS 6.2.4").status == FAIL
    assert a.result("GDPR Art. 32").status == FAIL
    # the dependency audit was not selected: its controls say so, naming the scanner
    m2 = a.result("M2")
    assert m2.status == NOT_RUN
    assert "pip-audit disabled: not selected on the command line" in m2.why
    # semgrep did not run: a control covered only by its rules is not-run, not pass
    assert a.result("PCI DSS 4.2.1").status == NOT_RUN
    # no automated check: not-covered, never pass
    for manual in ("M8", "M13", "M4", "PCI DSS 10.3.2"):
        assert a.result(manual).status == NOT_COVERED
    # configuration-only features pass on the default policy
    assert a.result("M3").status == PASS


def test_a_scanner_disabled_by_the_policy_makes_its_controls_not_run(
    scan_data: Callable[..., Any], tmp_path: Path,
) -> None:
    policy = tmp_path / "policy.yaml"
    base = Path(__file__).parent / "policies" / "offline-snapshot.yaml"
    policy.write_text(
        f"version: 1\nextends: {base}\nscanners:\n  licenses: {{enabled: false}}\n"
    )
    data = scan_data({"app.py": "print('hi')\n"}, policy=str(policy), only=["licenses"])
    a = assess(data)
    for cid in ("M6", "M6a"):
        result = a.result(cid)
        assert result.status == NOT_RUN
        assert "licenses disabled: disabled by the policy" in result.why


def test_advisory_age_limit_weaker_than_m4a_fails_the_control(bandit_data: Any) -> None:
    # the offline-snapshot policy lifts the 2-day limit (M4a); the report must say so
    a = assess(bandit_data)
    checks = {c.check.key: c for c in a.result("M4a").checks}
    assert checks["feature:advisory-age"].status == FAIL
    assert "at most 2" in checks["feature:advisory-age"].why


def test_commit_is_best_effort(bandit_data: Any) -> None:
    sha, source = head_commit(bandit_data)  # tmp_path is not a git work tree
    assert sha is None and "not a git work tree" in source


# -- the report ----------------------------------------------------------------------------

_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
# Everything the page may use: text markup only, nothing that loads or runs anything.
_ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "footer", "section",
    "article", "h1", "h2", "h3", "h4", "p", "div", "span", "strong", "em", "code", "br",
    "a", "ul", "li", "dl", "dt", "dd", "table", "colgroup", "col", "thead", "tbody", "tr",
    "th", "td",
}


def _external_references(page: str) -> list[str]:
    bad = []
    for name, attrs in _TAG.findall(page):
        if name.lower() not in _ALLOWED_TAGS:
            bad.append(f"<{name}>")
        if re.search(r"\b(src|srcset|action|formaction|background|on\w+)\s*=", attrs, re.I):
            bad.append(f"<{name}{attrs}>")
        href = re.search(r'href\s*=\s*"([^"]*)"', attrs)
        if href and not href.group(1).startswith("#"):
            bad.append(f"<{name}{attrs}>")
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    if "url(" in style or "@import" in style or "@font-face" in style:
        bad.append("external resource in CSS")
    return bad


def test_html_is_self_contained_escaped_and_complete(bandit_data: Any) -> None:
    page = report.render_html(bandit_data)
    assert page.startswith("<!DOCTYPE html>")
    assert _external_references(page) == []
    assert page.count("<style>") == 1 and "<script" not in page.lower()
    assert HOSTILE not in page
    assert html_escaped(HOSTILE) in page
    assert bandit_data.policy.sha256 in page
    bandit = next(r for r in bandit_data.result.runs if r.name == "bandit")
    assert bandit.version and f"bandit {bandit.version}" in page
    # every control has a section, and every related link points at one
    for control in load_catalogue().controls:
        assert f'id="{report.anchor(control.id)}"' in page
    for target in re.findall(r'href="#([^"]+)"', page):
        assert f'id="{target}"' in page


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_markdown_is_inert_and_says_the_same(bandit_data: Any) -> None:
    text = report.render(bandit_data)
    assert text == report.render_markdown(bandit_data)
    rendered = gfm.render(text)  # as GitHub renders it: the name is text, not an image
    assert "img" not in rendered.tags and HOSTILE in "".join(rendered.text)
    assert bandit_data.policy.sha256 in text
    assert "| M11 mTLS and JWS not undermined | Mojaloop | **fail** |" in text
    assert "Manual evidence needed" in text


def test_no_secret_value_in_either_rendering(scan_data: Callable[..., Any]) -> None:
    files = {"settings.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
                            f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"\n'}
    data = scan_data(files, only=["kingfisher"])
    a = assess(data)
    assert a.result("M12").status == FAIL
    assert a.result("PCI DSS 8.6.2").violations
    for text in (report.render_markdown(data), report.render_html(data)):
        assert AWS_KEY not in text
        assert AWS_SECRET not in text
        assert AWS_KEY[4:] not in text
        assert "settings.py" in text


def test_cli_writes_markdown_and_self_contained_html(tmp_path: Path) -> None:
    """`--format compliance` writes the Markdown and the HTML page beside it; a tree with
    no coverage report gets M7 "not-run", never a silent pass."""
    import json as _json
    import os
    import subprocess
    import sys

    from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, make_tree

    root = make_tree(tmp_path / "svc", {"app.py": "print('ok')\n"})
    out = tmp_path / "out" / "evidence.md"
    report = tmp_path / "out" / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "policy_gate", "scan", str(root), "--policy", str(OFFLINE_POLICY),
         "--advisories", str(EXAMPLE_ADVISORIES), "--format", "compliance", "--output", str(out),
         "--format", "json", "--output", str(report)],
        capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    markdown = out.read_text()
    page = (tmp_path / "out" / "evidence.html").read_text()
    sha = _json.loads(report.read_text())["policy"]["sha256"]
    assert sha in markdown and sha in page
    assert "<script" not in page.lower() and 'src="http' not in page
    m7 = next(line for line in markdown.splitlines() if line.startswith("| M7 "))
    assert "not-run" in m7 or "not run" in m7


# -- how the assessment is worked out (at 10,000 findings it must stay fast) ---------------


def _safe_load_rules(text: str) -> list[tuple[Any, Any]]:
    """What ``semgrep_rule_metadata`` reads from a rules file, by a plain full load."""
    doc = yaml.safe_load(text) or {}
    return [(rule.get("id"), rule.get("metadata"))
            for rule in doc.get("rules") or [] if isinstance(rule, dict)]


def test_the_shipped_rules_metadata_is_read_without_a_full_load() -> None:
    from policy_gate.catalogue import SEMGREP_RULES_DIR as RULES_DIR

    for path in sorted(Path(RULES_DIR).glob("*.yaml")):
        text = path.read_text("utf-8")
        assert _ids_and_metadata(text) == _safe_load_rules(text), path.name


FOLLOWED = {
    "plain": "rules:\n- id: a\n  patterns: [{pattern: x}]\n  metadata: {cwe: ['CWE-1: x'],"
             " pci-dss: [6.2, '6.2.4', 7], mojaloop: M11, gdpr: ~, x: {y: [1, true]}}\n",
    "no metadata": "rules:\n- id: a\n- id: b\n  metadata: [not, a, mapping]\n",
    "no id": "rules:\n- metadata: {mojaloop: M1}\n- id: 3\n  metadata: {}\n- id: ''\n",
    "not rules": "rules:\n- just a string\n- [a, list]\n- id: a\n  metadata: {k: v}\n",
    "repeated keys": "rules:\n- id: a\n  id: b\n  metadata: {k: 1}\n  metadata: {k: 2}\n"
                     "other: {rules: x}\nrules:\n- id: c\n",
    "same id twice": "rules:\n- id: a\n  metadata: {k: 1}\n- id: a\n  metadata: {k: 2}\n",
    "other keys first": "version: 1\nrules:\n- {metadata: {k: 'v: w'}, severity: ERROR, id: a}\n",
    "block scalars": "rules:\n- id: a\n  metadata:\n    note: |\n      two\n      lines\n",
    "no rules": "version: 1\n",
}
LEFT_TO_THE_FULL_LOAD = {
    "anchor": "rules:\n- id: a\n  patterns: &p [x]\n  metadata: {k: *p}\n",
    "alias in metadata": "x: &v 1\nrules:\n- id: a\n  metadata: {k: *v}\n",
    "merge key": "rules:\n- <<: {id: a}\n  metadata: {}\n",
    "tag": "rules:\n- id: !!str 1\n  metadata: {}\n",
    "tag elsewhere": "rules:\n- id: a\n  pattern: !custom x\n",
    "complex key": "rules:\n- ? [a]\n  : b\n  id: a\n",
    "rules not a list": "rules: {id: a}\n",
    "null rules": "rules:\n",
    "top-level list": "- rules: []\n",
    "empty": "",
    "two documents": "rules: []\n---\nrules: []\n",
    "not YAML": "rules: [\n",
}


@pytest.mark.parametrize("text", FOLLOWED.values(), ids=FOLLOWED.keys())
def test_rule_metadata_read_from_events_is_what_a_full_load_gives(text: str) -> None:
    assert _ids_and_metadata(text) == _safe_load_rules(text)


@pytest.mark.parametrize("text", LEFT_TO_THE_FULL_LOAD.values(),
                         ids=LEFT_TO_THE_FULL_LOAD.keys())
def test_unusual_rules_files_are_left_to_the_full_load(text: str) -> None:
    assert _ids_and_metadata(text) is None


def test_findings_are_looked_up_as_a_scan_of_every_decision_finds_them(
    bandit_data: Any,
) -> None:
    decisions = list(bandit_data.evaluation.decisions)
    first = decisions[0].finding
    source = first.sources[0]
    twin = dataclasses.replace(source, scanner="semgrep", rule_id="py-subprocess-shell")
    merged = dataclasses.replace(first, sources=(source, twin, source))  # a repeated rule
    decisions.insert(1, dataclasses.replace(decisions[0], finding=merged))
    index = _Index(decisions)
    rules = {s.qualified_rule for d in decisions for s in d.finding.sources}
    assert len(rules) > 1
    for rule in [*rules, "bandit:B000"]:
        assert [id(d) for d in index.by_rule.get(rule, ())] == [
            id(d) for d in decisions if any(s.qualified_rule == rule for s in d.finding.sources)]
    for scanner in ("bandit", "semgrep", "pip-audit"):
        assert [id(d) for d in index.by_scanner.get(scanner, ())] == [
            id(d) for d in decisions if scanner in d.finding.scanners]
    for category in ("sast", "secret"):
        assert [id(d) for d in index.by_category.get(category, ())] == [
            id(d) for d in decisions if d.finding.category == category]


def test_a_control_counts_each_finding_once_in_the_order_its_checks_list_them() -> None:
    s = Status
    ds: list[Any] = [SimpleNamespace(status=status, waiver=None) for status in (
        s.VIOLATION, s.WAIVED, s.BELOW_THRESHOLD, s.VIOLATION, s.BASELINED, s.EXCLUDED,
        s.VIOLATION, s.SUPPRESSED)]

    def check(*found: int) -> CheckResult:
        return CheckResult(Check("rule", f"x:{found}"), "t", (), FAIL, "why", (),
                           tuple(ds[i] for i in found))

    control = load_catalogue().controls[0]
    for checks in (
        [check(0, 1, 2, 3)],  # one check
        [check(4, 5), check(0, 1, 2, 3)],  # disjoint
        [check(0, 1, 2, 3, 4, 5, 6, 7), check(3, 1)],  # a subset
        [check(2, 3, 4), check(0, 1, 2, 3), check(7, 6, 5, 4), check(6)],  # overlaps
        [check(), check(6), check()],  # empty checks
        [check(5, 5, 1, 0), check(0, 1)],  # a finding twice in one check
    ):
        seen: dict[int, Any] = {}
        for c in checks:
            for d in c.decisions:
                seen.setdefault(id(d), d)
        union = list(seen.values())
        result = _judge(control, checks, ControlMap({}, {}))
        assert [id(d) for d in result.violations] == [
            id(d) for d in union if d.status is s.VIOLATION]
        assert [id(d) for d in result.accepted] == [
            id(d) for d in union if d.status in ACCEPTED]
        assert list(result.counts.items()) == list(
            Counter(d.status.value for d in union).items())
        assert result.failures == tuple(
            f"{c.title}: {c.why}" for c in checks
            if not any(d.status is s.VIOLATION for d in c.decisions))


@pytest.mark.parametrize(("text", "shown"), [
    ("plain text", "plain text"),
    ("two\n lines\tand  tabs", "two lines and tabs"),
    ("bell\x07 zero\u200bwidth \x1b[31m", "bell\\x07 zero\\u200bwidth \\x1b[31m"),
])
def test_control_characters_are_shown_escaped(text: str, shown: str) -> None:
    assert report._visible(text) == shown
