"""A labelled secret-scanning corpus, generated at run time (issue 16, item 6).

Every credential is made from a seeded RNG when asked for, so this repository holds none:
provider prefixes and armour lines are assembled from pieces, and no value below could be
used anywhere. ``positives()`` are credentials in the places code keeps them (assignments,
call and constructor arguments, object literals, YAML/JSON/TOML/INI/.env, Dockerfiles,
compose files, URLs with passwords, PEM files, service-account files) in Python,
JavaScript, TypeScript, Go, Java and shell; ``lookalikes()`` (``secret_lookalikes.py``)
are values that look random but are identifiers, placeholders or public data. A file holds
only positives or only look-alikes, so each file is evidence of one kind.

A sample is ``(format, place, path, text, line, language, value)``: ``line`` is the
1-based line the value starts on (a PEM block: its BEGIN line); ``text`` is the whole file
(samples that share a file share its text); ``value`` is the credential itself, which no
output may ever show. The test (``test_secret_corpus.py``), the kingfisher rules'
tests and the benchmark (``benchmarks/secrets_bench.py``) import this module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

SEED = 16

ALNUM = string.ascii_letters + string.digits
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
B32 = string.ascii_uppercase + "234567"
# No quote, backslash, '$', '#', ';' or '%': each means something in one of the places.
PASSWORD = ALNUM + "!*+-.=?@^_~"
URL_PASSWORD = ALNUM + "-_.~"
DASHES = "-" * 5
PRIV = " ".join(("PRIVATE", "KEY"))


class Sample(NamedTuple):
    format: str
    place: str
    path: str
    text: str
    line: int
    language: str
    value: str

    @property
    def id(self) -> str:
        """A readable test id that names the format (never the value)."""
        return f"{self.format}|{self.place}|{self.language}|{self.path}:{self.line}"


# ------------------------------------------------------------------------------ values


def pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def p(*parts: str) -> str:
    """Join pieces, so that no provider prefix is written out whole in this source."""
    return "".join(parts)


def b64(data: bytes, *, urlsafe: bool = False, pad: bool = True) -> str:
    out = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return out if pad else out.rstrip("=")


def base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
    return out.rjust(width, "0")


def crc_token(prefix: str) -> Callable[[random.Random], str]:
    """GitHub/npm style: 30 random base62 characters and their CRC32 in 6 more."""

    def make(rng: random.Random) -> str:
        body = pick(rng, ALNUM, 30)
        return prefix + body + base62(zlib.crc32(body.encode()), 6)

    return make


def shaped(*parts: str | tuple[str, int]) -> Callable[[random.Random], str]:
    """A value from literal pieces and (alphabet, length) random runs."""

    def make(rng: random.Random) -> str:
        return "".join(x if isinstance(x, str) else pick(rng, *x) for x in parts)

    return make


def armor(label: str, body: str, width: int = 64) -> str:
    lines = [body[i : i + width] for i in range(0, len(body), width)]
    return "\n".join([f"{DASHES}BEGIN {label}{DASHES}", *lines, f"{DASHES}END {label}{DASHES}"])


def pem(label: str, der_hex: str, n: int, width: int = 64) -> Callable[[random.Random], str]:
    """A PEM block whose body starts like the real structure and is random after it."""

    def make(rng: random.Random) -> str:
        return armor(label, b64(bytes.fromhex(der_hex) + rng.randbytes(n)), width)

    return make


def pgp_key(rng: random.Random) -> str:
    label = " ".join(("PGP", PRIV, "BLOCK"))
    body = b64(bytes.fromhex("9503c604") + rng.randbytes(900))
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"{DASHES}BEGIN {label}{DASHES}", "", *lines, "=" + b64(rng.randbytes(3)),
                      f"{DASHES}END {label}{DASHES}"])


def putty_key(version: int, *, encrypted: bool = False) -> Callable[[random.Random], str]:
    """A PuTTY private key file laid out as PuTTYgen writes it: format 2 for an RSA-2048
    key, format 3 for an Ed25519 one (with its Argon2 lines when encrypted); the blobs are
    random after their real first bytes."""

    def make(rng: random.Random) -> str:
        def lines(blob: bytes) -> list[str]:
            text = b64(blob)
            return [text[i : i + 64] for i in range(0, len(text), 64)]

        if version == 2:
            alg = "ssh-rsa"
            public = lines(b"\0\0\0\x07ssh-rsa\0\0\0\x03\x01\x00\x01\0\0\x01\x01\x00"
                           + rng.randbytes(256))
            private = lines(b"\0\0\x01\x00" + rng.randbytes(654))
        else:
            alg = "ssh-ed25519"
            public = lines(b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + rng.randbytes(32))
            private = lines(b"\0\0\0\x20" + rng.randbytes(44 if encrypted else 32))
        kdf = ["Key-Derivation: Argon2id", "Argon2-Memory: 8192", "Argon2-Passes: 13",
               "Argon2-Parallelism: 1", f"Argon2-Salt: {rng.randbytes(16).hex()}"]
        return "\n".join([
            f"{p('PuTTY-User-', 'Key-File-')}{version}: {alg}",
            f"Encryption: {'aes256-cbc' if encrypted else 'none'}",
            f"Comment: {alg.removeprefix('ssh-')}-key-2024{rng.randint(1, 12):02d}01",
            f"Public-Lines: {len(public)}", *public,
            *(kdf if encrypted and version == 3 else []),
            f"Private-Lines: {len(private)}", *private,
            f"Private-MAC: {rng.randbytes(32 if version == 3 else 20).hex()}",
        ])

    return make


def ssh2_key(rng: random.Random) -> str:
    """An SSH.com / Tectia private key (RFC 4716 armour: four dashes and a space)."""
    label = " ".join(("SSH2", "ENCRYPTED", PRIV))
    body = b64(bytes.fromhex("3f6ff9eb") + rng.randbytes(880))
    comment = f'Comment: "rsa-key-2024{rng.randint(1, 12):02d}01"'
    return "\n".join([f"---- BEGIN {label} ----", comment,
                      *[body[i : i + 70] for i in range(0, len(body), 70)],
                      f"---- END {label} ----"])


def jwt(rng: random.Random) -> str:
    def part(obj: dict[str, object]) -> str:
        return b64(json.dumps(obj, separators=(",", ":")).encode(), urlsafe=True, pad=False)

    claims = {"sub": pick(rng, HEX, 12), "iss": "https://auth.mojaloop.example", "iat": 1718000000}
    return ".".join([part({"alg": "HS256", "typ": "JWT"}), part(claims),
                     b64(rng.randbytes(32), urlsafe=True, pad=False)])


def uuid4(rng: random.Random) -> str:
    h = pick(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


def pypi_token(rng: random.Random) -> str:
    return p("pypi-", "AgEIcHlwaS5vcmc", "CJ") + b64(rng.randbytes(110), urlsafe=True, pad=False)


def docker_auth(rng: random.Random) -> str:
    return b64(f"ci-deploy:{pick(rng, PASSWORD, 24)}".encode())


def k8s_data(rng: random.Random) -> str:
    return b64(pick(rng, PASSWORD, 22).encode())


def sas_sig(rng: random.Random) -> str:
    return b64(rng.randbytes(32)).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


RSA_DER = "308204a40201000282010100"
EC_DER = "30770201010420"
PKCS8_DER = "308204be020100300d06092a864886f70d0101010500048204a8308204a40201000282010100"
DSA_DER = "308201bb02010002818100"
# PBES2 (PBKDF2, AES-256-CBC) as OpenSSL writes an ENCRYPTED PRIVATE KEY
ENCRYPTED_DER = "3082051c304e06092a864886f70d01050d3041302906092a864886f70d01050c301c0408"
OPENSSH_DER = b"openssh-key-v1\0\0\0\0\x04none\0\0\0\x04none\0\0\0\0\0\0\0\x01\0\0\0\x33".hex()


# ------------------------------------------------------------------------------ formats


@dataclass(frozen=True)
class Fmt:
    """A credential format, the names code keeps it under, and where the corpus puts it.

    ``plan``: the templates it is rendered in (``TEMPLATES`` keys); ``url:`` in front puts
    the value in a URL's password first. ``wrap`` builds the string the value is carried
    in (a connection URL, a SAS URL), ``partner`` a second format rendered beside it."""

    id: str
    name: str
    make: Callable[[random.Random], str]
    plan: str
    kw: str = "api_key"
    client: str = ""
    wrap: Callable[[str, str], str] | None = None
    partner: str = ""
    pem_path: str = "keys/server.key"

    @property
    def section(self) -> str:
        return self.id.split("-")[0]

    @property
    def client_name(self) -> str:
        return self.client or self.section.capitalize() + "Client"


def db_url(scheme: str, user: str, host: str, tail: str) -> Callable[[str, str], str]:
    return lambda v, svc: f"{scheme}://{user}:{v}@{host.replace('SVC', svc)}{tail}"


def account(svc: str) -> str:
    """An Azure storage account name (3-24 lowercase letters and digits)."""
    return svc.replace("-", "")[:20]


PW = (PASSWORD, 20)
UPW = (URL_PASSWORD, 22)

FORMATS: tuple[Fmt, ...] = (
    Fmt("aws-access-key-id", "AWS_ACCESS_KEY_ID", shaped(p("AK", "IA"), (B32, 16)),
        "call/py call/go call/java awscreds dotenv compose object/ts",
        kw="aws_access_key_id", client="Session", partner="aws-secret-access-key"),
    Fmt("aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", shaped((B64, 40)), "",
        kw="aws_secret_access_key"),
    Fmt("github-pat", "GITHUB_TOKEN", crc_token(p("gh", "p_")),
        "call/js assign/sh yaml url:assign/go dockerarg", kw="token", client="Octokit"),
    Fmt("github-fine-grained-pat", "GH_PAT",
        shaped(p("github", "_pat_"), (ALNUM, 22), "_", (ALNUM, 59)),
        "ctor/ts dotenv", kw="auth", client="Octokit"),
    Fmt("github-app-token", "GITHUB_APP_TOKEN", crc_token(p("gh", "s_")), "assign/go json",
        kw="token"),
    Fmt("github-oauth-token", "GITHUB_OAUTH_TOKEN", crc_token(p("gh", "o_")),
        "object/js toml", kw="access_token"),
    Fmt("gitlab-pat", "GITLAB_TOKEN", shaped(p("gl", "pat-"), (URLSAFE, 20)),
        "ctor/py ini url:assign/sh", kw="private_token", client="Gitlab"),
    Fmt("slack-bot-token", "SLACK_BOT_TOKEN",
        shaped(p("xo", "xb-"), ("0123456789", 12), "-", ("0123456789", 13), "-", (ALNUM, 24)),
        "ctor/js call/py compose", kw="token", client="WebClient"),
    Fmt("slack-user-token", "SLACK_USER_TOKEN",
        shaped(p("xo", "xp-"), ("0123456789", 12), "-", ("0123456789", 12), "-",
               ("0123456789", 13), "-", (HEX, 32)), "assign/java yaml", kw="token"),
    Fmt("slack-webhook-url", "SLACK_WEBHOOK_URL",
        shaped(p("https://hooks.", "slack.com/services/T"), (B32, 8), "/B", (B32, 10), "/",
               (ALNUM, 24)), "assign/sh json object/go", kw="webhook_url"),
    Fmt("stripe-live-secret-key", "STRIPE_SECRET_KEY", shaped(p("sk", "_live_"), (ALNUM, 99)),
        "ctor/js assign/py dockerfile", client="Stripe"),
    Fmt("stripe-restricted-key", "STRIPE_RESTRICTED_KEY", shaped(p("rk", "_live_"), (ALNUM, 99)),
        "object/ts ini"),
    Fmt("sendgrid-api-key", "SENDGRID_API_KEY",
        shaped(p("S", "G."), (URLSAFE, 22), ".", (URLSAFE, 43)),
        "call/py call/ts compose", client="SendGridAPIClient"),
    Fmt("twilio-api-key", "TWILIO_API_KEY", shaped(p("S", "K"), (HEX, 32)), "ctor/java dotenv",
        client="TwilioRestClient"),
    Fmt("twilio-auth-token", "TWILIO_AUTH_TOKEN", shaped((HEX, 32)), "assign/py yaml",
        kw="auth_token"),
    Fmt("mailgun-api-key", "MAILGUN_API_KEY", shaped(p("ke", "y-"), (HEX, 32)),
        "object/js toml"),
    Fmt("npm-token", "NPM_TOKEN", crc_token(p("np", "m_")), "npmrc dockerarg assign/sh",
        kw="token"),
    Fmt("pypi-token", "TWINE_PASSWORD", pypi_token, "pypirc compose", kw="password"),
    Fmt("google-api-key", "GOOGLE_API_KEY", shaped(p("AI", "za"), (URLSAFE, 35)),
        "object/ts assign/java json", kw="key"),
    Fmt("gcp-service-account", "GOOGLE_CREDENTIALS", pem(PRIV, PKCS8_DER, 1150), "sa sa sa",
        kw="private_key"),
    Fmt("azure-storage-connection-string", "AZURE_STORAGE_CONNECTION_STRING",
        shaped((B64, 86), "=="), "call/py json dotenv", kw="conn_str",
        client="BlobServiceClient",
        wrap=lambda v, svc: (f"DefaultEndpointsProtocol=https;AccountName={account(svc)}"
                             f";AccountKey={v};EndpointSuffix=core.windows.net")),
    Fmt("azure-sas-token", "AZURE_BLOB_SAS_URL", sas_sig, "assign/ts yaml", kw="sas_url",
        wrap=lambda v, svc: (f"https://{account(svc)}.blob.core.windows.net/exports"
                             f"?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z"
                             f"&spr=https&sig={v}")),
    Fmt("azure-ad-client-secret", "AZURE_CLIENT_SECRET",
        shaped((ALNUM, 3), ("0123456789", 1), "Q~", (ALNUM + "_~.-", 34)),
        "ctor/py compose", kw="client_secret", client="ClientSecretCredential"),
    Fmt("jwt-signing-secret", "JWT_SECRET", shaped((ALNUM, 48)),
        "assign/js yaml dotenv object/py", kw="jwt_secret"),
    Fmt("jwt-bearer-token", "AUTH_TOKEN", jwt, "curl assign/ts", kw="token"),
    Fmt("rsa-private-key", "RSA_PRIVATE_KEY", pem("RSA " + PRIV, RSA_DER, 1180),
        "pem assign/py", kw="private_key", pem_path="certs/server.key"),
    Fmt("ec-private-key", "EC_PRIVATE_KEY", pem("EC " + PRIV, EC_DER, 110), "pem yaml",
        kw="private_key", pem_path="certs/signing-ec.pem"),
    Fmt("openssh-private-key", "DEPLOY_KEY", pem("OPENSSH " + PRIV, OPENSSH_DER, 330, 70),
        "pem assign/sh", kw="ssh_key", pem_path="deploy/id_ed25519"),
    Fmt("pkcs8-private-key", "PRIVATE_KEY", pem(PRIV, PKCS8_DER, 1150), "pem json",
        kw="private_key", pem_path="config/tls/server.pem"),
    Fmt("pgp-private-key", "PGP_PRIVATE_KEY", pgp_key, "pem assign/go", kw="signing_key",
        pem_path="release/signing-key.asc"),
    Fmt("dsa-private-key", "DSA_PRIVATE_KEY", pem("DSA " + PRIV, DSA_DER, 430), "pem",
        pem_path="legacy/dsa_host_key.pem"),
    Fmt("encrypted-private-key", "ENCRYPTED_PRIVATE_KEY",
        pem("ENCRYPTED " + PRIV, ENCRYPTED_DER, 1240), "pem yaml", kw="tls_key",
        pem_path="secrets/tls/hub.key"),
    # neither a PEM block: a PuTTY key (.ppk, or pasted into a text file) and an SSH.com one
    Fmt("putty-private-key", "PUTTY_KEY", putty_key(2), "pem yaml", kw="ppk",
        pem_path="ops/jump-host.ppk"),
    Fmt("putty-private-key-v3", "PUTTY_KEY", putty_key(3, encrypted=True), "pem",
        pem_path="ops/bastion-key.txt"),
    Fmt("ssh2-private-key", "SSH2_KEY", ssh2_key, "pem", pem_path="ops/id_rsa_2048_a"),
    Fmt("postgres-url", "DATABASE_URL", shaped(UPW), "assign/py dotenv call/go", kw="dsn",
        client="Pool", wrap=db_url("postgres", "central_ledger", "db.SVC.svc:5432", "/ledger")),
    Fmt("mysql-url", "MYSQL_URL", shaped(UPW), "object/js compose assign/java", kw="uri",
        wrap=db_url("mysql", "account_lookup", "mysql.SVC.svc:3306", "/account_lookup")),
    Fmt("mongodb-srv-url", "MONGODB_URI", shaped(UPW), "ctor/js yaml", kw="uri",
        client="MongoClient",
        wrap=db_url("mongodb+srv", "cep", "cluster0.SVC.mongodb.net", "/ml?retryWrites=true")),
    Fmt("redis-url", "REDIS_URL", shaped(UPW), "object/ts dotenv call/py", kw="url",
        client="Redis", wrap=db_url("redis", "default", "cache.SVC.svc:6379", "/0")),
    Fmt("amqp-url", "RABBITMQ_URL", shaped(UPW), "assign/go toml dockerfile", kw="url",
        wrap=db_url("amqp", "ml", "rabbitmq.SVC.svc:5672", "/mojaloop")),
    Fmt("http-basic-auth-url", "NEXUS_URL", shaped(UPW), "assign/sh ini yaml", kw="index_url",
        wrap=db_url("https", "ci-publisher", "nexus.SVC.internal", "/repository/pypi/simple")),
    Fmt("generic-password", "DB_PASSWORD", shaped(PW),
        "call/py object/js yaml compose ini call/java assign/go call/sh", kw="password",
        client="Connection"),
    Fmt("generic-secret-key", "SECRET_KEY", shaped((PASSWORD, 50)),
        "assign/py toml dockerfile", kw="secret_key"),
    Fmt("generic-api-token", "API_TOKEN", shaped((ALNUM, 40)),
        "object/go json ctor/java dotenv toml", kw="api_token", client="ApiClient"),
    Fmt("heroku-api-key", "HEROKU_API_KEY", uuid4, "dotenv assign/sh"),
    Fmt("heroku-platform-key", "HEROKU_PLATFORM_KEY", shaped(p("HR", "KU-AA"), (URLSAFE, 58)),
        "yaml call/ts", kw="token"),
    Fmt("digitalocean-pat", "DIGITALOCEAN_TOKEN", shaped(p("do", "p_v1_"), (HEX, 64)),
        "assign/go toml compose", kw="token"),
    Fmt("shopify-access-token", "SHOPIFY_ACCESS_TOKEN", shaped(p("sh", "pat_"), (HEX, 32)),
        "object/ts dotenv", kw="access_token"),
    Fmt("openai-api-key", "OPENAI_API_KEY",
        shaped(p("sk", "-proj-"), (URLSAFE, 74), p("T3Blbk", "FJ"), (URLSAFE, 74)),
        "call/py ctor/ts dotenv", client="OpenAI"),
    Fmt("anthropic-api-key", "ANTHROPIC_API_KEY",
        shaped(p("sk", "-ant-", "api03-"), (URLSAFE, 93), "AA"), "call/py yaml",
        client="Anthropic"),
    Fmt("vault-token", "VAULT_TOKEN", shaped(p("hv", "s."), (URLSAFE, 95)),
        "assign/sh compose call/go", kw="token", client="VaultClient"),
    Fmt("datadog-api-key", "DD_API_KEY", shaped((HEX, 32)), "dotenv yaml object/js"),
    Fmt("newrelic-license-key", "NEW_RELIC_LICENSE_KEY", shaped((HEX, 36), "NRAL"),
        "dockerfile object/js", kw="license_key"),
    Fmt("newrelic-user-key", "NEW_RELIC_API_KEY", shaped(p("NR", "AK-"), (B32, 27)),
        "dotenv assign/py"),
    Fmt("okta-api-token", "OKTA_API_TOKEN", shaped("00", (URLSAFE, 40)), "yaml ctor/java",
        kw="token", client="OktaClient"),
    Fmt("square-access-token", "SQUARE_ACCESS_TOKEN", shaped(p("EA", "AA"), (URLSAFE, 60)),
        "object/js assign/java", kw="access_token"),
    Fmt("braintree-access-token", "BRAINTREE_ACCESS_TOKEN",
        shaped(p("access_token", "$production$"), (HEX, 16), "$", (HEX, 32)),
        "assign/py yaml", kw="access_token"),
    Fmt("paypal-client-secret", "PAYPAL_CLIENT_SECRET", shaped("E", (URLSAFE, 79)),
        "dotenv object/ts", kw="client_secret"),
    Fmt("discord-bot-token", "DISCORD_BOT_TOKEN",
        shaped("MT", (ALNUM, 24), ".", (URLSAFE, 6), ".", (URLSAFE, 38)),
        "assign/js dotenv", kw="token"),
    Fmt("discord-webhook-url", "DISCORD_WEBHOOK_URL",
        shaped(p("https://discord", ".com/api/webhooks/"), ("0123456789", 19), "/",
               (URLSAFE, 68)), "assign/py json", kw="webhook_url"),
    Fmt("telegram-bot-token", "TELEGRAM_BOT_TOKEN",
        shaped(("0123456789", 10), ":AA", (URLSAFE, 33)), "assign/py compose ctor/java",
        kw="token", client="TelegramBot"),
    Fmt("docker-config-auth", "DOCKER_AUTH", docker_auth, "dockercfg", kw="auth"),
    Fmt("npmrc-auth-token", "NPM_AUTH_TOKEN", shaped((ALNUM, 64)), "npmrc", kw="_authToken"),
    Fmt("kubernetes-secret-data", "DB_PASSWORD", k8s_data, "k8s", kw="password"),
    Fmt("google-oauth-client-secret", "GOOGLE_CLIENT_SECRET",
        shaped(p("GO", "CSPX-"), (URLSAFE, 28)), "json object/py", kw="client_secret"),
    # Mojaloop: a DFSP's JWS signing key, mTLS client keys, hub/DFSP OAuth client secrets
    # (WSO2 style) and the ILP secret the switch derives fulfilments from.
    Fmt("mojaloop-jws-signing-key", "JWS_SIGNING_KEY", pem("RSA " + PRIV, RSA_DER, 1180),
        "pem json", kw="jwsSigningKey", pem_path="secrets/jwsSigningKey.key"),
    Fmt("mojaloop-mtls-client-key", "MTLS_CLIENT_KEY", pem(PRIV, PKCS8_DER, 1150),
        "pem yaml assign/ts", kw="client_key", pem_path="secrets/tls/dfsp-client.key"),
    Fmt("mojaloop-oauth-client-secret", "OAUTH_CLIENT_SECRET", shaped((ALNUM, 28)),
        "json dotenv ctor/ts call/sh", kw="client_secret", client="OAuthClient"),
    Fmt("mojaloop-ilp-secret", "ILP_SECRET", shaped((ALNUM, 40)), "json compose assign/js",
        kw="ilp_secret"),
)
FORMAT_BY_ID = {f.id: f for f in FORMATS}


# ------------------------------------------------------------------------------ places

PLACES = {
    "assign": "assignment", "call": "call argument", "ctor": "constructor argument",
    "object": "object literal", "yaml": "YAML", "json": "JSON", "toml": "TOML", "ini": "INI",
    "dotenv": ".env", "dockerfile": "Dockerfile ENV/ARG", "compose": "docker-compose environment",
    "url": "URL with password", "pem": "PEM file", "sa": "service-account file",
}
LANGUAGES = {"py": "python", "js": "javascript", "ts": "typescript", "go": "go",
             "java": "java", "sh": "shell"}
CODE_LANGUAGES = tuple(LANGUAGES.values())


@dataclass(frozen=True)
class Tpl:
    """A realistic file: ``head``, one ``entry`` per value (joined by ``sep``), ``tail``.

    ``<<field>>`` markers are filled in (names, the literal ``<<lit>>``, the raw ``<<v>>``);
    ``style`` says how a value is written as a literal there."""

    place: str
    language: str
    path: str
    head: str
    entry: str
    tail: str = ""
    style: str = ""
    sep: str = ""


PY_HEAD = '"""Settings for <<svc>>, read once at start-up."""\nimport os\n\n'
JAVA_PKG = "package org.mojaloop.service;\n\n"
JAVA_DIR = "src/main/java/org/mojaloop/service/"
T = Tpl
TEMPLATES: dict[str, Tpl] = {
    "assign/py": T("assign", "py", "app/settings.py",
                   PY_HEAD + 'DEBUG = os.environ.get("DEBUG") == "1"\n',
                   "<<NAME>> = <<lit>>\n", "TIMEOUT_SECONDS = 30\n"),
    "assign/js": T("assign", "js", "src/config.js", "'use strict'\n\nexports.timeoutMs = 30000\n",
                   "exports.<<camel>> = <<lit>>\n"),
    "assign/ts": T("assign", "ts", "src/config.ts",
                   "// Configuration of <<svc>>.\nexport const port = 8080;\n",
                   "export const <<camel>>: string = <<lit>>;\n"),
    "assign/go": T("assign", "go", "internal/config/config.go",
                   'package config\n\nimport "time"\n\nconst Timeout = 30 * time.Second\n\n',
                   "const <<camel>> = <<lit>>\n"),
    "assign/java": T("assign", "java", JAVA_DIR + "Config.java",
                     JAVA_PKG + "public final class Config {\n"
                     "    public static final int TIMEOUT_MS = 30_000;\n",
                     "    public static final String <<NAME>> = <<lit>>;\n",
                     "\n    private Config() {}\n}\n"),
    "assign/sh": T("assign", "sh", "scripts/env.sh",
                   "#!/usr/bin/env bash\n# Environment of <<svc>> deployments.\nset -euo pipefail\n"
                   "\nexport NODE_ENV=production\n", "export <<NAME>>=<<lit>>\n",
                   'exec node src/index.js "$@"\n'),
    "call/py": T("call", "py", "app/clients.py",
                 '"""The clients <<svc>> calls."""\nfrom functools import cache\n\n'
                 "from <<module>> import <<client>>\n\n\n@cache\ndef client() -> <<client>>:\n"
                 "    return <<client>>(\n", "        <<kw>>=<<lit>>,\n",
                 "        timeout=30,\n    )\n"),
    "call/js": T("call", "js", "src/clients.js",
                 "'use strict'\nconst { create<<client>> } = require('<<pkg>>')\n\n"
                 "const client = create<<client>>(\n", "  <<lit>>",
                 "\n)\n\nmodule.exports = client\n", sep=",\n"),
    "call/ts": T("call", "ts", "src/init.ts",
                 'import <<lclient>> from "<<pkg>>";\n\nexport function init(): void {\n',
                 "  <<lclient>>.set<<Kw>>(<<lit>>);\n", "}\n"),
    "call/go": T("call", "go", "internal/clients/clients.go",
                 'package clients\n\nimport "github.com/mojaloop/<<svc>>/internal/<<gopkg>>"\n\n'
                 "func New() (*<<gopkg>>.<<client>>, error) {\n\treturn <<gopkg>>.New<<client>>(\n",
                 "\t\t<<lit>>,\n", "\t)\n}\n"),
    "call/java": T("call", "java", JAVA_DIR + "Clients.java",
                   JAVA_PKG + "final class Clients {\n    static <<client>> create() {\n"
                   "        return <<client>>.builder()\n", "            .<<kwCamel>>(<<lit>>)\n",
                   "            .build();\n    }\n}\n"),
    "call/sh": T("call", "sh", "scripts/login.sh",
                 "#!/usr/bin/env bash\nset -euo pipefail\n\n<<section>>-cli login \\\n",
                 "  --<<kwDash>> <<lit>> \\\n", "  --non-interactive\n"),
    "ctor/py": T("ctor", "py", "app/service.py",
                 '"""<<svc>>: the one client it needs."""\nfrom <<module>> import <<client>>\n\n'
                 "CLIENT = <<client>>(\n", "    <<lit>>", "\n)\n", sep=",\n"),
    "ctor/js": T("ctor", "js", "lib/client.js",
                 "'use strict'\nconst <<client>> = require('<<pkg>>')\n\n"
                 "const client = new <<client>>(",
                 "<<lit>>", ")\n\nmodule.exports = client\n", sep=", "),
    "ctor/ts": T("ctor", "ts", "src/service.ts",
                 'import { <<client>> } from "<<pkg>>";\n\nexport class Service {\n'
                 "  private readonly client = new <<client>>(\n", "    <<lit>>",
                 ",\n  );\n}\n", sep=",\n"),
    "ctor/java": T("ctor", "java", JAVA_DIR + "App.java",
                   JAVA_PKG + "public final class App {\n"
                   "    private final <<client>> client = new <<client>>(\n",
                   "            <<lit>>", ");\n}\n", sep=",\n"),
    "object/py": T("object", "py", "app/config.py",
                   'SETTINGS = {\n    "endpoint": "https://api.<<svc>>.example",\n',
                   '    "<<kw>>": <<lit>>,\n', '    "retries": 3,\n}\n'),
    "object/js": T("object", "js", "config/index.js",
                   "module.exports = {\n  endpoint: 'https://api.<<svc>>.example',\n",
                   "  <<kwCamel>>: <<lit>>,\n", "  retries: 3\n}\n"),
    "object/ts": T("object", "ts", "src/settings.ts",
                   "export const settings: Record<string, string | number> = {\n"
                   '  endpoint: "https://api.<<svc>>.example",\n', "  <<kwCamel>>: <<lit>>,\n",
                   "  retries: 3,\n};\n"),
    "object/go": T("object", "go", "internal/config/defaults.go",
                   'package config\n\nvar Defaults = Settings{\n\tEndpoint: "https://api.<<svc>>.example",\n',
                   "\t<<Kw>>: <<lit>>,\n", "\tRetries: 3,\n}\n"),
    "object/java": T("object", "java", JAVA_DIR + "Settings.java",
                     JAVA_PKG + "import java.util.Map;\n\nfinal class Settings {\n"
                     "    static final Map<String, String> DEFAULTS = Map.of(\n"
                     '            "endpoint", "https://api.<<svc>>.example",\n',
                     '            "<<kwCamel>>", <<lit>>', ");\n}\n", sep=",\n"),
    "yaml": T("yaml", "yaml", "config/<<section>>.yaml",
              "server:\n  port: 8080\n<<section>>:\n  endpoint: https://api.<<svc>>.example\n",
              "  <<kw>>: <<lit>>\n", "  retries: 3\n"),
    "json": T("json", "json", "config/default.json",
              '{\n  "PORT": 3000,\n  "<<SECTION>>": {\n    "ENDPOINT": "https://api.<<svc>>.example",\n',
              '    "<<NAME>>": <<lit>>', "\n  }\n}\n", sep=",\n"),
    "toml": T("toml", "toml", "config.toml",
              '[server]\nport = 8080\n\n[<<section>>]\nendpoint = "https://api.<<svc>>.example"\n',
              "<<kw>> = <<lit>>\n"),
    "ini": T("ini", "ini", "config.ini",
             "[server]\nport = 8080\n\n[<<section>>]\nendpoint = https://api.<<svc>>.example\n",
             "<<kw>> = <<lit>>\n", style="plain"),
    "dotenv": T("dotenv", "dotenv", ".env", "NODE_ENV=production\nPORT=3000\n",
                "<<NAME>>=<<lit>>\n", "LOG_LEVEL=info\n", style="plain"),
    "dockerfile": T("dockerfile", "dockerfile", "Dockerfile",
                    "FROM node:20.11-alpine\nWORKDIR /opt/app\n", "ENV <<NAME>>=<<lit>>\n",
                    'COPY . .\nRUN npm ci --omit=dev\nUSER node\nCMD ["node", "src/index.js"]\n',
                    style="plain"),
    "dockerarg": T("dockerfile", "dockerfile", "Dockerfile",
                   "FROM node:20.11-alpine AS build\n", "ARG <<NAME>>=<<lit>>\n",
                   "WORKDIR /opt/app\nCOPY . .\nRUN npm ci\n", style="plain"),
    "compose": T("compose", "yaml", "docker-compose.yml",
                 "services:\n  app:\n    image: mojaloop/<<svc>>:v1.0.0\n    ports:\n"
                 '      - "3000:3000"\n    environment:\n      - NODE_ENV=production\n',
                 "      - <<NAME>>=<<lit>>\n", style="plain"),
    "pem": T("pem", "pem", "<<pem_path>>", "", "<<v>>\n", style="raw"),
    "sa": T("sa", "json", "credentials/<<svc>>-sa.json",
            '{\n  "type": "service_account",\n  "project_id": "<<svc>>",\n'
            '  "private_key_id": "<<oid>>",\n', '  "private_key": <<lit>>,\n',
            '  "client_email": "deployer@<<svc>>.iam.gserviceaccount.com",\n'
            '  "client_id": "104729183746510293847",\n'
            '  "auth_uri": "https://accounts.google.com/o/oauth2/auth",\n'
            '  "token_uri": "https://oauth2.googleapis.com/token",\n'
            '  "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs"\n}\n',
            style="json"),
    "awscreds": T("ini", "ini", "deploy/aws/credentials", "[default]\nregion = eu-west-1\n",
                  "<<kw>> = <<lit>>\n", style="plain"),
    "pypirc": T("ini", "ini", ".pypirc",
                "[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\n",
                "password = <<lit>>\n", style="plain"),
    "npmrc": T("ini", "ini", ".npmrc",
               "registry=https://npm.<<svc>>.example/repository/npm-group/\nalways-auth=true\n",
               "//npm.<<svc>>.example/repository/npm-group/:_authToken=<<lit>>\n", style="plain"),
    "dockercfg": T("json", "json", ".docker/config.json",
                   '{\n  "auths": {\n    "registry.<<svc>>.example": {\n',
                   '      "auth": <<lit>>\n', '    }\n  }\n}\n'),
    "k8s": T("yaml", "yaml", "k8s/secret.yaml",
             "apiVersion: v1\nkind: Secret\nmetadata:\n  name: <<svc>>-db\n  namespace: mojaloop\n"
             "type: Opaque\ndata:\n  username: Y2VudHJhbF9sZWRnZXI=\n", "  <<kw>>: <<lit>>\n",
             style="plain"),
    "curl": T("call", "sh", "scripts/smoke.sh",
              "#!/usr/bin/env bash\nset -euo pipefail\n\n",
              'curl -fsS -H "Authorization: Bearer <<v>>" https://api.<<svc>>.example/v1/me\n',
              'echo "smoke test passed"\n', style="raw"),
}


# ------------------------------------------------------------------------------ rendering


def fill(template: str, fields: dict[str, str]) -> str:
    out = template
    for key, value in fields.items():
        out = out.replace(f"<<{key}>>", value)
    assert "<<" not in out, f"unfilled marker in {out!r}"
    return out


def literal(style: str, v: str, indent: int) -> str:
    """``v`` written as a literal in ``style`` (multi-line values as each place allows)."""
    multi = "\n" in v
    if style == "raw":
        return v
    if style == "plain":
        return '"' + v.replace("\n", "\\n") + '"' if multi else v
    if style == "json" or (style in ("yaml", "toml") and not multi):
        return json.dumps(v)
    if style == "yaml":
        return "|\n" + "\n".join(" " * indent + x if x else "" for x in v.split("\n"))
    quotes = {"py": ('"', '"""'), "js": ("'", "`"), "ts": ('"', "`"), "go": ('"', "`"),
              "sh": ('"', "'"), "toml": ('"', '"""\n'), "java": ('"', '"""\n')}[style]
    if not multi:
        return quotes[0] + v + quotes[0]
    return quotes[1] + v + quotes[1].strip("\n")


