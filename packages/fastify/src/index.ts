export { bearerAuth, bearerAuth as default } from './plugin.js'
export type {
  BearerAuthOptions,
  MetadataRouteOptions,
  ProtectedResourceOptions,
} from './options.js'
export type { BearerRouteConfig } from './types.js'
export {
  protectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
} from './metadata-plugin.js'
export { WELL_KNOWN_PATH, protectedResourceMetadataUrl } from './metadata-url.js'
export { requireScopes } from './require-scopes.js'
export {
  SESSION_NOT_FOUND_BODY,
  createSessionBinding,
  type SessionBinding,
  type SessionBindingOptions,
} from './session-binding.js'
export type { SharedSessionBinding, SharedSessionBindingOptions } from './shared-session-binding.js'
export { redactRequest, tokenSafeLogging, type RedactedRequest } from './log-redaction.js'
export { requireAccessToken } from './require-access-token.js'
// What this package's README uses from core, so that installing @bearerkit/fastify is enough to
// follow it (error handlers branch on these; session binding compares principals).
export {
  BearerError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  VerifierUnavailableError,
  isBearerError,
  isVerifierUnavailable,
  principalComponents,
  samePrincipal,
  type AccessToken,
  type PrincipalComponents,
  type TokenVerifier,
  type VerifierConfig,
} from '@bearerkit/core'
