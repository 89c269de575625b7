# Test target for policy_gate/rules/semgrep/python-taint.yaml (semgrep --test annotations).
# Not imported or executed: it is only parsed by semgrep.
# Each class has vulnerable flows (ruleid) and safe look-alikes (ok): constants,
# allowlisted values, parameterised queries, sanitised paths, escaped output.
# ruff: noqa
import asyncio
import base64
import html
import io
import json
import logging
import os
import pickle
import random
import re
import secrets
import shlex
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
import xml.dom.pulldom
import xml.sax
from pathlib import Path

import bson
import httpx
import ldap
import ldap.filter
import ldap3
import pymongo
import requests
import yaml
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect as django_redirect
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views import View
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from flask import Response as FlaskResponse
from flask import (
    Flask,
    abort,
    Markup,
    jsonify,
    make_response,
    redirect,
    render_template,
    render_template_string,
    request,
    send_file,
    send_from_directory,
    session,
    url_for,
)
from ldap3.utils.conv import escape_filter_chars
from lxml import etree
from markupsafe import escape
from sqlalchemy import select, text
from rest_framework.views import APIView
from werkzeug.utils import secure_filename

app = Flask(__name__)
api = FastAPI()
log = logging.getLogger(__name__)
BASE_DIR = Path("/srv/files")
ALLOWED_HOSTS = {"api.example.com"}
ALLOWED_TOOLS = {"uptime", "df"}
SORT_COLUMNS = {"name": "name", "date": "created_at"}
UPLOADS = "/var/app/uploads"


# ============================================================ command injection (CWE-78)


@app.route("/ping")
def ping():
    host = request.args.get("host")
    # ruleid: py-taint-command-injection
    subprocess.run("ping -c 1 " + host, shell=True)
    # ruleid: py-taint-command-injection
    os.system(f"nslookup {host}")
    cmd = "traceroute %s" % host
    # ruleid: py-taint-command-injection
    out = subprocess.check_output(cmd, shell=True)
    # ruleid: py-taint-command-injection
    subprocess.Popen(["sh", "-c", "dig " + host])
    # ruleid: py-taint-command-injection
    os.popen("whois " + request.form["domain"]).read()
    tool = request.args["tool"]
    # ruleid: py-taint-command-injection
    subprocess.call([tool, "--version"])
    # ok: py-taint-command-injection
    subprocess.run(["ping", "-c", "1", host])
    # ok: py-taint-command-injection
    subprocess.run("ping -c 1 " + shlex.quote(host), shell=True)
    # ok: py-taint-command-injection
    subprocess.run("uptime", shell=True)
    count = int(request.args.get("count", "1"))
    # ok: py-taint-command-injection
    os.system("ping -c %d localhost" % count)
    return "ok"


@app.route("/tool/<name>")
def run_tool(name):
    # ruleid: py-taint-command-injection
    asyncio.create_subprocess_shell("man " + name)
    if name not in ALLOWED_TOOLS:
        return "no", 400
    # ok: py-taint-command-injection
    os.system(name)
    return "ok"


def command_helper(value):
    # a plain function: its parameter is not request data
    # ok: py-taint-command-injection
    subprocess.run(value, shell=True)


# ============================================================ code injection (CWE-94/95)


@app.route("/calc")
def calc():
    expr = request.args.get("expr")
    # ruleid: py-taint-code-injection
    result = eval(expr)
    # ruleid: py-taint-code-injection
    exec("value = " + request.form["code"])
    # ruleid: py-taint-code-injection
    exec(compile(request.get_data(as_text=True), "<input>", "exec"))
    # ok: py-taint-code-injection
    eval("1 + 2")
    # ok: py-taint-code-injection
    value = json.loads(expr)
    # ok: py-taint-code-injection
    eval(str(int(expr)))
    return jsonify(result)


def django_calc(request):
    formula = request.POST["formula"]
    # ruleid: py-taint-code-injection
    eval(formula, {"__builtins__": {}})
    # ok: py-taint-code-injection
    eval(repr(len(formula)))
    return HttpResponse("ok")


@api.post("/rules")
async def fastapi_rules(rule: str):
    # ruleid: py-taint-code-injection
    exec(rule)
    # ok: py-taint-code-injection
    exec("import math")
    return {"ok": True}


# ============================================================ SQL injection (CWE-89)


@app.route("/users")
def users():
    name = request.args.get("name")
    db = sqlite3.connect("app.db")
    cur = db.cursor()
    # ruleid: py-taint-sql-injection
    cur.execute("SELECT * FROM users WHERE name = '" + name + "'")
    query = f"SELECT * FROM users WHERE name = '{name}'"
    # ruleid: py-taint-sql-injection
    rows = db.execute(query).fetchall()
    # ruleid: py-taint-sql-injection
    db.session.execute(text("SELECT * FROM users WHERE name = '%s'" % name))
    # ok: py-taint-sql-injection
    cur.execute("SELECT * FROM users WHERE name = ?", (name,))
    # ok: py-taint-sql-injection
    db.session.execute(text("SELECT * FROM users WHERE name = :name"), {"name": name})
    # ok: py-taint-sql-injection
    db.session.execute(select(User).where(User.name == name))
    stmt = text("SELECT * FROM users WHERE name = :name").bindparams(name=name)
    # ok: py-taint-sql-injection
    db.session.execute(stmt)
    order = SORT_COLUMNS.get(request.args.get("sort"), "name")
    # ok: py-taint-sql-injection
    cur.execute("SELECT * FROM users ORDER BY " + "name")
    return jsonify(rows)


def django_users(request, user_id):
    # ruleid: py-taint-sql-injection
    User.objects.raw("SELECT * FROM auth_user WHERE id = %s" % user_id)
    # ruleid: py-taint-sql-injection
    User.objects.extra(where=["username = '%s'" % request.GET["u"]])
    with connection.cursor() as cursor:
        # ruleid: py-taint-sql-injection
        cursor.execute("DELETE FROM sessions WHERE user = " + request.GET["u"])
        # ok: py-taint-sql-injection
        cursor.execute("DELETE FROM sessions WHERE user = %s", [request.GET["u"]])
    # ok: py-taint-sql-injection
    User.objects.raw("SELECT * FROM auth_user WHERE id = %s", [user_id])
    # ok: py-taint-sql-injection
    User.objects.extra(where=["username = %s"], params=[request.GET["u"]])
    # ok: py-taint-sql-injection
    User.objects.filter(username=request.GET["u"])
    return HttpResponse("ok")


@api.get("/accounts/{account_id}")
def fastapi_account(account_id: str, db=Depends(get_db)):
    # ruleid: py-taint-sql-injection
    db.execute(text(f"SELECT * FROM accounts WHERE id = {account_id}"))
    # ok: py-taint-sql-injection
    db.execute(text("SELECT * FROM accounts WHERE id = :id"), {"id": account_id})
    return {}


# ============================================================ path traversal (CWE-22)


