"""No secret leaks (issue 8, part 4): a corpus with a fake credential of every kind
detect-secrets knows (its plugin registry is read at run time, so a plugin added by an
upgrade fails the test until it has an entry), private keys of every PEM flavour, JWTs,
passwords in URLs, high-entropy strings, `.env` assignments, card numbers, and
credentials written into inline suppression comments, in several file types; credentials
in URLs wherever a scanner echoes one (requirements, Dockerfile FROM/ADD/RUN, workflows,
lockfile URLs and versions, .npmrc) and hard-coded passwords holding quotes, backslashes
and newlines (bandit quotes them in its message); scanned by
the real gate with every report format, GitHub mode (annotations, job summary, step
outputs) and the terminal, then `explain` and `baseline create`. Every secret must be
found — else "nothing leaked" proves nothing — and no secret value, nor any run of 8 of
its characters, may appear on any channel. Values are built at run time from a seeded
generator and pieces, so this file holds none.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

from policy_gate.base.redact import redact_after, redact_message, redact_urls
from policy_gate.cli_output import FORMATS
from policy_gate.scanners.data_protection import PAN_KIND, luhn
from policy_gate.scanners.detect_secrets import rule_id as ds_rule_id
from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY
from tests.fake_pypi import FakePyPI
from tests.test_hostile_repos import (
    FullRun,
    assert_only_own_commands,
    assert_scanners_ran,
    build,
    gate_env,
    run_gate,
)

RNG = random.Random(0x5EC12E7)
ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
WINDOW = 8  # no run of this many characters of a secret may appear anywhere


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


@dataclass(frozen=True)
class Fake:
    """One fake credential: how it is written, and the part that must never be shown."""

    kind: str  # detect-secrets' secret_type, or data-protection's kind
    name: str  # the variable it is assigned to
    value: str  # what is written (one line, or a PEM block)
    secret: str  # the sensitive part of ``value``

    @property
    def pem(self) -> bool:
        return "\n" in self.value


def _b64url(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _pem(label: str, body_lines: int = 3) -> tuple[str, str]:
    body = "\n".join(rand(B64, 64) for _ in range(body_lines))
    dashes = "-" * 5
    return f"{dashes}BEGIN {label}{dashes}\n{body}\n{dashes}END {label}{dashes}\n", body


def _card() -> str:
    """A Luhn-valid Visa number that is no published test number."""
    while True:
        digits = "4" + rand(string.digits, 15)
        if luhn(digits) and len(set(digits)) > 5:
            return digits


def _same(kind: str, name: str, secret: str) -> Fake:
    return Fake(kind, name, secret, secret)


def corpus() -> list[Fake]:
    """A fake of every kind (a fresh draw from the seeded generator each call)."""
    RNG.seed(0x5EC12E7)
    jwt_tail = ".".join([_b64url({"sub": rand(ALNUM, 12), "name": "payer fsp",
                                  "iat": RNG.randrange(10**9, 2 * 10**9)}),
                         rand(URLSAFE, 43)])
    azure = rand(B64, 86) + "=="
    basic = rand(ALNUM, 18)
    npm = "npm_" + rand(ALNUM, 36)
    hook = "T" + rand(ALNUM, 10) + "/B" + rand(ALNUM, 10) + "/" + rand(ALNUM, 24)
    fakes = [
        _same("AWS Access Key", "aws_access_key",
              "AKIA" + rand(string.ascii_uppercase + "234567", 16)),
        _same("Artifactory Credentials", "artifactory_token", "AKC" + rand(ALNUM, 40)),
        Fake("Azure Storage Account access key", "azure_storage",
             f"DefaultEndpointsProtocol=https;AccountName=ledger;AccountKey={azure};"
             "EndpointSuffix=core.windows.net", azure),
        _same("Base64 High Entropy String", "signing_blob", rand(B64, 44)),
        Fake("Basic Auth Credentials", "database_url",
             f"postgres://central:{basic}@db.switch.internal:5432/ledger", basic),
        _same("Cloudant Credentials", "cloudant_password", rand(HEX, 64)),
        _same("Discord Bot Token", "discord_bot",
              "M" + rand(URLSAFE, 23) + "." + rand(URLSAFE, 6) + "." + rand(URLSAFE, 27)),
        _same("GitHub Token", "github_pat", "ghp_" + rand(ALNUM, 36)),
        _same("GitLab Token", "gitlab_pat", "glpat-" + rand(ALNUM, 20)),
        _same("Hex High Entropy String", "hmac_salt", rand(HEX, 40)),
        _same("IBM COS HMAC Credentials", "ibm_cos_hmac_secret_access_key", rand(HEX, 48)),
        _same("IBM Cloud IAM Key", "ibm_cloud_iam_api_key", rand(URLSAFE, 44)),
        Fake("JSON Web Token", "bearer",
             _b64url({"alg": "HS256", "typ": "JWT"}) + "." + jwt_tail, jwt_tail),
        _same("Mailchimp Access Key", "mailchimp", rand(LOWER_ALNUM, 32) + "-us12"),
        Fake("NPM tokens", "npmrc", f"//registry.npmjs.org/:_authToken={npm}", npm),
        _same("OpenAI Token", "openai",
              "sk-" + rand(ALNUM, 20) + "T3Blbk" + "FJ" + rand(ALNUM, 20)),
        _same("Public IP (ipv4)", "ledger_host",
              f"52.{RNG.randrange(1, 255)}.{RNG.randrange(1, 255)}.{RNG.randrange(1, 255)}"),
        _same("PyPI Token", "pypi", "pypi-AgEIcHlwaS5vcmc" + rand(URLSAFE, 80)),
        _same("Secret Keyword", "db_password", rand(ALNUM, 20)),
        _same("SendGrid API Key", "sendgrid",
              "SG." + rand(URLSAFE, 22) + "." + rand(URLSAFE, 43)),
        _same("Slack Token", "slack_bot", "xoxb-" + rand(string.digits, 12) + "-"
              + rand(string.digits, 13) + "-" + rand(LOWER_ALNUM, 24)),
        Fake("Slack Token", "slack_webhook", f"https://hooks.slack.com/services/{hook}", hook),
        _same("SoftLayer Credentials", "softlayer_api_key", rand(LOWER_ALNUM, 64)),
        _same("Square OAuth Secret", "square", "sq0csp-" + rand(URLSAFE, 43)),
        _same("Stripe Access Key", "stripe", "sk_live_" + rand(ALNUM, 24)),
        _same("Telegram Bot Token", "telegram",
              str(RNG.randrange(10**8, 10**9)) + ":" + rand(URLSAFE, 35)),
        _same("Twilio API Key", "twilio_account", "AC" + rand(LOWER_ALNUM, 32)),
        _same("Twilio API Key", "twilio_key", "SK" + rand(LOWER_ALNUM, 32)),
        _same(PAN_KIND, "card_number", _card()),
    ]
    for label, name in (("RSA PRIVATE KEY", "rsa_key"), ("EC PRIVATE KEY", "ec_key"),
                        ("OPENSSH PRIVATE KEY", "openssh_key"), ("DSA PRIVATE KEY", "dsa_key"),
                        ("PRIVATE KEY", "pkcs8_key"), ("PGP PRIVATE KEY BLOCK", "pgp_key")):
        block, body = _pem(label)
        fakes.append(Fake("Private Key", name, block, body))
    return fakes


# ------------------------------------------------------------------ the corpus files


@dataclass
class CorpusFile:
    """A file of the corpus as it is written, with the line each fake starts on."""

    lines: list[str] = field(default_factory=list)
    placed: dict[str, int] = field(default_factory=dict)  # Fake.name -> 1-based line

    def add(self, fake: Fake, text: str) -> None:
        before = text[: text.index(fake.value[:12])]
        self.placed[fake.name] = len(self.lines) + 1 + before.count("\n")
        self.lines.extend(text.rstrip("\n").split("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _indent(block: str, prefix: str) -> str:
    return "".join(prefix + line + "\n" for line in block.rstrip("\n").split("\n"))


# How each file type assigns a value (single-line, and a PEM block; None: no PEM there).
Writer = Callable[[Fake], str | None]
WRITERS: dict[str, Writer] = {
    "settings.py": lambda f: f'{f.name.upper()} = """\n{f.value}"""\n' if f.pem
    else f'{f.name.upper()} = "{f.value}"\n',
    "src/config.js": lambda f: f"const {f.name} = `\n{f.value}`;\n" if f.pem
    else f'const {f.name} = "{f.value}";\n',
    ".env": lambda f: None if f.pem else f"{f.name.upper()}={f.value}\n",
    "deploy/values.yaml": lambda f: f"{f.name}: |\n{_indent(f.value, '  ')}" if f.pem
    else f'{f.name}: "{f.value}"\n',
    "config/app.json": lambda f: f"  {json.dumps(f.name)}: {json.dumps(f.value)},\n",
    "docs/SETUP.md": lambda f: f"```\n{f.value}```\n" if f.pem
    else f"Set `{f.name.upper()}={f.value}` in the environment.\n",
    "conf/app.ini": lambda f: None if f.pem else f"{f.name} = {f.value}\n",
}


def corpus_files(fakes: Sequence[Fake]) -> dict[str, CorpusFile]:
    files: dict[str, CorpusFile] = {}
    for path, writer in WRITERS.items():
        out = files[path] = CorpusFile()
        if path.endswith(".json"):
            out.lines.append("{")
        elif path.endswith(".ini"):
            out.lines.append("[service]")
        for fake in fakes:
            text = writer(fake)
            if text is not None:
                out.add(fake, text)
        if path.endswith(".json"):
            out.lines.append('  "end": true')
            out.lines.append("}")
    for fake in fakes:  # each key alone in a file too, as keys are committed
        if fake.pem:
            out = files[f"keys/{fake.name}"] = CorpusFile()
            out.add(fake, fake.value)
    # lockfiles carry registry credentials in their URLs
    by_name = {f.name: f for f in fakes}
    lock = files["package-lock.json"] = CorpusFile()
    url = f"https://central:{by_name['database_url'].secret}@registry.switch.internal"
    lock.lines = [
        "{", '  "name": "svc",', '  "version": "1.0.0",', '  "lockfileVersion": 3,',
        '  "requires": true,', '  "packages": {',
        '    "": {"name": "svc", "version": "1.0.0", "dependencies": {"left-pad": "1.3.0"}},',
        '    "node_modules/left-pad": {', '      "version": "1.3.0",',
        f'      "resolved": "{url}/left-pad/-/left-pad-1.3.0.tgz",', '      "license": "MIT"',
        "    }", "  }", "}",
    ]
    lock.placed["database_url"] = 10
    npmrc = files[".npmrc"] = CorpusFile()
    npmrc.add(by_name["npmrc"], by_name["npmrc"].value + "\n")
    # the suppression comments meant to silence a secret quote another one
    comments = files["inline_comments.py"] = CorpusFile()
    comments.add(by_name["github_pat"],
                 f"import os\nos.system(input())  # nosec B605 - {by_name['github_pat'].value}\n")
    comments.add(by_name["stripe"],
                 f"token = 1  # pragma: allowlist secret {by_name['stripe'].value}\n")
    comments.add(by_name["card_number"],
                 f"card = 0  # nosec B105 - old card {by_name['card_number'].value}\n")
    js = files["src/inline.js"] = CorpusFile()
    js.add(by_name["slack_bot"],
           f"eval(userInput); // nosemgrep: js-eval-non-literal - {by_name['slack_bot'].value}\n")
    return files


# ------------------------------------------------- credentials in URLs, quoted passwords

URL_RNG = random.Random(0x0A11CE)  # its own generator: the corpus above stays as it is


def tok(n: int = 24, alphabet: str = ALNUM) -> str:
    return "".join(URL_RNG.choice(alphabet) for _ in range(n))


@dataclass
class UrlCorpus:
    """Files whose findings quote the line a credential is on, the credentials, and the
    findings (path, rule) that must exist: each echoes its line, masked."""

    fakes: list[Fake]
    files: dict[str, str]
    expected: set[tuple[str, str]]


def url_corpus() -> UrlCorpus:
    URL_RNG.seed(0x0A11CE)
    fakes: list[Fake] = []

    def secret(name: str, value: str | None = None) -> str:
        value = value if value is not None else tok()
        fakes.append(Fake("URL credential", name, value, value))
        return value

    sha = tok(40, HEX)
    digest = "sha256:" + tok(64, HEX)
    requirements = (
        f"privpkg @ https://pkgs.switch.internal/privpkg-1.0-py3-none-any.whl"
        f"?private_token={secret('req_query')}\n"
        f"signed @ https://blob.switch.internal/signed-2.0.tar.gz?sv=2022-11-02"
        f"&sig={secret('req_sig')}&se=2030-01-01\n"
        f"vcspkg @ git+https://deploy:{secret('req_userinfo')}@git.switch.internal/t/v.git@v1\n"
        f"-e git+https://{secret('req_user_token')}@github.com/acme/editable.git#egg=editable\n"
        f"https://ci:{secret('req_bare_url', tok(12) + '/' + tok(12))}"
        "@files.switch.internal/tool-1.0.tar.gz\n"
        "quoted @ https://h.switch.internal/q-1.0.whl"
        f"?token={secret('req_quote', tok(12) + chr(39) + tok(12))}\n"
    )
    pyproject = (
        '[project]\nname = "svc"\nversion = "1.0.0"\ndependencies = [\n'
        f'  "pep621 @ https://pkgs.switch.internal/p-1.0.whl?access_token={secret("pep621")}",\n]\n'
    )
    dockerfile = (
        f"FROM https://ci:{secret('from_url')}@registry.switch.internal/base:1.0.0 AS fetch\n"
        f"FROM ci:{secret('from_ref')}@registry.switch.internal/base:1.0.0 AS fetch2\n"
        f"FROM node:18.17.1-alpine@{digest}\n"
        f"ADD https://build:{secret('add_userinfo')}@artifacts.switch.internal/t.tgz /opt/\n"
        f"ADD https://artifacts.switch.internal/t2.tgz?token={secret('add_query')} /opt/\n"
        f'RUN curl -fsSL "https://artifacts.switch.internal/s.sh?access_token='
        f'{secret("run_curl")}" | sh && apt-get -o '
        f"Acquire::http::Proxy=http://proxy:{secret('run_proxy')}@proxy.switch.internal:3128"
        " upgrade -y\nUSER 1000\n"
    )
    workflow = (
        "name: ci\non: [push]\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
        "    container:\n      image: registry.switch.internal/ci:1.0\n"
        f"      credentials:\n        username: ci\n        password: {secret('wf_container')}\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
        f'      - run: curl -fsSL "https://a.switch.internal/i.sh?token={secret("wf_run")}" | sh\n'
        "        env:\n"
        f"          PIP_INDEX_URL: https://ci:{secret('wf_env')}@pypi.switch.internal/simple\n"
    )
    lock_v3 = json.dumps({
        "name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {
            "": {"name": "web", "version": "1.0.0",
                 "dependencies": {"left-pad": "1.3.0", "private": "github:acme/private"}},
            "node_modules/left-pad": {
                "version": "1.3.0", "license": "MIT",
                "resolved": "https://registry.switch.internal/left-pad/-/left-pad-1.3.0.tgz"
                            f"?token={secret('lock_query')}"},
            "node_modules/private": {
                "version": "1.0.0", "license": "MIT",
                "resolved": f"git+https://{secret('lock_git')}:x-oauth-basic@github.com/"
                            f"acme/private.git#{sha}"},
        },
    }, indent=2) + "\n"
    lock_v1 = json.dumps({
        "name": "legacy", "version": "1.0.0", "lockfileVersion": 1, "requires": True,
        "dependencies": {
            "private": {"version": f"git+https://{secret('lock_v1_version')}:x-oauth-basic"
                                   f"@github.com/acme/private.git#{sha}",
                        "from": "git+https://github.com/acme/private.git#main"},
            "minimist": {"version": "1.2.5",
                         "resolved": "https://registry.switch.internal/minimist-1.2.5.tgz"
                                     f"?sig={secret('lock_v1_query')}",
                         "integrity": "sha512-" + tok(86, B64) + "=="},
        },
    }, indent=2) + "\n"
    npmrc = (
        f"registry=https://ci:{secret('npmrc_registry')}@npm.switch.internal/\n"
        f"//npm.switch.internal/:_authToken={secret('npmrc_token')}\nalways-auth=true\n"
    )
    # bandit's B105/B106/B107 quote the value: with a quote, a backslash, a newline in it
    apostrophe = secret("pw_apostrophe", tok(12) + "'" + tok(12))
    double = secret("pw_double", tok(12) + '"' + tok(12))
    backslash = secret("pw_backslash", tok(12) + "\\" + tok(12))
    newline = secret("pw_newline", tok(12) + "\n" + tok(12))
    mixed = secret("pw_mixed", tok(12) + "'\n\"\\" + tok(12))
    passwords = (
        f"DB_PASSWORD = {apostrophe!r}\n"
        f"\n\ndef connect(host, password={double!r}):\n    return host, password\n"
        f"\n\nconnect('db', password={backslash!r})\n"
        f"API_PASSWORD = {newline!r}\n"
        f"ADMIN_PASSWORD = {mixed!r}\n"
    )
    files = {
        "svc/requirements.txt": requirements, "svc/pyproject.toml": pyproject,
        "svc/Dockerfile": dockerfile, ".github/workflows/ci.yml": workflow,
        "web/package-lock.json": lock_v3, "legacy/package-lock.json": lock_v1,
        "web/.npmrc": npmrc, "svc/passwords.py": passwords,
    }
    expected = {
        ("svc/requirements.txt", "unpinned-requirement"),
        ("svc/pyproject.toml", "unpinned-requirement"),
        ("svc/Dockerfile", "unpinned-base-image"), ("svc/Dockerfile", "add-instead-of-copy"),
        ("svc/Dockerfile", "package-upgrade"),
        (".github/workflows/ci.yml", "hardcoded-container-credentials"),
        ("svc/passwords.py", "B105"), ("svc/passwords.py", "B106"),
        ("svc/passwords.py", "B107"),
    }
    return UrlCorpus(fakes, files, expected)


# ---------------------------------------------------------------------- the channels


def windows(secret: str) -> Iterator[str]:
    """Every run of WINDOW characters of a secret (the whole of a shorter one)."""
    if len(secret) <= WINDOW:
        yield secret
        return
    for i in range(len(secret) - WINDOW + 1):
        yield secret[i : i + WINDOW]


def leaks(channels: dict[str, str], fakes: Sequence[Fake]) -> list[str]:
    """Where any secret, or any run of WINDOW of its characters, appears."""
    owner: dict[str, Fake] = {}
    for fake in fakes:
        for part in fake.secret.split("\n"):
            for w in windows(part):
                owner.setdefault(w, fake)
    found = []
    for channel, text in channels.items():
        for i in range(len(text) - WINDOW + 1):
            fake = owner.get(text[i : i + WINDOW])
            if fake is not None:
                found.append(f"{channel}: {fake.kind} ({fake.name}) at {i}: "
                             f"{text[max(0, i - 40) : i + 40]!r}")
        for fake in fakes:
            if len(fake.secret) < WINDOW and fake.secret in text:
                found.append(f"{channel}: {fake.kind} ({fake.name})")
    return found


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy_gate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


@dataclass
class Scanned:
    """The corpus scanned once, and every channel of every command run on it."""

    fakes: list[Fake]
    files: dict[str, CorpusFile]
    urls: UrlCorpus
    run: FullRun
    channels: dict[str, str]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, _pypi_server: FakePyPI) -> Scanned:
    tmp = tmp_path_factory.mktemp("no-leaks")
    fakes = corpus()
    files = corpus_files(fakes)
    urls = url_corpus()
    root = build(tmp / "repo", {**{path: f.text for path, f in files.items()}, **urls.files})
    pypi = {"POLICY_GATE_PYPI_URL": _pypi_server.url}  # (a module fixture: set it here)
    # both secret engines: the Mojaloop policy's kingfisher, and detect-secrets, whose
    # plugin registry the corpus covers
    both = tmp / "both-engines.yaml"
    both.write_text(f"version: 1\nextends: {OFFLINE_POLICY}\nname: no-leaks\n"
                    "scanners:\n  detect-secrets: {enabled: true}\n")
    run = run_gate(root, tmp / "scan", "--policy", str(both), env=pypi)
    channels = {f"scan {name}": text for name, text in run.texts().items()}

    common = ["--policy", str(both), "--advisories", str(EXAMPLE_ADVISORIES)]
    env = gate_env(tmp, github_mode=False, extra=pypi)
    aws = next(f for f in run.findings(path="settings.py", category="secret")
               if f["secret"]["kind"] == "AWS Access Key")
    report = tmp / "scan" / "report.json"
    for label, argv in {
        "explain (scan)": ["explain", aws["fingerprint"], str(root), *common],
        "explain (report)": ["explain", aws["fingerprint"], "--report", str(report)],
    }.items():
        done = cli(*argv, env=env)
        assert done.returncode == 0, (label, done.stderr)
        assert "AWS Access Key" in done.stdout, done.stdout
        channels[f"{label} stdout"] = done.stdout
        channels[f"{label} stderr"] = done.stderr
    baseline = tmp / "baseline.json"
    done = cli("baseline", "create", str(root), "--output", str(baseline), *common, env=env)
    assert done.returncode == 0, done.stderr
    channels.update({"baseline stdout": done.stdout, "baseline stderr": done.stderr,
                     "baseline file": baseline.read_text("utf-8")})
    return Scanned(fakes, files, urls, run, channels)


def test_every_detect_secrets_plugin_has_a_fake() -> None:
    """detect-secrets' own registry, read now: a plugin an upgrade adds needs an entry."""
    kinds = {f.kind for f in corpus()}
    plugins = set(get_mapping_from_secret_type_to_class())
    assert plugins - kinds == set(), "plugins without a fake in the corpus"
    assert kinds - plugins == {PAN_KIND}


