export { createIntrospectionVerifier } from './introspection-verifier.js'
export type {
  ClientAuthMethod,
  IntrospectionCacheOptions,
  IntrospectionVerifier,
  IntrospectionVerifierOptions,
  JwtResponseOptions,
  KeyInput,
} from './options.js'
