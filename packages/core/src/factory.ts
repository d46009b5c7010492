import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { TokenVerifier, VerifyOptions } from './access-token.js'
import { createCachedVerifier, type CachedVerifierOptions } from './cache.js'
import { invalidArgument } from './errors.js'
import { isOptionsObject, nearestName, readOptionsObject, rejectUnknownOptions } from './options.js'
import type { RevocationList } from './stores/revocation-list.js'
import { withRevocationCheck } from './stores/revocation-verifier.js'
import type { SharedResultCache } from './stores/shared-cache.js'

/** The verifier kinds {@link createVerifier} knows, and the package each lives in. */
export const VERIFIER_PACKAGES = Object.freeze({
  jwt: { packageName: '@bearerkit/jwt', factory: 'createJwtVerifier' },
  introspection: {
    packageName: '@bearerkit/introspection',
    factory: 'createIntrospectionVerifier',
  },
  provider: { packageName: '@bearerkit/provider', factory: 'createProviderVerifier' },
} as const)

/** A verifier kind: `jwt`, `introspection` or `provider`. */
export type VerifierType = keyof typeof VERIFIER_PACKAGES

/**
 * A verifier described as data. `type` picks the package; every other field is that package's
 * options (`JwtVerifierOptions`, `IntrospectionVerifierOptions`, `ProviderVerifierOptions` plus
 * `provider`), checked by the package's own factory.
 *
 * `cache` (jwt and provider only) puts {@link createCachedVerifier} in front. A jwt verifier gets
 * that cache by default (absent means `{}`: at most 10,000 entries, each served at most 300 s;
 * about 12 MiB for typical access tokens); `false` turns it off. A provider verifier is cached only when `cache` is given. The
 * introspection verifier has a cache of its own and takes `cache` itself.
 */
export interface VerifierConfig {
  type: VerifierType
  cache?: CachedVerifierOptions | false
  [option: string]: unknown
}

/** Options of {@link createVerifier}. */
export interface CreateVerifierOptions {
  /** How to load a verifier package. Default: dynamic `import()`. */
  load?: (packageName: string) => Promise<unknown>
  /**
   * A revocation list (`stores.revocations`) every answer of the built verifier passes, cache
   * hits included: a revoked token is refused, a list that cannot be trusted is a 503.
   */
  revocations?: RevocationList
  /**
   * The fleet's shared result cache (`stores.cache`): the introspection verifier's shared tier,
   * behind its in-process cache (unless the config names its own `sharedCache`). Other types
   * have nothing to share.
   */
  sharedCache?: SharedResultCache
}

/**
 * Builds a verifier from a plain configuration object, so verifiers swap through configuration
 * rather than code. The verifier's package is loaded on demand: core depends on none of them, and
 * a missing package is reported with the `npm install` line that fixes it.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the field at fault, or (`ERR_MODULE_NOT_FOUND`)
 * naming the package to install.
 * @example
 * ```ts
 * const verifier = await createVerifier({
 *   type: 'jwt',
 *   issuer: 'https://login.example.com/',
 *   audience: 'https://api.example.com/mcp',
 * })
 * ```
 */