# Kinds detect-secrets matches but then always drops, with why.
UNREPORTED = {
    "Public IP (ipv4)": "its default filter is_not_alphanumeric_string drops every value "
                        "without a letter, so no IPv4 address is ever reported",
}


def test_every_fake_is_found(scanned: Scanned) -> None:
    """Where it was written, as what it is: else "nothing leaked" would prove nothing."""
    run = scanned.run
    assert run.code == 1
    assert_scanners_ran(run)
    found = {(f["path"], f["start_line"], f["secret"]["kind"])
             for f in run.report["findings"] if f["secret"]}
    # a result merged into a finding another engine leads is found all the same
    found |= {(f["path"], f["start_line"], s["rule_id"]) for f in run.report["findings"]
              if f["secret"] for s in f["sources"] if s["scanner"] == "detect-secrets"}
    missing = []
    for fake in (f for f in scanned.fakes if f.kind not in UNREPORTED):
        places = [(path, f.placed[fake.name]) for path, f in scanned.files.items()
                  if fake.name in f.placed]
        kinds = (fake.kind, ds_rule_id(fake.kind))
        if not any((path, line, kind) in found for path, line in places for kind in kinds):
            missing.append((fake.kind, fake.name, places))
    assert missing == []
    unreported = {*UNREPORTED, *map(ds_rule_id, UNREPORTED)}
    assert not {kind for _, _, kind in found} & unreported, "move it out of UNREPORTED"
    # kingfisher read the same corpus, and its findings are on every channel checked below
    assert [f for f in run.report["findings"] if "kingfisher" in f["scanners"]]
    # every file type read
    assert {path for path, _, _ in found if path not in scanned.urls.files} == set(scanned.files)


