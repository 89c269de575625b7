"""The look-alikes of the labelled secret corpus (``secret_corpus.lookalikes()``).

Values that look random but are not credentials, in the files that really hold them:
hashes and checksums (lockfile and HTML ``integrity``, pip ``--hash``, ``go.sum``, image
digests, SHA256SUMS), UUIDs, git object ids, W3C trace and span ids and ``traceparent``,
ILP conditions, fulfilments and packets and FSPIOP JWS signatures in a Mojaloop service's
tests and Postman collection, base64 images, public keys and certificates, the gate's own
fingerprints (waivers file, baseline, a report written into the tree), placeholders and
references to the environment, and the example keys of the AWS documentation. Generated at
run time from a seeded RNG like the positives.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import struct
import zlib
from collections.abc import Callable

from tests.secret_corpus import HEX, Sample, b64, p, pick, uuid4


class Doc:
    """A file built line by line, with the lines that hold a look-alike marked."""

    def __init__(self, path: str, language: str, place: str) -> None:
        self.path, self.language, self.place = path, language, place
        self.parts: list[str] = []
        self.marks: list[tuple[int, str, str, str]] = []

    def add(self, *parts: str) -> Doc:
        self.parts.extend(parts)
        return self

    def mark(self, kind: str, value: str, text: str, place: str = "") -> Doc:
        assert value in text, (kind, text)
        self.marks.append((len(self.parts), kind, value, place or self.place))
        self.parts.append(text)
        return self

    def also(self, kind: str, value: str, place: str = "") -> Doc:
        """Mark another look-alike on the line added last."""
        assert value in self.parts[-1], kind
        self.marks.append((len(self.parts) - 1, kind, value, place or self.place))
        return self

    def samples(self) -> list[Sample]:
        text = "\n".join(self.parts) + "\n"
        starts, line = [], 1
        for part in self.parts:
            starts.append(line)
            line += part.count("\n") + 1
        return [
            Sample(kind, place, self.path, text,
                   starts[i] + self.parts[i][: self.parts[i].index(value)].count("\n"),
                   self.language, value)
            for i, kind, value, place in self.marks
        ]


# ------------------------------------------------------------------------------ values


def hexs(rng: random.Random, n: int) -> str:
    return pick(rng, HEX, n)


def sri(rng: random.Random, alg: str) -> str:
    return f"{alg}-" + b64(rng.randbytes({"sha256": 32, "sha384": 48, "sha512": 64}[alg]))


def oer_length(n: int) -> bytes:
    if n < 128:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def var_octets(data: bytes) -> bytes:
    return oer_length(len(data)) + data


def ilp(rng: random.Random) -> tuple[str, str, str]:
    """(fulfilment, condition, packet) as a Mojaloop test fixture has them: the condition
    is the SHA-256 of the fulfilment, the packet an ILPv4 Prepare (OER, base64url) whose
    data is the base64url transaction object."""
    preimage = rng.randbytes(32)
    condition = hashlib.sha256(preimage).digest()
    tx = {"transactionId": uuid4(rng), "quoteId": uuid4(rng),
          "payee": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "27713803912",
                                    "fspId": "payeefsp"}},
          "payer": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "44123456789",
                                    "fspId": "payerfsp"}},
          "amount": {"amount": "100", "currency": "USD"},
          "transactionType": {"scenario": "TRANSFER", "initiator": "PAYER",
                              "initiatorType": "CONSUMER"}}
    data = b64(json.dumps(tx, separators=(",", ":")).encode(), urlsafe=True, pad=False)
    content = ((10000).to_bytes(8, "big") + b"20301231235959999" + condition
               + var_octets(b"g.payeefsp.msisdn.27713803912") + var_octets(data.encode()))
    packet = b64(bytes([12]) + var_octets(content), urlsafe=True, pad=False)
    return (b64(preimage, urlsafe=True, pad=False), b64(condition, urlsafe=True, pad=False),
            packet)


def traceparent(rng: random.Random) -> tuple[str, str, str]:
    trace, span = hexs(rng, 32), hexs(rng, 16)
    return trace, span, f"00-{trace}-{span}-01"


def png(rng: random.Random, size: int = 12) -> str:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data)))

    raw = b"".join(b"\0" + rng.randbytes(size * 3) for _ in range(size))
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
    return b64(b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(raw))
               + chunk(b"IEND", b""))


def armored(label: str, der: bytes) -> list[str]:
    body = b64(der)
    dash = "-" * 5
    return [f"{dash}BEGIN {label}{dash}", *[body[i : i + 64] for i in range(0, len(body), 64)],
            f"{dash}END {label}{dash}"]


def jws_signature(rng: random.Random) -> tuple[str, str]:
    header = {"alg": "RS256", "FSPIOP-Source": "payerfsp", "FSPIOP-Destination": "payeefsp",
              "FSPIOP-URI": "/transfers", "FSPIOP-HTTP-Method": "POST",
              "Date": "Tue, 23 May 2017 21:12:31 GMT"}
    protected = b64(json.dumps(header).encode(), urlsafe=True, pad=False)
    return protected, b64(rng.randbytes(256), urlsafe=True, pad=False)


# ------------------------------------------------------------------------------ files


def lockfiles(rng: random.Random) -> list[Doc]:
    lock = Doc("web/package-lock.json", "json", "lockfile integrity (SRI)")
    lock.add("{", '  "name": "web",', '  "version": "1.0.0",', '  "lockfileVersion": 3,',
             '  "packages": {', '    "": {"name": "web", "version": "1.0.0"},')
    names = ["axios", "express", "joi", "uuid", "ws", "moment", "lodash", "debug", "ms",
             "qs", "mime", "bytes", "depd", "statuses", "vary", "etag"]
    for i, name in enumerate(names):
        value = sri(rng, "sha512")
        lock.add(f'    "node_modules/{name}": {{', f'      "version": "1.{i}.0",',
                 f'      "resolved": "https://registry.npmjs.org/{name}/-/{name}-1.{i}.0.tgz",')
        lock.mark("sri-integrity", value, f'      "integrity": "{value}",')
        lock.add('      "license": "MIT"', "    }" + ("," if i < len(names) - 1 else ""))
    lock.add("  }", "}")
    pnpm = Doc("web/pnpm-lock.yaml", "yaml", "lockfile integrity (SRI)")
    pnpm.add("lockfileVersion: '9.0'", "", "packages:", "")
    for name in ("chalk@5.3.0", "commander@12.0.0", "dotenv@16.4.5", "pino@9.0.0"):
        value = sri(rng, "sha512")
        pnpm.add(f"  {name}:")
        pnpm.mark("sri-integrity", value, f"    resolution: {{integrity: {value}}}")
        pnpm.add("    engines: {node: '>=18'}", "")
    reqs = Doc("requirements/base.txt", "text", "pip --hash")
    for name, version in (("requests", "2.31.0"), ("urllib3", "2.2.1"), ("idna", "3.7"),
                          ("certifi", "2024.2.2"), ("charset-normalizer", "3.3.2"),
                          ("pyyaml", "6.0.1")):
        value = hexs(rng, 64)
        reqs.add(f"{name}=={version} \\").mark("pip-hash", value, f"    --hash=sha256:{value}")
    gosum = Doc("go.sum", "text", "go.sum hash")
    for mod in ("github.com/google/uuid v1.6.0", "github.com/gorilla/mux v1.8.1",
                "github.com/rs/zerolog v1.32.0", "golang.org/x/sys v0.19.0",
                "github.com/stretchr/testify v1.9.0", "gopkg.in/yaml.v3 v3.0.1",
                "github.com/jackc/pgx/v5 v5.5.5", "go.opentelemetry.io/otel v1.26.0"):
        for suffix in ("", "/go.mod"):
            value = "h1:" + b64(rng.randbytes(32))
            gosum.mark("go-sum", value, f"{mod}{suffix} {value}")
    return [lock, pnpm, reqs, gosum]


def checksums(rng: random.Random) -> list[Doc]:
    sums = Doc("dist/SHA256SUMS", "text", "checksum file")
    for name in ("ml-cli-linux-amd64", "ml-cli-linux-arm64", "ml-cli-darwin-arm64",
                 "ml-cli-windows-amd64.exe", "ml-cli.tar.gz", "ml-cli.sbom.json",
                 "ml-cli.sbom.json.sig", "ml-cli.zip"):
        value = hexs(rng, 64)
        sums.mark("sha256-checksum", value, f"{value}  {name}")
    docker = Doc("build/Dockerfile", "dockerfile", "Dockerfile")
    digest, node_sum = hexs(rng, 64), hexs(rng, 64)
    docker.mark("image-digest", digest, f"FROM node:20.11-alpine@sha256:{digest}")
    docker.mark("sha256-checksum", node_sum, f"ARG YQ_SHA256={node_sum}")
    docker.add("ADD https://github.com/mikefarah/yq/releases/download/v4.43.1/yq_linux_amd64 "
               "/usr/local/bin/yq",
               'RUN echo "${YQ_SHA256}  /usr/local/bin/yq" | sha256sum -c - '
               "&& chmod +x /usr/local/bin/yq")
    py = Doc("tests/test_download.py", "python", "assignment")
    sha, md5 = hexs(rng, 64), hexs(rng, 32)
    py.add('"""The release archive is the one we signed."""', "import hashlib", "")
    py.mark("sha256-checksum", sha, f'EXPECTED_SHA256 = "{sha}"')
    py.mark("md5-checksum", md5, f'LEGACY_MD5 = "{md5}"')
    py.add("", "", "def test_archive_digest(archive: bytes) -> None:",
           "    assert hashlib.sha256(archive).hexdigest() == EXPECTED_SHA256")
    js = Doc("src/verify.js", "javascript", "object literal")
    sha1 = hexs(rng, 40)
    js.add("'use strict'", "const crypto = require('crypto')", "", "const KNOWN = {")
    js.mark("sha1-checksum", sha1, f"  'schema.json': '{sha1}'")
    js.add("}", "", "module.exports = (name, body) =>",
           "  crypto.createHash('sha1').update(body).digest('hex') === KNOWN[name]")
    java = Doc("src/main/java/org/mojaloop/release/Checksums.java", "java", "assignment")
    jsha = hexs(rng, 64)
    java.add("package org.mojaloop.release;", "", "final class Checksums {")
    java.mark("sha256-checksum", jsha, f'    static final String BUNDLE_SHA256 = "{jsha}";')
    java.add("}")
    html = Doc("web/public/index.html", "html", "HTML integrity (SRI)")
    html.add("<!doctype html>", "<html lang=\"en\">", "<head>", "  <meta charset=\"utf-8\">")
    for lib, alg in (("bootstrap@5.3.3/dist/js/bootstrap.min.js", "sha384"),
                     ("bootstrap@5.3.3/dist/css/bootstrap.min.css", "sha384"),
                     ("htmx.org@1.9.12/dist/htmx.min.js", "sha256")):
        value = sri(rng, alg)
        tag = "link rel=\"stylesheet\" href" if lib.endswith(".css") else "script src"
        end = ">" if lib.endswith(".css") else "></script>"
        html.mark("sri-integrity", value, f'  <{tag}="https://cdn.jsdelivr.net/npm/{lib}" '
                  f'integrity="{value}" crossorigin="anonymous"{end}')
    image = png(rng)
    html.add("</head>", "<body>")
    html.mark("base64-image", image, f'  <img alt="logo" src="data:image/png;base64,{image}">',
              "base64 image")
    html.add("</body>", "</html>")
    return [sums, docker, py, js, java, html]


def git_ids(rng: random.Random) -> list[Doc]:
    ci = Doc(".github/workflows/ci.yml", "yaml", "git object id")
    ci.add("name: ci", "on: [push, pull_request]", "permissions:", "  contents: read", "jobs:",
           "  test:", "    runs-on: ubuntu-24.04", "    steps:")
    for action, tag in (("actions/checkout", "v4.1.7"), ("actions/setup-node", "v4.0.3"),
                        ("actions/cache", "v4.0.2")):
        oid = hexs(rng, 40)
        ci.mark("git-oid", oid, f"      - uses: {action}@{oid} # {tag}")
    ci.add("      - run: npm ci && npm test")
    revs = Doc(".git-blame-ignore-revs", "text", "git object id")
    for msg in ("standard --fix over the whole tree", "prettier 3", "rename src/lib to src/domain"):
        oid = hexs(rng, 40)
        revs.add(f"# {msg}").mark("git-oid", oid, oid)
    log = Doc("CHANGELOG.md", "markdown", "git object id")
    log.add("# Changelog", "", "## [17.8.0](https://github.com/mojaloop/central-ledger/compare/"
            "v17.7.0...v17.8.0)", "")
    for what in ("**fx:** settle fx transfers", "**deps:** bump knex", "positions for fx",
                 "**audit:** resolve advisories", "timeout handler batches"):
        oid = hexs(rng, 40)
        log.mark("git-oid", oid, f"* {what} ([{oid[:7]}](https://github.com/mojaloop/"
                 f"central-ledger/commit/{oid}))")
    return [ci, revs, log]




def mojaloop_js(rng: random.Random) -> Doc:
    js = Doc("test/unit/domain/transfer/index.test.js", "javascript", "object literal")
    js.add("'use strict'", "", "const Test = require('tapes')(require('tape'))",
           "const TransferService = require('../../../../src/domain/transfer')", "",
           "Test('Transfer service', transferTest => {")
    for n in (1, 2, 3):
        fulfilment, condition, packet = ilp(rng)
        _trace, _span, parent = traceparent(rng)
        transfer_id = uuid4(rng)
        js.add(f"  const transfer{n} = {{")
        js.mark("uuid", transfer_id, f"    transferId: '{transfer_id}',")
        js.add("    payerFsp: 'dfsp1',", "    payeeFsp: 'dfsp2',",
               "    amount: { currency: 'USD', amount: '100.00' },")
        js.mark("ilp-packet", packet, f"    ilpPacket: '{packet}',")
        js.mark("ilp-condition", condition, f"    condition: '{condition}',")
        js.add("    expiration: '2030-12-31T23:59:59.999Z'", "  }")
        js.mark("ilp-fulfilment", fulfilment, f"  const fulfilment{n} = '{fulfilment}'")
        js.mark("traceparent", parent, f"  const headers{n} = {{ traceparent: '{parent}' }}")
    js.add("", "  transferTest.test('prepares', async test => {",
           "    test.ok(await TransferService.prepare(transfer1, headers1))", "    test.end()",
           "  })", "  transferTest.end()", "})")
    return js


def mojaloop_fixtures(rng: random.Random) -> list[Doc]:
    quote = Doc("test/fixtures/quotes.json", "json", "JSON")
    fulfilment, condition, packet = ilp(rng)
    quote_id, trace = uuid4(rng), traceparent(rng)[:2]
    quote.add("{").mark("uuid", quote_id, f'  "quoteId": "{quote_id}",')
    quote.add('  "transferAmount": {"currency": "USD", "amount": "100"},')
    quote.mark("ilp-packet", packet, f'  "ilpPacket": "{packet}",')
    quote.mark("ilp-condition", condition, f'  "condition": "{condition}",')
    quote.mark("ilp-fulfilment", fulfilment, f'  "fulfilment": "{fulfilment}",')
    quote.mark("trace-id", trace[0], f'  "traceId": "{trace[0]}",')
    quote.mark("span-id", trace[1], f'  "spanId": "{trace[1]}"')
    quote.add("}")
    postman = Doc("postman/golden_path.postman_collection.json", "json", "Postman collection")
    pid, tid = uuid4(rng), uuid4(rng)
    fulfilment, condition, packet = ilp(rng)
    _t, _s, parent = traceparent(rng)
    protected, signature = jws_signature(rng)
    postman.add("{", '  "info": {')
    postman.mark("uuid", pid, f'    "_postman_id": "{pid}",')
    postman.add('    "name": "Golden path",',
                '    "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"',
                "  },", '  "item": [', "    {", '      "name": "POST /transfers",',
                '      "request": {', '        "method": "POST",', '        "header": [')
    postman.mark("traceparent", parent, f'          {{"key": "traceparent", "value": "{parent}"}},')
    sig = json.dumps({"signature": signature, "protectedHeader": protected})
    postman.mark("jws-signature", signature,
                 f'          {{"key": "FSPIOP-Signature", "value": {json.dumps(sig)}}}')
    postman.also("jws-protected-header", protected)
    body = json.dumps({"transferId": tid, "payerFsp": "payerfsp", "payeeFsp": "payeefsp",
                       "amount": {"amount": "100", "currency": "USD"}, "ilpPacket": packet,
                       "condition": condition, "expiration": "2030-12-31T23:59:59.999Z"},
                      indent=2)
    postman.add("        ],", '        "body": {', '          "mode": "raw",')
    postman.mark("ilp-packet", packet, f'          "raw": {json.dumps(body)}')
    postman.also("ilp-condition", condition).also("uuid", tid)
    postman.add("        },", '        "url": "{{HOST_ML_API_ADAPTER}}/transfers"', "      },",
                '      "event": [{"listen": "test", "script": {"exec": [')
    postman.mark("ilp-fulfilment", fulfilment,
                 f'        "pm.environment.set(\\"fulfilment\\", \\"{fulfilment}\\")"')
    postman.add("      ]}}]", "    }", "  ]", "}")
    return [quote, postman, *mojaloop_data(rng)]


def mojaloop_data(rng: random.Random) -> list[Doc]:
    env = Doc("postman/local.postman_environment.json", "json", "Postman environment")
    pid, tid = uuid4(rng), uuid4(rng)
    fulfilment, condition, packet = ilp(rng)
    trace, span, parent = traceparent(rng)
    env.add("{").mark("uuid", pid, f'  "id": "{pid}",')
    env.add('  "name": "local",', '  "values": [')
    for key, kind, value in (("transferId", "uuid", tid),
                             ("fulfilment", "ilp-fulfilment", fulfilment),
                             ("condition", "ilp-condition", condition),
                             ("ilpPacket", "ilp-packet", packet),
                             ("traceparent", "traceparent", parent),
                             ("traceId", "trace-id", trace), ("spanId", "span-id", span)):
        env.mark(kind, value, f'    {{"key": "{key}", "value": "{value}", "enabled": true}},')
    env.add('    {"key": "HOST_ML_API_ADAPTER", "value": "http://ml-api-adapter.local", '
            '"enabled": true}', "  ]", "}")
    sql = Doc("migrations/20240101000000_seed_participants.sql", "sql", "SQL")
    sql.add("-- Participants of the local test hub")
    for name in ("payerfsp", "payeefsp", "testfsp1", "testfsp2", "testfsp3", "testfsp4"):
        value = uuid4(rng)
        sql.mark("uuid", value, "INSERT INTO participant (participantId, name) "
                 f"VALUES ('{value}', '{name}');")
    return [env, sql]


def mojaloop_code(rng: random.Random) -> list[Doc]:
    sh = Doc("test/scripts/send-transfer.sh", "shell", "assignment")
    trace, span, _parent = traceparent(rng)
    sh.add("#!/usr/bin/env bash", "set -euo pipefail", "")
    sh.mark("trace-id", trace, f"TRACE_ID={trace}").mark("span-id", span, f"SPAN_ID={span}")
    sh.add('curl -sS -X POST "$ML_API_ADAPTER/transfers" \\',
           '  -H "traceparent: 00-${TRACE_ID}-${SPAN_ID}-01" \\', "  -d @transfer.json")
    _t, _s, parent2 = traceparent(rng)
    sh.mark("traceparent", parent2,
            f'curl -sS "$ML_API_ADAPTER/health" -H "traceparent: {parent2}"')
    py = Doc("src/tracing/context.py", "python", "assignment")
    trace, span, parent = traceparent(rng)
    py.add('"""W3C trace context used by the simulator\'s tests."""', "")
    py.mark("traceparent", parent, f'SAMPLE_TRACEPARENT = "{parent}"')
    py.mark("trace-id", trace, f'ROOT_TRACE_ID = "{trace}"')
    py.mark("span-id", span, f'ROOT_SPAN_ID = "{span}"')
    go = Doc("internal/ilp/ilp_test.go", "go", "assignment")
    fulfilment, condition, packet = ilp(rng)
    go.add("package ilp", "", 'import "testing"', "", "const (")
    go.mark("ilp-fulfilment", fulfilment, f'\tfulfilment = "{fulfilment}"')
    go.mark("ilp-condition", condition, f'\tcondition  = "{condition}"')
    go.mark("ilp-packet", packet, f'\tpacket     = "{packet}"')
    go.add(")", "", "func TestConditionMatchesFulfilment(t *testing.T) {",
           "\tif got := ConditionOf(fulfilment); got != condition {",
           '\t\tt.Fatalf("condition %s, want %s", got, condition)', "\t}", "}")
    java = Doc("src/test/java/org/mojaloop/transfers/TransferTest.java", "java", "assignment")
    fulfilment, condition, packet = ilp(rng)
    tid = uuid4(rng)
    java.add("package org.mojaloop.transfers;", "", "class TransferTest {")
    java.mark("uuid", tid, f'    private static final String TRANSFER_ID = "{tid}";')
    java.mark("ilp-condition", condition,
              f'    private static final String CONDITION = "{condition}";')
    java.mark("ilp-packet", packet, f'    private static final String ILP_PACKET = "{packet}";')
    java.add("}")
    ts = Doc("src/fixtures/transfer.ts", "typescript", "object literal")
    fulfilment, condition, packet = ilp(rng)
    trace, span, _parent = traceparent(rng)
    tid = uuid4(rng)
    ts.add('import type { Transfer } from "../types";', "",
           "export const transfer: Transfer = {")
    ts.mark("uuid", tid, f'  transferId: "{tid}",')
    ts.mark("ilp-packet", packet, f'  ilpPacket: "{packet}",')
    ts.mark("ilp-condition", condition, f'  condition: "{condition}",')
    ts.mark("trace-id", trace, f'  traceId: "{trace}",')
    ts.mark("span-id", span, f'  spanId: "{span}",')
    ts.add("};")
    return [sh, py, go, java, ts]


