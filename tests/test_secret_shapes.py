"""Secret or identifier (issue 16, decisions 3 and 4): policy_gate.scanners.secret_shapes
grades every secret engine's hit; entropy alone never fails, identifiers never fail, the
gate's own files never fail on their fingerprints, and credentials still do.

Every value is generated at run time from a seeded generator (this file holds no
credential and no identifier a scanner would flag); tests that run the gate use the real
engines (detect-secrets, and kingfisher when its adapter is installed).
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import string
import struct
import subprocess
import sys
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from policy_gate.catalogue import BY_NAME
from policy_gate.findings import Confidence
from policy_gate.scanners.detect_secrets import graded
from policy_gate.scanners.secret_shapes import NO_CONTEXT, grade, identifier, names_for
from tests.conftest import EXAMPLE_ADVISORIES, OFFLINE_POLICY, REPO, GateRun, make_tree

ALNUM = string.ascii_letters + string.digits
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
DASHES = "-" * 5
PEM_LABEL = "RSA " + "PRIVATE KEY"  # never the header's text in this file


class Gen:
    """Values of every shape, from one seeded generator per use (reproducible)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def bytes(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def text(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def hex(self, chars: int) -> str:
        return self.bytes(chars // 2).hex()

    def b64(self, n: int) -> str:
        return base64.b64encode(self.bytes(n)).decode()

    def b64url(self, n: int) -> str:
        return base64.urlsafe_b64encode(self.bytes(n)).decode().rstrip("=")

    def uuid(self) -> str:
        return str(uuid.UUID(bytes=self.bytes(16), version=4))

    def traceparent(self) -> str:
        return f"00-{self.hex(32)}-{self.hex(16)}-01"

    def sri(self, algorithm: str = "sha512") -> str:
        size = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}[algorithm]
        return f"{algorithm}-{self.b64(size)}"

    # --- ILP (Interledger) packets, OER-encoded as Mojaloop's test data has them ---

    def ilp_v1(self, url: bool = True) -> str:
        """An Interledger v1 payment packet (what Mojaloop's FSPIOP API carries)."""
        address = f"g.dfsp{self.rng.randrange(1, 9)}.msisdn.{self.rng.randrange(10**10, 10**11)}"
        data = json.dumps({"transactionId": self.uuid(), "quoteId": self.uuid(),
                           "amount": {"amount": "100", "currency": "USD"}}).encode()
        data = base64.urlsafe_b64encode(data).rstrip(b"=")
        body = struct.pack(">Q", self.rng.randrange(1, 10**6)) + _octets(address.encode())
        return _encode(_packet(1, body + _octets(data)), url)

    def ilp_prepare(self, url: bool = False) -> str:
        expires = "2026" + "".join(str(self.rng.randrange(10)) for _ in range(13))
        body = (struct.pack(">Q", self.rng.randrange(1, 10**9)) + expires.encode()
                + self.bytes(32) + _octets(b"g.payee.dfsp") + _octets(self.bytes(40)))
        return _encode(_packet(12, body), url)

    def ilp_fulfil(self, url: bool = False) -> str:
        return _encode(_packet(13, self.bytes(32) + _octets(self.bytes(24))), url)

    def ilp_reject(self, url: bool = False) -> str:
        body = b"F02" + _octets(b"g.hub") + _octets(b"unreachable") + _octets(self.bytes(20))
        return _encode(_packet(14, body), url)

    # --- media ---

    def png(self) -> str:
        return base64.b64encode(b"\x89PNG\r\n\x1a\n" + self.bytes(60)).decode()

    def jpeg(self) -> str:
        return base64.b64encode(b"\xff\xd8\xff\xe0" + self.bytes(60)).decode()

    def gif(self) -> str:
        return base64.b64encode(b"GIF89a" + self.bytes(60)).decode()

    # --- credentials (built at run time, never committed) ---

    def aws_key(self) -> str:
        return "AKIA" + self.text(string.ascii_uppercase + "234567", 16)

    def github_token(self) -> str:
        """ghp_ + 30 random base62 characters + their CRC32 in 6 base62 digits."""
        body = self.text(ALNUM, 30)
        crc, digits = zlib.crc32(body.encode()), ""
        for _ in range(6):
            crc, digit = divmod(crc, 62)
            digits = BASE62[digit] + digits
        return "ghp_" + body + digits

    def password(self, n: int = 24) -> str:
        return self.text(ALNUM, n - 4) + self.text("!#%*+-", 2) + self.text(ALNUM, 2)

    def secret(self) -> str:
        """A random API secret, as many services issue them (base64 of 30 bytes)."""
        return self.b64(30)

    def pem_key(self) -> str:
        body = "\n".join(self.b64(48) for _ in range(4))
        return f"{DASHES}BEGIN {PEM_LABEL}{DASHES}\n{body}\n{DASHES}END {PEM_LABEL}{DASHES}\n"


def _octets(data: bytes) -> bytes:
    """An OER variable-length octet string: a length determinant, then the bytes."""
    return _length(len(data)) + data


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


def _packet(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + _length(len(body)) + body


def _encode(raw: bytes, url: bool) -> str:
    if url:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return base64.b64encode(raw).decode()


# --- a tree shaped like a Mojaloop service's tests --------------------------------------


@dataclass(frozen=True)
class Planted:
    """A credential planted in the tree: where it is, and what it is."""

    path: str
    line: int
    what: str
    value: str  # the part that must never be shown


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _js_fixtures(g: Gen) -> str:
    transfer, cond, ful = g.uuid(), g.b64url(32), g.b64url(32)
    return f"""'use strict'
const Test = require('tapes')(require('tape'))
const Uuid = require('uuid4')

const transfer = {{
  transferId: '{transfer}',
  payerFsp: 'dfsp1',
  payeeFsp: 'dfsp2',
  amount: {{ amount: '433.88', currency: 'USD' }},
  ilpPacket: '{g.ilp_v1()}',
  condition: '{cond}',
  expiration: '2026-12-31T23:59:59.999Z',
  extensionList: {{ extension: [{{ key: 'checksum', value: '{g.hex(64)}' }}] }}
}}
const fulfil = {{
  fulfilment: '{ful}',
  completedTimestamp: '2026-12-01T10:00:00.000Z',
  transferState: 'COMMITTED'
}}
const headers = {{
  'fspiop-source': 'dfsp1',
  traceparent: '{g.traceparent()}',
  tracestate: 'acmevendor=eyJzcGFuSWQiOiIyMDNmODlmMjM3NGFhMjU2In0='
}}
const traceId = '{g.hex(32)}'
const spanId = '{g.hex(16)}'
const parentSpanId = "{g.hex(16)}"
const prepare = Buffer.from('{g.ilp_prepare()}', 'base64')
const fulfilPacket = Buffer.from('{g.ilp_fulfil()}', 'base64')
const rejectPacket = Buffer.from('{g.ilp_reject(url=True)}', 'base64')
const executionCondition = "{g.b64(32)}"
const fulfillment = "{g.b64(32)}"
const quote = {{ quoteId: "{g.uuid()}", transactionId: "{g.uuid()}", ilpCondition: "{cond}" }}
const bundle = {{ sha256: '{g.hex(64)}', md5: '{g.hex(32)}', commit: '{g.hex(40)}' }}
const logo = '{g.png()}'
const avatar = 'data:image/jpeg;base64,{g.jpeg()}'
const spinner = "{g.gif()}"

Test('transfer', async t => {{
  t.equal(transfer.transferId, '{transfer}')
  t.end()
}})
"""


def _postman_collection(g: Gen) -> str:
    body = json.dumps({"transferId": g.uuid(), "payerFsp": "payerfsp", "payeeFsp": "payeefsp",
                       "amount": {"amount": "100", "currency": "USD"},
                       "ilpPacket": g.ilp_v1(), "condition": g.b64url(32),
                       "expiration": "2026-12-31T23:59:59.999Z"}, indent=2)
    request = {
        "method": "POST",
        "header": [
            {"key": "Content-Type",
             "value": "application/vnd.interoperability.transfers+json;version=1.1"},
            {"key": "traceparent", "value": g.traceparent()},
            {"key": "FSPIOP-Source", "value": "payerfsp"},
        ],
        "body": {"mode": "raw", "raw": body},
        "url": {"raw": "{{HOST_ML_API_ADAPTER}}/transfers", "host": ["{{HOST_ML_API_ADAPTER}}"]},
    }
    tests = [f'pm.environment.set("fulfilment", "{g.b64url(32)}")',
             f'pm.environment.set("traceId", "{g.hex(32)}")']
    collection = {
        "info": {"_postman_id": g.uuid(), "name": "Golden Path",
                 "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "item": [{"name": "Send transfer", "request": request,
                  "event": [{"listen": "test", "script": {"type": "text/javascript",
                                                          "exec": tests}}]}],
    }
    return json.dumps(collection, indent="\t") + "\n"


def _postman_environment(g: Gen, password: str | None) -> str:
    values = [("transferId", g.uuid()), ("condition", g.b64url(32)),
              ("fulfilment", g.b64url(32)), ("ilpPacket", g.ilp_v1()),
              ("traceparent", g.traceparent())]
    if password is not None:
        values.append(("hubOperatorPassword", password))
    env = {"id": g.uuid(), "name": "local",
           "values": [{"key": k, "value": v, "type": "default", "enabled": True}
                      for k, v in values]}
    return json.dumps(env, indent=2) + "\n"


def _shell_script(g: Gen, token: str | None) -> str:
    tp, cond, pkt, tid = g.traceparent(), g.b64url(32), g.ilp_v1(), g.uuid()
    export = f"export GITHUB_TOKEN={token}" if token else 'echo "token from the CI secret"'
    return f"""#!/usr/bin/env bash
set -euo pipefail
TRACEPARENT="{tp}"
TRACE_ID={g.hex(32)}
{export}
curl -sf -X POST "$HOST/transfers" \\
  -H "traceparent: {g.traceparent()}" \\
  -H 'Content-Type: application/vnd.interoperability.transfers+json;version=1.1' \\
  -H "FSPIOP-Source: payerfsp" \\
  -d '{{"transferId":"{tid}","condition":"{cond}","ilpPacket":"{pkt}"}}'
echo "{g.hex(64)}  central-ledger.tgz" | sha256sum -c -
docker pull mojaloop/central-ledger@sha256:{g.hex(64)}
"""


def _package_lock(g: Gen) -> str:
    packages = {"": {"name": "central-ledger", "version": "17.0.0"}}
    for name in ("uuid4", "tape", "tapes", "@mojaloop/sdk-standard-components", "knex"):
        packages[f"node_modules/{name}"] = {
            "version": "1.2.3",
            "resolved": f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-1.2.3.tgz",
            "integrity": g.sri("sha512") if name != "tape" else g.sri("sha1"),
        }
    lock = {"name": "central-ledger", "version": "17.0.0", "lockfileVersion": 3,
            "requires": True, "packages": packages}
    return json.dumps(lock, indent=2) + "\n"


def mojaloop_tree(seed: int = 16, *, plant: bool = True) -> tuple[dict[str, str], list[Planted]]:
    """A Mojaloop service's test suite in miniature (identifiers everywhere), with real-
    looking credentials planted among them (``plant``): (files, the credentials)."""
    g = Gen(seed)
    password, token, aws = g.secret(), g.github_token(), g.aws_key()
    # a URL's password is percent-encoded: none of :/?#[]@ in it
    db_password, config_password, key = g.text(ALNUM + "-._~", 22), g.secret(), g.pem_key()
    fixtures = _js_fixtures(g)
    database = {"HOST": "localhost", "USER": "central"}
    files = {
        "package.json": json.dumps({"name": "central-ledger", "version": "17.0.0",
                                    "gitHead": g.hex(40)}, indent=2) + "\n",
        "package-lock.json": _package_lock(g),
        "test/postman/Golden_Path.postman_collection.json": _postman_collection(g),
        "docs/index.html": f'<img src="data:image/png;base64,{g.png()}" alt="logo">\n',
        ".github/workflows/test.yml": f"jobs:\n  test:\n    steps:\n"
                                      f"      - uses: actions/checkout@{g.hex(40)}\n",
        "test/unit/domain/transfer/index.test.js": fixtures,
        "test/postman/environments/local.postman_environment.json":
            _postman_environment(g, password if plant else None),
        "test/scripts/transfer.sh": _shell_script(g, token if plant else None),
        "config/test.json": json.dumps({"PORT": 3001, "DATABASE": database}, indent=2) + "\n",
    }
    if not plant:
        return files, []
    files["test/unit/domain/transfer/index.test.js"] += (
        f"\nconst s3 = {{ region: 'eu-west-1', accessKeyId: '{aws}' }}\n")
    files["test/unit/lib/db.test.js"] = (
        "module.exports = { client: 'mysql', connection: "
        f"'mysql://central_ledger:{db_password}@localhost:3306/central_ledger' }}\n")
    files["test/fixtures/keys/dfsp1.key"] = key
    database["PASSWORD"] = config_password
    files["config/test.json"] = json.dumps({"PORT": 3001, "DATABASE": database}, indent=2)
    body = key.split("\n")[1]  # what must never be shown of the key: its body
    planted = [
        Planted(path, _line_of(files[path], needle), what, shown)
        for path, needle, shown, what in (
            ("test/unit/domain/transfer/index.test.js", aws, aws, "AWS access key id"),
            ("test/unit/lib/db.test.js", db_password, db_password,
             "password in a connection URL"),
            ("test/postman/environments/local.postman_environment.json", password, password,
             "password in a Postman environment"),
            ("test/scripts/transfer.sh", token, token, "GitHub token"),
            ("test/fixtures/keys/dfsp1.key", "BEGIN", body, "RSA private key"),
            ("config/test.json", config_password, config_password, "database password"),
        )
    ]
    return files, planted


# --- unit: every shape, every context --------------------------------------------------

# (id, builder(gen) -> (value, line), what the note must say): graded LOW as identifiers
# by an entropy engine, and by a provider pattern too.
Case = Callable[[Gen], tuple[str, str]]


def _on(template: str, make: Callable[[Gen], str]) -> Case:
    """A case: the value ``make`` draws, written into the line ``template`` ({v})."""
    def build(g: Gen) -> tuple[str, str]:
        value = make(g)
        return value, template.format(v=value)
    return build


def _part(template: str, make: Callable[[Gen], str], pick: Callable[[str], str]) -> Case:
    """A case where the engine reported only part of a structure on the line."""
    def build(g: Gen) -> tuple[str, str]:
        whole = make(g)
        return pick(whole), template.format(v=whole)
    return build


# (id, case, what the note says, whether a provider pattern's match there is an identifier
# too: True for structures and named shapes, False for a bare shape no name explains)
IDENTIFIERS: list[tuple[str, Case, str, bool]] = [
    ("md5-checksum", _on('  "checksum": "{v}",', lambda g: g.hex(32)), "MD5 hash", True),
    ("sha1-key", _on("sha1: {v}", lambda g: g.hex(40)), "SHA-1", True),
    ("sha256-key", _on('{{ sha256: "{v}" }}', lambda g: g.hex(64)), "SHA-256", True),
    ("sha512-digest", _on("digest = '{v}'", lambda g: g.hex(128)), "SHA-512", True),
    ("sha384-hash", _on("fileHash: {v}", lambda g: g.hex(96)), "SHA-384", True),
    ("etag", _on('ETag: "{v}"', lambda g: g.hex(32)), "entity tag", True),
    ("sha256-unnamed", _on("const x = '{v}'", lambda g: g.hex(64)), "SHA-256", False),
    ("sha256sum-line", _on("echo '{v}  app.tgz' | sha256sum -c", lambda g: g.hex(64)),
     "SHA-256", False),
    ("integrity-sha512", _on('"integrity": "{v}",', lambda g: g.sri("sha512")),
     "Subresource Integrity", True),
    ("integrity-sha384", _on('<script integrity="{v}">', lambda g: g.sri("sha384")),
     "Subresource Integrity", True),
    ("integrity-sha256", _on("integrity: {v}", lambda g: g.sri("sha256")),
     "Subresource Integrity", True),
    ("integrity-sha1", _on('"integrity": "{v}"', lambda g: g.sri("sha1")),
     "Subresource Integrity", True),
    ("integrity-body-only", _part('"integrity": "{v}"', lambda g: g.sri("sha512"),
                                  lambda w: w[7:]), "Subresource Integrity", True),
    ("labelled-digest", _part("image: mojaloop/central-ledger@{v}",
                              lambda g: "sha256:" + g.hex(64), lambda w: w[7:]),
     "labelled digest", True),
    ("report-hash", _part('"hash":"{v}"', lambda g: "sha1:" + g.hex(40), lambda w: w[5:]),
     "labelled digest", True),
    ("uuid-transfer-id", _on("transferId: '{v}',", lambda g: g.uuid()), "UUID", True),
    ("uuid-unnamed", _on("Test('{v}')", lambda g: g.uuid()), "UUID", False),
    # a git name makes a commit pin (issue 20), never a cover for a provider's format
    ("git-head", _on('"gitHead": "{v}"', lambda g: g.hex(40)), "git object id", False),
    ("git-commit", _on("commit: {v}", lambda g: g.hex(40)), "git object id", False),
    ("git-sha256-oid", _on("oid = '{v}'", lambda g: g.hex(64)), "git object id", False),
    ("pre-commit-rev", _on("    rev: {v}  # frozen: v1.2.3", lambda g: g.hex(40)),
     "git object id", False),
    ("git-action-pin", _on("- uses: actions/checkout@{v}", lambda g: g.hex(40)),
     "git object id", False),
    ("traceparent-header", _on("curl -H 'traceparent: {v}' $HOST", lambda g: g.traceparent()),
     "W3C traceparent", True),
    ("traceparent-unnamed", _on("const h = '{v}'", lambda g: g.traceparent()),
     "W3C traceparent", True),
    ("traceparent-trace-part", _part('{{"key": "traceparent", "value": "{v}"}}',
                                     lambda g: g.traceparent(), lambda w: w[3:35]),
     "W3C traceparent", True),
    ("trace-id", _on("const traceId = '{v}'", lambda g: g.hex(32)), "W3C trace id", True),
    ("b3-trace-id", _on("X-B3-TraceId: {v}", lambda g: g.hex(32)), "W3C trace id", True),
    ("span-id", _on("spanId: '{v}'", lambda g: g.hex(16)), "W3C span id", True),
    ("parent-span-id", _on('"parentSpanId": "{v}"', lambda g: g.hex(16)), "W3C span id", True),
    ("ilp-condition", _on("  condition: '{v}',", lambda g: g.b64url(32)), "ILP condition",
     True),
    ("ilp-condition-std", _on('"executionCondition": "{v}"', lambda g: g.b64(32)),
     "ILP condition", True),
    ("ilp-condition-escaped", _on(r'"raw": "{{\n  \"condition\": \"{v}\",\n}}"',
                                  lambda g: g.b64url(32)), "ILP condition", True),
    # detect-secrets' alphabet has the backslash: the escape of the closing quote comes along
    ("ilp-condition-escaped-tail", _part(r'"raw": "{{\n  \"condition\": \"{v}\",\n}}"',
                                         lambda g: g.b64url(32), lambda w: w + "\\"),
     "ILP condition", True),
    ("ilp-fulfilment", _on("  fulfilment: '{v}',", lambda g: g.b64url(32)), "ILP fulfilment",
     True),
    ("ilp-fulfillment", _on('{{"fulfillment": "{v}"}}', lambda g: g.b64(32)),
     "ILP fulfilment", True),
    ("ilp-fulfilment-postman", _on('pm.environment.set("fulfilment", "{v}")',
                                   lambda g: g.b64url(32)), "ILP fulfilment", True),
    ("ilp-condition-unnamed", _on("foo('{v}')", lambda g: g.b64url(32)), "ILP condition",
     False),
    ("ilp-v1-packet", _on("  ilpPacket: '{v}',", lambda g: g.ilp_v1()), "ILP packet", True),
    ("ilp-v1-unnamed", _on("const p = '{v}'", lambda g: g.ilp_v1()), "ILP packet", True),
    ("ilp-v1-std-b64", _on('"packet": "{v}"', lambda g: g.ilp_v1(url=False)), "ILP packet",
     True),
    ("ilp-prepare", _on("Buffer.from('{v}', 'base64')", lambda g: g.ilp_prepare()),
     "ILP prepare packet", True),
    ("ilp-fulfil", _on("Buffer.from('{v}', 'base64')", lambda g: g.ilp_fulfil()),
     "ILP fulfil packet", True),
    ("ilp-reject", _on("Buffer.from('{v}', 'base64')", lambda g: g.ilp_reject(url=True)),
     "ILP reject packet", True),
    # a structure is an identifier whatever name it is given
    ("ilp-under-token", _on("token: '{v}'", lambda g: g.ilp_v1()), "ILP packet", True),
    ("png", _on("const logo = '{v}'", lambda g: g.png()), "PNG image", True),
    ("jpeg", _on('"avatar": "{v}"', lambda g: g.jpeg()), "JPEG image", True),
    ("gif", _on('spinner = "{v}"', lambda g: g.gif()), "GIF image", True),
    ("data-uri", _part('<img src="{v}">', lambda g: "data:image/png;base64," + g.png(),
                       lambda w: w[22:]), "data: URI", True),
    ("data-uri-font", _part("src: url({v})", lambda g: "data:font/woff2;base64," + g.b64(60),
                            lambda w: w[23:]), "data: URI", True),
    ("gate-fingerprint", _on("    fingerprint: {v}", lambda g: g.hex(32)), "fingerprint",
     True),
    ("gate-report-fingerprint", _on('"fingerprint":"{v}",', lambda g: g.hex(32)),
     "fingerprint", True),
    ("sarif-partial-fingerprint", _on('"policyGate/v1": "{v}"', lambda g: g.hex(32)),
     "fingerprint", False),
    # an identifier's name wins over a credential word before it
    ("password-hash", _on("password_hash: '{v}'", lambda g: g.hex(64)), "SHA-256", True),
    ("api-key-id", _on("apiKeyId = '{v}'", lambda g: g.uuid()), "UUID", True),
    ("client-id", _on("CLIENT_ID={v}", lambda g: g.uuid()), "UUID", True),
]


@pytest.mark.parametrize(
    ("case", "expected", "for_providers"),
    [pytest.param(c, e, p, id=i) for i, c, e, p in IDENTIFIERS],
)
def test_identifiers_are_low_confidence(case: Case, expected: str, for_providers: bool) -> None:
    """Each identifier, in 20 random draws: LOW with a note naming it, from an entropy
    engine; from a provider pattern too unless only the bare shape made it one."""
    for seed in range(20):
        value, line = case(Gen(seed))
        for provider in (False, True):
            got = grade(provider, value, line, "test/unit/fixtures.test.js")
            if provider and not for_providers:
                assert got.confidence == Confidence.HIGH, (seed, got)
                continue
            assert got.confidence == Confidence.LOW, (seed, provider, got)
            assert got.note is not None and expected in got.note, (seed, got)
            assert got.note.endswith("(an identifier, not a secret)"), got
            assert identifier(value, line, unnamed=not provider) is not None


def _secret(g: Gen) -> str:
    return g.secret()


# (id, case, the confidence an entropy engine's hit gets there, what the note says)
CONTEXTS: list[tuple[str, Case, Confidence, str]] = [
    ("python-assignment", _on('DB_PASSWORD = "{v}"', _secret), Confidence.MEDIUM, "name"),
    ("js-object", _on("  clientSecret: '{v}',", _secret), Confidence.MEDIUM, "name"),
    ("json", _on('  "api_key": "{v}",', _secret), Confidence.MEDIUM, "name"),
    ("yaml", _on("access-key: {v}", _secret), Confidence.MEDIUM, "name"),
    ("dotenv", _on("AUTH_TOKEN={v}", _secret), Confidence.MEDIUM, "name"),
    ("shell-export", _on('export HUB_PASSWD="{v}"', _secret), Confidence.MEDIUM, "name"),
    ("dockerfile-env", _on("ENV SIGNING_KEY {v}", _secret), Confidence.MEDIUM, "name"),
    ("ini", _on("passphrase = {v}", _secret), Confidence.MEDIUM, "name"),
    ("properties", _on("spring.datasource.password={v}", _secret), Confidence.MEDIUM, "name"),
    ("go-short-assign", _on('apiKey := "{v}"', _secret), Confidence.MEDIUM, "name"),
    ("java-setter", _on('config.setPassword("{v}");', _secret), Confidence.MEDIUM, "name"),
    ("java-builder", _on('.privateKey("{v}")', _secret), Confidence.MEDIUM, "name"),
    ("keyword-argument", _on('SendGridAPIClient(api_key="{v}")', _secret),
     Confidence.MEDIUM, "name"),
    ("call-argument", _on('NewStaticCredentials("id", "{v}", "")', _secret),
     Confidence.MEDIUM, "name"),
    ("header-argument", _on("req.setHeader('X-Api-Key', '{v}')", _secret),
     Confidence.MEDIUM, "name"),
    ("curl-header", _on('curl -H "x-auth-token: {v}" $HOST', _secret), Confidence.MEDIUM,
     "name"),
    ("cli-flag", _on("mysql --password={v} central", _secret), Confidence.MEDIUM, "name"),
    ("cli-flag-space", _on("cli login --token {v}", _secret), Confidence.MEDIUM, "name"),
    ("xml-element", _on("<password>{v}</password>", _secret), Confidence.MEDIUM, "name"),
    ("xml-attribute", _on('<add key="x" secret="{v}"/>', _secret), Confidence.MEDIUM, "name"),
    ("php-array", _on("'db_password' => '{v}',", _secret), Confidence.MEDIUM, "name"),
    ("ruby-symbol", _on("credentials: '{v}'", _secret), Confidence.MEDIUM, "name"),
    ("bare-key", _on("{{ key: '{v}' }}", _secret), Confidence.MEDIUM, "name"),
    ("postman-one-line", _on('{{"key": "hubPassword", "value": "{v}"}}', _secret),
     Confidence.MEDIUM, "name"),
    ("bearer", _on("Authorization: Bearer {v}", _secret), Confidence.MEDIUM, "Authorization"),
    ("basic", _on("headers: {{ Authorization: 'Basic {v}' }}", _secret), Confidence.MEDIUM,
     "Authorization"),
    ("url-userinfo", _on("const db = 'postgres://central:{v}@db:5432/ledger'", _secret),
     Confidence.HIGH, "URL's password"),
    ("url-value", _on("DSN={v}", lambda g: f"mongodb://u:{g.password()}@mongo/db"),
     Confidence.HIGH, "URL's password"),
    ("pem-line", _on(f'key = "{DASHES}BEGIN {PEM_LABEL}{DASHES}\\n{{v}}"', _secret),
     Confidence.HIGH, "private key"),
    # a credential's name wins over a shape identifiers have too
    ("hex-secret", _on('api_secret = "{v}"', lambda g: g.hex(32)), Confidence.MEDIUM, "name"),
    ("uuid-api-key", _on("HEROKU_API_KEY={v}", lambda g: g.uuid()), Confidence.MEDIUM, "name"),
    ("b64-32-secret", _on("secret_key: '{v}'", lambda g: g.b64(32)), Confidence.MEDIUM,
     "name"),
    ("sha1-length-token", _on("export NPM_TOKEN={v}", lambda g: g.hex(40)), Confidence.MEDIUM,
     "name"),
]


@pytest.mark.parametrize(
    ("case", "confidence", "note"), [pytest.param(c, k, n, id=i) for i, c, k, n in CONTEXTS]
)
def test_credential_context_is_over_the_threshold(
    case: Case, confidence: Confidence, note: str
) -> None:
    """An entropy engine's hit in credential context is MEDIUM (HIGH for a URL's password
    or a private key); a provider pattern's HIGH; a keyword engine's at least MEDIUM."""
    for seed in range(20):
        value, line = case(Gen(seed))
        got = grade(False, value, line, "src/config.js")
        assert got.confidence == confidence, (seed, line, got)
        assert got.note is not None and note in got.note, got
        assert grade(True, value, line).confidence == Confidence.HIGH
        assert grade(False, value, line, keyword=True).confidence >= Confidence.MEDIUM


def test_postman_pair_over_two_lines() -> None:
    """Postman environments print {"key": …, "value": …} one field a line: the name is on
    the line above (``before``)."""
    g = Gen(1)
    value = g.secret()
    line = f'      "value": "{value}",'
    assert grade(False, value, line).confidence == Confidence.LOW
    got = grade(False, value, line, before='      "key": "hubOperatorPassword",')
    assert got.confidence == Confidence.MEDIUM
    cond = g.b64url(32)
    assert grade(False, cond, f'      "value": "{cond}",',
                 before='      "key": "condition",').note == (
        "looks like an ILP condition (an identifier, not a secret)")


# Entropy alone: LOW, whatever the value's alphabet, with the reason in the note.
NO_CONTEXT_LINES = [
    "const x = '{v}'", "foo('{v}')", "  payload: '{v}',", '"data": "{v}"', "publicKey: '{v}'",
    "cacheKey = '{v}'", "idempotencyKey: '{v}'", "author: '{v}'", "tracestate: 'vendor={v}'",
    'protectedHeader: "{v}"', "description: {v}", "- {v}", "<value>{v}</value>",
    "pm.environment.set('payload', '{v}')", "echo {v}",
]


@pytest.mark.parametrize("template", NO_CONTEXT_LINES)
def test_entropy_alone_is_low(template: str) -> None:
    g = Gen(7)
    for _ in range(20):
        value = g.text(ALNUM + "+/", g.rng.randrange(20, 80))
        got = grade(False, value, template.format(v=value), "test/data.js")
        assert got.confidence == Confidence.LOW, (template, got)
        assert got.note is not None and (got.note == NO_CONTEXT or "identifier" in got.note)
        # a provider's format keeps its grade there; a keyword engine's is MEDIUM
        assert grade(True, value, template.format(v=value)).confidence == Confidence.HIGH
        assert grade(False, value, template.format(v=value),
                     keyword=True).confidence == Confidence.MEDIUM


@pytest.mark.parametrize(("name", "credential"), [
    ("password", True), ("DB_PASSWORD", True), ("passwd", True), ("pwd", True),
    ("secret", True), ("clientSecret", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("token", True), ("authToken", True), ("x-api-key", True), ("apiKey", True),
    ("API_KEY", True), ("accessKey", True), ("private_key", True), ("credentials", True),
    ("auth", True), ("Authorization", True), ("bearer", True), ("signingKey", True),
    ("STORAGE_ACCOUNT_KEY", True), ("key", True), ("hubOperatorPassword", True),
    ("publicKey", False), ("cacheKey", False), ("idempotencyKey", False), ("tokenId", False),
    ("accessKeyId", False), ("password_hash", False), ("secretSha256", False),
    ("author", False), ("authority", False), ("monkey", False), ("keyboard", False),
    ("transferId", False), ("condition", False), ("value", False), ("data", False),
])
def test_credential_names(name: str, credential: bool) -> None:
    from policy_gate.scanners.secret_shapes import credential_name
    assert credential_name(name) is credential


def test_names_found_on_the_line() -> None:
    assert names_for("V", 'x = foo(a, "X-Api-Key", "V")') == ["foo"]  # a first argument only
    assert names_for("V", 'setHeader("X-Api-Key", "V")') == ["X-Api-Key", "setHeader"]
    assert names_for("V", '{"key": "dbPassword", "value": "V"}') == ["dbPassword", "value"]
    assert names_for("V", "  password: 'V'") == ["password"]
    assert names_for("V", "no value here") == []


def test_random_values_are_no_structure() -> None:
    """A structure is an identifier whatever its name (an ILP packet under `token:`): no
    random credential may look like one. 20,000 random base64/hex/alnum values of every
    length from 16 to 200: none is taken for an ILP packet, an image or a traceparent."""
    g = Gen(99)
    alphabets = (ALNUM + "+/", ALNUM + "-_", "0123456789abcdef", ALNUM)
    taken = []
    for i in range(20_000):
        value = g.text(alphabets[i % 4], 16 + i % 185)
        what = identifier(value, f"token: '{value}'", unnamed=False)
        if what is not None:
            taken.append(what)
    assert taken == []


def test_notes_never_quote_the_value_or_the_line() -> None:
    g = Gen(5)
    for i, (_, case, *_) in enumerate([*IDENTIFIERS, *CONTEXTS]):
        value, line = case(Gen(i))
        for provider in (False, True):
            note = grade(provider, value, line, "p").note or ""
            assert not any(value[k : k + 8] in note for k in range(max(1, len(value) - 7)))
    secret = g.secret()
    assert secret[:8] not in (grade(False, secret, f"{secret} = '{secret}'").note or "")


def test_a_megabyte_line_is_graded_by_the_part_around_the_value() -> None:
    g = Gen(3)
    cond = g.b64url(32)
    line = "x" * 1_000_000 + f" condition: '{cond}' " + "y" * 1_000_000
    assert grade(False, cond, line).confidence == Confidence.LOW
    secret = g.secret()
    line = "x" * 1_000_000 + f" password: '{secret}' "
    assert grade(False, secret, line).confidence == Confidence.MEDIUM


# --- the detect-secrets adapter's use of it ---------------------------------------------


def test_detect_secrets_grading() -> None:
    g = Gen(11)
    secret, cond = g.secret(), g.b64url(32)
    shown = "(ab****yz, sha1:0123456…)"
    entropy, keyword = "Base64 High Entropy String", "Secret Keyword"
    conf, message = graded(entropy, Confidence.LOW, cond, f"condition: '{cond}'", "t.js", shown)
    assert conf == Confidence.LOW
    assert message.startswith(f"{entropy} {shown}, graded low confidence: looks like an ILP")
    assert cond not in message
    conf, message = graded(entropy, Confidence.LOW, secret, f"token: '{secret}'", "t.js", shown)
    assert conf == Confidence.MEDIUM and "Rotate it" in message
    conf, _ = graded(keyword, Confidence.LOW, secret, f"token = '{secret}'", "t.py", shown)
    assert conf == Confidence.MEDIUM
    # a provider format keeps the engine's own grade (a JWT is MEDIUM in detect-secrets)
    conf, _ = graded("JSON Web Token", Confidence.MEDIUM, secret, f"x = '{secret}'", "t", shown)
    assert conf == Confidence.MEDIUM
    conf, _ = graded("AWS Access Key", Confidence.HIGH, secret, f"x = '{secret}'", "t", shown)
    assert conf == Confidence.HIGH
    # a value not found on its line cannot be told from a credential: it fails closed
    conf, message = graded(entropy, Confidence.LOW, None, "", "t", shown)
    assert conf == Confidence.MEDIUM and "not told apart" in message


# --- gate runs: the real engines on whole trees ------------------------------------------

# The secret engines under test: detect-secrets, and kingfisher once its adapter is in
# the catalogue (it becomes the default engine: issue 16, decision 1).
ENGINES = [name for name in ("detect-secrets", "kingfisher") if name in BY_NAME]


def engine_policy(where: Path, engine: str) -> Path:
    """builtin:mojaloop (offline snapshot) with ``engine`` the only secret engine."""
    lines = ["version: 1", f"extends: {OFFLINE_POLICY}", f"name: only-{engine}", "scanners:"]
    lines += [f"  {name}: {{enabled: {str(name == engine).lower()}}}" for name in ENGINES]
    path = where / f"only-{engine}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_engine(gate: Callable[..., GateRun], root: Path, engine: str, policy: Path) -> GateRun:
    run = gate(root, "--policy", str(policy), "--scanner", engine, "--scanner",
               "data-protection", env={"POLICY_GATE_TODAY": "2026-12-01"})
    assert run.report is not None and run.code in (0, 1), run.output
    scanner = run.scanner(engine)
    assert scanner["status"] == "ok", scanner
    assert scanner["raw_results"] == scanner["results_in_report"], scanner  # nothing lost
    return run


def secret_violations(run: GateRun) -> set[tuple[str, int]]:
    return {(f["path"], f["start_line"]) for f in run.findings(category="secret",
                                                              status="violation")}


def assert_never_shown(run: GateRun, values: list[str]) -> None:
    everything = run.output + json.dumps(run.report)
    for value in values:
        assert value not in everything


@pytest.mark.parametrize("engine", ENGINES)
def test_mojaloop_shaped_tests_fail_only_on_the_planted_credentials(
    engine: str, tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """The issue's tree: a service's test suite full of ILP conditions, fulfilments and
    packets, trace ids, UUIDs, checksums and SRI hashes gives 0 secret violations from
    identifiers; the credentials planted among them are violations, each one."""
    files, planted = mojaloop_tree()
    root = make_tree(tmp_path / "central-ledger", dict(files))
    run = run_engine(gate, root, engine, engine_policy(tmp_path, engine))
    expected = {(p.path, p.line) for p in planted}
    got = secret_violations(run)
    assert got - expected == set(), f"identifiers failed the gate: {sorted(got - expected)}"
    missed = [p.what for p in planted if (p.path, p.line) not in got]
    assert missed == [], f"{engine} let planted credentials pass: {missed}"
    assert run.code == 1
    # whatever the engine flagged besides them is reported below the threshold, with why
    for f in run.findings(category="secret"):
        if (f["path"], f["start_line"]) not in expected:
            assert f["status"] == "below-threshold" and f["confidence"] == "low", f
    assert_never_shown(run, [p.value for p in planted])


@pytest.mark.parametrize("engine", ENGINES)
def test_mojaloop_shaped_tests_without_credentials_pass(
    engine: str, tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    files, _ = mojaloop_tree(seed=61, plant=False)
    root = make_tree(tmp_path / "central-ledger", dict(files))
    run = run_engine(gate, root, engine, engine_policy(tmp_path, engine))
    assert secret_violations(run) == set()
    assert run.code == 0, run.output


TODAY = {"POLICY_GATE_TODAY": "2026-12-01"}  # the docs' waivers are valid that day


@pytest.fixture(scope="module")
def own_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """policy-gate's own files as a repository keeps them: the waivers file copied from
    docs/waivers.md, the policy, and the gate's JSON, SARIF and Markdown reports and a
    baseline of examples/ (written by the real gate, as a user would commit them)."""
    work = tmp_path_factory.mktemp("own")
    example = work / "vulnerable-service"
    shutil.copytree(REPO / "examples" / "vulnerable-service", example)
    common = ["--policy", str(OFFLINE_POLICY), "--advisories", str(EXAMPLE_ADVISORIES)]
    env = {**os.environ, **TODAY, "NO_COLOR": "1"}
    scan = [sys.executable, "-m", "policy_gate", "scan", str(example), *common]
    for fmt, name in (("json", "report.json"), ("sarif", "report.sarif"),
                      ("markdown", "report.md")):
        scan += ["--format", fmt, "--output", str(work / name)]
    proc = subprocess.run(scan, capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    baseline = [sys.executable, "-m", "policy_gate", "baseline", "create", str(example),
                *common, "--output", str(work / "baseline.json")]
    proc = subprocess.run(baseline, capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {
        ".policy-gate/waivers.yaml": _docs_waivers(),
        ".policy-gate/baseline.json": (work / "baseline.json").read_text(),
        ".policy-gate/policy.yaml": (REPO / "policies" / "mojaloop.yaml").read_text(),
        "reports/policy-gate.json": (work / "report.json").read_text(),
        "reports/policy-gate.sarif": (work / "report.sarif").read_text(),
        "reports/policy-gate.md": (work / "report.md").read_text(),
    }


def _docs_waivers() -> str:
    """The waivers file exactly as docs/waivers.md shows it (fingerprints and all)."""
    doc = (REPO / "docs" / "waivers.md").read_text()
    match = re.search(r"```yaml\n(version: 1\nwaivers:\n.*?)```", doc, re.DOTALL)
    assert match, "docs/waivers.md has no waivers file example"
    return match.group(1)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_gates_own_files_never_fail_on_their_fingerprints(
    engine: str, own_files: dict[str, str], tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """Following docs/waivers.md leads to a pass: the waivers file, the baseline, the
    policy and the gate's reports are scanned like any file (nothing is exempt by name),
    and their fingerprints and hashes are identifiers, reported below the threshold."""
    root = make_tree(tmp_path / "repo", {"README.md": "A service.\n", **own_files})
    run = run_engine(gate, root, engine, engine_policy(tmp_path, engine))
    assert secret_violations(run) == set()
    assert run.code == 0, run.output
    scanned = {f["path"] for f in run.findings(category="secret")}
    assert all(f["confidence"] == "low" for f in run.findings(category="secret"))
    if engine == "detect-secrets":  # it flags the hex fingerprints; each is graded
        assert {".policy-gate/waivers.yaml", "reports/policy-gate.json"} <= scanned


@pytest.mark.parametrize("engine", ENGINES)
def test_a_credential_in_a_waivers_reason_still_fails(
    engine: str, own_files: dict[str, str], tmp_path: Path, gate: Callable[..., GateRun]
) -> None:
    """The gate's own files are text like any other: a token pasted into a waiver's
    reason is a violation on its line, and is never shown."""
    token = Gen(4242).github_token()
    waivers = own_files[".policy-gate/waivers.yaml"].replace(
        'reason: "False positive: the command is a constant list"',
        f'reason: "False positive; CI runs it with {token}"', 1)
    assert token in waivers
    root = make_tree(tmp_path / "repo", {**own_files, ".policy-gate/waivers.yaml": waivers})
    run = run_engine(gate, root, engine, engine_policy(tmp_path, engine))
    assert secret_violations(run) == {(".policy-gate/waivers.yaml", _line_of(waivers, token))}
    assert run.code == 1
    assert_never_shown(run, [token])


B = "\\"


@pytest.mark.parametrize(("value", "line"), [
    # seen in @mojaloop/central-ledger's API.md, Onboarding.md and README.md
    ("http://central-ledger/auth_token", '    "auth_token": "http://central-ledger/auth_token",'),
    ("password", "export DB_URI=mysql://central_ledger:password@localhost:3306/central_ledger"),
    (B + "<password" + B, "| postgres://" + B + "<user" + B + ">:" + B + "<password" + B + ">@h |"),
    ("changeme", "PASSWORD=changeme"),
])
def test_a_stand_in_found_by_its_name_is_below_the_threshold(value: str, line: str) -> None:
    graded = grade(False, value, line, "docs/API.md", keyword=True)
    assert graded.confidence == Confidence.LOW and graded.note and "not a credential" in graded.note


@pytest.mark.parametrize(("value", "line"), [
    ("Quaixohyaesahju3thivuiChai5cahng", "ILP_SECRET=Quaixohyaesahju3thivuiChai5cahng"),
    ("p4ssw0rdX9", "URL=https://u:p4ssw0rdX9@h/x"),
    ("Password123!", 'password = "Password123!"'),  # a weak password is still one
    ("https://h/x?token=abcDEF123456", "URL=https://h/x?token=abcDEF123456"),
])
def test_a_credential_like_a_stand_in_still_fails(value: str, line: str) -> None:
    assert grade(False, value, line, "config.env", keyword=True).confidence >= Confidence.MEDIUM
