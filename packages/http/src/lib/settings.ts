import {
  DEFAULT_MAX_TOKEN_LENGTH,
  invalidArgument,
  isScopeToken,
  withRevocationCheck,
  type RevocationList,
  type TokenVerifier,
} from '@bearerkit/core'
import { resolveSenderConstraint, type SenderConstraint } from '../dpop/sender-constraint.js'
import type { DpopOptions, MtlsOptions } from '../dpop/sender-constraint.js'
import { GATE_OPTION_NAMES } from '../options.js'
import { resolveResource, type ResolvedResource } from './resource.js'

/** The gate's options (`BearerGateOptions`), validated and filled in. */
export interface Settings {
  readonly verifier: TokenVerifier
  readonly requiredScopes: readonly string[]
  readonly realm: string | undefined
  readonly resource: ResolvedResource | undefined
  /** Audience values naming this resource; `null` when the check is off. */
  readonly audiences: ReadonlySet<string> | null
  /** `Access-Control-Allow-Origin` of the metadata answers; `null` when they are not served. */
  readonly metadata: { readonly allowOrigin: string | false } | null
  readonly exposeErrorDescription: boolean
  readonly retryAfter: number
  readonly maxTokenLength: number
  /** Milliseconds the gate waits for the verifier before answering 503. */
  readonly verifierTimeout: number
  /** DPoP (RFC 9449) and mTLS (RFC 8705) checks, or `null` when both are off. */
  readonly senderConstraint: SenderConstraint | null
}

/** The gate's backstop deadline on a verifier, in milliseconds (`verifierTimeout`). */
const DEFAULT_VERIFIER_TIMEOUT = 30_000
const MAX_VERIFIER_TIMEOUT = 600_000

// RFC 7230 quoted-string content without the characters challenge formatting would replace.
const PRINTABLE = /^[\x20-\x7e]*$/
// An origin (scheme://host[:port]) or '*', the values Access-Control-Allow-Origin can carry.
const ORIGIN = /^(\*|https?:\/\/[A-Za-z0-9.\-[\]:]+)$/

