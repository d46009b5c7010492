import type { KeyObject } from 'node:crypto'
import {
  DEFAULT_HTTP_TIMEOUT,
  createMemoryReplayStore,
  guardReplayStore,
  guardSharedCache,
  invalidArgument,
  isOptionsObject,
  isScopeToken,
  readBoolean,
  readFunction,
  readInteger,
  readNumber,
  readOptionsObject,
  readString,
  rejectUnknownOptions,
  resolveClaimMapping,
  validateUrl,
  type ClaimMapping,
  type GuardedReplayStore,
  type GuardedSharedCache,
  type ReplayStore,
} from '@bearerkit/core'
import type { ClientAuthMethod, IntrospectionVerifierOptions } from '../options.js'
import {
  ASYMMETRIC_ALGORITHMS,
  importSigningKey,
  importVerificationKey,
  type SigningKey,
} from './keys.js'

/** Default body limit of every response the verifier reads. */
export const DEFAULT_INTROSPECTION_MAX_BYTES = 64 * 1024

/** Client authentication, checked. */
export type ClientAuth =
  | {
      readonly method: 'client_secret_basic' | 'client_secret_post'
      readonly clientId: string
      readonly clientSecret: string
    }
  | {
      readonly method: 'private_key_jwt'
      readonly clientId: string
      readonly signingKey: SigningKey
    }
  | { readonly method: 'none'; readonly clientId: string | undefined }

/** RFC 9701 settings, checked. `key` and `jwksUri` absent: the metadata's `jwks_uri`. */
export interface JwtResponseSettings {
  readonly key: KeyObject | undefined
  readonly jwksUri: URL | undefined
  readonly algorithms: readonly string[]
  readonly clockTolerance: number
  readonly maxAge: number
  /** Where response `jti`s are claimed, so that a response is accepted once. */
  readonly replayStore: GuardedReplayStore
}

/** Every option checked and defaulted. */
export interface Settings {
  readonly introspectionUrl: URL | undefined
  readonly issuer: string | undefined
  readonly audience: readonly string[] | null
  readonly requireTokenType: boolean
  readonly clientAuth: ClientAuth
  readonly requiredScopes: readonly string[]
  readonly claims: Readonly<Required<ClaimMapping>>
  readonly timeout: number
  readonly retries: number
  readonly maxResponseBytes: number
  readonly cache: {
    readonly max: number
    readonly ttl: number
    readonly negativeTtl: number
  } | null
  readonly jwtResponse: JwtResponseSettings | null
  /** The fleet's shared tier, behind the in-process cache; `null` for none. */
  readonly sharedCache: {
    readonly store: GuardedSharedCache
    /** Milliseconds an active answer is shared (never past `exp`), an inactive one. */
    readonly ttl: number
    readonly negativeTtl: number
    /** Life of the fleet-wide load lock, in milliseconds: an introspection's whole time. */
    readonly lockTtl: number
  } | null
  readonly now: () => number
  readonly fetch: typeof fetch | undefined
}

const METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
]

/** Every option of `createIntrospectionVerifier`; anything else is a mistake, named. */
const OPTIONS: readonly (keyof IntrospectionVerifierOptions)[] = [
  'introspectionUrl',
  'issuer',
  'audience',
  'requireTokenType',
  'clientId',
  'clientSecret',
  'clientAuthMethod',
  'privateKey',
  'privateKeyAlg',
  'requiredScopes',
  'claims',
  'timeout',
  'retries',
  'maxResponseBytes',
  'cache',
  'sharedCache',
  'jwtResponse',
  'now',
  'fetch',
]
const CACHE_OPTIONS = ['max', 'ttl', 'negativeTtl'] as const
const JWT_RESPONSE_OPTIONS = [
  'jwksUri',
  'key',
  'algorithms',
  'clockTolerance',
  'maxAge',
  'replayStore',
] as const

/** Seconds on the token time scale: a finite number >= 0. */
function seconds(option: string, value: unknown, fallback: number): number {
  return readNumber(option, value, fallback, 0)
}

/** An integer from `min` to `max`. */
function integer(
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  const n = readInteger(option, value, fallback, min)
  if (n > max) throw invalidArgument(option, `must be an integer from ${min} to ${max}`)
  return n
}

