"""A deliberately vulnerable service used to demonstrate policy-gate. Do not copy."""

import hashlib
import sqlite3
import subprocess

import requests
import yaml
from flask import Flask, request

app = Flask(__name__)


@app.post("/archive")
def archive():
    # Command injection: a name from the request reaches a shell.
    name = request.form["name"]
    return str(subprocess.run(f"tar czf /tmp/{name}.tgz /srv/data", shell=True, check=False))


@app.get("/transfers/<transfer_id>")
def find_transfer(transfer_id):
    # SQL injection: the query is built from the request's path.
    conn = sqlite3.connect("ledger.db")
    return conn.execute(f"SELECT * FROM transfers WHERE id = '{transfer_id}'").fetchall()


def load_rules(text):
    # Unsafe deserialisation: yaml.load can construct arbitrary objects.
    return yaml.load(text)


def session_token(user):
    # Weak hash for a security token.
    return hashlib.md5(user.encode()).hexdigest()


def fetch_quote(url):
    # TLS verification disabled: defeats mTLS between participants and the hub.
    return requests.get(url, verify=False, timeout=10)
