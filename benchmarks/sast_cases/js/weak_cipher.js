// Held-out SAST benchmark cases: weak or broken cipher (CWE-327). Scan input only.
'use strict';
const crypto = require('crypto');
const express = require('express');
const Hapi = require('@hapi/hapi');

const app = express();
const server = Hapi.server({ port: 3000 });
const KEY = crypto.randomBytes(32);

app.post('/encrypt', (req, res) => {
  const cipher = crypto.createCipheriv('des-ede3-cbc', KEY.subarray(0, 24), crypto.randomBytes(8)); // case: weak-cipher vulnerable
  res.send(cipher.update(req.body.data, 'utf8', 'hex') + cipher.final('hex'));
});

app.post('/legacy', (req, res) => {
  const cipher = crypto.createCipher('aes-256-cbc', process.env.PASSPHRASE); // case: weak-cipher vulnerable
  res.send(cipher.update(req.body.data, 'utf8', 'hex') + cipher.final('hex'));
});

server.route({
  method: 'POST',
  path: '/pin-block',
  handler: (request) => {
    const c = crypto.createCipheriv('aes-128-ecb', KEY.subarray(0, 16), null); // case: weak-cipher vulnerable
    return c.update(request.payload.block, 'hex', 'hex') + c.final('hex');
  }
});

app.post('/stream', (req, res) => {
  const algorithm = 'rc4';
  const c = crypto.createCipheriv(algorithm, KEY.subarray(0, 16), ''); // case: weak-cipher vulnerable
  res.send(c.update(req.body.data, 'utf8', 'hex'));
});

app.post('/bf', (req, res) => {
  const c = crypto.createCipheriv('bf-cbc', KEY.subarray(0, 16), crypto.randomBytes(8)); // case: weak-cipher vulnerable
  res.send(c.update(req.body.data, 'utf8', 'hex') + c.final('hex'));
});

app.post('/encrypt2', (req, res) => {
  const cipher = crypto.createCipheriv('aes-256-gcm', KEY, crypto.randomBytes(12)); // case: weak-cipher safe
  res.send(cipher.update(req.body.data, 'utf8', 'hex') + cipher.final('hex') + cipher.getAuthTag().toString('hex'));
});

app.post('/legacy2', (req, res) => {
  const cipher = crypto.createCipheriv('chacha20-poly1305', KEY, crypto.randomBytes(12), { authTagLength: 16 }); // case: weak-cipher safe
  res.send(cipher.update(req.body.data, 'utf8', 'hex') + cipher.final('hex'));
});

server.route({
  method: 'POST',
  path: '/pin-block2',
  handler: (request) => {
    const c = crypto.createCipheriv('aes-256-cbc', KEY, crypto.randomBytes(16)); // case: weak-cipher safe
    return c.update(request.payload.block, 'hex', 'hex') + c.final('hex');
  }
});

app.post('/stream2', (req, res) => {
  const algorithm = 'aes-256-ctr';
  const c = crypto.createCipheriv(algorithm, KEY, crypto.randomBytes(16)); // case: weak-cipher safe
  res.send(c.update(req.body.data, 'utf8', 'hex'));
});

app.post('/decrypt', (req, res) => {
  const d = crypto.createDecipheriv('aes-256-gcm', KEY, Buffer.from(req.body.iv, 'hex')); // case: weak-cipher safe
  d.setAuthTag(Buffer.from(req.body.tag, 'hex'));
  res.send(d.update(req.body.data, 'hex', 'utf8') + d.final('utf8'));
});
