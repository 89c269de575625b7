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
    # ruleid: py-insecure-random-token
    pin = str(random.normalvariate(5000, 1500))
    # ruleid: py-insecure-random-token
    session_token = random.gauss(0, 1)
    # ok: py-insecure-random-token
    jitter = random.normalvariate(1.0, 0.1)
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


def cookies(response, value, app):
    # ruleid: py-cookie-missing-secure, py-cookie-missing-httponly, py-cookie-missing-samesite
    response.set_cookie("session_id", value)
    # ruleid: py-cookie-missing-secure
    response.set_cookie("prefs", value, httponly=True, samesite="Lax")
    # ruleid: py-cookie-missing-secure
    response.set_cookie("prefs", value, secure=False, httponly=True, samesite="Strict")
    # ruleid: py-cookie-missing-httponly
    response.set_cookie("auth", value, secure=True, samesite="Lax")
    # ruleid: py-cookie-missing-httponly
    response.set_signed_cookie("auth", value, secure=True, httponly=False, samesite="Lax")
    # ruleid: py-cookie-missing-samesite
    response.set_cookie("auth", value, secure=True, httponly=True)
    # ruleid: py-cookie-missing-samesite
    response.set_cookie("auth", value, secure=True, httponly=True, samesite="None")
    # ruleid: py-cookie-missing-samesite
    response.set_cookie("auth", value, secure=True, httponly=True, samesite=None)
    # ruleid: py-cookie-missing-samesite
    response.set_signed_cookie("auth", value, secure=True, httponly=True, max_age=3600)
    # ok: py-cookie-missing-samesite, py-cookie-missing-secure, py-cookie-missing-httponly
    response.set_cookie("auth", value, secure=True, httponly=True, samesite="Lax")
    # ok: py-cookie-missing-secure, py-cookie-missing-httponly, py-cookie-missing-samesite
    response.set_cookie(
        "auth",
        value,
        max_age=3600,
        secure=True,
        httponly=True,
        samesite="Strict",
    )
    # ok: py-cookie-missing-secure, py-cookie-missing-httponly, py-cookie-missing-samesite
    response.set_cookie("auth", "", expires=0)
    # ok: py-cookie-missing-secure, py-cookie-missing-httponly, py-cookie-missing-samesite
    response.set_cookie("auth", value, **COOKIE_OPTIONS)
    # ok: py-cookie-missing-secure, py-cookie-missing-httponly
    response.set_cookie("auth", value, secure=settings.SECURE, httponly=settings.HTTPONLY, samesite="Lax")
    # ok: py-cookie-missing-secure, py-cookie-missing-httponly, py-cookie-missing-samesite
    self.client.set_cookie("localhost", "auth", value)
    # ok: py-cookie-missing-secure, py-cookie-missing-httponly, py-cookie-missing-samesite
    cookie_jar.set_cookie(cookie)
    # ruleid: py-cookie-missing-secure
    app.config["SESSION_COOKIE_SECURE"] = False
    # ruleid: py-cookie-missing-httponly
    app.config.update(SESSION_COOKIE_HTTPONLY=False)
    # ok: py-cookie-missing-secure
    app.config["SESSION_COOKIE_SECURE"] = True
    # ok: py-cookie-missing-httponly
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")


# Django settings
# ruleid: py-cookie-missing-secure
SESSION_COOKIE_SECURE = False
# ruleid: py-cookie-missing-secure
CSRF_COOKIE_SECURE = False
# ruleid: py-cookie-missing-httponly
SESSION_COOKIE_HTTPONLY = False
# ok: py-cookie-missing-secure
SESSION_COOKIE_SECURE = True
# ok: py-cookie-missing-httponly
CSRF_COOKIE_HTTPONLY = True
# ok: py-cookie-missing-secure
SECURE_SSL_REDIRECT = False


def flask_debug():
    import flask

    flask_app = flask.Flask(__name__)
    # ruleid: py-flask-debug-enabled
    flask_app.debug = True
    # ruleid: py-flask-debug-enabled
    flask_app.config["DEBUG"] = True
    # ruleid: py-flask-debug-enabled
    flask_app.config.update(DEBUG=True, TESTING=False)
    # ruleid: py-flask-debug-enabled
    flask_app.run(host="0.0.0.0", port=8080, debug=True)
    # ruleid: py-flask-debug-enabled
    werkzeug.serving.run_simple("0.0.0.0", 8080, flask_app, use_debugger=True)
    # ok: py-flask-debug-enabled
    flask_app.run(host="0.0.0.0", port=8080)
    # ok: py-flask-debug-enabled
    flask_app.run(debug=os.environ.get("FLASK_DEBUG") == "1")
    # ok: py-flask-debug-enabled
    flask_app.run(debug=False)
    # ok: py-flask-debug-enabled
    asyncio.run(main(), debug=True)
    # ok: py-flask-debug-enabled
    flask_app.config["DEBUG"] = False


