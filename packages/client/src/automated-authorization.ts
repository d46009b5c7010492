import {
  DEFAULT_HTTP_TIMEOUT,
  abortReason,
  invalidArgument,
  readInteger,
  readOptionsObject,
  timerDelay,
  validateUrl,
} from '@bearerkit/core'
import { OAuthClientError } from './errors.js'
import { readRequestOptions } from './lib/options.js'
import { refuseLoopback } from './lib/urls.js'
import type { RequestOptions } from './request-options.js'

/** Options of {@link followAuthorizationRedirects}. */
export interface FollowAuthorizationOptions extends RequestOptions {
  /** The redirect URI of the request: the walk stops at the first `Location` under it. */
  redirectUri: string
  /** Most redirects to follow before giving up. Default 10. */
  maxRedirects?: number
  /**
   * Extra request headers (say, a test login cookie), sent only to the authorization URL's origin:
   * a hop to another origin does not get them.
   */
  headers?: Record<string, string>
}

/**
 * For automated hosts and tests: GETs an authorization URL and follows the authorization server's
 * own redirects by hand (never `fetch`'s `redirect: 'follow'`), keeping its cookies per origin,
 * until a `Location` points at `redirectUri`. That callback URL is returned without being
 * requested; pass it to {@link readAuthorizationResponse}. Only works where the server decides
 * without a human (a consent already given, an automated login); an answer other than a redirect
 * (a login page) is `ERR_UNEXPECTED_STATUS`.
 *
 * Each hop has the usual deadline (also through a custom `fetch` that ignores its `AbortSignal`);
 * bodies are dropped unread. Only http(s) locations are followed, at most `maxRedirects` of them,
 * and a location on a loopback host only when `authorizationUrl` is on loopback itself
 * (`ERR_INVALID_RESPONSE`); the redirect URI is never requested, so it may be anywhere.
 *
 * @throws {@link OAuthClientError} `ERR_UNEXPECTED_STATUS`, `ERR_INVALID_RESPONSE`, request errors.
 * @example
 * ```ts
 * const callback = await followAuthorizationRedirects(pending.url, { redirectUri: pending.redirectUri })
 * const code = readAuthorizationResponse(pending, callback)
 * ```
 */
export async function followAuthorizationRedirects(
  authorizationUrl: URL | string,
  options: FollowAuthorizationOptions,
): Promise<URL> {
  const { request, rest } = readRequestOptions('options', options, [
    'redirectUri',
    'maxRedirects',
    'headers',
  ])
  const redirect = validateUrl('options.redirectUri', rest.redirectUri)
  const maxRedirects = readInteger('options.maxRedirects', rest.maxRedirects, 10, 1)
  const extra = readOptionsObject('options.headers', rest.headers)
  for (const [name, value] of Object.entries(extra)) {
    if (typeof value !== 'string')
      throw invalidArgument(`options.headers.${name}`, 'must be a string')
  }
  const doFetch = request.fetch ?? fetch
  const jar = new Map<string, Map<string, string>>()
  let url = new URL(authorizationUrl)
  const origin = url.origin
  for (let hop = 0; hop <= maxRedirects; hop++) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new OAuthClientError(
        'ERR_INVALID_RESPONSE',
        'The authorization server redirected to a URL that is not http(s)',
      )
    }
    const cookies = jar.get(url.origin)
    const headers = (url.origin === origin ? { ...extra } : {}) as Record<string, string>
    if (cookies !== undefined && cookies.size > 0) {
      headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    }
    const response = await hopRequest(doFetch, url, headers, request)
    storeCookies(jar, url.origin, response.headers)
    const location = response.headers.get('location')
    if (response.status < 300 || response.status >= 400 || location === null) {
      throw new OAuthClientError(
        'ERR_UNEXPECTED_STATUS',
        `The authorization server answered ${response.status} instead of redirecting (it may want a user)`,
        { status: response.status, url: url.origin + url.pathname },
      )
    }
    const next = new URL(location, url)
    if (next.origin === redirect.origin && next.pathname === redirect.pathname) return next
    refuseLoopback(next, origin, 'Location', 'Authorization redirect')
    url = next
  }
  throw new OAuthClientError(
    'ERR_UNEXPECTED_STATUS',
    `More than ${maxRedirects} redirects before reaching the redirect URI`,
  )
}

// The hop itself: redirects are the point here, so it uses fetch with redirect: 'manual' under
// the same deadline as every other request (the body is dropped unread). Every await races the
// deadline and the caller's abort: a custom fetch that ignores its AbortSignal, or a body whose
// cancel() never settles, must not hold the caller.
async function hopRequest(
  doFetch: typeof fetch,
  url: URL,
  headers: Record<string, string>,
  request: RequestOptions,
): Promise<{ status: number; headers: Headers }> {
  const caller = request.signal
  const aborted = (): boolean => caller?.aborted === true
  if (aborted()) throw abortReason(caller as AbortSignal)
  const controller = new AbortController()
  let expire!: (error: unknown) => void
  const deadline = new Promise<never>((_, reject) => {
    expire = reject
  })
  // It may fire after the hop is over, when nobody listens: that is not an error.
  deadline.catch(() => undefined)
  // The deadline is rejected before the fetch is aborted, so that a race in progress settles
  // with the timeout rather than with the fetch's AbortError.
  const timer = setTimeout(
    () => {
      expire(
        new OAuthClientError('ERR_REQUEST_TIMEOUT', 'Authorization request: the request timed out'),
      )
      controller.abort()
    },
    timerDelay(request.timeout ?? DEFAULT_HTTP_TIMEOUT),
  )
  const onAbort = (): void => {
    controller.abort()
    expire(abortReason(caller as AbortSignal))
  }
  caller?.addEventListener('abort', onAbort, { once: true })
  try {
    const response = await Promise.race([
      doFetch(url, { headers, redirect: 'manual', signal: controller.signal }),
      deadline,
    ])
    const body = response.body
    if (body !== null) {
      await Promise.race([
        Promise.resolve()
          .then(() => body.cancel())
          .catch(() => undefined),
        deadline,
      ])
    }
    return { status: response.status, headers: response.headers }
  } catch (cause) {
    if (aborted()) throw abortReason(caller as AbortSignal)
    if (cause instanceof OAuthClientError) throw cause
    throw new OAuthClientError('ERR_REQUEST_FAILED', 'Authorization request: the request failed', {
      cause,
    })
  } finally {
    clearTimeout(timer)
    caller?.removeEventListener('abort', onAbort)
  }
}

function storeCookies(
  jar: Map<string, Map<string, string>>,
  origin: string,
  headers: Headers,
): void {
  for (const line of headers.getSetCookie()) {
    const pair = line.split(';', 1)[0] ?? ''
    const eq = pair.indexOf('=')
    if (eq <= 0) continue
    let cookies = jar.get(origin)
    if (cookies === undefined) jar.set(origin, (cookies = new Map<string, string>()))
    cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
  }
}
