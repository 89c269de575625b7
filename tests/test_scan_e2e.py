"""The gate end to end, with the real scanners on fixture trees built here."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from policy_gate.findings import content_key, sha256_hex
from tests.conftest import (
    EXTENDS_OFFLINE,
    REPO,
    SAST_ONLY,
    GateRun,
    gate_process,
    real_tool,
    registry_env,
)
from tests.fake_pypi import FakePyPI

VULN_PY = """\
import subprocess, sys


def run(cmd):
    subprocess.call(sys.argv[1], shell=True)
"""

VULN_JS = """\
'use strict'

function applyRule (req) {
  return eval(req.body.rule)
}

module.exports = { applyRule }
"""

CLEAN_PY = """\
import subprocess


def run(args: list[str]) -> int:
    return subprocess.call(args)
"""


def test_bandit_and_semgrep_finding_is_one_violation_with_both_scanners(tree, gate) -> None:
    root = tree({"svc/worker.py": VULN_PY})
    run = gate(root, *SAST_ONLY)
    assert run.code == 1, run.output
    hits = run.findings(path="svc/worker.py", start_line=5, category="sast")
    assert len(hits) == 1, hits
    f = hits[0]
    assert f["status"] == "violation"
    assert f["effective_severity"] == "high"
    assert set(f["scanners"]) == {"bandit", "semgrep"}
    assert "CWE-78" in f["cwe"]
    rules = {(s["scanner"], s["rule_id"]) for s in f["sources"]}
    # the taint rule leads (sys.argv reaches the shell); bandit's B602 is one of its sources
    assert f["rule_id"] == "py-taint-command-injection", f
    assert ("bandit", "B602") in rules
    # the terminal names the rule and the place
    assert "svc/worker.py:5" in run.stdout
    assert "Violations" in run.stdout


MULTI_LINE_PY = """\
import subprocess

import yaml
from flask import Flask, request

app = Flask(__name__)


@app.route("/run")
def run():
    code = subprocess.call(
        "ls " + request.args["dir"],
        shell=True,
    )
    rules = yaml.load(request.data, Loader=yaml.Loader)
    return {"code": code, "rules": len(rules), "n": eval(request.args["n"])}
"""


def test_one_flaw_in_a_multi_line_statement_is_one_finding(tree, gate) -> None:
    """semgrep's taint rule reports the tainted argument's line, bandit the `shell=True`
    line: different lines of one statement, one flaw, so one finding with both scanners
    (issue 17). The CWE is the most specific one, bandit's corrected by the catalogue."""
    root = tree({"app.py": MULTI_LINE_PY})
    sarif_path = root.parent / "report.sarif"
    run = gate(root, "--scanner", "bandit", "--scanner", "semgrep",
               "--format", "sarif", "--output", str(sarif_path))
    assert run.code == 1, run.output
    command = [f for f in run.findings(path="app.py") if "CWE-78" in f["cwe"]
               and f["start_line"] > 1]  # line 1: bandit's B404 `import subprocess`
    assert len(command) == 1, command
    rules = {(s["scanner"], s["rule_id"]) for s in command[0]["sources"]}
    assert {("bandit", "B602"), ("semgrep", "py-taint-command-injection")} <= rules, rules
    assert command[0]["status"] == "violation"
    # bandit says CWE-78 for eval and CWE-20 for yaml.load; the gate files them correctly
    by_rule = {s["rule_id"]: f for f in run.findings(path="app.py") for s in f["sources"]}
    assert by_rule["B307"]["cwe"][0] == "CWE-95", by_rule["B307"]
    assert "CWE-78" not in by_rule["B307"]["cwe"]
    assert by_rule["B506"]["cwe"][0] == "CWE-502", by_rule["B506"]
    assert "CWE-20" not in by_rule["B506"]["cwe"]
    # and SARIF consumers see the same CWE on the finding's rule
    sarif = json.loads(sarif_path.read_text())
    tags = {r["id"]: r["properties"]["tags"]
            for run_ in sarif["runs"] for r in run_["tool"]["driver"].get("rules", [])}
    eval_rule = next(rid for rid in tags if rid.endswith(by_rule["B307"]["rule_id"]))
    assert "external/cwe/cwe-95" in tags[eval_rule] or "CWE-95" in tags[eval_rule], tags[eval_rule]