@app.route("/download")
def download():
    name = request.args.get("file")
    # ruleid: py-taint-path-traversal
    data = open(os.path.join("/srv/files", name)).read()
    # ruleid: py-taint-path-traversal
    (BASE_DIR / name).read_text()
    # ruleid: py-taint-path-traversal
    os.remove("/tmp/uploads/" + name)
    # ok: py-taint-path-traversal
    open(os.path.join("/srv/files", os.path.basename(name))).read()
    # ok: py-taint-path-traversal
    open(os.path.join("/srv/files", secure_filename(name))).read()
    # ok: py-taint-path-traversal
    send_from_directory("/srv/files", name)
    # ok: py-taint-path-traversal
    open("/srv/files/index.txt").read()
    return "ok"


@app.route("/files/<path:subpath>")
def files(subpath):
    target = (BASE_DIR / subpath).resolve()
    if not target.is_relative_to(BASE_DIR):
        return "forbidden", 403
    # ok: py-taint-path-traversal
    return send_file(target)


@app.route("/docs/<path:subpath>")
def docs(subpath):
    full = os.path.realpath(os.path.join("/srv/docs", subpath))
    if not full.startswith("/srv/docs/"):
        return "forbidden", 403
    # ok: py-taint-path-traversal
    return send_file(full)


@app.route("/notes/<path:subpath>")
def notes(subpath):
    # an unresolved path that starts with the base can still climb out of it
    full = os.path.join("/srv/notes", subpath)
    if not full.startswith("/srv/notes"):
        return "forbidden", 403
    # ruleid: py-taint-path-traversal
    return send_file(full)


@app.route("/upload", methods=["POST"])
def upload():
    upload = request.files["doc"]
    # ruleid: py-taint-path-traversal
    upload.save(os.path.join("/srv/uploads", upload.filename))
    # ok: py-taint-path-traversal
    upload.save(os.path.join("/srv/uploads", secure_filename(upload.filename)))
    return "ok"


# ============================================================ SSRF (CWE-918)


@app.route("/fetch")
def fetch():
    url = request.args.get("url")
    # ruleid: py-taint-ssrf
    r = requests.get(url, timeout=5)
    # ruleid: py-taint-ssrf
    urllib.request.urlopen(request.form["feed"])
    # ruleid: py-taint-ssrf
    httpx.post(f"https://{request.args['host']}/hook", json={})
    # ok: py-taint-ssrf
    requests.get(f"https://api.example.com/items/{request.args['id']}", timeout=5)
    # ok: py-taint-ssrf
    requests.get("https://api.example.com/search", params={"q": url}, timeout=5)
    # ok: py-taint-ssrf
    requests.get("https://api.example.com/status", timeout=5)
    return jsonify(r.status_code)


@app.route("/proxy")
def proxy():
    target = request.args["target"]
    if urllib.parse.urlparse(target).hostname not in ALLOWED_HOSTS:
        return "forbidden", 403
    # ok: py-taint-ssrf
    requests.get(target, timeout=5)
    return "ok"


def django_webhook(request):
    hook = request.POST["callback"]
    http = requests.Session()
    # ruleid: py-taint-ssrf
    http.post(hook, json={"ok": True})
    host = urllib.parse.urlparse(hook).hostname
    if host not in ALLOWED_HOSTS:
        return HttpResponse(status=400)
    # ok: py-taint-ssrf
    http.post(hook, json={"ok": True})
    return HttpResponse("sent")


@api.get("/preview")
async def fastapi_preview(link: str):
    async with httpx.AsyncClient() as client:
        # ruleid: py-taint-ssrf
        page = await client.get(link)
    # ok: py-taint-ssrf
    requests.get("https://static.example.com/" + link, timeout=5)
    return {"size": len(page.content)}


# ============================================================ open redirect (CWE-601)


@app.route("/login")
def login():
    next_url = request.args.get("next")
    if next_url:
        # ruleid: py-taint-open-redirect
        return redirect(next_url)
    # ruleid: py-taint-open-redirect
    return redirect(request.referrer)


@app.route("/go")
def go():
    response = make_response("", 302)
    # ruleid: py-taint-open-redirect
    response.headers["Location"] = request.args["to"]
    # ok: py-taint-open-redirect
    return redirect(url_for("profile", name=request.args["to"]))


@app.route("/profile/<name>")
def profile(name):
    # ok: py-taint-open-redirect
    return redirect("/users/" + name)


def django_login(request):
    target = request.GET.get("next", "/")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        # ok: py-taint-open-redirect
        return HttpResponseRedirect(target)
    # ruleid: py-taint-open-redirect
    return django_redirect(request.POST["next"])


def django_logout(request):
    # ok: py-taint-open-redirect
    return django_redirect("/")


@api.get("/out")
def fastapi_out(dest: str):
    # ruleid: py-taint-open-redirect
    return RedirectResponse(dest)


@api.get("/out2")
def fastapi_out_allowlisted(dest: str):
    if dest not in {"/a", "/b"}:
        dest = "/"
    # ok: py-taint-open-redirect
    return RedirectResponse(dest)


# ============================================================ XSS (CWE-79)


@app.route("/hello")
def hello():
    name = request.args.get("name", "")
    # ruleid: py-taint-xss
    banner = Markup("<h1>Hello " + name + "</h1>")
    # ruleid: py-taint-xss
    render_template_string("<p>Hello " + name + "</p>")
    # ok: py-taint-xss
    render_template_string("<p>Hello {{ name }}</p>", name=name)
    # ok: py-taint-xss
    Markup("<h1>Hello {}</h1>").format(name)
    # ok: py-taint-xss
    render_template("hello.html", name=name)
    # ruleid: py-taint-xss
    return "<p>Hello " + name + "</p>"


@app.route("/echo")
def echo():
    # ruleid: py-taint-xss
    return make_response("<pre>" + request.form["text"] + "</pre>")


@app.route("/safe-echo")
def safe_echo():
    text_in = request.args["q"]
    # ok: py-taint-xss
    return "<p>" + escape(text_in) + "</p>"


@app.route("/api/echo")
def api_echo():
    # ok: py-taint-xss
    return jsonify({"q": request.args["q"]})


@app.route("/api/echo2")
def api_echo2():
    # ok: py-taint-xss
    return {"q": request.args["q"]}


def django_search(request):
    query = request.GET.get("q", "")
    # ruleid: py-taint-xss
    label = mark_safe("<b>" + query + "</b>")
    # ok: py-taint-xss
    format_html("<b>{}</b>", query)
    # ok: py-taint-xss
    HttpResponse(json.dumps({"q": query}), content_type="application/json")
    # ok: py-taint-xss
    HttpResponse("<b>" + html.escape(query) + "</b>")
    # ruleid: py-taint-xss
    return HttpResponse("<b>Results for " + query + "</b>")


@api.get("/page", response_class=HTMLResponse)
def fastapi_page(title: str):
    # ruleid: py-taint-xss
    return HTMLResponse(f"<title>{title}</title>")


# ============================================================ XPath injection (CWE-643)


@app.route("/employee")
def employee():
    emp = request.args.get("id")
    root = etree.parse("/srv/employees.xml")
    # ruleid: py-taint-xpath-injection
    nodes = root.xpath("//employee[@id='" + emp + "']")
    # ruleid: py-taint-xpath-injection
    finder = etree.XPath(f"//employee[name='{emp}']/salary")
    # ok: py-taint-xpath-injection
    root.xpath("//employee[@id=$id]", id=emp)
    # ok: py-taint-xpath-injection
    root.xpath("//employee[@id='1']")
    # ok: py-taint-xpath-injection
    root.xpath("//employee[@id='%d']" % int(emp))
    return str(len(nodes))


