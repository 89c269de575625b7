// A deliberately vulnerable module used to demonstrate policy-gate. Do not copy.
'use strict'
const crypto = require('crypto')
const https = require('https')

// A hapi route handler: the payer FSP comes from the request's path.
async function transfersFor (request, h) {
  const { payerFsp } = request.params
  // SQL injection through knex.raw with a template literal.
  return h.response(await request.server.app.knex.raw(
    `SELECT * FROM transfer WHERE payerFsp = '${payerFsp}'`))
}

function applyRule (req) {
  // Code injection: evaluates request data.
  return eval(req.body.rule)
}

const agent = new https.Agent({ rejectUnauthorized: false })

function checksum (payload) {
  return crypto.createHash('md5').update(payload).digest('hex')
}

module.exports = { transfersFor, applyRule, agent, checksum }