def mojaloop_tests(rng: random.Random) -> list[Doc]:
    return [mojaloop_js(rng), *mojaloop_fixtures(rng), *mojaloop_code(rng)]


def gate_files(rng: random.Random) -> list[Doc]:
    """The gate's own files, as a repository following docs/waivers.md has them."""
    waivers = Doc(".policy-gate/waivers.yaml", "yaml", "waivers file")
    waivers.add("version: 1", "waivers:")
    created, expires = today(), today() + datetime.timedelta(days=20)
    for n, reason in enumerate(("False positive: the command is a constant list",
                                "test fixture, never deployed", "accepted until the v18 release")):
        fingerprint = hexs(rng, 32)
        waivers.add(f"  - id: WVR-{n + 1}").mark("gate-fingerprint", fingerprint,
                                                 f"    fingerprint: {fingerprint}")
        waivers.add(f'    reason: "{reason}"', "    owner: security@mojaloop.example",
                    f"    expires: {expires.isoformat()}", f"    created: {created.isoformat()}")
    baseline = Doc(".policy-gate/baseline.json", "json", "baseline")
    policy_sha = hexs(rng, 64)
    baseline.add("{", '  "about": "policy-gate baseline: findings accepted when it was created.",',
                 f'  "created": "{created.isoformat()}T09:00:00Z",')
    baseline.mark("gate-policy-hash", policy_sha, f'  "policy_sha256": "{policy_sha}",')
    baseline.add('  "tool_version": "0.16.0",', '  "version": 1,', '  "entries": [')
    for n, (rule, path) in enumerate((("bandit:B602", "scripts/release.py"),
                                      ("semgrep:js-weak-hash", "src/legacy/md5.js"))):
        fingerprint, key = hexs(rng, 32), hexs(rng, 64)
        baseline.add("    {", '      "category": "sast",')
        baseline.mark("gate-fingerprint", fingerprint, f'      "fingerprint": "{fingerprint}",')
        baseline.add('      "ids": [],', f'      "line": {10 + n},')
        baseline.mark("gate-match-key", key, f'      "match_key": "{key}",')
        baseline.add(f'      "path": "{path}",', f'      "rule": "{rule}",',
                     '      "severity": "high",', '      "title": "weak hash"',
                     "    }" + ("," if n == 0 else ""))
    baseline.add("  ]", "}")
    report = Doc("reports/policy-gate.json", "json", "gate report")
    report.add("{", '  "tool": {"name": "policy-gate", "version": "0.16.0"},',
               '  "verdict": "fail",', '  "findings": [')
    for n in range(2):
        fingerprint, digest = hexs(rng, 32), hexs(rng, 40)
        report.add("    {")
        report.mark("gate-fingerprint", fingerprint, f'      "fingerprint": "{fingerprint}",')
        report.add('      "category": "secret",', '      "rule_id": "github-token",',
                   f'      "path": "src/app{n}.py",', '      "start_line": 2,',
                   '      "secret": {"kind": "GitHub Token", "preview": "gh************WE",')
        report.mark("gate-secret-hash", digest, f'                 "hash": "sha1:{digest}"}}')
        report.add("    }" + ("," if n == 0 else ""))
    report.add("  ]", "}")
    return [waivers, baseline, report]


