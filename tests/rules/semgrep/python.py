# Test target for policy_gate/rules/semgrep/python.yaml (semgrep --test annotations).
# Not imported or executed: it is only parsed by semgrep.
# ruff: noqa
import asyncio
import hashlib
import hmac
import logging
import random
import secrets
import uuid
import marshal
import os
import pickle
import shelve
import ssl
import subprocess

import aiohttp
import httpx
import jwt
import pandas as pd
import requests
import yaml
from Crypto.Cipher import AES, ARC4, DES
from Crypto.PublicKey import RSA
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jose import jws as jose_jws
from jose import jwt as jose_jwt
from sqlalchemy import text


def commands(user_input, host, conn_id):
    # ruleid: py-subprocess-shell-true
    subprocess.call("ls " + user_input, shell=True)
    # ruleid: py-subprocess-shell-true
    subprocess.run(f"ping -c 1 {host}", shell=True, check=True)
    out = subprocess.check_output(
        "grep %s /var/log/app.log" % conn_id,
        # ruleid: py-subprocess-shell-true
        shell=True,
    )
    # ruleid: py-subprocess-shell-true
    subprocess.Popen(user_input, shell=True)
    # ok: py-subprocess-shell-true
    subprocess.call(["ls", user_input], shell=False)
    # ok: py-subprocess-shell-true
    subprocess.run(["ping", "-c", "1", host])
    # ok: py-subprocess-shell-true
    subprocess.call("ls -la /tmp", shell=True)

    # ruleid: py-os-command-non-literal
    os.system("rm -rf " + user_input)
    # ruleid: py-os-command-non-literal
    os.popen(f"cat {user_input}")
    # ruleid: py-os-command-non-literal
    subprocess.getoutput("whois %s" % host)
    # ruleid: py-os-command-non-literal
    asyncio.create_subprocess_shell(user_input)
    # ok: py-os-command-non-literal
    os.system("uptime")
    # ok: py-os-command-non-literal
    os.popen("df -h")
    return out


def sql(cursor, session, conn, user_id, name, table):
    # ruleid: py-sql-string-building
    cursor.execute("SELECT * FROM users WHERE id = " + user_id)
    # ruleid: py-sql-string-building
    cursor.execute(f"SELECT * FROM users WHERE name = '{name}'")
    # ruleid: py-sql-string-building
    cursor.execute("DELETE FROM users WHERE id = %s" % user_id)
    # ruleid: py-sql-string-building
    cursor.execute("UPDATE users SET name = '{}' WHERE id = 1".format(name))
    cursor.execute(
        # ruleid: py-sql-string-building
        "SELECT * FROM " + table + " WHERE id = %s",
        (user_id,),
    )
    # ruleid: py-sql-string-building
    session.execute(text(f"SELECT * FROM users WHERE id = {user_id}"))
    # ruleid: py-sql-string-building
    query = f"SELECT * FROM users WHERE name = '{name}'"
    cursor.execute(query)
    # ruleid: py-sql-string-building
    stmt = "DELETE FROM sessions WHERE user = '%s'" % name
    rows = cursor.execute(stmt).fetchall()
    # ok: py-sql-string-building
    cursor.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    # ok: py-sql-string-building
    cursor.execute("SELECT * FROM users WHERE name = :name", {"name": name})
    # ok: py-sql-string-building
    cursor.execute("SELECT * FROM users " + "WHERE id = 1")
    # ok: py-sql-string-building
    session.execute(text("SELECT * FROM users WHERE id = :id"), {"id": user_id})
    # ok: py-sql-string-building
    executor.execute("job-" + name)
    safe = "SELECT * FROM users WHERE id = %s"
    # ok: py-sql-string-building
    cursor.execute(safe, (user_id,))
    # ok: py-sql-string-building
    pd.read_sql("SELECT * FROM users WHERE id = %(id)s", conn, params={"id": user_id})


def evaluation(expr, code):
    # ruleid: py-eval-non-literal
    value = eval(expr)
    # ruleid: py-eval-non-literal
    eval("1 + " + expr)
    # ok: py-eval-non-literal
    eval("1 + 2")
    # ok: py-eval-non-literal
    ast.literal_eval(expr)
    # ruleid: py-exec-non-literal
    exec(code)
    # ruleid: py-exec-non-literal
    exec(f"result = {code}", {})
    # ok: py-exec-non-literal
    exec("import this")
    return value