FALSE_ALARMS_PY = """\
import sqlite3
import subprocess

from flask import Flask, request

app = Flask(__name__)
ARCHIVE = ["tar", "czf", "/backup/ledger.tgz", "/srv/ledger"]
TABLE = "ledger"


def helper(cmd):
    return subprocess.call(cmd, shell=True)


def backup():
    return subprocess.call(ARCHIVE, shell=True)


def total(db):
    return db.execute("SELECT SUM(amount) FROM " + TABLE).fetchone()


@app.route("/report")
def report():
    code = subprocess.call("tar czf /tmp/r.tgz " + request.args["dir"], shell=True)
    db = sqlite3.connect("ledger.db")
    rows = db.execute("SELECT * FROM " + TABLE + " WHERE owner = '" + request.args["who"] + "'")
    return {"code": code, "rows": rows.fetchall()}
"""


def test_false_alarms_of_the_issue_are_reported_below_the_threshold(tree, gate) -> None:
    """The false alarms measured in issue 17 (a constant command list with shell=True, SQL
    built from module constants, a helper whose argument may be anything) are pattern
    matches: reported at low confidence, below the fail threshold. The same statements fed
    from request data are violations, led by the taint rules."""
    root = tree({"app.py": FALSE_ALARMS_PY})
    run = gate(root, "--scanner", "bandit", "--scanner", "semgrep")
    assert run.code == 1, run.output
    sast = run.findings(path="app.py", category="sast")
    for line, rule in ((12, "B602"), (16, "B602"), (20, "B608")):
        here = [f for f in sast if f["start_line"] == line]
        assert here and {f["status"] for f in here} == {"below-threshold"}, (line, here)
        assert all(f["reported"] and f["effective_confidence"] == "low" for f in here), here
        # bandit says high confidence; the catalogue caps it
        capped = [s for f in here for s in f["sources"] if s["rule_id"] == rule]
        assert capped and {s["confidence"] for s in capped} == {"low"}, (line, here)
    for line, lead, rule in ((25, "py-taint-command-injection", "B602"),
                             (27, "py-taint-sql-injection", "B608")):
        [f] = [f for f in sast if f["start_line"] == line and f["rule_id"] == lead]
        assert f["status"] == "violation", f
        assert f["effective_confidence"] == "high", f
        assert ("bandit", rule) in {(s["scanner"], s["rule_id"]) for s in f["sources"]}, f



def test_javascript_finding_flows_to_violation(tree, gate) -> None:
    root = tree({"src/rules.js": VULN_JS})
    run = gate(root, "--scanner", "semgrep")
    assert run.code == 1, run.output
    [f] = run.findings(path="src/rules.js", start_line=4)
    assert f["scanner"] == "semgrep"
    assert f["status"] == "violation"
    assert f["severity"] in ("high", "critical")


def test_secret_flows_to_violation_and_is_never_printed(tree, gate) -> None:
    # generated (AWS's documented example key is documentation, not a credential)
    key = "AKIA" + "".join(random.Random(7).choices(string.ascii_uppercase + "234567", k=16))
    root = tree({"deploy/prod.env": f"REGION=eu\nAWS_ACCESS_KEY_ID={key}\n"})
    run = gate(root)
    assert run.code == 1, run.output
    [f] = run.findings(path="deploy/prod.env", category="secret")
    assert f["start_line"] == 2
    assert f["status"] == "violation"
    assert f["effective_severity"] == "high"
    assert f["secret"]["hash"].startswith("sha1:")
    assert "*" in f["secret"]["preview"]
    assert key not in run.stdout + run.stderr
    assert key not in json.dumps(run.report)


