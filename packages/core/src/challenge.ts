/**
 * `WWW-Authenticate` challenges: formatting for responses, parsing for clients and tests.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7235#section-4.1 RFC 7235 §4.1 (challenge syntax)
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 RFC 6750 §3 (Bearer challenge)
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-5.1 RFC 9728 §5.1 (resource_metadata)
 */

/** Parameters of a Bearer challenge. Unknown parameters are written after the known ones. */
export interface ChallengeParams {
  realm?: string | undefined
  error?: string | undefined
  error_description?: string | undefined
  error_uri?: string | undefined
  scope?: string | undefined
  resource_metadata?: string | undefined
  [param: string]: string | undefined
}

/** A parsed challenge: its scheme, lower-cased parameter names, or a token68. */
export interface Challenge {
  scheme: string
  params: Record<string, string>
  token68?: string
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const ORDER = ['realm', 'error', 'error_description', 'error_uri', 'scope', 'resource_metadata']

// A quoted-string may hold HTAB, SP and visible ASCII; anything else (CR, LF, NUL, non-ASCII) is
// replaced so that no value can split the header or smuggle bytes into it.
function quote(value: string): string {
  let out = '"'
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === 0x22 || c === 0x5c) out += '\\' + value[i]
    else if (c === 0x09 || (c >= 0x20 && c <= 0x7e)) out += value[i]
    else out += '?'
  }
  return out + '"'
}

/**
 * Formats one challenge, for example
 * `Bearer realm="api", error="invalid_token", error_description="The access token expired"`.
 * Parameters whose value is `undefined` are left out; with none left the result is the bare
 * scheme. Values are always quoted and escaped (`\` and `"`), and characters a header cannot carry
 * are replaced by `?`.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a scheme or parameter name that is not a token.
 * @example
 * ```ts
 * formatChallenge({ error: 'insufficient_scope', scope: 'files:read files:write' })
 * // 'Bearer error="insufficient_scope", scope="files:read files:write"'
 * ```
 */
export function formatChallenge(params: ChallengeParams = {}, scheme = 'Bearer'): string {
  if (!TOKEN.test(scheme)) throw nameError('scheme', scheme)
  const names = [
    ...ORDER.filter((name) => params[name] !== undefined),
    ...Object.keys(params).filter((name) => !ORDER.includes(name) && params[name] !== undefined),
  ]
  if (names.length === 0) return scheme
  const parts: string[] = []
  for (const name of names) {
    if (!TOKEN.test(name)) throw nameError('parameter name', name)
    parts.push(`${name}=${quote(params[name] as string)}`)
  }
  return `${scheme} ${parts.join(', ')}`
}

function nameError(what: string, name: string): TypeError {
  const error = new TypeError(`challenge ${what} ${JSON.stringify(name)} is not an RFC 7230 token`)
  ;(error as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE'
  return error
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/

/**
 * Parses a `WWW-Authenticate` value into its challenges (one header may carry several). Parameter
 * names are lower-cased, quoted values unescaped. Malformed input never throws: parsing stops at
 * the first thing it cannot read, returning what it read before.
 *
 * @example
 * ```ts
 * parseChallenge('Bearer error="invalid_token", resource_metadata="https://r/.well-known/x"')
 * // [{ scheme: 'Bearer', params: { error: 'invalid_token', resource_metadata: '...' } }]
 * ```
 */
export function parseChallenge(header: string): Challenge[] {
  const challenges: Challenge[] = []
  let i = 0
  const n = header.length
  const skip = (chars: string): void => {
    while (i < n && chars.includes(header[i] as string)) i++
  }
  const readToken = (): string => {
    const start = i
    while (i < n && TOKEN_CHAR.test(header[i] as string)) i++
    return header.slice(start, i)
  }
  const readQuoted = (): string | null => {
    // header[i] is the opening quote
    i++
    let value = ''
    while (i < n) {
      const ch = header[i] as string
      if (ch === '"') {
        i++
        return value
      }
      if (ch === '\\') {
        if (i + 1 >= n) return null
        value += header[i + 1] as string
        i += 2
        continue
      }
      value += ch
      i++
    }
    return null
  }

  outer: while (i < n) {
    skip(' \t,')
    if (i >= n) break
    const scheme = readToken()
    if (scheme === '') break
    const challenge: Challenge = { scheme, params: Object.create(null) as Record<string, string> }
    challenges.push(challenge)
    if (i >= n || header[i] === ',') continue
    if (header[i] !== ' ' && header[i] !== '\t') break
    skip(' \t')
    // token68 (b64-ish characters and '=' padding) stands alone: end of input or a comma follows.
    const t68 = /^[A-Za-z0-9\-._~+/]+=*/.exec(header.slice(i))
    if (t68 !== null) {
      const after = header.slice(i + t68[0].length).trimStart()
      if (after === '' || after.startsWith(',')) {
        challenge.token68 = t68[0]
        i += t68[0].length
        continue
      }
    }
    // auth-params
    for (;;) {
      skip(' \t')
      const save = i
      const name = readToken()
      if (name === '') break outer
      skip(' \t')
      if (header[i] !== '=') {
        // Not a parameter: the start of the next challenge.
        i = save
        continue outer
      }
      i++
      skip(' \t')
      let value: string | null
      if (header[i] === '"') value = readQuoted()
      else {
        value = readToken()
        if (value === '') value = null
      }
      if (value === null) break outer
      challenge.params[name.toLowerCase()] = value
      skip(' \t')
      if (i >= n) break outer
      if (header[i] !== ',') break outer
      i++
      skip(' \t,')
    }
  }
  return challenges
}
