"""Held-out SAST benchmark cases: path traversal (CWE-22). Scan input only."""
import os
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse
from fastapi import FastAPI
from fastapi.responses import FileResponse as FastFile
from flask import Flask, request, send_file, send_from_directory
from werkzeug.utils import secure_filename

app = Flask(__name__)
api = FastAPI()
UPLOADS = "/srv/uploads"
BASE = Path("/srv/reports")


@app.route("/download")
def download():
    name = request.args["file"]
    return send_file(os.path.join(UPLOADS, name))  # case: path-traversal vulnerable


@app.route("/read")
def read():
    path = UPLOADS + "/" + request.args.get("name", "")
    with open(path) as fh:  # case: path-traversal vulnerable
        return fh.read()


def report(request: HttpRequest) -> FileResponse:
    fname = request.GET["report"]
    return FileResponse(open(f"/srv/reports/{fname}", "rb"))  # case: path-traversal vulnerable


@api.get("/statements/{name}")
async def statement(name: str):
    return FastFile(BASE / name)  # case: path-traversal vulnerable


@app.post("/upload")
def upload():
    f = request.files["doc"]
    f.save(os.path.join(UPLOADS, f.filename))  # case: path-traversal vulnerable
    return "saved"


@app.route("/download2")
def download_safe():
    return send_from_directory(UPLOADS, request.args["file"])  # case: path-traversal safe


@app.post("/upload2")
def upload_safe():
    f = request.files["doc"]
    f.save(os.path.join(UPLOADS, secure_filename(f.filename or "upload")))  # case: path-traversal safe
    return "saved"


def report_safe(request: HttpRequest) -> HttpResponse:
    fname = os.path.basename(request.GET["report"])
    return FileResponse(open(os.path.join("/srv/reports", fname), "rb"))  # case: path-traversal safe


@api.get("/statements2/{name}")
async def statement_safe(name: str):
    target = (BASE / name).resolve()
    if not target.is_relative_to(BASE):
        return {"error": "bad name"}
    return FastFile(target)  # case: path-traversal safe


@app.route("/template")
def template_file():
    with open(os.path.join(UPLOADS, "terms.txt")) as fh:  # case: path-traversal safe
        return fh.read()
