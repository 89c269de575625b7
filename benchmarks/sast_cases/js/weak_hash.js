// Held-out SAST benchmark cases: weak hash for security purposes (CWE-328). Scan input only.
'use strict';
const crypto = require('crypto');
const express = require('express');
const Hapi = require('@hapi/hapi');

const app = express();
const server = Hapi.server({ port: 3000 });

app.post('/register', (req, res) => {
  const hash = crypto.createHash('md5').update(req.body.password).digest('hex'); // case: weak-hash vulnerable
  res.json({ hash });
});

app.post('/verify', (req, res) => {
  const sig = crypto.createHash('sha1').update(JSON.stringify(req.body)).digest('hex'); // case: weak-hash vulnerable
  res.json({ ok: sig === req.headers['x-signature'] });
});

server.route({
  method: 'POST',
  path: '/pin',
  handler: (request) => {
    const algo = 'md5';
    return { h: crypto.createHash(algo).update(request.payload.pin).digest('hex') }; // case: weak-hash vulnerable
  }
});

app.post('/sign', (req, res) => {
  const mac = crypto.createHmac('md5', process.env.HMAC_KEY).update(req.body.msg).digest('hex'); // case: weak-hash vulnerable
  res.json({ mac });
});

app.post('/token-hash', (req, res) => {
  const { token } = req.body;
  res.json({ h: crypto.createHash('SHA1').update(token).digest('base64') }); // case: weak-hash vulnerable
});

app.post('/register2', (req, res) => {
  crypto.scrypt(req.body.password, crypto.randomBytes(16), 64, (err, key) => res.json({ hash: key.toString('hex') })); // case: weak-hash safe
});

app.post('/verify2', (req, res) => {
  const sig = crypto.createHash('sha256').update(JSON.stringify(req.body)).digest('hex'); // case: weak-hash safe
  res.json({ ok: sig === req.headers['x-signature'] });
});

server.route({
  method: 'POST',
  path: '/pin2',
  handler: (request) => {
    return { h: crypto.pbkdf2Sync(request.payload.pin, 'salt', 600000, 32, 'sha512').toString('hex') }; // case: weak-hash safe
  }
});

app.post('/sign2', (req, res) => {
  const mac = crypto.createHmac('sha256', process.env.HMAC_KEY).update(req.body.msg).digest('hex'); // case: weak-hash safe
  res.json({ mac });
});

app.get('/asset', (req, res) => {
  const etag = crypto.createHash('sha384').update('static-asset-v1').digest('base64'); // case: weak-hash safe
  res.set('ETag', etag).end();
});