def camel(words: list[str]) -> str:
    words = [w for w in words if w]
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def fields(fmt: Fmt, svc: str) -> dict[str, str]:
    kw_camel = camel(fmt.kw.split("_"))
    client = fmt.client_name
    return {
        "svc": svc, "section": fmt.section, "SECTION": fmt.section.upper(), "NAME": fmt.name,
        "camel": camel(fmt.name.lower().split("_")), "kw": fmt.kw, "kwCamel": kw_camel,
        "Kw": kw_camel[:1].upper() + kw_camel[1:], "kwDash": fmt.kw.strip("_").replace("_", "-"),
        "client": client, "lclient": client[:1].lower() + client[1:], "module": fmt.section,
        "pkg": fmt.section, "gopkg": client.lower(), "pem_path": fmt.pem_path,
        "oid": hashlib.sha1(svc.encode(), usedforsecurity=False).hexdigest(),
    }


def place_of(fmt: Fmt, token: str, tpl: Tpl) -> str:
    if token.startswith("url:") or (fmt.wrap is not None and fmt.id.endswith("-url")):
        return PLACES["url"]
    return PLACES[tpl.place]


def render(fmt: Fmt, token: str, index: int, seed: int) -> list[Sample]:
    """One file holding ``fmt`` (and its partner) in the place ``token`` names."""
    tpl = TEMPLATES[token.removeprefix("url:")]
    svc = f"{fmt.id}-{index}"
    members = [fmt, *([FORMAT_BY_ID[fmt.partner]] if fmt.partner else [])]
    indent = len(tpl.entry) - len(tpl.entry.lstrip(" ")) + 2
    base = fields(fmt, svc)
    head = fill(tpl.head, base)
    entries: list[tuple[Fmt, str, str]] = []
    for member in members:
        value = member.make(random.Random(f"{seed}:{member.id}:{index}"))
        carried = value
        if member.wrap is not None:
            carried = member.wrap(value, svc)
        elif token.startswith("url:"):
            carried = f"https://x-access-token:{value}@{member.section}.com/mojaloop/{svc}.git"
        lit = literal(tpl.style or tpl.language, carried, indent)
        entry = fill(tpl.entry, {**fields(member, svc), "v": carried, "lit": lit})
        entries.append((member, value, entry))
    text = head + tpl.sep.join(e for _m, _v, e in entries) + fill(tpl.tail, base)
    path = f"{svc}/{fill(tpl.path, base)}"
    language = LANGUAGES.get(tpl.language, tpl.language)
    samples, offset = [], len(head)
    for member, value, entry in entries:
        pos = text.index(value.split("\n")[0], offset)
        samples.append(Sample(member.id, place_of(member, token, tpl), path, text,
                              text.count("\n", 0, pos) + 1, language, value))
        offset += len(entry) + len(tpl.sep)
    return samples