def placeholder_env(rng: random.Random) -> list[Doc]:
    env = Doc(".env.example", "dotenv", ".env")
    for line, value in (("API_KEY=changeme", "changeme"),
                        ("GITHUB_TOKEN=<your-token>", "<your-token>"),
                        ("JWT_SECRET=${JWT_SECRET}", "${JWT_SECRET}"),
                        ("SENDGRID_API_KEY=YOUR_SENDGRID_API_KEY", "YOUR_SENDGRID_API_KEY"),
                        ("STRIPE_SECRET_KEY=" + p("sk", "_live_") + "x" * 24, "x" * 24),
                        ("DB_PASSWORD=changeme", "changeme"),
                        ("SLACK_WEBHOOK_URL=" + p("https://hooks.", "slack.com/services/")
                         + "T00000000/B00000000/" + "X" * 24, "X" * 24)):
        env.mark("placeholder", value, line)
    compose = Doc("docker-compose.override.yml", "yaml", "docker-compose environment")
    compose.add("services:", "  central-ledger:", "    environment:")
    compose.mark("env-reference", "${POSTGRES_PASSWORD}",
                 "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}")
    compose.mark("env-reference", "${API_TOKEN:?set API_TOKEN}",
                 "      API_TOKEN: ${API_TOKEN:?set API_TOKEN}")
    compose.mark("env-reference", "${DB_PASSWORD}",
                 "      DATABASE_URL: postgres://ledger:${DB_PASSWORD}@mysql:5432/ledger",
                 "URL with password")
    helm = Doc("helm/values.yaml", "yaml", "YAML")
    helm.add("db:", "  host: mysql", "  user: central_ledger")
    helm.mark("placeholder", "changeme", "  password: changeme")
    helm.add("github:").mark("placeholder", "<your-token>", '  token: "<your-token>"')
    helm.add("sendgrid:").mark("placeholder", "YOUR_API_KEY", '  apiKey: "YOUR_API_KEY"')
    helm.add("oauth:").mark("placeholder", "********", '  clientSecret: "********"')
    tpl = Doc("helm/templates/secret.yaml", "yaml", "YAML")
    tpl.add("apiVersion: v1", "kind: Secret", "metadata:", "  name: {{ .Release.Name }}-db",
            "type: Opaque", "data:")
    tpl.mark("env-reference", "{{ .Values.db.password | b64enc | quote }}",
             "  password: {{ .Values.db.password | b64enc | quote }}")
    return [env, compose, helm, tpl]


