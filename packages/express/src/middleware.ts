import { InvalidRequestError, invalidArgument, isBearerError, isScopeToken } from '@bearerkit/core'
import {
  absoluteRequestUrl,
  authorizationFromRawHeaders,
  createBearerGate,
  nodeConnection,
  type BearerGate,
  type GateRefused,
  type GateResult,
} from '@bearerkit/http'
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express'
import { hasBody, isFormType, readFormBody } from './lib/form-body.js'
import { sendGateResponse } from './lib/send.js'
import { authenticated } from './lib/state.js'
import type { BearerAuthOptions } from './options.js'
import './types.js'

/** The middleware {@link bearerAuth} returns, with its per-route and error-path companions. */
export interface BearerMiddleware extends RequestHandler {
  /** The gate every decision goes through (for `respond`, `metadata` ...). */
  readonly gate: BearerGate
  /**
   * The same authentication with `scopes` on top of `requiredScopes`, for one route. On a request
   * this middleware already accepted (`app.use(auth)` before the route) only the scopes are
   * checked: the token is not verified twice.
   */
  require(scopes: readonly string[]): RequestHandler
  /**
   * Answers the RFC 9728 metadata document (and its CORS preflight) and passes every other
   * request on. Mount it with `app.use` when the middleware itself guards single routes only.
   */
  readonly metadata: RequestHandler
  /**
   * An Express error handler that renders any `BearerError` a handler throws or passes to
   * `next` as the exact RFC 6750 answer with this gate's challenge; other errors go on.
   */
  readonly errorHandler: ErrorRequestHandler
}

const DEFAULT_FORM_LIMIT = 100 * 1024
const NO_SCOPES: readonly string[] = Object.freeze([])
const TOO_LARGE = JSON.stringify({
  error: 'invalid_request',
  error_description: 'The form body is too large',
})

/**
 * Express middleware that authenticates requests with bearer tokens (RFC 6750), checks audience
 * (RFC 8707) and scopes, answers the RFC 9728 metadata document, and sets `req.accessToken` and
 * `req.principal`. A refused request gets the exact answer of `@bearerkit/http`'s gate (status,
 * `WWW-Authenticate`, `Retry-After`, JSON body); the route's handler never runs.
 *
 * Works with Express 5 and 4: it returns nothing to Express and reports failures through `next`.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3
 * @see https://www.rfc-editor.org/rfc/rfc9728 RFC 9728
 * @example
 * ```ts
 * import express from 'express'
 * import { bearerAuth } from '@bearerkit/express'
 *
 * const auth = bearerAuth({ verifier, resource, requiredScopes: ['mcp:tools'] })
 * const app = express()
 * app.use(auth)
 * app.get('/whoami', (req, res) => { res.json({ client: req.accessToken?.clientId }) })
 * app.post('/admin', auth.require(['admin']), handler)
 * ```
 */
