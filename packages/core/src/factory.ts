import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AccessToken, TokenVerifier, VerifyOptions } from './access-token.js'
import { createCachedVerifier, type CachedVerifierOptions } from './cache.js'
import { createCompositeVerifier } from './composite.js'
import { answerNowWith, verifyTokenNow } from './define-verifier.js'
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

/** A verifier kind of {@link createVerifier}: `jwt`, `introspection`, `provider` or `composite`. */
export type VerifierType = keyof typeof VERIFIER_PACKAGES | 'composite'

/**
 * The option and verifier types of the kinds that live in other packages. Empty in core: each
 * verifier package fills in its own entry by declaration merging, which takes effect as soon as
 * the package's types are part of the program (any `import` from it, or
 * `import type {} from '@bearerkit/jwt'`). Until then a kind falls back to
 * {@link LooseVerifierOptions}, so that a project that installed core and jwt but imports only
 * core still type-checks.
 *
 * @example
 * ```ts
 * // in @bearerkit/jwt
 * declare module '@bearerkit/core' {
 *   interface VerifierKinds {
 *     jwt: { options: JwtVerifierOptions; verifier: JwtVerifier }
 *   }
 * }
 * ```
 */
export interface VerifierKinds {} // eslint-disable-line @typescript-eslint/no-empty-object-type -- filled in by merging

/**
 * Options of a verifier kind whose package's types are not loaded: whatever the package takes,
 * checked at run time by the package itself (which also requires `audience`).
 */
export interface LooseVerifierOptions {
  /** The audience tokens must carry; `null` opts out. Every bearerkit verifier requires it. */
  audience?: string | readonly string[] | null | undefined
  [option: string]: unknown
}

/**
 * The options type of verifier kind `K`: the package's own (from {@link VerifierKinds}) once its
 * types are loaded, {@link LooseVerifierOptions} until then.
 */
export type VerifierOptionsOf<K extends keyof typeof VERIFIER_PACKAGES> =
  K extends keyof VerifierKinds
    ? VerifierKinds[K] extends { options: infer O }
      ? O
      : LooseVerifierOptions
    : LooseVerifierOptions

/**
 * The verifier type of kind `K`: the package's own (from {@link VerifierKinds}) once its types
 * are loaded, `TokenVerifier` until then.
 */
export type VerifierOf<K extends keyof typeof VERIFIER_PACKAGES> = K extends keyof VerifierKinds
  ? VerifierKinds[K] extends { verifier: infer V }
    ? V
    : TokenVerifier
  : TokenVerifier

/** `cache`, which every config but `introspection` (it has a cache of its own) may carry. */
export interface CacheConfig {
  /**
   * Puts {@link createCachedVerifier} in front of the verifier.
   *
   * `cache` (jwt and provider only) puts {@link createCachedVerifier} in front. A jwt verifier gets
   * that cache by default (absent means `{}`: at most 10,000 entries, each served at most 300 s;
   * about 12 MiB for typical access tokens); `false` turns it off. A provider verifier is cached only when `cache` is given. The
   * introspection verifier has a cache of its own and takes `cache` itself.
   */
  cache?: CachedVerifierOptions | false | undefined
}

/** `{ type: 'jwt', ...JwtVerifierOptions }`: see `@bearerkit/jwt`. */
export type JwtVerifierConfig = { type: 'jwt' } & CacheConfig & VerifierOptionsOf<'jwt'>

/** `{ type: 'introspection', ...IntrospectionVerifierOptions }` (with its own `cache`). */
export type IntrospectionVerifierConfig = {
  type: 'introspection'
} & VerifierOptionsOf<'introspection'>

/**
 * `{ type: 'provider', provider | providerModule, ...ProviderVerifierOptions }`: see
 * `@bearerkit/provider`.
 */
