import type { IdentityAssertionParams, OAuthClientInformation } from '@bearerkit/provider'
import type { IdentityAssertionVerifier } from './identity-assertion.js'

/** What `createMemoryProvider({ identityAssertion })` expects back: the grant to issue for. */
export interface ProviderIdentityAssertionGrant {
  subject: string
  resource: string
  scopes: readonly string[]
}

/**
 * Adapts an {@link IdentityAssertionVerifier} to the `identityAssertion` option of
 * `@bearerkit/provider`'s reference provider, which then answers the jwt-bearer grant with an
 * access token restricted to the assertion's resource and no refresh token. The request's
 * `scopes` and `resource` are handed over as requests only: the assertion decides.
 *
 * @example
 * ```ts
 * const provider = createMemoryProvider({
 *   resources: ['https://mcp.example.com/mcp'],
 *   identityAssertion: identityAssertionHook(assertions),
 * })
 * ```
 */
export function identityAssertionHook(
  verifier: IdentityAssertionVerifier,
): (
  client: OAuthClientInformation,
  params: IdentityAssertionParams,
) => Promise<ProviderIdentityAssertionGrant> {
  return async (client, params) => {
    const grant = await verifier.verify(params.assertion, {
      client,
      scopes: params.scopes,
      resource: params.resource,
    })
    return { subject: grant.subject, resource: grant.resource, scopes: grant.scopes }
  }
}
