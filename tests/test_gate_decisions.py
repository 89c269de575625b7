"""Waivers, inline suppressions, baselines and `explain`, end to end: the real gate in a
subprocess with the real scanners, as a maintainer runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLE_ADVISORIES, EXTENDS_OFFLINE, OFFLINE_POLICY, GateRun
from tests.test_cyclonedx import assert_valid as assert_valid_cyclonedx
from tests.test_openvex import assert_valid_openvex

TODAY = "2026-11-25"
FLAWED = {
    "app.py": """\
        import hashlib, subprocess


        def run(cmd):
            return hashlib.md5(cmd)
        """,
    "requirements.txt": "jinja2==2.10\n",
}


def waivers(root: Path, text: str) -> None:
    path = root / ".policy-gate" / "waivers.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def at_today(gate: Callable[..., GateRun], root: Path, *args: str) -> GateRun:
    return gate(root, *args, env={"POLICY_GATE_TODAY": TODAY})


def b602(run: GateRun) -> dict[str, Any]:
    return next(f for f in run.findings(rule_id="B324"))


def test_waiver_by_fingerprint_accepts_and_is_shown(
    tree: Callable[..., Path], gate: Callable[..., GateRun]
) -> None:
    root = tree(FLAWED)
    first = at_today(gate, root, "--scanner", "bandit")
    assert first.code == 1
    fp = b602(first)["fingerprint"]
    waivers(root, f"""\
        version: 1
        waivers:
          - id: SEC-101
            fingerprint: {fp}
            reason: cmd is a constant list built in this module
            owner: security@mojaloop.example
            created: 2026-11-20
            expires: 2026-12-15
        """)
    run = at_today(gate, root, "--scanner", "bandit")
    assert run.code == 0, run.output
    finding = b602(run)
    assert finding["status"] == "waived"
    assert finding["waiver"]["id"] == "SEC-101"
    assert finding["waiver"]["owner"] == "security@mojaloop.example"
    assert any("SEC-101" in step for step in finding["decision"])


def test_expired_waiver_is_a_violation_saying_since_when(
    tree: Callable[..., Path], gate: Callable[..., GateRun]
) -> None:
    root = tree(FLAWED)
    waivers(root, """\
        waivers:
          - rule: bandit:B324
            paths: ["app.py"]
            reason: accepted until the refactor lands
            owner: team-core
            expires: 2026-11-01
        """)
    run = at_today(gate, root, "--scanner", "bandit")
    assert run.code == 1
    finding = b602(run)
    assert finding["status"] == "violation"
    assert any("expired on 2026-11-01, 24 day(s) ago" in s for s in finding["decision"])
    assert run.report is not None
    kinds = {n["kind"] for n in run.report["notices"]}
    assert "expired-waiver" in kinds


def test_waiver_longer_than_the_severity_deadline_is_not_applied(
    tree: Callable[..., Path], gate: Callable[..., GateRun]
) -> None:
    root = tree(FLAWED)
    # B324 is high: M1 allows 30 days.
    waivers(root, """\
        waivers:
          - rule: bandit:B324
            paths: ["app.py"]
            reason: accepted for a long while, please
            owner: team-core
            created: 2026-11-20
            expires: 2027-06-01
        """)
    run = at_today(gate, root, "--scanner", "bandit")
    assert run.code == 1
    finding = b602(run)
    assert finding["status"] == "violation"
    assert any("at most 30 for high findings" in s for s in finding["decision"])


def test_advisory_waiver_matches_any_alias_and_exports_openvex(
    tree: Callable[..., Path], gate: Callable[..., GateRun], tmp_path: Path
) -> None:
    root = tree(FLAWED)
    first = at_today(gate, root, "--scanner", "pip-audit")
    vulns = first.findings(category="dependency")
    assert vulns, first.output
    # Waive each advisory by an alias other than the id the finding leads with.
    entries = []
    for f in vulns:
        others = [i for i in f["ids"] if i != f["dependency"]["advisory"]
                  and not i.startswith("CWE-")]
        alias = others[0] if others else f["dependency"]["advisory"]
        entries.append(f"""\
  - advisory: {alias.lower()}
    package: Jinja2
    reason: template rendering only of our own constant templates
    owner: team-core
    expires: 2026-12-01
