import { randomBytes } from 'node:crypto'
import {
  formatScopes,
  invalidArgument,
  isScopeToken,
  readOptionsObject,
  rejectUnknownOptions,
} from '@bearerkit/core'
import { BaseAuthorizationServerProvider } from './base-provider.js'
import { comparableAudience } from './lib/audience.js'
import { AuthorizeError, TokenError } from './oauth-errors.js'
import type {
  AuthorizationCode,
  AuthorizationParams,
  Awaitable,
  IdentityAssertionParams,
  OAuthClientInformation,
  OAuthToken,
  ProviderAccessToken,
  RefreshToken,
} from './protocol.js'
import { constructRedirectUri } from './redirect-uri.js'
import { checkClient } from './lib/client-metadata.js'

/**
 * What an identity assertion grants once validated (see
 * {@link MemoryProviderOptions.identityAssertion}): the end user, the resource the assertion
 * names, and the scopes policy allows.
 */
export interface IdentityAssertionGrant {
  /** The end user (the assertion's `sub`). */
  subject: string
  /** The RFC 8707 resource the access token is restricted to (the assertion's `resource`). */
  resource: string
  /** Scopes to grant, derived from the assertion and policy. */
  scopes: readonly string[]
  /** Optional upper bound on the access token's expiry, in seconds since the epoch. */
  expiresAt?: number
}

/** Options of {@link createMemoryProvider}. */
export interface MemoryProviderOptions {
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
  /** Access token lifetime in seconds. Default 3,600. */
  accessTokenLifetime?: number
  /**
   * Lifetime of a grant's refresh tokens in seconds, counted from the code exchange; rotation
   * does not extend it. `null` for refresh tokens that do not expire. Default 1,209,600 (14 days).
   */
  refreshTokenLifetime?: number | null
  /** Authorization code lifetime in seconds. Default 300 (RFC 6749 §4.1.2: 10 minutes at most). */
  codeLifetime?: number
  /**
   * Issuer named on the access token records (`issuer`), when given, and sent as `iss` in the
   * authorization responses `authorize` builds (RFC 9207 §2).
   */
  issuer?: string
  /**
   * The RFC 8707 resources tokens may be issued for. A request naming another is refused
   * (`invalid_target`). Default: any absolute URI.
   */
  resources?: readonly string[]
  /** Scopes this server knows. A request for another is refused (`invalid_scope`). Default: any. */
  scopes?: readonly string[]
  /**
   * The resource owner's decision on an authorization request: the subject who approved, or
   * `null` to deny (`access_denied`). Default: every request approved for subject `user`, which
   * is only fit for tests and examples.
   */
  approve?: (
    client: OAuthClientInformation,
    params: AuthorizationParams,
  ) => Awaitable<string | null>
  /**
   * Validates a SEP-990 identity assertion and says what it grants; throw `TokenError`
   * (`invalid_grant`, `invalid_target`) to refuse. Without it the jwt-bearer grant is refused as
   * `unsupported_grant_type`. The token issued is restricted to the grant's resource and comes
   * without a refresh token.
   */
  identityAssertion?: (
    client: OAuthClientInformation,
    params: IdentityAssertionParams,
  ) => Awaitable<IdentityAssertionGrant>
}

interface Stored<T> {
  readonly record: Readonly<T>
  /** Tokens issued from one authorization share a grant id, and are revoked together. */
  readonly grant: string
}

const OPTION_NAMES = [
  'now',
  'accessTokenLifetime',
  'refreshTokenLifetime',
  'codeLifetime',
  'issuer',
  'resources',
  'scopes',
  'approve',
  'identityAssertion',
]

/** A new unguessable value: 256 bits from the system's CSPRNG (RFC 6749 §10.10 asks >= 128). */
function secretValue(): string {
  return randomBytes(32).toString('base64url')
}

function seconds(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(option, 'must be a positive number of seconds')
  }
  return value
}

function list(option: string, value: unknown, check: (v: unknown) => boolean): string[] | null {
  if (value === undefined) return null
  if (!Array.isArray(value) || !value.every(check)) {
    throw invalidArgument(option, 'must be an array of strings of the right form')
  }
  return [...(value as string[])]
}