def placeholder_code(rng: random.Random) -> list[Doc]:
    js = Doc("src/config/secrets.js", "javascript", "object literal")
    js.add("'use strict'", "", "module.exports = {")
    js.mark("env-reference", "process.env.GITHUB_TOKEN", "  token: process.env.GITHUB_TOKEN,")
    js.mark("env-reference", "process.env.DB_PASSWORD", "  password: process.env.DB_PASSWORD,")
    js.mark("env-reference", "process.env.SENDGRID_API_KEY",
            "  apiKey: process.env.SENDGRID_API_KEY || ''")
    js.add("}")
    py = Doc("app/secrets.py", "python", "assignment")
    py.add('"""Secrets come from the environment, never from the code."""', "import os", "")
    py.mark("env-reference", 'os.environ["SECRET_KEY"]', 'SECRET_KEY = os.environ["SECRET_KEY"]')
    py.mark("env-reference", 'os.environ.get("DB_PASSWORD", "")',
            'DB_PASSWORD = os.environ.get("DB_PASSWORD", "")')
    py.mark("env-reference", 'os.getenv("API_TOKEN")', 'API_TOKEN = os.getenv("API_TOKEN")')
    go = Doc("cmd/server/secrets.go", "go", "assignment")
    go.add("package main", "", 'import "os"', "", "func secrets() (string, string) {")
    go.mark("env-reference", 'os.Getenv("DB_PASSWORD")', '\tpassword := os.Getenv("DB_PASSWORD")')
    go.mark("env-reference", 'os.Getenv("GITHUB_TOKEN")', '\ttoken := os.Getenv("GITHUB_TOKEN")')
    go.add("\treturn password, token", "}")
    java = Doc("src/main/java/org/mojaloop/service/Secrets.java", "java", "assignment")
    java.add("package org.mojaloop.service;", "", "final class Secrets {")
    java.mark("env-reference", 'System.getenv("CLIENT_SECRET")',
              '    static final String CLIENT_SECRET = System.getenv("CLIENT_SECRET");')
    java.mark("env-reference", 'System.getenv("JWS_SIGNING_KEY_PATH")',
              '    static final String JWS_KEY_PATH = System.getenv("JWS_SIGNING_KEY_PATH");')
    java.add("}")
    docs = Doc("docs/aws.md", "markdown", "documentation example")
    key_id = p("AKIA", "IOSFODNN7", "EXAMPLE")
    secret = p("wJalrXUtnFEMI/K7MDENG/", "bPxRfiCY", "EXAMPLEKEY")
    docs.add("# Deploying to AWS", "",
             "Configure the CLI with your own keys; the AWS documentation's",
             "examples look like this:", "", "```console", "$ aws configure")
    docs.mark("doc-example-key", key_id, f"AWS Access Key ID [None]: {key_id}")
    docs.mark("doc-example-key", secret, f"AWS Secret Access Key [None]: {secret}")
    docs.add("Default region name [None]: eu-west-1", "```", "", "Then export your token:", "",
             "```sh")
    docs.mark("placeholder", "<your-token>", "export GITHUB_TOKEN=<your-token>")
    docs.add("```")
    return [js, py, go, java, docs]


