"""policy-gate's kingfisher rule pack (policy_gate/rules/kingfisher): each file loads in the
real kingfisher (and a broken one is refused), each rule finds what it is written for in
every place code keeps it, never a placeholder or an identifier; with the built-in rules,
the pack finds every positive of issue 16's labelled corpus (tests/secret_corpus.py) and
nothing on its look-alikes.

Every sample value is generated at run time from a seeded RNG (never a committed
credential); an assertion message names the sample, never its value.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import shutil
import string
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.secret_corpus import Sample, corpus, putty_key, ssh2_key, write_corpus

REPO = Path(__file__).resolve().parent.parent
RULES_DIR = REPO / "policy_gate" / "rules" / "kingfisher"
RULE_ID = re.compile(r"^policy-gate\.[a-z0-9]+(?:-[a-z0-9]+)*$")
CONFIDENCES = {"medium", "high"}
# Fields kingfisher's YAML rule format reads; anything else would be silently ignored.
RULE_FIELDS = {"name", "id", "pattern", "path", "min_entropy", "confidence", "visible",
               "references", "pattern_requirements", "examples", "negative_examples"}
# How the gate runs kingfisher (policy_gate/scanners/kingfisher.py), as far as rules go:
# offline, every result at every confidence, hidden helper rules included.
BASE_FLAGS = ("--no-validate", "--no-update-check", "-f", "jsonl", "--confidence", "low",
              "--no-dedup", "--git-history", "none", "--no-ignore", "--no-limits",
              "--include-hidden-findings")
# Built-in rules the pack replaces (the gate excludes them): see connections.yaml.
REPLACED_BUILTINS = ("betterleaks.slack-webhook-url",)
EXCLUDE_REPLACED = tuple(a for rule in REPLACED_BUILTINS for a in ("--exclude-rule", rule))
BUILTIN_RULES = 488  # kingfisher 2.14.0's catalogue
# The rules that report a whole private key block (PEM; PuTTY and SSH2: providers-keys.yaml)
KEY_RULES = ("betterleaks.private-key", "policy-gate.putty-private-key",
             "policy-gate.ssh2-private-key")


def _kingfisher() -> str | None:
    beside = Path(sys.executable).parent / "kingfisher"
    return str(beside) if beside.exists() else shutil.which("kingfisher")


KINGFISHER = _kingfisher()
pytestmark = pytest.mark.skipif(KINGFISHER is None, reason="kingfisher-bin is not installed")


def _load_rules() -> dict[str, list[dict[str, Any]]]:
    packs: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(RULES_DIR.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(document, dict) and isinstance(document.get("rules"), list), path.name
        packs[path.name] = document["rules"]
    return packs


PACKS = _load_rules()
ALL_RULES = [rule for rules in PACKS.values() for rule in rules]
RULE_IDS = {rule["id"] for rule in ALL_RULES}


# --------------------------------------------------------------------------- values

@dataclass(frozen=True)
class Values:
    """Credential-shaped values drawn from one seeded RNG (so a failure reproduces)."""

    rng: random.Random

    def draw(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def password(self) -> str:
        body = self.draw(string.ascii_letters + string.digits, 13)
        return body[:5] + self.draw("!#%+-_=@.", 1) + body[5:] + self.draw(string.digits, 2)

    def url_safe(self) -> str:
        return self.draw(string.ascii_letters + string.digits, 18)

    def token(self) -> str:
        return self.draw(string.ascii_letters + string.digits, 32)

    def hex(self, n: int) -> str:
        return self.draw("0123456789abcdef", n)

    def b64(self, n: int) -> str:
        return base64.b64encode(self.rng.randbytes(n)).decode()

    def b64url(self, n: int) -> str:
        return base64.urlsafe_b64encode(self.rng.randbytes(n)).decode().rstrip("=")

    def basic(self) -> str:
        return base64.b64encode(f"svc-deploy:{self.password()}".encode()).decode()

    def akia(self) -> str:
        return "AKIA" + self.draw(string.ascii_uppercase + "234567", 16)

    def aws_secret(self) -> str:
        value = self.draw(string.ascii_letters + string.digits + "/+", 40)
        return value[:10] + "A" + value[11:20] + "b" + value[21:30] + "7" + value[31:]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def nral(self) -> str:
        return self.hex(36) + "NR" + "AL"

    def slack(self) -> str:
        return ("https://hooks." + "slack.com/services/T" + self.draw(string.ascii_uppercase, 8)
                + "/B" + self.draw(string.ascii_uppercase + string.digits, 10) + "/"
                + self.draw(string.ascii_letters + string.digits, 24))

    def discord(self) -> str:
        return ("https://discord.com/api/" + "webhooks/" + self.draw(string.digits, 19) + "/"
                + self.draw(string.ascii_letters + string.digits + "_-", 68))

    def kind(self, name: str) -> str:
        """A value of the named kind (a field of a POSITIVES template)."""
        makers: dict[str, Callable[[], str]] = {
            "password": self.password, "token": self.token, "url_safe": self.url_safe,
            "basic": self.basic, "akia": self.akia, "aws_secret": self.aws_secret,
            "nral": self.nral, "slack": self.slack, "discord": self.discord,
            "putty2": lambda: putty_key(2)(self.rng),
            "putty3": lambda: putty_key(3, encrypted=True)(self.rng),
            "ssh2": lambda: ssh2_key(self.rng),
        }
        return makers[name]()


# --------------------------------------------------------------------------- samples
# Positives, by rule: {path: template}. A template's fields are filled with values of the
# kind they name (Values.kind); the last field is the credential, which that rule must
# report on the line it is on, with exactly it as its value (an AWS pair's `{akia}` id is
# only its context).

ASSIGN = "policy-gate.credential-assignment"
ENV = "policy-gate.credential-env-value"
POSITIVES: dict[str, dict[str, str]] = {
    ASSIGN: {
        "py/settings.py": 'DB_PASSWORD = "{password}"\n',
        "py/bytes.py": 'key = hmac.new(SIGNING_SECRET := "{token}".encode())\n',
        "py/client.py": 'client = SendGridClient(api_key="{token}")\n',
        "py/db.py": "conn = psycopg2.connect(host='db', password='{password}')\n",
        "py/conf.py": 'settings = {{"secret_key": "{token}", "debug": False}}\n',
        "py/typed.py": 'password: str = "{password}"\n',
        "js/api.js": 'const apiKey = "{token}";\n',
        "js/cfg.js": "const cfg = {{ clientSecret: '{token}', user: 'svc' }};\n",
        "js/ilp.js": "exports.ilpSecret = '{token}'\n",
        "ts/auth.ts": ('export class Auth {{\n'
                       '  private readonly authToken: string = "{token}";\n}}\n'),
        "go/main.go": 'password := "{password}"\n',
        "go/var.go": 'var dbPassword string = "{password}"\n',
        "go/cfg.go": 'cfg := Config{{User: "app", Password: "{password}"}}\n',
        "java/Db.java": 'class Db {{ private static final String DB_PASSWORD = "{password}"; }}\n',
        "sh/env.sh": 'export API_TOKEN="{token}"\n',
        "json/app.json": '{{"db": {{"user": "app", "password": "{password}"}}}}\n',
        "yaml/app.yaml": 'db:\n  password: "{password}"\n',
        "toml/app.toml": '[svc]\napi_key = "{token}"\n',
        "php/config.php": "<?php return ['password' => '{password}'];\n",
        "rb/secrets.rb": 'config.secret_key_base = "{token}"\n',
        "yarn/.yarnrc.yml": 'npmAuthToken: "{token}"\n',
        "cs/Program.cs": 'var token = "{token}";\n',
    },
    "policy-gate.credential-key-value-pair": {
        "postman/local.postman_environment.json": (
            '{{"values": [\n  {{\n    "key": "hubOperatorPassword",\n'
            '    "value": "{password}",\n    "enabled": true\n  }}\n]}}\n'),
    },
    "policy-gate.credential-setter-argument": {
        "java/Ds.java": 'ds.setPassword("{password}");\n',
        "js/builder.js": 'const c = new Builder().user("app").password("{password}").build();\n',
    },
    "policy-gate.credential-keyed-argument": {
        "java/Props.java": 'props.put("password", "{password}");\n',
        "go/env.go": 'os.Setenv("GITHUB_TOKEN", "{token}")\n',
    },
    "policy-gate.credential-cli-flag": {
        "sh/login.sh": 'svc-cli login \\\n  --password "{password}" \\\n  --non-interactive\n',
        "ci/release.yml": "steps:\n  - run: twine upload --password={token} dist/*\n",
    },
    "policy-gate.client-constructor-argument": {
        "java/App.java": 'final ApiClient client = new ApiClient(\n        "{token}");\n',
        "py/azure.py": ('cred = ClientSecretCredential(\n    "tenant", "client",\n'
                        '    "{token}",\n)\n'),
    },
    ENV: {
        "env/.env": "DB_PASSWORD={password}\n",
        "env/prod.env": "STRIPE_API_KEY={token}\n",
        "sh/deploy.sh": "export GITLAB_TOKEN={token}\n",
        "compose/docker-compose.yml": ("services:\n  db:\n    environment:\n"
                                       "      - MYSQL_ROOT_PASSWORD={password}\n"),
        "compose/compose.yaml": ("services:\n  db:\n    environment:\n"
                                 "      POSTGRES_PASSWORD: {password}\n"),
        "yaml/values.yaml": "db:\n  host: db\n  password: {password}\n",
        "ini/app.ini": "[db]\npassword = {password}\n",
        "props/application.properties": "spring.datasource.password={password}\n",
        "pypi/.pypirc": "[pypi]\nusername = __token__\npassword = {token}\n",
        "docker/Dockerfile": "FROM alpine:3.20\nENV DB_PASSWORD={password}\n",
        "docker3/Dockerfile": "FROM alpine:3.20\nARG NPM_TOKEN={token}\n",
    },
    "policy-gate.dockerfile-credential": {
        "docker2/Dockerfile": "FROM alpine:3.20\nENV API_KEY {token}\n",
    },
    "policy-gate.connection-string-password": {
        "java/Jdbc.java": 'String url = "jdbc:mysql://db:3306/app?user=app&password={url_safe}";\n',
        "cs/Conn.cs": 'var cs = "Server=db;Database=app;User Id=sa;Password={url_safe};";\n',
    },
    "policy-gate.credential-url": {
        "sh/nexus.sh": 'export INDEX_URL="https://ci:{url_safe}@nexus.corp.example/simple"\n',
    },
    "policy-gate.authorization-header": {
        "py/http.py": 'headers = {{"Authorization": "Bearer {token}"}}\n',
        "js/http.js": "fetch(url, {{ headers: {{ Authorization: 'Basic {basic}' }} }});\n",
    },
    "policy-gate.webhook-url": {"py/notify.py": 'DISCORD_WEBHOOK = "{discord}"\n'},
    "policy-gate.slack-webhook-url": {"env2/.env": "SLACK_WEBHOOK_URL={slack}\n"},
    "policy-gate.aws-access-key-id": {"py/aws.py": 'AWS_ACCESS_KEY_ID = "{akia}"\n'},
    "policy-gate.aws-secret-access-key": {
        "go/aws.go": 'creds := credentials.NewStaticCredentials("{akia}", "{aws_secret}", "")\n',
        "java/Aws.java": 'AWSCredentials c = new BasicAWSCredentials("{akia}", "{aws_secret}");\n',
        "aws/credentials": ("[default]\naws_access_key_id = {akia}\n"
                            "aws_secret_access_key = {aws_secret}\n"),
    },
    "policy-gate.newrelic-license-key": {"js/newrelic.js": "  licenseKey: '{nral}',\n"},
    "policy-gate.npmrc-auth": {
        "npm/.npmrc": "//registry.npmjs.org/:_authToken={token}\n",
        "npm2/.npmrc": "registry=https://npm.internal/\n_auth={basic}\n",
    },
    "policy-gate.docker-config-auth": {
        "docker/config.json": '{{"auths": {{"registry.internal:5000": {{"auth": "{basic}"}}}}}}\n',
    },
    "policy-gate.putty-private-key": {
        "keys/jump-host.ppk": "{putty2}\n",
        "keys/bastion.ppk": "{putty3}\n",
        "ops/notes.txt": "Jump host key (PuTTY):\n\n{putty3}\n\nAsk ops for the passphrase.\n",
        "docs/jump-host.md": "# Jump host\n\n```\n{putty2}\n```\n",
    },
    "policy-gate.ssh2-private-key": {
        "keys/id_rsa_2048_a": "{ssh2}\n",
        "docs/tectia.md": "# Tectia client key\n\n```\n{ssh2}\n```\n",
    },
}

# Never a finding from a policy-gate rule: placeholders, references to the environment or
# a template, empty values, key names listed as data, and identifier structures under
# names that are not a credential's. `{hex64}`, `{hex40}`, `{hex32}`, `{hex16}`, `{uuid}`,
# `{cond}` (an ILP condition: 32 bytes base64url), `{sri}`, `{b64}` are identifiers;
# `{awsdoc}` is the access key id of AWS's documentation.
NEGATIVES: list[tuple[str, str]] = [
    ("ph/a.py", 'DB_PASSWORD = "changeme"\nAPI_KEY = "your_api_key_here"\n'),
    ("ph/b.py", 'password = "<password>"\ntoken = "<token>"\n'),
    ("ph/c.py", 'api_key = "${{API_KEY}}"\nsecret = f"{{prefix}}-{{suffix}}"\n'),
    ("ph/d.js", "const token = process.env.TOKEN;\nconst apiKey = `${{process.env.KEY}}`;\n"),
    ("ph/e.py", 'password = os.environ["DB_PASSWORD"]\napi_key = os.getenv("API_KEY", "")\n'),
    ("ph/g.py", 'password = "xxxxxxxxxxxx"\nsecret = "********"\npassword = ""\n'),
    ("ph/h.py", 'password = "Password123"\nDB_PASSWORD = "hunter2-{{tag}}"\n'),
    ("ph/i.py", 'GITHUB_TOKEN = "ghs_secret_token_value"\npassword = "not-read-as-text"\n'),
    ("ph/j.yaml", 'secret: "{{{{ .Values.secret }}}}"\ntoken: null\npassword: \'\'\n'),
    ("ph/k/.env", "DB_PASSWORD=${{DB_PASSWORD}}\nAPI_TOKEN=\nSECRET_KEY=your_secret_key_here\n"),
    ("ph/l.yaml", "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n"),
    ("ph/m.yml", "env:\n  GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}\n"),
    ("ph/n.sh",
     'export API_TOKEN="$(cat /run/secrets/api_token)"\ndocker login --password-stdin\n'),
    ("ph/o/Dockerfile", 'FROM alpine\nENV API_TOKEN=""\nENV DB_PASSWORD ${{DB_PASSWORD}}\n'),
    ("ph/p/.npmrc", "//registry.npmjs.org/:_authToken=${{NPM_TOKEN}}\n"),
    ("ph/q.json", '{{"auths": {{"ghcr.io": {{"auth": ""}}}}}}\n'),
    ("ph/r.js", "const h = {{ Authorization: `Bearer ${{token}}` }};\n"),
    ("ph/s.java", 'String url = "jdbc:postgresql://db/app?user=app&password=${{DB_PASS}}";\n'),
    ("ph/t.py", "password = get_password()\npassword = settings.DB_PASSWORD\n"),
    ("ph/u.ts", "interface Login {{ password: string; apiKey?: string }}\n"),
    ("ph/v.py", 'AWS_ACCESS_KEY_ID = "{awsdoc}"\n'),
    ("ph/w.properties", "spring.datasource.password=${{DB_PASSWORD}}\n"),
    ("ph/x.ini", "[db]\npassword = %(db_password)s\n"),
    ("ph/y.go", 'password := os.Getenv("DB_PASSWORD")\n'),
    ("ph/z.sh", 'svc-cli login --password "$SVC_PASSWORD" --token "${{TOKEN}}"\n'),
    ("ph/aa.env", "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T00000000/B00000000/"
                  "XXXXXXXXXXXXXXXXXXXXXXXX\n"),
    ("ph/ab.py", 'INDEX = "https://user:password@pypi.example.com/simple"\n'),
    ("ph/ac.py", '# pass verify="/path/to/ca-bundle.pem" to trust a private CA\n'),
    ("names/a.py", 'REDACT = ("password", "api_key", "SECRET_TOKEN", "db_pass", "auth_key")\n'),
    ("names/b.py", 'ENV = {{"GITHUB_TOKEN": "ACTIONS_RUNTIME_TOKEN"}}\n'
                   'setenv("GITHUB_TOKEN", "ghp_secret")\n'),
    ("names/c.py", 'pairs = [("aws-secret-access-key", "AWS_SECRET_ACCESS_KEY")]\n'),
    ("names/d.py", 'OIDS = {{CHALLENGE_PASSWORD: "challengePassword"}}\n'),
    ("names/e.json", '{{"license_key": "389-exception", "spdx": "Apache-2.0"}}\n'),
    ("names/f.py", 'KEYS = [\n    "X25519PrivateKey",\n    "X448PrivateKey2",\n]\n'),
    ("names/g.py", """    >>> token = 'variable|default:"Default value"|date:"Y-m-d"'\n"""),
    ("names/h.js", "const headers = {{ 'X-TOKEN-SECRET': 'SuperSecretToken' }};\n"),
    ("id/a.py", 'password_hash = "{hex64}"\ntoken_sha256 = "{hex64}"\n'),
    ("id/b.json", '{{"integrity": "{sri}", "resolved": "https://registry.npmjs.org/x"}}\n'),
    ("id/c.js", "const traceId = '{hex32}';\nconst spanId = '{hex16}';\n"),
    ("id/d.json", '{{"traceparent": "00-{hex32}-{hex16}-01"}}\n'),
    ("id/e.js", "const transfer = {{ transferId: '{uuid}', condition: '{cond}' }};\n"),
    ("id/f.json", '{{"fulfilment": "{cond}", "ilpPacket": "{b64}"}}\n'),
    ("id/g.py", 'commit = "{hex40}"\nrequest_id = "{uuid}"\n'),
    ("id/h.py", 'csrf_token = "{hex32}"\npage_token = "{hex32}"\n'),
    ("id/i.js", "const res = {{ nextPageToken: '{cond}', idempotencyToken: '{uuid}' }};\n"),
    ("id/j.yaml", "secretName: db-credentials-{hex16}\nexistingSecret: app-secret-{hex16}\n"),
    ("id/k.py", 'token_type = "Bearer"\npassword_reset_url = "https://example.org/reset"\n'),
    ("id/l.yaml", "checksum: sha256:{hex64}\ndigest: sha256:{hex64}\n"),
    ("id/m.js", "const client = new HttpClient('{uuid}', '{hex40}');\n"),
    ("id/n.json", '{{"values": [{{"key": "condition",\n "value": "{cond}"}},\n'
                  '  {{"key": "transferId", "value": "{uuid}"}}]}}\n'),
    # key formats named, templated or public: `{begin}`/`{end}` a PEM key's armour,
    # `{putty}` PuTTY's header, `{ssh2}`/`{ssh2end}` an SSH2 private key's, `{pub}` a public
    # key in the SSH2 armour PuTTYgen exports (`{sshrsa}`: its base64 lines)
    ("key/a.md", "Paste the key:\n\n```\n{begin}\n...\n{end}\n```\n\nPuTTYgen writes "
                 "`{putty}: ssh-ed25519` files:\n\n```\n{putty}: ssh-ed25519\nEncryption: "
                 "none\nComment: <comment>\nPublic-Lines: 2\n<public key lines>\n"
                 "Private-Lines: 1\n<private key lines>\nPrivate-MAC: <mac>\n```\n"),
    ("key/b.pub", '{pub}\nComment: "rsa-key-20240101"\n{sshrsa}\n{pubend}\n'),
    ("key/c.py", 'HEADERS = ("{ssh2}", "{putty}:")\nFOOTER = "{ssh2end}"\n\n\n'
                 "def is_private_key(text: str) -> bool:\n"
                 "    return text.lstrip().startswith(HEADERS) and FOOTER in text\n"),
    ("key/d.go", '// Tectia keys start "{ssh2}" and end "{ssh2end}";\n'
                 "// convert them with ssh-keygen -i before committing the public half.\n"),
]


DASHES, PRIVATE_KEY = "-" * 5, " ".join(("PRIVATE", "KEY"))


def _identifiers(values: Values) -> dict[str, str]:
    sshrsa = base64.b64encode(b"\0\0\0\x07ssh-rsa\0\0\0\x03\x01\x00\x01\0\0\x01\x01\x00"
                              + values.rng.randbytes(256)).decode()
    return {
        "hex64": values.hex(64), "hex40": values.hex(40), "hex32": values.hex(32),
        "hex16": values.hex(16), "uuid": values.uuid(), "cond": values.b64url(32),
        "sri": "sha512-" + values.b64(64), "b64": values.b64(120),
        "awsdoc": "AKIA" + "IOSFODNN7" + "EXAMPLE",
        "begin": f"{DASHES}BEGIN RSA {PRIVATE_KEY}{DASHES}",
        "end": f"{DASHES}END RSA {PRIVATE_KEY}{DASHES}", "putty": "PuTTY-User-" + "Key-File-3",
        "ssh2": f"---- BEGIN SSH2 ENCRYPTED {PRIVATE_KEY} ----",
        "ssh2end": f"---- END SSH2 ENCRYPTED {PRIVATE_KEY} ----",
        "pub": "---- BEGIN SSH2 PUBLIC KEY ----", "pubend": "---- END SSH2 PUBLIC KEY ----",
        "sshrsa": "\n".join(sshrsa[i : i + 64] for i in range(0, len(sshrsa), 64)),
    }


@dataclass(frozen=True)
class Planted:
    """One sample in a scanned tree: where, and the sha1 of the value expected there."""

    name: str
    rule: str
    path: str
    line: int
    value_sha1: str


def _sha1(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8"), usedforsecurity=False).hexdigest()


def _line_of(text: str, value: str) -> int:
    return text[: text.index(value)].count("\n") + 1


SAMPLES = [(rule, rel, template) for rule, by_path in POSITIVES.items()
           for rel, template in by_path.items()]


def _plant_positives(root: Path, values: Values) -> list[Planted]:
    planted = []
    for index, (rule, rel, template) in enumerate(SAMPLES):
        fields = {name: values.kind(name) for _text, name, _spec, _conv
                  in string.Formatter().parse(template) if name}
        value = fields[list(fields)[-1]]  # the last field is the credential
        text = template.format(**fields)
        path = f"pos{index}/{rel}"
        _write(root / path, text)
        planted.append(Planted(f"{rule} in {rel}", rule, path, _line_of(text, value),
                               _sha1(value)))
    return planted


def _plant_negatives(root: Path, values: Values) -> None:
    for rel, template in NEGATIVES:
        _write(root / "neg" / rel, template.format(**_identifiers(values)))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Hit:
    rule: str
    path: str
    line: int
    value_sha1: str
    confidence: str
    snippet: str = field(repr=False, compare=False)  # the raw value: compared, never shown


def kingfisher(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert KINGFISHER is not None
    return subprocess.run([KINGFISHER, *args], capture_output=True, text=True, check=False,
                          timeout=600, cwd=cwd)


def run_scan(target: Path, *extra: str, cache: Path) -> list[Hit]:
    """kingfisher's findings on `target` (paths relative to it), values hashed at once."""
    done = kingfisher("scan", str(target), *BASE_FLAGS, "--rule-cache-dir", str(cache), *extra)
    # 200: findings, 0: none; anything else fails (stderr only: stdout holds the values)
    assert done.returncode in (0, 200), f"kingfisher exit {done.returncode}: {done.stderr[-2000:]}"
    return list(_hits(done.stdout, target))


