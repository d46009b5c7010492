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
export { constructRedirectUri } from './redirect-uri.js'
export {
  handleAuthorizationRequest,
  type AuthorizationRequest,
  type AuthorizationRequestOptions,
} from './authorization-request.js'
export {
  JWT_BEARER_GRANT_TYPE,
  authenticateClient,
  handleTokenRequest,
  type ClientAuthMethod,
  type ClientCredentials,
  type TokenRequest,
  type TokenRequestOptions,
} from './token-request.js'
export {
  MemoryProvider,
  createMemoryProvider,
  type IdentityAssertionGrant,
  type MemoryProviderOptions,
} from './memory-provider.js'
export {
  fromAuthInfo,
  toAuthInfo,
  type BearerkitAuthInfoExtra,
  type McpAuthInfo,
} from './auth-info.js'
export {
  fromMcpTokenVerifier,
  toMcpTokenVerifier,
  type FromMcpTokenVerifierOptions,
  type McpErrorClasses,
  type McpTokenVerifier,
  type ToMcpTokenVerifierOptions,
} from './mcp-token-verifier.js'
