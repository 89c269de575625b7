// Test target for policy_gate/rules/semgrep/javascript.yaml (semgrep --test annotations).
// Not executed: it is only parsed by semgrep.
'use strict'

const cp = require('child_process')
const { exec, spawn, execSync } = require('child_process')
const crypto = require('crypto')
const https = require('https')
const tls = require('tls')
const vm = require('vm')
const yaml = require('js-yaml')
const serialize = require('node-serialize')
const jwt = require('jsonwebtoken')
const knex = require('knex')({ client: 'mysql' })
const shell = require('shelljs')
const axios = require('axios')
const got = require('got')
const forge = require('node-forge')
const CryptoJS = require('crypto-js')
const cryo = require('cryo')
const jws = require('jws')
const { generateKeyPairSync } = require('crypto')
const Logger = require('@mojaloop/central-services-logger')

// ---------------------------------------------------------------- OS commands
function commands (userInput, host, file) {
  // ruleid: js-child-process-exec-non-literal
  cp.exec('ls ' + userInput)
  // ruleid: js-child-process-exec-non-literal
  exec(`ping -c 1 ${host}`, (err, out) => out)
  // ruleid: js-child-process-exec-non-literal
  execSync(userInput)
  // ruleid: js-child-process-exec-non-literal
  require('node:child_process').execSync('cat ' + file)
  // ruleid: js-child-process-exec-non-literal
  shell.exec(`rm -rf ${file}`)
  // ok: js-child-process-exec-non-literal
  cp.exec('ls -la /tmp')
  // ok: js-child-process-exec-non-literal
  execSync(`git rev-parse HEAD`)
  // ok: js-child-process-exec-non-literal
  cp.execFile('ping', ['-c', '1', host])
  // ok: js-child-process-exec-non-literal
  const m = /^(\d+)$/.exec(userInput)

  // ruleid: js-child-process-shell-true
  spawn(`convert ${file} out.png`, { shell: true })
  // ruleid: js-child-process-shell-true
  cp.spawn('grep', [userInput, '/var/log/app.log'], { shell: true })
  // ruleid: js-child-process-shell-true
  cp.execFileSync(file, [], { shell: '/bin/sh' })
  // ok: js-child-process-shell-true
  spawn('grep', [userInput, '/var/log/app.log'], { shell: false })
  // ok: js-child-process-shell-true
  spawn('grep', [userInput, '/var/log/app.log'])
  // ok: js-child-process-shell-true
  cp.spawn('npm', ['run', 'build'], { shell: true })
  return m
}

// ---------------------------------------------------------------- SQL
async function sql (db, sequelize, id, name, table) {
  // ruleid: js-sql-injection-query
  await db.query(`SELECT * FROM participant WHERE name = '${name}'`)
  // ruleid: js-sql-injection-query
  await db.query('SELECT * FROM participant WHERE participantId = ' + id)
  // ruleid: js-sql-injection-query
  await sequelize.query('DELETE FROM ' + table + ' WHERE id = ?', { replacements: [id] })
  const statement = `UPDATE quote SET amount = ${name} WHERE quoteId = ?`
  // ruleid: js-sql-injection-query
  await db.execute(statement, [id])
  // ok: js-sql-injection-query
  await db.query('SELECT * FROM participant WHERE participantId = ?', [id])
  // ok: js-sql-injection-query
  await db.query(`SELECT * FROM participant WHERE participantId = $1`, [id])
  // ok: js-sql-injection-query
  await db.query(sqlTag`SELECT * FROM participant WHERE name = ${name}`)
  // ok: js-sql-injection-query
  await db.query('SELECT * FROM participant ' + 'WHERE isActive = 1')
  // ok: js-sql-injection-query
  await queue.query(`topic-${name}`)
}

