import { invalidArgument } from './errors.js'
import type { VerifierConfig } from './factory.js'

type Kind = 'string' | 'list' | 'scopes' | 'number' | 'key'
type Type = VerifierConfig['type']

const JWT: readonly Type[] = ['jwt']
const INTROSPECTION: readonly Type[] = ['introspection']
const BOTH: readonly Type[] = ['jwt', 'introspection']
const ALL: readonly Type[] = ['jwt', 'introspection', 'provider']

// Environment variable (after the prefix) -> option name, how to read it, and the verifier types
// that take it. A variable set for a type that does not use it is refused rather than ignored.
const FIELDS: ReadonlyArray<readonly [string, string, Kind, readonly Type[]]> = [
  ['ISSUER', 'issuer', 'string', BOTH],
  ['AUDIENCE', 'audience', 'list', ALL],
  ['JWKS_URI', 'jwksUri', 'string', JWT],
  ['KEY', 'key', 'key', JWT],
  // A shared HMAC secret is explicit input of its own: text in KEY is never taken as a secret.
  ['SECRET', 'secret', 'string', JWT],
  ['ALGORITHMS', 'algorithms', 'list', JWT],
  ['TOKEN_TYPES', 'tokenTypes', 'list', JWT],
  ['CLOCK_TOLERANCE', 'clockTolerance', 'number', JWT],
  ['MAX_TOKEN_AGE', 'maxTokenAge', 'number', JWT],
  ['REQUIRED_SCOPES', 'requiredScopes', 'scopes', ALL],
  ['INTROSPECTION_URL', 'introspectionUrl', 'string', INTROSPECTION],
  ['CLIENT_ID', 'clientId', 'string', INTROSPECTION],
  ['CLIENT_SECRET', 'clientSecret', 'string', INTROSPECTION],
  ['CLIENT_AUTH_METHOD', 'clientAuthMethod', 'string', INTROSPECTION],
  ['TIMEOUT', 'timeout', 'number', BOTH],
]

const CACHE_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['CACHE_MAX', 'max'],
  ['CACHE_TTL', 'ttl'],
  ['CACHE_NEGATIVE_TTL', 'negativeTtl'],
]

function readNumber(name: string, value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n)) throw invalidArgument(name, 'must be a number')
  return n
}

/**
 * Builds a {@link VerifierConfig} from environment variables, for {@link createVerifier}.
 *
 * | variable (default prefix `BEARERKIT_`) | option |
 * | --- | --- |
 * | `VERIFIER` (required) | `type`: `jwt`, `introspection` or `provider` |
 * | `ISSUER`, `AUDIENCE` (comma-separated) | `issuer`, `audience` |
 * | `JWKS_URI`, `KEY` (PEM, or JSON JWK / JWK Set) | `jwksUri`, `key` |
 * | `SECRET` (HS256/384/512 shared secret, as text) | `secret` |
 * | `ALGORITHMS`, `TOKEN_TYPES` (comma-separated) | `algorithms`, `tokenTypes` |
 * | `CLOCK_TOLERANCE`, `MAX_TOKEN_AGE` (seconds) | `clockTolerance`, `maxTokenAge` |
 * | `REQUIRED_SCOPES` (space- or comma-separated) | `requiredScopes` |
 * | `INTROSPECTION_URL`, `CLIENT_ID`, `CLIENT_SECRET`, `CLIENT_AUTH_METHOD` | introspection options |
 * | `TIMEOUT` (milliseconds) | jwt: `jwks.timeout`; introspection: `timeout`; not for provider |
 * | `CACHE` (`off` to disable), `CACHE_MAX`, `CACHE_TTL`, `CACHE_NEGATIVE_TTL` | `cache` |
 * | `PROVIDER_MODULE` | module whose default export (or `provider` export) is the provider |
 *
 * Required: `AUDIENCE` always; `ISSUER` for jwt; `INTROSPECTION_URL` or `ISSUER` for
 * introspection; `PROVIDER_MODULE` for provider. A missing one is named by its variable.
 *
 * A variable that is set but empty (or only blanks) is refused, not taken as unset: a deployment
 * template that renders `REQUIRED_SCOPES=` from a missing value would otherwise drop a protection
 * without a word. Unset it instead. Opting out of the audience check cannot be done from the
 * environment, on purpose. Returns `null` when `VERIFIER` is not set at all.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the variable at fault.
 * @example
 * ```ts
 * const config = verifierConfigFromEnv(process.env)
 * const verifier = config === null ? undefined : await createVerifier(config)
 * ```
 */
