// Test target for policy_gate/rules/semgrep/javascript-taint.yaml (semgrep --test
// annotations). Not executed: it is only parsed by semgrep. Handlers are written the
// way Mojaloop services write them (hapi: (request, h) / (context, request, h)), plus
// express and koa. `ok:` cases are the safe look-alikes that used to cause false alarms.
'use strict'

const cp = require('child_process')
const { exec, execSync, spawn, execFile } = require('child_process')
const shell = require('shelljs')
const fs = require('fs')
const fsp = require('fs/promises')
const path = require('path')
const vm = require('vm')
const axios = require('axios')
const got = require('got')
const http = require('http')
const https = require('https')
const _ = require('lodash')
const ejs = require('ejs')
const escapeHtml = require('escape-html')
const Hoek = require('@hapi/hoek')
const knex = require('knex')({ client: 'mysql' })
const { Sequelize } = require('sequelize')
const mongoose = require('mongoose')
const Logger = require('@mojaloop/central-services-logger')
const Config = require('../lib/config')

const BACKUP_DIR = '/var/backups/central-ledger'
const TRANSFER_TABLE = 'transfer'
const STATE_COLUMN = 'transferStateId'
const NPM_ARGS = ['run', 'migrate']
const ALLOWED_TOOLS = ['pg_dump', 'mysqldump']
const REPORTS = path.resolve(__dirname, 'reports')

// ---------------------------------------------------------------- OS command injection
const commandHandlers = {
  archive: async (request, h) => {
    // ruleid: js-command-injection-taint
    cp.exec(`tar czf ${BACKUP_DIR}/out.tgz ${request.payload.dir}`)
    // ruleid: js-command-injection-taint
    execSync('ping -c 1 ' + request.query.host)
    const file = request.params.file
    // ruleid: js-command-injection-taint
    shell.exec(`gzip ${file}`)
    // ruleid: js-command-injection-taint
    spawn('sh', ['-c', `cat ${file}`], { shell: true })
    // ruleid: js-command-injection-taint
    spawn(request.payload.tool, ['--version'])
    // ok: js-command-injection-taint
    spawn('npm', NPM_ARGS, { shell: true })
    // ok: js-command-injection-taint
    execFile('gzip', ['-k', file])
    // ok: js-command-injection-taint
    cp.exec(`tar czf ${BACKUP_DIR}/all.tgz ${BACKUP_DIR}/data`)
    const count = parseInt(request.query.count, 10)
    // ok: js-command-injection-taint
    execSync(`logrotate -n ${count} /etc/logrotate.conf`)
    const tool = request.payload.tool
    if (!ALLOWED_TOOLS.includes(tool)) {
      return h.response({ error: 'unknown tool' }).code(400)
    }
    // ok: js-command-injection-taint
    spawn(tool, ['--version'])
    // ruleid: js-command-injection-taint
    execFile('sh', ['-c', `tar czf /backups/out.tgz ${request.payload.target}`])
    // ruleid: js-command-injection-taint
    cp.spawnSync('/bin/bash', ['-lc', 'du -sh ' + file])
    // ok: js-command-injection-taint
    execFile('sh', ['-c', 'tar czf /backups/all.tgz /data'])
    // ok: js-command-injection-taint
    execFile('sh', ['-c', 'tar czf /backups/out.tgz "$1"', 'sh', file])
    const digits = String(request.query.unit).replace(/[^0-9]/g, '')
    // ok: js-command-injection-taint
    execSync('systemctl restart worker@' + digits)
    // ok: js-command-injection-taint
    const m = /^(\d+)$/.exec(request.query.id)
    return h.response(m).code(202)
  }
}

function cli () {
  // ruleid: js-command-injection-taint
  exec('git log ' + process.argv[2])
  // ok: js-command-injection-taint
  exec('git log --oneline -n 5')
}

// a helper whose argument's origin is not visible here: only the low-confidence pattern
// rules of javascript.yaml report these (js-child-process-exec-non-literal, js-eval-non-literal)
function helpers (dir, expr) {
  // ok: js-command-injection-taint
  exec('du -sh ' + dir)
  // ok: js-eval-injection-taint
  return eval(expr)
}

