"""The compliance mapping (catalogue + policy citations) and the evidence report built on
it: completeness of the default policy's mapping, statuses from real scans, and a report
that is self-contained, escaped and free of secret values."""

from __future__ import annotations

import dataclasses
import json
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

from policy_gate.catalogue import checking
from policy_gate.compliance.assess import (
    FAIL,
    FEATURES,
    NOT_CHECKED,
    NOT_COVERED,
    NOTHING,
    PASS,
    CheckResult,
    ScannerEvidence,
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

# Categories that are not about the security of processing or cardholder data: neither
# GDPR nor PCI DSS need be cited. Any other category (including one added later) must map
# to GDPR Art. 25 or Art. 32 and to a PCI DSS requirement.
NOT_SECURITY_OF_PROCESSING = {"license", "coverage", "suppression"}

# What each Mojaloop data-protection and crypto fact is about, by CWE (STANDARDS.md): M12
# is card numbers, personal data and secrets in code, test data or logs; M11 is mTLS, JWS
# and cryptography. An injection is neither.
M12_CWES = {"CWE-259", "CWE-321", "CWE-532", "CWE-798"}
M11_CWES = {"CWE-295", "CWE-297", "CWE-321", "CWE-326", "CWE-327", "CWE-328", "CWE-338",
            "CWE-347", "CWE-613", "CWE-798"}
INJECTION_CWES = {"CWE-22", "CWE-78", "CWE-79", "CWE-89", "CWE-90", "CWE-94", "CWE-95",
                  "CWE-113", "CWE-117", "CWE-502", "CWE-601", "CWE-611", "CWE-643",
                  "CWE-918", "CWE-943", "CWE-1321", "CWE-1333", "CWE-1336"}
# bandit's tests of TLS, SSH host keys, weak hashes, ciphers, keys and PRNGs (its docs).
BANDIT_CRYPTO = {"B303", "B304", "B305", "B311", "B323", "B324", "B413", "B501", "B502",
                 "B503", "B504", "B505", "B507"}
BANDIT_CREDENTIALS = {"B105", "B106", "B107"}

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


def _category_controls(cmap: ControlMap, category: str) -> set[str]:
    """The controls a category's findings reach: the category's own, and those of the
    rules of the scanners that report it (sast reaches M11 through its TLS rules)."""
    scanners = checking(category)
    found = cmap.controls_of(f"category:{category}")
    for cid, checks in cmap.checks.items():
        if any(k.startswith("rule:") and k.split(":")[1] in scanners for k in checks):
            found.add(cid)
    return found


def test_every_category_and_rule_of_the_default_policy_maps_to_controls() -> None:
    policy = load_policy("builtin:mojaloop")
    cmap = build_map(policy)
    assert policy.categories, "the default policy has categories"
    for name in policy.categories:
        frameworks = _frameworks(_category_controls(cmap, name))
        assert "mojaloop" in frameworks, f"category {name} maps to no Mojaloop fact"
        if name not in NOT_SECURITY_OF_PROCESSING:
            assert "pci-dss" in frameworks, f"category {name} maps to no PCI DSS requirement"
            assert "gdpr" in frameworks, f"category {name} maps to no GDPR article"
    scanners = registry()
    for key in policy.rules:
        scanner = key.split(":", 1)[0]
        categories = scanners[scanner].categories if scanner in scanners else ()
        frameworks = _frameworks(controls_for_rule(cmap, key, categories))
        assert frameworks & {"mojaloop", "pci-dss"}, f"rule {key} maps to no control"


def test_rules_named_by_the_catalogue_exist() -> None:
    known = set(semgrep_rule_metadata())
    for control in load_catalogue().controls:
        for check in control.checks:
            if check.kind == "rule" and check.name.startswith("semgrep:"):
                assert check.name.split(":", 1)[1] in known, (control.id, check.key)
            if check.kind == "category":
                assert check.name in load_policy("builtin:mojaloop").categories


def test_findings_map_to_controls_by_what_they_are() -> None:
    """M12 (card data, personal data, secrets) gets only credential and sensitive-data
    checks; M11 (mTLS, JWS, crypto) only TLS and crypto ones; an injection neither, and a
    whole category only where every finding of it is what the control is about."""
    cmap = build_map(load_policy("builtin:mojaloop"))
    meta = semgrep_rule_metadata()
    assert set(cmap.checks["M12"]) >= {"category:secret", "category:data"}
    for control, cwes, bandit, categories in (
        ("M12", M12_CWES, BANDIT_CREDENTIALS, {"secret", "data"}),
        ("M11", M11_CWES, BANDIT_CRYPTO, set()),
    ):
        for key in cmap.checks[control]:
            kind, _, name = key.partition(":")
            if kind == "category":
                assert name in categories, f"{control} covers every {name} finding"
            elif key.startswith("rule:semgrep:"):
                rule_cwes = set(cmap.cwe[key])
                assert rule_cwes & cwes, f"{control} cites {key} ({rule_cwes})"
                assert not rule_cwes & INJECTION_CWES, f"{control} cites injection {key}"
            elif key.startswith("rule:bandit:"):
                assert name.split(":")[1] in bandit, f"{control} cites {key}"
            elif kind == "rule":  # a rule of a scanner of a category the control covers
                owners = {s for c in categories for s in checking(c)}
                assert name.split(":")[0] in owners, f"{control} cites {key}"
            else:
                assert kind == "feature", key
    for rule_id, m in meta.items():
        rule_cwes = {c.split(":")[0] for c in m.get("cwe") or []}
        controls = cmap.controls_of(f"rule:semgrep:{rule_id}")
        if rule_cwes & INJECTION_CWES:
            assert not controls & {"M11", "M12"}, f"{rule_id} ({rule_cwes}): {controls}"
            assert not any(c.startswith("PCI DSS 3.") for c in controls), rule_id
    # every injection rule of the taint packs is evidence for PCI DSS 6.2.4
    for rule_id in ("py-taint-sql-injection", "js-sql-injection-taint",
                    "py-taint-nosql-where-injection", "js-path-traversal-taint"):
        assert cmap.controls_of(f"rule:semgrep:{rule_id}") == {"PCI DSS 6.2.4"}, rule_id
    # the whole SAST category is evidence for PCI DSS 6.2.4 and GDPR Art. 32, not M11/M12
    assert cmap.controls_of("category:sast") == {"PCI DSS 6.2.4", "GDPR Art. 32"}
    # a licence is not cardholder-data security; a root container is not a floating tag
    assert not any(c.startswith("PCI") for c in cmap.controls_of("category:license"))
    assert "M9" not in cmap.controls_of("rule:dockerfile:root-user")
    assert "M9" in cmap.controls_of("rule:dockerfile:unpinned-base-image")
    # a manifest the audits could not read is M4a's "data unavailable"; a Python file
    # bandit could not parse is not a container or vulnerability-feed matter
    assert "M4a" in cmap.controls_of("rule:pip-audit:manifest-not-audited")
    assert "M4a" not in cmap.controls_of("category:unscanned")


PAN_APP = "card_number = '{pan}'  # a real customer's card, pasted into a fixture\n"
SQL_APP = """\
import sqlite3

from flask import Flask, request

app = Flask(__name__)


@app.route("/user")
def user():
    conn = sqlite3.connect("app.db")
    name = request.args.get("name")
    return str(conn.execute("SELECT * FROM users WHERE name = '" + name + "'").fetchall())
"""


def _violating(a: Any, control: str) -> set[str]:
    return {d.finding.qualified_rule for d in a.result(control).violations}


def test_a_card_number_maps_to_m12_and_pci_dss_3(scan_data: Callable[..., Any]) -> None:
    from tests.test_data_protection import make_pan

    data = scan_data({"fixtures.py": PAN_APP.format(pan=make_pan("4539", 16))},
                     only=["data-protection"])
    a = assess(data)
    pan = "data-protection:pan"
    assert pan in {d.finding.qualified_rule for d in data.evaluation.decisions}
    for control in ("M12", "PCI DSS 3.2.1", "PCI DSS 3.5.1", "GDPR Art. 25"):
        assert pan in _violating(a, control), control
    for control in ("M11", "PCI DSS 6.2.4", "PCI DSS 8.6.2"):
        assert pan not in _violating(a, control), control


def test_an_sql_injection_is_not_card_data(scan_data: Callable[..., Any]) -> None:
    data = scan_data({"app.py": SQL_APP}, only=["semgrep"])
    a = assess(data)
    sqli = {d.finding.qualified_rule for d in data.evaluation.decisions
            if d.status is Status.VIOLATION and "CWE-89" in d.finding.cwe}
    assert "semgrep:py-taint-sql-injection" in sqli
    assert sqli <= _violating(a, "PCI DSS 6.2.4")
    for control in ("M11", "M12", "PCI DSS 3.2.1", "PCI DSS 3.5.1", "PCI DSS 4.2.1",
                    "PCI DSS 8.6.2"):
        assert not sqli & _violating(a, control), control


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
    assert m2.status == NOT_CHECKED
    assert "pip-audit disabled: not selected on the command line" in m2.why
    # semgrep did not run: a control covered only by its rules is not checked, not pass
    assert a.result("PCI DSS 4.2.1").status == NOT_CHECKED
    # no automated check: not-covered, never pass
    for manual in ("M8", "M13", "M4", "PCI DSS 10.3.2"):
        assert a.result(manual).status == NOT_COVERED
    # configuration-only features pass on the default policy, beside a check that read
    # every file for suppression comments
    assert a.result("M3").status == PASS
    assert a.result("M3").why == ("1 check(s) ran with no violations, on policy-gate: 2 "
                                  "files; 2 configuration check(s) passed")


def test_a_scanner_disabled_by_the_policy_makes_its_controls_not_checked(
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
        assert result.status == NOT_CHECKED
        assert "licenses disabled: disabled by the policy" in result.why


def test_with_nothing_to_examine_no_control_passes(
    scan_data: Callable[..., Any], tmp_path: Path,
) -> None:
    """Every control of the catalogue, on an empty tree with every scanner the policy
    enables: each ran on nothing, so none passes; each says why."""
    (tmp_path / "scanned").mkdir()
    a = assess(scan_data({}))
    assert {r.name for r in a.evidence.scanners if r.status == "ok"} >= {
        "bandit", "semgrep", "kingfisher", "pip-audit", "osv", "licenses", "data-protection",
        "dockerfile", "workflows", "coverage"}
    for r in a.controls:
        assert r.status != PASS, (r.control.id, r.why)
        if r.status == NOT_CHECKED:
            assert r.why, r.control.id
    # what each check found nothing of, by name
    m6 = a.result("M6")
    assert m6.status == NOT_CHECKED
    assert "licenses: no lockfile or pinned manifest" in m6.why
    assert "bandit: no Python files found" in a.result("M11").why
    assert "no npm lockfiles found" in a.result("M5").why
    assert "no Dockerfiles found" in a.result("M9").why
    assert "coverage: no coverage report found" in a.result("M7").why
    # configuration alone is not evidence: the allowlist is set, but no licence was read
    m6a = {c.check.key: c for c in a.result("M6a").checks}
    assert m6a["feature:licence-allowlist"].status == NOTHING
    assert a.result("M6a").status == NOT_CHECKED
    assert a.result("M10").status == NOT_CHECKED  # tamper resistance set, no SBOM
    assert "no third-party component" in a.result("M10").why


def test_no_packages_is_not_checked_and_packages_are_counted(
    scan_data: Callable[..., Any],
) -> None:
    """0 packages checked is "not checked", never the pass it used to be; once there are
    packages, the evidence says how many of each ecosystem."""
    a = assess(scan_data({"app.py": "print('hi')\n"}, only=["licenses"]))
    for cid in ("M6", "M6a"):
        assert a.result(cid).status == NOT_CHECKED, a.result(cid).why
        assert "no lockfile or pinned manifest" in a.result(cid).why
    data = scan_data({"requirements.txt": "requests==2.31.0\n"},
                     only=["licenses", "pip-audit", "osv"])
    a = assess(data)
    lic = next(e for e in a.evidence.scanners if e.name == "licenses")
    assert dict(lic.examined) == {"npm packages": 0, "Python packages": 1}
    audit = next(e for e in a.evidence.scanners if e.name == "pip-audit")
    assert dict(audit.examined) == {"pinned Python packages": 1}
    assert "pip-audit: 1 pinned Python package" in a.result("M5").why
    assert a.result("M5").status == PASS


def test_python_licences_not_looked_up_is_not_checked(
    scan_data: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Data missing: with Python licence lookups off (no index to ask), the licence
    controls are not checked, and say why, even though the npm packages beside them were."""
    monkeypatch.setenv("POLICY_GATE_PYPI_URL", "off")
    lock = {"name": "svc", "lockfileVersion": 3, "packages": {
        "": {"name": "svc", "dependencies": {"ms": "2.1.3"}},
        "node_modules/ms": {"version": "2.1.3", "license": "MIT"}}}
    data = scan_data({"requirements.txt": "requests==2.31.0\n",
                      "package-lock.json": json.dumps(lock)}, only=["licenses"])
    a = assess(data)
    lic = next(e for e in a.evidence.scanners if e.name == "licenses")
    assert lic.status == "not checked"
    assert dict(lic.examined)["npm packages"] == 1
    for cid in ("M6", "M6a"):  # the unresolved notice fails; were it graded below the
        result = a.result(cid)  # threshold, the controls would still not pass
        assert result.status == FAIL, result.why
        assert result.why == "1 violation(s)"


def test_a_secret_engine_switched_off_leaves_no_gap(scan_data: Callable[..., Any]) -> None:
    """The default policy runs kingfisher and switches detect-secrets off: its secret
    controls can pass, naming what was read, and say detect-secrets did not run."""
    data = scan_data({"README.md": "Nothing secret here.\n"},
                     only=["kingfisher", "data-protection"])
    assert {r.name: r.status for r in data.result.runs}["detect-secrets"] == "disabled"
    a = assess(data)
    secret = next(c for c in a.result("M12").checks if c.check.key == "category:secret")
    assert secret.status == PASS, secret.why
    assert "kingfisher: 1 text file" in secret.why
    assert "detect-secrets (disabled)" in report.render_markdown(data)


@pytest.mark.parametrize(("status", "reason"), [
    ("failed", "exited 2: boom"),
    ("skipped", "optional and could not run: not installed"),
])
def test_a_failed_or_skipped_scanner_is_not_checked(
    bandit_data: Any, status: str, reason: str,
) -> None:
    """A fault injected into a real run: the scanner's controls say what happened."""
    runs = [dataclasses.replace(r, status=status, reason=reason, output=None)
            if r.name == "bandit" else r for r in bandit_data.result.runs]
    data = dataclasses.replace(
        bandit_data, result=dataclasses.replace(bandit_data.result, runs=runs),
        evaluation=dataclasses.replace(bandit_data.evaluation, decisions=()))
    result = assess(data).result("M11")
    assert result.status == NOT_CHECKED
    assert f"bandit {status}: {reason}" in result.why


def test_diff_mode_with_no_file_of_a_kind_in_the_change(bandit_data: Any) -> None:
    """In diff mode a file-local scanner reads the changed files only: none of its kind
    changed is "nothing in the change", not "none found"."""
    from policy_gate.base.gitdiff import ChangeSet

    runs = [dataclasses.replace(r, output=dataclasses.replace(r.output, files_scanned=0))
            if r.name == "bandit" and r.output is not None else r
            for r in bandit_data.result.runs]
    data = dataclasses.replace(
        bandit_data, result=dataclasses.replace(
            bandit_data.result, runs=runs,
            changes=ChangeSet("main", "a" * 40, "b" * 40, {}, (), {})),
        evaluation=dataclasses.replace(bandit_data.evaluation, decisions=()))
    checks = {c.check.key: c for c in assess(data).result("M11").checks}
    assert checks["rule:bandit:B324"].status == NOTHING
    assert "bandit: no Python files in the change" in checks["rule:bandit:B324"].why


def test_a_control_passes_only_when_a_check_examined_something() -> None:
    """A check with nothing to examine does not stop a control whose other checks ran on
    something from passing; a control whose checks all examined nothing, or that checks
    only configuration, is not checked."""
    control = load_catalogue().controls[0]
    ran = ScannerEvidence("kingfisher", "ok", "1", examined=(("text files", 3),))
    empty = ScannerEvidence("bandit", "ok", "1", examined=(("Python files", 0),))

    def check(name: str, status: str, *ev: ScannerEvidence) -> CheckResult:
        return CheckResult(Check("category", name), name, (), status, f"why {name}", ev)

    passed = _judge(control, [check("a", PASS, ran), check("b", NOTHING, empty)],
                    ControlMap({}, {}))
    assert passed.status == PASS
    assert passed.why.startswith("1 check(s) ran with no violations, on kingfisher: 3 text")
    assert "1 found nothing of their kind to examine" in passed.why
    for checks in ([check("b", NOTHING, empty)], [check("c", PASS)],
                   [check("c", PASS), check("b", NOTHING, empty)]):
        result = _judge(control, checks, ControlMap({}, {}))
        assert result.status == NOT_CHECKED, checks
    assert "why b" in _judge(control, [check("b", NOTHING, empty)], ControlMap({}, {})).why


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
    assert "not checked" in m7


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
