import { VerifierUnavailableError, invalidArgument, isScopeToken } from '@bearerkit/core'
import {
  absoluteRequestUrl,
  authorizationFromRawHeaders,
  createBearerGate,
  nodeConnection,
  toWebResponse,
  type BearerGate,
  type GateAccepted,
  type GateRefused,
} from '@bearerkit/http'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import { isFormType, readFormText } from './lib/form-body.js'
import type { BearerAuthOptions, ConnectionInfo } from './options.js'
import type { BearerEnv } from './types.js'

/** The middleware {@link bearerAuth} returns, with its per-route companions. */
export interface BearerMiddleware extends MiddlewareHandler<BearerEnv> {
  /** The gate every decision goes through (for `respond`, `metadata` ...). */
  readonly gate: BearerGate
  /**
   * The same authentication with `scopes` on top of `requiredScopes`, for one route. On a request
   * this middleware already accepted (`app.use(auth)` before the route) only the scopes are
   * checked: the token is not verified twice.
   */
  require(scopes: readonly string[]): MiddlewareHandler<BearerEnv>
  /**
   * Answers the RFC 9728 metadata document (and its CORS preflight) and passes every other
   * request on, for apps where the middleware guards single routes only.
   */
  readonly metadata: MiddlewareHandler
}

const DEFAULT_FORM_LIMIT = 100 * 1024
const NO_SCOPES: readonly string[] = Object.freeze([])

// Which gate accepted a request, kept in the request's own Context (one for the whole chain)
// under a key no one else holds. A WeakMap keyed by the Request did the same for about 4 us more
// per request: each entry is an ephemeron the garbage collector has to trace.
const ACCEPTED = Symbol('bearerkit accepted')

interface Accepted {
  readonly gate: BearerGate
  readonly result: GateAccepted
}

// Hono's Context keeps variables in a Map, which takes any key; its types name string keys only.
interface ContextVariables {
  get(key: symbol): unknown
  set(key: symbol, value: unknown): void
}

function acceptedBy(c: Context): Accepted | undefined {
  return (c as unknown as ContextVariables).get(ACCEPTED) as Accepted | undefined
}

function markAccepted(c: Context, state: Accepted): void {
  ;(c as unknown as ContextVariables).set(ACCEPTED, state)
}

/**
 * Hono middleware that authenticates requests with bearer tokens (RFC 6750), checks audience
 * (RFC 8707) and scopes, answers the RFC 9728 metadata document, and sets the context variables
 * `accessToken` and `principal` ({@link BearerEnv}). A refused request gets the exact answer of
 * `@bearerkit/http`'s gate as a web-standard `Response`; the handler never runs. Runs wherever
 * Hono runs (Node through `@hono/node-server`, Workers, Deno, Bun).
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 * @see https://www.rfc-editor.org/rfc/rfc9728 RFC 9728
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { bearerAuth, type BearerEnv } from '@bearerkit/hono'
 *
 * const auth = bearerAuth({ verifier, resource, requiredScopes: ['mcp:tools'] })
 * const app = new Hono<BearerEnv>()
 * app.use(auth)
 * app.get('/whoami', (c) => c.json({ client: c.get('accessToken').clientId }))
 * app.post('/admin', auth.require(['admin']), handler)
 * ```
 */