// ---------------------------------------------------------------- code injection
async function rules (request, h) {
  // ruleid: js-eval-injection-taint
  const result = eval(request.payload.rule)
  // ruleid: js-eval-injection-taint
  const fn = new Function('amount', `return ${request.query.expr}`)
  // ruleid: js-eval-injection-taint
  setTimeout('recalculate(' + request.params.id + ')', 100)
  // ok: js-eval-injection-taint
  const parsed = JSON.parse(request.payload.rule)
  // ok: js-eval-injection-taint
  const fixed = new Function('a', 'b', 'return a + b')
  // ok: js-eval-injection-taint
  setTimeout(() => recalculate(request.params.id), 100)
  // ok: js-eval-injection-taint
  eval('1 + 2')

  // ruleid: js-code-injection-taint
  vm.runInNewContext(request.payload.script, { amount: 10 })
  // ruleid: js-code-injection-taint
  const plugin = require(`./plugins/${request.params.name}`)
  // ruleid: js-code-injection-taint
  const html = ejs.render(request.payload.template, { amount: 10 })
  // ok: js-code-injection-taint
  vm.runInNewContext('amount * 2', { amount: request.payload.amount })
  // ok: js-code-injection-taint
  const page = ejs.render('<p><%= name %></p>', { name: request.query.name })
  // ok: js-code-injection-taint
  const handler = require(`./plugins/${path.basename(request.params.name)}`)
  return h.response({ result, fn, parsed, fixed, plugin, html, page, handler })
}

// ---------------------------------------------------------------- SQL injection
const transferModel = {
  // the Mojaloop false alarm: knex.raw with constants from the same file
  async byState (request) {
    // ok: js-sql-injection-taint
    return knex.raw(`SELECT * FROM ${TRANSFER_TABLE} WHERE ${STATE_COLUMN} = ?`, [request.params.state])
  },
  async byId (request) {
    // ok: js-sql-injection-taint
    return knex.raw('SELECT * FROM transfer WHERE transferId = ?', [request.params.id])
  },
  async byPayer (request) {
    // ruleid: js-sql-injection-taint
    return knex.raw(`SELECT * FROM transfer WHERE payerFsp = '${request.payload.payerFsp}'`)
  },
  async sorted (request) {
    const column = request.query.sort
    // ruleid: js-sql-injection-taint
    return knex('transfer').select('*').orderByRaw(column + ' DESC')
  },
  async sortedSafe (request) {
    // ok: js-sql-injection-taint
    return knex('transfer').select('*').orderByRaw('?? DESC', [request.query.sort])
  },
  async amountAbove (request) {
    // ok: js-sql-injection-taint
    return knex('transfer').whereRaw('amount > ' + Number(request.query.min))
  },
  async filtered (request) {
    const where = `amount > ${request.query.min}`
    // ruleid: js-sql-injection-taint
    return knex('transfer').whereRaw(where)
  }
}

