import {
  invalidArgument,
  isOptionsObject,
  isScopeToken,
  readBoolean,
  readFunction,
  readNumber,
  readOptionsObject,
  readString,
  rejectUnknownOptions,
  resolveClaimMapping,
  validateUrl,
  type ClaimMapping,
} from '@bearerkit/core'
import { DEFAULT_ALGORITHMS } from '../algorithms.js'
import type { ValidateFunction } from '../create-jwt-verifier.js'
import type { KeyResolver } from '../key-resolver.js'
import { ALGORITHMS } from './algorithm-table.js'
import type { ClaimPolicy } from './claims-check.js'
import { hmacAlgorithms, importSecret, importStaticKey } from './import-key.js'
import { readAlgorithms, readTypes } from './options.js'
import type { PreparedKey } from './prepared-key.js'

/*
 * Every option of this package is read here, once, into frozen settings: an unknown option is a
 * TypeError naming the nearest known one (a misspelt `requiredScope` silently accepting tokens
 * without the scope is a security defect, not a typo).
 */

/** Default JWKS settings, in the units of the options (seconds; `timeout` in milliseconds). */
export const JWKS_DEFAULTS = Object.freeze({
  maxAge: 600,
  cooldown: 30,
  timeout: 5000,
  staleIfError: 3600,
  backoff: 1,
  maxBackoff: 60,
  maxBytes: 256 * 1024,
})

/** Default accepted clock skew, in seconds. */
export const CLOCK_TOLERANCE = 30

/** Default longest token, in characters. */
export const MAX_TOKEN_BYTES = 64 * 1024

const JWT_OPTIONS = [
  'issuer',
  'issuers',
  'audience',
  'jwksUri',
  'key',
  'secret',
  'algorithms',
  'tokenTypes',
  'clockTolerance',
  'maxTokenAge',
  'requireExpiration',
  'requireIssuedAt',
  'requiredScopes',
  'validate',
  'claims',
  'jwks',
  'timeout',
  'now',
  'fetch',
]
const ISSUER_OPTIONS = ['issuer', 'jwksUri', 'key', 'secret']
const KEY_RESOLVER_OPTIONS = [
  'issuer',
  'jwksUri',
  'key',
  'secret',
  'algorithms',
  'jwks',
  'timeout',
  'now',
  'fetch',
]
const JWKS_OPTIONS = Object.keys(JWKS_DEFAULTS)
const CLAIM_MAPPING_OPTIONS = ['clientId', 'scopes', 'subject']
const JWS_OPTIONS = ['keys', 'algorithms', 'types', 'criticalHeaders', 'maxLength']

// RFC 7515 §4.1.11: crit must not name parameters defined by RFC 7515 or RFC 7518 for JWS.
export const REGISTERED_HEADERS: ReadonlySet<string> = new Set([
  'alg',
  'jku',
  'jwk',
  'kid',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'typ',
  'cty',
  'crit',
])

/** JWKS cache settings, all durations in milliseconds. */
export interface JwksSettings {
  readonly maxAge: number
  readonly cooldown: number
  readonly staleIfError: number
  readonly backoff: number
  readonly maxBackoff: number
  readonly timeout: number
  readonly maxBytes: number
}

/** One key source: static keys, or a JWKS (given or discovered from `issuer`). */
export interface KeySourceSettings {
  readonly issuer: string | undefined
  readonly algorithms: readonly string[]
  /** The static keys, when the source is static. */
  readonly keys: readonly PreparedKey[] | undefined
  readonly jwksUri: URL | undefined
  readonly jwks: JwksSettings
  readonly now: () => number
  readonly fetch: typeof fetch | undefined
}

/** The settings of a JWS check. */
export interface JwsSettings {
  readonly keys: KeyResolver
  readonly algorithms: ReadonlySet<string>
  /** Accepted `typ` values as given, or `null` for no check. */
  readonly types: readonly string[] | null
  readonly criticalHeaders: ReadonlySet<string>
  readonly maxLength: number
}

/** The settings of a JWT access-token verifier. */
export interface JwtSettings {
  readonly algorithms: readonly string[]
  readonly types: readonly string[] | null
  readonly policy: ClaimPolicy
  readonly requiredScopes: readonly string[]
  readonly mapping: Readonly<Required<ClaimMapping>>
  readonly validate: ValidateFunction | undefined
  readonly now: () => number
  /** Each trusted issuer and its key source. */
  readonly sources: ReadonlyMap<string, KeySourceSettings>
}

interface Shared {
  readonly algorithms: readonly string[]
  readonly now: () => number
  readonly fetch: typeof fetch | undefined
  /** The `jwks` options object as given (read once per source kind), and where it was given. */
  readonly jwks: Record<string, unknown> | undefined
  readonly jwksPath: string
  readonly algorithmsPath: string
  readonly timeout: number | undefined
}