export function bearerAuth(options: BearerAuthOptions): BearerMiddleware {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument('options', 'must be an object with a verifier')
  }
  const {
    formBodyLimit = DEFAULT_FORM_LIMIT,
    connection = nodeServerConnection,
    ...gateOptions
  } = options
  if (!Number.isInteger(formBodyLimit) || formBodyLimit < 0) {
    throw invalidArgument('options.formBodyLimit', 'must be a whole number of bytes (0 or more)')
  }
  if (typeof connection !== 'function') {
    throw invalidArgument('options.connection', 'must be a function of the Hono context')
  }
  const gate = createBearerGate(gateOptions)
  const mtls = gateOptions.mtls !== undefined && gateOptions.mtls !== false
  const dpop = gateOptions.dpop !== undefined && gateOptions.dpop !== false

  const authenticate = async (
    c: Context<BearerEnv>,
    scopes: readonly string[] | undefined,
  ): Promise<Response | null> => {
    const raw = c.req.raw
    const state = acceptedBy(c)
    if (state !== undefined && state.gate === gate) {
      // Accepted by this gate earlier in the chain: only the route's scopes are left to check.
      const refusal =
        scopes === undefined ? null : gate.requireScopes(state.result, scopes, raw.method)
      return refusal === null ? null : toWebResponse(refusal.response)
    }
    // Under @hono/node-server the Node request is at hand: its headers and target are read as
    // they are, rather than through the web Request, which node-server builds (a Headers object,
    // a URL) only when something asks for it. Node keeps only the first of repeated Authorization
    // lines in its headers: the raw lines say whether there were more.
    const incoming = nodeRequest(c)
    const request =
      incoming === undefined
        ? { method: raw.method, url: raw.url, headers: raw.headers }
        : {
            method: raw.method,
            // The gate reads the query of a plain request; DPoP needs the absolute URL (below).
            url: dpop ? raw.url : incoming.url,
            headers: incoming.headers,
            authorization: authorizationFromRawHeaders(incoming.rawHeaders),
          }
    const metadata = gate.metadata?.respond(request)
    if (metadata !== null && metadata !== undefined) return toWebResponse(metadata)
    let body: string | undefined
    const type =
      incoming === undefined ? c.req.header('content-type') : incoming.headers['content-type']
    if (isFormType(type) && raw.body !== null) {
      // RFC 6750 §2.2: a token in a form body is refused, so the body is looked at.
      const text = await readFormText(c.req, formBodyLimit)
      if (text === null) return tooLarge()
      body = text
    }
    let peer: ConnectionInfo | undefined
    if (mtls) {
      // RFC 8705 §3: the certificate of the TLS connection. A reader that fails is a fault: the
      // binding cannot be checked, so the request is answered 503 and never accepted.
      try {
        peer = readConnection(connection, c)
      } catch (error) {
        const unavailable = new VerifierUnavailableError(
          'The client certificate of the connection could not be read',
          { cause: error },
        )
        return toWebResponse(gate.respond(unavailable, gate.requiredScopes, raw.method))
      }
    }
    // Hono's request URL is absolute (scheme from the socket, host from the Host header), which is
    // what the DPoP htu check needs; behind a proxy set dpop.publicOrigin.
    // A verified-token cache hit is decided at once: no await for it.
    // Field by field: V8 (Node 20) builds an object literal that spreads another and then adds
    // properties through a slow path, about a microsecond per property.
    const answer = gate.authenticateNow({
      method: request.method,
      url: dpop ? gateUrl(c, raw.url) : request.url,
      headers: request.headers,
      authorization: 'authorization' in request ? request.authorization : undefined,
      scopes,
      body,
      clientCertificate: peer?.clientCertificate,
      remoteAddress: peer?.remoteAddress,
    })
    const result = answer instanceof Promise ? await answer : answer
    if (result.kind === 'accepted') {
      c.set('accessToken', result.accessToken)
      c.set('principal', result.principal)
      markAccepted(c, { gate, result })
      return null
    }
    // Neither bodyPending nor noHandlerRuns is ever passed: the gate answers accepted or refused.
    return toWebResponse((result as GateRefused).response)
  }

  const handlerFor =
    (scopes: readonly string[] | undefined): MiddlewareHandler<BearerEnv> =>
    async (c, next) => {
      const refusal = await authenticate(c, scopes)
      if (refusal !== null) return refusal
      await next()
    }

  const scoped = (scopes: readonly string[]): MiddlewareHandler<BearerEnv> => {
    // Checked up front: a scope with a space or a quote would break the challenge (RFC 6749 §3.3).
    if (!Array.isArray(scopes) || !scopes.every(isScopeToken)) {
      throw invalidArgument('scopes', 'must be an array of scope tokens')
    }
    return handlerFor(scopes.length === 0 ? NO_SCOPES : Object.freeze([...scopes]))
  }
  const metadataHandler: MiddlewareHandler = async (c, next) => {
    const raw = c.req.raw
    const answer = gate.metadata?.respond({
      method: raw.method,
      url: raw.url,
      headers: raw.headers,
    })
    if (answer !== null && answer !== undefined) return toWebResponse(answer)
    await next()
  }
  return Object.freeze(
    Object.assign(handlerFor(undefined), { gate, require: scoped, metadata: metadataHandler }),
  )
}

/**
 * Demands more scopes of a request `bearerAuth` accepted, for decisions made inside a handler
 * (an MCP `tools/call` whose tool needs its own scope): the 403 `insufficient_scope` `Response`
 * listing every scope the request needs (the route's and these), or `null` when the token has
 * them all.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) when the request was not accepted by `bearerAuth`.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 * @example
 * ```ts
 * app.post('/mcp', async (c) => {
 *   const refusal = requireScopes(c, ['files:delete'])
 *   if (refusal !== null) return refusal
 *   // ...
 * })
 * ```
 */
