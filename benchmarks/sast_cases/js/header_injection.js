// Held-out SAST benchmark cases: HTTP header injection (CWE-113). Scan input only.
'use strict';
const express = require('express');
const Hapi = require('@hapi/hapi');
const Koa = require('koa');

const app = express();
const server = Hapi.server({ port: 3000 });
const koa = new Koa();

app.get('/export', (req, res) => {
  res.setHeader('Content-Disposition', `attachment; filename=${req.query.name}.csv`); // case: header-injection vulnerable
  res.send('data');
});

app.get('/lang', (req, res) => {
  const { lang } = req.query;
  res.set('Content-Language', lang); // case: header-injection vulnerable
  res.end();
});

server.route({
  method: 'GET',
  path: '/trace',
  handler: (request, h) => {
    return h.response('ok').header('X-Trace-Id', request.query.trace); // case: header-injection vulnerable
  }
});

koa.use(async (ctx) => {
  ctx.set('X-Request-Source', ctx.query.source); // case: header-injection vulnerable
  ctx.body = 'ok';
});

app.get('/echo', (req, res) => {
  res.writeHead(200, { 'X-Correlation-Id': req.headers['x-correlation-id'] + ';' + req.query.suffix }); // case: header-injection vulnerable
  res.end();
});

app.get('/export2', (req, res) => {
  res.setHeader('Content-Disposition', `attachment; filename=${encodeURIComponent(req.query.name)}.csv`); // case: header-injection safe
  res.send('data');
});

app.get('/lang2', (req, res) => {
  const lang = ['en', 'fr', 'sw'].includes(req.query.lang) ? req.query.lang : 'en';
  res.set('Content-Language', lang); // case: header-injection safe
  res.end();
});

server.route({
  method: 'GET',
  path: '/trace2',
  handler: (request, h) => {
    return h.response('ok').header('X-Trace-Id', String(parseInt(request.query.trace, 10))); // case: header-injection safe
  }
});

koa.use(async (ctx) => {
  ctx.set('Cache-Control', 'no-store'); // case: header-injection safe
  ctx.body = 'ok';
});

app.get('/echo2', (req, res) => {
  const id = String(req.query.id).replace(/[\r\n]/g, '');
  res.writeHead(200, { 'X-Correlation-Id': id }); // case: header-injection safe
  res.end();
});
