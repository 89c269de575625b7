"""The scanner catalogue: what the policy, the reports and the compliance assessment know
about each scanner, as data. Only the runner and the command line import the scanners
themselves (``scanners.registry()``); each scanner class takes its facts from its entry
here, so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_gate.findings import (
    CI,
    COVERAGE,
    DATA,
    DEPENDENCY,
    LICENSE,
    SAST,
    SECRET,
    UNSCANNED,
    Confidence,
)
from policy_gate.packages import NPM, PYPI

# The policy's default `max_file_bytes`: larger files are reported as unscanned.
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024

# policy-gate's own semgrep rule pack (the compliance catalogue reads its CWE metadata).
SEMGREP_RULES_DIR = Path(__file__).resolve().parent / "rules" / "semgrep"
# policy-gate's own kingfisher rules (kingfisher's YAML rule format), added to its built-in
# Betterleaks and Veles catalogues with `--rules-path`.
KINGFISHER_RULES_DIR = Path(__file__).resolve().parent / "rules" / "kingfisher"


@dataclass(frozen=True)
class ScannerSettings:
    """The policy's settings for one scanner (validated by the policy schema)."""

    enabled: bool = True
    optional: bool = False
    timeout: float = 900.0
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScannerInfo:
    """One scanner, as every layer may know it."""

    name: str  # as the policy, the reports and `--scanner` spell it
    categories: tuple[str, ...]  # the finding categories it checks
    description: str
    # True when what it reports about a file depends on that file alone (SAST per file,
    # secrets): in diff mode it is given only the changed files, and SARIF gives its diff
    # runs their own automation id.
    file_local: bool = False
    # The file kinds it reads, where a list of suffixes says so (inline suppression
    # comments are looked for in the same files).
    suffixes: tuple[str, ...] = ()
    # A secret engine: it searches every text file for credentials, so its results are
    # what the `pragma: allowlist secret` comment names (detect-secrets' syntax, honoured
    # for every engine alike: switching engines must not change what a comment silences).
    secret_engine: bool = False
    # The most specific CWE of a rule whose tool gives a less specific (or a wrong) one:
    # SARIF consumers and the compliance mapping file a finding by its CWE, and the gate
    # merges two scanners' reports of one flaw only when their CWEs agree.
    cwe_corrections: Mapping[str, str] = field(default_factory=dict)
    # The most a rule's result can be trusted when the rule cannot tell whether input
    # reaches the code it flags (a pattern, not a data flow): the gate's taint rules decide
    # those, and a pattern match alone stays below the fail threshold.
    confidence_caps: Mapping[str, Confidence] = field(default_factory=dict)
    # What its `files_scanned` counts, as the compliance evidence names it ("Python files"),
    # unless its output says what it examined (`ScanOutput.examined`: packages).
    examines: str = "files"


# bandit 1.9's own CWEs that are less specific than the weakness its rule finds.
_XXE = "CWE-611"  # bandit says CWE-20 (input validation) for XML parsing of untrusted data
BANDIT_CWE_CORRECTIONS: Mapping[str, str] = {
    "B102": "CWE-95",  # exec: eval injection, not OS command injection (bandit: CWE-78)
    "B307": "CWE-95",  # eval (bandit: CWE-78)
    "B506": "CWE-502",  # yaml.load: deserialisation of untrusted data (bandit: CWE-20)
    "B303": "CWE-328",  # MD5/SHA-1: a weak hash (bandit: CWE-327, broken cipher)
    "B324": "CWE-328",  # hashlib weak hash (bandit: CWE-327)
    "B311": "CWE-338",  # random: a PRNG that is not cryptographically strong (bandit: CWE-330)
    "B201": "CWE-489",  # Flask debug=True: active debug code (bandit: CWE-94)
    "B701": "CWE-79",  # Jinja2 autoescape off: cross-site scripting (bandit: CWE-94)
    **{test: _XXE for test in ("B313", "B314", "B315", "B316", "B317", "B318", "B319",
                               "B320", "B405", "B406", "B407", "B408", "B409", "B410",
                               "B411")},
}

# bandit's rules for command and SQL injection match any non-constant string, tainted or
# not: on a labelled benchmark they fired as often on safe code as on vulnerable code, and
# all of a Mojaloop service's were false alarms. semgrep's taint rules (rules/semgrep/
# *-taint.yaml) report the same statement with high confidence when request data reaches
# it, and the gate merges the two, so a real injection still fails. bandit's eval and exec
# rules fire on constants too; the pack's py-eval-non-literal/py-exec-non-literal decide.
BANDIT_CONFIDENCE_CAPS: Mapping[str, Confidence] = {
    test: Confidence.LOW for test in (
        "B102",  # exec of anything, a constant string included
        "B307",  # eval of anything, a constant string included
        "B602",  # subprocess with shell=True and a built command
        "B604",  # any function called with shell=True
        "B605",  # os.system / os.popen and friends with a built command
        "B608",  # SQL built with string formatting
        "B610",  # Django QuerySet.extra
        "B611",  # Django RawSQL
    )
}


