import { randomUUID } from 'node:crypto'
import { formatScopes, invalidArgument } from '@bearerkit/core'
import { isAsymmetricAlgorithm, isSymmetricAlgorithm, type SigningAlgorithm } from './keys.js'
import { signCompact, signingMaterial, type SigningKeyInput } from './lib/jws.js'

/** The issuer {@link createToken} writes when none is given. */
export const TEST_ISSUER = 'https://issuer.example.com'
/** The audience {@link createToken} writes when none is given. */
export const TEST_AUDIENCE = 'https://resource.example.com/mcp'
/** The subject {@link createToken} writes when none is given. */
export const TEST_SUBJECT = 'test-user'
/** The `client_id` {@link createToken} writes when none is given. */
export const TEST_CLIENT_ID = 'test-client'

/**
 * Options of {@link createToken}. Every claim has a default that makes a complete RFC 9068 access
 * token; `null` leaves a claim (or header parameter) out, for tests of what a verifier does
 * without it.
 */
export interface CreateTokenOptions {
  /** The signing key: a {@link TestKeyPair} or a {@link TestSecret}. */
  key: SigningKeyInput
  /** JWS algorithm. Default: the key's. */
  alg?: SigningAlgorithm
  /** `sub`. Default {@link TEST_SUBJECT}. */
  subject?: string | null
  /** `iss`. Default {@link TEST_ISSUER}. */
  issuer?: string | null
  /** `aud`: one audience is written as a string, several as an array. Default {@link TEST_AUDIENCE}. */
  audience?: string | readonly string[] | null
  /** `scope`, written space-separated (RFC 9068 §2.2.3). Default: no `scope` claim. */
  scopes?: readonly string[] | string | null
  /** `client_id`. Default {@link TEST_CLIENT_ID}. */
  clientId?: string | null
  /** Lifetime in seconds from now: `exp = now + expiresIn` (negative for the past). Default 3600. */
  expiresIn?: number | null
  /** `iat`, seconds since the epoch. Default: now. */
  iat?: number | null
  /** `nbf`, seconds since the epoch. Default: no `nbf`. */
  nbf?: number | null
  /** `jti`. Default: a random UUID. */
  jti?: string | null
  /** `kid` header parameter. Default: the key's kid. */
  kid?: string | null
  /** `typ` header parameter. Default `at+jwt` (RFC 9068 §2.1). */
  typ?: string | null
  /** Extra claims; they override the claims above, including with `undefined` to drop one. */
  claims?: Readonly<Record<string, unknown>>
  /** Extra protected header parameters; they override `alg`, `kid` and `typ`. */
  header?: Readonly<Record<string, unknown>>
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/** A token before signing: what {@link createToken} would sign, with the key to sign it with. */
export interface UnsignedToken {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  key: SigningKeyInput
  /** The clock reading used, in seconds since the epoch. */
  now: number
}

function optionalString(option: string, value: unknown): void {
  if (value !== undefined && value !== null && typeof value !== 'string') {
    throw invalidArgument(option, 'must be a string or null')
  }
}

function optionalNumber(option: string, value: unknown): void {
  if (
    value !== undefined &&
    value !== null &&
    (typeof value !== 'number' || !Number.isFinite(value))
  ) {
    throw invalidArgument(option, 'must be a finite number or null')
  }
}

/** Checks options and builds the header and claims {@link createToken} signs. */
export function buildToken(options: CreateTokenOptions): UnsignedToken {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'must be an object')
  }
  const { key } = options
  if (typeof key !== 'object' || key === null || !('alg' in key) || !('kid' in key)) {
    throw invalidArgument('options.key', 'must be a key from generateKeyPair or generateSecret')
  }
  const alg = options.alg ?? key.alg
  if (!isAsymmetricAlgorithm(alg) && !isSymmetricAlgorithm(alg)) {
    throw invalidArgument('options.alg', 'must be a JWS algorithm this package signs with')
  }
  for (const name of ['subject', 'issuer', 'clientId', 'jti', 'kid', 'typ'] as const) {
    optionalString(`options.${name}`, options[name])
  }
  for (const name of ['expiresIn', 'iat', 'nbf'] as const) {
    optionalNumber(`options.${name}`, options[name])
  }
  const audience = options.audience === undefined ? TEST_AUDIENCE : options.audience
  if (
    audience !== null &&
    typeof audience !== 'string' &&
    !(Array.isArray(audience) && audience.every((a) => typeof a === 'string'))
  ) {
    throw invalidArgument('options.audience', 'must be a string, an array of strings, or null')
  }
  const scopes = options.scopes ?? null
  if (
    scopes !== null &&
    typeof scopes !== 'string' &&
    !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string'))
  ) {
    throw invalidArgument('options.scopes', 'must be a string, an array of strings, or null')
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument('options.now', 'must be a function returning milliseconds')
  }
  const now = Math.floor((options.now ?? Date.now)() / 1000)
  const pick = <T>(value: T | null | undefined, fallback: T): T | undefined =>
    value === null ? undefined : (value ?? fallback)

  const header: Record<string, unknown> = { alg }
  const typ = pick(options.typ, 'at+jwt')
  if (typ !== undefined) header.typ = typ
  const kid = pick(options.kid, key.kid)
  if (kid !== undefined) header.kid = kid
  Object.assign(header, options.header)

  // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat and jti are all REQUIRED in an access token.
  const claims: Record<string, unknown> = {}
  const iss = pick(options.issuer, TEST_ISSUER)
  if (iss !== undefined) claims.iss = iss
  const sub = pick(options.subject, TEST_SUBJECT)
  if (sub !== undefined) claims.sub = sub
  if (audience !== null) {
    claims.aud = typeof audience === 'string' || audience.length !== 1 ? audience : audience[0]
  }
  const expiresIn = pick(options.expiresIn, 3600)
  if (expiresIn !== undefined) claims.exp = now + expiresIn
  const iat = pick(options.iat, now)
  if (iat !== undefined) claims.iat = iat
  if (options.nbf !== undefined && options.nbf !== null) claims.nbf = options.nbf
  const jti = pick(options.jti, randomUUID())
  if (jti !== undefined) claims.jti = jti
  const clientId = pick(options.clientId, TEST_CLIENT_ID)
  if (clientId !== undefined) claims.client_id = clientId
  if (scopes !== null) {
    claims.scope = typeof scopes === 'string' ? scopes : formatScopes(scopes)
  }
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (value === undefined) delete claims[name]
    else claims[name] = value
  }
  return { header, payload: claims, key, now }
}

