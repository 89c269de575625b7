// Held-out SAST benchmark cases: open redirect (CWE-601). Scan input only.
'use strict';
const express = require('express');
const Hapi = require('@hapi/hapi');
const Koa = require('koa');

const app = express();
const server = Hapi.server({ port: 3000 });
const koa = new Koa();
const PAGES = { help: '/help', docs: '/docs' };

app.get('/login/done', (req, res) => {
  res.redirect(req.query.next); // case: open-redirect vulnerable
});

server.route({
  method: 'GET',
  path: '/sso/callback',
  handler: (request, h) => {
    return h.redirect(request.query.returnTo); // case: open-redirect vulnerable
  }
});

koa.use(async (ctx) => {
  const target = ctx.query.url;
  ctx.redirect(target); // case: open-redirect vulnerable
});

app.get('/go', (req, res) => {
  const { to } = req.query;
  res.writeHead(302, { Location: 'https://' + to }); // case: open-redirect vulnerable
  res.end();
});

app.post('/pay/done', (req, res) => {
  res.location(req.body.successUrl).status(303).end(); // case: open-redirect vulnerable
});

app.get('/login/done2', (req, res) => {
  res.redirect('/dashboard'); // case: open-redirect safe
});

server.route({
  method: 'GET',
  path: '/sso/callback2',
  handler: (request, h) => {
    return h.redirect(PAGES[request.query.page] || '/'); // case: open-redirect safe
  }
});

koa.use(async (ctx) => {
  const target = String(ctx.query.url || '/');
  ctx.redirect(target.startsWith('/') && !target.startsWith('//') ? target : '/'); // case: open-redirect safe
});

app.get('/go2', (req, res) => {
  res.writeHead(302, { Location: '/docs' }); // case: open-redirect safe
  res.end();
});

app.post('/pay/done2', (req, res) => {
  res.redirect(303, `/receipts/${encodeURIComponent(req.body.id)}`); // case: open-redirect safe
});