def django_employee(request):
    import xml.etree.ElementTree as ET

    tree = ET.parse("/srv/employees.xml")
    dept = request.GET["dept"]
    # ruleid: py-taint-xpath-injection
    found = tree.findall(".//employee[@dept='" + dept + "']")
    # ruleid: py-taint-xpath-injection
    tree.getroot().find(f".//employee[@dept='{dept}']")
    # ok: py-taint-xpath-injection
    tree.findall(".//employee")
    # ok: py-taint-xpath-injection
    dept.find("'")
    return HttpResponse(str(len(found)))


@api.get("/xpath/{name}")
def fastapi_xpath(name: str):
    doc = etree.fromstring(b"<users/>")
    # ruleid: py-taint-xpath-injection
    doc.xpath("//user[@name='%s']" % name)
    if name in {"alice", "bob"}:
        # ok: py-taint-xpath-injection
        doc.xpath("//user[@name='%s']" % name)
    return {}


# ============================================================ LDAP injection (CWE-90)


@app.route("/directory")
def directory():
    user = request.args.get("user")
    conn = ldap3.Connection(ldap3.Server("ldap://ldap.example.com"), auto_bind=True)
    # ruleid: py-taint-ldap-injection
    conn.search("dc=example,dc=com", "(uid=" + user + ")")
    # ruleid: py-taint-ldap-injection
    conn.search(search_base="dc=example,dc=com", search_filter=f"(&(objectClass=person)(cn={user}))")
    # ruleid: py-taint-ldap-injection
    conn.search("ou=" + request.args["ou"] + ",dc=example,dc=com", "(objectClass=person)")
    # ok: py-taint-ldap-injection
    conn.search("dc=example,dc=com", "(uid=" + escape_filter_chars(user) + ")")
    # ok: py-taint-ldap-injection
    conn.search("dc=example,dc=com", "(objectClass=person)", attributes=[user])
    # ok: py-taint-ldap-injection
    re.search("(uid=" + user + ")", "text")
    return jsonify(conn.entries)


def django_directory(request, group):
    conn = ldap3.Connection("ldap://ldap.example.com")
    # ruleid: py-taint-ldap-injection
    conn.search("dc=example,dc=com", "(memberOf=cn=%s)" % group)
    safe_group = escape_filter_chars(group)
    # ok: py-taint-ldap-injection
    conn.search("dc=example,dc=com", "(memberOf=cn=%s)" % safe_group)
    # ruleid: py-taint-ldap-injection
    conn.search("dc=example,dc=com", "(mail=%s)" % request.GET["mail"])
    if not re.fullmatch(r"[a-z0-9.@-]+", request.GET["mail"]):
        return HttpResponse(status=400)
    # ok: py-taint-ldap-injection
    conn.search("dc=example,dc=com", "(objectClass=group)")
    return HttpResponse("ok")


# ============================================================ XXE (CWE-611)

RESOLVING = etree.XMLParser(resolve_entities=True)


@app.route("/import", methods=["POST"])
def import_xml():
    body = request.get_data()
    # ruleid: py-taint-xxe
    doc = etree.fromstring(body, RESOLVING)
    parser = etree.XMLParser(resolve_entities=True, no_network=False)
    # ruleid: py-taint-xxe
    etree.fromstring(request.form["xml"], parser)
    # ruleid: py-taint-xxe
    etree.parse(io.BytesIO(body), parser=etree.XMLParser(no_network=False))
    safe = etree.XMLParser(resolve_entities=False, no_network=True)
    # ok: py-taint-xxe
    etree.fromstring(body, safe)
    # ok: py-taint-xxe
    etree.fromstring(b"<config/>", RESOLVING)
    return "ok"


@app.route("/sax", methods=["POST"])
def sax_import():
    handler = xml.sax.ContentHandler()
    reader = xml.sax.make_parser()
    # ok: py-taint-xxe
    reader.parse(io.StringIO(request.form["xml"]))
    reader.setFeature(xml.sax.handler.feature_external_ges, True)
    # ruleid: py-taint-xxe
    reader.parse(io.StringIO(request.form["xml"]))
    return "ok"


def django_pulldom(request):
    sax_parser = xml.sax.make_parser()
    sax_parser.setFeature(xml.sax.handler.feature_external_ges, True)
    # ruleid: py-taint-xxe
    events = xml.dom.pulldom.parseString(request.body.decode(), sax_parser)
    # ok: py-taint-xxe
    xml.dom.pulldom.parseString("<config/>", sax_parser)
    return HttpResponse("ok")


def django_pulldom_default(request):
    # the default parser does not resolve external entities
    # ok: py-taint-xxe
    events = xml.dom.pulldom.parseString(request.body.decode())
    return HttpResponse("ok")


# ============================================================ deserialisation (CWE-502)


@app.route("/restore", methods=["POST"])
def restore():
    blob = base64.b64decode(request.form["state"])
    # ruleid: py-taint-deserialization
    state = pickle.loads(blob)
    # ruleid: py-taint-deserialization
    yaml.load(request.get_data(), Loader=yaml.Loader)
    # ruleid: py-taint-deserialization
    yaml.unsafe_load(request.form["config"])
    # ok: py-taint-deserialization
    yaml.safe_load(request.form["config"])
    # ok: py-taint-deserialization
    yaml.load(request.form["config"], Loader=yaml.SafeLoader)
    # ok: py-taint-deserialization
    json.loads(blob)
    # ok: py-taint-deserialization
    pickle.dumps(state)
    return "ok"


def django_restore(request):
    # ruleid: py-taint-deserialization
    obj = pickle.loads(request.body)
    with open("/var/cache/app/state.pkl", "rb") as fh:
        # ok: py-taint-deserialization
        cached = pickle.load(fh)
    return HttpResponse("ok")


@api.post("/load")
async def fastapi_load(payload: str):
    # ruleid: py-taint-deserialization
    return yaml.load(payload)


# ============================================================ header injection (CWE-113)


@app.route("/lang")
def lang():
    value = request.args.get("lang")
    response = make_response("ok")
    # ruleid: py-taint-header-injection
    response.headers["Content-Language"] = value
    # ruleid: py-taint-header-injection
    response.headers.add("X-Trace", request.headers.get("X-Request-Id"))
    # ok: py-taint-header-injection
    response.headers["X-Frame-Options"] = "DENY"
    # ok: py-taint-header-injection
    response.headers["Content-Language"] = value.replace("\r", "").replace("\n", "")
    # ok: py-taint-header-injection
    response.headers["X-Count"] = str(int(request.args["n"]))
    return response


def django_header(request):
    response = HttpResponse("ok")
    # ruleid: py-taint-header-injection
    response["X-Filename"] = request.GET["name"]
    # ruleid: py-taint-header-injection
    response["Content-Disposition"] = "attachment; filename=" + request.GET["name"]
    # ok: py-taint-header-injection
    response["Content-Disposition"] = "attachment; filename=" + urllib.parse.quote(request.GET["name"])
    # ok: py-taint-header-injection
    response["Cache-Control"] = "no-store"
    return response