/** Signs what {@link buildToken} built. */
export async function signToken(token: UnsignedToken): Promise<string> {
  return signCompact(
    token.header,
    Buffer.from(JSON.stringify(token.payload), 'utf8'),
    signingMaterial(token.key),
  )
}

/**
 * Mints a signed JWT access token, the way FastMCP's `RSAKeyPair.create_token` does (subject,
 * issuer, audience, scopes, lifetime, extra claims, kid) plus the other RFC 9068 claims. By default
 * the result is a complete RFC 9068 token: `typ: at+jwt`, and `iss`, `sub`, `aud`, `exp`, `iat`,
 * `jti` and `client_id` all present. Signed with jose.
 *
 * For tokens that are wrong on purpose, see {@link createBrokenToken}.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2 RFC 9068 §2 (JWT access token)
 * @example
 * ```ts
 * const pair = await generateKeyPair('RS256')
 * const token = await createToken({
 *   key: pair,
 *   issuer: 'https://as.example.com',
 *   audience: 'https://api.example.com/mcp',
 *   scopes: ['files:read'],
 *   expiresIn: 300,
 *   claims: { tenant: 'acme' },
 * })
 * ```
 */
export async function createToken(options: CreateTokenOptions): Promise<string> {
  return signToken(buildToken(options))
}