/**
 * The in-memory reference provider: the whole protocol on `Map`s, for tests, examples and local
 * development. Not for production (state dies with the process and is not shared by a fleet).
 *
 * - clients: `registerClient` checks RFC 7591 metadata (redirect URIs https, loopback http or a
 *   private-use scheme, no fragment; known auth method, grant and response types; a secret
 *   exactly when the method needs one);
 * - `authorize`: asks `approve`, issues a single-use code (256 random bits) bound to the client,
 *   the PKCE challenge, the redirect URI, the scopes, the resource and the subject;
 * - `exchangeAuthorizationCode`: the code dies at first use; a code presented again revokes every
 *   token issued from it (RFC 6749 §4.1.2);
 * - `exchangeRefreshToken`: rotation, the presented refresh token and the grant's access tokens
 *   die; a rotated-out refresh token presented again revokes the whole grant (RFC 9700 §4.14.2);
 * - `revokeToken`: revokes the access and refresh tokens of the grant the token belongs to;
 * - `loadAccessToken`: `null` for unknown, revoked and expired tokens; usable directly with
 *   `createProviderVerifier`.
 *
 * The PKCE verifier, code expiry and redirect URI are checked by {@link handleTokenRequest}, as
 * the protocol splits the work.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2 RFC 9700 §4.14.2 (refresh rotation)
 * @example
 * ```ts
 * const provider = createMemoryProvider({ resources: ['https://mcp.example.com/mcp'] })
 * const verifier = createProviderVerifier(provider, { audience: 'https://mcp.example.com/mcp' })
 * ```
 */
export class MemoryProvider extends BaseAuthorizationServerProvider {
  readonly #now: () => number
  readonly #accessLifetime: number
  readonly #refreshLifetime: number | null
  readonly #codeLifetime: number
  readonly #issuer: string | undefined
  readonly #resources: ReadonlySet<string> | null
  readonly #scopes: ReadonlySet<string> | null
  readonly #approve: NonNullable<MemoryProviderOptions['approve']>
  readonly #identityAssertion: MemoryProviderOptions['identityAssertion']

  readonly #clients = new Map<string, OAuthClientInformation>()
  readonly #codes = new Map<string, Stored<AuthorizationCode>>()
  /** Codes already exchanged, with their grant, until they would have expired. */
  readonly #usedCodes = new Map<string, { grant: string; until: number }>()
  readonly #refreshTokens = new Map<string, Stored<RefreshToken>>()
  /** Refresh tokens rotated out, with their grant, until they would have expired. */
  readonly #retiredRefreshTokens = new Map<string, { grant: string; until: number }>()
  readonly #accessTokens = new Map<string, Stored<ProviderAccessToken>>()

