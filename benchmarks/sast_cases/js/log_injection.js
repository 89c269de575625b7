// Held-out SAST benchmark cases: log injection (CWE-117). Scan input only.
'use strict';
const express = require('express');
const Hapi = require('@hapi/hapi');
const winston = require('winston');

const app = express();
const server = Hapi.server({ port: 3000 });
const logger = winston.createLogger({ transports: [new winston.transports.Console()] });

app.post('/login', (req, res) => {
  console.log(`failed login for ${req.body.username}`); // case: log-injection vulnerable
  res.status(401).end();
});

app.get('/transfer', (req, res) => {
  logger.info('transfer requested: ' + req.query.ref); // case: log-injection vulnerable
  res.end();
});

server.route({
  method: 'POST',
  path: '/quotes',
  handler: (request) => {
    const { payer } = request.payload;
    request.log(['quote'], 'quote failed for ' + payer); // case: log-injection vulnerable
    return {};
  }
});

app.get('/agent', (req, res) => {
  const ua = req.headers['user-agent'];
  logger.warn(`client agent ${ua}`); // case: log-injection vulnerable
  res.end();
});

app.post('/audit', (req, res) => {
  console.error('audit action=%s', req.body.action); // case: log-injection vulnerable
  res.end();
});

app.post('/login2', (req, res) => {
  const user = String(req.body.username).replace(/[\r\n]/g, '');
  console.log(`failed login for ${user}`); // case: log-injection safe
  res.status(401).end();
});

app.get('/transfer2', (req, res) => {
  logger.info('transfer requested', { ref: JSON.stringify(req.query.ref) }); // case: log-injection safe
  res.end();
});

server.route({
  method: 'POST',
  path: '/quotes2',
  handler: (request) => {
    request.log(['quote'], 'quote failed'); // case: log-injection safe
    return {};
  }
});

app.get('/agent2', (req, res) => {
  const kind = /Mobile/.test(req.headers['user-agent'] || '') ? 'mobile' : 'desktop';
  logger.warn(`client kind ${kind}`); // case: log-injection safe
  res.end();
});

app.post('/audit2', (req, res) => {
  console.error('audit count=%d', Number(req.body.count)); // case: log-injection safe
  res.end();
});
