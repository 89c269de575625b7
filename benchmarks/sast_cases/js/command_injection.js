// Held-out SAST benchmark cases: OS command injection (CWE-78). Scan input only.
'use strict';
const { exec, execSync, execFile, spawn } = require('child_process');
const express = require('express');
const Hapi = require('@hapi/hapi');
const shellQuote = require('shell-quote');

const app = express();
const server = Hapi.server({ port: 3000 });
const BACKUP_CMD = 'pg_dump central_ledger > /backups/ledger.sql';

app.get('/ping', (req, res) => {
  exec(`ping -c 1 ${req.query.host}`, (err, out) => res.send(out)); // case: command-injection vulnerable
});

app.post('/convert', (req, res) => {
  const { name } = req.body;
  const out = execSync('convert /uploads/' + name + ' /thumbs/' + name + '.png'); // case: command-injection vulnerable
  res.send(out);
});

server.route({
  method: 'GET',
  path: '/lookup/{domain}',
  handler: (request, h) => {
    const cmd = 'nslookup ' + request.params.domain;
    return execSync(cmd).toString(); // case: command-injection vulnerable
  }
});

app.get('/log', (req, res) => {
  const child = spawn('git log --oneline ' + req.query.branch, { shell: true }); // case: command-injection vulnerable
  child.stdout.pipe(res);
});

app.post('/archive', async (req, res) => {
  const target = req.body.target;
  execFile('sh', ['-c', `tar czf /backups/out.tgz ${target}`], () => res.end()); // case: command-injection vulnerable
});

app.get('/ping2', (req, res) => {
  execFile('ping', ['-c', '1', '--', String(req.query.host)], (err, out) => res.send(out)); // case: command-injection safe
});

app.post('/backup', (req, res) => {
  exec(BACKUP_CMD, () => res.end()); // case: command-injection safe
});

server.route({
  method: 'GET',
  path: '/lookup2/{domain}',
  handler: (request, h) => {
    const out = spawn('nslookup', [request.params.domain]); // case: command-injection safe
    return h.response(out.stdout);
  }
});

app.get('/version', (req, res) => {
  res.send(execSync('git rev-parse --short HEAD').toString()); // case: command-injection safe
});

app.post('/restart', (req, res) => {
  const units = { web: 'web.service', worker: 'worker.service' };
  const unit = units[req.body.service] || 'web.service';
  execSync('systemctl restart ' + shellQuote.quote([unit])); // case: command-injection safe
  res.end();
});