BANDIT = ScannerInfo(
    "bandit", (SAST, UNSCANNED), "Python static analysis (PyCQA bandit)",
    file_local=True, suffixes=(".py", ".pyw"), cwe_corrections=BANDIT_CWE_CORRECTIONS,
    confidence_caps=BANDIT_CONFIDENCE_CAPS, examines="Python files")
SEMGREP = ScannerInfo(
    "semgrep", (SAST, UNSCANNED),
    "Python and JavaScript/TypeScript static analysis with policy-gate's rule pack",
    file_local=True,
    suffixes=(".py", ".pyw", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts"),
    examines="Python or JavaScript/TypeScript files")
DETECT_SECRETS = ScannerInfo(
    "detect-secrets", (SECRET, UNSCANNED),
    "Committed credentials and keys (Yelp detect-secrets)", file_local=True,
    secret_engine=True, examines="text files")
KINGFISHER = ScannerInfo(
    "kingfisher", (SECRET, UNSCANNED),
    "Committed credentials and keys (MongoDB kingfisher: the Betterleaks and Veles provider "
    "rules and policy-gate's own, offline)", file_local=True, secret_engine=True,
    examines="text files")
PIP_AUDIT = ScannerInfo(
    "pip-audit", (DEPENDENCY, UNSCANNED),
    "Known vulnerabilities in pinned Python dependencies (PyPA pip-audit, OSV)",
    examines="Python manifests")
OSV = ScannerInfo(
    "osv", (DEPENDENCY, UNSCANNED),
    "Known vulnerabilities in npm lockfile packages (OSV advisories)", examines="npm lockfiles")
LICENSES = ScannerInfo(
    "licenses", (LICENSE, UNSCANNED),
    "Licences of locked npm packages and pinned Python packages against the policy's "
    "SPDX allow/deny lists (lockfile metadata, PyPI JSON API)",
    examines="dependency files")
SAFETY = ScannerInfo(
    "safety", (DEPENDENCY,),
    "Known vulnerabilities in pinned Python dependencies (pyup safety, optional)",
    examines="Python manifests")
DATA_PROTECTION = ScannerInfo(
    "data-protection", (DATA, SECRET, UNSCANNED),
    "Payment card numbers (Luhn-valid, plausible issuer prefix) and committed key "
    "stores and private keys, whichever secret engine runs (M12, PCI DSS 3.x)", file_local=True,
    examines="files")
DOCKERFILE = ScannerInfo(
    "dockerfile", (CI, UNSCANNED),
    "Dockerfiles: versioned, digest-pinned base images (M9); non-root user, exposed "
    "ports, ADD, package upgrades (M4a)", file_local=True, examines="Dockerfiles")
WORKFLOWS = ScannerInfo(
    "workflows", (CI, UNSCANNED),
    "GitHub Actions workflows and actions (zizmor, offline): SHA-pinned actions, "
    "explicit permissions, dangerous triggers, injection", file_local=True,
    examines="workflow and action files")
# Not file-local: a change can lower the coverage of files it did not touch.
COVERAGE_CHECK = ScannerInfo(
    "coverage", (COVERAGE, UNSCANNED),
    "Unit-test coverage from nyc/istanbul and coverage.py reports (Cobertura XML, lcov, "
    "json-summary) against the policy's total and per-file thresholds (M7)",
    examines="coverage reports")

# Every scanner, in the order reports list them.
SCANNERS: tuple[ScannerInfo, ...] = (
    BANDIT, SEMGREP, DETECT_SECRETS, KINGFISHER, PIP_AUDIT, OSV, LICENSES, SAFETY,
    DATA_PROTECTION, DOCKERFILE, WORKFLOWS, COVERAGE_CHECK,
)
BY_NAME: Mapping[str, ScannerInfo] = {s.name: s for s in SCANNERS}
# The secret engines, in catalogue order: the scanners the allowlist pragma speaks to (not
# data-protection: a card number or a key store is never silenced by a comment).
SECRET_ENGINES: tuple[str, ...] = tuple(s.name for s in SCANNERS if s.secret_engine)

# The dependency audits, and the ecosystem each audits (its advisory data is checked for
# that ecosystem before its "no known vulnerabilities" is believed).
AUDIT_ECOSYSTEMS: Mapping[str, str] = {PIP_AUDIT.name: PYPI, OSV.name: NPM}
AUDIT_SCANNERS = tuple(AUDIT_ECOSYSTEMS)
# Every scanner that reports advisories (what an `advisory:` waiver can match).
ADVISORY_SCANNERS = frozenset(s.name for s in SCANNERS if DEPENDENCY in s.categories)


def checking(category: str) -> list[str]:
    """The scanners that check a category, in report order."""
    return [s.name for s in SCANNERS if category in s.categories]
