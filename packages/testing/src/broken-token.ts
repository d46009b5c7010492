import { createHmac } from 'node:crypto'
import { invalidArgument } from '@bearerkit/core'
import { buildToken, signToken, type CreateTokenOptions } from './create-token.js'
import { generateKeyPair, generateSecret, type SigningAlgorithm } from './keys.js'
import { b64url, signCompact, signingMaterial, type SigningKeyInput } from './lib/jws.js'

/**
 * The ways {@link createBrokenToken} can break a token. A correct verifier refuses every one of
 * them (a refusal, never an error), with two exceptions noted below: `kid-missing` and
 * `huge-header` are well-formed and correctly signed, and test a verifier's key selection and size
 * limits.
 *
 * Signature and algorithm
 * - `alg-none`, `alg-none-mixed-case`: `alg` is `none` (or `nOnE`), signature empty (RFC 8725 §2.1).
 * - `bad-signature`: one bit of the signature flipped.
 * - `empty-signature`: `header.payload.` with the original header.
 * - `wrong-key`: signed by an unrelated key of the same algorithm, under the right `kid`.
 * - `alg-mismatch`: the header names another algorithm than the key's (RS256 key, PS256 header).
 *   RSA and HMAC keys really sign with the named algorithm, so only a verifier that pins the
 *   algorithm to the key catches it; EC and Ed25519 keys keep their own signature.
 * - `hs256-public-key`: HS256 keyed with the public key's PEM, the classic algorithm confusion
 *   (RFC 8725 §2.1). Needs a key pair.
 * - `crit-unknown`: a `crit` header naming an extension no verifier understands (RFC 7515 §4.1.11).
 *
 * Header injection (signed by an attacker key under the victim's `kid`; never fetch, never trust)
 * - `jku-injection`, `x5u-injection`: a key URL (`attackerUrl`) in the header.
 * - `jwk-injection`: the attacker's public JWK embedded in the header.
 * - `x5c-injection`: the attacker's public key (DER) as an `x5c` chain.
 *
 * Key ids
 * - `kid-unknown`, `kid-path-traversal`, `kid-injection` (SQL-ish), `kid-not-string`: correctly
 *   signed, under a `kid` no JWKS holds.
 * - `kid-missing`: no `kid` at all. RFC 7515 makes `kid` optional, so a verifier may accept it when
 *   exactly one key fits, and must refuse it when several do.
 *
 * Claims (validly signed)
 * - `expired`, `not-yet-valid` (`nbf` an hour ahead), `issued-in-future` (`iat` an hour ahead),
 *   `wrong-issuer`, `wrong-audience`, `wrong-typ` (`JWT`), `missing-typ`, `missing-exp`,
 *   `missing-iat`, `missing-issuer`, `missing-audience`, `missing-client-id`, `exp-not-number`.
 *
 * Shape
 * - `two-segments`, `four-segments`, `five-segments` (JWE-shaped), `bad-base64url` (standard
 *   base64 characters `+ / =`), `header-not-json`, `payload-not-json`, `payload-not-object`,
 *   `huge-header` (a correctly signed token with a header of about 64 KiB, for size limits).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8725 RFC 8725 (JWT best current practices)
 */
export type BrokenTokenKind =
  | 'alg-none'
  | 'alg-none-mixed-case'
  | 'bad-signature'
  | 'empty-signature'
  | 'wrong-key'
  | 'alg-mismatch'
  | 'hs256-public-key'
  | 'crit-unknown'
  | 'jku-injection'
  | 'x5u-injection'
  | 'jwk-injection'
  | 'x5c-injection'
  | 'kid-unknown'
  | 'kid-missing'
  | 'kid-path-traversal'
  | 'kid-injection'
  | 'kid-not-string'
  | 'expired'
  | 'not-yet-valid'
  | 'issued-in-future'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'wrong-typ'
  | 'missing-typ'
  | 'missing-exp'
  | 'missing-iat'
  | 'missing-issuer'
  | 'missing-audience'
  | 'missing-client-id'
  | 'exp-not-number'
  | 'two-segments'
  | 'four-segments'
  | 'five-segments'
  | 'bad-base64url'
  | 'header-not-json'
  | 'payload-not-json'
  | 'payload-not-object'
  | 'huge-header'

