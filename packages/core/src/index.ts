export {
  Refusal,
  accessTokenJson,
  tokenFingerprint,
  type AccessToken,
  type AccessTokenJson,
  type RefusalCode,
  type TokenVerifier,
  type Validity,
  type VerifyOptions,
} from './access-token.js'
export {
  BearerError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  VerifierUnavailableError,
  invalidArgument,
  isBearerError,
  isVerifierUnavailable,
  type BearerErrorCode,
  type BearerErrorOptions,
  type InvalidArgumentError,
  type VerifierUnavailableErrorOptions,
} from './errors.js'
export {
  checkConfirmation,
  readConfirmation,
  type Confirmation,
  type SenderConstraintContext,
} from './confirmation.js'
export { principalComponents, samePrincipal, type PrincipalComponents } from './principal.js'
export {
  extractBearerToken,
  DEFAULT_MAX_TOKEN_LENGTH,
  type ExtractBearerTokenOptions,
} from './bearer-token.js'
export {
  formatChallenge,
  parseChallenge,
  type Challenge,
  type ChallengeParams,
} from './challenge.js'
export {
  formatScopes,
  hasAllScopes,
  hasAnyScope,
  isScopeToken,
  missingScopes,
  parseScopes,
} from './scopes.js'
export {
  DEFAULT_CLAIM_MAPPING,
  accessTokenFromClaims,
  normalizeAudience,
  resolveClaimMapping,
  safeClaims,
  type ClaimMapping,
} from './claims.js'
export { abortReason, raceAbort } from './abort.js'
export { MAX_TIMER_DELAY, raceDeadline, timerDelay } from './deadline.js'
export { readClock } from './clock.js'
export {
  defineVerifier,
  isPromiseLike,
  verifyTokenNow,
  type VerifyFunction,
} from './define-verifier.js'
export { safeAccessToken } from './safe-access-token.js'
export { VERIFY_CHANNEL, type VerificationEvent } from './diagnostics.js'
export {
  createCachedVerifier,
  tokenCacheKey,
  type CachedVerifier,
  type CachedVerifierOptions,
} from './cache.js'
export { processTokenKey } from './token-key.js'
export { nativePublicKey } from './native-key.js'
export { isB64Token } from './b64token.js'
export { TokenKey, scanBearerToken } from './scanned-token.js'
export { createCompositeVerifier, type CompositeVerifierOptions } from './composite.js'
export { decodeJwtHeader, isCompactJwt, peekIssuer } from './token-shape.js'
export {
  DEFAULT_HTTP_TIMEOUT,
  DEFAULT_MAX_RESPONSE_BYTES,
  fetchJson,
  httpRequest,
  parseRetryAfter,
  validateUrl,
  type HttpRequestOptions,
  type HttpResponse,
} from './http.js'
export {
  discoverAuthorizationServer,
  metadataUrls,
  type AuthorizationServerMetadata,
  type DiscoveryOptions,
} from './discovery.js'
export {
  VERIFIER_PACKAGES,
  createVerifier,
  type CacheConfig,
  type CompositeVerifierConfig,
  type ConfiguredVerifier,
  type ConfiguredVerifierOf,
  type CreateVerifierOptions,
  type IntrospectionVerifierConfig,
  type JwtVerifierConfig,
  type LooseVerifierOptions,
  type ProviderVerifierConfig,
  type SingleVerifierConfig,
  type VerifierConfig,
  type VerifierKinds,
  type VerifierOf,
  type VerifierOptionsOf,
  type VerifierType,
} from './factory.js'
export { verifierConfigFromEnv } from './env.js'
export {
  isOptionsObject,
  nearestName,
  readBoolean,
  readFunction,
  readInteger,
  readNumber,
  readOptionalString,
  readOptionsObject,
  readString,
  rejectUnknownOptions,
} from './options.js'
export {
  STORE_CHANNEL,
  publishStoreEvent,
  type StoreEvent,
  type StoreKind,
} from './stores/store-events.js'
export {
  DEFAULT_STORE_TIMEOUT,
  callStore,
  invalidStoreAnswer,
  readStoreTimeout,
  storeUnavailable,
  type StoreCallOptions,
} from './stores/store-call.js'
export {
  createMemoryReplayStore,
  guardReplayStore,
  type GuardedReplayStore,
  type MemoryReplayStoreOptions,
  type ReplayStore,
  type StoreGuardOptions,
} from './stores/replay-store.js'
export {
  createMemorySessionStore,
  guardSessionStore,
  isPrincipalComponents,
  type GuardedSessionStore,
  type MemorySessionStoreOptions,
  type SessionStore,
} from './stores/session-store.js'
export {
  createMemorySharedCache,
  guardSharedCache,
  type GuardedSharedCache,
  type MemorySharedCacheOptions,
  type SharedCacheValue,
  type SharedResultCache,
} from './stores/shared-cache.js'
export {
  loadThroughSharedCache,
  type SharedLoadOptions,
  type SharedLoadResult,
  type SharedLoadSource,
} from './stores/shared-cache-load.js'
export {
  createRevocationSet,
  readRevocation,
  type Revocation,
  type RevocationSet,
} from './stores/revocation-set.js'
export {
  createMemoryRevocationList,
  guardRevocationList,
  type GuardedRevocationList,
  type MemoryRevocationListOptions,
  type RevocationList,
} from './stores/revocation-list.js'
export {
  DEFAULT_REVOCATION_LIFETIME,
  revokeClient,
  revokeSubject,
  revokeToken,
  type RevokeCutoffOptions,
} from './stores/revoke.js'
export { withRevocationCheck } from './stores/revocation-verifier.js'
export {
  createMemoryStores,
  createStoresFromEnv,
  type Stores,
  type StoresFromEnvOptions,
} from './stores/stores.js'
