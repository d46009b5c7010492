import { setTimeout as delay } from 'node:timers/promises'
import {
  httpRequest,
  isVerifierUnavailable,
  parseRetryAfter,
  type HttpResponse,
} from '@bearerkit/core'
import { authenticateClient } from './client-auth.js'
import type { Endpoint } from './endpoint.js'
import { JWT_RESPONSE_TYPE, verifyJwtResponse, type HttpGuards } from './jwt-response.js'
import type { JwtResponseSettings, Settings } from './resolve-options.js'
import { unavailable } from './unavailable.js'

const WHAT = 'Token introspection request'
const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/** Longest pause between two attempts, in milliseconds. */
const MAX_BACKOFF = 1000

/**
 * Pause before retry number `attempt` (0-based): exponential from 100 ms, capped, with "equal
 * jitter" (half fixed, half random) so a fleet of servers does not retry in step.
 */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF, 100 * 2 ** attempt)
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

function retryable(response: HttpResponse): boolean {
  // A 5xx that says when to come back is taken at its word rather than hammered.
  return response.status >= 500 && response.headers.get('retry-after') === null
}

/**
 * Sends one introspection request (RFC 7662 §2.1) with retries, and returns the answer's body:
 * the parsed JSON document, or the `token_introspection` member of a verified RFC 9701 JWT.
 * Checks run in a fixed order: transport, status 200, content type, JSON (or JWT), and the
 * caller then checks the members. Every failure is `VerifierUnavailableError`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1 RFC 7662 §2.1
 */
export async function introspect(
  token: string,
  endpoint: Endpoint,
  settings: Settings,
  guards: HttpGuards,
): Promise<unknown> {
  const accept = endpoint.keys === null ? 'application/json' : JWT_RESPONSE_TYPE
  const audience = settings.issuer ?? endpoint.url.href
  let response: HttpResponse | undefined
  for (let attempt = 0; response === undefined; attempt++) {
    const last = attempt >= settings.retries
    // RFC 7662 §2.1: token and token_type_hint, form-encoded, POSTed.
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' })
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept,
    }
    await authenticateClient(settings.clientAuth, body, headers, audience, guards.now())
    try {
      const answer = await httpRequest(endpoint.url, WHAT, {
        method: 'POST',
        headers,
        body: body.toString(),
        timeout: guards.timeout,
        maxBytes: guards.maxBytes,
        signal: guards.signal,
        ...(guards.fetch === undefined ? {} : { fetch: guards.fetch }),
      })
      if (last || !retryable(answer)) response = answer
    } catch (error) {
      // Only a failed connection is retried: a timeout means the server is slow, and another
      // request would only add to its load and to the caller's wait.
      if (last || !isVerifierUnavailable(error) || error.reason !== 'network') throw error
    }
    if (response === undefined) {
      await delay(backoff(attempt), undefined, { signal: guards.signal }).catch(() => {
        throw guards.signal.reason
      })
    }
  }
  // RFC 7662 §2.2 wants `active: false` for a token the server does not handle, but some servers
  // answer 400 unsupported_token_type instead (RFC 7009 §2.2.1 wording). That is the server's
  // verdict on the token, not an outage: read it as inactive, so it is refused, never a 503.
  if (response.status === 400 && saysUnsupportedTokenType(response)) return { active: false }
  if (response.status !== 200) {
    throw unavailable(`${WHAT}: the server answered with status ${response.status}`, 'status', {
      retryAfter: parseRetryAfter(response.headers.get('retry-after'), guards.now()),
    })
  }
  const contentType = response.headers.get('content-type')
  if (endpoint.keys !== null) {
    return verifyJwtResponse(
      contentType,
      response.body,
      endpoint.keys,
      settings.jwtResponse as JwtResponseSettings,
      {
        issuer: settings.issuer as string,
        clientId: settings.clientAuth.clientId as string,
        at: guards.now(),
        token,
        signal: guards.signal,
      },
    )
  }
  if (!JSON_CONTENT_TYPE.test(contentType ?? '')) {
    throw unavailable(`${WHAT}: the response is not JSON`, 'content_type')
  }
  try {
    return JSON.parse(response.body) as unknown
  } catch {
    // No cause: the SyntaxError quotes the body around the fault, and the body may hold a token
    // (an answer that echoes it); loggers print causes (Fastify's does on a 503).
    throw unavailable(`${WHAT}: the response body is not valid JSON`, 'invalid_json')
  }
}

function saysUnsupportedTokenType(response: HttpResponse): boolean {
  if (!JSON_CONTENT_TYPE.test(response.headers.get('content-type') ?? '')) return false
  try {
    const body = JSON.parse(response.body) as unknown
    return (
      typeof body === 'object' &&
      body !== null &&
      (body as { error?: unknown }).error === 'unsupported_token_type'
    )
  } catch {
    return false
  }
}