def deserialisation(data, path, fh):
    # ruleid: py-pickle-deserialization
    obj = pickle.loads(data)
    # ruleid: py-pickle-deserialization
    pickle.load(fh)
    # ruleid: py-pickle-deserialization
    pd.read_pickle(path)
    # ok: py-pickle-deserialization
    pickle.dumps(obj)
    # ok: py-pickle-deserialization
    json.loads(data)

    # ruleid: py-marshal-deserialization
    marshal.loads(data)
    # ok: py-marshal-deserialization
    marshal.dumps(obj)

    # ruleid: py-shelve-open
    db = shelve.open(path)
    # ok: py-shelve-open
    dbm.open(path, "r")

    # ruleid: py-yaml-unsafe-load
    yaml.load(data)
    # ruleid: py-yaml-unsafe-load
    yaml.load(data, Loader=yaml.Loader)
    # ruleid: py-yaml-unsafe-load
    yaml.load(data, yaml.UnsafeLoader)
    # ruleid: py-yaml-unsafe-load
    yaml.unsafe_load(data)
    # ruleid: py-yaml-unsafe-load
    yaml.load_all(data)
    # ok: py-yaml-unsafe-load
    yaml.safe_load(data)
    # ok: py-yaml-unsafe-load
    yaml.load(data, Loader=yaml.SafeLoader)
    # ok: py-yaml-unsafe-load
    yaml.load(data, yaml.CSafeLoader)
    # ok: py-yaml-unsafe-load
    yaml.load(data, Loader=MySafeLoader)
    return db


def ruamel_is_different(data):
    yaml = ruamel.yaml.YAML(typ="safe")
    # ok: py-yaml-unsafe-load
    return yaml.load(data)


def tls(url, session, sock, http_client):
    # ruleid: py-tls-verify-disabled
    requests.get(url, verify=False)
    requests.post(
        url,
        json={},
        # ruleid: py-tls-verify-disabled
        verify=False,
    )
    # ruleid: py-tls-verify-disabled
    httpx.Client(verify=False)
    # ruleid: py-tls-verify-disabled
    session.get(url, timeout=5, verify=False)
    # ruleid: py-tls-verify-disabled
    session.verify = False
    # ok: py-tls-verify-disabled
    requests.get(url, verify=True)
    # ok: py-tls-verify-disabled
    requests.get(url, verify="/etc/ssl/mojaloop-ca.pem")
    # ok: py-tls-verify-disabled
    session.verify = "/etc/ssl/mojaloop-ca.pem"
    # ruleid: py-tls-verify-disabled
    aiohttp.TCPConnector(ssl=False)
    # ruleid: py-tls-verify-disabled
    aiohttp.ClientSession(connector=None).get(url, ssl=False)
    # ruleid: py-tls-verify-disabled
    session.post(url, json={}, verify_ssl=False)
    # ok: py-tls-verify-disabled
    aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile="/etc/ssl/ca.pem"))
    # ok: py-tls-verify-disabled
    redis_client = Redis(host="cache", ssl=False)

    # ruleid: py-ssl-unverified-context
    ctx = ssl._create_unverified_context()
    # ruleid: py-ssl-unverified-context
    ssl._create_default_https_context = ssl._create_unverified_context
    # ok: py-ssl-unverified-context
    ctx = ssl.create_default_context(cafile="/etc/ssl/ca.pem")

    # ruleid: py-ssl-cert-none
    ctx.verify_mode = ssl.CERT_NONE
    # ruleid: py-ssl-cert-none
    ssl.wrap_socket(sock, cert_reqs=ssl.CERT_NONE)
    # ruleid: py-ssl-cert-none
    urllib3.PoolManager(cert_reqs="CERT_NONE")
    # ok: py-ssl-cert-none
    ctx.verify_mode = ssl.CERT_REQUIRED
    # ok: py-ssl-cert-none
    urllib3.PoolManager(cert_reqs="CERT_REQUIRED")
    default_ctx = ssl.create_default_context()
    # ruleid: py-ssl-check-hostname-disabled
    default_ctx.check_hostname = False
    # ruleid: py-ssl-cert-none
    default_ctx.verify_mode = ssl.CERT_NONE
    # ruleid: py-ssl-cert-none
    ws_connect(url, sslopt={"cert_reqs": ssl.CERT_NONE})
    # ruleid: py-ssl-cert-none
    ssl.wrap_socket(sock, None, None, False, ssl.CERT_NONE)
    # ok: py-ssl-cert-none
    if ctx.verify_mode == ssl.CERT_NONE:
        raise ValueError("certificate verification must be on")
    # ok: py-ssl-cert-none
    MODES = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}

    # ruleid: py-ssl-check-hostname-disabled
    ctx.check_hostname = False
    # ok: py-ssl-check-hostname-disabled
    ctx.check_hostname = True

    # ruleid: py-ssl-weak-protocol
    ssl.wrap_socket(sock, ssl_version=ssl.PROTOCOL_TLSv1)
    # ruleid: py-ssl-weak-protocol
    old = ssl.SSLContext(ssl.PROTOCOL_SSLv3)
    # ruleid: py-ssl-weak-protocol
    ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    # ruleid: py-ssl-weak-protocol
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    # ruleid: py-ssl-weak-protocol
    ssl.SSLContext(ssl.PROTOCOL_TLSv1_1)
    # ruleid: py-ssl-weak-protocol
    ssl.SSLContext(protocol=ssl.PROTOCOL_SSLv2)
    # ok: py-ssl-weak-protocol
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # ok: py-ssl-weak-protocol
    good = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # ok: py-ssl-weak-protocol
    if ctx.minimum_version == ssl.TLSVersion.TLSv1:
        raise ValueError("TLS 1.0 is not allowed")
    return old, good


