"""The generated workload: a deterministic synthetic mono-repo of Python services and a
JavaScript front end, seeded with the flaws and fake credentials the scanners look for.

Everything is drawn from one seeded random generator, in a fixed order, so the same tree
comes out on every machine; change the output and bump ``GENERATOR_VERSION`` so that a
tree built by an older generator is rebuilt.
"""

from __future__ import annotations

import random
import shutil
import textwrap
from pathlib import Path

GENERATOR_VERSION = "3"
N_PY_PACKAGES, N_PY_MODULES = 40, 50  # 2,000 modules + 40 __init__.py
N_JS_DIRS, N_JS_FILES = 26, 20  # 520 JavaScript files
SECRET_KINDS = ("aws", "github", "slack", "entropy")

PY_HEADER = '''"""{doc}"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
from dataclasses import dataclass

LOG = logging.getLogger(__name__)
'''

PY_CLASS = '''

@dataclass
class {cls}:
    """A {noun} record kept by the {pkg} service."""

    ident: str
    amount: int = 0
    currency: str = "{cur}"

    def total(self, fees: list[int]) -> int:
        value = self.amount
        for fee in fees:
            if fee < 0:
                raise ValueError("negative fee")
            value += fee
        return value

    def to_json(self) -> str:
        return json.dumps({{"id": self.ident, "amount": self.amount, "currency": self.currency}})
'''

PY_FUNCS = [
    '''

def {name}(items: list[dict[str, int]], limit: int = {n}) -> list[int]:
    """Sum the values of at most ``limit`` items."""
    out = []
    for item in items[:limit]:
        out.append(sum(v for v in item.values() if isinstance(v, int)))
    LOG.debug("processed %d items", len(out))
    return out
''',
    '''

def {name}(path: str) -> dict[str, str]:
    """Read a key=value settings file."""
    settings: dict[str, str] = {{}}
    if not os.path.exists(path):
        return settings
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            key, _, value = line.partition("=")
            if key.strip() and not key.startswith("#"):
                settings[key.strip()] = value.strip()
    return settings
''',
    '''

def {name}(text: str) -> str:
    """A stable digest of the text, used as a cache key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:{n}]
''',
    """

def {name}(records: list[str], sep: str = ",") -> list[list[str]]:
    rows = []
    for index, record in enumerate(records):
        fields = [f.strip() for f in record.split(sep)]
        if len(fields) < 2:
            LOG.warning("row %d has %d fields", index, len(fields))
            continue
        rows.append(fields)
    return rows
""",
]

PY_FLAWS = [
    (
        "shell",
        """

def run_report(name):
    cmd = "generate-report --name " + name
    return subprocess.call(cmd, shell=True)
""",
    ),
    (
        "md5",
        """

def legacy_checksum(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
""",
    ),
    (
        "eval",
        """

def parse_expression(expr):
    return eval(expr)
""",
    ),
    (
        "yaml",
        """

def load_config(text):
    import yaml

    return yaml.load(text)
""",
    ),
    (
        "sql",
        """

def find_user(cursor, name):
    cursor.execute("SELECT * FROM users WHERE name = '%s'" % name)
    return cursor.fetchall()
""",
    ),
    (
        "pickle",
        """

def restore(blob):
    import pickle

    return pickle.loads(blob)
""",
    ),
    (
        "verify",
        """

def fetch(url):
    import requests

    return requests.get(url, verify=False, timeout=10).text
""",
    ),
    (
        "password",
        """

DB_PASSWORD = "hunter2-{tag}"
""",
    ),
]

JS_BODY = """'use strict'

const path = require('path')
const {{ promisify }} = require('util')

/**
 * {doc}
 */
class {cls} {{
  constructor (options = {{}}) {{
    this.limit = options.limit || {n}
    this.items = []
  }}

  add (item) {{
    if (this.items.length >= this.limit) {{
      throw new Error('limit reached')
    }}
    this.items.push(item)
    return this.items.length
  }}

  total () {{
    return this.items.reduce((sum, item) => sum + (item.amount || 0), 0)
  }}
}}

async function {fn} (db, id) {{
  const rows = await db('transfers').where({{ transferId: id }}).select()
  return rows.map(r => ({{ id: r.transferId, amount: r.amount, currency: r.currency }}))
}}

function resolve{cls} (base, name) {{
  return path.join(base, String(name).replace(/[^a-z0-9_-]/gi, ''))
}}
"""

JS_FLAWS = [
    (
        "eval",
        """
function evaluate (expr) {
  return eval(expr)
}
""",
    ),
    (
        "exec",
        """
const { exec } = require('child_process')
function archive (name) {
  exec('tar czf /tmp/out.tgz ' + name)
}
""",
    ),
    (
        "md5",
        """
const crypto = require('crypto')
function etag (body) {
  return crypto.createHash('md5').update(body).digest('hex')
}
""",
    ),
    (
        "tls",
        """
const https = require('https')
const agent = new https.Agent({ rejectUnauthorized: false })
""",
    ),
]

WORDS = (
    "transfer",
    "quote",
    "party",
    "participant",
    "settlement",
    "position",
    "ledger",
    "account",
    "fee",
    "limit",
    "callback",
    "notification",
    "bulk",
    "batch",
    "report",
    "audit",
)
CURRENCIES = ("USD", "EUR", "TZS", "XOF", "KES", "ZMW")


def fake_secret(rng: random.Random, kind: str) -> str:
    """Credential-shaped strings, built at run time so this file holds none."""
    upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    if kind == "aws":
        return "AK" + "IA" + "".join(rng.choice(upper) for _ in range(16))
    if kind == "github":
        return "gh" + "p_" + "".join(rng.choice(alnum) for _ in range(36))
    if kind == "slack":
        digits = "".join(rng.choice("0123456789") for _ in range(10))
        return "xo" + "xb-" + digits + "-" + "".join(rng.choice(alnum) for _ in range(24))
    return "".join(rng.choice(alnum) for _ in range(40))  # a high-entropy blob


