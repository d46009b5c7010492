import {
  VerifierUnavailableError,
  createVerifier,
  invalidArgument,
  type TokenVerifier,
  type VerifierConfig,
} from '@bearerkit/core'
import { GATE_OPTION_NAMES, createBearerGate, type BearerGate } from '@bearerkit/http'

/** The plugin's options (`BearerAuthOptions`), validated: the gate and what to close. */
export interface Settings {
  readonly gate: BearerGate
  /** Set when the plugin built the verifier from a config object and must close it. */
  readonly close: (() => unknown) | undefined
  /** DPoP is on: the gate gets the absolute request URL. */
  readonly dpop: boolean
  /** mTLS is on: the gate gets the connection's client certificate and peer address. */
  readonly mtls: boolean
}

// Keys Fastify itself reads from the options of `register`.
const FASTIFY_KEYS = ['prefix', 'logLevel', 'logSerializers']
// The gate's own list, so that a new gate option is accepted here the day the gate takes it.
const KNOWN = new Set<string>([...GATE_OPTION_NAMES, ...FASTIFY_KEYS])

/**
 * Validates the plugin options and builds the gate. Every check runs before the verifier is
 * built, so a mistake never leaves a half-built verifier behind.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 */
export async function resolveSettings(options: unknown): Promise<Settings> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument('options', 'must be an object with a verifier')
  }
  const input = options as Record<string, unknown>
  const gateOptions: Record<string, unknown> = {}
  for (const key of Object.keys(input)) {
    // A misspelt option (requiredScope, audiences ...) would silently weaken protection.
    if (!KNOWN.has(key)) throw invalidArgument(`options.${key}`, 'is not a known option')
    if (!FASTIFY_KEYS.includes(key)) gateOptions[key] = input[key]
  }

  const given = input.verifier
  let config: VerifierConfig | undefined
  if (typeof (given as { then?: unknown } | null)?.then === 'function') {
    // `verifier: createVerifier(config)` without `await`.
    throw invalidArgument('options.verifier', 'is a Promise: did you forget `await`?')
  }
  if (typeof given === 'object' && given !== null && !Array.isArray(given)) {
    if (typeof (given as { verifyToken?: unknown }).verifyToken !== 'function') {
      if (typeof (given as { type?: unknown }).type !== 'string') throw verifierError()
      config = given as VerifierConfig
    }
  } else {
    throw verifierError()
  }

  // A verifier built from config exists only after every other option has been checked by the
  // gate: the options are checked first with a stand-in verifier (which is never called).
  const standIn: TokenVerifier = {
    verifyToken: () =>
      Promise.reject(new VerifierUnavailableError('The verifier is not built yet')),
  }
  let gate = createBearerGate({
    ...gateOptions,
    verifier: config === undefined ? (given as TokenVerifier) : standIn,
  })

  let close: (() => unknown) | undefined
  if (config !== undefined) {
    const created = await createVerifier(config)
    const closer = (created as { close?: unknown }).close
    if (typeof closer === 'function') close = () => (closer as () => unknown).call(created)
    // The gate over the verifier itself, not a forwarder: a verified-token cache hit of a built
    // verifier is then decided synchronously (verifyTokenNow). The same options, already checked.
    gate = createBearerGate({ ...gateOptions, verifier: created })
  }
  return Object.freeze({
    gate,
    close,
    dpop: input.dpop !== undefined && input.dpop !== false,
    mtls: input.mtls !== undefined && input.mtls !== false,
  })
}

function verifierError(): TypeError {
  return invalidArgument(
    'options.verifier',
    'must be a TokenVerifier (an object with verifyToken) or a verifier config object with a type',
  )
}
