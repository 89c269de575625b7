"""The bundled semgrep rule pack (policy_gate/rules/semgrep): its shape, and its behaviour
on the annotated test targets in tests/rules/semgrep (semgrep's ``--test`` format).

semgrep pairs a rule file with the targets whose path, relative to the target directory,
has the same stem: python.yaml <-> python.py, javascript.yaml <-> javascript.js and
javascript.ts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import GateRun

REPO = Path(__file__).resolve().parent.parent
RULES_DIR = REPO / "policy_gate" / "rules" / "semgrep"
TARGETS_DIR = REPO / "tests" / "rules" / "semgrep"

RULE_ID = re.compile(r"^(py|js)-[a-z0-9-]+$")
CWE_ENTRY = re.compile(r"^CWE-[1-9][0-9]*: \S")
OWASP_ENTRY = re.compile(r"^A(0[1-9]|10):20(17|21) - \S")
MOJALOOP_ID = re.compile(r"^M[1-9][0-9]*a?$")
PCI_DSS_ENTRY = re.compile(r"^[1-9][0-9]?(\.[0-9]+){1,3}$")  # a PCI DSS v4.0 requirement
METAVARIABLE = re.compile(r"\$(\.\.\.)?[A-Z_][A-Z0-9_]*")
ANNOTATION = re.compile(r"(?:#|//)\s*(ruleid|ok|todoruleid|todook):\s*([A-Za-z0-9_.-]+)")
METADATA_KEYS = {
    "category",
    "severity",
    "confidence",
    "cwe",
    "owasp",
    "mojaloop",
    "fix",
    "references",
}
SEVERITIES = {"critical", "high", "medium", "low", "info"}
CONFIDENCES = {"high", "medium", "low"}
SEMGREP_SEVERITIES = {"ERROR", "WARNING", "INFO"}
# Which semgrep language each pack's file is for, and the target suffixes that test it. A
# pack file is named after its language, optionally with a suffix ("javascript-taint").
PACK_LANGUAGES = {"python": {"python"}, "javascript": {"javascript", "typescript"}}
PACK_TARGETS = {"python": (".py",), "javascript": (".js", ".ts")}
MIN_RULES = 20


def _language(stem: str) -> str:
    """The language a pack file is for: "javascript-taint" -> "javascript"."""
    return stem.split("-", 1)[0]


def _semgrep() -> str | None:
    found = shutil.which("semgrep")
    if found:
        return found
    # An un-activated virtualenv: semgrep sits beside the interpreter.
    beside = Path(sys.executable).parent / "semgrep"
    return str(beside) if beside.exists() else None


def _semgrep_env() -> dict[str, str]:
    env = dict(os.environ)
    # Offline: no version check or metrics (each would otherwise wait on the network).
    env["SEMGREP_ENABLE_VERSION_CHECK"] = "0"
    env["SEMGREP_SEND_METRICS"] = "off"
    return env


def _load_packs() -> dict[str, list[dict[str, Any]]]:
    packs: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(RULES_DIR.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(document, dict), f"{path.name}: not a mapping"
        assert isinstance(document.get("rules"), list), f"{path.name}: no 'rules' list"
        packs[path.stem] = document["rules"]
    return packs


PACKS = _load_packs()
ALL_RULES = [(stem, rule) for stem, rules in PACKS.items() for rule in rules]


def _annotations() -> dict[str, dict[str, set[str]]]:
    """{pack stem: {"ruleid": {ids}, "ok": {ids}}} from the test targets."""
    found: dict[str, dict[str, set[str]]] = {}
    for stem in PACKS:
        marks: dict[str, set[str]] = {"ruleid": set(), "ok": set()}
        for suffix in PACK_TARGETS[_language(stem)]:
            target = TARGETS_DIR / f"{stem}{suffix}"
            if not target.exists():
                continue
            for line in target.read_text(encoding="utf-8").splitlines():
                for kind, rule_id in ANNOTATION.findall(line):
                    marks.setdefault(kind, set()).add(rule_id)
        found[stem] = marks
    return found


# --------------------------------------------------------------------------- shape


def test_pack_files_present() -> None:
    languages = {_language(stem) for stem in PACKS}
    assert languages == set(PACK_LANGUAGES), f"rule files: {sorted(PACKS)}"
    for stem in PACKS:
        suffixes = PACK_TARGETS[_language(stem)]
        assert (TARGETS_DIR / f"{stem}{suffixes[0]}").exists(), f"no test target for {stem}"


# The files semgrep takes as each language (after the gate's aliases: .pyw -> .py, .mts -> .ts).
LANGUAGE_SUFFIXES = {"python": {".py", ".pyw"}, "javascript": {".js", ".jsx", ".mjs", ".cjs"},
                     "typescript": {".ts", ".tsx", ".mts", ".cts"}}


def test_gate_sends_a_rule_file_for_every_target_its_rules_can_match() -> None:
    """The gate sends semgrep only the rule files whose rules can match a file of the run
    (semgrep.RULE_FILE_TARGETS): each file's targets are exactly its rules' languages', and
    every target the gate hands semgrep is some file's."""
    from policy_gate.catalogue import SEMGREP
    from policy_gate.scanners.semgrep import RULE_FILE_TARGETS, builtin_rules_for

    for stem, rules in PACKS.items():
        languages = {lang for rule in rules for lang in rule["languages"]}
        expected = set().union(*(LANGUAGE_SUFFIXES[lang] for lang in languages))
        assert set(RULE_FILE_TARGETS[_language(stem)]) == expected, stem
    assert set().union(*RULE_FILE_TARGETS.values()) == set(SEMGREP.suffixes)

    def names(files: tuple[str, ...]) -> list[str]:
        return sorted(p.name for p in builtin_rules_for(files))

    assert names(("a.py", "lib/B.PYW")) == ["python-taint.yaml", "python.yaml"]
    assert names(("ui/x.min.js", "y.mts")) == ["javascript-taint.yaml", "javascript.yaml"]
    assert names(("a.py", "b.tsx")) == sorted(f"{stem}.yaml" for stem in PACKS)


