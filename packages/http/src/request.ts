/**
 * Request headers as a plain record, the shape Node's `IncomingHttpHeaders` has: lower-case names,
 * a string per header, a string array for a header sent more than once. Adapters pass their
 * framework's record as it is; nothing is copied.
 */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>

/**
 * What the gate needs to know about a request. Nothing here is Node-specific: a web-standard
 * `Request` gives `method`, `url` and `headers` directly.
 *
 * @example
 * ```ts
 * // web-standard
 * gate.authenticate({ method: request.method, url: request.url, headers: request.headers })
 * // node:http
 * gate.authenticate({
 *   method: req.method ?? 'GET',
 *   url: req.url ?? '/',
 *   headers: req.headers,
 *   authorization: authorizationFromRawHeaders(req.rawHeaders),
 * })
 * ```
 */
export interface GateRequest {
  /** The request method, upper case as sent (`GET`, `OPTIONS` ...). */
  readonly method: string
  /** The request target: an absolute URL, or the path and query as received (`/mcp?x=1`). */
  readonly url: string
  /** The request headers: a web-standard `Headers`, or a {@link HeaderRecord}. */
  readonly headers: Headers | HeaderRecord
  /**
   * The `Authorization` header value(s), when the adapter knows better than `headers`: Node keeps
   * only the first of repeated `Authorization` lines in `req.headers`, so an adapter over Node
   * passes {@link authorizationFromRawHeaders}`(req.rawHeaders)` and a second line is seen.
   */
  readonly authorization?: string | readonly string[] | undefined
  /** Scopes this request's route needs on top of the gate's `requiredScopes`. */
  readonly scopes?: readonly string[]
  /**
   * The parsed body, when the framework has parsed it (`URLSearchParams`, `FormData`, a plain
   * record, or the raw `application/x-www-form-urlencoded` text). Only a form body is looked at
   * (RFC 6750 §2.2). `undefined`: no body, or not read yet.
   */
  readonly body?: unknown
  /**
   * `true` when the body is not parsed yet but will be, and the adapter will then call
   * {@link BearerGate.checkBody}. A form request without an `Authorization` header is then
   * answered `pending` instead of 401, because its token may be in the body.
   */
  readonly bodyPending?: boolean
  /**
   * `true` only when nothing of the application would run for this request: a CORS layer answers
   * the preflight itself. Only then may a CORS preflight (`OPTIONS` with
   * `Access-Control-Request-Method`) pass without a token. Default `false`: the preflight is
   * authenticated like any other request, because a handler that answers `OPTIONS` (an
   * `all('/admin')` route) would otherwise run unauthenticated.
   */
  readonly noHandlerRuns?: boolean
  /** Aborts the verification (the client went away); passed to the verifier. */
  readonly signal?: AbortSignal
  /**
   * The DER client certificate of the TLS connection, when there is one (Node:
   * `socket.getPeerCertificate().raw`), for certificate-bound tokens (RFC 8705, gate option
   * `mtls`).
   */
  readonly clientCertificate?: Uint8Array | undefined
  /**
   * The peer address of the connection (not `X-Forwarded-For`): with `mtls.trustedProxies`, only
   * those peers' RFC 9440 `Client-Cert` header is believed.
   */
  readonly remoteAddress?: string | undefined
}

/**
 * The value(s) of the `Authorization` header from Node's `rawHeaders` (name, value, name, value
 * ...): a string when it was sent once, an array when it was sent more than once, `undefined` when
 * it was not sent. Node keeps only the first of repeated `Authorization` lines in `req.headers`;
 * two of them are a malformed request (RFC 6750 §2), which only `rawHeaders` shows.
 *
 * @example
 * ```ts
 * const authorization = authorizationFromRawHeaders(req.rawHeaders)
 * ```
 */
export function authorizationFromRawHeaders(
  rawHeaders: readonly string[],
): string | string[] | undefined {
  let first: string | undefined
  let all: string[] | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    // Lower-casing only the names of the right length spares a string per header.
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      const value = rawHeaders[i + 1] as string
      if (first === undefined) first = value
      else if (all === undefined) all = [first, value]
      else all.push(value)
    }
  }
  return all ?? first
}

/** One header of either shape. Names are lower case. */
export function readHeader(
  headers: Headers | HeaderRecord,
  name: string,
): string | readonly string[] | undefined {
  if (typeof (headers as Headers).get === 'function') {
    return (headers as Headers).get(name) ?? undefined
  }
  return (headers as HeaderRecord)[name]
}