export async function createVerifier(
  config: VerifierConfig,
  options: CreateVerifierOptions = {},
): Promise<TokenVerifier> {
  if (!isOptionsObject(config)) {
    if (config !== null && typeof config === 'object') readOptionsObject('config', config)
    throw invalidArgument('config', 'must be an object with a type')
  }
  const { type, cache, ...rest } = config
  if (typeof type !== 'string' || !Object.hasOwn(VERIFIER_PACKAGES, type)) {
    throw invalidArgument(
      'config.type',
      `must be one of ${Object.keys(VERIFIER_PACKAGES).join(', ')} (got ${JSON.stringify(type)})`,
    )
  }
  checkOwnKeys(type, rest)
  if (cache !== undefined && cache !== false) {
    if (!isOptionsObject(cache)) {
      throw invalidArgument('config.cache', 'must be an options object or false')
    }
    // The introspection verifier checks its own cache options; the others get core's cache.
    if (type !== 'introspection') rejectUnknownOptions('config.cache', cache, CACHE_OPTIONS)
  }
  const { packageName, factory } = VERIFIER_PACKAGES[type]
  const load = options.load ?? ((name: string) => import(name) as Promise<unknown>)
  let mod: unknown
  try {
    mod = await load(packageName)
  } catch (cause) {
    if ((cause as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND') {
      const error = new TypeError(
        `config.type ${JSON.stringify(type)} needs the package ${packageName}: run npm install ${packageName}`,
        { cause },
      ) as TypeError & { code: string }
      error.code = 'ERR_MODULE_NOT_FOUND'
      throw error
    }
    throw cause
  }
  const create = (mod as Record<string, unknown> | null)?.[factory]
  if (typeof create !== 'function') {
    throw invalidArgument('config.type', `loaded ${packageName}, which has no ${factory}`)
  }
  let verifier: TokenVerifier
  if (type === 'provider') {
    const { provider: given, providerModule, ...providerOptions } = rest
    const provider = given ?? (await loadProviderModule(providerModule, load))
    verifier = (create as (p: unknown, o: unknown) => TokenVerifier)(provider, providerOptions)
  } else if (type === 'introspection') {
    verifier = (create as (o: unknown) => TokenVerifier)({
      ...rest,
      ...(cache === undefined ? {} : { cache }),
      ...(options.sharedCache === undefined || rest.sharedCache !== undefined
        ? {}
        : { sharedCache: options.sharedCache }),
    })
  } else {
    verifier = (create as (o: unknown) => TokenVerifier)(rest)
  }
  // Fast by default: a JWT is verified once, then served from the cache until its window ends
  // (exp, nbf, the verifier's own age bound and `ttl` are all kept by a hit).
  let cacheOptions = type === 'jwt' && cache === undefined ? {} : cache
  if (cacheOptions !== undefined && cacheOptions !== false && type === 'jwt') {
    // One clock and one leeway for both: a hit is served exactly when the verifier would accept.
    cacheOptions = {
      clockTolerance: typeof rest.clockTolerance === 'number' ? rest.clockTolerance : JWT_LEEWAY,
      ...(typeof rest.now === 'function' ? { now: rest.now } : {}),
      ...cacheOptions,
    }
  }
  const revocations = options.revocations
  let outer: TokenVerifier | undefined
  if (type !== 'introspection' && cacheOptions !== undefined && cacheOptions !== false) {
    // The cache consults the revocation list on every answer, its hits included.
    outer = createCachedVerifier(
      verifier,
      revocations === undefined ? cacheOptions : { ...cacheOptions, revocations },
    )
  } else if (revocations !== undefined) {
    outer = withRevocationCheck(verifier, revocations)
  }
  if (outer === undefined) return verifier
  const checked = outer
  // Keep the inner verifier's extras (ready, close ...) reachable on the result.
  return Object.assign(Object.create(verifier) as TokenVerifier, {
    verifyToken: (token: string, verifyOptions?: VerifyOptions) =>
      checked.verifyToken(token, verifyOptions),
  })
}

const OWN_KEYS = ['type', 'cache', 'provider', 'providerModule'] as const
const CACHE_OPTIONS = ['max', 'ttl', 'negativeTtl', 'now', 'clockTolerance'] as const
// The jwt verifier's default clockTolerance (DEFAULT_CLOCK_TOLERANCE of @bearerkit/jwt, which core
// cannot import; a jwt test pins the two together).
const JWT_LEEWAY = 30

/**
 * The factory's own keys. Every other key belongs to the package, whose factory refuses the ones
 * it does not know; a key that looks like a misspelling of one of ours (`cahce`, `typ`) is
 * refused here, since the package would not know to suggest it.
 */
function checkOwnKeys(type: VerifierType, rest: Record<string, unknown>): void {
  for (const key of Object.keys(rest)) {
    if (key === 'provider' || key === 'providerModule') {
      if (type !== 'provider') {
        throw invalidArgument(`config.${key}`, 'is only used when type is provider')
      }
      continue
    }
    const nearest = nearestName(key, OWN_KEYS)
    if (nearest !== undefined) {
      throw invalidArgument(`config.${key}`, `is not a known option: did you mean \`${nearest}\`?`)
    }
  }
}

async function loadProviderModule(
  specifier: unknown,
  load: (name: string) => Promise<unknown>,
): Promise<unknown> {
  if (specifier === undefined) {
    throw invalidArgument('config.provider', 'is required when type is provider')
  }
  if (typeof specifier !== 'string' || specifier === '') {
    throw invalidArgument('config.providerModule', 'must be a module specifier or a path')
  }
  // Relative paths are taken from the working directory, as people write them in .env files.
  const target =
    specifier.startsWith('.') || isAbsolute(specifier)
      ? pathToFileURL(resolve(process.cwd(), specifier)).href
      : specifier
  const mod = (await load(target)) as Record<string, unknown> | null
  const provider = mod?.default ?? mod?.provider
  if (typeof provider !== 'object' || provider === null) {
    throw invalidArgument(
      'config.providerModule',
      `must export the provider object as default or as provider (${specifier})`,
    )
  }
  return provider
}