def test_pack_has_enough_rules() -> None:
    assert len(ALL_RULES) >= MIN_RULES, f"only {len(ALL_RULES)} rules"


def test_rule_ids_are_unique_and_well_formed() -> None:
    ids = [str(rule.get("id")) for _stem, rule in ALL_RULES]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate rule ids: {duplicates}"
    for stem, rule in ALL_RULES:
        rule_id = rule.get("id")
        assert isinstance(rule_id, str) and RULE_ID.match(rule_id), f"bad id {rule_id!r}"
        prefix = "py-" if _language(stem) == "python" else "js-"
        assert rule_id.startswith(prefix), f"{rule_id}: a {stem} rule must start with {prefix}"


@pytest.mark.parametrize(
    ("stem", "rule"), ALL_RULES, ids=[str(rule.get("id")) for _s, rule in ALL_RULES]
)
def test_rule_fields_and_metadata(stem: str, rule: dict[str, Any]) -> None:
    rid = rule["id"]
    assert rule.get("severity") in SEMGREP_SEVERITIES, f"{rid}: semgrep severity"
    languages = rule.get("languages")
    expected = PACK_LANGUAGES[_language(stem)]
    assert isinstance(languages, list) and set(languages) == expected, (
        f"{rid}: languages {languages!r}, expected {sorted(expected)}"
    )

    message = rule.get("message")
    assert isinstance(message, str) and len(message) >= 40, f"{rid}: message too short"
    # A message must never echo matched code (which may be a secret).
    assert not METAVARIABLE.search(message), f"{rid}: message interpolates a metavariable"

    meta = rule.get("metadata")
    assert isinstance(meta, dict), f"{rid}: no metadata"
    missing = METADATA_KEYS - set(meta)
    assert not missing, f"{rid}: metadata lacks {sorted(missing)}"
    assert meta["category"] == "sast", f"{rid}: category"
    assert meta["severity"] in SEVERITIES, f"{rid}: severity {meta['severity']!r}"
    assert meta["confidence"] in CONFIDENCES, f"{rid}: confidence {meta['confidence']!r}"

    cwe = meta["cwe"]
    assert isinstance(cwe, list) and cwe, f"{rid}: cwe must be a non-empty list"
    assert all(isinstance(c, str) and CWE_ENTRY.match(c) for c in cwe), f"{rid}: cwe {cwe!r}"
    owasp = meta["owasp"]
    assert isinstance(owasp, list) and owasp, f"{rid}: owasp must be a non-empty list"
    assert all(isinstance(o, str) and OWASP_ENTRY.match(o) for o in owasp), f"{rid}: owasp"
    mojaloop = meta["mojaloop"]
    assert isinstance(mojaloop, list), f"{rid}: mojaloop must be a list"
    assert all(isinstance(m, str) and MOJALOOP_ID.match(m) for m in mojaloop), f"{rid}: ids"
    # Optional compliance mapping: PCI DSS v4.0 requirement numbers, e.g. "4.2.1".
    if "pci-dss" in meta:
        pci = meta["pci-dss"]
        assert isinstance(pci, list) and pci, f"{rid}: pci-dss must be a non-empty list"
        assert all(isinstance(r, str) and PCI_DSS_ENTRY.match(r) for r in pci), f"{rid}: pci-dss"
    assert isinstance(meta["fix"], str) and meta["fix"].strip(), f"{rid}: fix"
    assert not METAVARIABLE.search(meta["fix"]), f"{rid}: fix interpolates a metavariable"
    refs = meta["references"]
    assert isinstance(refs, list) and refs, f"{rid}: references"
    assert all(isinstance(r, str) and r.startswith("https://") for r in refs), f"{rid}: refs"