/**
 * Validates the gate options into frozen settings.
 *
 * @param known The option names the caller accepts (an adapter adds its own to the gate's).
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 */
export function resolveSettings(
  options: unknown,
  known: ReadonlySet<string> = new Set(GATE_OPTION_NAMES),
): Settings {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument('options', 'must be an object with a verifier')
  }
  const input = options as Record<string, unknown>
  for (const key of Object.keys(input)) {
    // A misspelt option (requiredScope, audiences ...) would silently weaken protection.
    if (!known.has(key)) throw invalidArgument(`options.${key}`, 'is not a known option')
  }

  const verifier = input.verifier
  if (
    typeof verifier !== 'object' ||
    verifier === null ||
    typeof (verifier as { verifyToken?: unknown }).verifyToken !== 'function'
  ) {
    throw invalidArgument(
      'options.verifier',
      'must be a TokenVerifier (an object with verifyToken)',
    )
  }

  const requiredScopes = input.requiredScopes ?? []
  if (!Array.isArray(requiredScopes) || !requiredScopes.every(isScopeToken)) {
    throw invalidArgument(
      'options.requiredScopes',
      'must be an array of scope tokens (RFC 6749 §3.3: no spaces, quotes or backslashes)',
    )
  }

  const senderConstraint = resolveSenderConstraint({
    dpop: input.dpop as DpopOptions | boolean | undefined,
    mtls: input.mtls as MtlsOptions | boolean | undefined,
  })
  const resource =
    input.resource === undefined
      ? undefined
      : advertise(resolveResource('options.resource', input.resource), senderConstraint)

  let audiences: ReadonlySet<string> | null = null
  const audience = input.audience
  if (audience === undefined) {
    if (resource !== undefined) audiences = resourceAudiences(resource.url)
  } else if (audience !== null) {
    const list = typeof audience === 'string' ? [audience] : audience
    if (!Array.isArray(list) || list.length === 0 || !list.every(nonEmptyString)) {
      throw invalidArgument(
        'options.audience',
        'must be a non-empty string, a non-empty array of them, or null',
      )
    }
    audiences = new Set(list)
  }

  const realm = input.realm
  if (
    realm !== undefined &&
    (typeof realm !== 'string' || realm === '' || !PRINTABLE.test(realm))
  ) {
    throw invalidArgument('options.realm', 'must be a non-empty string of printable ASCII')
  }

  let metadata: Settings['metadata'] = null
  const route = input.metadata
  if (route !== undefined && typeof route !== 'boolean') {
    if (typeof route !== 'object' || route === null || Array.isArray(route)) {
      throw invalidArgument('options.metadata', 'must be a boolean or { allowOrigin }')
    }
    for (const key of Object.keys(route)) {
      if (key !== 'allowOrigin') {
        throw invalidArgument(`options.metadata.${key}`, 'is not a known option')
      }
    }
  }
  if (route !== false) {
    const allowOrigin = resolveAllowOrigin(
      'options.metadata.allowOrigin',
      typeof route === 'object' ? (route as { allowOrigin?: unknown }).allowOrigin : undefined,
    )
    if (resource !== undefined) metadata = Object.freeze({ allowOrigin })
    else if (route !== undefined) {
      throw invalidArgument('options.metadata', 'needs options.resource to describe')
    }
  }

  const exposeErrorDescription = input.exposeErrorDescription ?? true
  if (typeof exposeErrorDescription !== 'boolean') {
    throw invalidArgument('options.exposeErrorDescription', 'must be a boolean')
  }
  const retryAfter = input.retryAfter ?? 5
  if (typeof retryAfter !== 'number' || !Number.isInteger(retryAfter) || retryAfter < 0) {
    throw invalidArgument('options.retryAfter', 'must be a whole number of seconds (0 or more)')
  }
  const maxTokenLength = input.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH
  if (
    typeof maxTokenLength !== 'number' ||
    !Number.isInteger(maxTokenLength) ||
    maxTokenLength < 1
  ) {
    throw invalidArgument('options.maxTokenLength', 'must be a positive whole number')
  }
  const verifierTimeout = input.verifierTimeout ?? DEFAULT_VERIFIER_TIMEOUT
  if (
    typeof verifierTimeout !== 'number' ||
    !Number.isFinite(verifierTimeout) ||
    verifierTimeout <= 0 ||
    verifierTimeout > MAX_VERIFIER_TIMEOUT
  ) {
    throw invalidArgument(
      'options.verifierTimeout',
      'must be a number of milliseconds > 0 and at most 600000 (10 minutes)',
    )
  }

  // Every verifier's answer, cache hits included, passes the revocation list (a local lookup;
  // a list that cannot be trusted makes the request a 503).
  const revocations = input.revocations as RevocationList | undefined
  const checked =
    revocations === undefined
      ? (verifier as TokenVerifier)
      : withRevocationCheck(verifier as TokenVerifier, revocations)

  return Object.freeze({
    verifier: checked,
    requiredScopes: Object.freeze([...new Set(requiredScopes)]),
    realm,
    resource,
    audiences,
    metadata,
    exposeErrorDescription,
    retryAfter,
    maxTokenLength,
    verifierTimeout,
    senderConstraint,
  })
}

/**
 * The metadata document with what the sender-constraint settings accept (RFC 9449 §5.1, RFC 8705
 * §3.3 as RFC 9728 §2 names them), unless the resource options say it themselves.
 */
function advertise(
  resource: ResolvedResource,
  senderConstraint: SenderConstraint | null,
): ResolvedResource {
  if (senderConstraint === null) return resource
  const document: Record<string, unknown> = { ...resource.document }
  const proofs = senderConstraint.proofs
  if (proofs !== null) {
    document.dpop_signing_alg_values_supported ??= [...proofs.algorithms]
    if (senderConstraint.dpopRequired) document.dpop_bound_access_tokens_required ??= true
  }
  if (senderConstraint.mtls) document.tls_client_certificate_bound_access_tokens ??= true
  return Object.freeze({ ...resource, document: Object.freeze(document) })
}

/**
 * Validates an `Access-Control-Allow-Origin` option: `'*'` (the default), one origin, or `false`.
 */
export function resolveAllowOrigin(option: string, value: unknown): string | false {
  if (value === undefined) return '*'
  if (value === false) return false
  if (typeof value !== 'string' || !ORIGIN.test(value)) {
    throw invalidArgument(
      option,
      'must be "*", an origin such as "https://app.example.com", or false',
    )
  }
  return value
}

// RFC 8707 §2 names the resource by its URI; an origin-only URI is commonly written with or
// without the trailing slash URL parsing adds, and both name the same resource.
function resourceAudiences(url: string): ReadonlySet<string> {
  const href = new URL(url).href
  const set = new Set([url, href])
  if (href.endsWith('/') && new URL(url).pathname === '/') set.add(href.slice(0, -1))
  return set
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}
