import {
  createVerifier,
  verifierConfigFromEnv,
  type TokenVerifier,
  type VerifierConfig,
} from '@bearerkit/core'
import type { CliIo } from '../io.js'
import { ConfigError, UsageError } from './usage-error.js'

/** The flags that describe a verifier, shared by `verify` and `serve`. */
export const VERIFIER_OPTIONS = {
  type: { type: 'string' },
  issuer: { type: 'string' },
  audience: { type: 'string', multiple: true },
  'jwks-uri': { type: 'string' },
  algorithms: { type: 'string' },
  'introspection-url': { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  'required-scopes': { type: 'string' },
} as const

/** The values of {@link VERIFIER_OPTIONS} as parseArgs returns them. */
export interface VerifierFlagValues {
  type?: string | undefined
  issuer?: string | undefined
  audience?: string[] | undefined
  'jwks-uri'?: string | undefined
  algorithms?: string | undefined
  'introspection-url'?: string | undefined
  'client-id'?: string | undefined
  'client-secret'?: string | undefined
  'required-scopes'?: string | undefined
}

const VERIFIER_FLAGS = Object.keys(VERIFIER_OPTIONS) as (keyof VerifierFlagValues)[]

/** Space- or comma-separated items. */
export function list(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

/** The verifier configuration from flags, or null when no verifier flag was given. */
function configFromFlags(values: VerifierFlagValues): VerifierConfig | null {
  if (!VERIFIER_FLAGS.some((flag) => values[flag] !== undefined)) return null
  const type = values.type ?? (values['introspection-url'] === undefined ? 'jwt' : 'introspection')
  if (type !== 'jwt' && type !== 'introspection') {
    throw new UsageError('--type must be jwt or introspection')
  }
  // Built loosely and checked by createVerifier, which names the option at fault.
  const config: Record<string, unknown> = { type }
  if (values.issuer !== undefined) config.issuer = values.issuer
  if (values.audience !== undefined) {
    config.audience = values.audience.length === 1 ? values.audience[0] : values.audience
  }
  if (values['jwks-uri'] !== undefined) config.jwksUri = values['jwks-uri']
  if (values.algorithms !== undefined) config.algorithms = list(values.algorithms)
  if (values['introspection-url'] !== undefined) {
    config.introspectionUrl = values['introspection-url']
  }
  if (values['client-id'] !== undefined) config.clientId = values['client-id']
  if (values['client-secret'] !== undefined) config.clientSecret = values['client-secret']
  if (values['required-scopes'] !== undefined) {
    config.requiredScopes = list(values['required-scopes'])
  }
  // Built field by field from flags; createVerifier and the package check it at run time.
  return config as unknown as VerifierConfig
}

/**
 * The verifier from the flags when any verifier flag is given, else from the `BEARERKIT_*`
 * environment (core's `verifierConfigFromEnv`). Every configuration mistake is a
 * {@link ConfigError}; an unknown `--type` is a {@link UsageError}.
 */
export async function buildVerifier(
  values: VerifierFlagValues,
  io: CliIo,
): Promise<{ verifier: TokenVerifier; config: VerifierConfig }> {
  try {
    const config = configFromFlags(values) ?? verifierConfigFromEnv(io.env)
    if (config === null) {
      throw new ConfigError(
        'no verifier: pass --issuer and --audience (and --jwks-uri or --introspection-url), or set BEARERKIT_VERIFIER and its variables',
      )
    }
    return { verifier: await createVerifier(config), config }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) throw error
    throw new ConfigError(error instanceof Error ? error.message : String(error), { cause: error })
  }
}

/** Closes a verifier that holds resources (timers, connections), if it can be closed. */
export function closeVerifier(verifier: TokenVerifier): void {
  const closable = verifier as Partial<{ close: () => unknown }>
  if (typeof closable.close === 'function') closable.close()
}
