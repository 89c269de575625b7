"""Held-out SAST benchmark cases: weak hash for security purposes (CWE-328). Scan input only."""
import hashlib
import hmac

from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask, request

app = Flask(__name__)
api = FastAPI()
SALT = b"per-deployment-salt"


@app.post("/register")
def register():
    pw = request.form["password"]
    digest = hashlib.md5(pw.encode()).hexdigest()  # case: weak-hash vulnerable
    return {"stored": digest}


@app.post("/verify")
def verify():
    body = request.get_data()
    sig = hashlib.sha1(body).hexdigest()  # case: weak-hash vulnerable
    return {"ok": hmac.compare_digest(sig, request.headers.get("X-Sig", ""))}


def token_hash(request: HttpRequest) -> JsonResponse:
    h = hashlib.new("md5")  # case: weak-hash vulnerable
    h.update(request.POST["token"].encode())
    return JsonResponse({"h": h.hexdigest()})


@api.post("/pin")
async def pin(pin: str):
    return {"h": hashlib.sha1(SALT + pin.encode()).hexdigest()}  # case: weak-hash vulnerable


@app.post("/sign")
def sign():
    mac = hmac.new(b"k", request.get_data(), hashlib.md5).hexdigest()  # case: weak-hash vulnerable
    return {"mac": mac}


@app.post("/register2")
def register_safe():
    pw = request.form["password"]
    digest = hashlib.pbkdf2_hmac("sha256", pw.encode(), SALT, 600_000).hex()  # case: weak-hash safe
    return {"stored": digest}


@app.post("/verify2")
def verify_safe():
    sig = hashlib.sha256(request.get_data()).hexdigest()  # case: weak-hash safe
    return {"sig": sig}


def etag(request: HttpRequest) -> JsonResponse:
    tag = hashlib.md5(b"static content", usedforsecurity=False).hexdigest()  # case: weak-hash safe
    return JsonResponse({"etag": tag})


@api.get("/cache-key")
async def cache_key(path: str):
    return {"key": hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()}  # case: weak-hash safe


@app.post("/sign2")
def sign_safe():
    mac = hmac.new(b"k", request.get_data(), hashlib.sha256).hexdigest()  # case: weak-hash safe
    return {"mac": mac}
