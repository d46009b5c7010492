import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** A response, built before it is written so that faults can alter it. */
export interface Reply {
  status: number
  headers: Record<string, string>
  body: string
}

/** Largest request body read, in bytes; larger bodies are answered 413. */
export const MAX_REQUEST_BYTES = 64 * 1024

/** A request body that could not be read: too large, or the connection failed. */
export class BodyError extends Error {
  readonly tooLarge: boolean
  constructor(tooLarge: boolean, options?: { cause?: unknown }) {
    super(tooLarge ? 'request body too large' : 'request body could not be read', options)
    this.tooLarge = tooLarge
  }
}

/** Reads a request body as UTF-8, refusing more than {@link MAX_REQUEST_BYTES}. */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.byteLength
      if (size > MAX_REQUEST_BYTES) throw new BodyError(true)
      chunks.push(chunk)
    }
  } catch (error) {
    if (error instanceof BodyError) throw error
    throw new BodyError(false, { cause: error })
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** A JSON reply; OAuth answers are never cached (RFC 6749 §5.1). */
export function jsonReply(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): Reply {
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...headers,
    },
    body: JSON.stringify(value),
  }
}

/**
 * An OAuth error reply (RFC 6749 §5.2): `{ error, error_description }`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 RFC 6749 §5.2
 */
export function oauthError(
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): Reply {
  return jsonReply(status, { error, error_description: description }, headers)
}

/** 405 with the methods the endpoint allows (RFC 9110 §15.5.6). */
export function methodNotAllowed(allow: string): Reply {
  return oauthError(405, 'invalid_request', `Use ${allow}`, { allow })
}

/** A parsed form body, or the reason it is not acceptable. */
export type FormResult = { form: URLSearchParams } | { error: Reply }

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i

/**
 * Parses an `application/x-www-form-urlencoded` body. Every parameter but those in `repeatable`
 * must appear at most once (RFC 6749 §3.2); a wrong content type or a repeated parameter is
 * `invalid_request`.
 */
export function parseForm(
  contentType: string | undefined,
  body: string,
  repeatable: readonly string[] = [],
): FormResult {
  if (!FORM_TYPE.test(contentType ?? '')) {
    return {
      error: oauthError(
        400,
        'invalid_request',
        'The request body must be application/x-www-form-urlencoded',
      ),
    }
  }
  const form = new URLSearchParams(body)
  const seen = new Set<string>()
  for (const name of form.keys()) {
    if (seen.has(name) && !repeatable.includes(name)) {
      return {
        error: oauthError(400, 'invalid_request', `The ${name} parameter must not be repeated`),
      }
    }
    seen.add(name)
  }
  return { form }
}

/** Client authentication methods the server implements (RFC 6749 §2.3.1). */
export type AuthMethod = 'client_secret_basic' | 'client_secret_post'

/** What {@link readClientCredentials} found in a request. */
export type ClientCredentials =
  | { method: AuthMethod; clientId: string; clientSecret: string }
  | { method: null; reason: string; status: 400 | 401 }

// RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64-encoded.
function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, '%20'))
  } catch {
    return null
  }
}

/**
 * Reads client credentials from `Authorization: Basic` or from the form, refusing requests that
 * use both or neither.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 RFC 6749 §2.3.1
 */
export function readClientCredentials(
  authorization: string | undefined,
  form: URLSearchParams,
): ClientCredentials {
  const bodyId = form.get('client_id')
  const bodySecret = form.get('client_secret')
  if (authorization !== undefined && authorization !== '') {
    const match = /^basic +([A-Za-z0-9+/]+=*) *$/i.exec(authorization)
    if (match === null) {
      return { method: null, reason: 'Unsupported or malformed Authorization header', status: 401 }
    }
    // RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request.
    if (bodySecret !== null) {
      return { method: null, reason: 'More than one client authentication method', status: 400 }
    }
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    const id = colon === -1 ? null : formDecode(decoded.slice(0, colon))
    const secret = colon === -1 ? null : formDecode(decoded.slice(colon + 1))
    if (id === null || secret === null || id === '') {
      return { method: null, reason: 'Malformed Basic credentials', status: 401 }
    }
    if (bodyId !== null && bodyId !== id) {
      return { method: null, reason: 'client_id does not match the credentials', status: 400 }
    }
    return { method: 'client_secret_basic', clientId: id, clientSecret: secret }
  }
  if (bodyId === null || bodyId === '' || bodySecret === null) {
    return { method: null, reason: 'Client authentication is required', status: 401 }
  }
  return { method: 'client_secret_post', clientId: bodyId, clientSecret: bodySecret }
}

/** Compares two secrets in time that does not depend on where they differ. */
export function secretsEqual(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()
  return timingSafeEqual(digest(a), digest(b))
}