def positives(seed: int = SEED) -> list[Sample]:
    """Every format in every place its plan names, values from ``seed``."""
    out: list[Sample] = []
    for fmt in FORMATS:
        for index, token in enumerate(fmt.plan.split(), 1):
            out += render(fmt, token, index, seed)
    return out


def write_corpus(root: Path, samples: Iterable[Sample]) -> Path:
    """Write each sample's file under ``root`` (samples sharing a path share its text)."""
    files: dict[str, str] = {}
    for s in samples:
        assert files.setdefault(s.path, s.text) == s.text, f"two texts for {s.path}"
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


# A key file's armour and header fields (`-----BEGIN …`, `---- END SSH2 …`, `Comment: …`,
# `PuTTY-User-Key-File-2: ssh-rsa`, `Encryption: none`): the same in many keys, not secret.
_ARMOUR = re.compile(r"----|[A-Za-z][\w-]*: ")


def probes(sample: Sample) -> list[str]:
    """The pieces of a value no output may show: each line of it that is long enough to be
    recognised, without a key file's armour and header lines."""
    return [x for x in sample.value.split("\n") if len(x) >= 12 and not _ARMOUR.match(x)]


def lookalikes(seed: int = SEED) -> list[Sample]:
    """Identifiers, placeholders and public data that look like credentials (their own
    module: ``secret_lookalikes.py``)."""
    from tests.secret_lookalikes import lookalikes as build

    return build(seed)


def corpus(seed: int = SEED) -> tuple[list[Sample], list[Sample]]:
    return positives(seed), lookalikes(seed)
