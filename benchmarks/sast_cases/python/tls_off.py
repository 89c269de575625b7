"""Held-out SAST benchmark cases: TLS certificate verification disabled (CWE-295). Scan input only."""
import ssl
import urllib.request

import httpx
import requests
import urllib3
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask

app = Flask(__name__)
api = FastAPI()
CA_BUNDLE = "/etc/ssl/certs/hub-ca.pem"


@app.route("/rates")
def rates():
    return requests.get("https://fx.example.org/rates", verify=False, timeout=5).json()  # case: tls-off vulnerable


@app.route("/partner")
def partner():
    ctx = ssl._create_unverified_context()  # case: tls-off vulnerable
    return urllib.request.urlopen("https://partner.example.org", context=ctx).read()


def callback(request: HttpRequest) -> JsonResponse:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # case: tls-off vulnerable
    return JsonResponse({"ok": True})


@api.get("/als")
async def als():
    async with httpx.AsyncClient(verify=False) as client:  # case: tls-off vulnerable
        resp = await client.get("https://als.example.org/participants")
    return resp.json()


@app.route("/pool")
def pool():
    http = urllib3.PoolManager(cert_reqs="CERT_NONE")  # case: tls-off vulnerable
    return http.request("GET", "https://ledger.example.org").data


@app.route("/rates2")
def rates_safe():
    return requests.get("https://fx.example.org/rates", verify=CA_BUNDLE, timeout=5).json()  # case: tls-off safe


@app.route("/partner2")
def partner_safe():
    ctx = ssl.create_default_context(cafile=CA_BUNDLE)  # case: tls-off safe
    return urllib.request.urlopen("https://partner.example.org", context=ctx).read()


def callback_safe(request: HttpRequest) -> JsonResponse:
    ctx = ssl.create_default_context()
    ctx.verify_mode = ssl.CERT_REQUIRED  # case: tls-off safe
    return JsonResponse({"ok": True})


@api.get("/als2")
async def als_safe():
    async with httpx.AsyncClient(verify=True) as client:  # case: tls-off safe
        resp = await client.get("https://als.example.org/participants")
    return resp.json()


@app.route("/pool2")
def pool_safe():
    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=CA_BUNDLE)  # case: tls-off safe
    return http.request("GET", "https://ledger.example.org").data
