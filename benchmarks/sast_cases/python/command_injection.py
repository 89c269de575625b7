"""Held-out SAST benchmark cases: OS command injection (CWE-78). Scan input only."""
import os
import shlex
import subprocess

from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask, request

app = Flask(__name__)
api = FastAPI()
ARCHIVE_DIR = "/var/backups"


@app.route("/ping")
def ping():
    host = request.args.get("host", "")
    out = subprocess.check_output(f"ping -c 1 {host}", shell=True)  # case: command-injection vulnerable
    return out


@app.post("/convert")
def convert():
    name = request.form["name"]
    cmd = "convert /uploads/" + name + " /thumbs/" + name + ".png"
    os.system(cmd)  # case: command-injection vulnerable
    return "ok"


def lookup(request: HttpRequest) -> JsonResponse:
    domain = request.GET["domain"]
    result = os.popen("nslookup %s" % domain).read()  # case: command-injection vulnerable
    return JsonResponse({"result": result})


@api.get("/git/log")
async def git_log(branch: str):
    proc = subprocess.Popen(  # case: command-injection vulnerable
        "git log --oneline {}".format(branch),
        shell=True,
        stdout=subprocess.PIPE,
    )
    return {"log": proc.communicate()[0].decode()}


@app.route("/archive", methods=["POST"])
def archive():
    data = request.get_json()
    target = data["target"]
    subprocess.run(["sh", "-c", f"tar czf {ARCHIVE_DIR}/backup.tgz {target}"], check=True)  # case: command-injection vulnerable
    return "done"


@app.route("/ping2")
def ping_safe():
    host = request.args.get("host", "")
    out = subprocess.check_output(["ping", "-c", "1", "--", host], shell=False)  # case: command-injection safe
    return out


@app.route("/disk")
def disk_usage():
    out = subprocess.check_output("df -h /var | tail -1", shell=True)  # case: command-injection safe
    return out


def lookup_quoted(request: HttpRequest) -> JsonResponse:
    domain = request.GET["domain"]
    result = subprocess.run("nslookup " + shlex.quote(domain), shell=True, capture_output=True, text=True)  # case: command-injection safe
    return JsonResponse({"result": result.stdout})


@api.post("/restart/{service}")
async def restart(service: str):
    allowed = {"web": "web.service", "worker": "worker.service"}
    unit = allowed.get(service, "web.service")
    subprocess.run(["systemctl", "restart", unit], check=True)  # case: command-injection safe
    return {"restarted": unit}


@app.route("/version")
def version():
    cmd = "git rev-parse --short HEAD"
    rev = os.popen(cmd).read().strip()  # case: command-injection safe
    return {"rev": rev}