export function bearerAuth(options: BearerAuthOptions): BearerMiddleware {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument('options', 'must be an object with a verifier')
  }
  const { formBodyLimit = DEFAULT_FORM_LIMIT, ...gateOptions } = options
  if (!Number.isInteger(formBodyLimit) || formBodyLimit < 0) {
    throw invalidArgument('options.formBodyLimit', 'must be a whole number of bytes (0 or more)')
  }
  const gate = createBearerGate(gateOptions)
  const dpop = gateOptions.dpop !== undefined && gateOptions.dpop !== false
  const mtls = gateOptions.mtls !== undefined && gateOptions.mtls !== false

  const refuse = (res: Response, refusal: GateRefused): void => {
    sendGateResponse(res, refusal.response)
  }

  // Answers at once when nothing is awaited (no form body to read, a verified-token cache hit):
  // the request then goes on without a promise of the adapter's.
  const authenticate = (
    req: Request,
    res: Response,
    scopes: readonly string[] | undefined,
  ): boolean | Promise<boolean> => {
    const state = authenticated.get(req)
    if (state !== undefined && state.gate === gate) {
      // Accepted by this gate earlier in the chain: only the route's scopes are left to check.
      const refusal =
        scopes === undefined ? null : gate.requireScopes(state.result, scopes, req.method)
      if (refusal === null) return true
      refuse(res, refusal)
      return false
    }
    // originalUrl: under app.use('/api', ...) req.url has lost its prefix, and both the query
    // check and the metadata path are about the URL the client sent.
    const metadata = gate.metadata?.respond({
      method: req.method,
      url: req.originalUrl,
      headers: req.headers,
    })
    if (metadata !== null && metadata !== undefined) {
      sendGateResponse(res, metadata)
      return false
    }
    // RFC 6750 §2.2: only a form body can hold a token; any other request is decided at once.
    if (!isFormType(req.headers['content-type'])) return decide(req, res, scopes, undefined)
    return formBody(req, res, formBodyLimit, gate).then((body) =>
      body === ANSWERED ? false : decide(req, res, scopes, body),
    )
  }

  const decide = (
    req: Request,
    res: Response,
    scopes: readonly string[] | undefined,
    body: unknown,
  ): boolean | Promise<boolean> => {
    const result = gate.authenticateNow({
      method: req.method,
      // RFC 9449 §4.3: htu names the URL the client called. Express's protocol and host follow
      // its 'trust proxy' setting; only DPoP needs them, so the plain path keeps the path.
      url: dpop ? publicUrl(req) : req.originalUrl,
      headers: req.headers,
      // Node keeps only the first of repeated Authorization lines in req.headers.
      authorization: authorizationFromRawHeaders(req.rawHeaders),
      scopes,
      body,
      // RFC 8705 §3: the certificate of the TLS connection (https.createServer with requestCert).
      ...(mtls ? nodeConnection(req.socket) : undefined),
    })
    return result instanceof Promise
      ? result.then((answer) => settle(req, res, answer))
      : settle(req, res, result)
  }

  const settle = (req: Request, res: Response, result: GateResult): boolean => {
    if (result.kind === 'accepted') {
      req.accessToken = result.accessToken
      req.principal = result.principal
      authenticated.set(req, { gate, result })
      return true
    }
    // Neither bodyPending nor noHandlerRuns is ever passed, so the gate answers accepted or
    // refused only.
    refuse(res, result as GateRefused)
    return false
  }

  const handlerFor = (scopes: readonly string[] | undefined): RequestHandler => {
    return (req: Request, res: Response, next: NextFunction): void => {
      let pass: boolean | Promise<boolean>
      try {
        pass = authenticate(req, res, scopes)
      } catch (error) {
        next(error)
        return
      }
      if (pass instanceof Promise) {
        pass.then(
          (passed) => {
            if (passed) next()
          },
          (error: unknown) => next(error),
        )
      } else if (pass) next()
    }
  }

  const middleware = handlerFor(undefined) as BearerMiddleware
  const scoped = (scopes: readonly string[]): RequestHandler => {
    // Checked up front: a scope with a space or a quote would break the challenge (RFC 6749 §3.3).
    if (!Array.isArray(scopes) || !scopes.every(isScopeToken)) {
      throw invalidArgument('scopes', 'must be an array of scope tokens')
    }
    return handlerFor(scopes.length === 0 ? NO_SCOPES : Object.freeze([...scopes]))
  }
  const metadataHandler: RequestHandler = (req, res, next) => {
    const answer = gate.metadata?.respond({
      method: req.method,
      url: req.originalUrl,
      headers: req.headers,
    })
    if (answer === null || answer === undefined) next()
    else sendGateResponse(res, answer)
  }
  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
    if (!isBearerError(error) || res.headersSent) {
      next(error)
      return
    }
    const scopes = authenticated.get(req)?.result.scopes ?? gate.requiredScopes
    sendGateResponse(res, gate.respond(error, scopes, req.method))
  }
  return Object.freeze(
    Object.assign(middleware, {
      gate,
      require: scoped,
      metadata: metadataHandler,
      errorHandler,
    }),
  )
}

