"""Held-out SAST benchmark cases: server-side request forgery (CWE-918). Scan input only."""
import urllib.request

import httpx
import requests
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask, request

app = Flask(__name__)
api = FastAPI()
PARTNERS = {"bank-a": "https://bank-a.example.org/api", "bank-b": "https://bank-b.example.org/api"}


@app.route("/preview")
def preview():
    url = request.args["url"]
    return requests.get(url, timeout=5).text  # case: ssrf vulnerable


@app.post("/webhook/test")
def webhook_test():
    hook = request.get_json()["callback"]
    requests.post(hook, json={"ping": True}, timeout=5)  # case: ssrf vulnerable
    return "sent"


def fetch_avatar(request: HttpRequest) -> JsonResponse:
    host = request.GET["host"]
    data = urllib.request.urlopen(f"http://{host}/avatar.png").read()  # case: ssrf vulnerable
    return JsonResponse({"size": len(data)})


@api.get("/proxy")
async def proxy(target: str):
    async with httpx.AsyncClient() as client:
        resp = await client.get(target)  # case: ssrf vulnerable
    return {"status": resp.status_code}


@app.route("/fx")
def fx_rates():
    base = request.args.get("api", "https://fx.example.org")
    rates = requests.get(base + "/latest", timeout=5).json()  # case: ssrf vulnerable
    return rates


@app.route("/preview2")
def preview_safe():
    partner = request.args["partner"]
    url = PARTNERS.get(partner, PARTNERS["bank-a"])
    return requests.get(url, timeout=5).text  # case: ssrf safe


@app.route("/user")
def user_profile():
    uid = int(request.args["id"])
    return requests.get(f"https://users.example.org/v1/users/{uid}", timeout=5).text  # case: ssrf safe


def fetch_config(request: HttpRequest) -> JsonResponse:
    data = requests.get(settings.CONFIG_SERVICE_URL, timeout=5).json()  # case: ssrf safe
    return JsonResponse(data)


@api.get("/search")
async def search(q: str):
    async with httpx.AsyncClient() as client:
        resp = await client.get("https://search.example.org/q", params={"q": q})  # case: ssrf safe
    return resp.json()


@app.route("/health")
def health():
    return requests.get("http://localhost:8080/health", timeout=2).text  # case: ssrf safe