def _hits(stdout: str, target: Path) -> Iterator[Hit]:
    for line in stdout.splitlines():
        record = json.loads(line)
        if "rule" not in record or "finding" not in record:
            continue
        finding = record["finding"]
        path = Path(finding["path"])
        rel = path.relative_to(target) if path.is_absolute() else path
        yield Hit(record["rule"]["id"], rel.as_posix(), int(finding["line"]),
                  _sha1(finding["snippet"]), finding["confidence"], finding["snippet"])


def _pack_only(target: Path, cache: Path) -> list[Hit]:
    return run_scan(target, "--rules-path", str(RULES_DIR), "--load-builtins", "false",
                    cache=cache)


def _with_builtins(target: Path, cache: Path) -> list[Hit]:
    """As the gate runs it: the built-in catalogue, the pack, the replaced rules left out."""
    return run_scan(target, "--rules-path", str(RULES_DIR), *EXCLUDE_REPLACED, cache=cache)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kingfisher-rule-cache")


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Planted]]:
    root = tmp_path_factory.mktemp("kingfisher-samples")
    values = Values(random.Random(16))
    positives = _plant_positives(root, values)
    _plant_negatives(root, values)
    return root, positives


@pytest.fixture(scope="module")
def pack_hits(samples: tuple[Path, list[Planted]], cache: Path) -> list[Hit]:
    """The pack alone (no built-in rule), on every sample."""
    return _pack_only(samples[0], cache)


