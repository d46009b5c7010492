import { abortReason } from './abort.js'
import { VerifierUnavailableError, invalidArgument } from './errors.js'

/** Options of {@link httpRequest} and {@link fetchJson}. */
export interface HttpRequestOptions {
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Whole-request deadline (connect, headers and body), in milliseconds. Default 5,000. */
  timeout?: number
  /** Largest accepted response body, in bytes. Default 512 KiB. */
  maxBytes?: number
  /** Cancels the request; the promise then rejects with the signal's reason. */
  signal?: AbortSignal
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch
}

/** A response read in full within the limits. */
export interface HttpResponse {
  status: number
  headers: Headers
  body: string
}

/** Default body limit for HTTP responses. */
export const DEFAULT_MAX_RESPONSE_BYTES = 512 * 1024
/** Default deadline of an HTTP request. */
export const DEFAULT_HTTP_TIMEOUT = 5000

function unavailable(what: string, reason: string, cause?: unknown): VerifierUnavailableError {
  return new VerifierUnavailableError(`${what}: ${describe(reason)}`, {
    reason,
    ...(cause === undefined ? {} : { cause }),
  })
}

function describe(reason: string): string {
  switch (reason) {
    case 'timeout':
      return 'the request timed out'
    case 'network':
      return 'the request failed'
    case 'redirect':
      return 'the server answered with a redirect, which is not followed'
    case 'too_large':
      return 'the response is larger than allowed'
    case 'content_type':
      return 'the response is not JSON'
    case 'invalid_json':
      return 'the response body is not valid JSON'
    default:
      return 'the server answered with an unexpected status'
  }
}

/**
 * Parses a `Retry-After` header (seconds or an HTTP date) into seconds from `now`, or `undefined`.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value === '') return undefined
  if (/^\d+$/.test(value)) return Math.min(Number(value), 86_400)
  const date = Date.parse(value)
  if (Number.isNaN(date)) return undefined
  return Math.min(Math.max(0, Math.ceil((date - now) / 1000)), 86_400)
}

/**
 * Makes one HTTP request with the guards a verifier needs against its upstream: a deadline for the
 * whole exchange, a body size limit, and no redirects followed (a 3xx is an error). Every failure
 * is a `VerifierUnavailableError` with a stable `reason` (`timeout`, `network`, `redirect`,
 * `too_large`); an abort by the caller rejects with the caller's reason instead. Any status other
 * than 3xx is returned for the caller to judge.
 *
 * @param what Names the upstream in error messages, e.g. `'JWKS request'`.
 */
export async function httpRequest(
  url: string | URL,
  what: string,
  options: HttpRequestOptions = {},
): Promise<HttpResponse> {
  const timeout = options.timeout ?? DEFAULT_HTTP_TIMEOUT
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  const doFetch = options.fetch ?? fetch
  // One controller per request, tied to the caller's signal by a listener removed at the end:
  // AbortSignal.any() on a long-lived caller signal keeps every request's signal alive on Node 20.
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeout)
  const caller = options.signal
  const onCallerAbort = (): void => controller.abort()
  if (caller?.aborted) controller.abort()
  else caller?.addEventListener('abort', onCallerAbort, { once: true })
  const failure = (error: unknown): Error => {
    if (caller?.aborted) return abortReason(caller)
    if (timedOut) return unavailable(what, 'timeout', error)
    return unavailable(what, 'network', error)
  }
  try {
    let response: Response
    try {
      response = await doFetch(url, {
        method: options.method ?? 'GET',
        redirect: 'manual',
        signal: controller.signal,
        ...(options.headers === undefined ? {} : { headers: options.headers }),
        ...(options.body === undefined ? {} : { body: options.body }),
      })
    } catch (error) {
      throw failure(error)
    }
    const chunks: Uint8Array[] = []
    try {
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel().catch(() => undefined)
        throw unavailable(what, 'redirect')
      }
      const declared = Number(response.headers.get('content-length'))
      if (Number.isFinite(declared) && declared > maxBytes) {
        await response.body?.cancel().catch(() => undefined)
        throw unavailable(what, 'too_large')
      }
      let size = 0
      if (response.body !== null) {
        for await (const chunk of response.body as ReadableStream<Uint8Array>) {
          size += chunk.byteLength
          if (size > maxBytes) {
            await response.body.cancel().catch(() => undefined)
            throw unavailable(what, 'too_large')
          }
          chunks.push(chunk)
        }
      }
    } catch (error) {
      if (error instanceof VerifierUnavailableError) throw error
      throw failure(error)
    }
    return {
      status: response.status,
      headers: response.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    }
  } finally {
    clearTimeout(timer)
    caller?.removeEventListener('abort', onCallerAbort)
  }
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/**
 * GETs (or POSTs) a JSON document and returns it parsed, checking in a fixed order: transport
 * ({@link httpRequest}), status 200, a JSON content type, then the body parses as JSON. Each failure
 * is a `VerifierUnavailableError` with its `reason` (`status`, `content_type`, `invalid_json`); for
 * 429 and 5xx answers the upstream's `Retry-After` is carried along.
 */
export async function fetchJson(
  url: string | URL,
  what: string,
  options: HttpRequestOptions = {},
): Promise<unknown> {
  const response = await httpRequest(url, what, {
    ...options,
    headers: { accept: 'application/json', ...options.headers },
  })
  if (response.status !== 200) {
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
    throw new VerifierUnavailableError(`${what}: ${describe('status')} (${response.status})`, {
      reason: 'status',
      upstreamStatus: response.status,
      ...(retryAfter === undefined ? {} : { retryAfter }),
    })
  }
  if (!JSON_TYPE.test(response.headers.get('content-type') ?? '')) {
    throw unavailable(what, 'content_type')
  }
  try {
    return JSON.parse(response.body) as unknown
  } catch (error) {
    throw unavailable(what, 'invalid_json', error)
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * Checks that an option is an absolute `https:` URL (plain `http:` is allowed only for loopback
 * hosts, for local development and tests) without credentials or a fragment, and returns it
 * parsed.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming `option`.
 */
export function validateUrl(option: string, value: unknown): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw invalidArgument(option, 'must be a URL string')
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalidArgument(option, 'must be an absolute URL')
  }
  const loopback = LOOPBACK.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw invalidArgument(option, 'must use https (http is allowed only for loopback hosts)')
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidArgument(option, 'must not contain credentials')
  }
  if (url.hash !== '') throw invalidArgument(option, 'must not contain a fragment')
  return url
}
