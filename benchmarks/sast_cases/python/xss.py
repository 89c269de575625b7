"""Held-out SAST benchmark cases: cross-site scripting (CWE-79). Scan input only."""
import html

import jinja2
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from flask import Flask, render_template, render_template_string, request
from markupsafe import Markup, escape

app = Flask(__name__)
api = FastAPI()


@app.route("/hello")
def hello():
    name = request.args.get("name", "")
    return f"<h1>Hello {name}</h1>"  # case: xss vulnerable


@app.route("/greet")
def greet():
    msg = request.args["msg"]
    return render_template_string("<p>" + msg + "</p>")  # case: xss vulnerable


def profile(request: HttpRequest) -> HttpResponse:
    bio = request.GET.get("bio", "")
    return render(request, "profile.html", {"bio": mark_safe(bio)})  # case: xss vulnerable


@api.get("/search", response_class=HTMLResponse)
async def search(q: str):
    return HTMLResponse(content="<div>Results for " + q + "</div>")  # case: xss vulnerable


@app.route("/note")
def note():
    env = jinja2.Environment(autoescape=False)  # case: xss vulnerable
    return env.from_string("<p>{{ text }}</p>").render(text=request.args["text"])


@app.route("/hello2")
def hello_safe():
    name = request.args.get("name", "")
    return f"<h1>Hello {escape(name)}</h1>"  # case: xss safe


@app.route("/greet2")
def greet_safe():
    return render_template("greet.html", msg=request.args["msg"])  # case: xss safe


def profile_safe(request: HttpRequest) -> HttpResponse:
    bio = request.GET.get("bio", "")
    return HttpResponse(format_html("<p>{}</p>", bio))  # case: xss safe


@api.get("/search2", response_class=HTMLResponse)
async def search_safe(q: str):
    return HTMLResponse(content="<div>Results for " + html.escape(q) + "</div>")  # case: xss safe


@app.route("/banner")
def banner():
    return Markup("<strong>Maintenance tonight</strong>")  # case: xss safe
