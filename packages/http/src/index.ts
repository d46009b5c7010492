export {
  createBearerGate,
  type BearerGate,
  type GateAccepted,
  type GatePending,
  type GatePreflight,
  type GateRefused,
  type GateResult,
} from './gate.js'
export {
  GATE_OPTION_NAMES,
  type BearerGateOptions,
  type MetadataRouteOptions,
  type ProtectedResourceOptions,
} from './options.js'
export { authorizationFromRawHeaders, type GateRequest, type HeaderRecord } from './request.js'
export { nodeConnection, type NodeConnection } from './node-connection.js'
export { absoluteRequestUrl } from './request-url.js'
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
export {
  DEFAULT_DPOP_ALGORITHMS,
  DEFAULT_MAX_PROOF_LENGTH,
  createDpopProofVerifier,
  type DpopProofAccepted,
  type DpopProofRefusalCode,
  type DpopProofRefused,
  type DpopProofRequest,
  type DpopProofResult,
  type DpopProofVerifier,
  type DpopProofVerifierOptions,
} from './dpop/dpop-proof-verifier.js'
export { createDpopNonces, type DpopNonces, type DpopNoncesOptions } from './dpop/dpop-nonce.js'
export { jwkThumbprint } from './dpop/jwk-thumbprint.js'
export { certificateThumbprint } from './dpop/certificate-thumbprint.js'
export {
  DEFAULT_MAX_CLIENT_CERT_LENGTH,
  parseClientCertHeader,
  type ParseClientCertOptions,
} from './dpop/client-cert-header.js'
export type { DpopOptions, MtlsOptions, ProofContext } from './dpop/sender-constraint.js'
export { DpopProofError, isDpopProofError } from './dpop/dpop-challenge.js'