def crypto(data, key, iv):
    # ruleid: py-weak-hash
    hashlib.md5(data).hexdigest()
    # ruleid: py-weak-hash
    hashlib.sha1(data)
    # ruleid: py-weak-hash
    hashlib.new("md5", data)
    # ruleid: py-weak-hash
    hashlib.new("SHA1")
    # ruleid: py-weak-hash
    hashes.Hash(hashes.SHA1())
    # ok: py-weak-hash
    hashlib.md5(data, usedforsecurity=False)
    # ok: py-weak-hash
    hashlib.sha256(data)
    # ok: py-weak-hash
    hashlib.new("sha256", data)
    # ok: py-weak-hash
    hashes.Hash(hashes.SHA256())

    # ruleid: py-weak-cipher
    DES.new(key, DES.MODE_CBC, iv)
    # ruleid: py-weak-cipher
    ARC4.new(key)
    # ruleid: py-weak-cipher
    Cipher(algorithms.TripleDES(key), modes.CBC(iv))
    # ok: py-weak-cipher
    AES.new(key, AES.MODE_GCM)
    # ok: py-weak-cipher
    Cipher(algorithms.AES(key), modes.GCM(iv))

    # ruleid: py-cipher-ecb-mode
    Cipher(algorithms.AES(key), modes.ECB())
    # ruleid: py-cipher-ecb-mode
    AES.new(key, AES.MODE_ECB)
    # ok: py-cipher-ecb-mode
    Cipher(algorithms.AES(key), modes.CBC(iv))
    # ok: py-cipher-ecb-mode
    AES.new(key, AES.MODE_GCM, nonce=iv)

    # ruleid: py-weak-rsa-dsa-key
    rsa.generate_private_key(public_exponent=65537, key_size=1024)
    # ruleid: py-weak-rsa-dsa-key
    RSA.generate(1024)
    # ok: py-weak-rsa-dsa-key
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # ruleid: py-weak-rsa-dsa-key
    rsa.generate_private_key(65537, 1024)
    # ok: py-weak-rsa-dsa-key
    RSA.generate(3072)
    # ok: py-weak-rsa-dsa-key
    rsa.generate_private_key(public_exponent=65537, key_size=4096)

    # ruleid: py-weak-hmac
    hmac.new(key, data, hashlib.md5)
    # ruleid: py-weak-hmac
    hmac.new(key, msg=data, digestmod="sha1")
    # ruleid: py-weak-hmac
    hmac.digest(key, data, "md5")
    # ok: py-weak-hmac
    hmac.new(key, data, hashlib.sha256)
    # ok: py-weak-hmac
    hmac.digest(key, data, "sha512")