/** Reads the options of `createJwtVerifier`. */
export function resolveJwtOptions(input: unknown): JwtSettings {
  const options = readRoot('options', input, JWT_OPTIONS)
  const shared = readShared('options', options)
  const maxTokenAge =
    options.maxTokenAge === undefined
      ? undefined
      : readNumber('options.maxTokenAge', options.maxTokenAge, 0)
  const policy: ClaimPolicy = Object.freeze({
    audience: readAudience(options.audience),
    clockTolerance: readNumber('options.clockTolerance', options.clockTolerance, CLOCK_TOLERANCE),
    maxTokenAge,
    requireExpiration: readBoolean('options.requireExpiration', options.requireExpiration, true),
    requireIssuedAt: readBoolean('options.requireIssuedAt', options.requireIssuedAt, true),
  })
  if (!policy.requireIssuedAt && maxTokenAge !== undefined) {
    throw invalidArgument(
      'options.requireIssuedAt',
      'cannot be false with options.maxTokenAge: the age of a token is read from iat',
    )
  }
  const claims = options.claims
  if (isOptionsObject(claims)) rejectUnknownOptions('options.claims', claims, CLAIM_MAPPING_OPTIONS)
  const sources = new Map<string, KeySourceSettings>()
  if (options.issuers !== undefined) {
    for (const field of ['issuer', 'jwksUri', 'key', 'secret'] as const) {
      if (options[field] !== undefined) {
        throw invalidArgument(`options.${field}`, 'must not be set together with options.issuers')
      }
    }
    if (!Array.isArray(options.issuers) || options.issuers.length === 0) {
      throw invalidArgument('options.issuers', 'must be a non-empty array')
    }
    options.issuers.forEach((entry: unknown, index) => {
      const path = `options.issuers[${index}]`
      const source = readRoot(path, entry, ISSUER_OPTIONS)
      const issuer = readString(`${path}.issuer`, source.issuer)
      if (sources.has(issuer)) throw invalidArgument(`${path}.issuer`, 'is listed twice')
      sources.set(issuer, readKeySource(path, source, shared))
    })
  } else {
    const issuer = readString('options.issuer', options.issuer)
    sources.set(issuer, readKeySource('options', options, shared))
  }
  const types = options.tokenTypes === undefined ? ['at+jwt'] : options.tokenTypes
  return Object.freeze({
    algorithms: shared.algorithms,
    types: readTypes('options.tokenTypes', types),
    policy,
    requiredScopes: readScopes(options.requiredScopes),
    mapping: resolveClaimMapping(claims as ClaimMapping | undefined),
    validate: readFunction<ValidateFunction>('options.validate', options.validate),
    now: shared.now,
    sources,
  })
}

/** Reads the options of `createKeyResolver`; `path` names them in errors. */
export function resolveKeyResolverOptions(input: unknown, path: string): KeySourceSettings {
  const options = readRoot(path, input, KEY_RESOLVER_OPTIONS)
  return readKeySource(path, options, readShared(path, options))
}

/** Reads the options of `createJwsVerifier`. */
export function resolveJwsOptions(input: unknown): JwsSettings {
  const options = readRoot('options', input, JWS_OPTIONS)
  const keys = options.keys as KeyResolver | undefined
  if (typeof keys?.resolve !== 'function') {
    throw invalidArgument('options.keys', 'must be a KeyResolver (see createKeyResolver)')
  }
  return Object.freeze({
    keys,
    algorithms: new Set(
      readAlgorithms('options.algorithms', options.algorithms, DEFAULT_ALGORITHMS),
    ),
    types: readTypes('options.types', options.types),
    criticalHeaders: readNames('options.criticalHeaders', options.criticalHeaders),
    maxLength: readNumber('options.maxLength', options.maxLength, MAX_TOKEN_BYTES, 16),
  })
}

function readRoot(path: string, input: unknown, known: readonly string[]): Record<string, unknown> {
  // Required: undefined is no object here. A Promise gets a hint about a missing await.
  const options = readOptionsObject(path, input === undefined ? null : input)
  rejectUnknownOptions(path, options, known)
  return options
}

function readShared(path: string, options: Record<string, unknown>): Shared {
  const jwks =
    options.jwks === undefined ? undefined : readOptionsObject(`${path}.jwks`, options.jwks)
  if (jwks !== undefined) rejectUnknownOptions(`${path}.jwks`, jwks, JWKS_OPTIONS)
  return {
    algorithms: readAlgorithms(`${path}.algorithms`, options.algorithms, DEFAULT_ALGORITHMS),
    now: readFunction<() => number>(`${path}.now`, options.now) ?? Date.now,
    fetch: readFunction<typeof fetch>(`${path}.fetch`, options.fetch),
    jwks,
    jwksPath: `${path}.jwks`,
    algorithmsPath: `${path}.algorithms`,
    timeout:
      options.timeout === undefined
        ? undefined
        : readNumber(`${path}.timeout`, options.timeout, JWKS_DEFAULTS.timeout, 1),
  }
}

