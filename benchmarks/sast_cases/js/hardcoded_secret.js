// Held-out SAST benchmark cases: hard-coded credentials (CWE-798). Scan input only.
// The <<secret:KIND>> markers are replaced by sast_bench.py with values generated at run
// time (in its temporary copy), so that no credential-looking value is ever committed.
'use strict';
const express = require('express');
const session = require('express-session');
const jwt = require('jsonwebtoken');
const AWS = require('aws-sdk');
const knex = require('knex');
const config = require('./config');

const app = express();

app.use(session({ secret: '<<secret:hex>>', resave: false, saveUninitialized: false })); // case: hardcoded-secret vulnerable

app.post('/token', (req, res) => {
  res.json({ jwt: jwt.sign({ sub: req.body.user }, '<<secret:hex>>') }); // case: hardcoded-secret vulnerable
});

const s3 = new AWS.S3({ accessKeyId: '<<secret:aws-id>>', secretAccessKey: '<<secret:aws-secret>>' }); // case: hardcoded-secret vulnerable

const db = knex({ client: 'mysql', connection: { host: 'mysql', user: 'central_ledger', password: '<<secret:password>>' } }); // case: hardcoded-secret vulnerable

const GITHUB_TOKEN = '<<secret:github>>'; // case: hardcoded-secret vulnerable

app.use(session({ secret: process.env.SESSION_SECRET, resave: false, saveUninitialized: false })); // case: hardcoded-secret safe

app.post('/token2', (req, res) => {
  res.json({ jwt: jwt.sign({ sub: req.body.user }, config.get('JWT_SECRET')) }); // case: hardcoded-secret safe
});

const s3b = new AWS.S3({ accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY }); // case: hardcoded-secret safe

const db2 = knex({ client: 'mysql', connection: { host: 'mysql', user: 'central_ledger', password: config.get('DATABASE.PASSWORD') } }); // case: hardcoded-secret safe

const PASSWORD_FIELD = 'password'; // case: hardcoded-secret safe

module.exports = { s3, s3b, db, db2, GITHUB_TOKEN, PASSWORD_FIELD };
