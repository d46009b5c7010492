import { readBoolean, readFunction, readOptionsObject, rejectUnknownOptions } from '@bearerkit/core'
import type { IdentityAssertionParams, OAuthClientInformation } from '@bearerkit/provider'
import type { IdentityAssertionGrant, IdentityAssertionVerifier } from './identity-assertion.js'

/** What `createMemoryProvider({ identityAssertion })` expects back: the grant to issue for. */
export interface ProviderIdentityAssertionGrant {
  subject: string
  resource: string
  scopes: readonly string[]
  /** Upper bound on the access token's expiry, in seconds since the epoch, when capped. */
  expiresAt?: number
}

/** Options of {@link identityAssertionHook}. */
export interface IdentityAssertionHookOptions {
  /**
   * The subject the access token is issued for. Default {@link namespacedSubject}:
   * `<identity provider issuer>#<sub>`, so that `alice` from one trusted identity provider and
   * `alice` from another are two principals, not one. Replace it only with a mapping that keeps
   * them apart (say, to your own user ids).
   */
  subject?: (grant: IdentityAssertionGrant) => string
  /**
   * Whether the access token may not outlive the assertion: its expiry becomes at most the
   * assertion's `exp`. Default `false`: the provider's own access token lifetime (for
   * `createMemoryProvider`, `accessTokenLifetime`, 3,600 s by default) is the only bound.
   */
  capAtAssertionExpiry?: boolean
}

const OPTION_NAMES = ['subject', 'capAtAssertionExpiry']

/**
 * The default subject of {@link identityAssertionHook}: the identity provider's issuer, `#`, and
 * the assertion's `sub`. Issuers never contain `#` (the verifier refuses such an issuer), so the
 * first `#` separates the two and different providers never yield the same subject.
 *
 * @example
 * ```ts
 * namespacedSubject(grant) // 'https://idp.example.org#alice'
 * ```
 */
export function namespacedSubject(
  grant: Pick<IdentityAssertionGrant, 'issuer' | 'subject'>,
): string {
  return `${grant.issuer}#${grant.subject}`
}

/**
 * Adapts an {@link IdentityAssertionVerifier} to the `identityAssertion` option of
 * `@bearerkit/provider`'s reference provider, which then answers the jwt-bearer grant with an
 * access token restricted to the assertion's resource and no refresh token. The request's
 * `scopes` and `resource` are handed over as requests only: the assertion decides.
 *
 * The token's subject keeps the identity provider ({@link namespacedSubject} by default): with
 * two trusted providers, the same `sub` from each is two different users, and so two different
 * principals `(client, issuer, subject)`. The token's lifetime is the provider's, unless
 * `capAtAssertionExpiry` bounds it by the assertion's `exp`.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a bad option.
 * @example
 * ```ts
 * const provider = createMemoryProvider({
 *   resources: ['https://mcp.example.com/mcp'],
 *   identityAssertion: identityAssertionHook(assertions, { capAtAssertionExpiry: true }),
 * })
 * ```
 */
export function identityAssertionHook(
  verifier: IdentityAssertionVerifier,
  options?: IdentityAssertionHookOptions,
): (
  client: OAuthClientInformation,
  params: IdentityAssertionParams,
) => Promise<ProviderIdentityAssertionGrant> {
  const input = readOptionsObject('options', options)
  rejectUnknownOptions('options', input, OPTION_NAMES)
  const subjectOf =
    readFunction<NonNullable<IdentityAssertionHookOptions['subject']>>(
      'options.subject',
      input.subject,
    ) ?? namespacedSubject
  const cap = readBoolean('options.capAtAssertionExpiry', input.capAtAssertionExpiry, false)
  return async (client, params) => {
    const grant = await verifier.verify(params.assertion, {
      client,
      scopes: params.scopes,
      resource: params.resource,
    })
    return {
      subject: subjectOf(grant),
      resource: grant.resource,
      scopes: grant.scopes,
      ...(cap ? { expiresAt: grant.assertionExpiresAt } : {}),
    }
  }
}
