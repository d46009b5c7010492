import { isVerifierUnavailable, type AccessToken, type Refusal } from '@bearerkit/core'
import { EXIT, type CliIo } from './io.js'
import { parse, readTimeout } from './lib/args.js'
import { fingerprint } from './lib/fingerprint.js'
import { readToken } from './lib/read-token.js'
import { safeJson, safeText } from './lib/safe-text.js'
import { painter } from './lib/style.js'
import { isoTime, relativeTime } from './lib/time.js'
import { UsageError } from './lib/usage-error.js'
import { VERIFIER_OPTIONS, buildVerifier, closeVerifier } from './lib/verifier-flags.js'

export const VERIFY_HELP = `Usage: bearerkit verify [token | -] [options]

Verifies a token with a bearerkit verifier and prints the resulting access token (with a
fingerprint, never the token), or why it was refused. The verifier comes from the flags when any
verifier flag is given, otherwise from the BEARERKIT_* environment variables that
@bearerkit/core's verifierConfigFromEnv reads (BEARERKIT_VERIFIER, BEARERKIT_ISSUER,
BEARERKIT_AUDIENCE, ...). The token is read from stdin when the argument is "-" or absent and
stdin is a pipe.

Options:
  --type <jwt|introspection>   verifier type (default jwt, or introspection with
                               --introspection-url)
  --issuer <url>               expected issuer (jwt: also discovers the JWKS)
  --audience <uri>             expected audience; repeat for several (required)
  --jwks-uri <url>             JWKS location (jwt)
  --algorithms <a,b>           accepted signing algorithms (jwt)
  --introspection-url <url>    RFC 7662 endpoint (introspection)
  --client-id <id>             introspection client
  --client-secret <secret>     introspection client secret (prefer BEARERKIT_CLIENT_SECRET)
  --required-scopes <"a b">    scopes every token must carry
  --timeout <ms>               deadline of the whole verification (default 10000)
  --json                       machine-readable output
  -h, --help                   show this help

Examples:
  printenv TOKEN | bearerkit verify --issuer https://login.example.com/ \\
    --audience https://mcp.example.com/mcp
  BEARERKIT_VERIFIER=jwt BEARERKIT_ISSUER=https://login.example.com/ \\
    BEARERKIT_AUDIENCE=https://mcp.example.com/mcp bearerkit verify - < token.txt

Exit codes: 0 valid, 1 invalid (refused), 2 unavailable (cannot decide now: try again later),
64 usage error, 78 configuration error (fix the flags or environment; retrying will not help).
`

const OPTIONS = {
  ...VERIFIER_OPTIONS,
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

/** The access token as printed: everything but the token, which becomes a fingerprint. */
function describe(token: AccessToken, nowMs: number): Record<string, unknown> {
  const { token: raw, expiresAt, ...rest } = token
  return {
    fingerprint: fingerprint(raw),
    ...rest,
    ...(expiresAt === undefined
      ? {}
      : {
          expiresAt,
          expires: `${isoTime(expiresAt) ?? String(expiresAt)} (${relativeTime(expiresAt, nowMs / 1000)})`,
        }),
  }
}

/**
 * `bearerkit verify [token | -]`: see {@link VERIFY_HELP}.
 *
 * @returns 0 valid, 1 invalid, 2 unavailable, 64 usage error, 78 configuration error
 */
export async function verifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS)
  if (values.help === true) {
    io.stdout.write(VERIFY_HELP)
    return EXIT.ok
  }
  if (positionals.length > 1) throw new UsageError('verify takes one token')
  const timeout = readTimeout(values.timeout, 10_000)
  const token = await readToken(positionals[0], io)
  const { verifier } = await buildVerifier(values, io)
  const paint = painter(io)
  const json = values.json === true
  const print = (value: Record<string, unknown>): void => {
    io.stdout.write(`${safeJson(value)}\n`)
  }
  let refusal: Refusal | undefined
  try {
    const result = await verifier.verifyToken(token, {
      signal: AbortSignal.timeout(timeout),
      onRefusal: (r) => {
        refusal = r
      },
    })
    if (result === null) {
      const code = refusal?.code ?? 'rejected'
      const description = refusal?.description ?? 'the verifier refused the token'
      if (json) print({ valid: false, fingerprint: fingerprint(token), code, description })
      else {
        io.stdout.write(
          `${paint('red', 'invalid')}  token ${fingerprint(token)}\n  ${safeText(`${code}: ${description}`)}\n`,
        )
      }
      return EXIT.failed
    }
    const described = describe(result, (io.now ?? Date.now)())
    if (json) print({ valid: true, ...described })
    else {
      const { claims, ...fields } = described
      const lines = [`${paint('green', 'valid')}  token ${String(described.fingerprint)}`]
      for (const [name, value] of Object.entries(fields)) {
        if (name === 'fingerprint' || name === 'expiresAt') continue
        const shown = Array.isArray(value) ? value.join(' ') : String(value)
        // Claims and introspection answers are the issuer's text: shown inert.
        lines.push(`  ${name.padEnd(10)} ${safeText(shown)}`)
      }
      lines.push(
        '  claims',
        ...safeJson(claims)
          .split('\n')
          .map((l) => `    ${l}`),
      )
      io.stdout.write(`${lines.join('\n')}\n`)
    }
    return EXIT.ok
  } catch (error) {
    // Unavailable is never reported as invalid: the caller must be able to tell "refused" from
    // "could not decide" (a 401 versus a 503 on a server). A timeout is the latter too.
    const message = isVerifierUnavailable(error)
      ? error.message
      : error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${timeout} ms`
        : `the verifier failed: ${error instanceof Error ? error.message : String(error)}`
    if (json) {
      print({ valid: null, unavailable: true, fingerprint: fingerprint(token), message })
    } else {
      io.stdout.write(
        `${paint('yellow', 'unavailable')}  token ${fingerprint(token)}\n  ${safeText(message)}\n`,
      )
    }
    return EXIT.unavailable
  } finally {
    closeVerifier(verifier)
  }
}
