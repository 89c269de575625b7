"""Held-out SAST benchmark cases: open redirect (CWE-601). Scan input only."""
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect as dj_redirect
from django.utils.http import url_has_allowed_host_and_scheme
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from flask import Flask, redirect, request, url_for

app = Flask(__name__)
api = FastAPI()


@app.route("/login/done")
def login_done():
    return redirect(request.args.get("next", "/"))  # case: open-redirect vulnerable


def logout(request: HttpRequest) -> HttpResponseRedirect:
    target = request.GET.get("return_to", "/")
    return HttpResponseRedirect(target)  # case: open-redirect vulnerable


@api.get("/sso/callback")
async def sso_callback(state: str, redirect_uri: str):
    return RedirectResponse(url=redirect_uri)  # case: open-redirect vulnerable


@app.route("/go")
def go():
    dest = request.args["to"]
    resp = app.response_class(status=302)
    resp.headers["Location"] = "https://" + dest  # case: open-redirect vulnerable
    return resp


def after_payment(request: HttpRequest):
    url = request.POST["success_url"]
    return dj_redirect(url)  # case: open-redirect vulnerable


@app.route("/login/done2")
def login_done_safe():
    return redirect(url_for("dashboard"))  # case: open-redirect safe


def logout_safe(request: HttpRequest) -> HttpResponseRedirect:
    target = request.GET.get("return_to", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)  # case: open-redirect safe


@api.get("/sso/callback2")
async def sso_callback_safe(state: str):
    return RedirectResponse(url="/home")  # case: open-redirect safe


@app.route("/go2")
def go_safe():
    pages = {"help": "/help", "docs": "/docs"}
    return redirect(pages.get(request.args.get("to", ""), "/"))  # case: open-redirect safe


def after_payment_safe(request: HttpRequest):
    return dj_redirect("payments:receipt", pk=request.POST["id"])  # case: open-redirect safe