# ruleid: py-hardcoded-password
DB_PASSWORD = "s3cr3t-Pa55"
# ruleid: py-hardcoded-password
api_key = "AKIAIOSFODNN7EXAMPLE"
# ruleid: py-hardcoded-password
CONFIG = {"client_secret": "9f8e7d6c5b4a"}
# ok: py-hardcoded-password
EMPTY_PASSWORD = ""
# ok: py-hardcoded-password
DB_PASSWORD_ENV = os.environ["DB_PASSWORD"]
# ok: py-hardcoded-password
db_password = os.environ.get("DB_PASSWORD")
# ok: py-hardcoded-password
PASSWORD_RESET_URL = "https://example.org/reset"
# ok: py-hardcoded-password
token_type = "Bearer"
# ok: py-hardcoded-password
TOKEN = "token"
# ok: py-hardcoded-password
CONFIG_TEMPLATE = {"password": "${DB_PASSWORD}"}


class Settings:
    def __init__(self):
        # ruleid: py-hardcoded-password
        self.secret = "hunter2-hunter2"
        # ok: py-hardcoded-password
        self.secret = os.environ["APP_SECRET"]


def connect(db):
    # ruleid: py-hardcoded-password
    db.connect(host="db", user="central_ledger", password="password123")
    # ok: py-hardcoded-password
    db.connect(host="db", user="central_ledger", password=os.environ["DB_PASSWORD"])


def jwts(token, payload, public_key, signing_key):
    # ruleid: py-jwt-verification-disabled
    jwt.decode(token, options={"verify_signature": False})
    # ruleid: py-jwt-verification-disabled
    jwt.decode(token, public_key, verify=False)
    # ok: py-jwt-verification-disabled
    jwt.decode(token, public_key, algorithms=["RS256"])
    # ok: py-jwt-verification-disabled
    jwt.decode(token, public_key, algorithms=["RS256"], options={"verify_aud": False})

    # ruleid: py-jwt-none-algorithm
    jwt.decode(token, public_key, algorithms=["RS256", "none"])
    # ruleid: py-jwt-none-algorithm
    jwt.encode(payload, None, algorithm="none")
    # ok: py-jwt-none-algorithm
    jwt.decode(token, public_key, algorithms=["RS256"])
    # ok: py-jwt-none-algorithm
    jwt.encode(payload, signing_key, algorithm="RS256")

    # ruleid: py-jwt-hardcoded-secret
    jwt.encode(payload, "my-super-secret", algorithm="HS256")
    # ruleid: py-jwt-hardcoded-secret
    jwt.decode(token, "my-super-secret", algorithms=["HS256"])
    # ok: py-jwt-hardcoded-secret
    jwt.encode(payload, signing_key, algorithm="RS256")
    # ok: py-jwt-hardcoded-secret
    jwt.encode(payload, os.environ["JWT_SECRET"], algorithm="HS256")


def jwts_more(token, payload, public_key, signing_key, request):
    # ruleid: py-jwt-verification-disabled
    jose_jwt.decode(token, public_key, options={"verify_signature": False})
    # ruleid: py-jwt-none-algorithm
    jose_jws.verify(token, public_key, algorithms=["none"])
    # ok: py-jwt-none-algorithm
    jose_jws.verify(token, public_key, algorithms=["RS256"])

    # ruleid: py-jwt-ignore-expiration
    jwt.decode(token, public_key, algorithms=["RS256"], options={"verify_exp": False})
    # ok: py-jwt-ignore-expiration
    jwt.decode(token, public_key, algorithms=["RS256"], leeway=30)


def user_from_token(token):
    # ruleid: py-jwt-unverified-claims
    claims = jose_jwt.get_unverified_claims(token)
    return claims["sub"]


def verify_with_issuer_key(token, keys):
    # ok: py-jwt-unverified-claims
    issuer = jose_jwt.get_unverified_claims(token)["iss"]
    return jose_jwt.decode(token, keys[issuer], algorithms=["RS256"])