def test_bandit_equivalents_share_bandit_cwe() -> None:
    """Findings of the same flaw at the same line merge by CWE: a rule with a bandit
    equivalent carries the CWE the gate gives bandit's test, the most specific one
    (issue 17: eval/exec CWE-95 for bandit's CWE-78, yaml.load CWE-502 for CWE-20, weak
    hashes CWE-328 for CWE-327)."""
    expected = {
        "py-subprocess-shell-true": "CWE-78",
        "py-os-command-non-literal": "CWE-78",
        "py-eval-non-literal": "CWE-95",
        "py-exec-non-literal": "CWE-95",
        "py-sql-string-building": "CWE-89",
        "py-pickle-deserialization": "CWE-502",
        "py-marshal-deserialization": "CWE-502",
        "py-shelve-open": "CWE-502",
        "py-yaml-unsafe-load": "CWE-502",
        "py-tls-verify-disabled": "CWE-295",
        "py-ssl-unverified-context": "CWE-295",
        "py-weak-hash": "CWE-328",
        "py-weak-cipher": "CWE-327",
        "py-cipher-ecb-mode": "CWE-327",
        "py-ssl-weak-protocol": "CWE-327",
        "py-weak-rsa-dsa-key": "CWE-326",
        "py-hardcoded-password": "CWE-259",
    }
    by_id = {rule["id"]: rule for _s, rule in ALL_RULES}
    for rule_id, cwe in expected.items():
        assert rule_id in by_id, f"missing rule {rule_id}"
        first = by_id[rule_id]["metadata"]["cwe"][0]
        assert first.split(":", 1)[0] == cwe, f"{rule_id}: {first!r}, expected {cwe}"


# Issue 6.1: each crypto/transport/JWT/logging concern has a rule in both languages,
# mapped to the Mojaloop standard it enforces.
CONCERNS = {
    "tls-verification": (
        (
            "py-tls-verify-disabled",
            "py-ssl-unverified-context",
            "py-ssl-cert-none",
            "py-ssl-check-hostname-disabled",
        ),
        (
            "js-tls-reject-unauthorized-false",
            "js-node-tls-reject-unauthorized-env",
            "js-tls-server-identity-check-disabled",
        ),
        "M11",
    ),
    "tls-version": (("py-ssl-weak-protocol",), ("js-tls-weak-protocol",), "M11"),
    "weak-hash": (("py-weak-hash", "py-weak-hmac"), ("js-weak-hash", "js-weak-hmac"), "M11"),
    "weak-cipher": (
        ("py-weak-cipher", "py-cipher-ecb-mode"),
        ("js-weak-cipher", "js-cipher-ecb-mode"),
        "M11",
    ),
    "rsa-key-size": (("py-weak-rsa-dsa-key",), ("js-weak-rsa-dsa-key",), "M11"),
    "randomness": (
        ("py-insecure-random-token", "py-taint-weak-random-secret"),
        ("js-insecure-random-token",),
        "M11",
    ),
    "jwt": (
        (
            "py-jwt-verification-disabled",
            "py-jwt-none-algorithm",
            "py-jwt-unverified-claims",
            "py-jwt-ignore-expiration",
        ),
        ("js-jwt-none-algorithm", "js-jwt-decode-without-verify", "js-jwt-ignore-expiration"),
        "M11",
    ),
    "signing-keys": (
        ("py-jwt-hardcoded-secret", "py-hardcoded-signing-key"),
        ("js-jwt-hardcoded-secret", "js-hardcoded-signing-key"),
        "M11",
    ),
    "logging": (("py-log-sensitive-request-data",), ("js-log-sensitive-request-data",), "M12"),
}


