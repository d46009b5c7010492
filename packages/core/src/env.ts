import { invalidArgument } from './errors.js'
import type { VerifierConfig } from './factory.js'

type Kind = 'string' | 'list' | 'scopes' | 'number' | 'key'

// Environment variable (after the prefix) -> option name and how to read it.
const FIELDS: ReadonlyArray<readonly [string, string, Kind]> = [
  ['ISSUER', 'issuer', 'string'],
  ['AUDIENCE', 'audience', 'list'],
  ['JWKS_URI', 'jwksUri', 'string'],
  ['KEY', 'key', 'key'],
  ['ALGORITHMS', 'algorithms', 'list'],
  ['TOKEN_TYPES', 'tokenTypes', 'list'],
  ['CLOCK_TOLERANCE', 'clockTolerance', 'number'],
  ['MAX_TOKEN_AGE', 'maxTokenAge', 'number'],
  ['REQUIRED_SCOPES', 'requiredScopes', 'scopes'],
  ['INTROSPECTION_URL', 'introspectionUrl', 'string'],
  ['CLIENT_ID', 'clientId', 'string'],
  ['CLIENT_SECRET', 'clientSecret', 'string'],
  ['CLIENT_AUTH_METHOD', 'clientAuthMethod', 'string'],
  ['TIMEOUT', 'timeout', 'number'],
]

const CACHE_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['CACHE_MAX', 'max'],
  ['CACHE_TTL', 'ttl'],
  ['CACHE_NEGATIVE_TTL', 'negativeTtl'],
]

function readNumber(name: string, value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n)) throw invalidArgument(name, 'must be a number')
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
 * | `ALGORITHMS`, `TOKEN_TYPES` (comma-separated) | `algorithms`, `tokenTypes` |
 * | `CLOCK_TOLERANCE`, `MAX_TOKEN_AGE` (seconds) | `clockTolerance`, `maxTokenAge` |
 * | `REQUIRED_SCOPES` (space- or comma-separated) | `requiredScopes` |
 * | `INTROSPECTION_URL`, `CLIENT_ID`, `CLIENT_SECRET`, `CLIENT_AUTH_METHOD` | introspection options |
 * | `TIMEOUT` (milliseconds) | `timeout` |
 * | `CACHE` (`off` to disable), `CACHE_MAX`, `CACHE_TTL`, `CACHE_NEGATIVE_TTL` | `cache` |
 * | `PROVIDER_MODULE` | module whose default export (or `provider` export) is the provider |
 *
 * Empty variables count as unset. Opting out of the audience check cannot be done from the
 * environment, on purpose. Returns `null` when `VERIFIER` is not set.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the variable at fault.
 */
export function verifierConfigFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  prefix = 'BEARERKIT_',
): VerifierConfig | null {
  const get = (name: string): string | undefined => {
    const value = env[prefix + name]
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }
  const type = get('VERIFIER')
  if (type === undefined) return null
  if (type !== 'jwt' && type !== 'introspection' && type !== 'provider') {
    throw invalidArgument(`${prefix}VERIFIER`, 'must be jwt, introspection or provider')
  }
  const config: VerifierConfig = { type }
  for (const [suffix, option, kind] of FIELDS) {
    const value = get(suffix)
    if (value === undefined) continue
    const name = prefix + suffix
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
  if (type === 'provider' && providerModule === undefined) {
    throw invalidArgument(`${prefix}PROVIDER_MODULE`, 'is required when VERIFIER is provider')
  }
  return config
}
