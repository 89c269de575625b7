"""Free text from the gate's own files never echoes a secret (issue 16).

A waiver's reason, an inline comment and a policy rule's reason are quoted beside the
findings they decide, in every report. The secret engine finds a credential pasted into
one at its file and line; the text is then withheld everywhere, in favour of a note saying
where the secret is, and the secret finding stays a violation (masked as usual). Where the
engine did not read the file, a conservative shape check withholds the text instead.
Credentials are generated at run time from a seeded RNG (no provider prefix written out
whole), so this file holds none.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from pathlib import Path

import pytest

from policy_gate.base.redact import sha1_hex
from policy_gate.findings import SECRET, Confidence, Finding, SecretInfo, Severity, Source
from policy_gate.policy.loader import load_policy
from policy_gate.policy.suppressions import find_suppressions
from policy_gate.policy.waivers import load_waivers
from policy_gate.policy.withheld import FOUND, SHAPED, credential_shaped, withhold
from tests.conftest import OFFLINE_POLICY
from tests.test_hostile_repos import FullRun, assert_scanners_ran, build, run_gate

RNG = random.Random(0x16D0)
ALNUM = string.ascii_letters + string.digits
TODAY = dt.datetime.now(dt.UTC).date()


WINDOW = 8  # no run of this many characters of a secret may be shown anywhere


def leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    """Where a secret, or any WINDOW characters of one, is shown."""
    parts = {s[i:i + WINDOW] for s in secrets for i in range(len(s) - WINDOW + 1)}
    return [f"{name} at {i}" for name, text in texts.items()
            for i in range(len(text) - WINDOW + 1) if text[i:i + WINDOW] in parts]


def github_token() -> str:
    return "gh" + "p_" + "".join(RNG.choice(ALNUM) for _ in range(36))


def aws_key_id() -> str:
    return "AK" + "IA" + "".join(RNG.choice(string.ascii_uppercase + "234567") for _ in range(16))


def unshaped() -> str:
    """A value the shape check lets through (lower case and digits): only a finding on its
    line withholds a text holding it."""
    return "".join(RNG.choice(string.ascii_lowercase + string.digits) for _ in range(24))


def secret_finding(path: str, line: int, value: str, scanner: str = "kingfisher") -> Finding:
    return Finding(
        category=SECRET,
        sources=(Source(scanner, "x", Severity.HIGH, Confidence.HIGH, "a token"),),
        path=path, start_line=line, end_line=line, message="a token",
        flaw_key=f"secret:{sha1_hex(value)}",
        secret=SecretInfo("token", "xx****xx", f"sha1:{sha1_hex(value)}"),
    )


# ---------------------------------------------------------------------------- the shapes


def test_credential_shapes() -> None:
    token, key_id = github_token(), aws_key_id()
    shaped = [
        f"rotated {token} yesterday", f"old key {key_id}", "see postgres://app:pw1@db/x",
        "password: Summer2024!", "api_key=abc123def", "test card 4111 1111 1111 1111",
        "-----BEGIN RSA PRIVATE KEY-----", "".join(RNG.choice(ALNUM) for _ in range(40)),
    ]
    plain = [
        "False positive: the command is a constant list",
        "only the build uses lodash.template; no user input reaches it",
        "GHSA-35jh-r3h4-6jhm does not apply (CVE-2021-23337)", "bandit:B602 in scripts/**",
        "fingerprint 3f9a2c0d5e1b4a6f8c7d9e0f1a2b3c4d", "commit " + "ab12" * 10,
        "transfer 9f1c2e4a-1b2c-4d5e-8f90-123456789abc", "the token is rotated monthly",
        "password: none in this file", "ticket PAY-12345, expires 2026-12-31",
        "generated fake credentials for the contract tests, never deployed",
        "https://github.com/mojaloop/central-ledger/issues?q=is%3Aopen",
    ]
    assert [t for t in shaped if not credential_shaped(t)] == []
    assert [t for t in plain if credential_shaped(t)] == []


# ---------------------------------------------------------------------------- pure


def test_a_waiver_text_on_a_secret_line_is_withheld_and_nothing_else() -> None:
    token = unshaped()
    text = (
        "version: 1\n"
        "waivers:\n"
        "  - fingerprint: 3f9a2c0d5e1b4a6f8c7d9e0f1a2b3c4d\n"  # 3: an identifier, low
        "    reason: False positive, the command is a constant list\n"
        "    owner: alice@example.org\n"
        f"    expires: {TODAY + dt.timedelta(days=20)}\n"
        "  - rule: bandit:B602\n"  # 7
        "    paths: [\"scripts/**\"]\n"
        "    reason: >-\n"
        "      developer scripts; the old token\n"
        f"      {token} is gone\n"  # 11
        "    owner: platform-team\n"
        f"    expires: {TODAY + dt.timedelta(days=20)}\n"
    )
    waivers = load_waivers(text, ".policy-gate/waivers.yaml", TODAY)
    assert [w.text_lines for w in waivers.waivers][1] == (
        ("owner", 12, 12), ("reason", 9, 11))
    findings = [secret_finding(".policy-gate/waivers.yaml", 3, "3f9a2c0d5e1b4a6f8c7d9e0f1a2b3c4d"),
                secret_finding(".policy-gate/waivers.yaml", 11, token)]
    policy = load_policy(OFFLINE_POLICY)
    kept = withhold(findings, policy, waivers, ())
    assert kept.waivers is not None
    first, second = kept.waivers.waivers
    assert first.reason == "False positive, the command is a constant list"  # not its line
    assert second.reason == FOUND.format(".policy-gate/waivers.yaml:11")
    assert second.owner == "platform-team" and second.rule == "bandit:B602"
    assert kept.policy is policy and kept.findings == findings
    assert token not in repr(kept.waivers)
    # the same file, no finding: nothing in it is shaped like a credential
    assert withhold((), policy, waivers, ()).waivers == waivers


def test_a_comment_on_a_secret_line_is_withheld_only_when_the_secret_may_be_in_it(
    tmp_path: Path,
) -> None:
    token, other = github_token(), "".join(RNG.choice(ALNUM) for _ in range(24))
    (tmp_path / "a.py").write_text(
        f'PASSWORD = "{other}"  # pragma: allowlist secret - fake password for the tests\n'
        f"x = 1  # nosec B105 - the old one was {token}\n"
        f"y = 2  # nosemgrep: {token[:4]}{other}\n"
    )
    (tmp_path / "b.js").write_text(f"eval(x); // nosemgrep: {token}\n")
    sups = find_suppressions(tmp_path, ["a.py", "b.js"], 1 << 20)
    findings = [secret_finding("a.py", 1, other), secret_finding("a.py", 2, token),
                secret_finding("a.py", 3, token[:4] + other)]
    kept = {(s.path, s.line): s for s in withhold(findings, load_policy(OFFLINE_POLICY), None,
                                                    sups).suppressions}
    assert kept["a.py", 1].reason == "fake password for the tests"  # the value is the code's
    assert kept["a.py", 2].text == FOUND.format("a.py:2")
    assert kept["a.py", 2].reason == FOUND.format("a.py:2")
    assert kept["a.py", 3].text == FOUND.format("a.py:3")
    assert kept["a.py", 3].rules[0].count("*") >= 20  # masked: it was the value
    # no finding (the engine did not run): the shape of a rule id written into the text
    assert kept["b.js", 1].text == SHAPED.format("b.js:1")
    assert token not in repr(kept["b.js", 1])


def test_policy_reasons_are_withheld_in_the_rules_and_the_document(tmp_path: Path) -> None:
    token = unshaped()
    path = tmp_path / "policy.yaml"
    path.write_text(
        f"version: 1\nextends: {OFFLINE_POLICY}\nname: t\n"
        "rules:\n"
        '  "bandit:B404":\n'
        "    severity: info\n"
        f"    reason: imports are reviewed; the old token was {token}\n"  # 7
        '  "bandit:B101":\n'
        "    disable: true\n"
        "    reason: asserts are fine in this code base\n"
    )
    policy = load_policy(path)
    found = [secret_finding(".policy-gate/policy.yaml", 7, token)]
    kept = withhold(found, policy, None, (), {str(path): ".policy-gate/policy.yaml"}).policy
    note = FOUND.format(".policy-gate/policy.yaml:7")
    assert kept.rules["bandit:B404"].reason == note
    assert kept.document["rules"]["bandit:B404"]["reason"] == note
    assert kept.rules["bandit:B101"].reason == "asserts are fine in this code base"
    assert kept.sha256 == policy.sha256 and kept.text_sources == ()
    assert token not in repr(kept)
    # outside the tree (no path, no finding): only the shape check
    assert withhold((), policy, None, ()).policy is policy
    path.write_text(path.read_text().replace(token, github_token()))
    assert withhold((), load_policy(path), None, ()).policy.rules["bandit:B404"].reason == (
        SHAPED.format(f"{path}:7"))


# ---------------------------------------------------------------------------- the gate

SCRIPT = "import hashlib, subprocess\n\n\ndef run(cmd):\n    return hashlib.md5(cmd)\n"


def _tree(root: Path, tokens: list[str]) -> None:
    expires = TODAY + dt.timedelta(days=20)
    build(root, {
        "scripts/deploy.py": SCRIPT,
        "app.py": ("import subprocess\n\n\ndef go(cmd):\n"
                   f"    return subprocess.call(cmd, shell=True)  # nosec B602 - was {tokens[1]}\n"
                   f"VALUE = 1  # nosec - the old one was {tokens[1]}\n"),
        "web/app.js": f"function f(x) {{\n  return eval(x); // nosemgrep: {tokens[2]}\n}}\n",
        ".policy-gate/waivers.yaml": (
            "version: 1\nwaivers:\n"
            "  - rule: bandit:B324\n"
            "    paths: [\"scripts/**\"]\n"
            f"    reason: developer scripts, run by hand; CI token {tokens[0]}\n"
            "    owner: platform-team\n"
            f"    expires: {expires}\n"
        ),
        ".policy-gate/policy.yaml": (
            f"version: 1\nextends: {OFFLINE_POLICY}\nname: own-files\n"
            "rules:\n"
            '  "bandit:B404":\n'
            "    severity: info\n"
            f"    reason: imports are reviewed, deploy key {tokens[3]}\n"
        ),
    })


@pytest.fixture(scope="module")
def tokens() -> list[str]:
    return [github_token() for _ in range(4)]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, tokens: list[str]) -> FullRun:
    tmp = tmp_path_factory.mktemp("withheld")
    _tree(tmp / "repo", tokens)
    return run_gate(tmp / "repo", tmp / "out", "--scanner", "bandit", "--scanner", "kingfisher",
                    "--policy", str(tmp / "repo" / ".policy-gate" / "policy.yaml"))


def test_no_channel_shows_a_token_from_the_gates_own_files(
    scanned: FullRun, tokens: list[str]
) -> None:
    """Every report format, the terminal, the step summary and outputs (GitHub mode)."""
    assert_scanners_ran(scanned)
    # OpenVEX: no file, as no dependency advisory is waived (nothing to state)
    assert {"report.json", "report.sarif", "report.junit", "report.markdown",
            "report.cyclonedx", "report.compliance"} <= set(scanned.outputs)
    assert leaks(scanned.texts(), tokens) == []


def test_the_secrets_still_fail_and_the_texts_say_where(
    scanned: FullRun, tokens: list[str]
) -> None:
    assert scanned.code == 1
    secrets = {(f["path"], f["start_line"]): f for f in scanned.report["findings"]
               if f["category"] == "secret"}
    for where in ((".policy-gate/waivers.yaml", 5), ("app.py", 5), ("web/app.js", 2),
                  (".policy-gate/policy.yaml", 7)):
        assert secrets[where]["status"] == "violation", where
    waived = scanned.findings(path="scripts/deploy.py", rule_id="B324")
    assert [f["status"] for f in waived] == ["waived"]
    note = FOUND.format(".policy-gate/waivers.yaml:5")
    assert waived[0]["waiver"]["reason"] == note
    assert any(note in step for step in waived[0]["decision"])
    b404 = scanned.findings(path="scripts/deploy.py", rule_id="B404")
    assert any(FOUND.format(".policy-gate/policy.yaml:7") in s for s in b404[0]["decision"])
    assert (scanned.report["policy"]["document"]["rules"]["bandit:B404"]["reason"]
            == FOUND.format(".policy-gate/policy.yaml:7"))
    comments = {(s["path"], s["line"]): s for s in scanned.report["suppressions"]}
    assert comments["app.py", 5]["text"] == FOUND.format("app.py:5")
    # the finding a bare `# nosec` gets quotes its comment: the note, there too
    bare = scanned.findings(path="app.py", start_line=6, category="suppression")
    assert [f["message"].startswith(f"`{FOUND.format('app.py:6')}` names no rule")
            for f in bare] == [True]
    assert comments["web/app.js", 2]["text"] == FOUND.format("web/app.js:2")
    # Markdown escapes the note's punctuation; its words are there
    assert "a secret was found in this text at .policy-gate/waivers.yaml" in (
        scanned.outputs["report.markdown"])


def test_without_the_engine_the_shape_check_withholds(
    tmp_path: Path, tokens: list[str]
) -> None:
    """bandit alone: nothing read the gate's files for secrets; the texts are withheld by
    their shape."""
    _tree(tmp_path / "repo", tokens)
    run = run_gate(tmp_path / "repo", tmp_path / "out", "--scanner", "bandit",
                   "--policy", str(tmp_path / "repo" / ".policy-gate" / "policy.yaml"))
    assert_scanners_ran(run)
    assert leaks(run.texts(), tokens) == []
    waived = run.findings(path="scripts/deploy.py", rule_id="B324")
    assert waived[0]["status"] == "waived"
    assert waived[0]["waiver"]["reason"] == SHAPED.format(".policy-gate/waivers.yaml:5")


def test_a_finding_quoting_a_withheld_policy_text_quotes_the_note(tmp_path: Path) -> None:
    """A licence exception's reason is quoted by the licence finding it accepts (made while
    scanning, before any text was withheld): the message is rewritten, where the text
    stands whole."""
    secret = unshaped()
    path = tmp_path / "policy.yaml"
    path.write_text(
        f"version: 1\nextends: {OFFLINE_POLICY}\nname: t\n"
        "licenses:\n"
        "  exceptions:\n"
        "    - package: left-pad@1.3.0\n"
        f"      reason: vendored {secret}\n"  # 7
        "      owner: bob\n"  # 8
        f"      expires: '{TODAY + dt.timedelta(days=20)}'\n"
    )
    policy = load_policy(path)

    def licence(message: str) -> Finding:
        return Finding(category="license", sources=(Source("licenses", "x", Severity.LOW,
                       Confidence.HIGH, message),), path="package-lock.json", start_line=1,
                       end_line=1, message=message, flaw_key="k")

    quoting = licence(f"accepted until later by bob: vendored {secret}")
    unrelated = licence("bobcat@2.0 is MIT")
    findings = [secret_finding("p.yaml", 7, secret), secret_finding("p.yaml", 8, "bob"),
                quoting, unrelated]
    kept = withhold(findings, policy, None, (), {str(path): "p.yaml"})
    exceptions = kept.policy.document["licenses"]["exceptions"]
    assert exceptions[0]["reason"] == FOUND.format("p.yaml:7")
    assert exceptions[0]["owner"] == FOUND.format("p.yaml:8")
    rewritten = kept.findings[2]
    assert secret not in rewritten.message and secret not in rewritten.sources[0].message
    assert rewritten.message == (f"accepted until later by {FOUND.format('p.yaml:8')}: "
                                 f"{FOUND.format('p.yaml:7')}")
    assert kept.findings[3] is unrelated  # `bobcat` is not `bob`