@pytest.mark.parametrize("concern", sorted(CONCERNS))
def test_crypto_and_transport_concerns_covered_in_both_languages(concern: str) -> None:
    by_id = {rule["id"]: rule for _s, rule in ALL_RULES}
    python_ids, js_ids, standard = CONCERNS[concern]
    for rule_id in (*python_ids, *js_ids):
        assert rule_id in by_id, f"{concern}: missing rule {rule_id}"
        meta = by_id[rule_id]["metadata"]
        assert standard in meta["mojaloop"], f"{rule_id}: not mapped to {standard}"
        assert meta.get("pci-dss"), f"{rule_id}: no pci-dss mapping"


def test_every_rule_has_positive_and_negative_cases() -> None:
    marks = _annotations()
    problems: list[str] = []
    for stem, rules in PACKS.items():
        ids = {rule["id"] for rule in rules}
        for rule_id in sorted(ids):
            for kind in ("ruleid", "ok"):
                if rule_id not in marks[stem][kind]:
                    problems.append(f"{rule_id}: no '{kind}:' case in tests/rules/semgrep")
        unknown = (marks[stem]["ruleid"] | marks[stem]["ok"]) - ids
        problems += [f"annotation names unknown rule {u}" for u in sorted(unknown)]
        todos = marks[stem].get("todoruleid", set()) | marks[stem].get("todook", set())
        problems += [f"todo annotation left for {t}" for t in sorted(todos)]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- behaviour


def _describe_failures(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for config, result in sorted(report.get("results", {}).items()):
        for check_id, check in sorted(result.get("checks", {}).items()):
            if check.get("passed"):
                continue
            for target, match in sorted(check.get("matches", {}).items()):
                expected = set(match.get("expected_lines", []))
                reported = set(match.get("reported_lines", []))
                name = Path(target).name
                if expected - reported:
                    lines.append(f"{check_id}: missed {name} lines {sorted(expected - reported)}")
                if reported - expected:
                    lines.append(
                        f"{check_id}: unexpected match {name} lines {sorted(reported - expected)}"
                    )
            for error in check.get("errors", []):
                lines.append(f"{check_id}: error {error}")
            if not check.get("matches") and not check.get("errors"):
                lines.append(f"{check_id} ({Path(config).name}): failed")
    for config in report.get("config_missing_tests", []):
        lines.append(f"{config}: no test target")
    for error in report.get("config_with_errors", []):
        lines.append(f"rule file error: {error}")
    return lines


def test_semgrep_test_passes_on_annotated_targets() -> None:
    semgrep = _semgrep()
    if semgrep is None:
        pytest.skip("semgrep is not installed")
    argv = [
        semgrep,
        "scan",
        "--test",
        "--json",
        "--strict",
        "--metrics=off",
        "--disable-version-check",
        # semgrep's default 5 s wall per rule and file drops a taint rule's results on the
        # 1,710-line taint target when the machine is loaded (a "rule id mismatch"); the
        # gate runs with --timeout=0 too
        "--timeout",
        "0",
        "--config",
        str(RULES_DIR),
        str(TARGETS_DIR),
    ]
    completed = subprocess.run(
        argv, capture_output=True, text=True, env=_semgrep_env(), timeout=300, cwd=REPO
    )
    output = completed.stdout.strip()
    try:
        report = json.loads(output[output.index("{") :]) if "{" in output else None
    except json.JSONDecodeError:
        report = None
    if not isinstance(report, dict):
        # semgrep prints text, not JSON, when an annotation names a rule that reported
        # nothing at all in that file ("rule id mismatch") or a rule file is invalid.
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-25:])
        pytest.fail(f"semgrep --test exited {completed.returncode} without a report:\n{tail}")

    failures = _describe_failures(report)
    if failures or completed.returncode != 0:
        pytest.fail(f"semgrep --test exited {completed.returncode}:\n" + "\n".join(failures))
    tested = {
        check_id for result in report["results"].values() for check_id in result.get("checks", {})
    }
    untested = {rule["id"] for _s, rule in ALL_RULES} - tested
    assert not untested, f"rules semgrep did not test: {sorted(untested)}"


