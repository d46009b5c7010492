import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import {
  InvalidRequestError,
  invalidArgument,
  isScopeToken,
  type AccessToken,
} from '@bearerkit/core'
import type { ForwardAuthOptions, IdentityHeaderNames } from './forward-auth-options.js'
import { resolveProxyTrust, type ProxyTrust } from './forward-auth-trust.js'
import { createBearerGate, type BearerGate } from './gate.js'
import { authorizationFromRawHeaders } from './request.js'
import type { GateResponse } from './response.js'

/** A node:http request listener that answers forward-auth subrequests, with its gate. */
export interface ForwardAuthHandler {
  (req: IncomingMessage, res: ServerResponse): void
  /** The gate every decision goes through. */
  readonly gate: BearerGate
}

type Identity = readonly (readonly [name: string, read: (token: AccessToken) => unknown])[]

const DEFAULT_NAMES: Required<IdentityHeaderNames> = {
  clientId: 'x-bearer-client-id',
  subject: 'x-bearer-subject',
  issuer: 'x-bearer-issuer',
  scopes: 'x-bearer-scopes',
}
const READERS: Record<keyof IdentityHeaderNames, (token: AccessToken) => unknown> = {
  clientId: (token) => token.clientId,
  subject: (token) => token.subject,
  issuer: (token) => token.issuer,
  scopes: (token) => token.scopes.join(' '),
}
const OWN_OPTIONS = ['trustedProxies', 'identityHeaders', 'pathPrefix', 'formBodyLimit']
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// RFC 9110 §9.1 method token; §7.1 origin-form target: visible ASCII only, starting with '/'.
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}$/
const TARGET = /^\/[\x21-\x7e]*$/
const HOST = /^[A-Za-z0-9.\-[\]:]{1,255}$/
// RFC 9110 §5.5: a field value without control characters; no edge whitespace, which proxies
// would trim and so change.
const FIELD_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/
const DEFAULT_FORM_LIMIT = 100 * 1024
const OK_HEADERS = Object.freeze({ 'cache-control': 'no-store' })

/**
 * A node:http request listener for proxies that ask an authentication service about each request:
 * nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz` (HTTP service).
 *
 * - A request with a valid token gets `200` with identity headers for the upstream (client id,
 *   subject, issuer, scopes; names configurable), and no body.
 * - Otherwise the gate's exact answer: 400, 401, 403 or 503 with `WWW-Authenticate`,
 *   `Retry-After` and a JSON body, for the proxy to pass on to the client.
 * - The original method and URI come from `X-Original-Method`/`X-Original-URI` (nginx) or
 *   `X-Forwarded-Method/Proto/Host/Uri` (Traefik), only from `trustedProxies` (loopback by
 *   default); otherwise (and for Envoy, which sends the request itself) the request as it arrived,
 *   less `pathPrefix`. Both families present and disagreeing is a 400: one of them is the client's.
 * - Route scopes: the subrequest's own `scope` query parameter (space-separated), set in the
 *   proxy's configuration (`proxy_pass http://auth/?scope=admin`), adds to `requiredScopes`.
 * - The RFC 9728 metadata document is answered when it is asked for directly (not as a
 *   subrequest): route the well-known path to this server without authentication.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @see https://nginx.org/en/docs/http/ngx_http_auth_request_module.html nginx auth_request
 * @see https://doc.traefik.io/traefik/middlewares/http/forwardauth/ Traefik forwardAuth
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * const handler = createForwardAuthHandler({ verifier, resource })
 * createServer(handler).listen(9000, '127.0.0.1')
 * ```
 */
