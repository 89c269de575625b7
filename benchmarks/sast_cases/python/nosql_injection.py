"""Held-out SAST benchmark cases: NoSQL injection (CWE-943). Scan input only."""
from bson.objectid import ObjectId
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI, Request
from flask import Flask, request
from pymongo import MongoClient

app = Flask(__name__)
api = FastAPI()
mongo = MongoClient("mongodb://localhost:27017")["payments"]


@app.post("/login")
def login():
    creds = request.get_json()
    user = mongo.users.find_one({"username": creds["username"], "password": creds["password"]})  # case: nosql-injection vulnerable
    return {"ok": user is not None}


@app.route("/search")
def search():
    name = request.args.get("name", "")
    docs = mongo.parties.find({"$where": f"this.name == '{name}'"})  # case: nosql-injection vulnerable
    return {"n": len(list(docs))}


def filter_view(request: HttpRequest) -> JsonResponse:
    import json
    criteria = json.loads(request.body)
    docs = list(mongo.quotes.find(criteria))  # case: nosql-injection vulnerable
    return JsonResponse({"n": len(docs)})


@api.post("/accounts/query")
async def account_query(req: Request):
    body = await req.json()
    cursor = mongo.accounts.find({"owner": body.get("owner")})  # case: nosql-injection vulnerable
    return {"n": len(list(cursor))}


@app.route("/js")
def js_filter():
    expr = request.args["expr"]
    docs = mongo.transfers.find({"$where": "this.amount > " + expr})  # case: nosql-injection vulnerable
    return {"n": len(list(docs))}


@app.post("/login2")
def login_safe():
    creds = request.get_json()
    user = mongo.users.find_one({"username": str(creds["username"])})  # case: nosql-injection safe
    return {"ok": user is not None}


@app.route("/search2")
def search_safe():
    docs = mongo.parties.find({"$where": "this.active == true"})  # case: nosql-injection safe
    return {"n": len(list(docs))}


def by_id(request: HttpRequest, pk: str) -> JsonResponse:
    doc = mongo.quotes.find_one({"_id": ObjectId(pk)})  # case: nosql-injection safe
    return JsonResponse({"found": doc is not None})


@api.get("/accounts/{owner}")
async def account(owner: str):
    cursor = mongo.accounts.find({"owner": owner})  # case: nosql-injection safe
    return {"n": len(list(cursor))}


@app.route("/status")
def by_status():
    status = request.args.get("status", "open")
    wanted = status if status in ("open", "closed") else "open"
    docs = mongo.transfers.find({"status": wanted})  # case: nosql-injection safe
    return {"n": len(list(docs))}
