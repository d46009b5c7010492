import { Refusal, type TokenVerifier } from './access-token.js'
import { defineVerifier } from './define-verifier.js'
import { invalidArgument } from './errors.js'
import { withOnRefusal } from './forward-options.js'
import { readOptionsObject, rejectUnknownOptions } from './options.js'
import { decodeJwtHeader, peekIssuer } from './token-shape.js'

/** Options of {@link createCompositeVerifier}. */
export interface CompositeVerifierOptions {
  /**
   * JWTs routed by their (unverified) `iss`: the verifier given for an issuer checks the token,
   * and must itself require that issuer. Keys are compared exactly.
   */
  issuers?: Readonly<Record<string, TokenVerifier>>
  /** JWTs whose `iss` is not in `issuers` (or when there is no `issuers`). */
  jwt?: TokenVerifier
  /** Tokens that are not compact JWTs (opaque tokens, JWEs). */
  opaque?: TokenVerifier
}

const OPTIONS = ['issuers', 'jwt', 'opaque'] as const

function assertVerifier(option: string, value: unknown): asserts value is TokenVerifier {
  if (typeof (value as TokenVerifier | undefined)?.verifyToken !== 'function') {
    throw invalidArgument(option, 'must be a TokenVerifier (an object with verifyToken)')
  }
}

/**
 * Routes each token to the verifier that can check it: compact JWTs by their unverified `iss` to
 * `issuers[iss]`, other JWTs to `jwt`, everything else to `opaque`. The unverified issuer only
 * chooses where the token is verified; that verifier still checks signature and issuer, so a
 * forged `iss` at best reaches a verifier that refuses it. A token with no route is refused
 * (`unmatched`), not an error.
 *
 * @example
 * ```ts
 * const verifier = createCompositeVerifier({
 *   issuers: { 'https://login.example.com': jwtVerifier },
 *   opaque: introspectionVerifier,
 * })
 * ```
 */
export function createCompositeVerifier(options: CompositeVerifierOptions): TokenVerifier {
  if (options === undefined) throw invalidArgument('options', 'must be an object')
  rejectUnknownOptions('options', readOptionsObject('options', options), OPTIONS)
  const routes = new Map<string, TokenVerifier>()
  if (options.issuers !== undefined) {
    if (typeof options.issuers !== 'object' || options.issuers === null) {
      throw invalidArgument('options.issuers', 'must be an object mapping issuers to verifiers')
    }
    for (const [issuer, verifier] of Object.entries(options.issuers)) {
      assertVerifier(`options.issuers[${JSON.stringify(issuer)}]`, verifier)
      routes.set(issuer, verifier)
    }
  }
  if (options.jwt !== undefined) assertVerifier('options.jwt', options.jwt)
  if (options.opaque !== undefined) assertVerifier('options.opaque', options.opaque)
  if (routes.size === 0 && options.jwt === undefined && options.opaque === undefined) {
    throw invalidArgument('options', 'must route somewhere: give issuers, jwt or opaque')
  }
  const { jwt, opaque } = options

  return defineVerifier('composite', async (token, verifyOptions) => {
    let target: TokenVerifier | undefined
    if (decodeJwtHeader(token) === null) {
      target = opaque
    } else {
      const issuer = routes.size === 0 ? null : peekIssuer(token)
      target = (issuer === null ? undefined : routes.get(issuer)) ?? jwt
    }
    if (target === undefined) {
      return new Refusal('unmatched', 'No verifier accepts this kind of access token')
    }
    let refusal: Refusal | undefined
    // Every option reaches the verifier that decides: the signal, onValidity (a cache in front
    // must learn its bounds), the proof context (RFC 9449 §7, RFC 8705 §3), and any member added
    // later. Only onRefusal is ours: the refusal is passed on by returning it.
    const result = await target.verifyToken(
      token,
      withOnRefusal(verifyOptions, (r) => {
        refusal = r
      }),
    )
    return result ?? refusal ?? new Refusal('rejected', 'The access token is invalid')
  })
}
