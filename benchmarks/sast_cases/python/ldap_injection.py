"""Held-out SAST benchmark cases: LDAP injection (CWE-90). Scan input only."""
import ldap
import ldap3
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask, request
from ldap.filter import escape_filter_chars, filter_format
from ldap3.utils.conv import escape_filter_chars as escape3

app = Flask(__name__)
api = FastAPI()
conn = ldap.initialize("ldaps://ldap.example.org")
server = ldap3.Server("ldaps://ldap.example.org")
BASE_DN = "ou=people,dc=example,dc=org"


@app.route("/user")
def find_user():
    uid = request.args["uid"]
    res = conn.search_s(BASE_DN, ldap.SCOPE_SUBTREE, f"(uid={uid})")  # case: ldap-injection vulnerable
    return {"n": len(res)}


@app.post("/login")
def login():
    user = request.form["user"]
    flt = "(&(objectClass=person)(cn=" + user + "))"
    res = conn.search_s(BASE_DN, ldap.SCOPE_SUBTREE, flt, ["mail"])  # case: ldap-injection vulnerable
    return {"ok": bool(res)}


def group_members(request: HttpRequest) -> JsonResponse:
    group = request.GET["group"]
    c = ldap3.Connection(server, auto_bind=True)
    c.search(BASE_DN, "(memberOf=cn=%s,ou=groups,dc=example,dc=org)" % group)  # case: ldap-injection vulnerable
    return JsonResponse({"n": len(c.entries)})


@api.get("/directory")
async def directory(mail: str):
    c = ldap3.Connection(server, auto_bind=True)
    c.search(search_base=BASE_DN, search_filter="(mail={})".format(mail), attributes=["cn"])  # case: ldap-injection vulnerable
    return {"n": len(c.entries)}


@app.route("/phone")
def phone():
    number = request.args.get("number", "")
    res = conn.search_ext_s(BASE_DN, ldap.SCOPE_SUBTREE, "(telephoneNumber=" + number + ")")  # case: ldap-injection vulnerable
    return {"n": len(res)}


@app.route("/user2")
def find_user_safe():
    uid = escape_filter_chars(request.args["uid"])
    res = conn.search_s(BASE_DN, ldap.SCOPE_SUBTREE, f"(uid={uid})")  # case: ldap-injection safe
    return {"n": len(res)}


@app.post("/login2")
def login_safe():
    flt = filter_format("(&(objectClass=person)(cn=%s))", [request.form["user"]])
    res = conn.search_s(BASE_DN, ldap.SCOPE_SUBTREE, flt, ["mail"])  # case: ldap-injection safe
    return {"ok": bool(res)}


def group_members_safe(request: HttpRequest) -> JsonResponse:
    group = escape3(request.GET["group"])
    c = ldap3.Connection(server, auto_bind=True)
    c.search(BASE_DN, "(memberOf=cn=%s,ou=groups,dc=example,dc=org)" % group)  # case: ldap-injection safe
    return JsonResponse({"n": len(c.entries)})


@api.get("/directory2")
async def all_people():
    c = ldap3.Connection(server, auto_bind=True)
    c.search(search_base=BASE_DN, search_filter="(objectClass=person)", attributes=["cn"])  # case: ldap-injection safe
    return {"n": len(c.entries)}


@app.route("/phone2")
def phone_safe():
    number = request.args.get("number", "")
    digits = "".join(ch for ch in number if ch.isdigit())
    res = conn.search_ext_s(BASE_DN, ldap.SCOPE_SUBTREE, "(telephoneNumber=" + digits + ")")  # case: ldap-injection safe
    return {"n": len(res)}
