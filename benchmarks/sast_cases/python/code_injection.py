"""Held-out SAST benchmark cases: code injection (CWE-94/95). Scan input only."""
import ast
import json
import operator

from django.http import HttpRequest, HttpResponse
from fastapi import FastAPI
from flask import Flask, request

app = Flask(__name__)
api = FastAPI()
OPS = {"add": operator.add, "sub": operator.sub}


@app.route("/calc")
def calc():
    expr = request.args.get("expr", "0")
    return str(eval(expr))  # case: code-injection vulnerable


@app.post("/plugin")
def run_plugin():
    source = request.get_data(as_text=True)
    exec(source, {"__builtins__": {}})  # case: code-injection vulnerable
    return "ok"


def report_filter(request: HttpRequest) -> HttpResponse:
    field = request.GET.get("field", "amount")
    value = eval(f"row.{field}", {"row": object()})  # case: code-injection vulnerable
    return HttpResponse(str(value))


@api.post("/rules/compile")
async def compile_rule(body: dict):
    rule_src = "def rule(tx):\n    return " + body["condition"]
    code = compile(rule_src, "<rule>", "exec")
    namespace: dict = {}
    exec(code, namespace)  # case: code-injection vulnerable
    return {"ok": True}


@app.route("/sort")
def sort_items():
    key = request.args["key"]
    keyfunc = eval("lambda item: item['%s']" % key)  # case: code-injection vulnerable
    return json.dumps(sorted([], key=keyfunc))


@app.route("/calc2")
def calc_safe():
    expr = request.args.get("expr", "0")
    return str(ast.literal_eval(expr))  # case: code-injection safe


@app.post("/plugin2")
def load_settings():
    data = json.loads(request.get_data(as_text=True))  # case: code-injection safe
    return data


def report_op(request: HttpRequest) -> HttpResponse:
    op = OPS.get(request.GET.get("op", "add"), operator.add)
    return HttpResponse(str(op(1, 2)))  # case: code-injection safe


@api.get("/defaults")
async def defaults():
    limits = eval("{'daily': 1000, 'monthly': 20000}")  # case: code-injection safe
    return limits


@app.route("/getattr")
def attr():
    name = request.args["field"]
    allowed = {"amount", "currency"}
    value = getattr(object(), name if name in allowed else "amount", None)  # case: code-injection safe
    return str(value)