@api.get("/dl")
def fastapi_dl(name: str):
    # ruleid: py-taint-header-injection
    return Response("ok", headers={"X-Name": name})


# ============================================================ log injection (CWE-117)


@app.route("/audit")
def audit():
    user = request.args.get("user")
    # ruleid: py-taint-log-injection
    log.info("login attempt for " + user)
    # ruleid: py-taint-log-injection
    logging.warning("failed login: %s", user)
    # ruleid: py-taint-log-injection
    app.logger.error(f"bad token from {request.headers.get('User-Agent')}")
    # ok: py-taint-log-injection
    log.info("login attempt for %r", user)
    # ok: py-taint-log-injection
    log.info("login attempt for %s", user.replace("\n", "\\n").replace("\r", "\\r"))
    # ok: py-taint-log-injection
    log.info("login attempt for %s", json.dumps(user))
    # ok: py-taint-log-injection
    log.info("login attempt")
    return "ok"


def django_audit(request, account):
    logger = logging.getLogger("audit")
    # ruleid: py-taint-log-injection
    logger.info("transfer from account %s", account)
    # ok: py-taint-log-injection
    logger.info("transfer amount %d", int(request.POST["amount"]))
    return HttpResponse("ok")


@api.get("/track")
def fastapi_track(event: str):
    # ruleid: py-taint-log-injection
    log.warning("event " + event)
    return {}


# ============================================================ trust boundary (CWE-501)


@app.route("/prefs", methods=["POST"])
def prefs():
    # ruleid: py-taint-trust-boundary
    session["theme"] = request.form["theme"]
    user_id = request.form.get("user_id")
    # ruleid: py-taint-trust-boundary
    session["user_id"] = user_id
    # ok: py-taint-trust-boundary
    session["theme"] = "dark"
    # ok: py-taint-trust-boundary
    session["page_size"] = int(request.form["page_size"])
    lang_choice = request.form["lang"]
    if lang_choice in {"en", "fr", "es"}:
        # ok: py-taint-trust-boundary
        session["lang"] = lang_choice
    return "ok"


def django_prefs(request):
    # ruleid: py-taint-trust-boundary
    request.session["role"] = request.POST["role"]
    # ruleid: py-taint-trust-boundary
    request.session.update({"next": request.GET.get("next")})
    # ok: py-taint-trust-boundary
    request.session["visited"] = True
    # ok: py-taint-trust-boundary
    request.session["user_id"] = request.user.id
    return HttpResponse("ok")


@api.post("/cart")
async def fastapi_cart(request: Request, item: str):
    # ruleid: py-taint-trust-boundary
    request.session["item"] = item
    return {}


# ============================================================ weak randomness (CWE-338)


@app.route("/remember")
def remember():
    num = random.getrandbits(64)
    remember_key = hex(num)
    response = make_response("ok")
    # ruleid: py-taint-weak-random-secret
    response.set_cookie("rememberMe", remember_key, secure=True, httponly=True)
    # ruleid: py-taint-weak-random-secret
    session["otp"] = str(random.normalvariate(0.5, 0.1))[2:8]
    value = random.random()
    # ruleid: py-taint-weak-random-secret
    reset_token = str(value)
    # ok: py-taint-weak-random-secret
    response.set_cookie("rememberMe", secrets.token_urlsafe(32), secure=True, httponly=True)
    # ok: py-taint-weak-random-secret
    session["otp"] = str(secrets.randbelow(1000000)).zfill(6)
    delay = random.uniform(0.5, 1.5)
    # ok: py-taint-weak-random-secret
    retry_after = str(delay)
    # ok: py-taint-weak-random-secret
    session["greeting"] = random.choice(["hi", "hello"])
    return response


def make_api_credentials(user):
    rnd = random.Random()
    # ruleid: py-taint-weak-random-secret
    pin = rnd.randint(1000, 9999)
    # ruleid: py-taint-weak-random-secret
    user.set_password(str(pin))
    # ruleid: py-taint-weak-random-secret
    return {"api_key": "%032x" % random.getrandbits(128), "secret": str(pin)}


def make_sample(user):
    picked = random.sample(range(100), 5)
    # ok: py-taint-weak-random-secret
    user.sample_ids = picked
    # ok: py-taint-weak-random-secret
    user.set_password(secrets.token_urlsafe(16))


# ============================================================ more cases per class
# Written after the rules as a held-out check (docs/rules.md gives the measurement), then
# kept as regression cases: class-based views, DRF, Starlette, python-ldap, other
# string building and other safe look-alikes.

logger = logging.getLogger("app")


# ------------------------------------------------------------------ cmdi
@app.route("/convert", methods=["POST"])
def convert():
    fmt = request.values.get("format", "png")
    src = request.form["src"]
    # ruleid: py-taint-command-injection
    subprocess.check_call("convert {} out.{}".format(src, fmt), shell=True)
    opts = "-q " + request.cookies.get("opts", "")
    # ruleid: py-taint-command-injection
    os.system("gzip " + opts + " file.txt")
    # ok: py-taint-command-injection
    subprocess.check_call(["convert", src, "out.png"])
    # ok: py-taint-command-injection
    subprocess.check_call("convert in.png out.png", shell=True)
    return "ok"


class ExportView(View):
    def get(self, request, fmt):
        # ruleid: py-taint-command-injection
        subprocess.run(f"export --format {fmt}", shell=True, check=True)
        # ok: py-taint-command-injection
        subprocess.run(["export", "--format", fmt], check=True)
        return HttpResponse("ok")


def run_cmd(cmd):
    # ok: py-taint-command-injection
    return subprocess.run(cmd, shell=True)


@api.get("/dig")
def dig(domain: str):
    # ruleid: py-taint-command-injection
    return {"out": subprocess.getoutput("dig +short " + domain)}


@api.get("/dig2")
def dig2(domain: str):
    if not domain.isalnum():
        return {}
    # ok: py-taint-command-injection
    return {"out": subprocess.getoutput("dig +short " + domain)}


# ------------------------------------------------------------------ codeinj
@app.route("/filter")
def filter_view():
    cond = request.args["cond"]
    # ruleid: py-taint-code-injection
    rows = [r for r in ROWS if eval(cond, {"r": r})]
    # ok: py-taint-code-injection
    limit = eval("10 * 10")
    # ok: py-taint-code-injection
    json.loads(cond)
    return json.dumps(rows[:limit])


class FormulaAPI(APIView):
    def post(self, request):
        code = request.data.get("code")
        # ruleid: py-taint-code-injection
        exec(code, {})
        # ok: py-taint-code-injection
        exec("import math", {})
        return JsonResponse({})


@api.post("/expr")
async def expr(request: Request):
    body = await request.json()
    # ruleid: py-taint-code-injection
    return {"v": eval(body["expr"])}


def calc_helper(expression):
    # ok: py-taint-code-injection
    return eval(expression)


