import { invalidArgument } from './errors.js'
import type { VerifierConfig } from './factory.js'

type Kind = 'string' | 'list' | 'scopes' | 'number' | 'key'
type Type = 'jwt' | 'introspection' | 'provider'

const JWT: readonly Type[] = ['jwt']
const INTROSPECTION: readonly Type[] = ['introspection']
const BOTH: readonly Type[] = ['jwt', 'introspection']
const ALL: readonly Type[] = ['jwt', 'introspection', 'provider']

// Environment variable (after the prefix) -> option name (a dotted path for nested options), how
// to read it, and the verifier types that take it. A variable set for a type that does not use
// it is refused rather than ignored.
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
  // The jwt verifier's deadline is a JWKS setting; introspection has its own `timeout`.
  ['TIMEOUT', 'timeout', 'number', BOTH],
  ['JWKS_MAX_AGE', 'jwks.maxAge', 'number', JWT],
  ['JWKS_COOLDOWN', 'jwks.cooldown', 'number', JWT],
  ['JWKS_STALE_IF_ERROR', 'jwks.staleIfError', 'number', JWT],
]

const CACHE_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['CACHE_MAX', 'max'],
  ['CACHE_TTL', 'ttl'],
  ['CACHE_NEGATIVE_TTL', 'negativeTtl'],
]

// `VERIFIER=jwt,introspection`: the composite's parts, and the infix of each part's variables.
const COMPOSITE_PARTS = [
  ['jwt', 'JWT_'],
  ['opaque', 'OPAQUE_'],
] as const
const OPAQUE_TYPES: readonly Type[] = ['introspection', 'provider']

type Get = (name: string) => string | undefined

function readNumber(name: string, value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n)) throw invalidArgument(name, 'must be a number')
  return n
}

function readKey(name: string, value: string): unknown {
  if (!value.startsWith('{')) return value.replace(/\\n/g, '\n')
  try {
    return JSON.parse(value) as unknown
  } catch {
    throw invalidArgument(name, 'is not valid JSON (a JWK or a JWK Set was expected)')
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, tail] = path.split('.') as [string, string | undefined]
  if (tail === undefined) {
    target[head] = value
    return
  }
  const nested = (target[head] ??= {}) as Record<string, unknown>
  nested[tail] = value
}