export function createForwardAuthHandler(options: ForwardAuthOptions): ForwardAuthHandler {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument('options', 'must be an object with a verifier')
  }
  const gateOptions: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (!OWN_OPTIONS.includes(key)) gateOptions[key] = value
  }
  const gate = createBearerGate(gateOptions as unknown as ForwardAuthOptions)
  const trusted = resolveProxyTrust(options.trustedProxies)
  const identity = resolveIdentity(options.identityHeaders)
  const pathPrefix = options.pathPrefix ?? ''
  if (typeof pathPrefix !== 'string' || (pathPrefix !== '' && !TARGET.test(pathPrefix))) {
    throw invalidArgument('options.pathPrefix', 'must be a path starting with "/"')
  }
  const formBodyLimit = options.formBodyLimit ?? DEFAULT_FORM_LIMIT
  if (!Number.isInteger(formBodyLimit) || formBodyLimit < 0) {
    throw invalidArgument('options.formBodyLimit', 'must be a whole number of bytes (0 or more)')
  }

  const decide = async (req: IncomingMessage): Promise<GateResponse> => {
    const original = originalRequest(req, trusted, pathPrefix)
    if (original === null) {
      return gate.respond(
        new InvalidRequestError('The forwarded request is malformed'),
        gate.requiredScopes,
        req.method,
      )
    }
    const request = { method: original.method, url: original.url, headers: req.headers }
    if (!original.forwarded) {
      const metadata = gate.metadata?.respond(request)
      if (metadata !== null && metadata !== undefined) return metadata
    }
    let body: string | undefined
    if (isForm(req.headers['content-type']) && hasBody(req)) {
      const text = await readText(req, formBodyLimit)
      if (text === null) return TOO_LARGE
      body = text
    }
    // A verified-token cache hit is decided at once: no await for it. The request is written out
    // field by field: V8 (Node 20) builds an object literal that spreads another and then adds
    // properties through a slow path, measured at 1 - 1.5 us per property, 17 us per request
    // here before.
    const answer = gate.authenticateNow({
      method: request.method,
      url: request.url,
      headers: request.headers,
      authorization: authorizationFromRawHeaders(req.rawHeaders),
      scopes: original.scopes,
      body,
      // The proxy's address: with mtls.clientCertHeader, only a proxy in mtls.trustedProxies may
      // vouch for the client's certificate (RFC 9440 Client-Cert). The client's TLS session is
      // the proxy's, so there is no certificate of our own connection to pass.
      remoteAddress: req.socket.remoteAddress,
    })
    const result = answer instanceof Promise ? await answer : answer
    if (result.kind !== 'accepted') {
      // Neither bodyPending nor noHandlerRuns is passed: anything else is a refusal.
      return (result as { response: GateResponse }).response
    }
    const headers: Record<string, string> = { ...OK_HEADERS }
    for (const [name, read] of identity) {
      const value = read(result.accessToken)
      if (value === undefined || value === null || value === '') continue
      if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
        // Dropping or rewriting the value would pass on a different identity (a user token
        // looking like a client's): refuse instead.
        return gate.respond(
          new InvalidRequestError('The access token names an identity that cannot be passed on'),
          result.scopes,
          original.method,
        )
      }
      headers[name] = value
    }
    return { status: 200, headers, body: null }
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    decide(req).then(
      (answer) => {
        res.writeHead(answer.status, answer.headers)
        res.end(answer.body ?? undefined)
      },
      () => {
        // The request stream failed: nothing was decided and nobody is listening.
        res.destroy()
      },
    )
  }
  return Object.freeze(Object.assign(handler, { gate }))
}

/**
 * A node:http server (not listening yet) running {@link createForwardAuthHandler}. It is the
 * library behind `bearerkit serve`.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @example
 * ```ts
 * const server = createForwardAuthServer({ verifier, resource, trustedProxies: ['10.0.0.2'] })
 * server.listen(9000, '10.0.0.5')
 * ```
 */
export function createForwardAuthServer(options: ForwardAuthOptions): Server {
  const handler = createForwardAuthHandler(options)
  return process.getBuiltinModule('node:http').createServer(handler)
}

const TOO_LARGE: GateResponse = Object.freeze({
  status: 413,
  headers: Object.freeze({
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  }),
  body: JSON.stringify({
    error: 'invalid_request',
    error_description: 'The form body is too large',
  }),
})

