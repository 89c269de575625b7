"""Held-out SAST benchmark cases: XML external entities (CWE-611). Scan input only."""
import xml.sax
from xml.dom import pulldom

import defusedxml.ElementTree as DET
from django.http import HttpRequest, JsonResponse
from fastapi import FastAPI, Request
from flask import Flask, request
from lxml import etree

app = Flask(__name__)
api = FastAPI()


@app.post("/import")
def import_xml():
    parser = etree.XMLParser(resolve_entities=True)
    root = etree.fromstring(request.data, parser)  # case: xxe vulnerable
    return {"tag": root.tag}


@app.post("/iso20022")
def iso_message():
    parser = etree.XMLParser(no_network=False, load_dtd=True)
    doc = etree.fromstring(request.get_data(), parser=parser)  # case: xxe vulnerable
    return {"tag": doc.tag}


def upload(request: HttpRequest) -> JsonResponse:
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, True)  # case: xxe vulnerable
    parser.parse(request.FILES["doc"])
    return JsonResponse({"ok": True})


@api.post("/camt")
async def camt(req: Request):
    body = await req.body()
    tree = etree.XML(body, etree.XMLParser(resolve_entities=True, no_network=False))  # case: xxe vulnerable
    return {"tag": tree.tag}


@app.post("/stream")
def stream():
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, 1)  # case: xxe vulnerable
    events = pulldom.parseString(request.get_data(as_text=True), parser=parser)
    return {"n": sum(1 for _ in events)}


@app.post("/import2")
def import_xml_safe():
    root = DET.fromstring(request.data)  # case: xxe safe
    return {"tag": root.tag}


@app.post("/iso20022b")
def iso_message_safe():
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    doc = etree.fromstring(request.get_data(), parser=parser)  # case: xxe safe
    return {"tag": doc.tag}


def upload_safe(request: HttpRequest) -> JsonResponse:
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, False)  # case: xxe safe
    parser.parse(request.FILES["doc"])
    return JsonResponse({"ok": True})


@api.post("/camt2")
async def camt_safe(req: Request):
    body = await req.body()
    tree = DET.fromstring(body, forbid_dtd=True)  # case: xxe safe
    return {"tag": tree.tag}


@app.route("/schema")
def schema():
    doc = etree.parse("/srv/schemas/pacs.008.xsd", etree.XMLParser(resolve_entities=False))  # case: xxe safe
    return {"tag": doc.getroot().tag}