def public_material(rng: random.Random) -> list[Doc]:
    pub = Doc("keys/jws/payerfsp.pem", "pem", "PEM file")
    lines = armored(" ".join(("PUBLIC", "KEY")), bytes.fromhex(
        "30820122300d06092a864886f70d01010105000382010f003082010a0282010100")
        + rng.randbytes(256) + bytes.fromhex("0203010001"))
    pub.mark("public-key", lines[1], "\n".join(lines))
    pub2 = Doc("keys/jws/payeefsp.pem", "pem", "PEM file")
    lines = armored(" ".join(("PUBLIC", "KEY")), bytes.fromhex(
        "3059301306072a8648ce3d020106082a8648ce3d030107034200") + rng.randbytes(65))
    pub2.mark("public-key", lines[1], "\n".join(lines))
    crt = Doc("tls/ca.crt", "pem", "PEM file")
    lines = armored("CERTIFICATE",
                    bytes.fromhex("308203773082025fa0030201020214") + rng.randbytes(880))
    crt.mark("certificate", lines[1], "\n".join(lines))
    ssh = Doc("deploy/authorized_keys", "text", "SSH public key")
    ed = b64(b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + rng.randbytes(32))
    rsa = b64(b"\0\0\0\x07ssh-rsa\0\0\0\x03\x01\x00\x01\0\0\x01\x01\x00" + rng.randbytes(256))
    ssh.mark("ssh-public-key", ed, f"ssh-ed25519 {ed} ci@mojaloop")
    ssh.mark("ssh-public-key", rsa, f"ssh-rsa {rsa} ops@mojaloop")
    css = Doc("web/src/styles.css", "css", "base64 image")
    image = png(rng)
    svg = b64(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" '
              b'cy="8" r="' + str(rng.randint(3, 8)).encode() + b'" fill="#2c6fbb"/></svg>')
    css.add(".logo {")
    css.mark("base64-image", image, f"  background: url(data:image/png;base64,{image});")
    css.add("}", ".dot {")
    css.mark("base64-image", svg, f'  background: url("data:image/svg+xml;base64,{svg}");')
    css.add("}")
    ts = Doc("src/assets/logo.ts", "typescript", "base64 image")
    icon = png(rng)
    ts.mark("base64-image", icon, f'export const LOGO_PNG = "data:image/png;base64,{icon}";')
    avatar = Doc("test/fixtures/avatar.json", "json", "base64 image")
    raw = png(rng)
    avatar.add("{", '  "partyId": "27713803912",').mark("base64-image", raw, f'  "avatar": "{raw}"')
    avatar.add("}")
    readme = Doc("docs/README.md", "markdown", "base64 image")
    badge = b64(b'<svg xmlns="http://www.w3.org/2000/svg" width="90" height="20"><text x="4" '
                b'y="14">coverage ' + str(rng.randint(80, 99)).encode() + b'%</text></svg>')
    readme.add("# Central ledger", "").mark("base64-image", badge,
                                             f"![coverage](data:image/svg+xml;base64,{badge})")
    return [pub, pub2, crt, ssh, css, ts, avatar, readme, *key_formats(rng)]