function resolveAudience(value: unknown): readonly string[] | null {
  const problem =
    'is required: the audience of this resource server (a string or an array of strings), or null to skip the audience check'
  if (value === null) return null
  if (typeof value === 'string' && value !== '') return Object.freeze([value])
  if (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((v) => typeof v === 'string' && v !== '')
  ) {
    return Object.freeze([...(value as string[])])
  }
  throw invalidArgument('options.audience', problem)
}

function resolveClientAuth(options: IntrospectionVerifierOptions): ClientAuth {
  const method = options.clientAuthMethod ?? 'client_secret_basic'
  if (!METHODS.includes(method)) {
    throw invalidArgument('options.clientAuthMethod', `must be one of ${METHODS.join(', ')}`)
  }
  if (method !== 'private_key_jwt') {
    if (options.privateKey !== undefined) {
      throw invalidArgument(
        'options.privateKey',
        "is only used with clientAuthMethod 'private_key_jwt'",
      )
    }
    if (options.privateKeyAlg !== undefined) {
      throw invalidArgument(
        'options.privateKeyAlg',
        "is only used with clientAuthMethod 'private_key_jwt'",
      )
    }
  }
  if ((method === 'private_key_jwt' || method === 'none') && options.clientSecret !== undefined) {
    throw invalidArgument('options.clientSecret', `is not used with clientAuthMethod '${method}'`)
  }
  switch (method) {
    case 'client_secret_basic':
    case 'client_secret_post':
      return {
        method,
        clientId: readString('options.clientId', options.clientId),
        clientSecret: readString('options.clientSecret', options.clientSecret),
      }
    case 'private_key_jwt': {
      const clientId = readString('options.clientId', options.clientId)
      if (options.privateKey === undefined) {
        throw invalidArgument(
          'options.privateKey',
          "is required with clientAuthMethod 'private_key_jwt'",
        )
      }
      return {
        method,
        clientId,
        signingKey: importSigningKey(
          'options.privateKey',
          options.privateKey,
          options.privateKeyAlg,
        ),
      }
    }
    case 'none':
      return {
        method,
        clientId:
          options.clientId === undefined
            ? undefined
            : readString('options.clientId', options.clientId),
      }
  }
}

function resolveJwtResponse(
  value: unknown,
  issuer: string | undefined,
  clientAuth: ClientAuth,
  now: () => number,
): JwtResponseSettings | null {
  if (value === undefined || value === false) return null
  if (value !== true && !isOptionsObject(value)) {
    throw invalidArgument('options.jwtResponse', 'must be a boolean or an options object')
  }
  const given = value === true ? {} : value
  rejectUnknownOptions('options.jwtResponse', given, JWT_RESPONSE_OPTIONS)
  // RFC 9701 §5: iss is the authorization server and aud the client; both must be known.
  if (issuer === undefined) {
    throw invalidArgument(
      'options.issuer',
      'is required with jwtResponse (the JWT iss is checked against it)',
    )
  }
  if (clientAuth.clientId === undefined) {
    throw invalidArgument(
      'options.clientId',
      'is required with jwtResponse (the JWT aud is checked against it)',
    )
  }
  if (given.key !== undefined && given.jwksUri !== undefined) {
    throw invalidArgument('options.jwtResponse', 'takes key or jwksUri, not both')
  }
  const key =
    given.key === undefined
      ? undefined
      : importVerificationKey('options.jwtResponse.key', given.key)
  const jwksUri =
    given.jwksUri === undefined
      ? undefined
      : validateUrl('options.jwtResponse.jwksUri', given.jwksUri)
  let algorithms = ASYMMETRIC_ALGORITHMS
  if (given.algorithms !== undefined) {
    const list = given.algorithms
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((a) => typeof a === 'string' && ASYMMETRIC_ALGORITHMS.includes(a))
    ) {
      throw invalidArgument(
        'options.jwtResponse.algorithms',
        `must be a non-empty array of ${ASYMMETRIC_ALGORITHMS.join(', ')}`,
      )
    }
    algorithms = Object.freeze([...(list as string[])])
  }
  return Object.freeze({
    key,
    jwksUri,
    algorithms,
    clockTolerance: seconds('options.jwtResponse.clockTolerance', given.clockTolerance, 5),
    maxAge: seconds('options.jwtResponse.maxAge', given.maxAge, 300),
    replayStore: guardReplayStore(
      given.replayStore === undefined
        ? createMemoryReplayStore({ now })
        : readReplayStore(given.replayStore),
    ),
  })
}

