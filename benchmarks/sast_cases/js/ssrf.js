// Held-out SAST benchmark cases: server-side request forgery (CWE-918). Scan input only.
'use strict';
const axios = require('axios');
const express = require('express');
const Hapi = require('@hapi/hapi');
const http = require('http');
const config = require('./config');

const app = express();
const server = Hapi.server({ port: 3000 });
const PARTNERS = { 'bank-a': 'https://bank-a.example.org/api', 'bank-b': 'https://bank-b.example.org/api' };

app.get('/preview', async (req, res) => {
  const r = await axios.get(req.query.url); // case: ssrf vulnerable
  res.send(r.data);
});

server.route({
  method: 'POST',
  path: '/callbacks/test',
  handler: async (request) => {
    const { callbackUrl } = request.payload;
    await fetch(callbackUrl, { method: 'PUT', body: '{}' }); // case: ssrf vulnerable
    return { sent: true };
  }
});

app.get('/avatar', (req, res) => {
  http.get('http://' + req.query.host + '/avatar.png', (r) => r.pipe(res)); // case: ssrf vulnerable
});

app.post('/import', async (req, res) => {
  const source = req.body.source;
  const { data } = await axios({ method: 'get', url: `${source}/export.json` }); // case: ssrf vulnerable
  res.json(data);
});

server.route({
  method: 'GET',
  path: '/fsp/{host}',
  handler: async (request) => {
    const r = await axios.post(`https://${request.params.host}/parties`, {}); // case: ssrf vulnerable
    return r.data;
  }
});

app.get('/preview2', async (req, res) => {
  const url = PARTNERS[req.query.partner] || PARTNERS['bank-a'];
  const r = await axios.get(url); // case: ssrf safe
  res.send(r.data);
});

server.route({
  method: 'POST',
  path: '/callbacks2',
  handler: async () => {
    await fetch(config.get('CALLBACK_URL'), { method: 'PUT', body: '{}' }); // case: ssrf safe
    return { sent: true };
  }
});

app.get('/user', async (req, res) => {
  const id = parseInt(req.query.id, 10);
  const r = await axios.get(`https://users.example.org/v1/users/${id}`); // case: ssrf safe
  res.json(r.data);
});

app.get('/search', async (req, res) => {
  const r = await axios.get('https://search.example.org/q', { params: { q: req.query.q } }); // case: ssrf safe
  res.json(r.data);
});

app.get('/health', (req, res) => {
  http.get('http://localhost:8080/health', (r) => r.pipe(res)); // case: ssrf safe
});
