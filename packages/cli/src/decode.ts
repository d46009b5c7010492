import { EXIT, type CliIo } from './io.js'
import { parse } from './lib/args.js'
import { fingerprint } from './lib/fingerprint.js'
import { readToken } from './lib/read-token.js'
import { safeJson, safeText } from './lib/safe-text.js'
import { painter } from './lib/style.js'
import { isoTime, relativeTime } from './lib/time.js'
import { UsageError } from './lib/usage-error.js'

export const DECODE_HELP = `Usage: bearerkit decode [token | -] [--json]

Shows a JWT's header and claims, times as ISO 8601 and relative to now, and warnings about
what an access token should not look like. Purely local: nothing is verified or sent anywhere.
Reads the token from stdin when the argument is "-" or absent and stdin is a pipe, so that the
token stays out of your shell history. The token itself is never printed, only a fingerprint
(the first 8 characters of its base64url SHA-256).

Options:
  --json     machine-readable output
  -h, --help show this help

Examples:
  pbpaste | bearerkit decode
  bearerkit decode - < token.txt
  printenv TOKEN | bearerkit decode --json

Exit codes: 0 decoded, 1 not a decodable JWT, 64 usage error.
`

/** One warning about a decoded token, with the rule it refers to. */
export interface DecodeWarning {
  code: string
  message: string
  ref: string
}

/** What `bearerkit decode --json` prints. */
export interface DecodedToken {
  fingerprint: string
  header: Record<string, unknown>
  claims: Record<string, unknown>
  times: Record<string, { iso: string; relative: string }>
  warnings: DecodeWarning[]
}

const TIME_CLAIMS = ['iat', 'nbf', 'exp', 'auth_time'] as const

function part(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Decodes a compact JWS (RFC 7515 §7.1) without verifying it and lists what is suspicious for an
 * access token (RFC 9068). Returns a message for input that is not a decodable JWT.
 */
export function decodeToken(token: string, nowMs: number): DecodedToken | string {
  const parts = token.split('.')
  if (parts.length === 5) return 'an encrypted JWT (JWE): only its recipient can read the claims'
  if (parts.length !== 3) return 'not a JWT: a compact JWS has three dot-separated parts'
  const header = part(parts[0])
  if (header === undefined) return 'not a JWT: the header is not base64url JSON'
  const claims = part(parts[1])
  if (claims === undefined) return 'not a JWT: the payload is not base64url JSON'
  const now = nowMs / 1000
  const times: DecodedToken['times'] = {}
  for (const name of TIME_CLAIMS) {
    const iso = isoTime(claims[name])
    if (iso !== undefined) {
      times[name] = { iso, relative: relativeTime(claims[name] as number, now) }
    }
  }
  const warnings: DecodeWarning[] = []
  const warn = (code: string, message: string, ref: string): void => {
    warnings.push({ code, message, ref })
  }
  const alg = header.alg
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none') {
    warn('alg_none', 'alg is "none" or missing: the token is not signed', 'RFC 8725 §3.1')
  }
  if (claims.exp === undefined) {
    warn('no_exp', 'no exp: the token never expires', 'RFC 9068 §2.2')
  } else if (typeof claims.exp !== 'number') {
    warn('bad_exp', 'exp is not a number', 'RFC 7519 §4.1.4')
  } else if (claims.exp <= now) {
    warn('expired', `expired ${relativeTime(claims.exp, now)}`, 'RFC 7519 §4.1.4')
  }
  if (typeof claims.nbf === 'number' && claims.nbf > now) {
    warn('not_yet_valid', `not valid before ${relativeTime(claims.nbf, now)}`, 'RFC 7519 §4.1.5')
  }
  if (claims.aud === undefined) {
    warn('no_aud', 'no aud: any resource server would accept it', 'RFC 9068 §2.2, RFC 8707 §2')
  }
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined
  if (typ !== 'at+jwt' && typ !== 'application/at+jwt') {
    warn(
      'typ',
      `typ is ${header.typ === undefined ? 'missing' : JSON.stringify(header.typ)}, not "at+jwt": it may not be an access token (an ID token?)`,
      'RFC 9068 §2.1',
    )
  }
  if (claims.cnf !== undefined) {
    warn(
      'cnf',
      'cnf present: the token is sender-constrained; it is accepted only with its DPoP proof or client certificate',
      'RFC 7800 §3.1, RFC 9449 §6, RFC 8705 §3',
    )
  }
  return { fingerprint: fingerprint(token), header, claims, times, warnings }
}

/**
 * `bearerkit decode [token | -]`: see {@link DECODE_HELP}.
 *
 * @returns the exit code (0 decoded, 1 not a JWT, 64 usage error)
 */
export async function decodeCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help === true) {
    io.stdout.write(DECODE_HELP)
    return EXIT.ok
  }
  if (positionals.length > 1) throw new UsageError('decode takes one token')
  const token = await readToken(positionals[0], io)
  const decoded = decodeToken(token, (io.now ?? Date.now)())
  if (typeof decoded === 'string') {
    io.stderr.write(`bearerkit decode: ${decoded} (token ${fingerprint(token)})\n`)
    return EXIT.failed
  }
  if (values.json === true) {
    io.stdout.write(`${safeJson(decoded)}\n`)
    return EXIT.ok
  }
  // The header and claims are the token's own text: shown inert (see safe-text.ts).
  const paint = painter(io)
  const lines = [
    `${paint('bold', 'Token')}  ${decoded.fingerprint} (SHA-256 fingerprint)`,
    '',
    paint('bold', 'Header'),
    indent(safeJson(decoded.header)),
    '',
    paint('bold', 'Claims'),
    indent(safeJson(decoded.claims)),
  ]
  const times = Object.entries(decoded.times)
  if (times.length > 0) {
    lines.push('', paint('bold', 'Times'))
    for (const [name, time] of times)
      lines.push(`  ${name.padEnd(9)} ${time.iso}  ${time.relative}`)
  }
  if (decoded.warnings.length > 0) {
    lines.push('', paint('bold', 'Warnings'))
    for (const warning of decoded.warnings) {
      lines.push(`  ${paint('yellow', '!')} ${safeText(warning.message)}  [${warning.ref}]`)
    }
  }
  io.stdout.write(`${lines.join('\n')}\n`)
  return EXIT.ok
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')
}
