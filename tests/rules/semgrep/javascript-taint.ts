// TypeScript test target for policy_gate/rules/semgrep/javascript-taint.yaml: ES module
// imports, type annotations, typed destructured handler parameters and classes, as in
// Mojaloop's TypeScript services (hapi, knex, Kafka). Only parsed by semgrep.
import { exec, spawn } from 'node:child_process'
import * as fs from 'fs'
import * as path from 'path'
import * as vm from 'vm'
import axios from 'axios'
import Hapi from '@hapi/hapi'
import type { Request, ResponseToolkit, ResponseObject } from '@hapi/hapi'
import { Knex } from 'knex'
import express, { Request as ExpressRequest, Response as ExpressResponse } from 'express'
import session from 'express-session'
import helmet from 'helmet'
import xpath from 'xpath'
import * as ldap from 'ldapjs'
import * as libxmljs from 'libxmljs'
import escapeStringRegexp from 'escape-string-regexp'
import { Logger } from '@mojaloop/central-services-logger'
import mongoSanitize from 'mongo-sanitize'

const SCRIPTS_DIR: string = path.resolve(__dirname, 'scripts')
const PARTICIPANT_TABLE = 'participant'
const HUB_ARGS: readonly string[] = ['--hub', 'Hub']

interface TransferPayload { transferId: string, payerFsp: string, note?: string }
interface ToolRequest { tool: string, target: string }

export class TransferHandler {
  constructor (private readonly knex: Knex, private readonly endpoint: string, private readonly db: any) {}

  async prepare (request: Request, h: ResponseToolkit): Promise<ResponseObject> {
    const payload = request.payload as TransferPayload
    // ruleid: js-sql-injection-taint
    await this.knex.raw(`UPDATE transfer SET note = '${payload.note}' WHERE transferId = ?`, [payload.transferId])
    // ok: js-sql-injection-taint
    await this.knex.raw(`SELECT * FROM ${PARTICIPANT_TABLE} WHERE name = ?`, [payload.payerFsp])
    // ok: js-sql-injection-taint
    await this.knex(PARTICIPANT_TABLE).where({ name: payload.payerFsp }).first()
    // ruleid: js-sql-injection-taint
    await this.db.query('SELECT * FROM quote WHERE quoteId = ' + payload.transferId)
    // ruleid: js-log-injection-taint
    Logger.info(`prepare ${payload.transferId} from ${payload.payerFsp}`)
    // ok: js-log-injection-taint
    Logger.info('prepare', { transferId: JSON.stringify(payload.transferId) })
    // ok: js-ssrf-taint
    await axios.put(`${this.endpoint}/transfers/${payload.transferId}`, payload)
    // ruleid: js-xss-taint
    return h.response(`<p>Transfer ${payload.transferId} accepted</p>`).code(202)
  }

  async lookup ({ params, query }: Request, h: ResponseToolkit): Promise<ResponseObject> {
    // ruleid: js-path-traversal-taint
    const script = fs.readFileSync(path.join(SCRIPTS_DIR, params.name as string), 'utf8')
    // ok: js-path-traversal-taint
    const safe = fs.readFileSync(path.join(SCRIPTS_DIR, path.basename(params.name as string)), 'utf8')
    // ruleid: js-code-injection-taint
    const out = vm.runInNewContext(query.expr as string, { amount: 1 })
    // ruleid: js-eval-injection-taint
    const fn = new Function('x', query.body as string)
    // ok: js-eval-injection-taint
    const doubled = new Function('x', 'return x * 2')
    // ruleid: js-ssrf-taint
    const peer = await axios.get(query.peer as string)
    // ok: js-xss-taint
    return h.response({ script, safe, out, fn, doubled, peer: peer.status })
  }
}

export const runTool = async (request: Request, h: ResponseToolkit) => {
  const { tool, target } = request.payload as ToolRequest
  // ruleid: js-command-injection-taint
  exec(`${tool} ${target}`)
  // ok: js-command-injection-taint
  spawn('settlement-cli', HUB_ARGS as string[], { shell: true })
  // ruleid: js-regex-injection-taint
  const re = new RegExp(target)
  // ok: js-regex-injection-taint
  const literal = new RegExp(escapeStringRegexp(target))
  // ruleid: js-open-redirect-taint
  return h.redirect(request.query.next as string).takeover()
}

