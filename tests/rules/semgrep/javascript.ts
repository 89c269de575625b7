// TypeScript test target for policy_gate/rules/semgrep/javascript.yaml: ES module
// imports, type annotations and classes (Mojaloop services are moving to TypeScript).
import { exec } from 'node:child_process'
import * as crypto from 'crypto'
import * as yaml from 'js-yaml'
import jwt from 'jsonwebtoken'
import { Knex } from 'knex'
import https from 'https'

export class TransferRepository {
  // ruleid: js-hardcoded-credential
  private readonly password: string = 'central_ledger_pw'
  // ok: js-hardcoded-credential
  private readonly apiKey: string = process.env.API_KEY ?? ''

  constructor (private readonly knex: Knex) {}

  async byId (transferId: string): Promise<unknown> {
    // ruleid: js-knex-raw-injection
    return this.knex.raw(`SELECT * FROM transfer WHERE transferId = '${transferId}'`)
  }

  async byIdSafe (transferId: string): Promise<unknown> {
    // ok: js-knex-raw-injection
    return this.knex.raw('SELECT * FROM transfer WHERE transferId = ?', [transferId])
  }

  async byState (state: string): Promise<unknown> {
    // ruleid: js-knex-raw-injection
    return this.knex<{ id: string }>('transfer').whereRaw(`state = '${state}'`)
  }
}

export function archive (dir: string): void {
  // ruleid: js-child-process-exec-non-literal
  exec(`tar czf /backups/archive.tgz ${dir}`)
  // ok: js-child-process-exec-non-literal
  exec('tar --version')
}

export function digest (body: Buffer): string {
  // ruleid: js-weak-hash
  const etag = crypto.createHash('sha1').update(body).digest('base64')
  // ok: js-weak-hash
  return crypto.createHash('sha256').update(body).digest('base64') + etag
}

export function readConfig (doc: string): unknown {
  // ruleid: js-yaml-unsafe-schema
  const unsafe = yaml.load(doc, { schema: yaml.DEFAULT_FULL_SCHEMA })
  // ok: js-yaml-unsafe-schema
  return yaml.load(doc, { schema: yaml.JSON_SCHEMA }) ?? unsafe
}

export function issue (claims: Record<string, unknown>, key: string): string {
  // ruleid: js-jwt-hardcoded-secret
  const weak = jwt.sign(claims, 'not-so-secret', { expiresIn: '1h' })
  // ok: js-jwt-hardcoded-secret
  return jwt.sign(claims, key, { algorithm: 'RS256' }) + weak
}

export function check (token: string, publicKey: string): unknown {
  // ruleid: js-jwt-none-algorithm
  jwt.verify(token, publicKey, { algorithms: ['none'] })
  // ok: js-jwt-none-algorithm
  return jwt.verify(token, publicKey, { algorithms: ['RS256'] })
}

export const agent = new https.Agent({
  // ruleid: js-tls-reject-unauthorized-false
  rejectUnauthorized: false,
})

// ok: js-tls-reject-unauthorized-false
export const strictAgent = new https.Agent({ rejectUnauthorized: true })

export class TokenService {
  // ruleid: js-insecure-random-token
  private nonce: string = Math.random().toString(36)

  newSessionToken (): string {
    // ruleid: js-insecure-random-token
    return Math.random().toString(36).slice(2)
  }

  // ok: js-insecure-random-token
  backoff (attempt: number): number { return 2 ** attempt * 100 + Math.random() * 50 }

  claims (token: string): unknown {
    // ruleid: js-jwt-decode-without-verify
    return jwt.decode(token)
  }
}

export const prepare = async (request: { payload: unknown, headers: Record<string, string> }, h: any): Promise<unknown> => {
  // ruleid: js-log-sensitive-request-data
  logger.debug(`prepare ${JSON.stringify(request.payload)}`)
  // ok: js-log-sensitive-request-data
  logger.debug(`prepare from ${request.headers['fspiop-source']}`)
  // ruleid: js-weak-hmac
  const mac = crypto.createHmac('sha1', process.env.HMAC_KEY as string)
  // ok: js-weak-hmac
  const mac2 = crypto.createHmac('sha512', process.env.HMAC_KEY as string)
  return h.response([mac, mac2]).code(202)
}