export function verifierConfigFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  prefix = 'BEARERKIT_',
): VerifierConfig | null {
  const get = (name: string): string | undefined => {
    const value = env[prefix + name]
    if (value === undefined) return undefined
    const trimmed = value.trim()
    if (trimmed === '') {
      throw invalidArgument(prefix + name, 'is set but empty: unset it or give it a value')
    }
    return trimmed
  }
  const required = (name: string, problem: string): void => {
    if (get(name) === undefined) throw invalidArgument(prefix + name, problem)
  }
  const type = get('VERIFIER')
  if (type === undefined) return null
  if (type !== 'jwt' && type !== 'introspection' && type !== 'provider') {
    throw invalidArgument(`${prefix}VERIFIER`, 'must be jwt, introspection or provider')
  }
  // Checked here, so that the message names the variable rather than an option the user never
  // wrote (`options.audience`).
  required('AUDIENCE', `is required: the audience of this resource server (VERIFIER ${type})`)
  if (type === 'jwt') required('ISSUER', 'is required when VERIFIER is jwt')
  if (type === 'introspection' && get('INTROSPECTION_URL') === undefined) {
    required('ISSUER', `is required when VERIFIER is introspection without INTROSPECTION_URL`)
  }
  if (type === 'provider') required('PROVIDER_MODULE', 'is required when VERIFIER is provider')
  else if (get('PROVIDER_MODULE') !== undefined) {
    throw invalidArgument(`${prefix}PROVIDER_MODULE`, `is not used when VERIFIER is ${type}`)
  }
  const config: VerifierConfig = { type }
  for (const [suffix, option, kind, types] of FIELDS) {
    const value = get(suffix)
    if (value === undefined) continue
    const name = prefix + suffix
    if (!types.includes(type)) throw invalidArgument(name, `is not used when VERIFIER is ${type}`)
    switch (kind) {
      case 'string':
        config[option] = value
        break
      case 'number':
        config[option] = readNumber(name, value)
        break
      case 'list': {
        const items = value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
        config[option] = option === 'audience' && items.length === 1 ? items[0] : items
        break
      }
      case 'scopes':
        config[option] = value.split(/[\s,]+/).filter((s) => s !== '')
        break
      case 'key':
        if (value.startsWith('{')) {
          try {
            config[option] = JSON.parse(value) as unknown
          } catch {
            throw invalidArgument(name, 'is not valid JSON (a JWK or a JWK Set was expected)')
          }
        } else {
          config[option] = value.replace(/\\n/g, '\n')
        }
        break
    }
  }
  // The jwt verifier's deadline is a JWKS setting; introspection has its own `timeout`.
  if (type === 'jwt' && config.timeout !== undefined) {
    config.jwks = { timeout: config.timeout }
    delete config.timeout
  }
  const cacheSwitch = get('CACHE')
  if (cacheSwitch !== undefined && !['on', 'off'].includes(cacheSwitch)) {
    throw invalidArgument(`${prefix}CACHE`, 'must be on or off')
  }
  if (cacheSwitch === 'off') {
    config.cache = false
  } else {
    const cache: Record<string, number> = {}
    for (const [suffix, option] of CACHE_FIELDS) {
      const value = get(suffix)
      if (value !== undefined) cache[option] = readNumber(prefix + suffix, value)
    }
    if (cacheSwitch === 'on' || Object.keys(cache).length > 0) config.cache = cache
  }
  const providerModule = get('PROVIDER_MODULE')
  if (providerModule !== undefined) config.providerModule = providerModule
  return config
}
