export {
  OAuthClientError,
  isOAuthClientError,
  type OAuthClientErrorCode,
  type OAuthClientErrorOptions,
  type OAuthErrorBody,
} from './errors.js'
export type { RequestOptions } from './request-options.js'
export {
  discoverProtectedResource,
  resourceMetadataUrlFromChallenge,
  type DiscoverProtectedResourceOptions,
  type DiscoveryAttempt,
  type ProtectedResourceDiscovery,
  type ProtectedResourceMetadata,
  type ProtectedResourceSource,
} from './protected-resource.js'
export {
  authorizationServerMetadataUrls,
  discoverAuthorizationServerMetadata,
  type AuthorizationServerDiscovery,
  type AuthorizationServerMetadata,
  type AuthorizationServerSource,
  type DiscoverAuthorizationServerOptions,
} from './authorization-server.js'
export {
  type ClientAuthMethod,
  type ClientKey,
  type OAuthClientInformation,
} from './client-information.js'
export {
  createClientIdMetadataDocument,
  isClientIdMetadataUrl,
  type ClientIdMetadataDocument,
  type ClientIdMetadataDocumentOptions,
} from './client-id-metadata-document.js'
export {
  obtainClient,
  registerClient,
  type ClientRegistrationMetadata,
  type ObtainClientOptions,
  type ObtainedClient,
  type RegisterClientOptions,
  type RegisteredClient,
  type RegistrationMethod,
} from './registration.js'
export { createPkcePair, pkceChallenge, type PkcePair } from './pkce.js'
export {
  createAuthorizationRequest,
  type AuthorizationRequestOptions,
  type PendingAuthorization,
} from './authorization-request.js'
export { readAuthorizationResponse } from './authorization-response.js'
export {
  followAuthorizationRedirects,
  type FollowAuthorizationOptions,
} from './automated-authorization.js'
export {
  requestToken,
  type GrantParameters,
  type TokenEndpointContext,
  type TokenSet,
} from './token-request.js'
export {
  JWT_BEARER_GRANT,
  TOKEN_EXCHANGE_GRANT,
  TOKEN_TYPES,
  exchangeAuthorizationCode,
  exchangeToken,
  refreshAccessToken,
  requestClientCredentials,
  requestJwtBearer,
  type AuthorizationCodeGrant,
  type ClientCredentialsGrant,
  type JwtBearerGrant,
  type RefreshGrant,
  type TokenExchangeGrant,
} from './grants.js'
export { readBearerChallenge, type BearerChallenge } from './challenge.js'
export { probeResource, type ProbeOptions, type ProbeResult } from './probe.js'
export {
  createOAuthSession,
  type AssertionRequest,
  type AuthorizeOptions,
  type OAuthSession,
  type OAuthSessionOptions,
  type OAuthSessionState,
  type SessionGrant,
} from './session.js'
export {
  createMcpAuthProvider,
  type McpAuthProvider,
  type McpAuthProviderOptions,
} from './mcp-auth-provider.js'