# Python taint rules with sources of their own: weak randomness (random.*) and NoSQL
# operator injection (JSON bodies only); and those that also take sys.argv.
PY_OWN_SOURCES = {"py-taint-weak-random-secret", "py-taint-nosql-operator-injection"}
PY_ARGV_RULES = {"py-taint-command-injection", "py-taint-code-injection", "py-taint-sql-injection"}
ARGV_SOURCE = {"pattern": "sys.argv"}


def test_python_web_taint_rules_share_their_sources() -> None:
    """python-taint.yaml repeats one block of request sources in every web rule (no YAML
    anchors: osemgrep, which the gate runs, rejects them); a source added to one rule
    must be added to all. The command, code and SQL rules add sys.argv, and only they."""
    rules = [rule for rule in PACKS.get("python-taint", []) if rule["id"] not in PY_OWN_SOURCES]
    assert rules, "python-taint.yaml has no web taint rules"
    assert all(rule.get("mode") == "taint" for rule in rules)
    common = [s for s in rules[0]["pattern-sources"] if s != ARGV_SOURCE]
    differing: list[str] = []
    for rule in rules:
        expected = [*common, ARGV_SOURCE] if rule["id"] in PY_ARGV_RULES else common
        if rule["pattern-sources"] != expected:
            differing.append(rule["id"])
    assert not differing, f"pattern-sources differ from the common block: {differing}"


# Python taint rules whose sink is output (a response, a redirect, the session, an
# outgoing request): a function's result is not request data there. (Header and log
# injection, low severity, keep the default: the propagators cost scan time.)
PY_OUTPUT_RULES = {
    "py-taint-ssrf",
    "py-taint-open-redirect",
    "py-taint-xss",
    "py-taint-trust-boundary",
}


def test_python_output_taint_rules_assume_function_results_clean() -> None:
    """The output rules set taint_assume_safe_functions (a row fetchall() returned, the
    user authenticate() found, str(subprocess.run(...)) are not request data) and then
    name the calls that still carry taint in one pattern-propagators block, the same in
    each; the injection rules keep semgrep's default (a result carries its arguments)."""
    rules = {rule["id"]: rule for rule in PACKS.get("python-taint", [])}
    assert rules.keys() >= PY_OUTPUT_RULES
    propagators = [rules[rid].get("pattern-propagators") for rid in sorted(PY_OUTPUT_RULES)]
    assert propagators[0], "the output rules have no pattern-propagators"
    assert all(p == propagators[0] for p in propagators), "pattern-propagators differ"
    for rid, rule in rules.items():
        safe = rule.get("options", {}).get("taint_assume_safe_functions", False)
        assert safe is (rid in PY_OUTPUT_RULES), rid
        if rid not in PY_OUTPUT_RULES:
            assert "pattern-propagators" not in rule, rid


def test_gate_invocation_loads_every_rule_and_each_reports(
    tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """The gate runs osemgrep (``semgrep scan --experimental``) on the rules directory,
    whose parser rejects what ``semgrep --test`` accepts (YAML anchors, rules without a
    positive pattern): the whole pack must load without errors when the gate itself runs
    it, and every rule must report on its annotated targets. The targets are copied out of
    tests/, as a repository the gate scans."""
    if _semgrep() is None:
        pytest.skip("semgrep is not installed")
    targets = tmp_path / "targets"
    shutil.copytree(TARGETS_DIR, targets)
    run = gate(targets, "--scanner", "semgrep")
    assert run.report is not None and run.code in (0, 1), run.output
    assert run.scanner("semgrep")["status"] == "ok", run.scanner("semgrep")
    unanalysed = [f"{f['path']}: {f['message'][:300]}"
                  for f in run.findings(category="unscanned")]
    assert not unanalysed, "semgrep could not analyse:\n" + "\n".join(unanalysed)
    reported = {s["rule_id"] for f in run.findings() for s in f["sources"]
                if s["scanner"] == "semgrep"}
    silent = {rule["id"] for _s, rule in ALL_RULES} - reported
    assert not silent, f"rules that reported nothing under --experimental: {sorted(silent)}"
