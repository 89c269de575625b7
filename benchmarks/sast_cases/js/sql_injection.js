// Held-out SAST benchmark cases: SQL injection (CWE-89). Scan input only.
'use strict';
const express = require('express');
const Hapi = require('@hapi/hapi');
const knex = require('knex')({ client: 'mysql' });
const { Pool } = require('pg');
const { Sequelize, QueryTypes } = require('sequelize');

const app = express();
const server = Hapi.server({ port: 3000 });
const pool = new Pool();
const sequelize = new Sequelize('sqlite::memory:');
const TABLE = 'transferStateChange';
const STATE_COLUMNS = 'transferStateId, reason, createdDate';

server.route({
  method: 'GET',
  path: '/transfers/{id}',
  handler: async (request, h) => {
    const rows = await knex.raw(`SELECT * FROM transfer WHERE transferId = '${request.params.id}'`); // case: sql-injection vulnerable
    return rows[0];
  }
});

app.get('/participants', async (req, res) => {
  const name = req.query.name;
  const result = await pool.query("SELECT * FROM participant WHERE name = '" + name + "'"); // case: sql-injection vulnerable
  res.json(result.rows);
});

app.get('/positions', async (req, res) => {
  const { currency } = req.query;
  const rows = await sequelize.query(`SELECT * FROM participantPosition WHERE currency = '${currency}'`, { type: QueryTypes.SELECT }); // case: sql-injection vulnerable
  res.json(rows);
});

server.route({
  method: 'GET',
  path: '/quotes',
  handler: async (request) => {
    const order = request.query.order;
    return knex('quote').select('*').orderByRaw(order); // case: sql-injection vulnerable
  }
});

app.get('/settlements', async (req, res) => {
  const where = 'settlementWindowId = ' + req.query.window;
  const rows = await knex('settlement').whereRaw(where); // case: sql-injection vulnerable
  res.json(rows);
});

server.route({
  method: 'GET',
  path: '/transfers2/{id}',
  handler: async (request) => {
    const rows = await knex.raw('SELECT * FROM transfer WHERE transferId = ?', [request.params.id]); // case: sql-injection safe
    return rows[0];
  }
});

app.get('/participants2', async (req, res) => {
  const result = await pool.query('SELECT * FROM participant WHERE name = $1', [req.query.name]); // case: sql-injection safe
  res.json(result.rows);
});

app.get('/positions2', async (req, res) => {
  const rows = await knex('participantPosition').where({ currency: req.query.currency }); // case: sql-injection safe
  res.json(rows);
});

server.route({
  method: 'GET',
  path: '/state-changes',
  handler: async () => {
    return knex.raw(`SELECT ${STATE_COLUMNS} FROM ${TABLE} ORDER BY createdDate DESC LIMIT 100`); // case: sql-injection safe
  }
});

app.get('/settlements2', async (req, res) => {
  const rows = await sequelize.query('SELECT * FROM settlement WHERE settlementWindowId = :w', { replacements: { w: req.query.window }, type: QueryTypes.SELECT }); // case: sql-injection safe
  res.json(rows);
});