function resolveIdentity(value: unknown): Identity {
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    throw invalidArgument('options.identityHeaders', 'must be an object of header names')
  }
  const given = (value ?? {}) as Record<string, unknown>
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(DEFAULT_NAMES, key)) {
      throw invalidArgument(`options.identityHeaders.${key}`, 'is not a known option')
    }
  }
  const identity: [string, (token: AccessToken) => unknown][] = []
  const seen = new Set<string>()
  for (const key of Object.keys(DEFAULT_NAMES) as (keyof IdentityHeaderNames)[]) {
    const name = given[key] ?? DEFAULT_NAMES[key]
    if (name === false) continue
    if (typeof name !== 'string' || !FIELD_NAME.test(name) || seen.has(name.toLowerCase())) {
      throw invalidArgument(
        `options.identityHeaders.${key}`,
        'must be a header name used once, or false',
      )
    }
    seen.add(name.toLowerCase())
    identity.push([name.toLowerCase(), READERS[key]])
  }
  return Object.freeze(identity)
}

interface Original {
  readonly method: string
  readonly url: string
  /** True when the method or URI came from a proxy's headers (a subrequest). */
  readonly forwarded: boolean
  /** Route scopes from the subrequest's own `scope` query parameter (the proxy's config). */
  readonly scopes?: readonly string[]
}

/** The request the proxy asks about, or `null` when its description is malformed. */
function originalRequest(
  req: IncomingMessage,
  trusted: ProxyTrust,
  pathPrefix: string,
): Original | null {
  const method = req.method ?? 'GET'
  let url = req.url ?? '/'
  if (pathPrefix !== '' && url.startsWith(pathPrefix)) {
    url = url.slice(pathPrefix.length)
    if (!url.startsWith('/')) url = `/${url}`
  }
  if (!trusted(req.socket.remoteAddress)) return { method, url, forwarded: false }
  const headers = req.headers
  const nginx = { method: headers['x-original-method'], uri: headers['x-original-uri'] }
  const traefik = { method: headers['x-forwarded-method'], uri: headers['x-forwarded-uri'] }
  const fromNginx = nginx.method !== undefined || nginx.uri !== undefined
  const fromTraefik = traefik.method !== undefined || traefik.uri !== undefined
  if (!fromNginx && !fromTraefik) return { method, url, forwarded: false }
  if (fromNginx && fromTraefik && (nginx.method !== traefik.method || nginx.uri !== traefik.uri)) {
    // Each proxy passes the other's header names through from the client: when both are there
    // and disagree, one of them is forged and there is no telling which.
    return null
  }
  const chosen = fromNginx ? nginx : traefik
  const forwardedMethod = chosen.method ?? method
  const forwardedUri = chosen.uri ?? url
  if (
    typeof forwardedMethod !== 'string' ||
    typeof forwardedUri !== 'string' ||
    !METHOD.test(forwardedMethod) ||
    !TARGET.test(forwardedUri)
  ) {
    // A repeated header (Node joins most with ", ") fails these patterns too.
    return null
  }
  // Traefik's proto and host make the URL absolute; the gate looks only at its path and query.
  const proto = headers['x-forwarded-proto']
  const host = headers['x-forwarded-host']
  const absolute =
    !fromNginx &&
    (proto === 'http' || proto === 'https') &&
    typeof host === 'string' &&
    HOST.test(host)
  // The subrequest's own URL is the proxy's configuration (`proxy_pass .../?scope=admin`, a
  // Traefik address), never the client's: its `scope` adds route scopes. In every other mode the
  // URL is the client's and is not read for scopes.
  const own = req.url ?? ''
  const query = own.includes('?') ? own.slice(own.indexOf('?') + 1) : ''
  const scopes = new URLSearchParams(query)
    .getAll('scope')
    .flatMap((value) => value.split(' '))
    .filter((scope) => scope !== '')
  if (!scopes.every(isScopeToken)) return null
  return {
    method: forwardedMethod,
    url: absolute ? `${proto}://${host}${forwardedUri}` : forwardedUri,
    forwarded: true,
    scopes,
  }
}

function isForm(type: string | undefined): boolean {
  return type?.split(';', 1)[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded'
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** The body as text, or `null` past `limit` bytes (the rest is drained so the answer is read). */
function readText(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    const chunks: Uint8Array[] = []
    let size = 0
    let over = Number.isFinite(declared) && declared > limit
    req.on('data', (chunk: Uint8Array) => {
      size += chunk.byteLength
      if (size > limit) over = true
      if (!over) chunks.push(chunk)
    })
    req.on('end', () => {
      if (over) resolve(null)
      else resolve(new TextDecoder().decode(concat(chunks, size)))
    })
    req.on('error', reject)
  })
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}
