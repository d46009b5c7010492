import {
  httpRequest,
  isVerifierUnavailable,
  parseRetryAfter,
  type HttpResponse,
} from '@bearerkit/core'
import { OAuthClientError, type OAuthClientErrorCode, type OAuthErrorBody } from '../errors.js'
import type { RequestOptions } from '../request-options.js'

/** What a request needs beyond {@link RequestOptions}. */
export interface SendOptions extends RequestOptions {
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
}

const REASON_CODES: Readonly<Record<string, OAuthClientErrorCode>> = {
  timeout: 'ERR_REQUEST_TIMEOUT',
  redirect: 'ERR_REDIRECT_REFUSED',
  too_large: 'ERR_RESPONSE_TOO_LARGE',
}

/**
 * One request through core's guarded `httpRequest` (deadline, size limit, redirects refused),
 * with its failures turned into {@link OAuthClientError}s. An abort by the caller rejects with the
 * caller's reason, untouched.
 */
export async function send(url: URL, what: string, options: SendOptions): Promise<HttpResponse> {
  try {
    return await httpRequest(url, what, {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    })
  } catch (error) {
    if (!isVerifierUnavailable(error)) throw error
    const code = REASON_CODES[error.reason ?? ''] ?? 'ERR_REQUEST_FAILED'
    throw new OAuthClientError(code, error.message, { cause: error, url: url.href })
  }
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/** True when the response says it is JSON. */
export function isJson(response: HttpResponse): boolean {
  return JSON_TYPE.test(response.headers.get('content-type') ?? '')
}

/**
 * The body as a JSON object, checked in a fixed order: content type, parse, object. Anything else
 * is `ERR_INVALID_RESPONSE`.
 */
export function jsonObject(
  response: HttpResponse,
  what: string,
  url: URL,
): Record<string, unknown> {
  if (!isJson(response)) {
    throw new OAuthClientError('ERR_INVALID_RESPONSE', `${what}: the response is not JSON`, {
      status: response.status,
      url: url.href,
    })
  }
  let value: unknown
  try {
    value = JSON.parse(response.body)
  } catch {
    // No cause: the SyntaxError quotes the body around the fault, and a token endpoint's body
    // holds tokens; loggers print causes.
    throw new OAuthClientError('ERR_INVALID_RESPONSE', `${what}: the body is not valid JSON`, {
      status: response.status,
      url: url.href,
    })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OAuthClientError('ERR_INVALID_RESPONSE', `${what}: the body is not a JSON object`, {
      status: response.status,
      url: url.href,
    })
  }
  return value as Record<string, unknown>
}

/** The OAuth error JSON in a response (RFC 6749 §5.2), when there is one with a string `error`. */
export function oauthErrorBody(response: HttpResponse): OAuthErrorBody | undefined {
  if (!isJson(response)) return undefined
  try {
    const value: unknown = JSON.parse(response.body)
    if (
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof (value as { error?: unknown }).error === 'string'
    ) {
      return value as OAuthErrorBody
    }
  } catch {
    // Not JSON after all: the status alone describes the failure.
  }
  return undefined
}

/**
 * The error for a response with a status the step does not accept: the server's OAuth error JSON
 * when it sent one (passed on intact), otherwise the bare status.
 */
export function statusError(response: HttpResponse, what: string, url: URL): OAuthClientError {
  const body = oauthErrorBody(response)
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'))
  const common = {
    status: response.status,
    url: url.href,
    ...(retryAfter === undefined ? {} : { retryAfter }),
  }
  if (body !== undefined) {
    return new OAuthClientError(
      'ERR_OAUTH_ERROR_RESPONSE',
      `${what}: the server answered ${response.status} ${describeOAuthError(body.error)}`,
      { ...common, oauthError: body },
    )
  }
  return new OAuthClientError(
    'ERR_UNEXPECTED_STATUS',
    `${what}: unexpected status ${response.status}`,
    common,
  )
}

// The error code is echoed only when it looks like a registered one (`invalid_grant`), so that a
// hostile server cannot write arbitrary text, or a secret it was sent, into our messages. The
// server's JSON stays intact on the error object.
function describeOAuthError(error: string): string {
  return /^[a-z][a-z0-9_]{0,39}$/.test(error) ? `\`${error}\`` : 'an OAuth error'
}
