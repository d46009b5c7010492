export {
  ID_JAG_TYPE,
  JWT_BEARER_GRANT_TYPE,
  createIdentityAssertionVerifier,
  defaultScopePolicy,
  verifyIdentityAssertion,
  type IdentityAssertionGrant,
  type IdentityAssertionRequest,
  type IdentityAssertionVerifier,
  type IdentityAssertionVerifierOptions,
  type ScopePolicy,
  type ScopePolicyContext,
  type TrustedIssuer,
  type VerifyIdentityAssertionOptions,
} from './identity-assertion.js'
export {
  createMemoryReplayStore,
  type MemoryReplayStoreOptions,
  type ReplayStore,
} from './replay-store.js'
export {
  identityAssertionHook,
  namespacedSubject,
  type IdentityAssertionHookOptions,
  type ProviderIdentityAssertionGrant,
} from './provider-hook.js'
