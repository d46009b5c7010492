// RFC 9110 §11.6.1 / §11.2: the grammar of a WWW-Authenticate field value.
//   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token BWS "=" BWS ( token / quoted-string )
// core's parseChallenge is lenient on purpose (it stops at the first thing it cannot read and
// keeps what it read); a conformance check needs to know whether the whole value is well formed.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/
const QUOTED = /^"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"/

/**
 * Undefined when `value` is a well-formed list of challenges; otherwise where it stops being one.
 */
export function challengeSyntaxError(value: string): string | undefined {
  let rest = value
  const skipOws = (): void => {
    rest = rest.replace(/^[ \t]*/, '')
  }
  const skipListSeparators = (): number => {
    let commas = 0
    for (;;) {
      skipOws()
      if (!rest.startsWith(',')) return commas
      rest = rest.slice(1)
      commas++
    }
  }
  skipListSeparators()
  if (rest === '') return 'the header is empty'
  while (rest !== '') {
    const scheme = TOKEN.exec(rest)
    if (scheme === null) return `expected an auth-scheme at "${excerpt(rest)}"`
    rest = rest.slice(scheme[0].length)
    const spaced = rest.startsWith(' ')
    skipOws()
    if (rest === '') return undefined
    if (rest.startsWith(',')) {
      skipListSeparators()
      continue
    }
    if (!spaced) return `unexpected "${excerpt(rest)}" after the scheme`
    const t68 = TOKEN68.exec(rest)
    if (t68 !== null && /^[ \t]*(,|$)/.test(rest.slice(t68[0].length))) {
      rest = rest.slice(t68[0].length)
      skipListSeparators()
      continue
    }
    // #auth-param: name=value pairs separated by commas; a name that is not followed by "="
    // starts the next challenge.
    let params = 0
    for (;;) {
      const name = TOKEN.exec(rest)
      if (name === null) break
      const afterName = rest.slice(name[0].length).replace(/^[ \t]*/, '')
      if (!afterName.startsWith('=')) break
      rest = afterName.slice(1).replace(/^[ \t]*/, '')
      const quoted = QUOTED.exec(rest) ?? TOKEN.exec(rest)
      if (quoted === null) return `parameter ${name[0]} has no valid value at "${excerpt(rest)}"`
      rest = rest.slice(quoted[0].length)
      params++
      skipOws()
      if (rest === '') return undefined
      if (!rest.startsWith(',')) return `expected "," after parameter ${name[0]}`
      skipListSeparators()
    }
    if (params === 0) return `unexpected "${excerpt(rest)}"`
  }
  return undefined
}

function excerpt(text: string): string {
  return text.length > 20 ? `${text.slice(0, 20)}...` : text
}