async function knexQueries (trx, transferId, amount, column) {
  // ruleid: js-knex-raw-injection
  await knex.raw(`SELECT * FROM transfer WHERE transferId = '${transferId}'`)
  // ruleid: js-knex-raw-injection
  await knex('transfer').whereRaw('amount > ' + amount)
  await knex('transfer')
    .select('*')
    // ruleid: js-knex-raw-injection
    .orderByRaw(`${column} DESC`)
  // ruleid: js-knex-raw-injection
  await knex('transfer').joinRaw(`JOIN ledgerAccount la ON la.id = ${column}`)
  // ruleid: js-knex-raw-injection
  await trx.raw('UPDATE transferStateChange SET reason = \'' + amount + '\'')
  const filter = `transferId = '${transferId}'`
  // ruleid: js-knex-raw-injection
  await knex('transfer').havingRaw(filter)
  // ok: js-knex-raw-injection
  await knex.raw('SELECT * FROM transfer WHERE transferId = ?', [transferId])
  // ok: js-knex-raw-injection
  await knex('transfer').whereRaw('amount > ?', [amount])
  // ok: js-knex-raw-injection
  await knex('transfer').orderByRaw('?? DESC', [column])
  // ok: js-knex-raw-injection
  await knex.raw(`SELECT 1`)
  // ok: js-knex-raw-injection
  await knex.raw('SELECT * FROM transfer ' + 'WHERE 1 = 1')
  // ok: js-knex-raw-injection
  const label = String.raw`C:\temp\${transferId}`
  return label
}

// ---------------------------------------------------------------- code evaluation
function evaluation (expr, body, code, ctx) {
  // ruleid: js-eval-non-literal
  eval(expr)
  // ruleid: js-eval-non-literal
  eval('var x = ' + expr)
  // ok: js-eval-non-literal
  eval('1 + 2')
  // ok: js-eval-non-literal
  JSON.parse(expr)

  // ruleid: js-new-function-non-literal
  const f = new Function('a', 'b', body)
  // ruleid: js-new-function-non-literal
  const g = Function(`return ${expr}`)
  // ok: js-new-function-non-literal
  const h = new Function('a', 'b', 'return a + b')

  // ruleid: js-timer-string-eval
  setTimeout('doWork(' + expr + ')', 100)
  // ruleid: js-timer-string-eval
  setInterval(`poll(${expr})`, 1000)
  // ok: js-timer-string-eval
  setTimeout(() => doWork(expr), 100)
  // ok: js-timer-string-eval
  setInterval(poll, 1000)

  // ruleid: js-vm-code-injection
  vm.runInNewContext(code, ctx)
  // ruleid: js-vm-code-injection
  const script = new vm.Script(code)
  // ok: js-vm-code-injection
  vm.runInNewContext('a + b', ctx)
  // ok: js-vm-code-injection
  const fixed = new vm.Script('globalThis.x = 1')
  return [f, g, h, script, fixed]
}

// ---------------------------------------------------------------- deserialisation
function deserialisation (body, doc) {
  // ruleid: js-node-serialize-unserialize
  const obj = serialize.unserialize(body)
  // ok: js-node-serialize-unserialize
  const str = serialize.serialize(obj)
  // ok: js-node-serialize-unserialize
  const parsed = JSON.parse(body)
  // ruleid: js-node-serialize-unserialize
  const restored = cryo.parse(body.snapshot)
  // ok: js-node-serialize-unserialize
  const defaults = serialize.unserialize('{"theme":"dark"}')
  // ok: js-node-serialize-unserialize
  const frozen = cryo.stringify(restored)

  // ruleid: js-yaml-unsafe-schema
  yaml.load(doc, { schema: yaml.DEFAULT_FULL_SCHEMA })
  // ruleid: js-yaml-unsafe-schema
  yaml.safeLoad(doc, { filename: 'x.yaml', schema: yaml.DEFAULT_FULL_SCHEMA })
  // ok: js-yaml-unsafe-schema
  yaml.load(doc, { schema: yaml.JSON_SCHEMA })
  // ok: js-yaml-unsafe-schema
  yaml.safeLoad(doc)

  // ruleid: js-yaml-load-v3-unsafe
  const cfg = yaml.load(doc)
  // ruleid: js-yaml-load-v3-unsafe
  yaml.loadAll(doc, (d) => d)
  // ok: js-yaml-load-v3-unsafe
  yaml.safeLoad(doc)
  // ok: js-yaml-load-v3-unsafe
  yaml.load(doc, { schema: yaml.CORE_SCHEMA })
  // ok: js-yaml-load-v3-unsafe
  const other = otherYaml.load(doc)
  return [obj, str, parsed, cfg, other]
}

