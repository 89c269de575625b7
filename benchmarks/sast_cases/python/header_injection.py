"""Held-out SAST benchmark cases: HTTP header injection / response splitting (CWE-113). Scan input only."""
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from fastapi import FastAPI, Response
from flask import Flask, make_response, request

app = Flask(__name__)
api = FastAPI()


@app.route("/export")
def export():
    name = request.args.get("name", "report")
    resp = make_response("data")
    resp.headers["Content-Disposition"] = f"attachment; filename={name}.csv"  # case: header-injection vulnerable
    return resp


@app.route("/lang")
def lang():
    resp = make_response("ok")
    resp.headers.add("Content-Language", request.args["lang"])  # case: header-injection vulnerable
    return resp


def trace(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("ok")
    response["X-Trace-Id"] = request.GET.get("trace", "")  # case: header-injection vulnerable
    return response


@api.get("/download")
async def download(filename: str, response: Response):
    response.headers["Content-Disposition"] = "attachment; filename=" + filename  # case: header-injection vulnerable
    return {"ok": True}


@app.route("/echo")
def echo_header():
    value = request.headers.get("X-Correlation", "")
    return "ok", 200, {"X-Correlation": value}  # case: header-injection vulnerable


@app.route("/export2")
def export_safe():
    name = quote(request.args.get("name", "report"))
    resp = make_response("data")
    resp.headers["Content-Disposition"] = f"attachment; filename={name}.csv"  # case: header-injection safe
    return resp


@app.route("/lang2")
def lang_safe():
    lang = request.args.get("lang", "en")
    resp = make_response("ok")
    resp.headers["Content-Language"] = lang if lang in ("en", "fr", "sw") else "en"  # case: header-injection safe
    return resp


def trace_safe(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("ok")
    response["X-Trace-Id"] = str(int(request.GET.get("trace", "0")))  # case: header-injection safe
    return response


@api.get("/download2")
async def download_safe(response: Response):
    response.headers["Cache-Control"] = "no-store"  # case: header-injection safe
    return {"ok": True}


@app.route("/echo2")
def echo_header_safe():
    value = request.headers.get("X-Correlation", "").replace("\r", "").replace("\n", "")
    return "ok", 200, {"X-Correlation": value}  # case: header-injection safe