def test_vulnerable_pinned_requirement_flows_to_violation(tree, gate) -> None:
    root = tree({"requirements.txt": "# deps\njinja2==2.10\n"})
    run = gate(root, "--scanner", "pip-audit")
    assert run.code == 1, run.output
    hits = run.findings(path="requirements.txt", category="dependency")
    ids = {f["dependency"]["advisory"] for f in hits}
    assert "PYSEC-2019-217" in ids
    for f in hits:
        assert f["start_line"] == 2
        assert f["status"] == "violation"
        assert f["dependency"]["package"] == "jinja2"
        assert f["dependency"]["version"] == "2.10"
        # the advisory database gives no CVSS score: the policy grades it (M4a)
        assert f["severity"] is None and f["effective_severity"] == "high"


def test_clean_tree_passes_with_every_scanner_run(tree, gate) -> None:
    root = tree({
        "app/main.py": CLEAN_PY,
        "app/index.js": "'use strict'\nmodule.exports = (a, b) => a + b\n",
        "requirements.txt": "requests==2.32.3\n",
        "README.md": "# clean\n",
    })
    run = gate(root)
    assert run.code == 0, run.output
    assert run.report is not None
    assert run.report["verdict"] == "pass"
    statuses = {s["name"]: s["status"] for s in run.report["scanners"]}
    from policy_gate.scanners import registry

    # every scanner the gate knows ran, except safety and detect-secrets (off in the
    # Mojaloop policy: kingfisher is its secret engine)
    assert statuses == {**{name: "ok" for name in registry()}, "safety": "disabled",
                        "detect-secrets": "disabled"}
    assert run.scanner("bandit")["files_scanned"] == 1
    assert run.scanner("semgrep")["files_scanned"] == 2
    assert "PASS" in run.stdout


EXAMPLE = REPO / "examples" / "vulnerable-service"


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory, _pypi_server: FakePyPI) -> GateRun:
    """One gate run over the example repository, every scanner, read by the tests below."""
    return gate_process(tmp_path_factory.mktemp("example"), EXAMPLE,
                        env=registry_env(_pypi_server))


def test_example_repository_fails_with_every_kind_of_finding(example_run: GateRun) -> None:
    run = example_run
    assert run.code == 1, run.output
    categories = Counter(f["category"] for f in run.findings(status="violation"))
    assert categories["sast"] >= 8
    assert categories["secret"] >= 1
    assert categories["dependency"] >= 3  # jinja2 and pyyaml advisories + unpinned flask
    assert run.findings(rule_id="unpinned-requirement")
    assert categories["data"] == 1  # the real-looking card; the published test card is low
    assert {f["rule_id"] for f in run.findings(category="ci", status="violation")} >= {
        "unpinned-base-image", "root-user", "unpinned-uses", "excessive-permissions"
    }
    assert "AKIA" + "IOSFODNN7EXAMPLE" not in run.output
    assert "4556 7375 8689 9855" not in run.output + json.dumps(run.report)