def test_no_secret_on_any_channel(scanned: Scanned) -> None:
    channels = scanned.channels
    # OpenVEX: no file, as no dependency advisory is waived (nothing to state)
    reports = {f"scan report.{fmt}" for fmt in FORMATS if fmt != "openvex"}
    reports |= {"scan report.compliance.html"}
    assert reports | {"scan stdout", "scan stderr", "scan step-summary.md",
                      "scan step-outputs.txt", "explain (scan) stdout",
                      "explain (report) stdout", "baseline file"} <= set(channels)
    # as many errors as GitHub shows in a step (and the warnings of below-threshold ones)
    assert [a.name for a in scanned.run.annotations()].count("error") == 10
    assert leaks(channels, [*scanned.fakes, *scanned.urls.fakes]) == []
    assert_only_own_commands(scanned.run)


def test_every_url_and_password_finding_is_reported_masked(scanned: Scanned) -> None:
    """The findings that quote a credential's line exist (else no leak proves nothing),
    and show the masked form."""
    findings = scanned.run.report["findings"]
    sources = [(f["path"], s) for f in findings for s in f["sources"]]
    assert scanned.urls.expected <= {(path, s["rule_id"]) for path, s in sources}
    texts = [json.dumps(f) for f in findings if f["path"] in scanned.urls.files]
    assert any(re.search(r"private_token=..\*{20}..", t) for t in texts)
    assert any("deploy:" not in t and "@git.switch.internal" in t for t in texts)
    # bandit's message keeps its wording; the whole value after it is one masked preview
    passwords = [s["message"] for path, s in sources
                 if path == "svc/passwords.py" and s["scanner"] == "bandit"]
    assert len(passwords) == 5, passwords
    assert all(re.fullmatch(r"Possible hardcoded password: '..\*+..'", m) for m in passwords)