// ---------------------------------------------------------------- TLS
function transport (ca) {
  // ruleid: js-tls-reject-unauthorized-false
  const agent = new https.Agent({ rejectUnauthorized: false })
  const db = {
    client: 'pg',
    connection: {
      ssl: {
        // ruleid: js-tls-reject-unauthorized-false
        rejectUnauthorized: false
      }
    }
  }
  // ruleid: js-tls-reject-unauthorized-false
  request({ url: 'https://hub', strictSSL: false })
  // ok: js-tls-reject-unauthorized-false
  const good = new https.Agent({ rejectUnauthorized: true, ca })
  // ok: js-tls-reject-unauthorized-false
  const good2 = tls.connect({ host: 'hub', port: 443, ca })

  // ruleid: js-node-tls-reject-unauthorized-env
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
  // ruleid: js-node-tls-reject-unauthorized-env
  process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = 0
  // ok: js-node-tls-reject-unauthorized-env
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '1'
  // ok: js-node-tls-reject-unauthorized-env
  delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
  // ruleid: js-node-tls-reject-unauthorized-env
  Object.assign(process.env, { NODE_TLS_REJECT_UNAUTHORIZED: '0' })
  // ruleid: js-node-tls-reject-unauthorized-env
  cp.spawn('node', ['client.js'], { env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: 0 } })
  // ok: js-node-tls-reject-unauthorized-env
  cp.spawn('node', ['client.js'], { env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '1' } })

  // ruleid: js-tls-reject-unauthorized-false
  https.request({ host: 'hub', rejectUnauthorized: false }, (res) => res)
  // ruleid: js-tls-reject-unauthorized-false
  tls.connect(443, 'hub', { rejectUnauthorized: false })
  // ruleid: js-tls-reject-unauthorized-false
  axios.create({ httpsAgent: new https.Agent({ rejectUnauthorized: false }) })
  // ruleid: js-tls-reject-unauthorized-false
  got('https://hub/health', { https: { rejectUnauthorized: false } })
  // ok: js-tls-reject-unauthorized-false
  got('https://hub/health', { https: { certificateAuthority: ca } })

  // ruleid: js-tls-server-identity-check-disabled
  const opts = {
    ca,
    checkServerIdentity: () => undefined
  }
  // ruleid: js-tls-server-identity-check-disabled
  tls.connect({ host: 'hub', checkServerIdentity: function () {} })
  // ok: js-tls-server-identity-check-disabled
  tls.connect({
    host: 'hub',
    checkServerIdentity: (host, cert) => tls.checkServerIdentity(host, cert)
  })

  // ruleid: js-tls-weak-protocol
  tls.createSecureContext({ secureProtocol: 'TLSv1_method' })
  // ruleid: js-tls-weak-protocol
  https.createServer({ minVersion: 'TLSv1', ca })
  // ruleid: js-tls-weak-protocol
  tls.DEFAULT_MIN_VERSION = 'TLSv1.1'
  // ok: js-tls-weak-protocol
  https.createServer({ minVersion: 'TLSv1.2', ca })
  // ok: js-tls-weak-protocol
  tls.createSecureContext({ secureProtocol: 'TLSv1_2_method' })
  // ruleid: js-tls-weak-protocol
  tls.createSecureContext({ secureProtocol: 'TLSv1_1_method' })
  // ruleid: js-tls-weak-protocol
  tls.connect({ host: 'hub', maxVersion: 'TLSv1.1' })
  https.createServer({
    // ruleid: js-tls-weak-protocol
    secureOptions: crypto.constants.SSL_OP_NO_SSLv2 | crypto.constants.SSL_OP_NO_SSLv3
  })
  // ok: js-tls-weak-protocol
  https.createServer({
    secureOptions: crypto.constants.SSL_OP_NO_SSLv3 | crypto.constants.SSL_OP_NO_TLSv1 | crypto.constants.SSL_OP_NO_TLSv1_1
  })
  // ok: js-tls-weak-protocol
  https.createServer({ minVersion: 'TLSv1.2', secureOptions: crypto.constants.SSL_OP_NO_SSLv3 })
  // ok: js-tls-weak-protocol
  tls.connect({ host: 'hub', maxVersion: 'TLSv1.3' })
  return [agent, db, good, good2, opts]
}

