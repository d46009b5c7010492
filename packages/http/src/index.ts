export {
  createBearerGate,
  type BearerGate,
  type GateAccepted,
  type GatePending,
  type GatePreflight,
  type GateRefused,
  type GateResult,
} from './gate.js'
export type {
  BearerGateOptions,
  MetadataRouteOptions,
  ProtectedResourceOptions,
} from './options.js'
export { authorizationFromRawHeaders, type GateRequest, type HeaderRecord } from './request.js'
export { toWebResponse, type GateResponse } from './response.js'
export {
  WELL_KNOWN_PATH,
  createProtectedResourceMetadata,
  protectedResourceMetadataUrl,
  type ProtectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
} from './protected-resource-metadata.js'
export { HTTP_CHANNEL, type GateEvent } from './diagnostics.js'
export { redactTokenParams } from './redact-url.js'
export {
  createForwardAuthHandler,
  createForwardAuthServer,
  type ForwardAuthHandler,
} from './forward-auth.js'
export type { ForwardAuthOptions, IdentityHeaderNames } from './forward-auth-options.js'
export { DEFAULT_TRUSTED_PROXIES } from './forward-auth-trust.js'