@pytest.fixture(scope="module")
def all_hits(samples: tuple[Path, list[Planted]], cache: Path) -> list[Hit]:
    return _with_builtins(samples[0], cache)


# --------------------------------------------------------------------------- the files

# The name fragment the rules that read `name = value` share (whitespace aside): one
# meaning of "a credential's name" everywhere. See assignments.yaml's header.
SHARED_NAME_RULES = ("policy-gate.credential-assignment", "policy-gate.credential-env-value",
                     "policy-gate.dockerfile-credential", "policy-gate.credential-keyed-argument",
                     "policy-gate.credential-key-value-pair")
NAME_FRAGMENT = re.compile(r"\(\?:\s*\(\?i:\s*pass\(\?:word.*?\|\s*\[A-Z0-9\]_TOKEN\s*\)", re.S)
FIX_WORDS = ("rotate", "revoke", "regenerate", "re-create", "delete")


def _rule(rule_id: str) -> dict[str, Any]:
    return next(rule for rule in ALL_RULES if rule["id"] == rule_id)


def test_the_pack_loads_and_passes_kingfishers_own_check() -> None:
    done = kingfisher("rules", "check", "--no-update-check", "--rules-path", str(RULES_DIR),
                      "--load-builtins", "false")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Errors: 0" in done.stdout, done.stdout[-3000:]


