// Held-out SAST benchmark cases: XML external entities (CWE-611). Scan input only.
'use strict';
const express = require('express');
const Hapi = require('@hapi/hapi');
const libxmljs = require('libxmljs');
const { XMLParser } = require('fast-xml-parser');
const fs = require('fs');

const app = express();
const server = Hapi.server({ port: 3000 });

app.post('/import', (req, res) => {
  const doc = libxmljs.parseXml(req.body, { noent: true }); // case: xxe vulnerable
  res.json({ root: doc.root().name() });
});

server.route({
  method: 'POST',
  path: '/iso20022',
  handler: (request) => {
    const opts = { noent: true, dtdload: true };
    const doc = libxmljs.parseXmlString(request.payload.toString(), opts); // case: xxe vulnerable
    return { root: doc.root().name() };
  }
});

app.post('/camt', async (req, res) => {
  const xml = req.body.xml;
  const doc = libxmljs.parseXml(xml, { noent: true, nonet: false }); // case: xxe vulnerable
  res.json({ root: doc.root().name() });
});

app.post('/sax', (req, res) => {
  const parser = new libxmljs.SaxParser();
  const doc = libxmljs.parseXmlString(req.body.toString(), { noent: true, dtdvalid: true }); // case: xxe vulnerable
  res.json({ ok: !!doc && !!parser });
});

server.route({
  method: 'POST',
  path: '/batch',
  handler: (request) => {
    const { xml } = request.payload;
    return libxmljs.parseXml(xml, { replaceEntities: true }).root().name(); // case: xxe vulnerable
  }
});

app.post('/import2', (req, res) => {
  const doc = libxmljs.parseXml(req.body); // case: xxe safe
  res.json({ root: doc.root().name() });
});

server.route({
  method: 'POST',
  path: '/iso20022b',
  handler: (request) => {
    const doc = libxmljs.parseXmlString(request.payload.toString(), { noent: false, nonet: true }); // case: xxe safe
    return { root: doc.root().name() };
  }
});

app.post('/camt2', (req, res) => {
  const parsed = new XMLParser().parse(req.body.xml); // case: xxe safe
  res.json(parsed);
});

app.get('/schema', (req, res) => {
  const doc = libxmljs.parseXml(fs.readFileSync('/srv/schemas/pacs.008.xsd', 'utf8'), { noent: true }); // case: xxe safe
  res.json({ root: doc.root().name() });
});

server.route({
  method: 'POST',
  path: '/batch2',
  handler: (request) => {
    return new XMLParser({ processEntities: false }).parse(request.payload.xml); // case: xxe safe
  }
});