/**
 * Builds a {@link VerifierConfig} from environment variables, for {@link createVerifier}.
 *
 * | variable (default prefix `BEARERKIT_`) | option |
 * | --- | --- |
 * | `VERIFIER` (required) | `type`: `jwt`, `introspection`, `provider`, or `jwt,introspection` / `jwt,provider` for a composite |
 * | `ISSUER`, `AUDIENCE` (comma-separated) | `issuer`, `audience` |
 * | `ISSUER_<n>`, `ISSUER_<n>_JWKS_URI`, `ISSUER_<n>_KEY` (n = 1, 2 ...) | jwt `issuers`, each with its own key source |
 * | `JWKS_URI`, `KEY` (PEM, or JSON JWK / JWK Set) | `jwksUri`, `key` |
 * | `SECRET` (HS256/384/512 shared secret, as text) | `secret` |
 * | `JWKS_MAX_AGE`, `JWKS_COOLDOWN`, `JWKS_STALE_IF_ERROR` (seconds) | `jwks.maxAge`, `jwks.cooldown`, `jwks.staleIfError` |
 * | `ALGORITHMS`, `TOKEN_TYPES` (comma-separated) | `algorithms`, `tokenTypes` |
 * | `CLOCK_TOLERANCE`, `MAX_TOKEN_AGE` (seconds) | `clockTolerance`, `maxTokenAge` |
 * | `REQUIRED_SCOPES` (space- or comma-separated) | `requiredScopes` |
 * | `INTROSPECTION_URL`, `CLIENT_ID`, `CLIENT_SECRET`, `CLIENT_AUTH_METHOD` | introspection options |
 * | `TIMEOUT` (milliseconds) | jwt: `jwks.timeout`; introspection: `timeout`; not for provider |
 * | `CACHE` (`off` to disable), `CACHE_MAX`, `CACHE_TTL`, `CACHE_NEGATIVE_TTL` | `cache` |
 * | `PROVIDER_MODULE` | module whose default export (or `provider` export) is the provider |
 *
 * Required: `AUDIENCE` always; `ISSUER` (or `ISSUER_1` ...) for jwt; `INTROSPECTION_URL` or
 * `ISSUER` for introspection; `PROVIDER_MODULE` for provider. A missing one is named by its
 * variable.
 *
 * `VERIFIER=jwt,introspection` (or `jwt,provider`) describes JWTs and opaque tokens side by side
 * (`{ type: 'composite', jwt, opaque }`): the JWT part reads the variables above with `JWT_` after
 * the prefix (`BEARERKIT_JWT_ISSUER`), the opaque part with `OPAQUE_` (`BEARERKIT_OPAQUE_CLIENT_ID`);
 * `CACHE*` without a part apply to the whole.
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
  const getter =
    (at: string): Get =>
    (name) => {
      const value = env[at + name]
      if (value === undefined) return undefined
      const trimmed = value.trim()
      if (trimmed === '') {
        throw invalidArgument(at + name, 'is set but empty: unset it or give it a value')
      }
      return trimmed
    }
  const get = getter(prefix)
  const verifier = get('VERIFIER')
  if (verifier === undefined) return null
  const types = verifier.split(',').map((s) => s.trim())
  if (types.length === 1) {
    const [type] = types as [string]
    if (type !== 'jwt' && type !== 'introspection' && type !== 'provider') {
      throw invalidArgument(
        `${prefix}VERIFIER`,
        'must be jwt, introspection or provider (or jwt,introspection / jwt,provider)',
      )
    }
    return single(env, get, prefix, type) as unknown as VerifierConfig
  }
  const [first, second] = types
  if (types.length !== 2 || first !== 'jwt' || !OPAQUE_TYPES.includes(second as Type)) {
    throw invalidArgument(
      `${prefix}VERIFIER`,
      'must be jwt, introspection or provider, or a JWT and an opaque verifier: jwt,introspection or jwt,provider',
    )
  }
  // The parts take their own variables only: a variable without a part would be ambiguous.
  const label = types.join(',')
  const stray = [
    ...FIELDS.map(([suffix]) => suffix),
    'PROVIDER_MODULE',
    ...issuerVariables(env, prefix).map((v) => v.suffix),
  ]
  for (const suffix of stray) {
    if (get(suffix) !== undefined) {
      throw invalidArgument(
        prefix + suffix,
        `is not used when VERIFIER is ${label}: set ${prefix}JWT_${suffix} or ${prefix}OPAQUE_${suffix}`,
      )
    }
  }
  const composite: Record<string, unknown> = { type: 'composite' }
  for (const [part, infix] of COMPOSITE_PARTS) {
    const type = (part === 'jwt' ? first : second) as Type
    composite[part] = single(env, getter(prefix + infix), prefix + infix, type)
  }
  readCache(get, prefix, composite)
  return composite as unknown as VerifierConfig
}

/** One verifier of type `type` from the variables under `prefix`. */
function single(
  env: Readonly<Record<string, string | undefined>>,
  get: Get,
  prefix: string,
  type: Type,
): Record<string, unknown> {
  const required = (name: string, problem: string): void => {
    if (get(name) === undefined) throw invalidArgument(prefix + name, problem)
  }
  const issuers = readIssuers(env, get, prefix, type)
  // Checked here, so that the message names the variable rather than an option the user never
  // wrote (`options.audience`).
  required('AUDIENCE', `is required: the audience of this resource server (VERIFIER ${type})`)
  if (type === 'jwt' && issuers === undefined) {
    required(
      'ISSUER',
      `is required when VERIFIER is jwt (or ${prefix}ISSUER_1, ${prefix}ISSUER_2 ...)`,
    )
  }
  if (type === 'introspection' && get('INTROSPECTION_URL') === undefined) {
    required('ISSUER', `is required when VERIFIER is introspection without INTROSPECTION_URL`)
  }
  if (type === 'provider') required('PROVIDER_MODULE', 'is required when VERIFIER is provider')
  else if (get('PROVIDER_MODULE') !== undefined) {
    throw invalidArgument(`${prefix}PROVIDER_MODULE`, `is not used when VERIFIER is ${type}`)
  }
  const config: Record<string, unknown> = { type }
  for (const [suffix, option, kind, types] of FIELDS) {
    const value = get(suffix)
    if (value === undefined) continue
    const name = prefix + suffix
    if (!types.includes(type)) throw invalidArgument(name, `is not used when VERIFIER is ${type}`)
    // The jwt verifier's deadline is a JWKS setting; introspection has its own `timeout`.
    const path = type === 'jwt' && option === 'timeout' ? 'jwks.timeout' : option
    switch (kind) {
      case 'string':
        setPath(config, path, value)
        break
      case 'number':
        setPath(config, path, readNumber(name, value))
        break
      case 'list': {
        const items = value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
        setPath(config, path, option === 'audience' && items.length === 1 ? items[0] : items)
        break
      }
      case 'scopes':
        setPath(
          config,
          path,
          value.split(/[\s,]+/).filter((s) => s !== ''),
        )
        break
      case 'key':
        setPath(config, path, readKey(name, value))
        break
    }
  }
  if (issuers !== undefined) config.issuers = issuers
  readCache(get, prefix, config)
  const providerModule = get('PROVIDER_MODULE')
  if (providerModule !== undefined) config.providerModule = providerModule
  return config
}