async function sequelizeQueries (req, res, sequelize, db) {
  // ruleid: js-sql-injection-taint
  await sequelize.query('SELECT * FROM participant WHERE name = \'' + req.body.name + '\'')
  // ok: js-sql-injection-taint
  await sequelize.query('SELECT * FROM participant WHERE name = :name', { replacements: { name: req.body.name } })
  // ruleid: js-sql-injection-taint
  await db.query(`DELETE FROM quote WHERE quoteId = ${req.params.id}`)
  // ok: js-sql-injection-taint
  await db.query('DELETE FROM quote WHERE quoteId = ?', [req.params.id])
  // ok: js-sql-injection-taint
  await queue.query(`topic-${req.params.id}`)
  // ok: js-sql-injection-taint
  await db.query(`SELECT * FROM quote WHERE quoteId = ${db.escape(req.params.id)}`)
  const numeric = String(req.query.id).replace(/[^0-9]/g, '')
  // ok: js-sql-injection-taint
  await db.query(`SELECT * FROM quote WHERE quoteId = ${numeric}`)
  const loose = String(req.query.id).replace(/[^0-9'-]/g, '')
  // ruleid: js-sql-injection-taint
  await db.query(`SELECT * FROM quote WHERE quoteId = '${loose}'`)
}

// ---------------------------------------------------------------- NoSQL injection
const User = mongoose.model('User')

async function login (req, res) {
  // ruleid: js-nosql-operator-injection-taint
  const user = await User.findOne({ username: req.body.username, password: req.body.password })
  // ruleid: js-nosql-operator-injection-taint
  await User.find(req.query)
  const { body } = req
  // ruleid: js-nosql-operator-injection-taint
  await User.deleteMany({ owner: body.owner })
  // ok: js-nosql-operator-injection-taint
  await User.findOne({ username: String(req.body.username) })
  // ok: js-nosql-operator-injection-taint
  await User.findOne({ username: { $eq: req.body.username } })
  // ok: js-nosql-operator-injection-taint
  await User.findOne({ username: req.params.username })
  // ok: js-nosql-operator-injection-taint
  await User.find(mongoose.sanitizeFilter(req.query))
  // ok: js-nosql-operator-injection-taint
  const found = [1, 2, 3].find(x => x === req.body.n)

  // ruleid: js-nosql-where-injection-taint
  await User.find({ $where: `this.credit > ${req.query.min}` })
  // ruleid: js-nosql-where-injection-taint
  await User.find().$where('this.name === "' + req.params.name + '"')
  // ok: js-nosql-where-injection-taint
  await User.find({ $where: 'this.credit > this.debit' })
  // ok: js-nosql-where-injection-taint
  await User.find({ credit: { $gt: Number(req.query.min) } })
  // ok: js-nosql-where-injection-taint
  await User.find({ $where: `this.credit > ${parseInt(req.query.min, 10)}` })
  return res.json({ user, found })
}

// ---------------------------------------------------------------- path traversal
async function download (request, h) {
  // ruleid: js-path-traversal-taint
  const data = fs.readFileSync(path.join(REPORTS, request.params.name))
  // ruleid: js-path-traversal-taint
  await fsp.unlink(`${REPORTS}/${request.query.file}`)
  const target = path.resolve(REPORTS, request.payload.name)
  // ruleid: js-path-traversal-taint
  fs.writeFileSync(target, request.payload.content)
  // ruleid: js-path-traversal-taint
  return h.file(request.params.name, { confine: false })
}

async function downloadSafe (request, h) {
  // ok: js-path-traversal-taint
  const data = fs.readFileSync(path.join(REPORTS, path.basename(request.params.name)))
  const target = path.resolve(REPORTS, request.payload.name)
  if (!target.startsWith(REPORTS + path.sep)) {
    return h.response({ error: 'bad path' }).code(400)
  }
  // ok: js-path-traversal-taint
  fs.writeFileSync(target, request.payload.content)
  // ok: js-path-traversal-taint
  fs.readFileSync(path.join(REPORTS, 'summary.csv'))
  // ok: js-path-traversal-taint
  fs.writeFileSync(path.join(REPORTS, 'last.txt'), request.payload.content)
  // ok: js-path-traversal-taint
  return h.file(request.params.name)
}

function expressFiles (req, res) {
  // ruleid: js-path-traversal-taint
  res.sendFile(path.join(__dirname, 'public', req.params.file))
  // ok: js-path-traversal-taint
  res.sendFile(req.params.file, { root: path.join(__dirname, 'public') })
  const reportId = String(req.params.id).replace(/[^a-zA-Z0-9_]/g, '')
  // ok: js-path-traversal-taint
  res.sendFile(path.join(__dirname, 'reports', reportId + '.csv'))
  const dotted = String(req.params.id).replace(/[^\w.]/g, '')
  // ruleid: js-path-traversal-taint
  res.sendFile(path.join(__dirname, 'reports', dotted))
  // ruleid: js-path-traversal-taint
  res.download(req.query.path)
}

// ---------------------------------------------------------------- SSRF
async function callbacks (request, h) {
  // ruleid: js-ssrf-taint
  await axios.get(request.query.callbackUrl)
  // ruleid: js-ssrf-taint
  await axios({ method: 'PUT', url: request.payload.endpoint, data: {} })
  // ruleid: js-ssrf-taint
  await fetch(`https://${request.headers['x-forwarded-host']}/health`)
  // ruleid: js-ssrf-taint
  await got(request.payload.url)
  // ruleid: js-ssrf-taint
  http.get(request.query.target, res => res.resume())
  // ok: js-ssrf-taint
  await axios.get(`${Config.CENTRAL_LEDGER_URL}/participants/${request.params.name}`)
  // ok: js-ssrf-taint
  await axios.get(`https://als.example.org/parties/MSISDN/${request.params.id}`)
  const url = `${this.endpoint}/transfers/${request.params.id}`
  // ok: js-ssrf-taint
  await got(url)
  // ok: js-ssrf-taint
  await fetch(Config.QUOTING_SERVICE_URL + '/quotes/' + request.params.id)
  const callback = request.payload.callbackUrl
  if (!Config.ALLOWED_CALLBACK_HOSTS.includes(new URL(callback).hostname)) {
    return h.response().code(400)
  }
  // ok: js-ssrf-taint
  await axios.post(callback, { transferState: 'COMMITTED' })
  return h.response().code(202)
}

// ---------------------------------------------------------------- open redirect
function redirects (req, res) {
  // ruleid: js-open-redirect-taint
  res.redirect(req.query.returnTo)
  // ruleid: js-open-redirect-taint
  res.redirect(302, req.body.next)
  // ruleid: js-open-redirect-taint
  res.setHeader('Location', req.query.url)
  // ok: js-open-redirect-taint
  res.redirect(`/transfers/${req.params.id}`)
  // ok: js-open-redirect-taint
  res.redirect('/login?next=' + encodeURIComponent(req.originalUrl))
  // ok: js-open-redirect-taint
  res.redirect('/')
  const next = req.query.next
  if (!['/home', '/transfers'].includes(next)) return res.redirect('/')
  // ok: js-open-redirect-taint
  res.redirect(next)
}

const hapiRedirect = (request, h) => {
  // ruleid: js-open-redirect-taint
  return h.redirect(request.query.next)
}

const hapiRedirectSafe = (request, h) => {
  // ok: js-open-redirect-taint
  return h.redirect(`/quotes/${request.params.id}`)
}

async function koaRedirect (ctx) {
  // ruleid: js-open-redirect-taint
  ctx.redirect(ctx.query.next)
  // ruleid: js-nosql-operator-injection-taint
  await User.findOne({ email: ctx.request.body.email })
}

// ---------------------------------------------------------------- XSS
function greet (req, res) {
  // ruleid: js-xss-taint
  res.send(`<h1>Hello ${req.query.name}</h1>`)
  // ruleid: js-xss-taint
  res.status(404).send('Not found: ' + req.params.id)
  // ruleid: js-xss-taint
  res.write(req.body.comment)
  // ok: js-xss-taint
  res.send(`<h1>Hello ${escapeHtml(req.query.name)}</h1>`)
  // ok: js-xss-taint
  res.json({ name: req.query.name })
  // ok: js-xss-taint
  res.send(req.body)
  // ok: js-xss-taint
  res.type('json').send(req.query.name)
  // ok: js-xss-taint
  res.send('<h1>Hello</h1>')
}

const hapiGreet = (request, h) => {
  // ruleid: js-xss-taint
  return h.response(`<p>${request.query.name}</p>`)
}

const hapiGreetSafe = (request, h) => {
  // ok: js-xss-taint
  return h.response(`<p>${Hoek.escapeHtml(request.query.name)}</p>`)
}

async function koaGreet (ctx) {
  // ruleid: js-xss-taint
  ctx.body = `<p>${ctx.query.name}</p>`
}

async function koaFlash (ctx) {
  // ok: js-xss-taint
  ctx.body = { flash: ctx.query.msg }
}

async function koaList (ctx) {
  // ok: js-xss-taint
  ctx.body = [ctx.query.a, ctx.query.b]
}

const hapiSearch = (request, h) => {
  const { q } = request.query
  // ok: js-xss-taint
  return h.response({ results: [], q })
}

// ---------------------------------------------------------------- prototype pollution
function updateSettings (req, res, settings) {
  // ruleid: js-prototype-pollution-taint
  settings[req.body.section][req.body.key] = req.body.value
  for (const section of Object.keys(req.body)) {
    for (const key in req.body[section]) {
      // ruleid: js-prototype-pollution-taint
      settings[section][key] = req.body[section][key]
    }
  }
  const { group } = req.params
  // ruleid: js-prototype-pollution-taint
  Object.assign(settings[group], req.body)
  // ok: js-prototype-pollution-taint
  settings.limits[req.body.key] = req.body.value
  // ok: js-prototype-pollution-taint
  settings.limits.daily = req.body.value
  const name = req.body.section
  if (name === '__proto__' || name === 'constructor' || name === 'prototype') {
    return res.status(400).end()
  }
  // ok: js-prototype-pollution-taint
  settings[name][req.body.key] = req.body.value
  const id = req.body.id
  if (!Object.hasOwn(settings, id)) return res.status(404).end()
  // ok: js-prototype-pollution-taint
  settings[id][req.body.key] = req.body.value
  // ok: js-prototype-pollution-taint
  settings[Number(req.query.index)][req.body.key] = 1
  return res.json(settings)
}

// ---------------------------------------------------------------- ReDoS
function search (req, res, rows) {
  // ruleid: js-regex-injection-taint
  const re = new RegExp(req.query.q, 'i')
  // ruleid: js-regex-injection-taint
  const hits = rows.filter(r => r.name.match(req.query.name))
  // ruleid: js-regex-injection-taint
  const prefix = RegExp('^' + req.params.prefix)
  // ok: js-regex-injection-taint
  const safe = new RegExp(_.escapeRegExp(req.query.q), 'i')
  // ok: js-regex-injection-taint
  const fixed = new RegExp('^[0-9a-f-]{36}$')
  const term = req.query.term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  // ok: js-regex-injection-taint
  const escaped = new RegExp(term)
  // ok: js-regex-injection-taint
  const plain = rows.filter(r => r.name.includes(req.query.name))
  return res.json({ re, hits, prefix, safe, fixed, escaped, plain })
}

// ---------------------------------------------------------------- header injection
function headers (req, res) {
  // ruleid: js-header-injection-taint
  res.setHeader('Content-Type', req.query.type)
  // ruleid: js-header-injection-taint
  res.set('X-Request-Id', req.headers['x-request-id'])
  // ruleid: js-header-injection-taint
  res.writeHead(200, { 'Content-Disposition': 'attachment; filename=' + req.params.file })
  // ok: js-header-injection-taint
  res.setHeader('Content-Type', 'application/json')
  // ok: js-header-injection-taint
  res.setHeader('Content-Disposition', 'attachment; filename=' + encodeURIComponent(req.params.file))
  // ok: js-header-injection-taint
  res.set('X-Count', Number(req.query.count))
  // ok: js-header-injection-taint
  res.setHeader('Location', '/transfers')
}

const hapiHeaders = (request, h) => {
  // ruleid: js-header-injection-taint
  return h.response({}).header('X-Trace', request.headers.traceparent)
}

const hapiHeadersSafe = (request, h) => {
  // ok: js-header-injection-taint
  return h.response({}).header('X-Trace', 'static')
}

// ---------------------------------------------------------------- log injection
const prepare = async (context, request, h) => {
  // ruleid: js-log-injection-taint
  Logger.info(`prepare::transferId=${request.params.id}`)
  // ruleid: js-log-injection-taint
  Logger.isDebugEnabled && Logger.debug('payer ' + request.payload.payerFsp)
  // ruleid: js-log-injection-taint
  console.log(request.headers['fspiop-source'])
  // ok: js-log-injection-taint
  Logger.info(`prepare::payload=${JSON.stringify(request.payload)}`)
  // ok: js-log-injection-taint
  Logger.info('prepare::start')
  // ok: js-log-injection-taint
  Logger.info(`prepare::amount=${Number(request.payload.amount.amount)}`)
  // ok: js-log-injection-taint
  console.log(request.query.note.replace(/[\r\n]/g, ' '))
  // ok: js-log-injection-taint
  Logger.debug(request.payload)
  const { payer } = request.payload
  // ruleid: js-log-injection-taint
  request.log(['quote'], 'quote failed for ' + payer)
  // ok: js-log-injection-taint
  request.log(['quote'], 'quote failed')
  // ok: js-log-injection-taint
  request.server.log(['quote'], `quote failed after ${Number(request.payload.attempts)} attempts`)
  return h.response().code(202)
}

async function consume (error, messages) {
  const message = Array.isArray(messages) ? messages[0] : messages
  const payload = message.value.content.payload
  // ruleid: js-log-injection-taint
  Logger.error(`fulfil failed for ${payload.transferId}`)
  // ok: js-log-injection-taint
  Logger.error(`fulfil failed for ${JSON.stringify(payload.transferId)}`)
}

// ---------------------------------------------------------------- XPath
const xpath = require('xpath')
const libxmljs = require('libxmljs')

function lookupParty (req, res, doc) {
  // ruleid: js-xpath-injection-taint
  const node = xpath.select(`//party[@msisdn='${req.params.msisdn}']`, doc)
  const xml = libxmljs.parseXml(fs.readFileSync('parties.xml', 'utf8'))
  // ruleid: js-xpath-injection-taint
  const hit = xml.get("//party[name='" + req.query.name + "']")
  // ok: js-xpath-injection-taint
  const all = xpath.select('//party', doc)
  // ok: js-xpath-injection-taint
  const byId = xpath.select(`//party[@id=${parseInt(req.params.id, 10)}]`, doc)
  // ok: js-xpath-injection-taint
  const first = xml.get('//party[1]')
  const msisdn = String(req.query.msisdn).replace(/[^0-9]/g, '')
  // ok: js-xpath-injection-taint
  const byMsisdn = xpath.select(`//party[@msisdn='${msisdn}']`, doc)
  const firstOnly = String(req.query.msisdn).replace(/[^0-9]/, '')
  // ruleid: js-xpath-injection-taint
  const stillTainted = xpath.select(`//party[@msisdn='${firstOnly}']`, doc)
  const sku = /^[A-Z0-9-]{1,20}$/.test(req.query.sku) ? req.query.sku : 'NONE'
  // ok: js-xpath-injection-taint
  const bySku = xpath.select(`//item[@sku="${sku}"]`, doc)
  const kind = KINDS.includes(req.query.kind) ? req.query.kind : 'party'
  // ok: js-xpath-injection-taint
  const byKind = xpath.select(`//${kind}`, doc)
  const loose = /^[A-Z0-9-]{1,20}$/.test(req.query.sku) ? req.query.sku : req.query.fallback
  // ruleid: js-xpath-injection-taint
  const byLoose = xpath.select(`//item[@sku="${loose}"]`, doc)
  return res.json({ node, hit, all, byId, first, byMsisdn, stillTainted, bySku, byKind, byLoose })
}

// ---------------------------------------------------------------- LDAP
const ldap = require('ldapjs')
const ldapEscape = require('ldap-escape')
const ldapClient = ldap.createClient({ url: Config.LDAP_URL })

function ldapLogin (req, res) {
  // ruleid: js-ldap-injection-taint
  ldapClient.search('ou=users,dc=hub', { filter: `(uid=${req.body.username})`, scope: 'sub' }, cb)
  // ruleid: js-ldap-injection-taint
  ldapClient.bind('uid=' + req.body.username + ',ou=users,dc=hub', req.body.password, cb)
  // ok: js-ldap-injection-taint
  ldapClient.search('ou=users,dc=hub', { filter: `(uid=${ldapEscape.filter(req.body.username)})` }, cb)
  // ok: js-ldap-injection-taint
  ldapClient.search('ou=users,dc=hub', { filter: '(objectClass=person)' }, cb)
  // ok: js-ldap-injection-taint
  ldapClient.search('ou=users,dc=hub', { filter: new ldap.EqualityFilter({ attribute: 'uid', value: req.body.username }) }, cb)
  const opts = { filter: '(&(objectClass=person)(cn=' + req.body.username + '))', scope: 'sub' }
  // ruleid: js-ldap-injection-taint
  ldapClient.search('ou=users,dc=hub', opts, cb)
  const search = { scope: 'sub', filter: `(telephoneNumber=${req.query.number})` }
  // ruleid: js-ldap-injection-taint
  ldapClient.search('ou=users,dc=hub', search, cb)
  const phone = String(req.query.number).replace(/[^0-9]/g, '')
  // ok: js-ldap-injection-taint
  ldapClient.search('ou=users,dc=hub', { filter: '(telephoneNumber=' + phone + ')' }, cb)
  const fixedOpts = { filter: '(objectClass=person)', scope: 'sub' }
  // ok: js-ldap-injection-taint
  ldapClient.search('ou=users,dc=hub', fixedOpts, cb)
}

// ---------------------------------------------------------------- trust boundary
function remember (req, res) {
  // ruleid: js-session-trust-boundary-taint
  req.session.role = req.body.role
  // ruleid: js-session-trust-boundary-taint
  req.session['participant'] = req.query.fsp
  // ok: js-session-trust-boundary-taint
  req.session.lastSeen = Date.now()
  // ok: js-session-trust-boundary-taint
  req.session.userId = res.locals.user.id
  const lang = req.query.lang
  if (!['en', 'fr', 'es'].includes(lang)) return res.status(400).end()
  // ok: js-session-trust-boundary-taint
  req.session.lang = lang
}

const hapiRemember = (request, h) => {
  // ruleid: js-session-trust-boundary-taint
  request.yar.set('fsp', request.payload.fsp)
  // ruleid: js-session-trust-boundary-taint
  request.cookieAuth.set({ sid: request.payload.sid })
  // ok: js-session-trust-boundary-taint
  request.yar.set('visits', 1)
  return h.response().code(204)
}

// ================================================================ configuration rules

// ---------------------------------------------------------------- template auto-escaping
const nunjucks = require('nunjucks')
const Handlebars = require('handlebars')
const Mustache = require('mustache')

// ruleid: js-template-autoescape-disabled
nunjucks.configure('views', { autoescape: false })
// ruleid: js-template-autoescape-disabled
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader('views'), { autoescape: false, throwOnUndefined: true })
// ruleid: js-template-autoescape-disabled
const receipt = Handlebars.compile('<p>{{payer}}</p>', { noEscape: true })
// ruleid: js-template-autoescape-disabled
Mustache.escape = (text) => text
// ok: js-template-autoescape-disabled
nunjucks.configure('views', { autoescape: true })
// ok: js-template-autoescape-disabled
const receiptSafe = Handlebars.compile('<p>{{payer}}</p>', { strict: true })
// ok: js-template-autoescape-disabled
const viewsOptions = { engines: { html: Handlebars }, compileOptions: { noEscape: false } }
// ok: js-template-autoescape-disabled
Mustache.escape = (text) => escapeHtml(text)

// ---------------------------------------------------------------- recursive merge
function merge (target, source) {
  // ruleid: js-prototype-pollution-merge
  for (const key in source) {
    if (typeof source[key] === 'object' && source[key] !== null) {
      if (!target[key]) target[key] = {}
      merge(target[key], source[key])
    } else {
      target[key] = source[key]
    }
  }
  return target
}

const deepCopy = (dst, src) => {
  // ruleid: js-prototype-pollution-merge
  for (const k of Object.keys(src)) {
    if (isObject(src[k])) {
      dst[k] = deepCopy(dst[k] || {}, src[k])
    } else {
      dst[k] = src[k]
    }
  }
  return dst
}

function mergeSafe (target, source) {
  // ok: js-prototype-pollution-merge
  for (const key in source) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue
    if (typeof source[key] === 'object') {
      mergeSafe(target[key], source[key])
    } else {
      target[key] = source[key]
    }
  }
}

