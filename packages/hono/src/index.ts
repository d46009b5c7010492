export { bearerAuth, requireScopes, type BearerMiddleware } from './middleware.js'
export type {
  BearerAuthOptions,
  ConnectionInfo,
  MetadataRouteOptions,
  ProtectedResourceOptions,
} from './options.js'
export { protectedResourceMetadata } from './metadata.js'
export type { BearerEnv, BearerVariables } from './types.js'
export type { ProtectedResourceMetadataOptions } from '@bearerkit/http'