def templates(loader):
    import jinja2

    # ruleid: py-template-autoescape-off
    env = jinja2.Environment(loader=loader, autoescape=False)
    # ruleid: py-template-autoescape-off
    jinja2.Template("<p>{{ name }}</p>", autoescape=False)
    # ruleid: py-template-autoescape-off
    env.autoescape = False
    # ruleid: py-template-autoescape-off
    TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "OPTIONS": {"autoescape": False}}]
    # ruleid: py-template-autoescape-off
    jinja_env = jinja2.sandbox.SandboxedEnvironment(autoescape=False)
    # ok: py-template-autoescape-off
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape())
    # ok: py-template-autoescape-off
    env = jinja2.Environment(loader=loader, autoescape=True)
    # ok: py-template-autoescape-off
    env.autoescape = True
    # ok: py-template-autoescape-off
    TEMPLATES = [{"OPTIONS": {"autoescape": True}}]
    # ok: py-template-autoescape-off
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html", "xml"]))
    return env, jinja_env, TEMPLATES


def cors(app):
    import flask_cors
    from fastapi.middleware.cors import CORSMiddleware
    from flask_cors import CORS

    # ruleid: py-cors-permissive
    CORS(app, supports_credentials=True)
    # ruleid: py-cors-permissive
    flask_cors.CORS(app, origins="*", supports_credentials=True)
    # ruleid: py-cors-permissive
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"])
    # ruleid: py-cors-permissive
    app.add_middleware(CORSMiddleware, allow_credentials=True, allow_origin_regex=".*")
    # ok: py-cors-permissive
    CORS(app)
    # ok: py-cors-permissive
    CORS(app, origins=["https://portal.example.com"], supports_credentials=True)
    # ok: py-cors-permissive
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET"])
    # ok: py-cors-permissive
    app.add_middleware(CORSMiddleware, allow_origins=["https://portal.example.com"], allow_credentials=True)
    # ok: py-cors-permissive
    app.add_middleware(GZipMiddleware, minimum_size=1000)


# django-cors-headers
# ruleid: py-cors-permissive
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = True
# ok: py-cors-permissive
CORS_ORIGIN_ALLOW_ALL = False


# ------------------------------------------------------------------ issue 17: configuration
# Session secrets (py-hardcoded-password covers SECRET_KEY / secret_key)
def flask_secret(app):
    # ruleid: py-hardcoded-password
    app.secret_key = "flask-session-key-not-real"
    # ruleid: py-hardcoded-password
    app.config["SECRET_KEY"] = "another-not-real-key"
    # ruleid: py-hardcoded-password
    app.config.update(SECRET_KEY="dev-key-not-real")
    # ok: py-hardcoded-password
    app.secret_key = os.environ["FLASK_SECRET_KEY"]
    # ok: py-hardcoded-password
    app.config["SECRET_KEY"] = secrets.token_hex(32)


# ruleid: py-hardcoded-password
SECRET_KEY = "django-insecure-not-a-real-key"
# ok: py-hardcoded-password
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
# ruleid: py-cookie-missing-samesite
SESSION_COOKIE_SAMESITE = None
# ruleid: py-cookie-missing-samesite
CSRF_COOKIE_SAMESITE = "None"
# ok: py-cookie-missing-samesite
SESSION_COOKIE_SAMESITE = "Lax"


# CSRF
def csrf_views(app):
    from django.views.decorators.csrf import csrf_exempt, csrf_protect
    from flask_wtf.csrf import CSRFProtect

    # ruleid: py-csrf-protection-disabled
    @csrf_exempt
    def transfer(request):
        return request

    # ok: py-csrf-protection-disabled
    @csrf_protect
    def transfer_checked(request):
        return request

    # ruleid: py-csrf-protection-disabled
    hooks = [("hook", csrf_exempt(transfer_checked))]
    csrf = CSRFProtect(app)

    # ruleid: py-csrf-protection-disabled
    @csrf.exempt
    def api_hook():
        return "ok"

    # ruleid: py-csrf-protection-disabled
    app.config["WTF_CSRF_ENABLED"] = False
    # ok: py-csrf-protection-disabled
    app.config["WTF_CSRF_ENABLED"] = True
    # ok: py-csrf-protection-disabled
    app.config.update(WTF_CSRF_TIME_LIMIT=3600)
    # ok: py-csrf-protection-disabled
    csrf.protect()
    return hooks


class CsrfExemptSessionAuthentication:
    # ruleid: py-csrf-protection-disabled
    def enforce_csrf(self, request):
        return


class CheckedSessionAuthentication:
    # ok: py-csrf-protection-disabled
    def enforce_csrf(self, request):
        return super().enforce_csrf(request)


# ruleid: py-csrf-protection-disabled
WTF_CSRF_ENABLED = False
# ok: py-csrf-protection-disabled
WTF_CSRF_ENABLED = True


