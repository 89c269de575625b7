"""Held-out SAST benchmark cases: SQL injection (CWE-89). Scan input only."""
import sqlite3

from django.contrib.auth.models import User
from django.db import connection
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask, request
from sqlalchemy import text
from sqlalchemy.orm import Session

app = Flask(__name__)
api = FastAPI()
db = sqlite3.connect("app.db")
engine_session = Session()
TABLE = "transfers"


@app.route("/user")
def get_user():
    uid = request.args["id"]
    cur = db.cursor()
    cur.execute(f"SELECT * FROM users WHERE id = {uid}")  # case: sql-injection vulnerable
    return str(cur.fetchone())


@app.route("/search")
def search():
    name = request.args.get("q", "")
    query = "SELECT id, name FROM accounts WHERE name LIKE '%" + name + "%'"
    rows = db.execute(query).fetchall()  # case: sql-injection vulnerable
    return str(rows)


def by_email(request: HttpRequest) -> JsonResponse:
    email = request.GET["email"]
    users = User.objects.raw("SELECT * FROM auth_user WHERE email = '%s'" % email)  # case: sql-injection vulnerable
    return JsonResponse({"n": len(list(users))})


@api.get("/transfers")
async def transfers(order: str = "created"):
    stmt = text("SELECT * FROM transfers ORDER BY {}".format(order))
    rows = engine_session.execute(stmt).all()  # case: sql-injection vulnerable
    return {"rows": len(rows)}


def by_status(request: HttpRequest) -> JsonResponse:
    status = request.GET.get("status")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE quotes SET state = 'SEEN' WHERE state = '" + status + "'")  # case: sql-injection vulnerable
    return JsonResponse({})


@app.route("/user2")
def get_user_safe():
    uid = request.args["id"]
    cur = db.cursor()
    cur.execute("SELECT * FROM users WHERE id = ?", (uid,))  # case: sql-injection safe
    return str(cur.fetchone())


@app.route("/count")
def count():
    query = f"SELECT COUNT(*) FROM {TABLE}"
    total = db.execute(query).fetchone()  # case: sql-injection safe
    return str(total)


def by_email_orm(request: HttpRequest) -> JsonResponse:
    email = request.GET["email"]
    users = User.objects.filter(email=email)  # case: sql-injection safe
    return JsonResponse({"n": users.count()})


@api.get("/transfers2")
async def transfers_safe(state: str):
    stmt = text("SELECT * FROM transfers WHERE state = :state")
    rows = engine_session.execute(stmt, {"state": state}).all()  # case: sql-injection safe
    return {"rows": len(rows)}


def raw_params(request: HttpRequest) -> JsonResponse:
    email = request.GET["email"]
    users = User.objects.raw("SELECT * FROM auth_user WHERE email = %s", [email])  # case: sql-injection safe
    return JsonResponse({"n": len(list(users))})


@api.get("/transfers3")
async def transfers_sorted(order: str = "created"):
    column = {"created": "created_at", "amount": "amount"}.get(order, "created_at")
    rows = engine_session.execute(text("SELECT * FROM transfers ORDER BY " + column)).all()  # case: sql-injection safe
    return {"rows": len(rows)}