// ---------------------------------------------------------------- Kafka (Mojaloop message envelope)
export async function onMessage (message: { value: { content: { payload: any, uriParams: any } } }): Promise<void> {
  const { payload } = message.value.content
  // ruleid: js-regex-injection-taint
  const match = String(payload.note).match(payload.filter)
  // ok: js-regex-injection-taint
  const fixed = String(payload.note).match(/^[A-Z]{3}$/)
  // ruleid: js-log-injection-taint
  Logger.debug('settlement window ' + message.value.content.uriParams.id)
  // ok: js-log-injection-taint
  Logger.debug(`matched ${match?.length ?? 0} ${fixed?.length ?? 0}`)
}

// ---------------------------------------------------------------- express + TypeScript
export function expressRoutes (app: express.Express): void {
  app.get('/files', (req: ExpressRequest, res: ExpressResponse) => {
    // ruleid: js-header-injection-taint
    res.setHeader('Content-Disposition', `attachment; filename="${req.query.name}"`)
    // ok: js-header-injection-taint
    res.setHeader('Content-Disposition', `attachment; filename="${encodeURIComponent(String(req.query.name))}"`)
    // ruleid: js-session-trust-boundary-taint
    Object.assign(req.session, req.body)
    // ok: js-session-trust-boundary-taint
    Object.assign(req.session, { visitedAt: Date.now() })
    // ruleid: js-xpath-injection-taint
    const nodes = xpath.select(`//participant[name='${req.query.fsp}']`, doc)
    // ok: js-xpath-injection-taint
    const every = xpath.select('//participant', doc)
    // ruleid: js-xpath-injection-taint
    const one = xpath.select1("//participant[@id='" + req.params.id + "']", doc)
    // ok: js-xpath-injection-taint
    const byNumber = xpath.select1(`//participant[@id=${Number(req.params.id)}]`, doc)
    // ruleid: js-xpath-injection-taint
    const evaluated = xpath.evaluate(req.body.expression, doc, null, 0, null)
    res.json({ nodes, every, one, byNumber, evaluated })
  })
}

// ---------------------------------------------------------------- LDAP
export class Directory {
  private readonly ldapClient = ldap.createClient({ url: 'ldaps://ldap.example.org' })

  find (req: ExpressRequest): void {
    // ruleid: js-ldap-injection-taint
    this.ldapClient.search('dc=hub', { filter: '(mail=' + req.body.email + ')' }, () => {})
    // ruleid: js-ldap-injection-taint
    const filter = ldap.parseFilter(`(cn=${req.query.name})`)
    // ruleid: js-ldap-injection-taint
    const options = { url: 'ldaps://ldap.example.org', searchBase: 'dc=hub', searchFilter: `(uid=${req.body.username})` }
    // ok: js-ldap-injection-taint
    this.ldapClient.search('dc=hub', { filter: '(objectClass=organization)' }, () => {})
    // ok: js-ldap-injection-taint
    const fixedFilter = ldap.parseFilter('(cn=hub-admin)')
  }
}

// ---------------------------------------------------------------- XXE
export function parseIso20022 (xml: string): unknown[] {
  // ruleid: js-xxe-entity-expansion
  const a = libxmljs.parseXml(xml, { noent: true, nonet: true })
  // ruleid: js-xxe-entity-expansion
  const b = libxmljs.parseXmlString(xml, { xinclude: true })
  // ruleid: js-xxe-entity-expansion
  const c = libxmljs.parseXml(xml, { dtdload: true, dtdvalid: false })
  // ok: js-xxe-entity-expansion
  const d = libxmljs.parseXml(xml, { nonet: true })
  // ok: js-xxe-entity-expansion
  const e = libxmljs.parseXmlString(xml)
  return [a, b, c, d, e]
}

// ---------------------------------------------------------------- hapi server settings
export async function createServer (port: number): Promise<Hapi.Server> {
  // ruleid: js-hapi-missing-security-headers
  const server = new Hapi.Server({ port, routes: { validate: { failAction: 'error' } } })
  // ok: js-hapi-missing-security-headers
  const hardened = new Hapi.Server({ port, routes: { security: true, validate: { failAction: 'error' } } })
  // ok: js-hapi-missing-security-headers
  const custom = Hapi.server({ port, routes: { security: { hsts: { maxAge: 31536000 }, xframe: 'deny' } } })
  // ruleid: js-hapi-missing-security-headers
  const admin = Hapi.server({ port: port + 1 })
  // ruleid: js-hapi-missing-security-headers
  const off = Hapi.server({ port: port + 2, routes: { security: false } })
  server.state('mojaloop-session', {
    // ruleid: js-cookie-secure-disabled
    isSecure: false,
    // ok: js-cookie-httponly-disabled
    isHttpOnly: true,
    // ruleid: js-cookie-samesite-disabled
    isSameSite: false,
    // ok: js-session-hardcoded-secret
    password: process.env.COOKIE_PASSWORD as string
  })
  // ok: js-cookie-samesite-disabled
  hardened.state('prefs', { isSameSite: 'Lax' })
  return [server, hardened, custom, admin, off][0]
}

