// Held-out SAST benchmark cases: XPath injection (CWE-643). Scan input only.
'use strict';
const express = require('express');
const Hapi = require('@hapi/hapi');
const fs = require('fs');
const xpath = require('xpath');
const { DOMParser } = require('@xmldom/xmldom');

const app = express();
const server = Hapi.server({ port: 3000 });
const doc = new DOMParser().parseFromString(fs.readFileSync('/srv/data/users.xml', 'utf8'), 'text/xml');

app.get('/user', (req, res) => {
  const nodes = xpath.select(`//user[@name='${req.query.name}']`, doc); // case: xpath-injection vulnerable
  res.json({ n: nodes.length });
});

app.post('/login', (req, res) => {
  const { user, pass } = req.body;
  const expr = "//user[name/text()='" + user + "' and password/text()='" + pass + "']";
  const found = xpath.select(expr, doc); // case: xpath-injection vulnerable
  res.json({ ok: found.length > 0 });
});

server.route({
  method: 'GET',
  path: '/accounts/{id}',
  handler: (request) => {
    const node = xpath.select1("//account[@id='" + request.params.id + "']/balance", doc); // case: xpath-injection vulnerable
    return { balance: node ? node.textContent : null };
  }
});

app.get('/party', (req, res) => {
  const evaluator = xpath.parse(`//party[msisdn='${req.query.msisdn}']`); // case: xpath-injection vulnerable
  res.json({ n: evaluator.select({ node: doc }).length });
});

app.get('/eval', (req, res) => {
  const result = doc.evaluate('//item[@sku="' + req.query.sku + '"]', doc, null, 0, null); // case: xpath-injection vulnerable
  res.json({ found: !!result });
});

app.get('/user2', (req, res) => {
  const nodes = xpath.parse("//user[@name=$name]").select({ node: doc, variables: { name: String(req.query.name) } }); // case: xpath-injection safe
  res.json({ n: nodes.length });
});

app.get('/admins', (req, res) => {
  const nodes = xpath.select("//user[@role='admin']", doc); // case: xpath-injection safe
  res.json({ n: nodes.length });
});

server.route({
  method: 'GET',
  path: '/accounts2/{id}',
  handler: (request) => {
    const id = parseInt(request.params.id, 10);
    const node = xpath.select1(`//account[@id='${id}']/balance`, doc); // case: xpath-injection safe
    return { balance: node ? node.textContent : null };
  }
});

app.get('/party2', (req, res) => {
  const evaluator = xpath.parse('//party[msisdn=$m]');
  res.json({ n: evaluator.select({ node: doc, variables: { m: String(req.query.msisdn) } }).length }); // case: xpath-injection safe
});

app.get('/eval2', (req, res) => {
  const sku = /^[A-Z0-9-]{1,20}$/.test(req.query.sku) ? req.query.sku : 'NONE';
  const nodes = xpath.select(`//item[@sku="${sku}"]`, doc); // case: xpath-injection safe
  res.json({ n: nodes.length });
});
