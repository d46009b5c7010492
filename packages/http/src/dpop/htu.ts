/**
 * The `htu` comparison of RFC 9449 §4.3 (check 9): the request URI without query and fragment,
 * after syntax-based (RFC 3986 §6.2.2) and scheme-based (RFC 3986 §6.2.3) normalisation.
 *
 * The WHATWG URL parser already lowercases the scheme and host, removes dot segments and the
 * default port, and gives an empty path as `/`. What it leaves, and this adds: upper-case hex in
 * percent-encodings and decoded unreserved characters (RFC 3986 §6.2.2.1, §6.2.2.2).
 */

const PERCENT = /%([0-9A-Fa-f]{2})/g
// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~"
const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/**
 * The normalised form of an absolute `http:` or `https:` URI, or `null` when `value` is not one,
 * has a query or fragment (RFC 9449 §4.2: `htu` is the URI "without query and fragment parts", so
 * a proof made for `/path?a` is not accepted for `/path?b`), or names a user
 * (`https://user@host/`: a request URI never carries userinfo, RFC 9110 §4.2.4).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 RFC 9449 §4.3 (check 9)
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2 RFC 3986 §6.2.2, §6.2.3
 */
export function normalizeHtu(value: string): string | null {
  if (value.includes('?') || value.includes('#')) return null
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return null
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null
  if (url.username !== '' || url.password !== '') return null
  const path = url.pathname.includes('%')
    ? url.pathname.replace(PERCENT, (_, hex: string) => {
        const char = String.fromCharCode(parseInt(hex, 16))
        return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
      })
    : url.pathname
  return `${url.protocol}//${url.host}${path}`
}

// The request URL of the previous call, it without query and fragment, and its normal form: a
// client calls the same URL request after request. URLs are public, so comparing them as text
// (stopping at the first difference) tells nobody anything.
let lastUrl = ''
let lastTarget = ''
let lastNormal: string | null = null
const QUERY_OR_FRAGMENT = /[?#]/

/**
 * Whether the proof's `htu` names the request URI `requestUrl` (absolute, as the client reached
 * it: see the public origin settings of the gate). Query and fragment are ignored on both sides.
 */
export function htuMatches(htu: string, requestUrl: string): boolean {
  let target: string
  let right: string | null
  if (requestUrl === lastUrl) {
    target = lastTarget
    right = lastNormal
  } else {
    const end = requestUrl.search(QUERY_OR_FRAGMENT)
    target = end === -1 ? requestUrl : requestUrl.slice(0, end)
    right = normalized(target)
    lastUrl = requestUrl
    lastTarget = target
    lastNormal = right
  }
  // Equal strings normalise equally; the usual client copies the URI it called.
  if (htu === target || right === null) return right !== null
  return normalized(htu) === right
}

// The same few URIs come back request after request; parsing one costs a microsecond or two.
const MAX_MEMO = 1000
const MAX_MEMO_LENGTH = 512
const memo = new Map<string, string | null>()

function normalized(value: string): string | null {
  const known = memo.get(value)
  if (known !== undefined) return known
  const result = normalizeHtu(value)
  if (value.length <= MAX_MEMO_LENGTH) {
    if (memo.size >= MAX_MEMO) memo.clear()
    memo.set(value, result)
  }
  return result
}