// ---------------------------------------------------------------- express app settings
export function createApp (): express.Express {
  // ruleid: js-express-missing-helmet
  const app: express.Express = express()
  // ruleid: js-express-missing-csrf
  app.use(session({ secret: process.env.SESSION_SECRET as string, cookie: { secure: true, httpOnly: true } }))
  // ok: js-express-missing-helmet
  const safeApp = express()
  safeApp.use(helmet())
  // ok: js-session-hardcoded-secret, js-express-missing-csrf
  safeApp.use(session({ secret: process.env.SESSION_SECRET as string, cookie: { secure: true } }))
  safeApp.use(doubleCsrfProtection)
  // ruleid: js-session-hardcoded-secret
  safeApp.use(session({ secret: ['rotating-secret-1', 'rotating-secret-2'], cookie: { secure: true } }))
  return app
}

// ---------------------------------------------------------------- prototype pollution
export function applyOverrides (target: Record<string, any>, request: Request): void {
  const overrides = request.payload as Record<string, Record<string, unknown>>
  for (const section of Object.keys(overrides)) {
    for (const key of Object.keys(overrides[section])) {
      // ruleid: js-prototype-pollution-taint
      target[section][key] = overrides[section][key]
    }
  }
  const known = new Map<string, Record<string, unknown>>()
  // ok: js-prototype-pollution-taint
  known.set(String(request.params.section), overrides)
}

export function deepMerge<T extends Record<string, any>> (target: T, source: Record<string, any>): T {
  // ruleid: js-prototype-pollution-merge
  for (const key in source) {
    if (source[key] !== null && typeof source[key] === 'object') {
      (target as any)[key] = deepMerge((target as any)[key] ?? {}, source[key])
    } else {
      (target as any)[key] = source[key]
    }
  }
  return target
}

export function safeMerge<T extends Record<string, any>> (target: T, source: Record<string, any>): T {
  // ok: js-prototype-pollution-merge
  for (const key in source) {
    if (['__proto__', 'constructor', 'prototype'].includes(key)) continue
    if (source[key] !== null && typeof source[key] === 'object') {
      (target as any)[key] = safeMerge((target as any)[key] ?? {}, source[key])
    } else {
      (target as any)[key] = source[key]
    }
  }
  return target
}

// ---------------------------------------------------------------- NoSQL and templates
export async function findParty (Party: any, req: ExpressRequest, res: ExpressResponse): Promise<void> {
  // ruleid: js-nosql-operator-injection-taint
  const party = await Party.findOne({ msisdn: req.body.msisdn, pin: req.body.pin })
  // ok: js-nosql-operator-injection-taint
  const exact = await Party.findOne({ msisdn: String(req.body.msisdn) })
  // ok: js-nosql-operator-injection-taint
  const pinned = await Party.find({ msisdn: { $eq: req.query.msisdn } })
  // ok: js-nosql-operator-injection-taint
  const cleaned = await Party.find(mongoSanitize(req.body))
  // ruleid: js-nosql-where-injection-taint
  const rich = await Party.find({ $where: 'this.balance > ' + req.query.min })
  // ok: js-nosql-where-injection-taint
  const fixedWhere = await Party.find({ $where: 'this.balance > 0' })
  // ok: js-template-autoescape-disabled
  const nj = { autoescape: true, throwOnUndefined: true }
  // ruleid: js-template-autoescape-disabled
  const njUnsafe: Record<string, boolean> = { autoescape: false }
  // ruleid: js-cookie-session-defaults
  res.cookie('refresh_token', party.token)
  // ruleid: js-cookie-flags-missing
  res.cookie('remember', party.id)
  // ruleid: js-cookie-httponly-disabled
  res.cookie('jwt', party.token, { httpOnly: false, secure: true, sameSite: 'strict' })
  // ok: js-cookie-secure-disabled
  res.cookie('jwt', party.token, { httpOnly: true, secure: true, sameSite: 'strict' })
  // ruleid: js-cors-permissive
  res.set('Access-Control-Allow-Origin', req.get('origin'))
  res.json({ party, exact, pinned, cleaned, rich, fixedWhere, nj, njUnsafe })
}
