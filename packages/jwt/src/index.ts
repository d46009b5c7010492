export {
  DEFAULT_CLOCK_TOLERANCE,
  createJwtVerifier,
  type JwtIssuer,
  type JwtVerifier,
  type JwtVerifierOptions,
  type ValidateFunction,
} from './create-jwt-verifier.js'
export { DEFAULT_ALGORITHMS, SUPPORTED_ALGORITHMS, type JwsAlgorithm } from './algorithms.js'
export {
  DEFAULT_JWKS_OPTIONS,
  createKeyResolver,
  type JwksOptions,
  type KeyInput,
  type KeyResolver,
  type KeyResolverOptions,
  type KeysOrRefusal,
  type SecretInput,
  type VerificationKey,
} from './key-resolver.js'
export {
  DEFAULT_MAX_TOKEN_BYTES,
  createJwsVerifier,
  normalizeType,
  type JwsHeader,
  type JwsVerifier,
  type JwsVerifierOptions,
  type VerifiedJws,
} from './verify-jws.js'
export { JWKS_CHANNEL, type JwksEvent, type JwksTrigger } from './jwks-events.js'