def django_expr(request):
    # ruleid: py-taint-code-injection
    value = eval("%s + 1" % request.GET["n"])
    # ok: py-taint-code-injection
    value2 = eval("%d + 1" % int(request.GET["n"]))
    # ruleid: py-taint-xss
    return HttpResponse(str(value + value2))


# ------------------------------------------------------------------ sqli
@app.route("/search")
def search():
    term = request.args.get("q", "")
    conn = sqlite3.connect("db.sqlite")
    sql = "SELECT id FROM items WHERE name LIKE '%%%s%%'" % term
    # ruleid: py-taint-sql-injection
    conn.execute(sql)
    # ok: py-taint-sql-injection
    conn.execute("SELECT id FROM items WHERE name LIKE ?", ("%" + term + "%",))
    col = request.args.get("sort")
    # ruleid: py-taint-sql-injection
    conn.execute("SELECT id FROM items ORDER BY {}".format(col))
    if col not in ("name", "price"):
        col = "name"
    # ok: py-taint-sql-injection
    conn.execute("SELECT id FROM items ORDER BY " + col)
    return "ok"


class ItemsView(View):
    def get(self, request):
        from django.db import connection

        q = request.GET.get("q")
        with connection.cursor() as c:
            # ruleid: py-taint-sql-injection
            c.execute(f"SELECT * FROM items WHERE owner = '{q}'")
            # ok: py-taint-sql-injection
            c.execute("SELECT * FROM items WHERE owner = %s", [q])
        return HttpResponse("ok")


@api.get("/items")
def items(owner: str, db=None):
    from sqlalchemy import text

    # ruleid: py-taint-sql-injection
    db.execute(text("DELETE FROM items WHERE owner = '" + owner + "'"))
    # ok: py-taint-sql-injection
    db.execute(text("DELETE FROM items WHERE owner = :o"), {"o": owner})
    return {}


# ------------------------------------------------------------------ pathtraver
@app.route("/avatar/<user>")
def avatar(user):
    # ruleid: py-taint-path-traversal
    with open(f"/var/app/avatars/{user}.png", "rb") as fh:
        data = fh.read()
    # ok: py-taint-path-traversal
    with open("/var/app/avatars/default.png", "rb") as fh:
        data = fh.read()
    return FlaskResponse(data, mimetype="image/png")


def django_download(request, name):
    # ruleid: py-taint-path-traversal
    fh = open(os.path.join(UPLOADS, name), "rb")
    safe = os.path.basename(name)
    # ok: py-taint-path-traversal
    fh2 = open(os.path.join(UPLOADS, safe), "rb")
    return HttpResponse(fh.read() + fh2.read(), content_type="application/octet-stream")


@app.route("/delete", methods=["POST"])
def delete():
    target = request.form["file"]
    # ruleid: py-taint-path-traversal
    os.unlink(os.path.join(UPLOADS, target))
    real = os.path.realpath(os.path.join(UPLOADS, target))
    if os.path.commonpath([real, UPLOADS]) != UPLOADS:
        abort(400)
    # ok: py-taint-path-traversal
    os.unlink(real)
    return "ok"


@api.get("/logs/{name}")
def read_log(name: str):
    # ruleid: py-taint-path-traversal
    return {"log": open("/var/log/app/" + name).read()}


@api.get("/logs2/{name}")
def read_log2(name: str):
    if name not in {"app.log", "access.log"}:
        return {}
    # ok: py-taint-path-traversal
    return {"log": open("/var/log/app/" + name).read()}


# ------------------------------------------------------------------ ssrf
@app.route("/webhook/test", methods=["POST"])
def webhook_test():
    target = request.get_json()["url"]
    # ruleid: py-taint-ssrf
    requests.post(target, json={"ping": True}, timeout=3)
    # ok: py-taint-ssrf
    requests.post("https://hooks.example.com/ping", json={"url": target}, timeout=3)
    return "ok"


def django_avatar_fetch(request):
    url = request.POST.get("avatar_url")
    # ruleid: py-taint-ssrf
    data = urllib.request.urlopen(url).read()
    # ok: py-taint-ssrf
    urllib.request.urlopen("https://cdn.example.com/default.png").read()
    return HttpResponse(data, content_type="image/png")


@api.get("/rates")
def rates(currency: str):
    # ok: py-taint-ssrf
    r = requests.get(f"https://rates.example.com/v1/{currency}", timeout=3)
    # ruleid: py-taint-ssrf
    r2 = requests.get(currency, timeout=3)
    return r.json()


@app.route("/img")
def img():
    host = request.headers.get("X-Image-Host")
    # ruleid: py-taint-ssrf
    r = requests.get("http://" + host + "/image.png", timeout=3)
    if host not in {"img1.example.com", "img2.example.com"}:
        abort(400)
    # ok: py-taint-ssrf
    r = requests.get("http://" + host + "/image.png", timeout=3)
    return FlaskResponse(r.content, mimetype="image/png")


# ------------------------------------------------------------------ redirect
@app.route("/sso/callback")
def sso_callback():
    state = request.args.get("state")
    # ruleid: py-taint-open-redirect
    return redirect(state)


def django_next(request):
    nxt = request.GET.get("next") or "/"
    # ruleid: py-taint-open-redirect
    return HttpResponseRedirect(nxt)


def django_next_ok(request):
    # ok: py-taint-open-redirect
    return django_redirect("/dashboard/")


@app.route("/lang/<code>")
def set_lang(code):
    # "//evil.example/home" when code is "/evil.example"
    # ruleid: py-taint-open-redirect
    return redirect(f"/{code}/home")


@app.route("/back")
def back():
    # ruleid: py-taint-open-redirect
    return redirect(request.headers.get("Referer", "/"))


@api.get("/continue")
def cont(url: str):
    from fastapi.responses import RedirectResponse

    if url not in ALLOWED_URLS:
        url = "/"
    # ok: py-taint-open-redirect
    return RedirectResponse(url=url)


@app.route("/go2")
def go2():
    dest = request.args["d"]
    if dest.startswith("/"):
        # ruleid: py-taint-open-redirect
        return redirect(dest)
    # ok: py-taint-open-redirect
    return redirect("/")


# ------------------------------------------------------------------ xss
@app.route("/greet")
def greet():
    who = request.args.get("who", "")
    # ruleid: py-taint-xss
    return "<h1>Welcome, %s!</h1>" % who


@app.route("/greet2")
def greet2():
    who = request.args.get("who", "")
    # ok: py-taint-xss
    return "<h1>Welcome, %s!</h1>" % escape(who)


@app.route("/note")
def note():
    text = request.form.get("text", "")
    # ruleid: py-taint-xss
    return FlaskResponse("<div>" + text + "</div>")


@app.route("/note2")
def note2():
    text = request.form.get("text", "")
    # ok: py-taint-xss
    return FlaskResponse(text, mimetype="text/plain")


def django_profile(request, username):
    # ruleid: py-taint-xss
    return HttpResponse(f"<p>Profile of {username}</p>")


def django_profile_ok(request, username):
    # ok: py-taint-xss
    return render(request, "profile.html", {"username": username})


def django_bio(request):
    # ruleid: py-taint-xss
    bio = Markup(request.POST["bio"])
    # ok: py-taint-xss
    bio2 = Markup("<b>{}</b>").format(request.POST["bio"])
    return render(request, "bio.html", {"bio": bio, "bio2": bio2})


