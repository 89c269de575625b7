"""No secret leaks (issue 8, part 4): a corpus with a fake credential of every kind
detect-secrets knows (its plugin registry is read at run time, so a plugin added by an
upgrade fails the test until it has an entry), private keys of every PEM flavour, JWTs,
passwords in URLs, high-entropy strings, `.env` assignments, card numbers, and
credentials written into inline suppression comments, in several file types; scanned by
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
import string
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

from policy_gate.cli import FORMATS
from policy_gate.scanners.data_protection import PAN_KIND, luhn
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
    run: FullRun
    channels: dict[str, str]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, _pypi_server: FakePyPI) -> Scanned:
    tmp = tmp_path_factory.mktemp("no-leaks")
    fakes = corpus()
    files = corpus_files(fakes)
    root = build(tmp / "repo", {path: f.text for path, f in files.items()})
    pypi = {"POLICY_GATE_PYPI_URL": _pypi_server.url}  # (a module fixture: set it here)
    run = run_gate(root, tmp / "scan", env=pypi)
    channels = {f"scan {name}": text for name, text in run.texts().items()}

    common = ["--policy", str(OFFLINE_POLICY), "--advisories", str(EXAMPLE_ADVISORIES)]
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
    return Scanned(fakes, files, run, channels)


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
    missing = []
    for fake in (f for f in scanned.fakes if f.kind not in UNREPORTED):
        places = [(path, f.placed[fake.name]) for path, f in scanned.files.items()
                  if fake.name in f.placed]
        if not any((path, line, fake.kind) in found for path, line in places):
            missing.append((fake.kind, fake.name, places))
    assert missing == []
    assert not {kind for _, _, kind in found} & set(UNREPORTED), "move it out of UNREPORTED"
    assert {path for path, _, _ in found} == set(scanned.files)  # every file type read


def test_no_secret_on_any_channel(scanned: Scanned) -> None:
    channels = scanned.channels
    reports = {f"scan report.{fmt}" for fmt in FORMATS} | {"scan report.compliance.html"}
    assert reports | {"scan stdout", "scan stderr", "scan step-summary.md",
                      "scan step-outputs.txt", "explain (scan) stdout",
                      "explain (report) stdout", "baseline file"} <= set(channels)
    assert len(scanned.run.annotations()) == 10  # as many as GitHub shows in a step
    assert leaks(channels, scanned.fakes) == []
    assert_only_own_commands(scanned.run)


def test_the_leak_check_sees_a_leak() -> None:
    """The check itself: a value, or 8 of its characters anywhere, is caught."""
    fake = next(f for f in corpus() if f.kind == "GitHub Token")
    assert leaks({"x": f"token {fake.value} here"}, [fake])
    assert leaks({"x": "..." + fake.secret[10:18] + "..."}, [fake])
    assert not leaks({"x": "..." + fake.secret[10:17] + "..."}, [fake])