def generate(dest: Path) -> None:
    """A deterministic mono-repo: Python services, a JS front end, requirements files,
    a few binaries, a vendored node_modules/ (excluded by the policy) and tests/.

    The steps draw from one generator in this order; reordering them changes the tree."""
    rng = random.Random(20240601)
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "services").mkdir(parents=True)
    for p in range(N_PY_PACKAGES):
        python_package(dest, p, rng)
    javascript(dest / "web" / "src", rng)
    vendored(dest / "web" / "node_modules" / "left-pad")
    binaries(dest / "web" / "assets", rng)
    credentials(dest / "deploy", rng)
    requirements(dest)


def python_package(dest: Path, p: int, rng: random.Random) -> None:
    """Package ``p``: an ``__init__.py`` and N_PY_MODULES modules, some flawed."""
    pkg = f"{WORDS[p % len(WORDS)]}_{p:02d}"
    base = dest / "services" / pkg
    if p % 10 == 9:  # some packages are test suites (semgrep skips tests/ by default)
        base = dest / "tests" / pkg
    base.mkdir(parents=True)
    (base / "__init__.py").write_text(f'"""The {pkg} package."""\n')
    for m in range(N_PY_MODULES):
        i = p * N_PY_MODULES + m
        noun = rng.choice(WORDS)
        parts = [PY_HEADER.format(doc=f"{noun.title()} handling for {pkg} (module {m}).")]
        parts.append(
            PY_CLASS.format(
                cls=f"{noun.title()}{m}", noun=noun, pkg=pkg, cur=rng.choice(CURRENCIES)
            )
        )
        for k in range(rng.randint(2, 6)):
            template = rng.choice(PY_FUNCS)
            parts.append(template.format(name=f"{noun}_{k}_{m}", n=rng.randint(5, 40)))
        if i % 7 == 0:
            _tag, flaw = PY_FLAWS[(i // 7) % len(PY_FLAWS)]
            parts.append(flaw.format(tag=i))
        if i % 97 == 0:
            kind = SECRET_KINDS[(i // 97) % len(SECRET_KINDS)]
            parts.append(f'\nAPI_TOKEN = "{fake_secret(rng, kind)}"\n')
        (base / f"mod_{m:03d}.py").write_text("".join(parts))


def javascript(web: Path, rng: random.Random) -> None:
    """N_JS_DIRS folders of N_JS_FILES modules, 1 in 5 flawed, a few with a token."""
    for d in range(N_JS_DIRS):
        folder = web / f"{WORDS[d % len(WORDS)]}-{d:02d}"
        folder.mkdir(parents=True)
        for f in range(N_JS_FILES):
            i = d * N_JS_FILES + f
            noun = rng.choice(WORDS)
            text = JS_BODY.format(
                doc=f"{noun} helpers ({i})",
                cls=f"{noun.title()}Store{f}",
                fn=f"load{noun.title()}{f}",
                n=rng.randint(10, 500),
            )
            if i % 5 == 0:
                text += JS_FLAWS[(i // 5) % len(JS_FLAWS)][1]
            if i % 61 == 0:
                text += f"\nconst token = '{fake_secret(rng, SECRET_KINDS[i % 4])}'\n"
            text += f"\nmodule.exports = {{ {noun.title()}Store{f}, load{noun.title()}{f} }}\n"
            (folder / f"{noun}-{f}.js").write_text(text)


def vendored(folder: Path) -> None:
    """Third-party code the policy excludes (node_modules/); by hand it is scanned."""
    folder.mkdir(parents=True)
    for f in range(30):
        (folder / f"lib{f}.js").write_text(
            JS_BODY.format(doc="vendored", cls=f"Pad{f}", fn=f"pad{f}", n=f) + JS_FLAWS[0][1]
        )
    (folder / "package.json").write_text('{"name": "left-pad", "version": "1.3.0"}\n')


def binaries(assets: Path, rng: random.Random) -> None:
    """Binary files (NUL bytes): the gate does not give them to detect-secrets."""
    assets.mkdir()
    for f in range(20):
        blob = bytes(rng.getrandbits(8) for _ in range(2048))
        (assets / f"icon-{f}.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + blob)


def credentials(deploy: Path, rng: random.Random) -> None:
    """A PEM private key and a .env with an AWS key id."""
    key_header = "-----BEGIN " + "RSA PRIVATE KEY-----"
    deploy.mkdir()
    (deploy / "dev-key.pem").write_text(
        key_header + "\n" + fake_secret(rng, "entropy") + "\n-----END " + "RSA PRIVATE KEY-----\n"
    )
    (deploy / ".env").write_text(
        f"AWS_ACCESS_KEY_ID={fake_secret(rng, 'aws')}\nDB_HOST=db.internal\n"
    )


def requirements(dest: Path) -> None:
    """Three requirements files pinning versions with known advisories."""
    (dest / "requirements.txt").write_text(
        textwrap.dedent("""\
        Django==3.2.0
        requests==2.19.0
        PyYAML==5.3
        Jinja2==2.10
        urllib3==1.24.1
        click==8.1.7
        """)
    )
    (dest / "requirements").mkdir()
    (dest / "requirements" / "dev.txt").write_text(
        textwrap.dedent("""\
        pytest==7.4.0
        Pillow==8.0.0
        cryptography==3.2
        """)
    )
    (dest / "services" / "requirements-worker.txt").write_text(
        textwrap.dedent("""\
        requests==2.19.0
        Flask==0.12
        """)
    )
