import { TokenError } from './oauth-errors.js'
import type {
  AuthorizationCode,
  AuthorizationParams,
  IdentityAssertionParams,
  OAuthAuthorizationServerProvider,
  OAuthClientInformation,
  OAuthToken,
  ProviderAccessToken,
  RefreshToken,
} from './protocol.js'

/**
 * The default `exchangeIdentityAssertion`: rejects every request with
 * `TokenError('unsupported_grant_type')`, the answer RFC 6749 §5.2 prescribes for a grant type the
 * server does not offer. Use it in a provider written as an object literal.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 RFC 6749 §5.2
 * @example
 * ```ts
 * const provider = { ...operations, exchangeIdentityAssertion: unsupportedIdentityAssertion }
 * ```
 */
export function unsupportedIdentityAssertion(
  _client: OAuthClientInformation,
  _params: IdentityAssertionParams,
): Promise<OAuthToken> {
  return Promise.reject(
    new TokenError(
      'unsupported_grant_type',
      'The JWT bearer grant is not supported by this authorization server',
    ),
  )
}

/**
 * A base class for providers: every operation is abstract except `exchangeIdentityAssertion`,
 * which by default rejects with `TokenError('unsupported_grant_type')`. Override it to offer the
 * SEP-990 identity assertion grant.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1 RFC 7523 §2.1
 * @example
 * ```ts
 * class DatabaseProvider extends BaseAuthorizationServerProvider {
 *   async getClient(clientId: string) { return db.clients.find(clientId) }
 *   // ... the other operations
 * }
 * ```
 */
export abstract class BaseAuthorizationServerProvider<
  C extends AuthorizationCode = AuthorizationCode,
  R extends RefreshToken = RefreshToken,
  A extends ProviderAccessToken = ProviderAccessToken,
> implements OAuthAuthorizationServerProvider<C, R, A> {
  abstract getClient(clientId: string): Promise<OAuthClientInformation | null>
  abstract registerClient(clientInfo: OAuthClientInformation): Promise<void>
  abstract authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string>
  abstract loadAuthorizationCode(client: OAuthClientInformation, code: string): Promise<C | null>
  abstract exchangeAuthorizationCode(client: OAuthClientInformation, code: C): Promise<OAuthToken>
  abstract loadRefreshToken(client: OAuthClientInformation, refreshToken: string): Promise<R | null>
  abstract exchangeRefreshToken(
    client: OAuthClientInformation,
    refreshToken: R,
    scopes: string[],
  ): Promise<OAuthToken>
  abstract loadAccessToken(token: string): Promise<A | null>
  abstract revokeToken(token: A | R): Promise<void>

  /** Rejects with `TokenError('unsupported_grant_type')`; override to offer the grant. */
  exchangeIdentityAssertion(
    client: OAuthClientInformation,
    params: IdentityAssertionParams,
  ): Promise<OAuthToken> {
    return unsupportedIdentityAssertion(client, params)
  }
}
