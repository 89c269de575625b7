"""Held-out SAST benchmark cases: trust boundary violation (CWE-501). Scan input only."""
from django.contrib.auth import authenticate
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI, Request
from flask import Flask, request, session

app = Flask(__name__)
api = FastAPI()


@app.route("/prefs")
def prefs():
    session["role"] = request.args.get("role", "user")  # case: trust-boundary vulnerable
    return "ok"


@app.post("/cart")
def cart():
    data = request.get_json()
    session["discount"] = data["discount"]  # case: trust-boundary vulnerable
    return "ok"


def switch_account(request: HttpRequest) -> JsonResponse:
    account = request.POST["account_id"]
    request.session["account_id"] = account  # case: trust-boundary vulnerable
    return JsonResponse({})


@api.post("/fsp")
async def set_fsp(req: Request):
    body = await req.json()
    req.session["fsp_id"] = body["fsp"]  # case: trust-boundary vulnerable
    return {}


@app.route("/impersonate")
def impersonate():
    uid = request.headers.get("X-User-Id")
    session.update({"user_id": uid})  # case: trust-boundary vulnerable
    return "ok"


@app.post("/login")
def login():
    user = authenticate(username=request.form["u"], password=request.form["p"])
    if user is None:
        return "no", 401
    session["user_id"] = user.pk  # case: trust-boundary safe
    return "ok"


@app.route("/visit")
def visit():
    session["visits"] = session.get("visits", 0) + 1  # case: trust-boundary safe
    return "ok"


def theme(request: HttpRequest) -> JsonResponse:
    wanted = request.GET.get("theme", "light")
    request.session["theme"] = wanted if wanted in ("light", "dark") else "light"  # case: trust-boundary safe
    return JsonResponse({})


@api.post("/logout")
async def logout(req: Request):
    req.session["user_id"] = None  # case: trust-boundary safe
    return {}


@app.route("/lang")
def lang():
    session["lang"] = "en"  # case: trust-boundary safe
    return request.args.get("next", "/")
