import { abortReason } from './abort.js'
import { timerDelay } from './deadline.js'
import { VerifierUnavailableError, invalidArgument, isVerifierUnavailable } from './errors.js'

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
  /** Clock in milliseconds since the epoch, for `Retry-After` dates. Default `Date.now`. */
  now?: () => number
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
  // The hard deadline: a fetch that ignores its AbortSignal, or a body stream that is not tied
  // to it, would otherwise keep the caller waiting forever. Every await below races it.
  let expire!: (error: Error) => void
  const deadline = new Promise<never>((_, reject) => {
    expire = reject
  })
  // Nobody may be listening when it fires (the request may be done): that is not an error.
  deadline.catch(() => undefined)
  const caller = options.signal
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
    expire(unavailable(what, 'timeout'))
  }, timerDelay(timeout))
  const onCallerAbort = (): void => {
    controller.abort()
    expire(abortReason(caller as AbortSignal))
  }
  if (caller?.aborted) onCallerAbort()
  else caller?.addEventListener('abort', onCallerAbort, { once: true })
  const failure = (error: unknown): Error => {
    if (caller?.aborted) return abortReason(caller)
    if (timedOut) {
      return isVerifierUnavailable(error) ? error : unavailable(what, 'timeout', error)
    }
    return unavailable(what, 'network', error)
  }
  // What is left to release when the exchange ends early (redirect, too large, timeout, abort).
  let release: (() => Promise<void>) | undefined
  try {
    let response: Response
    try {
      response = await Promise.race([
        doFetch(url, {
          method: options.method ?? 'GET',
          redirect: 'manual',
          signal: controller.signal,
          ...(options.headers === undefined ? {} : { headers: options.headers }),
          ...(options.body === undefined ? {} : { body: options.body }),
        }),
        deadline,
      ])
    } catch (error) {
      throw failure(error)
    }
    const body = response.body
    if (body !== null) release = () => body.cancel()
    const chunks: Uint8Array[] = []
    try {
      if (response.status >= 300 && response.status < 400) {
        throw unavailable(what, 'redirect')
      }
      const declared = Number(response.headers.get('content-length'))
      if (Number.isFinite(declared) && declared > maxBytes) {
        throw unavailable(what, 'too_large')
      }
      if (body !== null) {
        const reader = (body as ReadableStream<Uint8Array>).getReader()
        release = () => reader.cancel()
        let size = 0
        for (;;) {
          const { done, value } = await Promise.race([reader.read(), deadline])
          if (done) break
          size += value.byteLength
          if (size > maxBytes) throw unavailable(what, 'too_large')
          chunks.push(value)
        }
        release = undefined
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
    // A body left unread is released without waiting: a stream that never ends must not hold
    // the caller, and a stream that fails to cancel has nothing more to say.
    if (release !== undefined) {
      try {
        release().catch(() => undefined)
      } catch {
        // A body that throws on cancel() is already as released as it will be.
      }
    }
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
    // An HTTP-date Retry-After is measured against the injected clock, as every other time.
    const retryAfter = parseRetryAfter(
      response.headers.get('retry-after'),
      options.now === undefined ? Date.now() : options.now(),
    )
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
  } catch {
    // No cause: the SyntaxError quotes the body around the fault, which may be anything the
    // server sent (a token included), and loggers print causes.
    throw unavailable(what, 'invalid_json')
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