function mergeOwn (target, source) {
  // ok: js-prototype-pollution-merge
  for (const key in source) {
    if (!Object.prototype.hasOwnProperty.call(source, key)) continue
    if (typeof source[key] === 'object') {
      mergeOwn(target[key], source[key])
    } else {
      target[key] = source[key]
    }
  }
}

function shallowCopy (target, source) {
  // ok: js-prototype-pollution-merge
  for (const key in source) {
    target[key] = source[key]
  }
}

// ---------------------------------------------------------------- XXE
function parseStatement (xml) {
  // ruleid: js-xxe-entity-expansion
  const doc = libxmljs.parseXml(xml, { noent: true })
  // ruleid: js-xxe-entity-expansion
  const doc2 = libxmljs.parseXmlString(xml, { noblanks: true, dtdload: true })
  // ok: js-xxe-entity-expansion
  const doc3 = libxmljs.parseXml(xml)
  // ok: js-xxe-entity-expansion
  const doc4 = libxmljs.parseXml(xml, { noent: false, nonet: true })
  // ok: js-xxe-entity-expansion
  const doc5 = libxmljs.parseXml(xml, { noblanks: true })
  return [doc, doc2, doc3, doc4, doc5]
}

// the request's document parsed with entity substitution: a violation (js-xxe-taint)
const importStatement = (request, h) => {
  // ruleid: js-xxe-entity-expansion, js-xxe-taint
  const doc = libxmljs.parseXml(request.payload.toString(), { noent: true })
  const opts = { noent: true, dtdload: true }
  // ruleid: js-xxe-entity-expansion, js-xxe-taint
  const doc2 = libxmljs.parseXmlString(request.payload.xml, opts)
  const { xml } = request.payload
  // ruleid: js-xxe-taint, js-xxe-entity-expansion
  const doc3 = libxmljs.parseXml(xml, { replaceEntities: true })
  // ruleid: js-xxe-entity-expansion, js-xxe-taint
  const doc4 = libxmljs.parseXmlString(request.payload.xml, { 'noent': 1 })
  // ok: js-xxe-taint
  const doc5 = libxmljs.parseXml(request.payload.toString())
  // ok: js-xxe-taint
  const doc6 = libxmljs.parseXml(xml, { noent: false, nonet: true })
  // ruleid: js-xxe-entity-expansion
  const schema = libxmljs.parseXml(fs.readFileSync('/srv/schemas/pacs.008.xsd', 'utf8'), { noent: true })
  const safeOpts = { nonet: true }
  // ok: js-xxe-taint, js-xxe-entity-expansion
  const doc7 = libxmljs.parseXmlString(request.payload.xml, safeOpts)
  // ruleid: js-xxe-entity-expansion
  const doc8 = libxmljs.parseXml(`<a>${Number(request.query.n)}</a>`, { noent: true })
  return h.response({ ok: [doc, doc2, doc3, doc4, doc5, doc6, schema, doc7, doc8].length })
}

