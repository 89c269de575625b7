// Held-out SAST benchmark cases: TLS certificate verification disabled (CWE-295). Scan input only.
'use strict';
const axios = require('axios');
const express = require('express');
const fs = require('fs');
const https = require('https');
const tls = require('tls');
const { Kafka } = require('kafkajs');

const app = express();
const CA = fs.readFileSync('/etc/ssl/certs/hub-ca.pem');

app.get('/rates', async (req, res) => {
  const agent = new https.Agent({ rejectUnauthorized: false }); // case: tls-off vulnerable
  const r = await axios.get('https://fx.example.org/rates', { httpsAgent: agent });
  res.json(r.data);
});

process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // case: tls-off vulnerable

const kafka = new Kafka({ brokers: ['kafka:9093'], ssl: { rejectUnauthorized: false } }); // case: tls-off vulnerable

app.get('/partner', (req, res) => {
  const socket = tls.connect(443, 'partner.example.org', { rejectUnauthorized: false }); // case: tls-off vulnerable
  socket.pipe(res);
});

app.get('/als', (req, res) => {
  https.get('https://als.example.org/participants', { rejectUnauthorized: false, checkServerIdentity: () => undefined }, (r) => r.pipe(res)); // case: tls-off vulnerable
});

app.get('/rates2', async (req, res) => {
  const agent = new https.Agent({ ca: CA, rejectUnauthorized: true }); // case: tls-off safe
  const r = await axios.get('https://fx.example.org/rates', { httpsAgent: agent });
  res.json(r.data);
});

const kafka2 = new Kafka({ brokers: ['kafka:9093'], ssl: { ca: [CA] } }); // case: tls-off safe

app.get('/partner2', (req, res) => {
  const socket = tls.connect(443, 'partner.example.org', { ca: CA }); // case: tls-off safe
  socket.pipe(res);
});

app.get('/als2', (req, res) => {
  https.get('https://als.example.org/participants', (r) => r.pipe(res)); // case: tls-off safe
});

const strict = process.env.NODE_TLS_REJECT_UNAUTHORIZED !== '0'; // case: tls-off safe

module.exports = { kafka, kafka2, strict };
