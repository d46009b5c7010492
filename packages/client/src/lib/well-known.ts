import type { RequestOptions } from '../request-options.js'
import { OAuthClientError } from '../errors.js'
import { jsonObject, send, statusError } from './http.js'

/**
 * One URL tried during discovery and what came of it, so that a caller (the CLI) can show which
 * locations were tried and why each was passed over.
 */
export interface DiscoveryAttempt {
  url: string
  /** `found`: a JSON document was read; `not_found`: a 4xx, so the next location was tried. */
  outcome: 'found' | 'not_found'
  status: number
}

/** The first document found, or none, and every attempt made. */
export interface WellKnownResult {
  found: { url: URL; document: Record<string, unknown> } | undefined
  attempts: DiscoveryAttempt[]
}

/**
 * GETs each URL in turn until one answers 200 with a JSON object. A 4xx other than 429 means "not
 * here": the next URL is tried. Anything else (5xx, 429, a redirect, a timeout, a body that is not
 * a JSON object) stops the search with an error, because a server that is down or misbehaving must
 * not be mistaken for one that has no document.
 */
export async function firstDocument(
  urls: readonly URL[],
  what: string,
  options: RequestOptions,
  attempts: DiscoveryAttempt[] = [],
): Promise<WellKnownResult> {
  for (const url of urls) {
    const response = await send(url, what, { ...options, headers: { accept: 'application/json' } })
    if (response.status === 200) {
      const document = jsonObject(response, what, url)
      attempts.push({ url: url.href, outcome: 'found', status: 200 })
      return { found: { url, document }, attempts }
    }
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      attempts.push({ url: url.href, outcome: 'not_found', status: response.status })
      continue
    }
    throw statusError(response, what, url)
  }
  return { found: undefined, attempts }
}

/** Reads an optional array-of-strings field, or fails with `ERR_INVALID_RESPONSE`. */
export function stringArray(
  document: Record<string, unknown>,
  field: string,
  what: string,
  url: URL,
): string[] | undefined {
  const value = document[field]
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new OAuthClientError(
      'ERR_INVALID_RESPONSE',
      `${what}: ${field} must be an array of strings`,
      {
        url: url.href,
      },
    )
  }
  return value
}