// ---------------------------------------------------------------- cookies and sessions
const express = require('express')
const session = require('express-session')
const cookieSession = require('cookie-session')
const cookieParser = require('cookie-parser')
const helmet = require('helmet')
const cors = require('cors')
const csurf = require('csurf')

const app = express()
app.use(helmet())
app.use(session({
  // ruleid: js-session-hardcoded-secret
  secret: 'keyboard cat',
  // ruleid: js-cookie-secure-disabled
  cookie: { secure: false, httpOnly: true, sameSite: 'lax' }
}))
app.use(csurf())
app.use(cookieSession({
  name: 'session',
  // ruleid: js-session-hardcoded-secret
  keys: ['k3y-one', process.env.COOKIE_KEY],
  // ruleid: js-cookie-httponly-disabled
  httpOnly: false,
  // ruleid: js-cookie-samesite-disabled
  sameSite: 'none',
  secure: true
}))
// ruleid: js-session-hardcoded-secret
app.use(cookieParser('s3cr3t'))
// ok: js-session-hardcoded-secret
app.use(cookieParser(process.env.COOKIE_SECRET))
// ok: js-session-hardcoded-secret, js-cookie-secure-disabled, js-cookie-httponly-disabled, js-cookie-flags-missing
app.use(session({ secret: process.env.SESSION_SECRET, cookie: { secure: true, httpOnly: true, sameSite: 'strict' } }))
// ruleid: js-cookie-flags-missing
app.use(session({ secret: process.env.SESSION_SECRET, resave: false }))
// ruleid: js-cookie-flags-missing
app.use(session({ secret: process.env.SESSION_SECRET, cookie: { maxAge: 3600000 } }))