export function requireScopes(c: Context, scopes: readonly string[]): Response | null {
  const state = acceptedBy(c)
  if (state === undefined) throw invalidArgument('c', 'was not accepted by bearerAuth')
  const refusal = state.gate.requireScopes(state.result, scopes, c.req.method)
  return refusal === null ? null : toWebResponse(refusal.response)
}

/**
 * The request URL for the gate. `@hono/node-server` takes an absolute-form target
 * (`GET http://other.example/mcp`) as the request URL, origin included: the client named that
 * origin, so only its path and query go on, as under the other Node adapters (the gate then
 * refuses a DPoP proof unless `dpop.publicOrigin` is set).
 */
function gateUrl(c: Context, url: string): string {
  const incoming = (c.env as { incoming?: { url?: unknown } } | undefined)?.incoming
  const target = incoming?.url
  return typeof target === 'string' &&
    target !== '' &&
    target.charCodeAt(0) !== 0x2f &&
    builtFrom(c.req.raw, incoming as object)
    ? absoluteRequestUrl(undefined, undefined, target)
    : url
}

/**
 * The Node request of `@hono/node-server` (`c.env.incoming`), when it is one and the request being
 * handled was built from it. An app may hand another `Request` to an inner app's `fetch` with the
 * same env (a gateway that removes or replaces the caller's credentials, Hono's `mount()`): the
 * Node request then describes the outer request, and reading it would authenticate what the
 * caller sent instead of what the inner app got.
 */
function nodeRequest(
  c: Context,
): { url: string; headers: IncomingHttpHeaders; rawHeaders: string[] } | undefined {
  const incoming = (c.env as { incoming?: Partial<IncomingMessage> } | undefined)?.incoming
  return typeof incoming?.url === 'string' &&
    incoming.url.charCodeAt(0) === 0x2f &&
    typeof incoming.headers === 'object' &&
    incoming.headers !== null &&
    Array.isArray(incoming.rawHeaders) &&
    builtFrom(c.req.raw, incoming)
    ? { url: incoming.url, headers: incoming.headers, rawHeaders: incoming.rawHeaders }
    : undefined
}

// The key under which @hono/node-server's requests hold their Node request (a symbol it does not
// export), found on the first request that has it.
let incomingKey: symbol | undefined

/** Whether `raw` is the request `@hono/node-server` built from `incoming`. */
function builtFrom(raw: Request, incoming: object): boolean {
  const holder = raw as unknown as Record<symbol, unknown>
  if (incomingKey !== undefined && holder[incomingKey] === incoming) return true
  for (const key of Object.getOwnPropertySymbols(raw)) {
    if (holder[key] === incoming) {
      incomingKey = key
      return true
    }
  }
  return false
}

/** The connection of a request served by `@hono/node-server` (its env carries the Node request). */
function nodeServerConnection(c: Context): ConnectionInfo | undefined {
  const env = c.env as { incoming?: { socket?: unknown } } | undefined
  const socket = env?.incoming?.socket
  return socket === undefined ? undefined : nodeConnection(socket)
}

/** A custom reader's answer, with only well-typed members kept. */
function readConnection(
  connection: (c: Context) => ConnectionInfo | undefined,
  c: Context,
): ConnectionInfo | undefined {
  const info: unknown = connection(c)
  if (info === undefined || info === null) return undefined
  if (typeof info !== 'object') throw new TypeError('options.connection must return an object')
  const { then, clientCertificate, remoteAddress } = info as Record<string, unknown>
  if (typeof then === 'function') {
    // An async reader: its rejection would go unhandled and end the process, and what it
    // resolves to comes too late. A fault like any other reader's (503), never "no certificate".
    ;(then as (ok: unknown, fail: unknown) => unknown).call(info, undefined, () => undefined)
    throw new TypeError('options.connection must return the connection, not a promise')
  }
  return {
    clientCertificate: clientCertificate instanceof Uint8Array ? clientCertificate : undefined,
    remoteAddress: typeof remoteAddress === 'string' ? remoteAddress : undefined,
  }
}

function tooLarge(): Response {
  return Response.json(
    { error: 'invalid_request', error_description: 'The form body is too large' },
    { status: 413, headers: { 'cache-control': 'no-store' } },
  )
}