def test_the_leak_check_sees_a_leak() -> None:
    """The check itself: a value, or 8 of its characters anywhere, is caught."""
    fake = next(f for f in corpus() if f.kind == "GitHub Token")
    assert leaks({"x": f"token {fake.value} here"}, [fake])
    assert leaks({"x": "..." + fake.secret[10:18] + "..."}, [fake])
    assert not leaks({"x": "..." + fake.secret[10:17] + "..."}, [fake])


# ------------------------------------------------------------- the masking, case by case


def test_url_credentials_are_masked_and_the_rest_stays_readable() -> None:
    token = tok(24)
    cases = {
        f"pkg @ https://h.example/p.whl?private_token={token}&x=1":
            "pkg @ https://h.example/p.whl?private_token=",
        f"git+https://deploy:{token}@git.example/t/v.git@v1#egg=v":
            "@git.example/t/v.git@v1#egg=v",
        f"git+https://{token}@github.com/o/r": "@github.com/o/r",
        f"https://u:{token[:12]}/{token[12:]}@h.example/x": "@h.example/x",  # "/" in it
        f"'https://h.example/q?sig={token[:12]}'{token[12:]}' has a direct URL":
            " has a direct URL",
        f"https://h.example/x#access_token={token}": "https://h.example/x#access_token=",
        f"https://h.example/x?{token}": "https://h.example/x?",
    }
    for text, kept in cases.items():
        masked = redact_urls(text)
        assert kept in masked and not leaks({"x": masked}, [Fake("t", "t", token, token)])
    # public parts are left alone: hosts, ports, scoped npm paths, pip's hashes, refs
    for text in ("http://localhost:4873/@babel/core/-/core-7.22.0.tgz",
                 "https://registry.npmjs.org/x/-/x-1.0.0.tgz#sha512=abc",
                 "https://docs.docker.com/build/building/best-practices/#user",
                 "no URL at all: user:pass@host"):
        assert redact_urls(text) == text


def test_a_quoted_value_is_masked_whole_whatever_it_holds() -> None:
    secret = tok(12) + "'\n\"\\" + tok(12)
    fake = Fake("t", "t", secret, secret)
    bandit = f"Possible hardcoded password: '{secret}'"
    masked = redact_after(bandit, "password: ")
    assert masked.startswith("Possible hardcoded password: '") and not leaks({"x": masked}, [fake])
    assert not leaks({"x": redact_message(bandit)}, [fake])
    assert not leaks({"x": redact_after(f"other wording '{secret}'", "password: ")}, [fake])
    assert redact_message("no quotes") == "no quotes"
    assert redact_message("'unclosed" + secret[:4]) == "'unclosed" + secret[:4]