  constructor(options: MemoryProviderOptions = {}) {
    super()
    rejectUnknownOptions('options', readOptionsObject('options', options), OPTION_NAMES)
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw invalidArgument('options.now', 'must be a function returning milliseconds')
    }
    this.#now = options.now ?? Date.now
    this.#accessLifetime = seconds('options.accessTokenLifetime', options.accessTokenLifetime, 3600)
    this.#refreshLifetime =
      options.refreshTokenLifetime === null
        ? null
        : seconds('options.refreshTokenLifetime', options.refreshTokenLifetime, 1_209_600)
    this.#codeLifetime = seconds('options.codeLifetime', options.codeLifetime, 300)
    if (
      options.issuer !== undefined &&
      (typeof options.issuer !== 'string' || options.issuer === '')
    ) {
      throw invalidArgument('options.issuer', 'must be a non-empty string')
    }
    this.#issuer = options.issuer
    const resources = list('options.resources', options.resources, (r) => isAbsoluteUri(r))
    this.#resources = resources === null ? null : new Set(resources.map(comparableAudience))
    const scopes = list('options.scopes', options.scopes, isScopeToken)
    this.#scopes = scopes === null ? null : new Set(scopes)
    for (const name of ['approve', 'identityAssertion'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') {
        throw invalidArgument(`options.${name}`, 'must be a function')
      }
    }
    this.#approve = options.approve ?? (() => 'user')
    this.#identityAssertion = options.identityAssertion
  }

  /** @inheritdoc */
  getClient(clientId: string): Promise<OAuthClientInformation | null> {
    const client = this.#clients.get(clientId)
    return Promise.resolve(client === undefined ? null : structuredClone(client))
  }

  /**
   * Stores a client after checking its metadata (RFC 7591 §2).
   *
   * @throws RegistrationError `invalid_redirect_uri` or `invalid_client_metadata`.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- the protocol is asynchronous
  async registerClient(clientInfo: OAuthClientInformation): Promise<void> {
    const checked = checkClient(clientInfo, this.#clients, this.#scopes)
    this.#clients.set(checked.client_id, checked)
  }

  /**
   * Asks `approve`, then redirects to the client with a new code and `state`.
   *
   * @throws AuthorizeError `invalid_target` (unknown resource), `invalid_scope` (unknown scope),
   * `access_denied` (not approved).
   */
  async authorize(client: OAuthClientInformation, params: AuthorizationParams): Promise<string> {
    this.#checkResource(params.resource, AuthorizeError)
    const scopes = params.scopes ?? (client.scope === undefined ? [] : client.scope.split(' '))
    this.#checkScopes(scopes, AuthorizeError)
    const subject = await this.#approve(client, params)
    if (subject === null) throw new AuthorizeError('access_denied', 'The request was not approved')
    if (typeof subject !== 'string' || subject === '') {
      throw new TypeError('approve must answer a non-empty subject or null')
    }
    this.#sweep()
    const code = secretValue()
    const record: AuthorizationCode = {
      code,
      clientId: client.client_id,
      scopes: [...scopes],
      expiresAt: this.#seconds() + this.#codeLifetime,
      codeChallenge: params.codeChallenge,
      redirectUri: params.redirectUri,
      redirectUriProvidedExplicitly: params.redirectUriProvidedExplicitly,
      subject,
      ...(params.resource === undefined ? {} : { resource: params.resource }),
    }
    this.#codes.set(code, { record, grant: secretValue() })
    // RFC 9207 §2: iss in the authorization response, whenever the issuer is known.
    return constructRedirectUri(params.redirectUri, {
      code,
      state: params.state,
      iss: this.#issuer,
    })
  }

  /**
   * The code's record, or `null` when it is unknown, used or another client's. A used code
   * presented again revokes what was issued for it (RFC 6749 §4.1.2).
   */
  loadAuthorizationCode(
    client: OAuthClientInformation,
    code: string,
  ): Promise<AuthorizationCode | null> {
    const stored = this.#codes.get(code)
    if (stored === undefined) {
      const used = this.#usedCodes.get(code)
      if (used !== undefined) this.#revokeGrant(used.grant)
      return Promise.resolve(null)
    }
    if (stored.record.clientId !== client.client_id) return Promise.resolve(null)
    return Promise.resolve(structuredClone(stored.record) as AuthorizationCode)
  }

  /**
   * Issues an access token and a refresh token (unless the client did not register the
   * `refresh_token` grant); the code dies.
   *
   * @throws TokenError `invalid_grant` when the code was used meanwhile.
   */
  exchangeAuthorizationCode(
    client: OAuthClientInformation,
    code: AuthorizationCode,
  ): Promise<OAuthToken> {
    const stored = this.#codes.get(code.code)
    // Checked again here: two concurrent exchanges may both have loaded the code. The one that
    // finds it gone lost the race, and a code presented twice is a replay: everything issued
    // for it is revoked (RFC 6749 §4.1.2). Take and delete happen in one
    // synchronous step, so exactly one exchange wins.
    if (stored === undefined) {
      const used = this.#usedCodes.get(code.code)
      if (used !== undefined) this.#revokeGrant(used.grant)
      return Promise.reject(new TokenError('invalid_grant', 'The authorization code is invalid'))
    }
    if (stored.record.clientId !== client.client_id) {
      return Promise.reject(new TokenError('invalid_grant', 'The authorization code is invalid'))
    }
    this.#codes.delete(code.code)
    this.#usedCodes.set(code.code, { grant: stored.grant, until: stored.record.expiresAt })
    const { record, grant } = stored
    const refresh =
      client.grant_types === undefined || client.grant_types.includes('refresh_token')
        ? {
            expiresAt:
              this.#refreshLifetime === null ? undefined : this.#seconds() + this.#refreshLifetime,
            scopes: record.scopes,
          }
        : undefined
    return Promise.resolve(
      this.#issue(client, grant, record.scopes, record.resource, record.subject, refresh),
    )
  }

  /**
   * The refresh token's record, or `null` when it is unknown, revoked or another client's. A
   * rotated-out refresh token presented again revokes its whole grant (RFC 9700 §4.14.2).
   */
  loadRefreshToken(
    client: OAuthClientInformation,
    refreshToken: string,
  ): Promise<RefreshToken | null> {
    const stored = this.#refreshTokens.get(refreshToken)
    if (stored === undefined) {
      const retired = this.#retiredRefreshTokens.get(refreshToken)
      if (retired !== undefined) this.#revokeGrant(retired.grant)
      return Promise.resolve(null)
    }
    if (stored.record.clientId !== client.client_id) return Promise.resolve(null)
    return Promise.resolve(structuredClone(stored.record) as RefreshToken)
  }

  /**
   * Rotates: the presented refresh token and the grant's access tokens die; a new pair is issued
   * with the requested scopes (or all the refresh token's), the new refresh token keeping the
   * original scopes and expiry (RFC 6749 §6).
   *
   * @throws TokenError `invalid_grant` when the refresh token was used or revoked meanwhile.
   */
  exchangeRefreshToken(
    client: OAuthClientInformation,
    refreshToken: RefreshToken,
    scopes: string[],
  ): Promise<OAuthToken> {
    const stored = this.#refreshTokens.get(refreshToken.token)
    if (stored === undefined) {
      // Lost a race with another exchange of the same token, or a replay of a rotated-out one:
      // either way the token was used twice, so the grant dies (RFC 9700 §4.14.2).
      const retired = this.#retiredRefreshTokens.get(refreshToken.token)
      if (retired !== undefined) this.#revokeGrant(retired.grant)
      return Promise.reject(new TokenError('invalid_grant', 'The refresh token is invalid'))
    }
    if (stored.record.clientId !== client.client_id) {
      return Promise.reject(new TokenError('invalid_grant', 'The refresh token is invalid'))
    }
    const { record, grant } = stored
    // Defence in depth for direct callers: handleTokenRequest checks this too. RFC 6749 §6: the
    // requested scope MUST NOT include any scope not originally granted (so none unknown here).
    if (!Array.isArray(scopes) || !scopes.every((s) => record.scopes.includes(s))) {
      return Promise.reject(
        new TokenError('invalid_scope', 'scope exceeds the scope originally granted'),
      )
    }
    this.#refreshTokens.delete(record.token)
    this.#retiredRefreshTokens.set(record.token, {
      grant,
      until: record.expiresAt ?? Number.POSITIVE_INFINITY,
    })
    for (const [token, access] of this.#accessTokens) {
      if (access.grant === grant) this.#accessTokens.delete(token)
    }
    const granted = scopes.length > 0 ? scopes : record.scopes
    return Promise.resolve(
      this.#issue(client, grant, granted, record.resource, record.subject, {
        expiresAt: record.expiresAt,
        scopes: record.scopes,
      }),
    )
  }

  /** The access token's record, or `null` when it is unknown, revoked or expired. */
  loadAccessToken(token: string): Promise<ProviderAccessToken | null> {
    const stored = this.#accessTokens.get(token)
    if (stored === undefined) return Promise.resolve(null)
    const expiresAt = stored.record.expiresAt
    if (typeof expiresAt === 'number' && expiresAt <= this.#seconds()) {
      this.#accessTokens.delete(token)
      return Promise.resolve(null)
    }
    return Promise.resolve(structuredClone(stored.record) as ProviderAccessToken)
  }

  /** Revokes every access and refresh token of the grant `token` belongs to (RFC 7009 §2.1). */
  revokeToken(token: ProviderAccessToken | RefreshToken): Promise<void> {
    const value = token.token
    if (value !== undefined) {
      const stored = this.#accessTokens.get(value) ?? this.#refreshTokens.get(value)
      if (stored !== undefined) this.#revokeGrant(stored.grant)
    }
    return Promise.resolve()
  }

  /**
   * With the `identityAssertion` option: validates through it, then issues an access token
   * restricted to the grant's resource, without a refresh token. Without it: rejects with
   * `TokenError('unsupported_grant_type')`.
   */
  override async exchangeIdentityAssertion(
    client: OAuthClientInformation,
    params: IdentityAssertionParams,
  ): Promise<OAuthToken> {
    const hook = this.#identityAssertion
    if (hook === undefined) return super.exchangeIdentityAssertion(client, params)
    const grant = await hook(client, params)
    if (
      typeof grant !== 'object' ||
      grant === null ||
      typeof grant.subject !== 'string' ||
      grant.subject === '' ||
      typeof grant.resource !== 'string' ||
      !Array.isArray(grant.scopes) ||
      !grant.scopes.every(isScopeToken) ||
      (grant.expiresAt !== undefined && !Number.isFinite(grant.expiresAt))
    ) {
      throw new TypeError('identityAssertion must answer { subject, resource, scopes, expiresAt? }')
    }
    this.#checkResource(grant.resource, TokenError)
    this.#checkScopes(grant.scopes, TokenError)
    const token = this.#issue(
      client,
      secretValue(),
      grant.scopes,
      grant.resource,
      grant.subject,
      undefined,
      grant.expiresAt,
    )
    if (token.expires_in !== undefined && token.expires_in <= 0) {
      this.#accessTokens.delete(token.access_token)
      throw new TokenError('invalid_grant', 'The assertion has expired')
    }
    return token
  }

  /** Number of live access tokens, refresh tokens and codes (for tests and monitoring). */
  get size(): { accessTokens: number; refreshTokens: number; codes: number; clients: number } {
    return {
      accessTokens: this.#accessTokens.size,
      refreshTokens: this.#refreshTokens.size,
      codes: this.#codes.size,
      clients: this.#clients.size,
    }
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000)
  }

  #issue(
    client: OAuthClientInformation,
    grant: string,
    scopes: readonly string[],
    resource: string | undefined,
    subject: string | undefined,
    refresh: { expiresAt: number | undefined; scopes: readonly string[] } | undefined,
    notAfter?: number,
  ): OAuthToken {
    this.#sweep()
    const now = this.#seconds()
    const expiresAt = Math.min(now + this.#accessLifetime, notAfter ?? Number.POSITIVE_INFINITY)
    const accessToken = secretValue()
    this.#accessTokens.set(accessToken, {
      grant,
      record: Object.freeze({
        token: accessToken,
        clientId: client.client_id,
        scopes: Object.freeze([...scopes]),
        expiresAt,
        ...defined({ resource, subject, issuer: this.#issuer }),
      }),
    })
    const response: OAuthToken = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: expiresAt - now,
      scope: formatScopes(scopes),
    }
    if (refresh !== undefined) {
      const refreshToken = secretValue()
      this.#refreshTokens.set(refreshToken, {
        grant,
        record: Object.freeze({
          token: refreshToken,
          clientId: client.client_id,
          scopes: [...refresh.scopes],
          ...defined({ expiresAt: refresh.expiresAt, resource, subject }),
        }),
      })
      response.refresh_token = refreshToken
    }
    return response
  }

  #revokeGrant(grant: string): void {
    for (const [token, stored] of this.#accessTokens) {
      if (stored.grant === grant) this.#accessTokens.delete(token)
    }
    for (const [token, stored] of this.#refreshTokens) {
      if (stored.grant === grant) this.#refreshTokens.delete(token)
    }
  }

  #checkResource(
    resource: string | undefined,
    ErrorClass: typeof AuthorizeError | typeof TokenError,
  ): void {
    if (resource === undefined || this.#resources === null) return
    if (!this.#resources.has(comparableAudience(resource))) {
      throw new ErrorClass('invalid_target', 'The resource is not served by this server')
    }
  }

  #checkScopes(
    scopes: readonly string[],
    ErrorClass: typeof AuthorizeError | typeof TokenError,
  ): void {
    // Checked here too, not only by the endpoints: a record with a malformed scope would make
    // every later verification of its tokens fail as an outage.
    if (!scopes.every(isScopeToken)) {
      throw new ErrorClass('invalid_scope', 'A requested scope is malformed')
    }
    const known = this.#scopes
    if (known !== null && !scopes.every((s) => known.has(s))) {
      throw new ErrorClass('invalid_scope', 'A requested scope is not known')
    }
  }

  // Drops what can no longer be used, so a long-running test server does not grow without bound.
  #sweep(): void {
    const now = this.#seconds()
    for (const [code, stored] of this.#codes) {
      if (stored.record.expiresAt <= now) this.#codes.delete(code)
    }
    for (const map of [this.#usedCodes, this.#retiredRefreshTokens]) {
      for (const [key, entry] of map) if (entry.until <= now) map.delete(key)
    }
    for (const [token, stored] of this.#accessTokens) {
      const expiresAt = stored.record.expiresAt
      if (typeof expiresAt === 'number' && expiresAt <= now) this.#accessTokens.delete(token)
    }
    for (const [token, stored] of this.#refreshTokens) {
      const expiresAt = stored.record.expiresAt
      if (expiresAt !== undefined && expiresAt <= now) this.#refreshTokens.delete(token)
    }
  }
}

/**
 * Creates the in-memory reference provider ({@link MemoryProvider}).
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a bad option.
 * @example
 * ```ts
 * const provider = createMemoryProvider({ now: () => clock, resources: [resource] })
 * ```
 */
export function createMemoryProvider(options: MemoryProviderOptions = {}): MemoryProvider {
  return new MemoryProvider(options)
}

// The members whose value is not undefined (optional record members are left out, not undefined).
function defined<T extends Record<string, unknown>>(members: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(members).filter(([, value]) => value !== undefined),
  ) as Partial<T>
}

function isAbsoluteUri(value: unknown): value is string {
  if (typeof value !== 'string' || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return false
  try {
    return new URL(value).hash === ''
  } catch {
    return false
  }
}