// ---------------------------------------------------------------- cryptography
function cryptography (data, key, iv, password) {
  // ruleid: js-weak-hash
  crypto.createHash('md5').update(data).digest('hex')
  // ruleid: js-weak-hash
  crypto.createHash('SHA1')
  // ruleid: js-weak-hash
  crypto.createSign('RSA-SHA1')
  // ok: js-weak-hash
  crypto.createHash('sha256').update(data).digest('hex')
  // ok: js-weak-hash
  crypto.createHmac('sha256', key)
  // ok: js-weak-hash
  crypto.createSign('RSA-SHA256')

  // ruleid: js-weak-cipher
  crypto.createCipheriv('des-ede3-cbc', key, iv)
  // ruleid: js-weak-cipher
  crypto.createDecipheriv('rc4', key, null)
  // ruleid: js-weak-cipher
  crypto.createCipheriv('bf-cbc', key, iv)
  // ok: js-weak-cipher
  crypto.createCipheriv('aes-256-gcm', key, iv)
  // ruleid: js-weak-cipher
  crypto.createCipheriv('des-ede3', key, null)
  // ruleid: js-weak-cipher
  CryptoJS.TripleDES.encrypt(data, key)
  // ruleid: js-weak-cipher
  CryptoJS.RC4.encrypt(data, key)
  // ruleid: js-weak-cipher
  forge.cipher.createCipher('3DES-CBC', key)
  // ok: js-weak-cipher
  CryptoJS.AES.encrypt(data, key)
  // ok: js-weak-cipher
  forge.cipher.createCipher('AES-GCM', key)
  // ok: js-weak-cipher
  crypto.createCipheriv('chacha20-poly1305', key, iv, { authTagLength: 16 })

  // an algorithm held in a constant (semgrep's constant propagation)
  const streamAlgorithm = 'rc4'
  // ruleid: js-weak-cipher
  crypto.createCipheriv(streamAlgorithm, key, '')
  const goodAlgorithm = 'aes-256-ctr'
  // ok: js-weak-cipher
  crypto.createCipheriv(goodAlgorithm, key, iv)
  const hashAlgo = 'md5'
  // ruleid: js-weak-hash
  crypto.createHash(hashAlgo).update(data).digest('hex')
  const strongAlgo = 'sha256'
  // ok: js-weak-hash
  crypto.createHash(strongAlgo).update(data).digest('hex')
  let chosen = 'md5'
  chosen = pickAlgorithm(data)
  // ok: js-weak-hash
  crypto.createHash(chosen)

  // ruleid: js-cipher-ecb-mode
  crypto.createCipheriv('aes-128-ecb', key, null)
  // ok: js-cipher-ecb-mode
  crypto.createCipheriv('aes-128-cbc', key, iv)
  // ruleid: js-cipher-ecb-mode
  CryptoJS.AES.encrypt(data, key, { mode: CryptoJS.mode.ECB })
  // ruleid: js-cipher-ecb-mode
  forge.cipher.createCipher('AES-ECB', key)
  // ok: js-cipher-ecb-mode
  CryptoJS.AES.encrypt(data, key, { mode: CryptoJS.mode.CBC, iv })

  // ruleid: js-deprecated-create-cipher
  crypto.createCipher('aes-256-cbc', password)
  // ruleid: js-deprecated-create-cipher
  crypto.createDecipher('aes-256-cbc', password)
  // ok: js-deprecated-create-cipher
  crypto.createDecipheriv('aes-256-gcm', key, iv)
  // ok: js-deprecated-create-cipher
  forge.cipher.createCipher('AES-GCM', key)

  // ruleid: js-weak-rsa-dsa-key
  crypto.generateKeyPairSync('rsa', { modulusLength: 1024 })
  // ruleid: js-weak-rsa-dsa-key
  crypto.generateKeyPair('rsa', { modulusLength: 512, publicExponent: 0x10001 }, (e, k) => k)
  // ok: js-weak-rsa-dsa-key
  crypto.generateKeyPairSync('rsa', { modulusLength: 4096 })
  // ok: js-weak-rsa-dsa-key
  crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  // ruleid: js-weak-rsa-dsa-key
  generateKeyPairSync('rsa', { modulusLength: 1024 })
  const rsa = forge.pki.rsa
  // ruleid: js-weak-rsa-dsa-key
  rsa.generateKeyPair({ bits: 1024, e: 0x10001 })
  // ruleid: js-weak-rsa-dsa-key
  crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign'])
  // ok: js-weak-rsa-dsa-key
  rsa.generateKeyPair({ bits: 3072, e: 0x10001 })
  // ok: js-weak-rsa-dsa-key
  generateKeyPairSync('rsa', { modulusLength: 2048 })

  // ruleid: js-weak-hmac
  crypto.createHmac('sha1', key)
  // ruleid: js-weak-hmac
  crypto.createHmac('md5', key)
  // ok: js-weak-hmac
  crypto.createHmac('sha256', key)

  // ruleid: js-hardcoded-signing-key
  crypto.createHmac('sha256', 'hub-shared-secret').update(data).digest('hex')
  // ruleid: js-hardcoded-signing-key
  crypto.createSign('RSA-SHA256').update(data).sign('-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----')
  // ruleid: js-hardcoded-signing-key
  jws.sign({ header: { alg: 'HS256' }, payload: data, secret: 'jws-secret' })
  const tlsOptions = {
    cert: certPem,
    // ruleid: js-hardcoded-signing-key
    key: `-----BEGIN RSA PRIVATE KEY-----
MIIEow...
-----END RSA PRIVATE KEY-----`
  }
  // ok: js-hardcoded-signing-key
  crypto.createHmac('sha256', key).update(data).digest('hex')
  // ok: js-hardcoded-signing-key
  crypto.createSign('RSA-SHA256').update(data).sign(password)
  // ok: js-hardcoded-signing-key
  crypto.createPublicKey('-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----')
  // ok: js-hardcoded-signing-key
  const cacheOptions = { key: 'participants', ttl: 60 }
  return [tlsOptions, cacheOptions]
}