/**
 * One key source: `key` and/or `secret` (static), `jwksUri`, or neither (discovery from
 * `issuer`). The `jwks` settings (checked all the same) and `timeout` apply to fetched sources
 * only: one environment may set a timeout for every verifier, whatever its key source.
 */
function readKeySource(
  path: string,
  source: Record<string, unknown>,
  shared: Shared,
): KeySourceSettings {
  const { jwksUri, key, secret, issuer } = source
  const { algorithms } = shared
  const jwks = readJwks(shared)
  const base = { algorithms, now: shared.now, fetch: shared.fetch, jwks }
  const hmac = hmacAlgorithms(algorithms)
  if (key !== undefined || secret !== undefined) {
    if (jwksUri !== undefined) {
      throw invalidArgument(path, 'must give one key source: jwksUri or key (or secret), not both')
    }
    const keys = [
      ...(key === undefined ? [] : importStaticKey(key, algorithms, `${path}.key`)),
      ...(secret === undefined ? [] : [importSecret(secret, algorithms, `${path}.secret`)]),
    ]
    for (const alg of hmac) {
      if (keys.some((k) => k.algorithms.has(alg))) continue
      throw invalidArgument(
        shared.algorithmsPath,
        keys.some((k) => k.family === 'oct')
          ? `contains ${alg}, for which the shared secret is too short (RFC 7518 §3.2)`
          : `contains ${alg}, but a public key cannot verify an HMAC algorithm (${alg}); ` +
              'a shared secret goes in secret',
      )
    }
    // RFC 8725 §3.1: an asymmetric algorithm in the allow-list next to secrets only would mean
    // that the allow-list was written for a public key that is not there.
    const asymmetric = algorithms.filter((alg) => ALGORITHMS.get(alg)?.family !== 'oct')
    if (asymmetric.length > 0 && keys.every((k) => k.family === 'oct')) {
      throw invalidArgument(
        shared.algorithmsPath,
        `contains ${asymmetric.join(', ')}, which need a public key, and only a shared secret is ` +
          'configured: list only HS256, HS384 or HS512',
      )
    }
    return Object.freeze({ ...base, issuer: optionalIssuer(issuer), keys, jwksUri: undefined })
  }
  if (hmac.length > 0) {
    throw invalidArgument(
      shared.algorithmsPath,
      `contains ${hmac.join(', ')}: HS* needs a shared secret (secret); a JWKS never supplies one`,
    )
  }
  let uri: URL | undefined
  if (jwksUri !== undefined) {
    uri = validateUrl(`${path}.jwksUri`, jwksUri)
  } else if (issuer === undefined) {
    throw invalidArgument(path, 'needs a key source: jwksUri, key, secret, or issuer for discovery')
  } else {
    validateUrl(`${path}.issuer`, issuer)
  }
  return Object.freeze({ ...base, issuer: optionalIssuer(issuer), keys: undefined, jwksUri: uri })
}

function optionalIssuer(issuer: unknown): string | undefined {
  return typeof issuer === 'string' ? issuer : undefined
}

function readJwks(shared: Shared): JwksSettings {
  const jwks = shared.jwks ?? {}
  const name = (field: string): string => `${shared.jwksPath}.${field}`
  const d = JWKS_DEFAULTS
  const seconds = (
    field: 'maxAge' | 'cooldown' | 'staleIfError' | 'backoff' | 'maxBackoff',
    min = 0,
  ) => readNumber(name(field), jwks[field], d[field], min) * 1000
  return Object.freeze({
    maxAge: seconds('maxAge', 1),
    cooldown: seconds('cooldown'),
    staleIfError: seconds('staleIfError'),
    backoff: seconds('backoff'),
    maxBackoff: seconds('maxBackoff'),
    // jwks.timeout, when given, is more specific than the general timeout.
    timeout: readNumber(name('timeout'), jwks.timeout, shared.timeout ?? d.timeout, 1),
    maxBytes: readNumber(name('maxBytes'), jwks.maxBytes, d.maxBytes, 1024),
  })
}

function readAudience(value: unknown): readonly string[] | null {
  if (value === null) return null
  const list = typeof value === 'string' ? [value] : value
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((a) => typeof a === 'string' && a !== '')
  ) {
    throw invalidArgument(
      'options.audience',
      'must be a non-empty string or array of them (pass null to skip the audience check)',
    )
  }
  return Object.freeze([...(list as string[])])
}

function readScopes(value: unknown): readonly string[] {
  if (value === undefined) return Object.freeze([])
  if (!Array.isArray(value) || !value.every(isScopeToken)) {
    throw invalidArgument('options.requiredScopes', 'must be an array of scope tokens')
  }
  return Object.freeze([...value])
}

function readNames(option: string, value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set()
  if (
    !Array.isArray(value) ||
    !value.every((n) => typeof n === 'string' && n !== '' && !REGISTERED_HEADERS.has(n))
  ) {
    throw invalidArgument(option, 'must be an array of extension header parameter names')
  }
  return new Set(value as string[])
}