/**
 * Demands more scopes of a request this middleware accepted, for decisions made inside a handler
 * (an MCP `tools/call` whose tool needs its own scope). It answers the 403 `insufficient_scope`
 * listing every scope the request needs (the route's and these) and returns `false`, so the
 * client can step up in one authorization request; `true` when the token has them all.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) when the request was not accepted by `bearerAuth`.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 RFC 6750 §3.1
 * @example
 * ```ts
 * app.post('/mcp', auth, express.json(), (req, res) => {
 *   if (isToolCall(req.body, 'delete_file') && !requireScopes(req, res, ['files:delete'])) return
 *   // ...
 * })
 * ```
 */
export function requireScopes(req: Request, res: Response, scopes: readonly string[]): boolean {
  const state = authenticated.get(req)
  if (state === undefined) throw invalidArgument('req', 'was not accepted by bearerAuth')
  const refusal = state.gate.requireScopes(state.result, scopes, req.method)
  if (refusal === null) return true
  sendGateResponse(res, refusal.response)
  return false
}

// What formBody answers when it has answered the request itself (413, or a body it could not read).
const ANSWERED = Symbol('answered')
const UNREADABLE_BODY = new InvalidRequestError('The form body could not be read')

/**
 * The absolute URL the client called, for the DPoP `htu` check: scheme and host as Express
 * derives them (`X-Forwarded-Proto` and `X-Forwarded-Host` count only under 'trust proxy'). Without
 * a host, or with one that is not `host[:port]` (`api.example.com/other#` would move the path), the
 * relative URL goes on, and the gate refuses the proof unless `dpop.publicOrigin` is set.
 */
function publicUrl(req: Request): string {
  return absoluteRequestUrl(req.protocol, hostWithPort(req), req.originalUrl)
}

/**
 * `req.host` of Express 5: the `Host` header, or the first `X-Forwarded-Host` when the peer is
 * trusted ('trust proxy'), port included. Express 4's `req.host` is a deprecated alias of
 * `req.hostname`, which drops the port: there the same value is derived the way Express 4 derives
 * `req.hostname`, without dropping the port. (Express 4 still has `req.param`, which 5 removed.)
 */
function hostWithPort(req: Request): string | undefined {
  let host: unknown
  if (typeof (req as { param?: unknown }).param !== 'function') {
    host = req.host
  } else {
    const trust = req.app.get('trust proxy fn') as (
      address: string | undefined,
      i: number,
    ) => boolean
    const forwarded = req.get('x-forwarded-host')
    if (forwarded !== undefined && forwarded !== '' && trust(req.socket.remoteAddress, 0)) {
      const comma = forwarded.indexOf(',')
      host = comma === -1 ? forwarded : forwarded.slice(0, comma).trimEnd()
    } else {
      host = req.get('host')
    }
  }
  return typeof host === 'string' && host !== '' ? host : undefined
}

/**
 * The form body for the gate: the one a parser already produced, else the text read here (RFC
 * 6750 §2.2: a token in it is refused), `undefined` for any other request.
 */
async function formBody(
  req: Request,
  res: Response,
  limit: number,
  gate: BearerGate,
): Promise<unknown> {
  if (!isFormType(req.headers['content-type'])) return undefined
  // Whether a parser ran is told by the stream, not by req.body: body-parser 1 (Express 4) sets
  // req.body = {} on requests it does not parse, which would pass for an empty form.
  if (req.readableEnded || (req as { _body?: boolean })._body === true) {
    return req.body as unknown
  }
  if (!hasBody(req)) return undefined
  const read = await readFormBody(req, limit)
  if (read.kind === 'text') {
    req.body = Object.fromEntries(new URLSearchParams(read.text))
    return read.text
  }
  if (read.kind === 'failed') {
    // The client went away mid-body, or the stream broke: answered here like any refusal. Passed
    // to `next` it would reach the application's error handlers, and one that calls `next()`
    // without the error resumes the chain, running the routes after it unauthenticated.
    sendGateResponse(res, gate.respond(UNREADABLE_BODY, gate.requiredScopes, req.method))
    return ANSWERED
  }
  res.writeHead(413, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  })
  res.end(TOO_LARGE)
  return ANSWERED
}