# ------------------------------------------------------------------ xpathi
@app.route("/book")
def book():
    isbn = request.args["isbn"]
    tree = etree.parse("/srv/books.xml")
    # ruleid: py-taint-xpath-injection
    titles = tree.xpath("/books/book[isbn='%s']/title/text()" % isbn)
    # ok: py-taint-xpath-injection
    titles2 = tree.xpath("/books/book[isbn=$isbn]/title/text()", isbn=isbn)
    return {"titles": titles + titles2}


def django_book(request, author):
    tree = etree.parse("/srv/books.xml")
    # ruleid: py-taint-xpath-injection
    res = tree.xpath("//book[author='" + author + "']")
    # ok: py-taint-xpath-injection
    res2 = tree.xpath("//book[author=$a]", a=author)
    # ok: py-taint-xpath-injection
    res3 = tree.xpath("//book")
    return JsonResponse({"n": len(res) + len(res2) + len(res3)})


@api.get("/user-xml")
def user_xml(name: str):
    tree = etree.parse("/srv/users.xml")
    query = etree.XPath("//user[@name=$n]")
    # ok: py-taint-xpath-injection
    query(tree, n=name)
    # ruleid: py-taint-xpath-injection
    tree.xpath("//user[@name='" + name + "']/@role")
    return {}


# ------------------------------------------------------------------ ldapi
@app.route("/ldap/login", methods=["POST"])
def ldap_login():
    uid = request.form["uid"]
    conn = ldap.initialize("ldap://ldap.example.com")
    # ruleid: py-taint-ldap-injection
    conn.search_s("ou=people,dc=example,dc=com", ldap.SCOPE_SUBTREE, "(uid=%s)" % uid)
    # ok: py-taint-ldap-injection
    conn.search_s("ou=people,dc=example,dc=com", ldap.SCOPE_SUBTREE,
                  ldap.filter.filter_format("(uid=%s)", [uid]))
    # ok: py-taint-ldap-injection
    conn.search_s("ou=people,dc=example,dc=com", ldap.SCOPE_SUBTREE,
                  "(uid=%s)" % ldap.filter.escape_filter_chars(uid))
    return "ok"


def django_ldap(request):
    conn = ldap.initialize("ldap://ldap.example.com")
    group = request.GET["group"]
    # ruleid: py-taint-ldap-injection
    conn.search_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, filterstr="(cn=" + group + ")")
    # ruleid: py-taint-ldap-injection
    conn.search_s("ou=" + group + ",dc=example,dc=com", ldap.SCOPE_ONELEVEL)
    # ok: py-taint-ldap-injection
    conn.search_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, "(objectClass=groupOfNames)")
    return HttpResponse("ok")


@api.get("/ldap/{mail}")
def ldap_mail(mail: str):
    conn = ldap.initialize("ldap://ldap.example.com")
    # ruleid: py-taint-ldap-injection
    conn.search_ext_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, f"(mail={mail})")
    # ok: py-taint-ldap-injection
    conn.search_ext_s("dc=example,dc=com", ldap.SCOPE_SUBTREE, "(mail=*)")
    return {}


# ------------------------------------------------------------------ xxe
@app.route("/feed", methods=["POST"])
def feed():
    parser = etree.XMLParser(resolve_entities=True)
    # ruleid: py-taint-xxe
    root = etree.XML(request.data, parser)
    # ok: py-taint-xxe
    root2 = etree.XML(request.data, etree.XMLParser(resolve_entities=False))
    return str(len(root) + len(root2))


def django_xml(request):
    p = xml.sax.make_parser()
    p.setFeature(xml.sax.handler.feature_external_ges, True)
    # missed (documented): the request object itself is not a source
    p.parse(request)
    q = xml.sax.make_parser()
    # ok: py-taint-xxe
    q.parse(request)
    return HttpResponse("ok")


@api.post("/xml")
async def fastapi_xml(request: Request):
    body = await request.body()
    parser = etree.XMLParser(no_network=False)
    # ruleid: py-taint-xxe
    doc = etree.fromstring(body, parser=parser)
    # ok: py-taint-xxe
    doc2 = etree.fromstring(body)
    return {}


@app.route("/feed2", methods=["POST"])
def feed2():
    parser = etree.XMLParser(resolve_entities=True, load_dtd=True)
    # ruleid: py-taint-xxe
    tree = etree.parse(request.files["doc"], parser)
    # ok: py-taint-xxe
    tree2 = etree.parse("/srv/static.xml", parser)
    return "ok"


# ------------------------------------------------------------------ deserialization
@app.route("/session/import", methods=["POST"])
def session_import():
    raw = request.cookies.get("state")
    # ruleid: py-taint-deserialization
    state = pickle.loads(base64.urlsafe_b64decode(raw))
    # ok: py-taint-deserialization
    state2 = json.loads(base64.urlsafe_b64decode(raw))
    return "ok"


class ImportView(View):
    def post(self, request):
        # ruleid: py-taint-deserialization
        cfg = yaml.load(request.body, Loader=yaml.UnsafeLoader)
        # ok: py-taint-deserialization
        cfg2 = yaml.safe_load(request.body)
        return HttpResponse("ok")


@api.post("/model")
async def upload_model(request: Request):
    blob = await request.body()
    # ruleid: py-taint-deserialization
    model = pickle.loads(blob)
    # ok: py-taint-deserialization
    meta = json.loads(blob)
    return {}


def django_import(request):
    # ruleid: py-taint-deserialization
    data = yaml.load(request.FILES["f"].read(), Loader=yaml.Loader)
    # ok: py-taint-deserialization
    data2 = yaml.load(request.FILES["f"].read(), Loader=yaml.SafeLoader)
    return HttpResponse("ok")


# ------------------------------------------------------------------ headeri
@app.route("/dl")
def dl():
    fname = request.args["name"]
    resp = FlaskResponse(b"...", mimetype="application/octet-stream")
    # ruleid: py-taint-header-injection
    resp.headers["Content-Disposition"] = f"attachment; filename={fname}"
    # ok: py-taint-header-injection
    resp.headers["Content-Disposition"] = "attachment; filename=report.csv"
    return resp


def django_etag(request):
    response = HttpResponse("ok")
    # ruleid: py-taint-header-injection
    response["ETag"] = request.GET.get("v")
    # ok: py-taint-header-injection
    response["ETag"] = '"%d"' % int(request.GET.get("v"))
    return response


@app.route("/cors")
def cors_echo():
    resp = FlaskResponse("ok")
    # ruleid: py-taint-header-injection
    resp.headers.set("Access-Control-Allow-Origin", request.headers.get("Origin"))
    # ok: py-taint-header-injection
    resp.headers.set("Access-Control-Allow-Origin", "https://portal.example.com")
    return resp


@api.get("/h")
def h(tag: str):
    from fastapi.responses import PlainTextResponse

    # ruleid: py-taint-header-injection
    return PlainTextResponse("ok", headers={"X-Tag": tag})


