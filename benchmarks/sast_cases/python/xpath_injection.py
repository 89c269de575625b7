"""Held-out SAST benchmark cases: XPath injection (CWE-643). Scan input only."""
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI
from flask import Flask, request
from lxml import etree

app = Flask(__name__)
api = FastAPI()
TREE = etree.parse("/srv/data/users.xml")


@app.route("/user")
def user():
    name = request.args["name"]
    nodes = TREE.xpath(f"//user[@name='{name}']")  # case: xpath-injection vulnerable
    return {"n": len(nodes)}


@app.route("/login")
def login():
    u, p = request.form["u"], request.form["p"]
    query = "//user[name/text()='" + u + "' and password/text()='" + p + "']"
    found = TREE.getroot().xpath(query)  # case: xpath-injection vulnerable
    return {"ok": bool(found)}


def account(request: HttpRequest) -> JsonResponse:
    acct = request.GET["acct"]
    finder = etree.XPath("//account[@id='%s']/balance" % acct)  # case: xpath-injection vulnerable
    return JsonResponse({"n": len(finder(TREE))})


@api.get("/party/{msisdn}")
async def party(msisdn: str):
    nodes = TREE.xpath("//party[msisdn='{}']".format(msisdn))  # case: xpath-injection vulnerable
    return {"n": len(nodes)}


@app.route("/search")
def search():
    tag = request.args.get("tag", "user")
    nodes = TREE.findall(".//" + tag)  # case: xpath-injection vulnerable
    return {"n": len(nodes)}


@app.route("/user2")
def user_safe():
    nodes = TREE.xpath("//user[@name=$name]", name=request.args["name"])  # case: xpath-injection safe
    return {"n": len(nodes)}


@app.route("/admins")
def admins():
    nodes = TREE.xpath("//user[@role='admin']")  # case: xpath-injection safe
    return {"n": len(nodes)}


def account_safe(request: HttpRequest) -> JsonResponse:
    acct = int(request.GET["acct"])
    nodes = TREE.xpath(f"//account[@id='{acct}']/balance")  # case: xpath-injection safe
    return JsonResponse({"n": len(nodes)})


@api.get("/party2/{msisdn}")
async def party_safe(msisdn: str):
    finder = etree.XPath("//party[msisdn=$m]")
    return {"n": len(finder(TREE, m=msisdn))}  # case: xpath-injection safe


@app.route("/search2")
def search_safe():
    tag = request.args.get("tag", "user")
    wanted = tag if tag in ("user", "group") else "user"
    nodes = TREE.findall(".//" + wanted)  # case: xpath-injection safe
    return {"n": len(nodes)}