function setCookies (req, res, token, cookieOptions) {
  // ruleid: js-cookie-secure-disabled
  res.cookie('token', token, { secure: false, httpOnly: true })
  // ruleid: js-cookie-httponly-disabled
  res.cookie('session', token, { httpOnly: false, secure: true })
  // ruleid: js-cookie-session-defaults
  res.cookie('auth_token', token)
  // ruleid: js-cookie-session-defaults
  res.cookie('sid', token)
  // ruleid: js-cookie-session-defaults, js-cookie-flags-missing
  res.cookie('sessionId', token, { maxAge: 3600000 })
  // ruleid: js-cookie-flags-missing
  res.cookie('remember_me', token)
  // ruleid: js-cookie-flags-missing
  res.cookie('sid', token, { secure: true })
  // ruleid: js-cookie-flags-missing
  res.cookie('sid', token, cookieOptions)
  // ok: js-cookie-session-defaults
  res.cookie('sid', token, { httpOnly: true, secure: true, sameSite: 'lax' })
  // ok: js-cookie-session-defaults
  res.cookie('locale', req.query.lang)
  // ok: js-cookie-session-defaults
  res.clearCookie('sid')
  // ok: js-cookie-session-defaults
  res.cookie('sidebar', 'collapsed')
  // ruleid: js-cookie-flags-missing
  res.cookie('XSRF-TOKEN', req.csrfToken())
  // ruleid: js-cookie-session-defaults
  res.cookie('connect.sid', token)
  // ok: js-cookie-flags-missing
  res.cookie('auth_token', token, { secure: true, httpOnly: true, sameSite: 'strict' })
  // ok: js-cookie-flags-missing
  res.cookie('theme', 'dark')
  // ok: js-cookie-secure-disabled
  res.cookie('token', token, { secure: true, httpOnly: true })
  // ok: js-cookie-samesite-disabled
  res.cookie('token', token, { secure: true, httpOnly: true, sameSite: 'strict' })
  // ok: js-cookie-httponly-disabled
  res.cookie('token', token, { secure: true, httpOnly: true, sameSite: 'lax' })
}