// ---------------------------------------------------------------- credentials
// ruleid: js-hardcoded-credential
const DB_PASSWORD = 'central_ledger_pw'
const config = {
  HOSTNAME: 'central-ledger',
  // ruleid: js-hardcoded-credential
  password: 'p4ssw0rd!',
  // ruleid: js-hardcoded-credential
  clientSecret: 'c0ffee-c0ffee',
  // ruleid: js-hardcoded-credential
  'api-key': 'AKIAIOSFODNN7EXAMPLE',
  // ok: js-hardcoded-credential
  tokenEndpoint: 'https://auth.example.org/token',
  // ok: js-hardcoded-credential
  emptyPassword: '',
  // ok: js-hardcoded-credential
  dbPassword: process.env.DB_PASSWORD,
  // ok: js-hardcoded-credential
  bypass: 'yes',
  // ok: js-hardcoded-credential
  apiKey: '${API_KEY}'
}
// ok: js-hardcoded-credential
const GrantType = { PASSWORD: 'password', TOKEN: 'token' }
// ok: js-hardcoded-credential
let secret = process.env.SECRET
// ruleid: js-hardcoded-credential
config.authToken = 'eyJhbGciOiJIUzI1NiJ9.e30.x'

// ---------------------------------------------------------------- JWT
function tokens (payload, token, privateKey, publicKey) {
  // ruleid: js-jwt-hardcoded-secret
  jwt.sign(payload, 'shhhhh')
  // ruleid: js-jwt-hardcoded-secret
  jwt.verify(token, 'shhhhh', { algorithms: ['HS256'] })
  // ok: js-jwt-hardcoded-secret
  jwt.sign(payload, privateKey, { algorithm: 'RS256' })
  // ok: js-jwt-hardcoded-secret
  jwt.sign(payload, process.env.JWT_SECRET)

  // ruleid: js-jwt-none-algorithm
  jwt.verify(token, publicKey, { algorithms: ['RS256', 'none'] })
  // ruleid: js-jwt-none-algorithm
  jwt.sign(payload, '', { algorithm: 'none' })
  // ok: js-jwt-none-algorithm
  jwt.verify(token, publicKey, { algorithms: ['RS256'] })
  // ok: js-jwt-none-algorithm
  jwt.sign(payload, privateKey, { algorithm: 'RS256' })
  // ruleid: js-jwt-none-algorithm
  const authOptions = { verifyOptions: { algorithms: ['none'] } }
  // ruleid: js-jwt-none-algorithm
  jws.verify(token, 'none', publicKey)
  // ruleid: js-jwt-none-algorithm
  jws.sign({ header: { alg: 'none' }, payload })
  // ok: js-jwt-none-algorithm
  jws.verify(token, 'RS256', publicKey)
  // ok: js-jwt-none-algorithm
  const compression = { algorithm: 'none' }

  // ruleid: js-jwt-ignore-expiration
  jwt.verify(token, publicKey, { algorithms: ['RS256'], ignoreExpiration: true })
  // ok: js-jwt-ignore-expiration
  jwt.verify(token, publicKey, { algorithms: ['RS256'], clockTolerance: 30 })
  return [authOptions, compression]
}

function userFromToken (token) {
  // ruleid: js-jwt-decode-without-verify
  const claims = jwt.decode(token)
  return claims.sub
}