/** Every {@link BrokenTokenKind}, for table-driven negative tests. */
export const BROKEN_TOKEN_KINDS: readonly BrokenTokenKind[] = Object.freeze([
  'alg-none',
  'alg-none-mixed-case',
  'bad-signature',
  'empty-signature',
  'wrong-key',
  'alg-mismatch',
  'hs256-public-key',
  'crit-unknown',
  'jku-injection',
  'x5u-injection',
  'jwk-injection',
  'x5c-injection',
  'kid-unknown',
  'kid-missing',
  'kid-path-traversal',
  'kid-injection',
  'kid-not-string',
  'expired',
  'not-yet-valid',
  'issued-in-future',
  'wrong-issuer',
  'wrong-audience',
  'wrong-typ',
  'missing-typ',
  'missing-exp',
  'missing-iat',
  'missing-issuer',
  'missing-audience',
  'missing-client-id',
  'exp-not-number',
  'two-segments',
  'four-segments',
  'five-segments',
  'bad-base64url',
  'header-not-json',
  'payload-not-json',
  'payload-not-object',
  'huge-header',
])

/** Options of {@link createBrokenToken}: those of {@link createToken}, plus the attacker's URL. */
export interface CreateBrokenTokenOptions extends CreateTokenOptions {
  /** URL put in `jku` / `x5u` headers. Default `https://attacker.example/jwks.json`. */
  attackerUrl?: string
}

/** The issuer written by `wrong-issuer`. */
export const WRONG_ISSUER = 'https://attacker.example'
/** The audience written by `wrong-audience`. */
export const WRONG_AUDIENCE = 'https://other-resource.example'

// The algorithm `alg-mismatch` names instead of the key's own.
const MISMATCH: Readonly<Record<SigningAlgorithm, SigningAlgorithm>> = {
  RS256: 'PS256',
  RS384: 'PS384',
  RS512: 'PS512',
  PS256: 'RS256',
  PS384: 'RS384',
  PS512: 'RS512',
  ES256: 'ES384',
  ES384: 'ES256',
  ES512: 'ES256',
  EdDSA: 'ES256',
  HS256: 'HS512',
  HS384: 'HS256',
  HS512: 'HS256',
}

async function attackerKey(key: SigningKeyInput): Promise<SigningKeyInput> {
  // Same algorithm and kid as the victim's key, so only the key material differs.
  return 'privateKey' in key
    ? generateKeyPair(key.alg, { kid: key.kid })
    : generateSecret(key.alg, { kid: key.kid })
}

function segment(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url')
}

/**
 * Mints a token that is wrong in exactly one way, for negative tests. Apart from the flaw, the
 * token is what {@link createToken} makes from the same options, so a refusal can only come from
 * the flaw. See {@link BrokenTokenKind} for the list.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for an unknown kind, or `hs256-public-key` with a
 * secret instead of a key pair.
 * @see https://www.rfc-editor.org/rfc/rfc8725#section-2 RFC 8725 §2 (threats)
 * @example
 * ```ts
 * for (const kind of BROKEN_TOKEN_KINDS) {
 *   const token = await createBrokenToken(kind, { key: pair, issuer, audience })
 *   t.equal(await verifier.verifyToken(token), null, kind)
 * }
 * ```
 */
