"""Issue 16: two secret engines that agree are one finding.

With detect-secrets enabled beside kingfisher (tests/policies/with-detect-secrets.yaml), a
credential both find on one line must be one finding with both as sources: findings merge
by ``secret:<sha1 of the value>``, so both adapters must hash the same value, the whole
credential as kingfisher reports it. detect-secrets 1.5 hashes less for several plugins
(a regex group: "ghp", "glpat", "AccountKey=…"; a regex that stops short: a Stripe key's
first 24 characters, a JWT without its signature), and reports a YAML block scalar's
value at its key's line; policy_gate/scanners/detect_secrets.py recovers the credential.
Two different secrets on one line stay two findings.

Real detect-secrets and real kingfisher, on fixtures generated here from a seeded RNG
(tests/secret_corpus.py's generators) and on the labelled corpus; no value is printed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from policy_gate.base.redact import sha1_hex
from policy_gate.scanners.detect_secrets import credential, locate, unglued
from tests.conftest import WITH_DETECT_SECRETS, GateRun
from tests.secret_corpus import (
    ALNUM,
    B64,
    EC_DER,
    FORMAT_BY_ID,
    PRIV,
    RSA_DER,
    URL_PASSWORD,
    URLSAFE,
    Sample,
    crc_token,
    jwt,
    p,
    pem,
    positives,
    shaped,
    write_corpus,
)
from tests.test_kingfisher import channels, leaks

ENGINES = ("--policy", str(WITH_DETECT_SECRETS), "--scanner", "kingfisher",
           "--scanner", "detect-secrets")
BOTH = ["detect-secrets", "kingfisher"]
LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def fmt(format_id: str) -> Callable[[random.Random], str]:
    return FORMAT_BY_ID[format_id].make


def header(value: str) -> str:
    """What a PEM key is identified by (both engines): its BEGIN line without dashes."""
    return value.split("\n", 1)[0].strip("-")


class Case(NamedTuple):
    """One credential in one file: ``text`` holds ``{v}`` where the value goes (a YAML
    block indents each of its lines); ``line`` is the line it starts on."""

    name: str
    path: str
    text: str
    make: Callable[[random.Random], str]
    line: int = 1
    apart: str = ""  # why the engines still disagree (an expected failure), if they do


# One case per detect-secrets plugin both engines report, and each of its shapes whose
# hashed value differs from the credential (placed where detect-secrets reads it: a call
# argument is dropped by its indirect-reference filter).
CASES = (
    Case("github-pat", "a.py", 'GITHUB_TOKEN = "{v}"\n', crc_token(p("gh", "p_"))),
    Case("github-oauth", "b.js", "const accessToken = '{v}'\n", crc_token(p("gh", "o_"))),
    Case("github-app", "c.yaml", 'token: "{v}"\n', crc_token(p("gh", "s_"))),
    Case("github-user", "d.sh", "export GH_TOKEN={v}\n", crc_token(p("gh", "u_"))),
    Case("github-refresh", "e.go", 'const refreshToken = "{v}"\n', crc_token(p("gh", "r_"))),
    Case("gitlab-pat", "f.py", 'GITLAB_TOKEN = "{v}"\n', fmt("gitlab-pat")),
    # the plugin hashes the "ab_" group, and detect-secrets drops a value without a letter
    Case("gitlab-ci-build", "g.sh", 'export CI_JOB_TOKEN="{v}"\n',
         shaped(p("gl", "cbt-"), ("abcdef", 2), "_", (URLSAFE, 20))),
    Case("stripe-secret", "h.js", "const stripe = new Stripe('{v}')\n",
         fmt("stripe-live-secret-key")),
    Case("stripe-restricted", "i.ini", "[stripe]\napi_key = {v}\n", fmt("stripe-restricted-key"),
         line=2),
    Case("stripe-short", "j.py", 'STRIPE_SECRET_KEY = "{v}"\n',
         shaped(p("sk", "_live_"), (ALNUM, 24))),
    Case("openai-project", "k.py", 'OPENAI_API_KEY = "{v}"\n', fmt("openai-api-key")),
    Case("openai-legacy", "l.py", 'OPENAI_API_KEY = "{v}"\n',
         shaped(p("sk", "-"), (ALNUM, 20), p("T3Blbk", "FJ"), (ALNUM, 20))),
    Case("discord", "m.js", "exports.token = '{v}'\n", fmt("discord-bot-token")),
    Case("discord-27", "n.js", "exports.token = '{v}'\n",
         shaped("MT", (ALNUM, 24), ".", (URLSAFE, 6), ".", (URLSAFE, 27))),
    Case("jwt", "o.ts", 'export const authToken: string = "{v}";\n', jwt),
    Case("azure-storage", "p.py",
         'CONN = "DefaultEndpointsProtocol=https;AccountName=ledger;AccountKey={v};'
         'EndpointSuffix=core.windows.net"\n', shaped((B64, 86), "==")),
    Case("artifactory-token", "q.env", "ARTIFACTORY_API_KEY={v}\n", shaped("AKCp", (ALNUM, 69))),
    Case("artifactory-password", "r.py", 'artifactory_password = "{v}"\n',
         shaped("AP6", (ALNUM, 30))),
    Case("npm", "s/.npmrc", "//registry.npmjs.org/:_authToken={v}\n", fmt("npm-token")),
    # the base64 plugin takes "_authToken=<token>" as one string
    Case("npmrc-entropy", "t/.npmrc", "//npm.pkg.github.com/:_authToken={v}\n",
         fmt("npmrc-auth-token")),
    Case("aws-access-key-id", "u.py", 'aws_access_key_id = "{v}"\n', fmt("aws-access-key-id")),
    Case("slack-bot", "v.js", "const web = new WebClient('{v}')\n", fmt("slack-bot-token")),
    Case("slack-webhook", "w.sh", 'export SLACK_WEBHOOK_URL="{v}"\n', fmt("slack-webhook-url")),
    Case("sendgrid", "x.py", 'SENDGRID_API_KEY = "{v}"\n', fmt("sendgrid-api-key")),
    Case("twilio", "y.env", "TWILIO_API_KEY={v}\n", fmt("twilio-api-key")),
    Case("pypi", "z/.pypirc", "[pypi]\nusername = __token__\npassword = {v}\n", fmt("pypi-token"),
         line=3),
    Case("telegram", "aa.py", 'TELEGRAM_BOT_TOKEN = "{v}"\n', fmt("telegram-bot-token")),
    Case("mailchimp", "ab.py", 'MAILCHIMP_API_KEY = "{v}"\n',
         shaped((LOWER_ALNUM, 32), "-us12")),
    Case("square", "ac.py", 'SQUARE_OAUTH_SECRET = "{v}"\n',
         shaped(p("sq0", "csp-"), (URLSAFE, 43))),
    Case("url-password", "ad.py",
         'DATABASE_URL = "postgres://ledger:{v}@db.internal:5432/ledger"\n',
         shaped((URL_PASSWORD, 22))),
    Case("mongodb-srv-password", "ae.js",
         "const c = new MongoClient('mongodb+srv://cep:{v}@cluster0.x.mongodb.net/ml')\n",
         shaped((URL_PASSWORD, 22))),
    Case("rsa-key", "af/server.key", "{v}\n", pem("RSA " + PRIV, RSA_DER, 1180)),
    # detect-secrets reports a block scalar at its key's line, kingfisher at BEGIN
    Case("ec-key-in-yaml-block", "ag/secret.yaml", "data:\n  private_key: |\n    {v}\n",
         pem("EC " + PRIV, EC_DER, 110), line=3),
    Case("keyword", "ah.py", 'db_password = "{v}"\n', shaped((ALNUM, 20))),
    Case("base64-entropy", "ai.py", 'API_SECRET = "{v}"\n', shaped((B64, 43), "=")),
)


class Pair(NamedTuple):
    """Two different credentials on one line (``{a}`` and ``{b}``): two findings."""

    name: str
    path: str
    text: str
    make_a: Callable[[random.Random], str]
    make_b: Callable[[random.Random], str]


PAIRS = (
    Pair("two-github-tokens", "pairs/a.py", 'TOKENS = ["{a}", "{b}"]\n',
         crc_token(p("gh", "p_")), crc_token(p("gh", "p_"))),
    Pair("aws-id-and-secret", "pairs/b.py",
         'aws_access_key_id = "{a}"; aws_secret_access_key = "{b}"\n',
         fmt("aws-access-key-id"), fmt("aws-secret-access-key")),
    Pair("two-stripe-keys", "pairs/c.js", "const keys = ['{a}', '{b}']\n",
         fmt("stripe-live-secret-key"), fmt("stripe-restricted-key")),
    Pair("url-password-and-token", "pairs/d.sh",
         'export REMOTE="https://deploy:{a}@git.internal/x.git" GITHUB_TOKEN="{b}"\n',
         shaped((URL_PASSWORD, 22)), crc_token(p("gh", "p_"))),
    Pair("two-jwts", "pairs/e.ts", 'export const tokens = ["{a}", "{b}"];\n', jwt, jwt),
)


@dataclass(frozen=True)
class Placed:
    path: str
    line: int
    value: str  # the credential (never shown)
    ident: str  # what both engines identify it by: sha1 of the value, of a key's header


def identity(value: str) -> str:
    return "sha1:" + sha1_hex(header(value) if value.startswith("-----BEGIN") else value)


def fixtures() -> tuple[dict[str, str], dict[str, Placed], dict[str, tuple[Placed, Placed]]]:
    """The files, each case's credential and each pair's two, from a seeded RNG."""
    rng = random.Random(1616)
    files: dict[str, str] = {}
    cases: dict[str, Placed] = {}
    for case in CASES:
        value = case.make(rng)
        indent = "\n    " if case.path.endswith(".yaml") else "\n"
        files[case.path] = case.text.replace("{v}", value.replace("\n", indent))
        cases[case.name] = Placed(case.path, case.line, value, identity(value))
    pairs: dict[str, tuple[Placed, Placed]] = {}
    for pair in PAIRS:
        a, b = pair.make_a(rng), pair.make_b(rng)
        assert a != b
        files[pair.path] = pair.text.replace("{a}", a).replace("{b}", b)
        pairs[pair.name] = (Placed(pair.path, 1, a, identity(a)),
                            Placed(pair.path, 1, b, identity(b)))
    return files, cases, pairs


FILES, PLACED, PLACED_PAIRS = fixtures()
_RUNS: dict[str, GateRun] = {}


def run_once(key: str, gate: Callable[..., GateRun], root: Callable[[], Path]) -> GateRun:
    """One real gate run per module and tree (the first test that asks makes it)."""
    if key not in _RUNS:
        _RUNS[key] = gate(root(), *ENGINES, timeout=900)
    return _RUNS[key]


@pytest.fixture
def fixture_run(gate: Callable[..., GateRun], tmp_path_factory: pytest.TempPathFactory
                ) -> GateRun:
    def tree() -> Path:
        root = tmp_path_factory.mktemp("engines-agree") / "repo"
        for rel, text in FILES.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        return root

    run = run_once("fixtures", gate, tree)
    assert run.report is not None and run.code == 1, run.output
    return run


def secrets_on(run: GateRun, path: str, line: int) -> list[dict[str, Any]]:
    assert run.report is not None
    return [f for f in run.report["findings"]
            if f["category"] == "secret" and f["path"] == path and f["start_line"] == line]


def summary(findings: list[dict[str, Any]]) -> list[str]:
    """What a failure shows: engines and rules, never a value (hashes are not shown)."""
    return [f"{f['start_line']} {'+'.join(sorted(set(f['scanners'])))}: "
            f"{[s['rule_id'] for s in f['sources']]}" for f in findings]


# ------------------------------------------------------------------ one credential, one finding


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.name, marks=[pytest.mark.xfail(reason=c.apart, strict=True)]
                 if c.apart else []) for c in CASES])
def test_both_engines_finding_a_credential_is_one_finding(case: Case, fixture_run: GateRun
                                                          ) -> None:
    """The credential's line holds exactly one finding: both engines' sources, identified
    by the whole credential (a key by its header), a violation."""
    placed = PLACED[case.name]
    found = secrets_on(fixture_run, placed.path, placed.line)
    ours = [f for f in found if f["secret"]["hash"] == placed.ident]
    assert [sorted(set(f["scanners"])) for f in ours] == [BOTH], summary(found)
    assert [f for f in found if "detect-secrets" in f["scanners"] and f not in ours] == [], (
        summary(found))
    assert ours[0]["status"] == "violation", summary(found)


def test_two_secrets_on_one_line_stay_two(fixture_run: GateRun) -> None:
    """Different values on one line are different findings, each found by kingfisher;
    detect-secrets' result joins the one it names (one GitHub Token result per line:
    detect-secrets reports a hashed value once)."""
    for name, (a, b) in PLACED_PAIRS.items():
        found = secrets_on(fixture_run, a.path, a.line)
        by_hash = {f["secret"]["hash"]: f for f in found}
        assert {a.ident, b.ident} <= set(by_hash), (name, summary(found))
        assert len([f for f in found if f["secret"]["hash"] in (a.ident, b.ident)]) == 2, (
            name, summary(found))
        for placed in (a, b):
            assert "kingfisher" in by_hash[placed.ident]["scanners"], (name, summary(found))
        assert any(set(by_hash[x.ident]["scanners"]) == set(BOTH) for x in (a, b)), (
            name, summary(found))


def test_nothing_is_lost_and_nothing_shown(fixture_run: GateRun) -> None:
    """Merging folds sources, it drops none; no credential is in any output."""
    assert fixture_run.report is not None
    for entry in fixture_run.report["scanners"]:
        if entry["name"] in BOTH:
            assert entry["status"] == "ok", entry
            assert entry["raw_results"] == entry["results_in_report"], entry
    values = [x.value for x in PLACED.values()]
    values += [x.value for pair in PLACED_PAIRS.values() for x in pair]
    # a webhook URL's secret is its path ("https://" is in every report)
    values = [v.split("/services/")[-1] for v in values]
    assert leaks(channels(fixture_run), values) == []


# ------------------------------------------------------------------------ the labelled corpus

POSITIVES = positives()


@pytest.fixture
def corpus_run(gate: Callable[..., GateRun], tmp_path_factory: pytest.TempPathFactory
               ) -> GateRun:
    def tree() -> Path:
        return write_corpus(tmp_path_factory.mktemp("agree-corpus") / "repo", POSITIVES)

    run = run_once("corpus", gate, tree)
    assert run.report is not None and run.code == 1, run.output
    return run


@pytest.mark.parametrize("sample", [
    pytest.param(s, id=s.id) for s in POSITIVES])
def test_the_corpus_engines_agree(sample: Sample, corpus_run: GateRun) -> None:
    """Where both engines report on a positive's line, what detect-secrets found is in a
    finding kingfisher found too: no detect-secrets-only finding beside a kingfisher one.
    (A line only one engine reports is that engine's recall, tested elsewhere.)"""
    found = secrets_on(corpus_run, sample.path, sample.line)
    if not both_report(found):
        return
    alone = [f for f in found if set(f["scanners"]) == {"detect-secrets"}]
    assert alone == [], summary(found)
    assert any(set(f["scanners"]) == set(BOTH) for f in found), summary(found)


def test_the_corpus_has_lines_both_engines_report(corpus_run: GateRun) -> None:
    """The test above is not vacuous: most positives are reported by both engines (141
    of 180 with detect-secrets 1.5 and kingfisher 2.14)."""
    both = [s for s in POSITIVES if both_report(secrets_on(corpus_run, s.path, s.line))]
    assert len(both) >= 120, len(both)


def both_report(found: list[dict[str, Any]]) -> bool:
    return (any("kingfisher" in f["scanners"] for f in found)
            and any("detect-secrets" in f["scanners"] for f in found))


# ------------------------------------------------------------------------------ the adapter


def test_a_glued_name_is_not_part_of_an_entropy_value() -> None:
    """Base64's "=" is padding, at the end only: an "=" followed by more ends a name."""
    token = shaped((ALNUM, 40))(random.Random(3))
    assert unglued(f"_authToken={token}") == token
    assert unglued(f"key={token}==") == token + "=="
    assert unglued(token + "==") == token + "=="
    assert unglued("=" + token) == "=" + token  # nothing named: the value as it is


def test_the_credential_is_recovered_from_what_detect_secrets_hashed() -> None:
    """Each plugin's hashed part leads to the whole credential; a hash of something else
    on the line finds nothing; a block scalar's value is found below its key, and only
    inside the block."""
    rng = random.Random(5)
    token = crc_token(p("gh", "p_"))(rng)
    line = f'GITHUB_TOKEN = "{token}"'
    assert credential("GitHub Token", line, sha1_hex(token[:3])) == token
    assert credential("GitHub Token", line, sha1_hex("other")) is None
    key = pem("RSA " + PRIV, RSA_DER, 300)(rng).split("\n")
    block = ["data:", "  tls_key: |", "", *(f"    {x}" for x in key), "other: 1"]
    hashed = sha1_hex(header("\n".join(key)))
    assert locate("Private Key", hashed, block, 2) == (4, header("\n".join(key)))
    # only the block's first line: a value is not looked for further down, or outside it
    assert locate("Private Key", hashed, ["a: |", "  x", *key], 1) == (1, None)
    assert locate("Private Key", hashed, ["data:", "  a: |", "b: |", *key], 2) == (2, None)
