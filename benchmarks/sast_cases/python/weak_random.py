"""Held-out SAST benchmark cases: weak randomness for security values (CWE-330/338). Scan input only."""
import random
import secrets
import string
import time

from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask

app = Flask(__name__)
api = FastAPI()
ALPHABET = string.ascii_letters + string.digits


@app.route("/reset")
def reset_token():
    token = "".join(random.choice(ALPHABET) for _ in range(32))  # case: weak-random vulnerable
    return {"token": token}


@app.route("/otp")
def otp():
    code = random.randint(100000, 999999)  # case: weak-random vulnerable
    return {"otp": code}


def api_key(request: HttpRequest) -> JsonResponse:
    key = "%032x" % random.getrandbits(128)  # case: weak-random vulnerable
    return JsonResponse({"key": key})


@api.post("/session")
async def new_session():
    rng = random.Random()
    sid = "".join(rng.choices(ALPHABET, k=40))  # case: weak-random vulnerable
    return {"sid": sid}


@app.route("/nonce")
def nonce():
    value = str(int(random.random() * 10**16))  # case: weak-random vulnerable
    return {"nonce": value}


@app.route("/reset2")
def reset_token_safe():
    token = secrets.token_urlsafe(32)  # case: weak-random safe
    return {"token": token}


@app.route("/otp2")
def otp_safe():
    code = secrets.randbelow(900000) + 100000  # case: weak-random safe
    return {"otp": code}


def retry_with_jitter(request: HttpRequest) -> JsonResponse:
    time.sleep(random.uniform(0.1, 0.5))  # case: weak-random safe
    return JsonResponse({})


@api.get("/sample")
async def sample():
    rows = list(range(100))
    random.shuffle(rows)  # case: weak-random safe
    return {"rows": rows[:10]}


@app.route("/invite")
def invite():
    code = "".join(secrets.choice(ALPHABET) for _ in range(12))  # case: weak-random safe
    return {"code": code}
