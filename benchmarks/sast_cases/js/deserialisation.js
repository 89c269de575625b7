// Held-out SAST benchmark cases: unsafe deserialisation (CWE-502). Scan input only.
'use strict';
const express = require('express');
const Hapi = require('@hapi/hapi');
const serialize = require('node-serialize');
const funcster = require('funcster');
const yaml = require('js-yaml');
const cryo = require('cryo');

const app = express();
const server = Hapi.server({ port: 3000 });

app.get('/profile', (req, res) => {
  const profile = serialize.unserialize(Buffer.from(req.cookies.profile, 'base64').toString()); // case: deserialisation vulnerable
  res.json(profile);
});

server.route({
  method: 'POST',
  path: '/jobs',
  handler: (request) => {
    const job = funcster.deepDeserialize(request.payload.job); // case: deserialisation vulnerable
    return { ok: !!job };
  }
});

app.post('/state', (req, res) => {
  const { state } = req.body;
  const obj = serialize.unserialize(state); // case: deserialisation vulnerable
  res.json({ keys: Object.keys(obj) });
});

app.post('/config', (req, res) => {
  const cfg = yaml.load(req.body, { schema: yaml.DEFAULT_FULL_SCHEMA }); // case: deserialisation vulnerable
  res.json(cfg);
});

app.post('/restore', (req, res) => {
  const obj = cryo.parse(req.body.snapshot); // case: deserialisation vulnerable
  res.json({ ok: !!obj });
});

app.get('/profile2', (req, res) => {
  const profile = JSON.parse(Buffer.from(req.cookies.profile, 'base64').toString()); // case: deserialisation safe
  res.json(profile);
});

server.route({
  method: 'POST',
  path: '/jobs2',
  handler: (request) => {
    const job = JSON.parse(request.payload.job); // case: deserialisation safe
    return { ok: !!job };
  }
});

app.post('/state2', (req, res) => {
  const obj = serialize.unserialize('{"theme":"dark"}'); // case: deserialisation safe
  res.json(obj);
});

app.post('/config2', (req, res) => {
  const cfg = yaml.load(req.body, { schema: yaml.JSON_SCHEMA }); // case: deserialisation safe
  res.json(cfg);
});

app.post('/restore2', (req, res) => {
  const obj = JSON.parse(req.body.snapshot, (k, v) => (k === '__proto__' ? undefined : v)); // case: deserialisation safe
  res.json({ ok: !!obj });
});