@api.get("/h2")
def h2(tag: str):
    from fastapi.responses import PlainTextResponse

    # ok: py-taint-header-injection
    return PlainTextResponse("ok", headers={"X-Tag": tag.replace("\r", "").replace("\n", "")})


# ------------------------------------------------------------------ logi
@app.route("/login", methods=["POST"])
def login_2():
    user = request.form["user"]
    # ruleid: py-taint-log-injection
    logger.warning("failed login for user %s", user)
    # ok: py-taint-log-injection
    logger.warning("failed login for user %r", user)
    # ok: py-taint-log-injection
    logger.warning("failed login")
    return "no"


class AuditView(View):
    def post(self, request):
        # ruleid: py-taint-log-injection
        logger.info("audit: " + request.POST.get("msg", ""))
        # ok: py-taint-log-injection
        logger.info("audit: %s", json.dumps(request.POST.get("msg", "")))
        return HttpResponse("ok")


@api.get("/event")
def event(name: str):
    # ruleid: py-taint-log-injection
    logging.info("event %s received", name)
    # ok: py-taint-log-injection
    logging.info("event received")
    return {}


def django_log(request):
    ua = request.META.get("HTTP_USER_AGENT", "")
    # ruleid: py-taint-log-injection
    logger.error(f"bad request from {ua}")
    # ok: py-taint-log-injection
    logger.error("bad request from %s", ua.replace("\n", " ").replace("\r", " "))
    return HttpResponse(status=400)


# ------------------------------------------------------------------ trustbound
@app.route("/cart/add")
def cart_add():
    # ruleid: py-taint-trust-boundary
    session["last_item"] = request.args["item"]
    # ok: py-taint-trust-boundary
    session["last_seen"] = "now"
    return "ok"


def django_role(request):
    # ruleid: py-taint-trust-boundary
    request.session["is_admin"] = request.POST.get("admin")
    # ok: py-taint-trust-boundary
    request.session["is_admin"] = request.user.is_staff
    return HttpResponse("ok")


@app.route("/theme")
def theme():
    t = request.args.get("t")
    if t in ("light", "dark"):
        # ok: py-taint-trust-boundary
        session["theme"] = t
    # missed (documented): the `in` check above cleans t on every later path,
    # including the one where it failed
    session.setdefault("theme", t)
    return "ok"


@api.get("/pref")
async def pref(request: Request, lang: str):
    # ruleid: py-taint-trust-boundary
    request.session["lang"] = lang
    # ok: py-taint-trust-boundary
    request.session["count"] = len(lang)
    return {}


# ------------------------------------------------------------------ weakrand
@app.route("/reset", methods=["POST"])
def reset():
    code = "".join(random.choice("0123456789") for _ in range(6))
    # ruleid: py-taint-weak-random-secret
    session["reset_token"] = code
    # ok: py-taint-weak-random-secret
    code2 = "".join(secrets.choice("0123456789") for _ in range(6))
    return "sent"


def issue_api_key(user):
    raw = random.getrandbits(128)
    # ruleid: py-taint-weak-random-secret
    user.api_key = "%x" % raw
    # ok: py-taint-weak-random-secret
    user.api_key = secrets.token_hex(16)
    user.save()


def remember_cookie(response):
    val = str(random.random())
    # ruleid: py-taint-weak-random-secret
    response.set_cookie("remember", val)
    # ok: py-taint-weak-random-secret
    response.set_cookie("remember", secrets.token_urlsafe(24))
    return response


def shuffle_items(items):
    r = random.random()
    # ok: py-taint-weak-random-secret
    sample_rate = r * 0.1
    # ok: py-taint-weak-random-secret
    order = random.sample(items, len(items))
    return sample_rate, order


def new_nonce():
    n = random.randint(0, 2**32)
    # ruleid: py-taint-weak-random-secret
    nonce = str(n)
    return nonce


# ============================================================ NoSQL injection (CWE-943)
mongo = pymongo.MongoClient()
accounts = mongo.bank.accounts


@app.route("/accounts/where")
def accounts_where():
    owner = request.args.get("owner")
    # ruleid: py-taint-nosql-where-injection
    rows = accounts.find({"$where": "this.owner == '" + owner + "'"})
    # ok: py-taint-nosql-where-injection, py-taint-nosql-operator-injection
    by_owner = accounts.find({"owner": owner})
    # ok: py-taint-nosql-where-injection
    overdrawn = accounts.find({"$where": "this.balance < this.limit"})
    return jsonify([list(rows), list(by_owner), list(overdrawn)])


def django_account_scan(request):
    body = request.GET["body"]
    # ruleid: py-taint-nosql-where-injection
    rows = accounts.aggregate([{"$match": {"$expr": {"$function": {"body": body, "args": [], "lang": "js"}}}}])
    limit = int(request.GET["limit"])
    # ok: py-taint-nosql-where-injection
    capped = accounts.find({"$where": f"this.balance > {limit}"})
    return JsonResponse({"rows": list(rows), "capped": list(capped)})


@api.get("/accounts/report")
def accounts_report(reducer: str):
    # ruleid: py-taint-nosql-where-injection
    out = accounts.map_reduce("function () { emit(this.owner, this.balance); }", reducer, "report")
    # ok: py-taint-nosql-where-injection
    fixed = accounts.map_reduce("function () { emit(this.owner, 1); }", "function (k, v) { return Array.sum(v); }", "counts")
    return {"out": out, "fixed": fixed}


@app.route("/accounts/code")
def accounts_code():
    expr = request.args["expr"]
    # ruleid: py-taint-nosql-where-injection
    code = bson.Code(expr)
    # ruleid: py-taint-nosql-where-injection
    rows = accounts.find({"$where": f"this.tags.indexOf('{expr}') >= 0"})
    account_id = bson.ObjectId(request.args["id"])
    # ok: py-taint-nosql-where-injection
    one = accounts.find({"$where": "this._id == ObjectId('%s')" % account_id})
    # ok: py-taint-nosql-where-injection
    constant = bson.Code("function () { return this.active; }")
    return jsonify([code, list(rows), list(one), constant])


@app.route("/login", methods=["POST"])
def mongo_login():
    creds = request.get_json()
    # ruleid: py-taint-nosql-operator-injection
    user = accounts.find_one({"user": creds["user"], "password": creds["password"]})
    # ok: py-taint-nosql-operator-injection
    user2 = accounts.find_one({"user": str(creds["user"]), "password": str(creds["password"])})
    # ok: py-taint-nosql-operator-injection
    user3 = accounts.find_one({"user": {"$eq": creds["user"]}})
    # ok: py-taint-nosql-operator-injection
    user4 = accounts.find_one({"user": request.args.get("user")})
    return jsonify([user, user2, user3, user4])


@app.route("/accounts/query", methods=["POST"])
def accounts_query():
    # ruleid: py-taint-nosql-operator-injection
    rows = accounts.find(request.json)
    query = json.loads(request.args["filter"])
    # ruleid: py-taint-nosql-operator-injection
    total = accounts.count_documents(query)
    # ok: py-taint-nosql-operator-injection
    everyone = accounts.find({"active": True})
    return jsonify([list(rows), total, list(everyone)])


