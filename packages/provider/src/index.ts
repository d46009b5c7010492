export { createProviderVerifier, type ProviderVerifierOptions } from './provider-verifier.js'
export type {
  AccessTokenLoader,
  AuthorizationCode,
  AuthorizationParams,
  Awaitable,
  IdentityAssertionParams,
  OAuthAuthorizationServerProvider,
  OAuthClientInformation,
  OAuthToken,
  ProviderAccessToken,
  RefreshToken,
} from './protocol.js'
export { BaseAuthorizationServerProvider, unsupportedIdentityAssertion } from './base-provider.js'
export {
  AuthorizeError,
  OAuthEndpointError,
  RegistrationError,
  TokenError,
  isAuthorizeError,
  isRegistrationError,
  isTokenError,
  type AuthorizeErrorCode,
  type OAuthErrorResponse,
  type RegistrationErrorCode,
  type TokenErrorCode,
} from './oauth-errors.js'
