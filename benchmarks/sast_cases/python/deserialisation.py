"""Held-out SAST benchmark cases: unsafe deserialisation (CWE-502). Scan input only."""
import base64
import json
import pickle

import jsonpickle
import yaml
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI, Request
from flask import Flask, request

app = Flask(__name__)
api = FastAPI()


@app.post("/session/restore")
def restore():
    state = pickle.loads(base64.b64decode(request.cookies["state"]))  # case: deserialisation vulnerable
    return {"keys": list(state)}


@app.post("/config")
def upload_config():
    cfg = yaml.load(request.data, Loader=yaml.Loader)  # case: deserialisation vulnerable
    return {"n": len(cfg)}


def import_job(request: HttpRequest) -> JsonResponse:
    job = jsonpickle.decode(request.body.decode())  # case: deserialisation vulnerable
    return JsonResponse({"job": str(job)})


@api.post("/rules")
async def rules(req: Request):
    raw = await req.body()
    loaded = yaml.unsafe_load(raw)  # case: deserialisation vulnerable
    return {"n": len(loaded)}


@app.post("/cache/put")
def cache_put():
    blob = request.files["blob"].read()
    obj = pickle.loads(blob)  # case: deserialisation vulnerable
    return {"type": type(obj).__name__}


@app.post("/session/restore2")
def restore_safe():
    state = json.loads(base64.b64decode(request.cookies["state"]))  # case: deserialisation safe
    return {"keys": list(state)}


@app.post("/config2")
def upload_config_safe():
    cfg = yaml.safe_load(request.data)  # case: deserialisation safe
    return {"n": len(cfg)}


def import_job_safe(request: HttpRequest) -> JsonResponse:
    job = yaml.load(request.body, Loader=yaml.SafeLoader)  # case: deserialisation safe
    return JsonResponse({"job": str(job)})


@api.post("/rules2")
async def rules_safe(req: Request):
    loaded = json.loads(await req.body())  # case: deserialisation safe
    return {"n": len(loaded)}


@app.route("/defaults")
def defaults():
    with open("/etc/app/defaults.yaml") as fh:
        data = yaml.load(fh, Loader=yaml.CSafeLoader)  # case: deserialisation safe
    return data
