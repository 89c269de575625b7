"""The JUnit XML report, parsed back with ElementTree, on real scans."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from policy_gate.findings import CATEGORIES
from policy_gate.policy.evaluate import Status
from policy_gate.reports import junit
from policy_gate.scanners import registry
from tests.conftest import EXTENDS_OFFLINE, WITH_DETECT_SECRETS

VULN_PY = """\
import hashlib, subprocess


def run(cmd):
    hashlib.md5(cmd)
"""

SECRETS_PY = 'AWS = "AKIAIOSFODNN7EXAMPLE"\n'


def _suites(root: ET.Element) -> dict[str, ET.Element]:
    return {s.get("name", ""): s for s in root.findall("testsuite")}


def test_suites_cases_and_counts_match_the_evaluation(scan_data) -> None:
    data = scan_data(
        {
            "svc/a.py": VULN_PY,
            "svc/b.py": VULN_PY,
            "ctl\x01\x1bname.py": VULN_PY,  # control characters are illegal in XML 1.0
            "x\n::warning::y.py": VULN_PY,
            "conf/keys.py": SECRETS_PY,
        },
        policy=str(WITH_DETECT_SECRETS), only=["bandit", "detect-secrets"],
    )
    text = junit.render(data)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text)  # well-formed despite the control characters
    suites = _suites(root)
    # one suite per category the gate knows, in its order, then the scanners
    assert list(suites) == [*CATEGORIES, "scanners"]

    violations = data.evaluation.violations
    by_cat = {c: [d for d in violations if d.finding.category == c] for c in suites}
    for name, suite in suites.items():
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        failures = [c for c in cases if c.find("failure") is not None]
        assert int(suite.get("failures", "-1")) == len(failures)
        assert int(suite.get("skipped", "-1")) == len(
            [c for c in cases if c.find("skipped") is not None]
        )
        # at most one result element per testcase (what Jenkins/GitLab/Azure can show)
        for case in cases:
            results = [e for e in case if e.tag in ("failure", "error", "skipped")]
            assert len(results) <= 1
        names = [c.get("name") for c in cases]
        assert len(names) == len(set(names)), names
        if name in ("sast", "secret"):
            assert len(failures) == len(by_cat[name]) > 0
    assert len(by_cat["sast"]) == 4
    assert len(by_cat["secret"]) == 1

    for attr in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(attr, "-1")) == sum(int(s.get(attr, "0")) for s in suites.values())

    # a failure carries place, message, severity as type, and fix/why/rationale in text
    case = next(
        c for c in suites["sast"].findall("testcase") if c.get("name", "").endswith("svc/a.py:5")
    )
    assert case.get("classname") == "sast"
    assert case.get("name") == "bandit:B324 svc/a.py:5"
    assert case.get("file") == "svc/a.py" and case.get("line") == "5"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "high"
    assert failure.get("message", "").startswith("svc/a.py:5: Use of weak MD5 hash")
    assert "CWE-328" in (failure.text or "")
    assert "rationale:" in (failure.text or "")
    assert "why:" in (failure.text or "")

    # control characters are shown escaped, and a newline in a name stays on one line
    assert "ctl\\x01\\x1bname.py:5" in text
    assert any(c.get("name") == "bandit:B324 x\\n::warning::y.py:5" for c in suites["sast"])

    # below-threshold findings: one passing testcase per rule with system-out
    below = [d for d in data.evaluation.decisions if d.status is Status.BELOW_THRESHOLD]
    assert below
    b404 = next(c for c in suites["sast"] if c.get("name") == "bandit:B404 (below threshold)")
    assert b404.find("failure") is None
    out = b404.find("system-out")
    assert out is not None and out.text is not None
    assert out.text.count("\n  - ") == len(
        [d for d in below if d.finding.qualified_rule == "bandit:B404"]
    )

    # a category the policy checks but no selected scanner covers: shown, skipped
    dep = suites["dependency"].findall("testcase")
    assert len(dep) == 1 and dep[0].find("skipped") is not None
    unscanned = suites["unscanned"].findall("testcase")
    assert len(unscanned) == 1 and unscanned[0].find("skipped") is None

    scanners = {c.get("name"): c for c in suites["scanners"].findall("testcase")}
    assert list(scanners) == list(registry())  # every scanner, in the registry's order
    assert scanners["bandit"].find("skipped") is None
    skipped = scanners["semgrep"].find("skipped")
    assert skipped is not None and "not selected" in skipped.get("message", "")
    props = {p.get("name"): p.get("value") for p in suites["scanners"].iter("property")}
    assert props["verdict"] == "fail" and props["policy_sha256"] == data.policy.sha256


def test_disabled_rule_is_a_skipped_testcase_with_the_reason(scan_data, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        EXTENDS_OFFLINE + "\nname: team\nrules:\n"
        "  bandit:B324:\n    disable: true\n    reason: accepted risk <b>&amp; reviewed</b>\n"
    )
    data = scan_data({"a.py": VULN_PY}, policy=str(policy), only=["bandit"])
    root = ET.fromstring(junit.render(data))
    sast = _suites(root)["sast"]
    case = next(c for c in sast if c.get("name") == "bandit:B324 (disabled)")
    skipped = case.find("skipped")
    assert skipped is not None
    assert "accepted risk <b>&amp; reviewed</b>" in skipped.get("message", "")
    assert int(sast.get("failures", "-1")) == 0
    assert root.find(".//failure") is None


def test_failed_and_skipped_scanners(scan_data, scanner_bin, monkeypatch, tmp_path: Path) -> None:
    broken = "import sys\nsys.stderr.write('boom <&> \\x07 broke')\nsys.exit(2)\n"
    env = scanner_bin({"bandit": broken, "detect-secrets": broken})
    monkeypatch.setenv("POLICY_GATE_SCANNER_PATH", env["POLICY_GATE_SCANNER_PATH"])
    policy = tmp_path / "policy.yaml"
    policy.write_text(EXTENDS_OFFLINE
                      + "\nscanners:\n  detect-secrets: {enabled: true, optional: true}\n")
    data = scan_data({"a.py": VULN_PY}, policy=str(policy), only=["bandit", "detect-secrets"])
    assert data.evaluation.verdict.value == "error"
    root = ET.fromstring(junit.render(data))
    scanners = _suites(root)["scanners"]
    cases = {c.get("name"): c for c in scanners.findall("testcase")}
    error = cases["bandit"].find("error")
    assert error is not None and error.get("message")
    skipped = cases["detect-secrets"].find("skipped")
    assert skipped is not None
    assert skipped.get("message", "").startswith("failed, but optional in the policy")
    assert scanners.get("errors") == "1"
    assert root.get("errors") == "1"