# Security headers
def talisman(app):
    from django.views.decorators.clickjacking import xframe_options_exempt
    from flask_talisman import Talisman

    # ruleid: py-security-headers-disabled
    Talisman(app, force_https=False)
    # ruleid: py-security-headers-disabled
    Talisman(app, content_security_policy=None, strict_transport_security=False)
    # ok: py-security-headers-disabled
    Talisman(app)
    # ok: py-security-headers-disabled
    Talisman(app, content_security_policy={"default-src": "'self'"})
    # ok: py-security-headers-disabled
    Talisman(app, force_https=True, frame_options="DENY")

    # ruleid: py-security-headers-disabled
    @xframe_options_exempt
    def embeddable(request):
        return request

    return embeddable


# ruleid: py-security-headers-disabled
SECURE_CONTENT_TYPE_NOSNIFF = False
# ruleid: py-security-headers-disabled
SECURE_REFERRER_POLICY = None
# ruleid: py-security-headers-disabled
SECURE_CROSS_ORIGIN_OPENER_POLICY = "unsafe-none"
# ok: py-security-headers-disabled
SECURE_CONTENT_TYPE_NOSNIFF = True
# ok: py-security-headers-disabled
SECURE_REFERRER_POLICY = "same-origin"


# Template auto-escaping left at jinja2's default (off)
def jinja_defaults(loader):
    import jinja2

    # ruleid: py-template-autoescape-default
    html_env = jinja2.Environment(loader=loader)
    # ruleid: py-template-autoescape-default
    sandbox = jinja2.sandbox.SandboxedEnvironment(loader=loader, trim_blocks=True)
    # ok: py-template-autoescape-default
    safe_env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape())
    # ok: py-template-autoescape-default
    options_env = jinja2.Environment(**JINJA_OPTIONS)
    # ok: py-template-autoescape-default
    on_env = jinja2.Environment(autoescape=True)
    return html_env, sandbox, safe_env, options_env, on_env


# A Django settings module: MIDDLEWARE, DEBUG
ROOT_URLCONF = "bank.urls"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.sessions", "bank"]
# ruleid: py-csrf-protection-disabled
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.contrib.sessions.middleware.SessionMiddleware"]
# ok: py-csrf-protection-disabled
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.csrf.CsrfViewMiddleware"]
# ruleid: py-django-debug-enabled
DEBUG = True
# ok: py-django-debug-enabled
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
# ok: py-django-debug-enabled
DEBUG = False
# ok: py-django-debug-enabled
DEBUG_PROPAGATE_EXCEPTIONS = True
# ok: py-django-debug-enabled
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "true"


# ------------------------------------------------------------------ S17-PY3: eval of a constant
def s17_limits():
    # ok: py-eval-non-literal
    return eval("{'daily': 1000, 'monthly': 20000}")


# ------------------------------------------------------------------ S17-PY3: SAX external entities
def s17_sax(stream):
    import xml.sax
    import xml.sax.handler

    parser = xml.sax.make_parser()
    # ruleid: py-xml-external-entities-enabled
    parser.setFeature(xml.sax.handler.feature_external_ges, True)
    # ruleid: py-xml-external-entities-enabled
    parser.setFeature(xml.sax.handler.feature_external_pes, 1)
    # ruleid: py-xml-external-entities-enabled
    parser.setFeature("http://xml.org/sax/features/external-general-entities", True)
    # ok: py-xml-external-entities-enabled
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    # ok: py-xml-external-entities-enabled
    parser.setFeature(xml.sax.handler.feature_namespaces, True)
    parser.parse(stream)


# ------------------------------------------------------------------ S17-PY3: FastAPI cookies (keyword arguments)
def s17_fastapi_cookie(response):
    # ruleid: py-cookie-missing-secure, py-cookie-missing-httponly, py-cookie-missing-samesite
    response.set_cookie(key="access_token", value=secrets.token_urlsafe(32))
    # ok: py-cookie-missing-secure, py-cookie-missing-httponly, py-cookie-missing-samesite
    response.set_cookie(key="access_token", value=secrets.token_urlsafe(32), httponly=True, secure=True, samesite="strict")
    # ok: py-cookie-missing-secure, py-cookie-missing-httponly, py-cookie-missing-samesite
    response.set_cookie(key="access_token", value="", max_age=0)


# ------------------------------------------------------------------ S17-PY3: weak randomness in functions named for a secret
def otp():
    # ruleid: py-insecure-random-token
    code = random.randint(100000, 999999)
    return {"otp": code}


def api_key(request):
    # ruleid: py-insecure-random-token
    key = "%032x" % random.getrandbits(128)
    return key


def new_session():
    rng = random.Random()
    # ruleid: py-insecure-random-token
    sid = "".join(rng.choices("abcdef0123456789", k=40))
    return sid


def nonce():
    # ruleid: py-insecure-random-token
    value = str(int(random.random() * 10**16))
    return value


def sort_key(item):
    # ok: py-insecure-random-token
    return random.random()


def retry_with_jitter():
    # ok: py-insecure-random-token
    return random.uniform(0.1, 0.5)


def reset_token():
    # ok: py-insecure-random-token
    return secrets.token_urlsafe(32)