function readReplayStore(value: unknown): ReplayStore {
  if (typeof (value as Partial<ReplayStore> | null)?.markUsed !== 'function') {
    throw invalidArgument(
      'options.jwtResponse.replayStore',
      'must be a ReplayStore (an object with markUsed)',
    )
  }
  return value as ReplayStore
}

/**
 * Checks every option up front and fills in defaults.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 */
export function resolveOptions(options: IntrospectionVerifierOptions): Settings {
  if (options === undefined) throw invalidArgument('options', 'must be an object')
  rejectUnknownOptions('options', readOptionsObject('options', options), OPTIONS)
  const introspectionUrl =
    options.introspectionUrl === undefined
      ? undefined
      : validateUrl('options.introspectionUrl', options.introspectionUrl)
  let issuer: string | undefined
  if (options.issuer !== undefined) {
    validateUrl('options.issuer', options.issuer)
    issuer = String(options.issuer)
  }
  if (introspectionUrl === undefined && issuer === undefined) {
    throw invalidArgument(
      'options.introspectionUrl',
      'is required unless options.issuer is given for discovery',
    )
  }
  const audience = resolveAudience(options.audience)
  const clientAuth = resolveClientAuth(options)
  let requiredScopes: readonly string[] = Object.freeze([])
  if (options.requiredScopes !== undefined) {
    const scopes: unknown = options.requiredScopes
    if (!Array.isArray(scopes) || !scopes.every((s) => isScopeToken(s))) {
      throw invalidArgument('options.requiredScopes', 'must be an array of scope tokens')
    }
    requiredScopes = Object.freeze([...new Set(scopes)])
  }
  const timeout = readNumber('options.timeout', options.timeout, DEFAULT_HTTP_TIMEOUT, 0)
  if (timeout === 0) {
    throw invalidArgument('options.timeout', 'must be a positive number of milliseconds')
  }
  let cache: Settings['cache'] = null
  if (options.cache !== false) {
    const given: unknown = options.cache ?? {}
    if (!isOptionsObject(given)) {
      throw invalidArgument('options.cache', 'must be an options object or false')
    }
    rejectUnknownOptions('options.cache', given, CACHE_OPTIONS)
    const c = given
    cache = Object.freeze({
      max: integer('options.cache.max', c.max, 10_000, 1, Number.MAX_SAFE_INTEGER),
      ttl: seconds('options.cache.ttl', c.ttl, 60),
      negativeTtl: seconds('options.cache.negativeTtl', c.negativeTtl, 5),
    })
  }
  const now = readFunction<() => number>('options.now', options.now) ?? Date.now
  const fetch = readFunction<typeof globalThis.fetch>('options.fetch', options.fetch)
  const retries = integer('options.retries', options.retries, 1, 0, 5)
  const sharedCache =
    options.sharedCache === undefined
      ? null
      : Object.freeze({
          store: guardSharedCache(options.sharedCache),
          ttl: (cache?.ttl ?? 60) * 1000,
          negativeTtl: (cache?.negativeTtl ?? 5) * 1000,
          // Every attempt may take the whole timeout; a holder slower than that has died.
          lockTtl: timeout * (retries + 1) + 1000,
        })
  return Object.freeze({
    introspectionUrl,
    issuer,
    audience,
    // RFC 7662 §2.2 makes token_type optional, but an answer without it may be about a refresh
    // token (oidc-provider answers so): refused unless the deployment says otherwise.
    requireTokenType: readBoolean('options.requireTokenType', options.requireTokenType, true),
    clientAuth,
    requiredScopes,
    claims: resolveClaimMapping(options.claims),
    timeout,
    retries,
    maxResponseBytes: integer(
      'options.maxResponseBytes',
      options.maxResponseBytes,
      DEFAULT_INTROSPECTION_MAX_BYTES,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    cache,
    jwtResponse: resolveJwtResponse(options.jwtResponse, issuer, clientAuth, now),
    sharedCache,
    now,
    fetch,
  })
}
