/** The path of a request target (origin-form `/a?b` or absolute `https://h/a?b`), without query. */
export function pathOf(url: string): string {
  if (url.charCodeAt(0) === 0x2f) {
    const query = url.indexOf('?')
    return query === -1 ? url : url.slice(0, query)
  }
  try {
    return new URL(url).pathname
  } catch {
    return ''
  }
}

/**
 * Whether the query string carries `access_token` (RFC 6750 §2.3). The raw query is read, not a
 * framework's parsed one: a custom query parser must not hide the token.
 */
export function queryHasToken(url: string): boolean {
  const start = url.indexOf('?')
  if (start === -1) return false
  return new URLSearchParams(url.slice(start + 1)).has('access_token')
}

const FORM = 'application/x-www-form-urlencoded'

/** Whether a `Content-Type` value names a form body, the only body RFC 6750 §2.2 speaks of. */
export function isFormType(type: string | readonly string[] | undefined): boolean {
  return typeof type === 'string' && type.split(';', 1)[0]?.trim().toLowerCase() === FORM
}

/** Whether a parsed form body carries `access_token` (RFC 6750 §2.2). */
export function formHasToken(body: unknown): boolean {
  if (typeof body === 'string') return new URLSearchParams(body).has('access_token')
  if (typeof body !== 'object' || body === null) return false
  // URLSearchParams and FormData answer for themselves; a plain record by its own keys.
  if (body instanceof URLSearchParams || isFormData(body)) {
    return (body as URLSearchParams).has('access_token')
  }
  return Object.hasOwn(body, 'access_token')
}

function isFormData(body: object): boolean {
  return typeof FormData === 'function' && body instanceof FormData
}