""")
    waivers(root, "waivers:\n" + "".join(dict.fromkeys(entries)))
    vex, sbom = tmp_path / "waivers.vex.json", tmp_path / "sbom.cdx.json"
    run = gate(root, "--scanner", "pip-audit", "--format", "openvex", "--output", str(vex),
               "--format", "cyclonedx", "--output", str(sbom), env={"POLICY_GATE_TODAY": TODAY})
    assert run.code == 0, run.output
    assert {f["status"] for f in run.findings(category="dependency")} == {"waived"}
    doc = json.loads(vex.read_text())
    assert_valid_openvex(doc)
    assert doc["statements"]
    for statement in doc["statements"]:
        # no justification: a risk accepted until the expiry, not "not affected"
        assert statement["status"] == "affected"
        assert "team-core" in statement["action_statement"]
        assert any(p["@id"].startswith("pkg:pypi/jinja2@2.10") for p in statement["products"])
    analyses = [v["analysis"] for v in assert_valid_cyclonedx(sbom.read_text())["vulnerabilities"]]
    assert analyses and all(a["state"] == "exploitable" and a["response"] == ["will_not_fix"]
                            for a in analyses)


def test_stale_waiver_warns_or_fails_as_the_policy_says(
    tree: Callable[..., Path], gate: Callable[..., GateRun], tmp_path: Path
) -> None:
    root = tree({"ok.py": "print('hello')\n"})
    waivers(root, """\
        waivers:
          - rule: bandit:B324
            paths: ["gone/"]
            reason: the old deploy script shells out
            owner: team-core
            expires: 2026-12-20
        """)
    run = at_today(gate, root, "--scanner", "bandit")
    assert run.code == 0, run.output
    assert run.report is not None
    notices = {n["kind"]: n for n in run.report["notices"]}
    assert "stale-waiver" in notices and not notices["stale-waiver"]["fails"]
    assert "expiring-waiver" not in notices  # 25 days left; the policy warns 14 ahead
    strict = tmp_path / "strict.yaml"
    strict.write_text(EXTENDS_OFFLINE + "\nwaivers: {stale: fail, warn_before_days: 30}\n")
    run = at_today(gate, root, "--scanner", "bandit", "--policy", str(strict))
    assert run.code == 1
    assert run.report is not None and run.report["verdict"] == "fail"
    assert {n["kind"] for n in run.report["notices"]} == {"stale-waiver", "expiring-waiver"}


def test_bad_waivers_file_is_a_usage_error_naming_file_and_line(
    tree: Callable[..., Path], gate: Callable[..., GateRun]
) -> None:
    root = tree(FLAWED)
    waivers(root, """\
        waivers:
          - rule: bandit:B324
            reason: no paths given here
            owner: someone
            expires: 2026-02-30
        """)
    run = at_today(gate, root, "--scanner", "bandit")
    assert run.code == 2
    assert ".policy-gate/waivers.yaml:2" in run.stderr  # rule waiver without paths
    assert ".policy-gate/waivers.yaml:5" in run.stderr  # no 30 February
    assert run.report is None


SUPPRESSED = {
    "named.py": """\
        import hashlib, subprocess


        def run(cmd):
            return hashlib.md5(cmd)  # nosec B324 - a checksum, not a signature
        """,
    "bare.py": """\
        import hashlib, subprocess


        def run(cmd):
            return hashlib.md5(cmd)  # nosec
        """,
    "noreason.py": """\
        import hashlib, subprocess


        def run(cmd):
            return hashlib.md5(cmd)  # nosec B324
        """,
}


def _policy(tmp_path: Path, mode: str) -> str:
    path = tmp_path / f"{mode}.yaml"
    path.write_text(EXTENDS_OFFLINE + f"\ninline_suppressions: {mode}\n")
    return str(path)


def test_inline_suppressions_counted_and_decided_by_the_policy(
    tree: Callable[..., Path], gate: Callable[..., GateRun], tmp_path: Path
) -> None:
    root = tree(SUPPRESSED)
    outcome: dict[str, dict[str, str]] = {}
    for mode in ("ignore", "honour", "require-reason"):
        run = gate(root, "--scanner", "bandit", "--policy", _policy(tmp_path, mode))
        assert run.report is not None, run.output
        outcome[mode] = {f["path"]: f["status"] for f in run.findings(rule_id="B324")}
        assert len(run.report["suppressions"]) == 3
        # a bare nosec is flagged whatever the mode
        bare = run.findings(category="suppression")
        assert [f["path"] for f in bare] == ["bare.py"]
        assert bare[0]["start_line"] == 5
    assert set(outcome["ignore"].values()) == {"violation"}
    assert set(outcome["honour"].values()) == {"suppressed"}
    assert outcome["require-reason"] == {
        "named.py": "suppressed", "bare.py": "violation", "noreason.py": "violation"
    }


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policy_gate", *args],
        capture_output=True, text=True, check=False, cwd=cwd, timeout=300,
        env={**__import__("os").environ, "NO_COLOR": "1"},
    )


def test_baseline_create_then_only_new_findings_fail(
    tree: Callable[..., Path], gate: Callable[..., GateRun], tmp_path: Path
) -> None:
    root = tree(FLAWED)
    base = tmp_path / "baseline.json"
    made = _cli("baseline", "create", str(root), "--policy", str(OFFLINE_POLICY),
                "--advisories", str(EXAMPLE_ADVISORIES), "--output", str(base))
    assert made.returncode == 0, made.stderr
    assert "baseline of" in made.stdout
    run = gate(root, "--baseline", str(base))
    assert run.code == 0, run.output
    assert run.report is not None
    assert {f["status"] for f in run.report["findings"]} <= {"baselined", "below-threshold"}

    # Lines inserted above: still baselined. A new copy elsewhere: new.
    text = (root / "app.py").read_text()
    (root / "app.py").write_text("# a header comment\n\n" + text)
    (root / "copy.py").write_text(text)
    run = gate(root, "--baseline", str(base))
    assert run.code == 1
    violations = {f["path"] for f in run.findings(status="violation")}
    assert violations == {"copy.py"}
    assert {f["status"] for f in run.findings(path="app.py", rule_id="B324")} == {"baselined"}

    # The file renamed unchanged (and the copy gone): baselined again.
    (root / "copy.py").unlink()
    (root / "app.py").write_text(text)
    (root / "app.py").rename(root / "service.py")
    run = gate(root, "--baseline", str(base))
    assert run.code == 0, run.output
    assert {f["status"] for f in run.findings(path="service.py", rule_id="B324")} == {"baselined"}


def test_baseline_not_written_when_a_scanner_fails(
    tree: Callable[..., Path], scanner_bin: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    root = tree(FLAWED)
    env = scanner_bin({"bandit": "import sys\nsys.exit(2)\n"})
    base = tmp_path / "baseline.json"
    proc = subprocess.run(
        [sys.executable, "-m", "policy_gate", "baseline", "create", str(root),
         "--policy", str(OFFLINE_POLICY), "--advisories", str(EXAMPLE_ADVISORIES),
         "--output", str(base)],
        capture_output=True, text=True, check=False, timeout=300,
        env={**__import__("os").environ, **env},
    )
    assert proc.returncode == 3
    assert "bandit" in proc.stderr
    assert not base.exists()


def test_explain_shows_every_step_in_order(
    tree: Callable[..., Path], gate: Callable[..., GateRun], tmp_path: Path
) -> None:
    root = tree(FLAWED)
    run = gate(root, "--scanner", "bandit")
    fp = b602(run)["fingerprint"]
    report = tmp_path / "report.json"
    from_report = _cli("explain", fp[:10], "--report", str(report))
    assert from_report.returncode == 0, from_report.stderr
    text = from_report.stdout
    assert "app.py:5" in text and "bandit:B324" in text
    assert "against the sast fail threshold" in text
    assert "Result: a VIOLATION" in text
    rescan = _cli("explain", "app.py:5", str(root), "--policy", str(OFFLINE_POLICY),
                  "--scanner", "bandit")
    assert rescan.returncode == 0, rescan.stderr
    assert "Result: a VIOLATION" in rescan.stdout
    missing = _cli("explain", "ffffffffff", "--report", str(report))
    assert missing.returncode == 2


def test_validate_checks_waivers_files(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("waivers:\n  - advisory: GHSA-abcd-efgh-ijkl\n    reason: only used in "
                    "tests, never in production\n    owner: team\n    expires: 2027-01-01\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("waivers:\n  - rule: bandit:B602\n    reason: x\n    owner: y\n"
                   "    expires: 2026-13-01\n")
    ok = _cli("validate", "--waivers", str(good))
    assert ok.returncode == 0 and "1 waiver(s)" in ok.stdout
    failed = _cli("validate", "--waivers", str(bad))
    assert failed.returncode == 2
    assert f"{bad}:2:5" in failed.stderr and f"{bad}:5:5" in failed.stderr
