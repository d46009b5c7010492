export {
  ASYMMETRIC_ALGORITHMS,
  SYMMETRIC_ALGORITHMS,
  generateKeyPair,
  generateSecret,
  isAsymmetricAlgorithm,
  isSymmetricAlgorithm,
  type AsymmetricAlgorithm,
  type GenerateKeyPairOptions,
  type SigningAlgorithm,
  type SymmetricAlgorithm,
  type TestKeyPair,
  type TestSecret,
} from './keys.js'
export {
  TEST_AUDIENCE,
  TEST_CLIENT_ID,
  TEST_ISSUER,
  TEST_SUBJECT,
  createToken,
  type CreateTokenOptions,
} from './create-token.js'
export {
  BROKEN_TOKEN_KINDS,
  WRONG_AUDIENCE,
  WRONG_ISSUER,
  createBrokenToken,
  type BrokenTokenKind,
  type CreateBrokenTokenOptions,
} from './broken-token.js'
export {
  ENDPOINT_NAMES,
  TEST_SERVER_WARNING,
  createLocalAuthorizationServer,
  type AuthMethod,
  type EndpointName,
  type Fault,
  type FaultBase,
  type IssueTokenOptions,
  type LocalAuthorizationServer,
  type LocalAuthorizationServerOptions,
  type LocalClient,
  type RequestCounts,
  type RotateKeysOptions,
  type TokenFormat,
} from './authorization-server.js'
export {
  BROKEN_IDENTITY_ASSERTION_KINDS,
  TEST_AS_ISSUER,
  TEST_IDP_ISSUER,
  TEST_RESOURCE,
  createBrokenIdentityAssertion,
  createIdentityAssertion,
  type BrokenIdentityAssertionKind,
  type CreateIdentityAssertionOptions,
} from './identity-assertion.js'
export { createDpopProof, dpopThumbprint, type CreateDpopProofOptions } from './dpop.js'