export async function createBrokenToken(
  kind: BrokenTokenKind,
  options: CreateBrokenTokenOptions,
): Promise<string> {
  if (!BROKEN_TOKEN_KINDS.includes(kind)) {
    throw invalidArgument('kind', 'must be one of BROKEN_TOKEN_KINDS')
  }
  const { attackerUrl = 'https://attacker.example/jwks.json', ...tokenOptions } = options
  const token = buildToken(tokenOptions)
  const { header, payload, key, now } = token
  const alg = header.alg as SigningAlgorithm
  const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), 'utf8')
  const signed = (): Promise<string> => signToken(token)
  const withClaims = async (claims: Record<string, unknown>): Promise<string> => {
    for (const [name, value] of Object.entries(claims)) {
      if (value === undefined) delete payload[name]
      else payload[name] = value
    }
    return signed()
  }
  const withHeader = async (params: Record<string, unknown>): Promise<string> => {
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined) delete header[name]
      else header[name] = value
    }
    return signed()
  }
  const unsigned = (params: Record<string, unknown>): string =>
    `${b64url({ ...header, ...params })}.${b64url(payload)}.`

  switch (kind) {
    case 'alg-none':
      return unsigned({ alg: 'none' })
    case 'alg-none-mixed-case':
      return unsigned({ alg: 'nOnE' })
    case 'bad-signature': {
      const [h, p, s] = (await signed()).split('.') as [string, string, string]
      const bytes = Buffer.from(s, 'base64url')
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0x01
      return `${h}.${p}.${bytes.toString('base64url')}`
    }
    case 'empty-signature':
      return `${b64url(header)}.${b64url(payload)}.`
    case 'wrong-key':
      return signToken({ ...token, key: await attackerKey(key) })
    case 'alg-mismatch': {
      const other = MISMATCH[alg]
      if (alg.startsWith('RS') || alg.startsWith('PS') || alg.startsWith('HS')) {
        return withHeader({ alg: other })
      }
      const [, p, s] = (await signed()).split('.') as [string, string, string]
      return `${b64url({ ...header, alg: other })}.${p}.${s}`
    }
    case 'hs256-public-key': {
      if (!('publicPem' in key)) {
        throw invalidArgument('options.key', 'must be a key pair for hs256-public-key')
      }
      const input = `${b64url({ ...header, alg: 'HS256' })}.${b64url(payload)}`
      const mac = createHmac('sha256', key.publicPem).update(input).digest('base64url')
      return `${input}.${mac}`
    }
    case 'crit-unknown':
      return withHeader({ crit: ['urn:bearerkit:unknown'], 'urn:bearerkit:unknown': true })
    case 'jku-injection':
    case 'x5u-injection':
    case 'jwk-injection':
    case 'x5c-injection': {
      const attacker = await attackerKey(key)
      const params: Record<string, unknown> = {}
      if (kind === 'jku-injection') params.jku = attackerUrl
      if (kind === 'x5u-injection') params.x5u = attackerUrl
      if ('publicKey' in attacker) {
        if (kind === 'jwk-injection') params.jwk = attacker.publicJwk
        if (kind === 'x5c-injection') {
          const der = attacker.publicKey.export({ format: 'der', type: 'spki' })
          params.x5c = [der.toString('base64')]
        }
      } else if (kind === 'jwk-injection' || kind === 'x5c-injection') {
        // A secret has no public form: embed it, which is what the attack amounts to for HMAC.
        params.jwk = attacker.jwk
      }
      return signCompact({ ...header, ...params }, json(payload), signingMaterial(attacker))
    }
    case 'kid-unknown':
      return withHeader({ kid: `unknown-${String(now)}-${Math.random().toString(36).slice(2)}` })
    case 'kid-missing':
      return withHeader({ kid: undefined })
    case 'kid-path-traversal':
      return withHeader({ kid: '../../../../../../dev/null' })
    case 'kid-injection':
      return withHeader({ kid: "x' UNION SELECT 'secret' --" })
    case 'kid-not-string':
      return withHeader({ kid: 42 })
    case 'expired':
      return withClaims({ iat: now - 7200, exp: now - 3600 })
    case 'not-yet-valid':
      return withClaims({ nbf: now + 3600 })
    case 'issued-in-future':
      return withClaims({ iat: now + 3600, exp: now + 7200 })
    case 'wrong-issuer':
      return withClaims({ iss: WRONG_ISSUER })
    case 'wrong-audience':
      return withClaims({ aud: WRONG_AUDIENCE })
    case 'wrong-typ':
      return withHeader({ typ: 'JWT' })
    case 'missing-typ':
      return withHeader({ typ: undefined })
    case 'missing-exp':
      return withClaims({ exp: undefined })
    case 'missing-iat':
      return withClaims({ iat: undefined })
    case 'missing-issuer':
      return withClaims({ iss: undefined })
    case 'missing-audience':
      return withClaims({ aud: undefined })
    case 'missing-client-id':
      return withClaims({ client_id: undefined })
    case 'exp-not-number':
      return withClaims({ exp: String(typeof payload.exp === 'number' ? payload.exp : now + 3600) })
    case 'two-segments': {
      const [h, p] = (await signed()).split('.') as [string, string]
      return `${h}.${p}`
    }
    case 'four-segments':
      return `${await signed()}.${segment('extra')}`
    case 'five-segments': {
      const [h, p, s] = (await signed()).split('.') as [string, string, string]
      return `${h}.${p}.${s}.${segment('iv')}.${segment('tag')}`
    }
    case 'bad-base64url': {
      const [h, p, s] = (await signed()).split('.') as [string, string, string]
      // The same bytes in standard base64, always ending in `=` padding: base64url as JWS uses it
      // has neither `+ /` nor padding (RFC 7515 §2).
      const standard = Buffer.from(p, 'base64url').toString('base64').replace(/=*$/, '=')
      return `${h}.${standard}.${s}`
    }
    case 'header-not-json':
      return `${segment('{"alg":')}.${b64url(payload)}.${segment('sig')}`
    case 'payload-not-json':
      return signCompact(header, Buffer.from('not json', 'utf8'), signingMaterial(key))
    case 'payload-not-object':
      return signCompact(header, json([payload]), signingMaterial(key))
    case 'huge-header':
      return withHeader({ 'x-padding': 'A'.repeat(64 * 1024) })
  }
}