@pytest.mark.parametrize("name", sorted(PACKS))
def test_each_file_loads_on_its_own(name: str) -> None:
    listed = kingfisher("rules", "list", "--no-update-check", "--rules-path",
                        str(RULES_DIR / name), "--load-builtins", "false", "-f", "json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    ids = {rule["id"] for rule in json.loads(listed.stdout)}
    assert ids == {rule["id"] for rule in PACKS[name]}


def test_no_rule_shadows_a_builtin_one() -> None:
    """A custom rule with a built-in rule's id silently replaces it (kingfisher 2.14):
    every id here is new, and the built-in catalogue is whole."""
    listed = kingfisher("rules", "list", "--no-update-check", "--rules-path", str(RULES_DIR),
                        "-f", "json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    ids = [rule["id"] for rule in json.loads(listed.stdout)]
    assert len(ids) == len(set(ids)) == BUILTIN_RULES + len(RULE_IDS)
    builtin = {i for i in ids if i not in RULE_IDS}
    assert set(REPLACED_BUILTINS) <= builtin, "a replaced built-in rule is gone: drop its flag"


@pytest.mark.parametrize(("bad", "text"), [
    ("lookaround.yaml",
     "rules:\n  - name: A rule kingfisher cannot compile\n    id: policy-gate.bad\n"
     "    pattern: 'password=(?!x)([a-z]{8,})'\n"),
    ("malformed.yaml", "rules:\n  - name: [unclosed\n"),
    ("no-pattern.yaml", "rules:\n  - name: A rule with no pattern\n    id: policy-gate.bad\n"),
])
def test_a_broken_rule_file_is_refused(tmp_path: Path, cache: Path, bad: str, text: str) -> None:
    """Fail closed: a pack kingfisher cannot load stops the scan (non-zero, not 200)."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    (rules / bad).write_text(text, encoding="utf-8")
    checked = kingfisher("rules", "check", "--no-update-check", "--rules-path", str(rules),
                         "--load-builtins", "false")
    assert checked.returncode != 0
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.py").write_text("x = 1\n", encoding="utf-8")
    scanned = kingfisher("scan", str(tmp_path / "tree"), *BASE_FLAGS, "--rule-cache-dir",
                         str(cache), "--rules-path", str(rules), "--load-builtins", "false")
    assert scanned.returncode not in (0, 200)


def test_ids_names_and_fields() -> None:
    ids = [rule["id"] for rule in ALL_RULES]
    assert len(ids) == len(set(ids)), "duplicate rule ids"
    for rule in ALL_RULES:
        rid = rule["id"]
        assert RULE_ID.match(rid), rid
        assert set(rule) <= RULE_FIELDS, f"{rid}: unknown fields {set(rule) - RULE_FIELDS}"
        assert rule.get("confidence") in CONFIDENCES, f"{rid}: confidence"
        # kingfisher prints the name as the finding's description: what, why, how to fix
        name = rule["name"]
        assert 150 <= len(name) <= 500 and "\n" not in name, f"{rid}: name length/shape"
        assert any(w in name.lower() for w in FIX_WORDS), f"{rid}: name says no fix"
        # the repository carries no credential-shaped example: the tests make them
        assert "examples" not in rule, f"{rid}: a committed example is a committed credential"
        assert rule.get("min_entropy", 0) >= 3.0, f"{rid}: min_entropy"


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r["id"] for r in ALL_RULES])
def test_pattern_shape(rule: dict[str, Any]) -> None:
    rid, pattern = rule["id"], rule["pattern"]
    assert pattern.startswith("(?x)"), f"{rid}: free-spacing patterns only"
    # free-spacing ignores a literal space (also in a class, in kingfisher's regex) and
    # starts a comment at '#': write \x20 and \x23
    assert "#" not in pattern, f"{rid}: '#' in a free-spacing pattern"
    assert not re.search(r"\[[^\]]* [^\]]*\]", pattern), f"{rid}: a space in a class"
    compiled = re.compile(pattern)  # Python's re reads this subset the same way
    assert compiled.groups == 1 and not compiled.groupindex, f"{rid}: one unnamed capture"


def test_the_shared_name_fragment_is_one() -> None:
    fragments = {
        rid: " ".join(m.group(0).split())
        for rid in SHARED_NAME_RULES
        for m in [NAME_FRAGMENT.search(_rule(rid)["pattern"])] if m
    }
    assert set(fragments) == set(SHARED_NAME_RULES), "a rule lost the shared name fragment"
    assert len(set(fragments.values())) == 1, "the name fragment differs between rules"


def test_placeholders_are_ignored_alike() -> None:
    lists = {
        rule["id"]: tuple(rule["pattern_requirements"]["ignore_if_contains"])
        for rule in ALL_RULES if "ignore_if_contains" in rule.get("pattern_requirements", {})
        and not rule["id"].startswith(("policy-gate.aws-", "policy-gate.slack-"))
    }
    assert len(set(lists.values())) == 1, sorted(lists)
    for word in ("changeme", "xxxx", "****", "${", "{", "<", "process.env", "environ"):
        assert any(entry in word for entry in next(iter(lists.values()))), word


# --------------------------------------------------------------------------- behaviour


def test_every_rule_has_a_positive_sample() -> None:
    assert set(POSITIVES) == RULE_IDS


@pytest.mark.parametrize("index", range(len(SAMPLES)),
                         ids=[f"{rule.removeprefix('policy-gate.')}:{rel}"
                              for rule, rel, _ in SAMPLES])
def test_each_rule_finds_its_samples(samples: tuple[Path, list[Planted]],
                                     pack_hits: list[Hit], index: int) -> None:
    sample = samples[1][index]
    found = [h for h in pack_hits if h.path == sample.path]
    assert any(h.rule == sample.rule and h.line == sample.line
               and h.value_sha1 == sample.value_sha1 for h in found), (
        f"{sample.name}: not reported as {sample.rule} at line {sample.line} with its value; "
        f"got {[(h.rule, h.line, h.value_sha1 == sample.value_sha1) for h in found]}")


def test_no_placeholder_name_or_identifier_is_reported(pack_hits: list[Hit]) -> None:
    wrong = sorted({(h.path, h.line, h.rule) for h in pack_hits if h.path.startswith("neg/")})
    assert not wrong, wrong


def test_with_the_builtins_nothing_on_the_negatives_reaches_medium(all_hits: list[Hit]) -> None:
    """The built-in rules, as the gate runs them, add nothing the gate would fail on."""
    wrong = sorted({(h.path, h.line, h.rule) for h in all_hits
                    if h.path.startswith("neg/") and h.confidence != "low"})
    assert not wrong, wrong


def test_every_sample_holds_with_the_builtins(samples: tuple[Path, list[Planted]],
                                              all_hits: list[Hit]) -> None:
    missed = [s.name for s in samples[1]
              if not any(h.path == s.path and h.line == s.line and h.rule == s.rule
                         and h.value_sha1 == s.value_sha1 for h in all_hits)]
    assert not missed, missed


def test_the_pack_is_silent_on_itself(cache: Path) -> None:
    """The rule files are scanned like any file (the repository's own secret scan): no
    pattern, name or comment in them is reported, by the pack or a built-in rule."""
    hits = _with_builtins(RULES_DIR, cache)
    assert not hits, sorted({(h.path, h.line, h.rule) for h in hits})


# --------------------------------------------------------------------------- the corpus


@dataclass(repr=False)
class CorpusScan:
    """The labelled corpus and kingfisher's findings on it (shown without any value)."""

    positives: list[Sample]
    lookalikes: list[Sample]
    hits: list[Hit]

    def __repr__(self) -> str:
        return (f"<corpus: {len(self.positives)} positives, {len(self.lookalikes)} "
                f"look-alikes, {len(self.hits)} findings>")

    def at(self, sample: Sample) -> list[Hit]:
        return [h for h in self.hits if h.path == sample.path and h.line == sample.line]


@pytest.fixture(scope="module")
def corpus_scan(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> CorpusScan:
    positives, lookalikes = corpus()
    root = write_corpus(tmp_path_factory.mktemp("secret-corpus"), [*positives, *lookalikes])
    return CorpusScan(positives, lookalikes, _with_builtins(root, cache))


def test_every_corpus_positive_is_found_at_medium_or_above(corpus_scan: CorpusScan) -> None:
    """Issue 16's recall target at the engine: every positive reported on its line at a
    confidence the gate fails on, the value itself or a string holding it (a connection
    URI); a key block written into JSON or YAML is reported as written there (escaped,
    indented): found on its line by a private key rule."""
    missed = []
    for sample in corpus_scan.positives:
        strong = [h for h in corpus_scan.at(sample) if h.confidence != "low"]
        if not any(sample.value in h.snippet or h.rule in KEY_RULES for h in strong):
            missed.append(sample.id)
    assert not missed, missed


def test_no_corpus_lookalike_is_found(corpus_scan: CorpusScan) -> None:
    """...and its precision target: nothing, at any confidence, in a look-alike's file."""
    files = {s.path for s in corpus_scan.lookalikes}
    wrong = sorted({(h.path, h.line, h.rule, h.confidence)
                    for h in corpus_scan.hits if h.path in files})
    assert not wrong, wrong