interface IssuerVariable {
  suffix: string
  index: string
  field: 'issuer' | 'jwksUri' | 'key'
}

// ISSUER_<n>, ISSUER_<n>_JWKS_URI, ISSUER_<n>_KEY directly under `prefix`.
function issuerVariables(
  env: Readonly<Record<string, string | undefined>>,
  prefix: string,
): IssuerVariable[] {
  const found: IssuerVariable[] = []
  for (const name of Object.keys(env)) {
    if (!name.startsWith(`${prefix}ISSUER_`)) continue
    const suffix = name.slice(prefix.length)
    const match = /^ISSUER_(\d+)(_JWKS_URI|_KEY)?$/.exec(suffix)
    if (match === null) continue
    const field = match[2] === '_JWKS_URI' ? 'jwksUri' : match[2] === '_KEY' ? 'key' : 'issuer'
    found.push({ suffix, index: match[1] as string, field })
  }
  return found
}

/** `issuers` of the jwt verifier from ISSUER_1, ISSUER_1_JWKS_URI, ISSUER_1_KEY, ISSUER_2 ... */
function readIssuers(
  env: Readonly<Record<string, string | undefined>>,
  get: Get,
  prefix: string,
  type: Type,
): Array<Record<string, unknown>> | undefined {
  const groups = new Map<number, Record<string, unknown>>()
  for (const { suffix, index, field } of issuerVariables(env, prefix)) {
    const name = prefix + suffix
    const value = get(suffix)
    if (value === undefined) continue
    if (type !== 'jwt') throw invalidArgument(name, `is not used when VERIFIER is ${type}`)
    if (!/^[1-9]\d*$/.test(index)) {
      throw invalidArgument(name, 'is not a valid issuer number (1, 2 ... without leading zeros)')
    }
    if (field !== 'issuer' && get(`ISSUER_${index}`) === undefined) {
      throw invalidArgument(name, `needs ${prefix}ISSUER_${index}, the issuer it belongs to`)
    }
    if (field === 'issuer' && get('ISSUER') !== undefined) {
      throw invalidArgument(name, `cannot be combined with ${prefix}ISSUER: number every issuer`)
    }
    const group = groups.get(Number(index)) ?? {}
    group[field] = field === 'key' ? readKey(name, value) : value
    groups.set(Number(index), group)
  }
  if (groups.size === 0) return undefined
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, group]) => {
      // Key order as people write it: issuer first.
      const { issuer, ...source } = group
      return { issuer, ...source }
    })
}

function readCache(get: Get, prefix: string, config: Record<string, unknown>): void {
  const cacheSwitch = get('CACHE')
  if (cacheSwitch !== undefined && !['on', 'off'].includes(cacheSwitch)) {
    throw invalidArgument(`${prefix}CACHE`, 'must be on or off')
  }
  if (cacheSwitch === 'off') {
    config.cache = false
    return
  }
  const cache: Record<string, number> = {}
  for (const [suffix, option] of CACHE_FIELDS) {
    const value = get(suffix)
    if (value !== undefined) cache[option] = readNumber(prefix + suffix, value)
  }
  if (cacheSwitch === 'on' || Object.keys(cache).length > 0) config.cache = cache
}
