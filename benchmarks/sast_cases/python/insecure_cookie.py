"""Held-out SAST benchmark cases: insecure cookies (CWE-614 / CWE-1004). Scan input only."""
import secrets

from django.http import HttpRequest, HttpResponse
from fastapi import FastAPI, Response
from flask import Flask, make_response

app = Flask(__name__)
api = FastAPI()


@app.route("/login")
def login():
    resp = make_response("ok")
    resp.set_cookie("session_id", secrets.token_urlsafe(32))  # case: insecure-cookie vulnerable
    return resp


@app.route("/remember")
def remember():
    resp = make_response("ok")
    resp.set_cookie("remember", secrets.token_hex(16), secure=False, httponly=True)  # case: insecure-cookie vulnerable
    return resp


def django_login(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("ok")
    response.set_cookie("auth", secrets.token_hex(16), httponly=False, secure=True)  # case: insecure-cookie vulnerable
    return response


@api.post("/token")
async def token(response: Response):
    response.set_cookie(key="access_token", value=secrets.token_urlsafe(32))  # case: insecure-cookie vulnerable
    return {"ok": True}


app.config.update(SESSION_COOKIE_SECURE=False, SESSION_COOKIE_HTTPONLY=False)  # case: insecure-cookie vulnerable


@app.route("/login2")
def login_safe():
    resp = make_response("ok")
    resp.set_cookie("session_id", secrets.token_urlsafe(32), secure=True, httponly=True, samesite="Strict")  # case: insecure-cookie safe
    return resp


@app.route("/remember2")
def remember_safe():
    resp = make_response("ok")
    resp.set_cookie("remember", secrets.token_hex(16), secure=True, httponly=True, samesite="Lax")  # case: insecure-cookie safe
    return resp


def django_login_safe(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("ok")
    response.set_cookie("auth", secrets.token_hex(16), httponly=True, secure=True, samesite="Strict")  # case: insecure-cookie safe
    return response


@api.post("/token2")
async def token_safe(response: Response):
    response.set_cookie(key="access_token", value=secrets.token_urlsafe(32), httponly=True, secure=True, samesite="strict")  # case: insecure-cookie safe
    return {"ok": True}


def clear_cookie(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("bye")
    response.delete_cookie("auth")  # case: insecure-cookie safe
    return response
