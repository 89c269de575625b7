"""Held-out SAST benchmark cases: log injection (CWE-117). Scan input only."""
import logging

from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask, request

app = Flask(__name__)
api = FastAPI()
log = logging.getLogger("payments")


@app.post("/login")
def login():
    user = request.form["username"]
    log.warning(f"failed login for {user}")  # case: log-injection vulnerable
    return "no"


@app.route("/transfer")
def transfer():
    ref = request.args.get("ref", "")
    app.logger.info("transfer requested: " + ref)  # case: log-injection vulnerable
    return "ok"


def audit(request: HttpRequest) -> JsonResponse:
    action = request.POST.get("action")
    logging.info("audit action=%s" % action)  # case: log-injection vulnerable
    return JsonResponse({})


@api.get("/quote")
async def quote(payer: str):
    log.error("quote failed for payer {}".format(payer))  # case: log-injection vulnerable
    return {}


@app.route("/agent")
def agent():
    ua = request.headers.get("User-Agent", "")
    log.info("client agent %s", ua)  # case: log-injection vulnerable
    return "ok"


@app.post("/login2")
def login_safe():
    user = request.form["username"].replace("\r", "").replace("\n", "")
    log.warning(f"failed login for {user}")  # case: log-injection safe
    return "no"


@app.route("/transfer2")
def transfer_safe():
    count = int(request.args.get("count", "0"))
    app.logger.info("transfers requested: %d", count)  # case: log-injection safe
    return "ok"


def audit_safe(request: HttpRequest) -> JsonResponse:
    log.info("audit view called")  # case: log-injection safe
    return JsonResponse({})


@api.get("/quote2")
async def quote_safe(payer: str):
    log.error("quote failed for payer %r", payer)  # case: log-injection safe
    return {}


@app.route("/agent2")
def agent_safe():
    ua = request.headers.get("User-Agent", "")
    kind = "mobile" if "Mobile" in ua else "desktop"
    log.info("client kind %s", kind)  # case: log-injection safe
    return "ok"