export interface ProviderVerifierConfig extends CacheConfig {
  type: 'provider'
  /** The provider object: anything with `loadAccessToken(token)`. */
  provider?: { loadAccessToken(token: string): unknown } | undefined
  /**
   * Instead of `provider`: a module specifier or a path (relative to the working directory) whose
   * default export, or `provider` export, is the provider.
   */
  providerModule?: string | undefined
  /** The audience tokens must carry; `null` opts out of the check. */
  audience: string | readonly string[] | null
  /** Scopes every token must grant. */
  requiredScopes?: readonly string[] | undefined
  /** Clock, in milliseconds since the epoch. */
  now?: (() => number) | undefined
}

/** A config of one verifier (not a composite). */
export type SingleVerifierConfig =
  JwtVerifierConfig | IntrospectionVerifierConfig | ProviderVerifierConfig

/**
 * JWTs and opaque tokens side by side: {@link createCompositeVerifier} over verifiers that are
 * themselves built from configs (or given ready-made). At least one of `issuers`, `jwt` and
 * `opaque` is required; parts may not be composites themselves.
 */
export interface CompositeVerifierConfig extends CacheConfig {
  type: 'composite'
  /** JWTs routed by their (unverified) `iss`; each verifier must itself require that issuer. */
  issuers?: Readonly<Record<string, SingleVerifierConfig | TokenVerifier>> | undefined
  /** JWTs of any other issuer. */
  jwt?: SingleVerifierConfig | TokenVerifier | undefined
  /** Tokens that are not compact JWTs (opaque tokens, JWEs). */
  opaque?: SingleVerifierConfig | TokenVerifier | undefined
}

/**
 * A verifier described as data, discriminated by `type`. Every other field is that kind's
 * options, type-checked against the kind's package once its types are loaded (see
 * {@link VerifierKinds}) and always checked at run time by the package's own factory.
 */
export type VerifierConfig = SingleVerifierConfig | CompositeVerifierConfig

/**
 * A verifier built by {@link createVerifier}: `ready()` does now what the verifier would do on its
 * first token (discovery, key loading) and rejects like `verifyToken` would; `close()` aborts
 * pending requests and releases timers. Both resolve at once for a kind with nothing to do.
 */
export interface ConfiguredVerifier extends TokenVerifier {
  ready(): Promise<void>
  close(): Promise<void>
}

/** What {@link createVerifier} resolves to for kind `K`: the package's verifier type, managed. */
export type ConfiguredVerifierOf<K extends keyof typeof VERIFIER_PACKAGES> = ConfiguredVerifier &
  Omit<VerifierOf<K>, keyof ConfiguredVerifier>