def key_formats(rng: random.Random) -> list[Doc]:
    """Private key formats named, templated or public: a PuTTY key's public half as PuTTYgen
    exports it (RFC 4716), a how-to with the formats' headers and no key after them, code
    that tells the formats apart."""
    private = " ".join(("PRIVATE", "KEY"))
    pem_begin = f"{'-' * 5}BEGIN RSA {private}{'-' * 5}"
    pem_end = pem_begin.replace("BEGIN", "END")
    ssh2 = f"---- BEGIN SSH2 ENCRYPTED {private} ----"
    ssh2_end = ssh2.replace("BEGIN", "END")
    putty = p("PuTTY-User-", "Key-File-3")
    pub = Doc("deploy/jump-host.pub", "text", "SSH public key")
    blob = b64(b"\0\0\0\x07ssh-rsa\0\0\0\x03\x01\x00\x01\0\0\x01\x01\x00" + rng.randbytes(256))
    lines = [blob[i : i + 64] for i in range(0, len(blob), 64)]
    pub.add("---- BEGIN SSH2 PUBLIC KEY ----", 'Comment: "rsa-key-20240101"')
    pub.mark("ssh2-public-key", lines[0], lines[0]).add(*lines[1:], "---- END SSH2 PUBLIC KEY ----")
    howto = Doc("docs/ssh-keys.md", "markdown", "documentation example")
    howto.add("# Keys for the jump host", "", "Never commit a key. The JWS signing key goes in",
              "the `jws-signing-key` secret, as PEM:", "", "```")
    howto.mark("key-template", pem_begin, pem_begin).add("...", pem_end, "```", "",
                                                          "PuTTYgen saves `.ppk` files:", "", "```")
    howto.mark("key-template", putty, f"{putty}: ssh-ed25519")
    howto.add("Encryption: aes256-cbc", "Comment: <comment>", "Public-Lines: 2",
              "<public key lines>", "Private-Lines: 1", "<private key lines>",
              "Private-MAC: <mac>", "```", "", "Tectia (SSH.com) keys:", "", "```")
    howto.mark("key-template", ssh2, ssh2).add("<your key>", ssh2_end, "```")
    code = Doc("app/key_format.py", "python", "assignment")
    code.add('"""Which format an operator pasted a private key in."""', "")
    code.mark("key-header", ssh2, f'SSH2_HEADER = "{ssh2}"')
    code.mark("key-header", ssh2_end, f'SSH2_FOOTER = "{ssh2_end}"')
    code.mark("key-header", putty, f'PUTTY_HEADERS = ("{putty[:-1]}2:", "{putty}:")')
    code.add("", "", "def key_format(text: str) -> str:",
             '    if text.startswith(PUTTY_HEADERS):', '        return "putty"',
             '    return "ssh2" if text.startswith(SSH2_HEADER) and SSH2_FOOTER in text else ""')
    return [pub, howto, code]


BUILDERS: tuple[Callable[[random.Random], list[Doc]], ...] = (
    lockfiles, checksums, git_ids, mojaloop_tests, gate_files, placeholder_env, placeholder_code,
    public_material,
)


def lookalikes(seed: int) -> list[Sample]:
    out: list[Sample] = []
    for build in BUILDERS:
        for doc in build(random.Random(f"{seed}:{build.__name__}")):
            out += doc.samples()
    return out


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()