def signing(payload, data, key_from_vault):
    # ruleid: py-hardcoded-signing-key
    hmac.new(b"hub-shared-secret", data, hashlib.sha256)
    # ruleid: py-hardcoded-signing-key
    hmac.new("hub-shared-secret".encode(), data, hashlib.sha256)
    # ruleid: py-hardcoded-signing-key
    load_pem_private_key(b"-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----", None)
    # ruleid: py-hardcoded-signing-key
    jose_jws.sign(payload, "my-jws-secret", algorithm="HS256")
    # ruleid: py-jwt-hardcoded-secret
    jwt.encode(payload, "literal-secret", algorithm="HS256")
    # ok: py-hardcoded-signing-key
    hmac.new(key_from_vault, data, hashlib.sha256)
    # ok: py-hardcoded-signing-key
    hmac.new(os.environ["HMAC_KEY"].encode(), data, hashlib.sha256)
    # ok: py-hardcoded-signing-key
    RSA.import_key("-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----")


def randomness(nodes, chars):
    # ruleid: py-insecure-random-token
    token = "".join(random.choice(chars) for _ in range(32))
    # ruleid: py-insecure-random-token
    otp = random.randint(100000, 999999)
    # ruleid: py-insecure-random-token
    reset = {"reset_token": random.getrandbits(128)}
    # ruleid: py-insecure-random-token
    transfer_id = str(random.random())
    # ruleid: py-insecure-random-token
    issue(session_key=random.randbytes(16))
    # ok: py-insecure-random-token
    token = secrets.token_urlsafe(32)
    # ok: py-insecure-random-token
    otp = secrets.randbelow(1_000_000)
    # ok: py-insecure-random-token
    transfer_id = str(uuid.uuid4())
    # ok: py-insecure-random-token
    node_id = random.choice(nodes)
    # ok: py-insecure-random-token
    delay = random.uniform(0.5, 1.5)
    # ok: py-insecure-random-token
    password = "".join(secrets.choice(chars) for _ in range(20))
    # ok: py-insecure-random-token
    nonce = random.SystemRandom().getrandbits(64)
    return token, otp, reset, transfer_id, delay, password, nonce


def generate_api_key(chars):
    # ruleid: py-insecure-random-token
    return "".join(random.choices(chars, k=40))


def pick_backoff():
    # ok: py-insecure-random-token
    return random.random() * 2


logger = logging.getLogger(__name__)


def views(request, response):
    # ruleid: py-log-sensitive-request-data
    logger.info("incoming headers %s", request.headers)
    # ruleid: py-log-sensitive-request-data
    logging.debug("auth=%s", request.headers["Authorization"])
    # ruleid: py-log-sensitive-request-data
    logger.debug("auth=%s", request.headers.get("authorization"))
    # ruleid: py-log-sensitive-request-data
    logger.info("body: %s", request.json)
    # ruleid: py-log-sensitive-request-data
    logger.warning(f"bad request {request.body!r}")
    # ruleid: py-log-sensitive-request-data
    log.info("form %s", request.POST)
    # ruleid: py-log-sensitive-request-data
    logger.error("meta %s", request.META)
    # ruleid: py-log-sensitive-request-data
    self.logger.info("payload %s", request.get_json())
    # ok: py-log-sensitive-request-data
    logger.info("source %s", request.headers.get("FSPIOP-Source"))
    # ok: py-log-sensitive-request-data
    logger.info("transfer %s", request.json["transferId"])
    # ok: py-log-sensitive-request-data
    logger.info("%s %s", request.method, request.path)
    # ok: py-log-sensitive-request-data
    logger.info("body of %d bytes", len(request.body))
    # ok: py-log-sensitive-request-data
    logger.info("status %s", response.status_code)


async def fastapi_view(request):
    # ruleid: py-log-sensitive-request-data
    logger.info("payload %s", await request.json())
    # ok: py-log-sensitive-request-data
    data = await request.json()
    return data


def join_is_not_a_literal(chars):
    # ok: py-hardcoded-password
    password = "".join(secrets.choice(chars) for _ in range(20))
    return password