/** Options of {@link createVerifier}. */
export interface CreateVerifierOptions {
  /** How to load a verifier package. Default: dynamic `import()`. */
  load?: ((packageName: string) => Promise<unknown>) | undefined
  /**
   * A revocation list (`stores.revocations`) every answer of the built verifier passes, cache
   * hits included: a revoked token is refused, a list that cannot be trusted is a 503.
   */
  revocations?: RevocationList | undefined
  /**
   * The fleet's shared result cache (`stores.cache`): the introspection verifier's shared tier,
   * behind its in-process cache (unless the config names its own `sharedCache`). Other types
   * have nothing to share.
   */
  sharedCache?: SharedResultCache | undefined
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
export function createVerifier(
  config: JwtVerifierConfig,
  options?: CreateVerifierOptions,
): Promise<ConfiguredVerifierOf<'jwt'>>
export function createVerifier(
  config: IntrospectionVerifierConfig,
  options?: CreateVerifierOptions,
): Promise<ConfiguredVerifierOf<'introspection'>>
export function createVerifier(
  config: VerifierConfig,
  options?: CreateVerifierOptions,
): Promise<ConfiguredVerifier>
export async function createVerifier(
  config: VerifierConfig,
  options: CreateVerifierOptions = {},
): Promise<ConfiguredVerifier> {
  if (options.load !== undefined && typeof options.load !== 'function') {
    throw invalidArgument('options.load', 'must be a function')
  }
  // Checked as data: a caller without types may pass anything.
  const input: unknown = config
  if (isOptionsObject(input) && input.type === 'composite') {
    return await createComposite(input, options)
  }
  return managed(await createSingle(config, options, 'config', ALL_TYPES), [])
}

const ALL_TYPES = [...Object.keys(VERIFIER_PACKAGES), 'composite']

/** One verifier of a package (not a composite), from its config at `path`. */
async function createSingle(
  input: unknown,
  options: CreateVerifierOptions,
  path: string,
  types: readonly string[],
): Promise<TokenVerifier> {
  if (!isOptionsObject(input)) {
    if (input !== null && typeof input === 'object') readOptionsObject(path, input)
    throw invalidArgument(path, 'must be an object with a type')
  }
  const config = input as {
    type: keyof typeof VERIFIER_PACKAGES
    cache?: CachedVerifierOptions | false
    [option: string]: unknown
  }
  const { type, cache, ...rest } = config
  if (typeof type !== 'string' || !Object.hasOwn(VERIFIER_PACKAGES, type)) {
    throw invalidArgument(
      `${path}.type`,
      `must be one of ${types.join(', ')} (got ${JSON.stringify(type)})`,
    )
  }
  checkOwnKeys(type, rest, path)

  if (cache !== undefined && cache !== false) {
    if (!isOptionsObject(cache)) {
      throw invalidArgument(`${path}.cache`, 'must be an options object or false')
    }
    // The introspection verifier checks its own cache options; the others get core's cache.
    if (type !== 'introspection') rejectUnknownOptions(`${path}.cache`, cache, CACHE_OPTIONS)
  }
  const { packageName, factory } = VERIFIER_PACKAGES[type]
  const load = options.load ?? ((name: string) => import(name) as Promise<unknown>)
  let mod: unknown
  try {
    mod = await load(packageName)
  } catch (cause) {
    if ((cause as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND') {
      const error = new TypeError(
        `${path}.type ${JSON.stringify(type)} needs the package ${packageName}: run npm install ${packageName}`,
        { cause },
      ) as TypeError & { code: string }
      error.code = 'ERR_MODULE_NOT_FOUND'
      throw error
    }
    throw cause
  }
  const create = (mod as Record<string, unknown> | null)?.[factory]
  if (typeof create !== 'function') {
    throw invalidArgument(`${path}.type`, `loaded ${packageName}, which has no ${factory}`)
  }
  let verifier: TokenVerifier
  if (type === 'provider') {
    const { provider: given, providerModule, ...providerOptions } = rest
    const provider = given ?? (await loadProviderModule(providerModule, load, path))
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
    verifyToken: forwardTo(checked),
  })
}

/**
 * A verifyToken that forwards to `target`, answering at once through verifyTokenNow when the
 * target can (the wrappers of a configured verifier must not cost the gate its synchronous hit).
 */
function forwardTo(target: TokenVerifier): TokenVerifier['verifyToken'] {
  const verifyToken = (token: string, verifyOptions?: VerifyOptions): Promise<AccessToken | null> =>
    target.verifyToken(token, verifyOptions)
  answerNowWith(verifyToken, (token, verifyOptions) => verifyTokenNow(target, token, verifyOptions))
  return verifyToken
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
function checkOwnKeys(type: VerifierType, rest: Record<string, unknown>, path: string): void {
  for (const key of Object.keys(rest)) {
    if (key === 'provider' || key === 'providerModule') {
      if (type !== 'provider') {
        throw invalidArgument(`${path}.${key}`, 'is only used when type is provider')
      }
      continue
    }
    const nearest = nearestName(key, OWN_KEYS)
    if (nearest !== undefined) {
      throw invalidArgument(`${path}.${key}`, `is not a known option: did you mean \`${nearest}\`?`)
    }
  }
}

async function loadProviderModule(
  specifier: unknown,
  load: (name: string) => Promise<unknown>,
  path: string,
): Promise<unknown> {
  if (specifier === undefined) {
    throw invalidArgument(`${path}.provider`, 'is required when type is provider')
  }
  if (typeof specifier !== 'string' || specifier === '') {
    throw invalidArgument(`${path}.providerModule`, 'must be a module specifier or a path')
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
      `${path}.providerModule`,
      `must export the provider object as default or as provider (${specifier})`,
    )
  }
  return provider
}

const COMPOSITE_KEYS = ['type', 'cache', 'issuers', 'jwt', 'opaque'] as const

/**
 * `{ type: 'composite' }`: each part built from its config (or taken ready-made), routed by
 * {@link createCompositeVerifier}; `cache` and the revocation list apply to the composite's
 * answers, once.
 */
async function createComposite(
  config: Record<string, unknown>,
  options: CreateVerifierOptions,
): Promise<ConfiguredVerifier> {
  rejectUnknownOptions('config', config, COMPOSITE_KEYS)
  const { cache } = config
  if (cache !== undefined && cache !== false) {
    if (!isOptionsObject(cache)) {
      throw invalidArgument('config.cache', 'must be an options object or false')
    }
    rejectUnknownOptions('config.cache', cache, CACHE_OPTIONS)
  }
  // Parts share the fleet's result cache; revocations are checked once, on the composite.
  const partOptions: CreateVerifierOptions = { ...options, revocations: undefined }
  // Parts built here are closed with the composite; a ready-made TokenVerifier stays its owner's.
  const parts: ConfiguredVerifier[] = []
  const part = async (value: unknown, path: string): Promise<TokenVerifier | undefined> => {
    if (value === undefined) return undefined
    if (typeof value === 'object' && value !== null && 'verifyToken' in value) {
      if (typeof value.verifyToken === 'function') return value as TokenVerifier
    }
    const built = managed(await createSingle(value, partOptions, path, PACKAGE_TYPES), [])
    parts.push(built)
    return built
  }
  let composite: TokenVerifier
  try {
    let issuers: Record<string, TokenVerifier> | undefined
    if (config.issuers !== undefined) {
      issuers = {}
      const given = readOptionsObject('config.issuers', config.issuers)
      for (const [issuer, value] of Object.entries(given)) {
        const verifier = await part(value, `config.issuers[${JSON.stringify(issuer)}]`)
        if (verifier !== undefined) issuers[issuer] = verifier
      }
    }
    const jwt = await part(config.jwt, 'config.jwt')
    const opaque = await part(config.opaque, 'config.opaque')
    if (issuers === undefined && jwt === undefined && opaque === undefined) {
      throw invalidArgument('config', 'of type composite needs issuers, jwt or opaque')
    }
    composite = createCompositeVerifier({
      ...(issuers === undefined ? {} : { issuers }),
      ...(jwt === undefined ? {} : { jwt }),
      ...(opaque === undefined ? {} : { opaque }),
    })
  } catch (error) {
    // A part that fails to build must not leave the ones built before it running.
    await Promise.allSettled(parts.map((p) => p.close()))
    throw error
  }
  const revocations = options.revocations
  let outer = composite
  if (cache !== undefined && cache !== false) {
    const cacheOptions = cache as CachedVerifierOptions
    outer = createCachedVerifier(
      composite,
      revocations === undefined ? cacheOptions : { ...cacheOptions, revocations },
    )
  } else if (revocations !== undefined) {
    outer = withRevocationCheck(composite, revocations)
  }
  return managed(outer, parts)
}

const PACKAGE_TYPES = Object.keys(VERIFIER_PACKAGES)

/**
 * The verifier as {@link createVerifier} hands it out: the inner verifier's extras (size, clear
 * ...) stay reachable through the prototype, and `ready` and `close` always exist and return
 * promises, whatever the kind; a composite's reach its parts.
 */
function managed(inner: TokenVerifier, parts: readonly ConfiguredVerifier[]): ConfiguredVerifier {
  const extras = inner as { ready?: unknown; close?: unknown }
  const ready = async (): Promise<void> => {
    if (typeof extras.ready === 'function') await (extras.ready as () => unknown).call(inner)
    await Promise.all(parts.map((p) => p.ready()))
  }
  const close = async (): Promise<void> => {
    const results = await Promise.allSettled([
      (async () => {
        if (typeof extras.close === 'function') await (extras.close as () => unknown).call(inner)
      })(),
      ...parts.map((p) => p.close()),
    ])
    const failed = results.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }
  return Object.assign(Object.create(inner) as ConfiguredVerifier, {
    verifyToken: forwardTo(inner),
    ready,
    close,
  })
}