def django_account_update(request):
    data = json.loads(request.body)
    # ruleid: py-taint-nosql-operator-injection
    accounts.update_one({"owner": data["owner"]}, {"$set": {"note": str(data["note"])}})
    owner = data["owner"]
    if not isinstance(owner, str):
        return JsonResponse({"error": "owner"}, status=400)
    # ok: py-taint-nosql-operator-injection
    accounts.update_one({"owner": owner}, {"$set": {"seen": True}})
    return JsonResponse({"ok": True})


@api.post("/accounts/filter")
async def accounts_filter(criteria: dict):
    # ruleid: py-taint-nosql-operator-injection
    rows = accounts.aggregate([{"$match": criteria}, {"$limit": 10}])
    # ok: py-taint-nosql-operator-injection
    fixed = accounts.aggregate([{"$match": {"owner": str(criteria.get("owner"))}}])
    return {"rows": list(rows), "fixed": list(fixed)}


# ============================================================ command-line arguments
def cli_main():
    # ruleid: py-taint-command-injection
    os.system("tar czf /backup/archive.tgz " + sys.argv[1])
    # ok: py-taint-command-injection
    subprocess.run(["tar", "czf", "/backup/archive.tgz", sys.argv[1]], check=True)
    # ok: py-taint-command-injection
    os.system("tar czf /backup/archive.tgz " + shlex.quote(sys.argv[1]))
    # ok: py-taint-command-injection
    os.system("tar czf /backup/archive.tgz " + os.environ["BACKUP_DIR"])
    # ruleid: py-taint-code-injection
    settings = eval(sys.argv[2])
    # ok: py-taint-code-injection
    settings = json.loads(sys.argv[2])
    # ruleid: py-taint-sql-injection
    connection.cursor().execute("DELETE FROM jobs WHERE name = '%s'" % sys.argv[3])
    # ok: py-taint-sql-injection
    connection.cursor().execute("DELETE FROM jobs WHERE name = %s", [sys.argv[3]])
    return settings


# ============================================================ Starlette/FastAPI Request parameter (any name)
@api.post("/s17/rules")
async def s17_rules(req: Request):
    raw = await req.body()
    # ruleid: py-taint-deserialization
    loaded = yaml.unsafe_load(raw)
    # ok: py-taint-deserialization
    parsed = json.loads(await req.body())
    # ruleid: py-taint-command-injection
    os.system("grep " + req.query_params["q"])
    # ruleid: py-taint-path-traversal
    open("/srv/files/" + req.path_params["name"])
    # ruleid: py-taint-log-injection
    logging.info("agent " + req.headers["user-agent"])
    # ruleid: py-taint-sql-injection
    connection.cursor().execute("SELECT * FROM t WHERE a = '%s'" % req.cookies["a"])
    # ok: py-taint-sql-injection
    connection.cursor().execute("SELECT * FROM t WHERE a = %s", [req.cookies["a"]])
    return {"n": len(loaded), "p": parsed}


@api.post("/s17/camt")
async def s17_camt(rq: Request):
    body = await rq.body()
    # ruleid: py-taint-xxe
    tree = etree.XML(body, etree.XMLParser(resolve_entities=True, no_network=False))
    # ok: py-taint-xxe
    safe = etree.XML(body, etree.XMLParser(resolve_entities=False))
    return {"tag": tree.tag, "safe": safe.tag}


@api.post("/s17/fsp")
async def s17_set_fsp(req: Request):
    body = await req.json()
    # ruleid: py-taint-trust-boundary
    req.session["fsp_id"] = body["fsp"]
    # ruleid: py-taint-trust-boundary
    req.session["role"] = body.get("role").lower()
    # ok: py-taint-trust-boundary
    req.session["user_id"] = None
    return {}


@api.post("/s17/accounts/query")
async def s17_account_query(req: Request):
    body = await req.json()
    # ruleid: py-taint-nosql-operator-injection
    cursor = accounts.find({"owner": body.get("owner")})
    # ok: py-taint-nosql-operator-injection
    by_str = accounts.find({"owner": str(body.get("owner"))})
    return {"n": len(list(cursor)) + len(list(by_str))}


def s17_not_a_request(req: dict):
    # ok: py-taint-command-injection
    os.system("grep " + req["headers"])


# ============================================================ allowlists, conversions, values the server derived
@app.route("/s17/go")
def s17_go():
    pages = {"help": "/help", "docs": "/docs"}
    # ok: py-taint-open-redirect
    safe = redirect(pages.get(request.args.get("to", ""), "/"))
    # ruleid: py-taint-open-redirect
    unsafe = redirect({"help": request.args["h"]}.get("help"))
    # ok: py-taint-open-redirect
    by_name = django_redirect("payments:receipt", pk=request.args["id"])
    return safe or unsafe or by_name


@api.get("/s17/transfers")
async def s17_transfers_sorted(order: str = "created"):
    column = {"created": "created_at", "amount": "amount"}.get(order, "created_at")
    # ok: py-taint-sql-injection
    connection.cursor().execute("SELECT * FROM transfers ORDER BY " + column)
    direction = order if order in ("asc", "desc") else "asc"
    # ok: py-taint-sql-injection
    connection.cursor().execute("SELECT * FROM transfers ORDER BY id " + direction)
    # ruleid: py-taint-sql-injection
    connection.cursor().execute("SELECT * FROM transfers ORDER BY " + order)
    return {}


@app.route("/s17/user")
def s17_user():
    uid = int(request.args["id"])
    # ok: py-taint-ssrf
    profile = requests.get(f"https://users.example.org/v1/users/{uid}", timeout=5)
    # ruleid: py-taint-ssrf
    other = requests.get(request.args["url"].strip(), timeout=5)
    return profile.text + other.text


@app.route("/s17/login", methods=["POST"])
def s17_login():
    user = authenticate(username=request.form["u"], password=request.form["p"])
    # ok: py-taint-trust-boundary
    session["user_id"] = user.pk
    # ruleid: py-taint-trust-boundary
    session["name"] = str(request.form["u"])
    return "ok"


@app.route("/s17/search")
def s17_search():
    name = request.args.get("q", "")
    rows = connection.cursor().execute("SELECT name FROM a WHERE name = %s", [name]).fetchall()
    # ok: py-taint-xss
    listing = make_response(str(rows))
    status = subprocess.run(["ls", name], check=False)
    # ok: py-taint-xss
    shown = make_response(str(status))
    # ruleid: py-taint-xss
    echoed = Markup("<b>{}</b>".format(name.strip()))
    # ruleid: py-taint-xss
    joined = Markup(", ".join([name, "x"]))
    return listing if shown else echoed + joined


@app.route("/s17/ls")
def s17_ls():
    name = request.args.get("q", "")
    # ok: py-taint-xss
    return str(subprocess.run(["ls", name], capture_output=True, check=False))


@app.route("/s17/rows")
def s17_rows():
    name = request.args.get("q", "")
    cur = connection.cursor()
    cur.execute("SELECT id FROM a WHERE name = %s", [name])
    # ok: py-taint-xss
    return str(cur.fetchall())


@app.route("/s17/echo")
def s17_echo():
    name = request.args.get("q", "")
    # ruleid: py-taint-xss
    return "<p>" + str(name.strip()) + "</p>"
