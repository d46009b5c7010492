import { invalidArgument } from '@bearerkit/core'
import {
  buildToken,
  signToken,
  TEST_CLIENT_ID,
  TEST_SUBJECT,
  type CreateTokenOptions,
} from './create-token.js'
import { b64url } from './lib/jws.js'

/** The identity provider {@link createIdentityAssertion} writes as `iss` when none is given. */
export const TEST_IDP_ISSUER = 'https://idp.example.org'
/** The authorization server {@link createIdentityAssertion} addresses (`aud`) when none is given. */
export const TEST_AS_ISSUER = 'https://auth.example.com'
/** The resource {@link createIdentityAssertion} names when none is given. */
export const TEST_RESOURCE = 'https://resource.example.com/mcp'

/**
 * Options of {@link createIdentityAssertion}: those of `createToken` (with ID-JAG defaults) plus
 * the `resource` claim. `null` leaves a claim out.
 */
export interface CreateIdentityAssertionOptions extends Omit<
  CreateTokenOptions,
  'issuer' | 'audience' | 'expiresIn' | 'typ'
> {
  /** `iss`, the identity provider. Default {@link TEST_IDP_ISSUER}. */
  issuer?: string | null
  /** `aud`, the authorization server's issuer. Default {@link TEST_AS_ISSUER}. */
  audience?: string | readonly string[] | null
  /** `resource` (RFC 8707) the assertion grants access to. Default {@link TEST_RESOURCE}. */
  resource?: string | null
  /** Lifetime in seconds from now. Default 300: ID-JAGs are short-lived. */
  expiresIn?: number | null
  /** `typ` header parameter. Default `oauth-id-jag+jwt`. */
  typ?: string | null
}

function build(options: CreateIdentityAssertionOptions): ReturnType<typeof buildToken> {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'must be an object')
  }
  const { resource, ...rest } = options
  if (resource !== undefined && resource !== null && typeof resource !== 'string') {
    throw invalidArgument('options.resource', 'must be a string or null')
  }
  const token = buildToken({
    ...rest,
    issuer: options.issuer === undefined ? TEST_IDP_ISSUER : options.issuer,
    audience: options.audience === undefined ? TEST_AS_ISSUER : options.audience,
    expiresIn: options.expiresIn === undefined ? 300 : options.expiresIn,
    typ: options.typ === undefined ? 'oauth-id-jag+jwt' : options.typ,
    subject: options.subject === undefined ? TEST_SUBJECT : options.subject,
    clientId: options.clientId === undefined ? TEST_CLIENT_ID : options.clientId,
  })
  const value = resource === undefined ? TEST_RESOURCE : resource
  if (value !== null) token.payload.resource = value
  // Caller-given claims win, as in createToken (resource included).
  for (const [name, claim] of Object.entries(options.claims ?? {})) {
    if (claim === undefined) delete token.payload[name]
    else token.payload[name] = claim
  }
  return token
}

/**
 * Mints an Identity Assertion JWT Authorization Grant (ID-JAG, SEP-990) as an enterprise identity
 * provider would: `typ: oauth-id-jag+jwt`, `iss` (the IdP), `sub`, `aud` (the authorization
 * server), `client_id`, `resource`, `jti`, `iat`, `exp` (300 s), and `scope` when given.
 *
 * @example
 * ```ts
 * const idp = await generateKeyPair('ES256')
 * const assertion = await createIdentityAssertion({ key: idp, clientId: 'agent', scopes: ['files:read'] })
 * ```
 */
export async function createIdentityAssertion(
  options: CreateIdentityAssertionOptions,
): Promise<string> {
  return signToken(build(options))
}

/** The ways {@link createBrokenIdentityAssertion} can break an ID-JAG. */
export const BROKEN_IDENTITY_ASSERTION_KINDS = [
  'alg-none',
  'bad-signature',
  'wrong-typ',
  'expired',
  'too-long-lived',
  'not-yet-valid',
  'wrong-audience',
  'untrusted-issuer',
  'missing-subject',
  'missing-jti',
  'missing-client-id',
  'missing-resource',
] as const

/** One of {@link BROKEN_IDENTITY_ASSERTION_KINDS}. */
export type BrokenIdentityAssertionKind = (typeof BROKEN_IDENTITY_ASSERTION_KINDS)[number]

/**
 * Mints an ID-JAG that is wrong in exactly one way, for negative tests of an authorization server.
 * Everything else is as {@link createIdentityAssertion} makes it, from the same options.
 *
 * @example
 * ```ts
 * const replayable = await createBrokenIdentityAssertion('missing-jti', { key: idp })
 * ```
 */
export async function createBrokenIdentityAssertion(
  kind: BrokenIdentityAssertionKind,
  options: CreateIdentityAssertionOptions,
): Promise<string> {
  const now = Math.floor((options?.now ?? Date.now)() / 1000)
  switch (kind) {
    case 'alg-none': {
      const token = build(options)
      return `${b64url({ ...token.header, alg: 'none' })}.${b64url(token.payload)}.`
    }
    case 'bad-signature': {
      const [header, payload, signature] = (await createIdentityAssertion(options)).split('.') as [
        string,
        string,
        string,
      ]
      const flipped = Buffer.from(signature, 'base64url')
      flipped[0] = (flipped[0] ?? 0) ^ 0xff
      return `${header}.${payload}.${flipped.toString('base64url')}`
    }
    case 'wrong-typ':
      return createIdentityAssertion({ ...options, typ: 'JWT' })
    case 'expired':
      return createIdentityAssertion({ ...options, expiresIn: -600, iat: now - 900 })
    case 'too-long-lived':
      return createIdentityAssertion({ ...options, expiresIn: 86_400 })
    case 'not-yet-valid':
      return createIdentityAssertion({ ...options, nbf: now + 3600 })
    case 'wrong-audience':
      return createIdentityAssertion({ ...options, audience: 'https://other-as.example.net' })
    case 'untrusted-issuer':
      return createIdentityAssertion({ ...options, issuer: 'https://untrusted-idp.example.net' })
    case 'missing-subject':
      return createIdentityAssertion({ ...options, subject: null })
    case 'missing-jti':
      return createIdentityAssertion({ ...options, jti: null })
    case 'missing-client-id':
      return createIdentityAssertion({ ...options, clientId: null })
    case 'missing-resource':
      return createIdentityAssertion({ ...options, resource: null })
    default:
      throw invalidArgument('kind', `must be one of ${BROKEN_IDENTITY_ASSERTION_KINDS.join(', ')}`)
  }
}