// nodemailer's secure: false means STARTTLS, not a cookie
// ok: js-cookie-secure-disabled
const transport = { host: 'smtp.example.org', port: 587, secure: false }

async function hapiState (server) {
  server.state('session', {
    ttl: null,
    // ruleid: js-cookie-secure-disabled
    isSecure: false,
    // ruleid: js-cookie-httponly-disabled
    isHttpOnly: false,
    // ruleid: js-cookie-samesite-disabled
    isSameSite: false,
    // ruleid: js-session-hardcoded-secret
    password: 'a-password-that-is-at-least-32-characters-long',
    encoding: 'iron'
  })
  // ok: js-cookie-secure-disabled, js-cookie-httponly-disabled, js-cookie-samesite-disabled, js-session-hardcoded-secret
  server.state('prefs', { isSecure: true, isHttpOnly: true, isSameSite: 'Strict', password: process.env.COOKIE_PASSWORD })
  await server.register(require('@hapi/cookie'))
  server.auth.strategy('session', 'cookie', {
    // ok: js-session-hardcoded-secret
    cookie: { name: 'sid', password: Config.COOKIE_PASSWORD, isSecure: true }
  })
  server.auth.strategy('legacy', 'cookie', {
    // ruleid: js-session-hardcoded-secret
    cookie: { name: 'sid', password: 'legacy-password-legacy-password-legacy-1234' }
  })
}

