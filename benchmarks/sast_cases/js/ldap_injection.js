// Held-out SAST benchmark cases: LDAP injection (CWE-90). Scan input only.
'use strict';
const express = require('express');
const Hapi = require('@hapi/hapi');
const ldap = require('ldapjs');
const { filter: ldapEscapeFilter } = require('ldap-escape');

const app = express();
const server = Hapi.server({ port: 3000 });
const client = ldap.createClient({ url: 'ldaps://ldap.example.org' });
const BASE_DN = 'ou=people,dc=example,dc=org';

app.get('/user', (req, res) => {
  client.search(BASE_DN, { filter: `(uid=${req.query.uid})`, scope: 'sub' }, (err, r) => res.end()); // case: ldap-injection vulnerable
});

app.post('/login', (req, res) => {
  const { username } = req.body;
  const opts = { filter: '(&(objectClass=person)(cn=' + username + '))', scope: 'sub' };
  client.search(BASE_DN, opts, (err, r) => res.end()); // case: ldap-injection vulnerable
});

server.route({
  method: 'GET',
  path: '/groups/{group}',
  handler: (request) => {
    const filter = `(memberOf=cn=${request.params.group},ou=groups,dc=example,dc=org)`;
    client.search(BASE_DN, { filter }, () => {}); // case: ldap-injection vulnerable
    return { ok: true };
  }
});

app.get('/mail', (req, res) => {
  const f = ldap.parseFilter('(mail=' + req.query.mail + ')'); // case: ldap-injection vulnerable
  client.search(BASE_DN, { filter: f }, () => res.end());
});

app.get('/phone', async (req, res) => {
  const search = { scope: 'sub', filter: '(telephoneNumber=' + req.query.number + ')' };
  client.search(BASE_DN, search, () => res.end()); // case: ldap-injection vulnerable
});

app.get('/user2', (req, res) => {
  client.search(BASE_DN, { filter: ldapEscapeFilter`(uid=${req.query.uid})`, scope: 'sub' }, (err, r) => res.end()); // case: ldap-injection safe
});

app.post('/login2', (req, res) => {
  const filter = new ldap.EqualityFilter({ attribute: 'cn', value: req.body.username });
  client.search(BASE_DN, { filter, scope: 'sub' }, (err, r) => res.end()); // case: ldap-injection safe
});

server.route({
  method: 'GET',
  path: '/people',
  handler: () => {
    client.search(BASE_DN, { filter: '(objectClass=person)' }, () => {}); // case: ldap-injection safe
    return { ok: true };
  }
});

app.get('/mail2', (req, res) => {
  const f = ldapEscapeFilter`(mail=${String(req.query.mail)})`;
  client.search(BASE_DN, { filter: f }, () => res.end()); // case: ldap-injection safe
});

app.get('/phone2', (req, res) => {
  const digits = String(req.query.number).replace(/[^0-9]/g, '');
  client.search(BASE_DN, { scope: 'sub', filter: '(telephoneNumber=' + digits + ')' }, () => res.end()); // case: ldap-injection safe
});