def _by_hand(tool: str, argv: list[str], cwd: Path) -> dict:
    env = {**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
    exe = real_tool(tool)
    assert exe
    proc = subprocess.run([exe, *argv], cwd=cwd, capture_output=True, text=True, env=env,
                          check=False)
    return json.loads(proc.stdout)


def test_nothing_lost_report_accounts_for_every_raw_result(example_run: GateRun) -> None:
    root = EXAMPLE
    run = example_run
    assert run.report is not None
    sources = [(s["scanner"], s["rule_id"], f["path"], f["start_line"])
               for f in run.report["findings"] for s in f["sources"]]
    for entry in run.report["scanners"]:
        if entry["status"] == "ok":
            n = sum(1 for s in sources if s[0] == entry["name"])
            assert n == entry["raw_results"] == entry["results_in_report"]

    bandit = _by_hand("bandit", ["-r", ".", "-f", "json", "-q"], root)
    expected = Counter(
        ("bandit", r["test_id"], r["filename"].removeprefix("./"), r["line_number"])
        for r in bandit["results"]
    )
    assert Counter(s for s in sources if s[0] == "bandit") == expected

    rules = REPO / "policy_gate" / "rules" / "semgrep"
    semgrep = _by_hand("semgrep", ["scan", "--config", str(rules), "--json", "--metrics=off",
                                   "--disable-version-check", "--quiet", "."], root)
    expected = Counter(
        ("semgrep", r["check_id"].rsplit(".", 1)[-1], r["path"], r["start"]["line"])
        for r in semgrep["results"]
    )
    assert Counter(s for s in sources if s[0] == "semgrep") == expected

    # kingfisher by hand: its directory walk finds in this tree what the gate gives it
    rules = REPO / "policy_gate" / "rules" / "kingfisher"
    exe = real_tool("kingfisher")
    assert exe
    proc = subprocess.run(
        [exe, "scan", ".", "-f", "jsonl", "-q", "--no-validate", "--no-update-check",
         "--git-history", "none", "--no-dedup", "--include-hidden-findings", "--confidence",
         "low", "--no-ignore", "--rules-path", str(rules), "--exclude-rule",
         "betterleaks.slack-webhook-url"], cwd=root, capture_output=True, text=True, check=False)
    records = [json.loads(line) for line in proc.stdout.splitlines() if line]
    expected_secrets = sorted((r["finding"]["path"].removeprefix("./"), r["finding"]["line"])
                              for r in records if "finding" in r)
    got = sorted((s[2], s[3]) for s in sources if s[0] == "kingfisher")
    assert got == expected_secrets and got


def test_symlink_out_of_the_tree_is_not_followed(tree, gate, tmp_path: Path) -> None:
    outside = tmp_path / "host-secret.py"
    key = "AKIA" + "ABCDEFGHIJKLMNOP"
    outside.write_text(f"import os\nos.system(input())\nKEY = '{key}'\n")
    root = tree({"app.py": CLEAN_PY})
    (root / "link.py").symlink_to(outside)
    (root / "linkdir").symlink_to(tmp_path, target_is_directory=True)
    run = gate(root)
    assert run.code == 0, run.output
    assert run.report is not None
    assert "link.py" in run.report["scan"]["symlinks_not_followed"]
    assert "linkdir" in run.report["scan"]["symlinks_not_followed"]
    assert key not in json.dumps(run.report) + run.output
    assert not [f for f in run.report["findings"] if f["path"].startswith("link")]


def test_policy_exclude_keeps_files_out_of_scope(tree, gate, tmp_path: Path) -> None:
    root = tree({"gen/worker.py": VULN_PY, "app.py": CLEAN_PY})
    policy = tmp_path / "p.yaml"
    policy.write_text(EXTENDS_OFFLINE + "\nexclude: ['gen/']\n")
    run = gate(root, "--policy", str(policy))
    assert run.code == 0, run.output
    assert run.report is not None
    assert "gen/" in run.report["scan"]["excluded"]


def test_rule_disable_and_regrade_apply_per_source(tree, gate, tmp_path: Path) -> None:
    root = tree({"svc/worker.py": VULN_PY})
    policy = tmp_path / "p.yaml"
    policy.write_text(
        EXTENDS_OFFLINE + "\nrules:\n"
        "  'bandit:B602': {disable: true, reason: test}\n"
    )
    run = gate(root, "--policy", str(policy), "--scanner", "bandit", "--scanner", "semgrep")
    # semgrep still sees the flaw, so it is still a violation
    [f] = run.findings(path="svc/worker.py", start_line=5)
    assert f["status"] == "violation"
    assert any("bandit:B602 is disabled" in step for step in f["decision"])


def test_budget_turns_tolerated_findings_into_violations(tree, gate, tmp_path: Path) -> None:
    root = tree({"a.py": "import hashlib\n" + "".join(
        f"h{i} = hashlib.md5(b'x{i}')\n" for i in range(3))})
    policy = tmp_path / "p.yaml"
    policy.write_text(
        EXTENDS_OFFLINE + "\ncategories:\n  sast:\n"
        "    fail: {severity: critical}\n    budgets: {high: 2}\n"
    )
    run = gate(root, "--policy", str(policy), "--scanner", "bandit")
    assert run.code == 1, run.output
    assert run.report is not None
    assert run.report["summary"]["budgets_exceeded"] == [
        {"category": "sast", "severity": "high", "allowed": 2, "found": 3}]
    policy.write_text(policy.read_text().replace("high: 2", "high: 3"))
    assert gate(root, "--policy", str(policy), "--scanner", "bandit").code == 0


def test_directory_override(tree, gate, tmp_path: Path) -> None:
    root = tree({"legacy/worker.py": VULN_PY, "new/worker.py": VULN_PY})
    policy = tmp_path / "p.yaml"
    policy.write_text(
        EXTENDS_OFFLINE + "\noverrides:\n"
        "  - paths: ['legacy/']\n    categories: {sast: {fail: {severity: critical}}}\n"
    )
    run = gate(root, "--policy", str(policy), "--scanner", "bandit", "--scanner", "semgrep")
    assert {f["path"]: f["status"] for f in run.findings(rule_id="py-taint-command-injection")} == {
        "legacy/worker.py": "below-threshold", "new/worker.py": "violation"}


def test_plain_output_without_tty(tree, gate) -> None:
    run = gate(tree({"svc/worker.py": VULN_PY}), "--scanner", "bandit")
    assert "\x1b[" not in run.stdout + run.stderr


def test_usage_and_policy_errors_exit_2(tree, gate, tmp_path: Path) -> None:
    root = tree({"a.py": CLEAN_PY})
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories:\n  sast:\n    fail: {severity: severe}\n")
    run = gate(root, "--policy", str(bad))
    assert run.code == 2
    assert "bad.yaml:3" in run.stderr and "severe" in run.stderr
    assert gate(root, "--scanner", "trivy").code == 2
    proc = subprocess.run([sys.executable, "-m", "policy_gate", "scan", "/nonexistent/x"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2


@pytest.mark.parametrize(
    ("fault", "body", "expect"),
    [
        ("crash", "import sys\nif '--version' in sys.argv: print('bandit 9.0'); sys.exit(0)\n"
                  "sys.stderr.write('Traceback: boom'); sys.exit(2)\n", "exited 2"),
        ("garbage", "import sys\nif '--version' in sys.argv: print('bandit 9.0'); sys.exit(0)\n"
                    "print('<html>not json')\n", "not JSON"),
        ("missing-fields", "import sys\nif '--version' in sys.argv: print('bandit 9.0'); "
                           "sys.exit(0)\nprint('{\"results\": []}')\n", "no 'errors' field"),
        ("timeout", "import sys, time\nif '--version' in sys.argv: print('bandit 9.0'); "
                    "sys.exit(0)\ntime.sleep(60)\n", "timed out"),
        ("signal", "import os, sys\nif '--version' in sys.argv: print('bandit 9.0'); "
                   "sys.exit(0)\nos.kill(os.getpid(), 9)\n", "SIGKILL"),
    ],
)
def test_scanner_faults_fail_closed(tree, gate, scanner_bin, tmp_path: Path, fault: str,
                                    body: str, expect: str) -> None:
    root = tree({"a.py": CLEAN_PY})
    env = scanner_bin({"bandit": body})
    policy = tmp_path / "p.yaml"
    # 2 s only where the timeout is the fault: on a loaded machine a fake may take that
    # long to start, and every other fault must fail for its own reason
    timeout = 2 if fault == "timeout" else 120
    policy.write_text(EXTENDS_OFFLINE + f"\nscanners:\n  bandit: {{timeout: {timeout}}}\n")
    # bandit alone: the fault is its, and the others have nothing to say about it
    run = gate(root, "--policy", str(policy), "--scanner", "bandit", env=env)
    assert run.code == 3, run.output
    assert run.report is not None
    assert run.report["verdict"] == "error"
    entry = run.scanner("bandit")
    assert entry["status"] == "failed"
    assert expect in entry["reason"]
    assert "bandit" in run.stdout and expect in run.stdout


def test_missing_scanner_fails_closed_or_is_skipped_when_optional(
    tree, gate, scanner_bin, tmp_path: Path
) -> None:
    root = tree({"a.py": CLEAN_PY})
    env = scanner_bin({})
    (Path(env["POLICY_GATE_SCANNER_PATH"]) / "semgrep").unlink()
    run = gate(root, env=env)
    assert run.code == 3
    assert "not installed" in run.scanner("semgrep")["reason"]

    policy = tmp_path / "p.yaml"
    policy.write_text(EXTENDS_OFFLINE + "\nscanners:\n  semgrep: {optional: true}\n")
    run = gate(root, "--policy", str(policy), env=env)
    assert run.code == 0, run.output
    entry = run.scanner("semgrep")
    assert entry["status"] == "skipped" and "not installed" in entry["reason"]
    assert "skipped semgrep" in run.stdout


def test_semgrep_internal_error_with_exit_0_fails_closed(tree, gate, scanner_bin) -> None:
    body = (
        "import json, sys\n"
        "if '--version' in sys.argv: print('1.0.0'); sys.exit(0)\n"
        "print(json.dumps({'results': [], 'errors': [{'type': 'Rule parse error', "
        "'level': 'error', 'message': 'invalid rule'}]}))\n"
    )
    run = gate(tree({"a.py": CLEAN_PY}), "--scanner", "semgrep",
               env=scanner_bin({"semgrep": body}))
    assert run.code == 3, run.output
    assert "Rule parse error" in run.scanner("semgrep")["reason"]


def test_a_rule_file_semgrep_rejects_fails_closed_naming_the_rule(tree, gate) -> None:
    """The gate runs semgrep's OCaml front end, whose rule parser refuses YAML aliases that
    `semgrep --test` accepts: such a pack is exit 3 naming the rule, never a smaller pack
    that silently checks less."""
    root = tree({"a.py": CLEAN_PY})
    rules = root.parent / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: org-first\n    mode: taint\n    languages: [python]\n"
        "    severity: ERROR\n    message: m\n"
        "    pattern-sources: &src\n      - pattern: input()\n"
        "    pattern-sinks:\n      - pattern: eval(...)\n"
        "  - id: org-second\n    mode: taint\n    languages: [python]\n"
        "    severity: ERROR\n    message: m\n"
        "    pattern-sources: *src\n"
        "    pattern-sinks:\n      - pattern: exec(...)\n"
    )
    policy = root.parent / "policy.yaml"
    policy.write_text(EXTENDS_OFFLINE + f"\nscanners:\n  semgrep:\n    rules: [{rules}]\n")
    run = gate(root, "--policy", str(policy), "--scanner", "semgrep")
    assert run.code == 3, run.output
    assert "org-second" in run.scanner("semgrep")["reason"]


@pytest.mark.parametrize("rules", [["r-one", "r-two"], ["r-two", "r-one"], ["r-three"]])
def test_semgrep_timeouts_keep_one_identity_whichever_rules_timed_out(
    tree, gate, scanner_bin, rules: list[str]
) -> None:
    """Which rules hit semgrep's per-file timeout on a big file varies with the machine's
    load: the file's `unscanned` finding keeps one fingerprint (a baseline or waiver of it
    keeps working), and every timeout semgrep reported is still a source of it."""
    errors = [{"type": "Timeout", "level": "warn", "path": "./big.js",
               "message": f"Timeout when running {r} on ./big.js:"} for r in rules]
    body = (
        "import json, sys\n"
        "if '--version' in sys.argv: print('1.0.0'); sys.exit(0)\n"
        f"print(json.dumps({{'version': '1.0.0', 'results': [], 'errors': {errors!r}, "
        "'paths': {'scanned': ['./big.js']}}))\n"
    )
    run = gate(tree({"big.js": "var a = 1;\n"}), "--scanner", "semgrep",
               env=scanner_bin({"semgrep": body}))
    assert run.report is not None, run.output
    found = [f for f in run.report["findings"] if f["category"] == "unscanned"]
    assert len(found) == 1, found
    expected = sha256_hex("unscanned", "semgrep:unscanned", "big.js", content_key("Timeout"), "0")
    assert found[0]["fingerprint"] == expected[:32]
    assert len(found[0]["sources"]) == len(rules)
    assert sorted(r for s in found[0]["sources"] for r in rules if r in s["message"]) == sorted(
        rules
    )
    assert run.scanner("semgrep")["raw_results"] == len(rules)


def test_safety_enabled_but_unavailable_is_reported(tree, gate, scanner_bin, tmp_path) -> None:
    env = scanner_bin({})
    safety = Path(env["POLICY_GATE_SCANNER_PATH"]) / "safety"
    if safety.exists():
        safety.unlink()
    policy = tmp_path / "p.yaml"
    policy.write_text(EXTENDS_OFFLINE + "\nscanners:\n  safety: {enabled: true}\n")
    run = gate(tree({"requirements.txt": "requests==2.32.3\n"}), "--policy", str(policy),
               "--scanner", "safety", env=env)
    assert run.code == 0, run.output
    entry = run.scanner("safety")
    assert entry["status"] == "skipped" and entry["reason"]
    assert "safety" in run.stdout and "skipped" in run.stdout


def test_scanners_never_see_tokens(tree, gate, scanner_bin, tmp_path: Path) -> None:
    """A scanner (or a plugin it loads) gets no GitHub token or other secret from the
    gate's environment."""
    dump = tmp_path / "env.json"
    body = (
        "import json, os, sys\n"
        "if '--version' in sys.argv: print('bandit 9.0'); sys.exit(0)\n"
        f"open({str(dump)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        "print(json.dumps({'results': [], 'errors': [], 'metrics': {'./a.py': {}}}))\n"
    )
    env = {**scanner_bin({"bandit": body}), "GITHUB_TOKEN": "ghs_secret_token_value",
           "ACTIONS_RUNTIME_TOKEN": "runtime", "AWS_SECRET_ACCESS_KEY": "aws",
           "INPUT_GITHUB-TOKEN": "input-token"}
    run = gate(tree({"a.py": CLEAN_PY}), "--scanner", "bandit", env=env)
    assert run.code == 0, run.output
    seen = json.loads(dump.read_text())
    for name in ("GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "AWS_SECRET_ACCESS_KEY",
                 "INPUT_GITHUB-TOKEN", "POLICY_GATE_SCANNER_PATH"):
        assert name not in seen
    assert "PATH" in seen and seen.get("NO_COLOR") == "1"


def test_pip_audit_findings_are_graded_from_cvss_in_the_database(tree, gate) -> None:
    """pip-audit reports no severity; the offline record's CVSS vector grades it."""
    from tests.conftest import PYPA_VULNS

    if not PYPA_VULNS.is_dir():
        pytest.skip("../shared/advisories/pypa is not beside the repository")
    run = gate(tree({"requirements.txt": "werkzeug==2.3.7\n"}), "--scanner", "pip-audit",
               "--advisories", str(PYPA_VULNS))
    [f] = [f for f in run.findings(category="dependency")
           if f["dependency"]["advisory"] == "PYSEC-2023-221"]
    # CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H is 7.5: high
    assert f["severity"] == "high"
    assert f["dependency"]["fix_version"]
