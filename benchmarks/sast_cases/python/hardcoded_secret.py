"""Held-out SAST benchmark cases: hard-coded credentials (CWE-798). Scan input only.

The <<secret:KIND>> markers are replaced by sast_bench.py with values generated at run
time (in its temporary copy), so that no credential-looking value is ever committed.
"""
import os

import boto3
import jwt
import psycopg2
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask

app = Flask(__name__)
api = FastAPI()
app.config["SECRET_KEY"] = "<<secret:hex>>"  # case: hardcoded-secret vulnerable


def s3_client():
    return boto3.client("s3", aws_access_key_id="<<secret:aws-id>>", aws_secret_access_key="<<secret:aws-secret>>")  # case: hardcoded-secret vulnerable


def db():
    return psycopg2.connect(host="db", user="ledger", password="<<secret:password>>")  # case: hardcoded-secret vulnerable


@api.post("/token")
async def token(user: str):
    return {"jwt": jwt.encode({"sub": user}, "<<secret:hex>>", algorithm="HS256")}  # case: hardcoded-secret vulnerable


GITHUB_TOKEN = "<<secret:github>>"  # case: hardcoded-secret vulnerable


def s3_client_safe():
    return boto3.client("s3", aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])  # case: hardcoded-secret safe


def db_safe():
    return psycopg2.connect(host="db", user="ledger", password=os.environ.get("DB_PASSWORD", ""))  # case: hardcoded-secret safe


@api.post("/token2")
async def token_safe(user: str):
    return {"jwt": jwt.encode({"sub": user}, settings.JWT_SECRET, algorithm="HS256")}  # case: hardcoded-secret safe


PASSWORD_FIELD = "password"  # case: hardcoded-secret safe


def login_form(request: HttpRequest) -> JsonResponse:
    password = request.POST.get("password", "")  # case: hardcoded-secret safe
    return JsonResponse({"len": len(password)})