function validateSignature (signature) {
  // ruleid: js-jwt-decode-without-verify
  const { header, payload } = jws.decode(signature)
  return header.alg === 'RS256' && payload
}

function verifyWithKid (token, keys) {
  // ok: js-jwt-decode-without-verify
  const { header } = jwt.decode(token, { complete: true })
  return jwt.verify(token, keys[header.kid], { algorithms: ['RS256'] })
}

const verifyJws = (signature, keys) => {
  // ok: js-jwt-decode-without-verify
  const decoded = jws.decode(signature)
  if (!jws.verify(signature, decoded.header.alg, keys[decoded.header.kid])) throw new Error('bad signature')
  return decoded
}

// ok: js-jwt-decode-without-verify
const notJwt = Buffer.from(token, 'base64').toString()

// ---------------------------------------------------------------- randomness
function randomness (chars) {
  // ruleid: js-insecure-random-token
  const token = Math.random().toString(36).slice(2)
  // ruleid: js-insecure-random-token
  const transferId = `${Date.now()}-${Math.floor(Math.random() * 1e9)}`
  // ruleid: js-insecure-random-token
  const body = { quoteId: Math.random().toString(16).substring(2), amount: '10' }
  let otp = ''
  for (let i = 0; i < 6; i++) {
    // ruleid: js-insecure-random-token
    otp += chars[Math.floor(Math.random() * chars.length)]
  }
  // ok: js-insecure-random-token
  const safeToken = crypto.randomBytes(32).toString('base64url')
  // ok: js-insecure-random-token
  const requestId = crypto.randomUUID()
  // ok: js-insecure-random-token
  const delay = Math.random() * 1000
  // ok: js-insecure-random-token
  const valid = Math.random() > 0.5
  let apiKey = ''
  for (let i = 0; i < 32; i++) {
    // ruleid: js-insecure-random-token
    apiKey += 'abcdef0123456789'[Math.floor(Math.random() * 16)]
  }
  // ruleid: js-insecure-random-token
  const inviteCode = (Math.random() * 1e16).toString(36)
  // ok: js-insecure-random-token
  const colourKey = palette.length
  // ok: js-insecure-random-token
  const jitter = Math.floor(Math.random() * 250)
  return [token, transferId, body, otp, safeToken, requestId, delay, valid]
}

function generateUuid () {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    // ruleid: js-insecure-random-token
    const r = Math.random() * 16 | 0
    return (c === 'x' ? r : (r & 0x3 | 0x8)).toString(16)
  })
}

function jitter (ms) {
  // ok: js-insecure-random-token
  return ms + Math.floor(Math.random() * 100)
}

// ---------------------------------------------------------------- logging
const handlers = {
  post: async (request, h) => {
    // ruleid: js-log-sensitive-request-data
    Logger.isDebugEnabled && Logger.debug(`prepare::payload(${JSON.stringify(request.payload)})`)
    // ruleid: js-log-sensitive-request-data
    Logger.info(request.headers)
    // ruleid: js-log-sensitive-request-data
    console.log('auth', request.headers.authorization)
    // ruleid: js-log-sensitive-request-data
    this.logger.debug('signature %s', request.headers['fspiop-signature'])
    // ok: js-log-sensitive-request-data
    Logger.info(`prepare::${request.payload.transferId} from ${request.headers['fspiop-source']}`)
    // ok: js-log-sensitive-request-data
    Logger.info(`path ${request.path} status ${h.response().statusCode}`)
    return h.response().code(202)
  }
}

function expressHandler (req, res) {
  // ruleid: js-log-sensitive-request-data
  console.log('body', JSON.stringify(req.body))
  // ruleid: js-log-sensitive-request-data
  logger.info({ headers: req.headers }, 'incoming')
  // ruleid: js-log-sensitive-request-data
  log.debug('auth: ' + req.get('Authorization'))
  // ok: js-log-sensitive-request-data
  logger.info('transfer', req.body.transferId)
  // ok: js-log-sensitive-request-data
  logger.info('content-type', req.headers['content-type'])
  // ok: js-log-sensitive-request-data
  res.send(req.body)
}

module.exports = { handlers, expressHandler, randomness, generateUuid, jitter, userFromToken, validateSignature, verifyWithKid, verifyJws, notJwt, commands, sql, knexQueries, evaluation, deserialisation, transport, cryptography, tokens, config, GrantType, secret }