// ---------------------------------------------------------------- CORS
// ruleid: js-cors-permissive
app.use(cors({ origin: true, credentials: true }))
// ruleid: js-cors-permissive
app.use(cors({ credentials: true, origin: '*' }))
// ruleid: js-cors-permissive
const corsOptions = { origin: (origin, callback) => callback(null, true), credentials: true }
// ok: js-cors-permissive
app.use(cors({ origin: ['https://portal.example.org'], credentials: true }))
// ok: js-cors-permissive
app.use(cors({ origin: '*' }))
// ok: js-cors-permissive
app.use(cors())

const hapiRoute = {
  method: 'GET',
  path: '/participants',
  // ruleid: js-cors-permissive
  options: { cors: { origin: ['*'], credentials: true } }
}

const hapiRouteSafe = {
  method: 'GET',
  path: '/participants',
  // ok: js-cors-permissive
  options: { cors: { origin: ['https://portal.example.org'], credentials: true } }
}

function reflectOrigin (req, res) {
  // ruleid: js-cors-permissive
  res.setHeader('Access-Control-Allow-Origin', req.headers.origin)
  res.setHeader('Access-Control-Allow-Credentials', 'true')
  // ok: js-cors-permissive
  res.setHeader('Access-Control-Allow-Origin', 'https://portal.example.org')
}

// ---------------------------------------------------------------- security headers, CSRF
function makeApps () {
  // ruleid: js-express-missing-helmet
  const bare = express()
  bare.use(express.json())
  // ruleid: js-express-missing-csrf
  bare.use(session({ secret: process.env.SESSION_SECRET, cookie: { secure: true } }))
  bare.post('/transfers', handler)

  // ok: js-express-missing-helmet
  const hardened = express()
  hardened.use(helmet({ contentSecurityPolicy: false }))
  // ok: js-express-missing-csrf
  hardened.use(session({ secret: process.env.SESSION_SECRET, cookie: { secure: true } }))
  hardened.use(csurf())

  // ok: js-express-missing-helmet
  const api = express()
  api.use(helmet.hsts({ maxAge: 31536000 }))
  api.use(express.json())
  return [bare, hardened, api]
}
