import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  formatScopes,
  invalidArgument,
  isScopeToken,
  normalizeAudience,
  parseScopes,
  readBoolean,
  tokenCacheKey,
  type AuthorizationServerMetadata,
} from '@bearerkit/core'
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose'
import { signToken, type UnsignedToken } from './create-token.js'
import { tokenRequestProofKey } from './dpop.js'
import {
  ASYMMETRIC_ALGORITHMS,
  generateKeyPair,
  isAsymmetricAlgorithm,
  type AsymmetricAlgorithm,
  type TestKeyPair,
} from './keys.js'
import {
  jsonReply,
  methodNotAllowed,
  oauthError,
  parseForm,
  readBody,
  readClientCredentials,
  secretsEqual,
  type AuthMethod,
  type BodyError,
  type Reply,
} from './lib/oauth-http.js'

export type { AuthMethod } from './lib/oauth-http.js'

/** The endpoints of a {@link LocalAuthorizationServer}, as named in counts and faults. */
export type EndpointName =
  'metadata' | 'openid-configuration' | 'jwks' | 'token' | 'introspection' | 'revocation'

/**
 * Every {@link EndpointName}.
 *
 * @example
 * ```ts
 * for (const endpoint of ENDPOINT_NAMES) t.equal(as.requestCount(endpoint), 0)
 * ```
 */
export const ENDPOINT_NAMES: readonly EndpointName[] = Object.freeze([
  'metadata',
  'openid-configuration',
  'jwks',
  'token',
  'introspection',
  'revocation',
])

/** Settings shared by every {@link Fault}. */
export interface FaultBase {
  /** Apply the fault to this many requests, then answer normally again. Default: until cleared. */
  times?: number
}

/**
 * A way an endpoint misbehaves, switched on with {@link LocalAuthorizationServer.setFault}:
 *
 * - `reset`: the connection is destroyed before any response (a network error for the client);
 * - `hang`: the request is never answered (until the client gives up or the server closes);
 * - `status`: the given status (default 500) with a JSON `server_error` body unless `body` is given;
 * - `garbage`: 200 with a JSON content type and a body that is not JSON;
 * - `slow`: the normal answer, `delay` milliseconds late;
 * - `redirect`: a redirect (default 302) to `location` (default: the endpoint itself);
 * - `content-type`: the normal answer under another content type (say `text/html`);
 * - `huge`: 200 with a valid JSON body of at least `bytes` bytes.
 *
 * Refusing connections altogether (ECONNREFUSED) is server-wide, not per endpoint:
 * {@link LocalAuthorizationServer.refuseConnections}.
 *
 * @example
 * ```ts
 * as.setFault('jwks', { type: 'status', status: 503, headers: { 'retry-after': '5' }, times: 1 })
 * as.setFault('introspection', { type: 'hang' })
 * ```
 */
export type Fault = FaultBase &
  (
    | { type: 'reset' }
    | { type: 'hang' }
    | { type: 'status'; status?: number; body?: string; headers?: Record<string, string> }
    | { type: 'garbage'; body?: string; contentType?: string }
    | { type: 'slow'; delay: number }
    | { type: 'redirect'; status?: 301 | 302 | 303 | 307 | 308; location?: string }
    | { type: 'content-type'; contentType: string }
    | { type: 'huge'; bytes: number }
  )

/** The kinds of access token the server issues: RFC 9068 JWTs, or random opaque strings. */
export type TokenFormat = 'jwt' | 'opaque'

/**
 * A registered confidential client.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 RFC 6749 §2.3.1 (client passwords)
 * @example
 * ```ts
 * const client = { clientId: 'svc', clientSecret: 's3cret', scopes: ['files:read'], tokenFormat: 'opaque' }
 * ```
 */
export interface LocalClient {
  clientId: string
  clientSecret: string
  /** How it may authenticate. Default: both `client_secret_basic` and `client_secret_post`. */
  authMethods?: readonly AuthMethod[]
  /** Scopes it may be granted. Default: any (or the server's `scopesSupported`). */
  scopes?: readonly string[]
  /** Scopes granted when a token request names none (RFC 6749 §3.3). Default: none. */
  defaultScopes?: readonly string[]
  /** The format of its access tokens. Default: the server's `tokenFormat`. */
  tokenFormat?: TokenFormat
}

/** Options of {@link createLocalAuthorizationServer}. */
export interface LocalAuthorizationServerOptions {
  /** Loopback address to listen on: `127.0.0.1` (default) or `::1`. */
  host?: '127.0.0.1' | '::1'
  /** Port. Default 0 (any free port). */
  port?: number
  /** Path of the issuer, e.g. `/tenant-a` (RFC 8414 §3.1 places metadata accordingly). Default none. */
  path?: string
  /** Algorithm of the generated signing key. Default `RS256`. Ignored when `keys` is given. */
  algorithm?: AsymmetricAlgorithm
  /** Initial keys; the first one signs. Default: one fresh key for `algorithm`. */
  keys?: readonly TestKeyPair[]
  /** Registered clients. Default: `test-client` / `test-secret`. */
  clients?: readonly LocalClient[]
  /** Default format of issued access tokens. Default `jwt`. */
  tokenFormat?: TokenFormat
  /** Lifetime of issued access tokens, in seconds. Default 3600. */
  accessTokenTtl?: number
  /** When given, the only RFC 8707 resources a client may ask for; others are `invalid_target`. */
  resources?: readonly string[]
  /**
   * The audience of tokens requested without a `resource`. Default none: such requests are
   * `invalid_target` for JWTs (RFC 9068 §2.2 requires `aud`) and audience-less opaque tokens.
   */
  defaultResource?: string
  /** Scopes advertised in metadata (`scopes_supported`) and, without client lists, the only ones granted. */
  scopesSupported?: readonly string[]
  /** Clock in milliseconds since the epoch, for `iat`, `exp` and expiry in introspection. */
  now?: () => number
  /**
   * Leaves out the start-up warning that this server is for tests only. Default `false`: the
   * first server a process starts writes one warning (`process.emitWarning`, code
   * `BEARERKIT_TEST_SERVER`) to stderr.
   */
  quiet?: boolean
}

/** The text of the start-up warning (see {@link LocalAuthorizationServerOptions.quiet}). */
export const TEST_SERVER_WARNING =
  '@bearerkit/testing: the local authorization server is for tests only: any registered client ' +
  'can introspect any token, and the Host header is not checked. Pass { quiet: true } to silence this.'

let warned = false

/** Options of {@link LocalAuthorizationServer.issueToken}. */
export interface IssueTokenOptions {
  /** The client the token is issued to. Default: the first registered client. Need not be registered. */
  clientId?: string
  /** `sub`. Default: the client id (RFC 9068 §2.2, for grants without a resource owner). */
  subject?: string
  /** Granted scopes (not checked against the client's). Default none. */
  scopes?: readonly string[] | string
  /** Audience (`aud`). Default: the server's `defaultResource`, if any. */
  audience?: string | readonly string[]
  /** Token format. Default: the client's, else the server's. */
  format?: TokenFormat
  /** Lifetime in seconds (negative for an already expired token). Default: `accessTokenTtl`. */
  expiresIn?: number
  /** Extra claims, in the JWT and in introspection answers. Standard claims win. */
  claims?: Readonly<Record<string, unknown>>
}

/** Options of {@link LocalAuthorizationServer.rotateKeys}. */
export interface RotateKeysOptions {
  /** Keep serving the previous keys in the JWKS. Default true. */
  keepOld?: boolean
  /** The new signing key. Default: a fresh key of `alg`. */
  key?: TestKeyPair
  /** Algorithm of the fresh key. Default: the current signing key's. */
  alg?: AsymmetricAlgorithm
}

/** Request counts per endpoint; `other` counts requests to unknown paths. */
export type RequestCounts = Readonly<Record<EndpointName | 'other', number>>

/**
 * A real OAuth 2.0 authorization server on loopback, for tests and demos. See
 * {@link createLocalAuthorizationServer}.
 */
export interface LocalAuthorizationServer {
  /** `http://127.0.0.1:<port>` plus the configured path. */
  readonly issuer: string
  /** The server's origin, `http://127.0.0.1:<port>`. */
  readonly origin: string
  readonly port: number
  /** RFC 8414 metadata URL. */
  readonly metadataUrl: string
  /** OpenID Connect Discovery URL (serves the same document). */
  readonly openidConfigurationUrl: string
  readonly jwksUri: string
  readonly tokenEndpoint: string
  readonly introspectionEndpoint: string
  readonly revocationEndpoint: string
  /** The metadata document the server serves. */
  readonly metadata: Readonly<AuthorizationServerMetadata>
  /** The key that signs new tokens. */
  readonly signingKey: TestKeyPair
  /** Every key in the JWKS, signing key first. */
  readonly keys: readonly TestKeyPair[]
  /** The registered clients. */
  readonly clients: readonly LocalClient[]
  /** The JWK Set the JWKS endpoint serves. */
  jwks(): { keys: JWK[] }
  /** Mints an access token without HTTP, recorded so introspection and revocation know it. */
  issueToken(options?: IssueTokenOptions): Promise<string>
  /** Revokes a token without HTTP. True when the server knew the token. */
  revokeToken(token: string): boolean
  /** Makes a new signing key; old keys stay in the JWKS unless `keepOld` is false. */
  rotateKeys(options?: RotateKeysOptions): Promise<TestKeyPair>
  /** Switches a fault on for an endpoint, or off with `null`. */
  setFault(endpoint: EndpointName, fault: Fault | null): void
  /** Switches every fault off. */
  clearFaults(): void
  /** Stops listening (clients get ECONNREFUSED) and drops open connections; the port is kept. */
  refuseConnections(): Promise<void>
  /** Listens again on the same port after {@link refuseConnections}. */
  acceptConnections(): Promise<void>
  /** How many requests an endpoint received (faulted ones included) since start or reset. */
  requestCount(endpoint: EndpointName | 'other'): number
  /** A snapshot of every count. */
  readonly counts: RequestCounts
  /** Sets every count to zero. */
  resetCounts(): void
  /** Stops the server and destroys open connections, hanging requests included. */
  close(): Promise<void>
}

interface IssuedToken {
  readonly clientId: string
  readonly subject: string
  readonly scopes: readonly string[]
  readonly audience: readonly string[]
  readonly iat: number | undefined
  readonly exp: number
  readonly jti: string | undefined
  readonly claims: Readonly<Record<string, unknown>>
  revoked: boolean
}

const AUTH_METHODS: readonly AuthMethod[] = ['client_secret_basic', 'client_secret_post']
const DEFAULT_CLIENT: LocalClient = { clientId: 'test-client', clientSecret: 'test-secret' }

function checkScopes(option: string, value: unknown): void {
  if (value !== undefined && !(Array.isArray(value) && value.every(isScopeToken))) {
    throw invalidArgument(option, 'must be an array of scope tokens (RFC 6749 §3.3)')
  }
}

function checkResource(option: string, value: unknown): void {
  if (typeof value !== 'string' || !isResourceIndicator(value)) {
    throw invalidArgument(option, 'must be an absolute URI without a fragment (RFC 8707 §2)')
  }
}

// RFC 8707 §2: a resource is an absolute URI and MUST NOT include a fragment.
function isResourceIndicator(value: string): boolean {
  if (!URL.canParse(value) || value.includes('#')) return false
  return true
}

function checkClients(clients: unknown): LocalClient[] {
  if (!Array.isArray(clients) || clients.length === 0) {
    throw invalidArgument('options.clients', 'must be a non-empty array of clients')
  }
  const ids = new Set<string>()
  return clients.map((client: unknown, i) => {
    const name = `options.clients[${i}]`
    if (typeof client !== 'object' || client === null)
      throw invalidArgument(name, 'must be an object')
    const c = client as LocalClient
    if (typeof c.clientId !== 'string' || c.clientId === '' || c.clientId.includes(':')) {
      throw invalidArgument(`${name}.clientId`, 'must be a non-empty string without ":"')
    }
    if (ids.has(c.clientId)) throw invalidArgument(`${name}.clientId`, 'is registered twice')
    ids.add(c.clientId)
    if (typeof c.clientSecret !== 'string' || c.clientSecret === '') {
      throw invalidArgument(`${name}.clientSecret`, 'must be a non-empty string')
    }
    if (
      c.authMethods !== undefined &&
      !(
        Array.isArray(c.authMethods) &&
        c.authMethods.length > 0 &&
        (c.authMethods as readonly unknown[]).every((m) =>
          (AUTH_METHODS as readonly unknown[]).includes(m),
        )
      )
    ) {
      throw invalidArgument(
        `${name}.authMethods`,
        `must be a non-empty subset of ${AUTH_METHODS.join(', ')}`,
      )
    }
    checkScopes(`${name}.scopes`, c.scopes)
    checkScopes(`${name}.defaultScopes`, c.defaultScopes)
    if (c.tokenFormat !== undefined && c.tokenFormat !== 'jwt' && c.tokenFormat !== 'opaque') {
      throw invalidArgument(`${name}.tokenFormat`, 'must be jwt or opaque')
    }
    return Object.freeze({ ...c })
  })
}

function checkFault(fault: unknown): Fault {
  const f = fault as Fault
  if (typeof fault !== 'object' || fault === null)
    throw invalidArgument('fault', 'must be an object or null')
  if (f.times !== undefined && (!Number.isSafeInteger(f.times) || f.times < 1)) {
    throw invalidArgument('fault.times', 'must be a positive integer')
  }
  switch (f.type) {
    case 'reset':
    case 'hang':
    case 'garbage':
    case 'redirect':
      return { ...f }
    case 'status':
      if (
        f.status !== undefined &&
        (!Number.isSafeInteger(f.status) || f.status < 200 || f.status > 599)
      ) {
        throw invalidArgument('fault.status', 'must be an HTTP status from 200 to 599')
      }
      return { ...f }
    case 'slow':
      if (!Number.isFinite(f.delay) || f.delay < 0) {
        throw invalidArgument('fault.delay', 'must be a number of milliseconds >= 0')
      }
      return { ...f }
    case 'content-type':
      if (typeof f.contentType !== 'string')
        throw invalidArgument('fault.contentType', 'must be a string')
      return { ...f }
    case 'huge':
      if (!Number.isSafeInteger(f.bytes) || f.bytes < 0) {
        throw invalidArgument('fault.bytes', 'must be a number of bytes >= 0')
      }
      return { ...f }
    default:
      throw invalidArgument(
        'fault.type',
        'must be reset, hang, status, garbage, slow, redirect, content-type or huge',
      )
  }
}

/**
 * Starts a real OAuth 2.0 authorization server on loopback (`http://127.0.0.1:<port>`, port 0
 * by default), built on `node:http`, that tests and demos can point verifiers at:
 *
 * - RFC 8414 metadata at `/.well-known/oauth-authorization-server` (and the same document at
 *   `/.well-known/openid-configuration`, for discovery fallbacks);
 * - a JWKS at `/jwks` serving every public key, signing key first;
 * - a token endpoint at `/token`: the `client_credentials` grant (RFC 6749 §4.4) with client
 *   authentication (`client_secret_basic`, `client_secret_post`), `scope`, and RFC 8707
 *   `resource` (which becomes `aud`), issuing RFC 9068 `at+jwt` JWTs or opaque tokens;
 * - RFC 7662 introspection at `/introspect` and RFC 7009 revocation at `/revoke`, both requiring
 *   client authentication (401 `invalid_client` otherwise);
 * - key rotation, per-endpoint faults, request counts and an injectable clock.
 *
 * What it does not do: authorization code, refresh tokens, PKCE, DPoP, JWT client
 * authentication, or any persistence. Everything lives in memory until {@link
 * LocalAuthorizationServer.close}.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the option at fault.
 * @see https://www.rfc-editor.org/rfc/rfc8414 RFC 8414 (metadata)
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4 RFC 6749 §4.4 (client credentials)
 * @see https://www.rfc-editor.org/rfc/rfc8707 RFC 8707 (resource indicators)
 * @see https://www.rfc-editor.org/rfc/rfc9068 RFC 9068 (JWT access tokens)
 * @see https://www.rfc-editor.org/rfc/rfc7662 RFC 7662 (introspection)
 * @see https://www.rfc-editor.org/rfc/rfc7009 RFC 7009 (revocation)
 * @example
 * ```ts
 * const as = await createLocalAuthorizationServer({ defaultResource: 'http://127.0.0.1:3000/mcp' })
 * t.teardown(() => as.close())
 * const token = await as.issueToken({ scopes: ['files:read'] })
 * as.setFault('jwks', { type: 'status', status: 503 })
 * t.equal(as.requestCount('jwks'), 0)
 * ```
 */
export async function createLocalAuthorizationServer(
  options: LocalAuthorizationServerOptions = {},
): Promise<LocalAuthorizationServer> {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument('options', 'must be an object')
  }
  const host = options.host ?? '127.0.0.1'
  if (host !== '127.0.0.1' && host !== '::1') {
    throw invalidArgument('options.host', 'must be 127.0.0.1 or ::1 (loopback only)')
  }
  const requestedPort = options.port ?? 0
  if (!Number.isSafeInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
    throw invalidArgument('options.port', 'must be an integer from 0 to 65535')
  }
  const path = options.path ?? ''
  if (typeof path !== 'string' || (path !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(path))) {
    throw invalidArgument('options.path', 'must be empty or like /tenant-a (no trailing slash)')
  }
  const algorithm = options.algorithm ?? 'RS256'
  if (!isAsymmetricAlgorithm(algorithm)) {
    throw invalidArgument('options.algorithm', `must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
  }
  if (
    options.keys !== undefined &&
    !(
      Array.isArray(options.keys) &&
      options.keys.length > 0 &&
      options.keys.every(
        (k: TestKeyPair) => typeof k === 'object' && k !== null && 'privateKey' in k,
      )
    )
  ) {
    throw invalidArgument('options.keys', 'must be a non-empty array of keys from generateKeyPair')
  }
  const clients = checkClients(options.clients ?? [DEFAULT_CLIENT])
  const defaultFormat = options.tokenFormat ?? 'jwt'
  if (defaultFormat !== 'jwt' && defaultFormat !== 'opaque') {
    throw invalidArgument('options.tokenFormat', 'must be jwt or opaque')
  }
  const ttl = options.accessTokenTtl ?? 3600
  if (!Number.isSafeInteger(ttl) || ttl < 1) {
    throw invalidArgument('options.accessTokenTtl', 'must be a positive integer of seconds')
  }
  if (options.resources !== undefined) {
    if (!Array.isArray(options.resources)) {
      throw invalidArgument('options.resources', 'must be an array of resource URIs')
    }
    options.resources.forEach((r, i) => checkResource(`options.resources[${i}]`, r))
  }
  if (options.defaultResource !== undefined) {
    checkResource('options.defaultResource', options.defaultResource)
  }
  checkScopes('options.scopesSupported', options.scopesSupported)
  const quiet = readBoolean('options.quiet', options.quiet, false)
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidArgument('options.now', 'must be a function returning milliseconds')
  }
  const now = options.now ?? Date.now
  const seconds = (): number => Math.floor(now() / 1000)

  let keys: TestKeyPair[] = options.keys
    ? [...(options.keys as readonly TestKeyPair[])]
    : [await generateKeyPair(algorithm)]
  const tokens = new Map<string, IssuedToken>()
  const faults = new Map<EndpointName, Fault>()
  const timers = new Set<NodeJS.Timeout>()
  const counts = new Map<EndpointName | 'other', number>()

  // Addresses are known only once listening; they are filled in below.
  let origin = ''
  let issuer = ''
  const url = (suffix: string): string => `${origin}${path}${suffix}`
  const paths = new Map<string, EndpointName>([
    [`/.well-known/oauth-authorization-server${path}`, 'metadata'],
    [`${path}/.well-known/openid-configuration`, 'openid-configuration'],
    [`${path}/jwks`, 'jwks'],
    [`${path}/token`, 'token'],
    [`${path}/introspect`, 'introspection'],
    [`${path}/revoke`, 'revocation'],
  ])

  const jwks = (): { keys: JWK[] } => ({ keys: keys.map((k) => ({ ...k.publicJwk })) })

  const metadata = (): AuthorizationServerMetadata => ({
    issuer,
    token_endpoint: url('/token'),
    jwks_uri: url('/jwks'),
    ...(options.scopesSupported === undefined
      ? {}
      : { scopes_supported: [...options.scopesSupported] }),
    // RFC 8414 §2 makes response_types_supported REQUIRED; this server has no authorization
    // endpoint, so the honest list is empty.
    response_types_supported: [],
    // RFC 9207 §3: authorization responses carry iss. This server has no authorization endpoint,
    // so it sends no response without one; clients tested against it see the flag they must
    // honour (and real servers built on @bearerkit/provider set it with handleAuthorizationRequest's
    // `issuer`).
    authorization_response_iss_parameter_supported: true,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: [...AUTH_METHODS],
    introspection_endpoint: url('/introspect'),
    introspection_endpoint_auth_methods_supported: [...AUTH_METHODS],
    revocation_endpoint: url('/revoke'),
    revocation_endpoint_auth_methods_supported: [...AUTH_METHODS],
  })

  const mint = async (
    client: { clientId: string; tokenFormat?: TokenFormat | undefined },
    grant: {
      subject?: string | undefined
      scopes: readonly string[]
      audience: readonly string[]
      format?: TokenFormat | undefined
      expiresIn?: number | undefined
      claims?: Readonly<Record<string, unknown>> | undefined
    },
  ): Promise<string> => {
    const format = grant.format ?? client.tokenFormat ?? defaultFormat
    const iat = seconds()
    const record: IssuedToken = {
      clientId: client.clientId,
      subject: grant.subject ?? client.clientId,
      scopes: [...grant.scopes],
      audience: [...grant.audience],
      iat,
      exp: iat + (grant.expiresIn ?? ttl),
      jti: randomUUID(),
      claims: { ...grant.claims },
      revoked: false,
    }
    let token: string
    if (format === 'opaque') {
      token = randomBytes(32).toString('base64url')
    } else {
      const signer = keys[0] as TestKeyPair
      const unsigned: UnsignedToken = {
        // RFC 9068 §2.1: typ MUST be at+jwt.
        header: { alg: signer.alg, typ: 'at+jwt', kid: signer.kid },
        payload: { ...record.claims, ...standardClaims(record) },
        key: signer,
        now: iat,
      }
      token = await signToken(unsigned)
    }
    tokens.set(tokenCacheKey(token), record)
    return token
  }

  // RFC 9068 §2.2 claims, which are also the RFC 7662 §2.2 introspection members.
  const standardClaims = (record: IssuedToken): Record<string, unknown> => ({
    iss: issuer,
    sub: record.subject,
    ...(record.audience.length === 0
      ? {}
      : { aud: record.audience.length === 1 ? record.audience[0] : [...record.audience] }),
    exp: record.exp,
    ...(record.iat === undefined ? {} : { iat: record.iat }),
    ...(record.jti === undefined ? {} : { jti: record.jti }),
    client_id: record.clientId,
    ...(record.scopes.length === 0 ? {} : { scope: formatScopes(record.scopes) }),
  })

  // The record of a token this server issued, or of a JWT it signed (say, with createToken and
  // its signing key), rebuilt from the verified claims.
  const lookup = async (token: string): Promise<IssuedToken | undefined> => {
    const known = tokens.get(tokenCacheKey(token))
    if (known !== undefined) return known
    if (token.split('.').length !== 3) return undefined
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks()), {
        issuer,
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        currentDate: new Date(now()),
      })
      const audience = normalizeAudience(payload.aud)
      if (
        typeof payload.client_id !== 'string' ||
        typeof payload.exp !== 'number' ||
        audience === false
      ) {
        return undefined
      }
      const { sub, exp, iat, jti, client_id, scope } = payload
      const claims: Record<string, unknown> = { ...payload }
      for (const name of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope']) {
        delete claims[name]
      }
      const record: IssuedToken = {
        clientId: client_id,
        subject: typeof sub === 'string' ? sub : client_id,
        scopes: parseScopes(scope),
        audience: audience ?? [],
        iat: typeof iat === 'number' ? iat : undefined,
        exp,
        jti: typeof jti === 'string' ? jti : undefined,
        claims,
        revoked: false,
      }
      tokens.set(tokenCacheKey(token), record)
      return record
    } catch {
      return undefined
    }
  }

  const authenticate = (
    request: IncomingMessage,
    form: URLSearchParams,
  ): { client: LocalClient } | { error: Reply } => {
    const credentials = readClientCredentials(request.headers.authorization, form)
    // RFC 6749 §5.2: 401 with a WWW-Authenticate matching the scheme the client tried.
    const challenge = { 'www-authenticate': `Basic realm="${issuer}", charset="UTF-8"` }
    if (credentials.method === null) {
      return credentials.status === 400
        ? { error: oauthError(400, 'invalid_request', credentials.reason) }
        : { error: oauthError(401, 'invalid_client', credentials.reason, challenge) }
    }
    const client = clients.find((c) => c.clientId === credentials.clientId)
    const valid =
      client !== undefined &&
      secretsEqual(client.clientSecret, credentials.clientSecret) &&
      (client.authMethods ?? AUTH_METHODS).includes(credentials.method)
    if (!valid || client === undefined) {
      return { error: oauthError(401, 'invalid_client', 'Client authentication failed', challenge) }
    }
    return { client }
  }

  const tokenEndpoint = async (request: IncomingMessage, body: string): Promise<Reply> => {
    const parsed = parseForm(request.headers['content-type'], body, ['resource'])
    if ('error' in parsed) return parsed.error
    const { form } = parsed
    const auth = authenticate(request, form)
    if ('error' in auth) return auth.error
    const { client } = auth
    const grantType = form.get('grant_type')
    if (grantType === null) return oauthError(400, 'invalid_request', 'grant_type is required')
    if (grantType !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'Only client_credentials is supported')
    }
    // RFC 6749 §3.3: scope is a space-delimited list of scope tokens.
    const scopeParam = form.get('scope')
    let scopes: string[]
    if (scopeParam === null) {
      scopes = [...(client.defaultScopes ?? [])]
    } else {
      const requested = scopeParam.split(' ')
      if (!requested.every(isScopeToken)) {
        return oauthError(400, 'invalid_scope', 'The scope parameter is malformed')
      }
      const allowed = client.scopes ?? options.scopesSupported
      if (allowed !== undefined && !requested.every((s) => allowed.includes(s))) {
        return oauthError(400, 'invalid_scope', 'A requested scope is not allowed for this client')
      }
      scopes = [...new Set(requested)]
    }
    // RFC 8707 §2: each resource is an absolute URI without a fragment; unknown ones are refused.
    const resources = form.getAll('resource')
    for (const resource of resources) {
      if (!isResourceIndicator(resource)) {
        return oauthError(400, 'invalid_target', 'A resource is not an absolute URI')
      }
      if (options.resources !== undefined && !options.resources.includes(resource)) {
        return oauthError(400, 'invalid_target', 'A requested resource is not known')
      }
    }
    const audience =
      resources.length > 0
        ? [...new Set(resources)]
        : options.defaultResource === undefined
          ? []
          : [options.defaultResource]
    const format = client.tokenFormat ?? defaultFormat
    if (format === 'jwt' && audience.length === 0) {
      // RFC 9068 §2.2 requires aud in a JWT access token, and §3 takes it from `resource`.
      return oauthError(400, 'invalid_target', 'A resource parameter is required')
    }
    const expiresIn = ttl
    // RFC 9449 §5: a token request with a DPoP proof gets a token bound to the proof's key
    // (cnf.jkt, token_type DPoP); a proof that does not check out is invalid_dpop_proof.
    const proof = request.headers.dpop
    let jkt: string | null = null
    if (proof !== undefined) {
      jkt =
        typeof proof === 'string'
          ? await tokenRequestProofKey(proof, { method: 'POST', url: url('/token'), now: now() })
          : null
      if (jkt === null) return oauthError(400, 'invalid_dpop_proof', 'The DPoP proof is invalid')
    }
    const accessToken = await mint(client, {
      scopes,
      audience,
      format,
      expiresIn,
      ...(jkt === null ? {} : { claims: { cnf: { jkt } } }),
    })
    // RFC 6749 §5.1: successful responses carry no-store and no-cache.
    return jsonReply(
      200,
      {
        access_token: accessToken,
        token_type: jkt === null ? 'Bearer' : 'DPoP',
        expires_in: expiresIn,
        ...(scopes.length === 0 ? {} : { scope: formatScopes(scopes) }),
      },
      { pragma: 'no-cache' },
    )
  }

  const introspectionEndpoint = async (request: IncomingMessage, body: string): Promise<Reply> => {
    const parsed = parseForm(request.headers['content-type'], body)
    if ('error' in parsed) return parsed.error
    const auth = authenticate(request, parsed.form)
    if ('error' in auth) return auth.error
    const token = parsed.form.get('token')
    // RFC 7662 §2.1: token is REQUIRED; token_type_hint is optional and may be ignored.
    if (token === null || token === '')
      return oauthError(400, 'invalid_request', 'token is required')
    const record = await lookup(token)
    const at = seconds()
    // RFC 7662 §2.2: expired, revoked, unknown, or not yet valid tokens are all just inactive.
    const nbf = record?.claims.nbf
    if (
      record === undefined ||
      record.revoked ||
      record.exp <= at ||
      (record.iat !== undefined && record.iat > at) ||
      (typeof nbf === 'number' && nbf > at)
    ) {
      return jsonReply(200, { active: false })
    }
    return jsonReply(200, {
      ...record.claims,
      ...standardClaims(record),
      // RFC 9449 §6.2: a DPoP-bound token is introspected with its type and cnf.jkt.
      token_type:
        typeof (record.claims.cnf as { jkt?: unknown } | undefined)?.jkt === 'string'
          ? 'DPoP'
          : 'Bearer',
      active: true,
    })
  }

  const revocationEndpoint = async (request: IncomingMessage, body: string): Promise<Reply> => {
    const parsed = parseForm(request.headers['content-type'], body)
    if ('error' in parsed) return parsed.error
    const auth = authenticate(request, parsed.form)
    if ('error' in auth) return auth.error
    const token = parsed.form.get('token')
    if (token === null || token === '')
      return oauthError(400, 'invalid_request', 'token is required')
    // RFC 7009 §2.1: a hint the server cannot use is ignored; the search covers every token.
    const record = await lookup(token)
    if (record !== undefined) {
      // RFC 7009 §2.1: the server checks the token was issued to the client asking.
      if (record.clientId !== auth.client.clientId) {
        return oauthError(400, 'invalid_request', 'The token was not issued to this client')
      }
      record.revoked = true
    }
    // RFC 7009 §2.2: 200 whether or not the token was known; the body is ignored by clients.
    return { status: 200, headers: { 'cache-control': 'no-store' }, body: '' }
  }

  const handle = async (endpoint: EndpointName, request: IncomingMessage): Promise<Reply> => {
    // Always set on requests an http.Server receives.
    const method = request.method as string
    switch (endpoint) {
      // RFC 9110 §9.3.2: HEAD is GET without the body, which node:http leaves out by itself.
      case 'metadata':
      case 'openid-configuration':
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed('GET, HEAD')
        return jsonReply(200, metadata(), { 'cache-control': 'no-cache' })
      case 'jwks':
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed('GET, HEAD')
        return jsonReply(200, jwks(), { 'cache-control': 'no-cache' })
      case 'token':
      case 'introspection':
      case 'revocation': {
        // RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1: these endpoints take POST only.
        if (method !== 'POST') return methodNotAllowed('POST')
        let body: string
        try {
          body = await readBody(request)
        } catch (error) {
          return (error as BodyError).tooLarge
            ? oauthError(413, 'invalid_request', 'The request body is too large')
            : oauthError(400, 'invalid_request', 'The request body could not be read')
        }
        if (endpoint === 'token') return tokenEndpoint(request, body)
        if (endpoint === 'introspection') return introspectionEndpoint(request, body)
        return revocationEndpoint(request, body)
      }
    }
  }

  const write = (response: ServerResponse, reply: Reply): void => {
    if (response.destroyed) return
    response.writeHead(reply.status, {
      ...reply.headers,
      'content-length': String(Buffer.byteLength(reply.body)),
    })
    response.end(reply.body)
  }

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
    })

  const takeFault = (endpoint: EndpointName): Fault | undefined => {
    const fault = faults.get(endpoint)
    if (fault?.times !== undefined) {
      if (fault.times <= 1) faults.delete(endpoint)
      else fault.times--
    }
    return fault
  }

  const onRequest = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const target = request.url as string
    const pathname = new URL(target, 'http://localhost').pathname
    const endpoint = paths.get(pathname)
    counts.set(endpoint ?? 'other', (counts.get(endpoint ?? 'other') ?? 0) + 1)
    if (endpoint === undefined) {
      write(response, oauthError(404, 'invalid_request', 'Not found'))
      return
    }
    const fault = takeFault(endpoint)
    let contentType: string | undefined
    switch (fault?.type) {
      case undefined:
        break
      case 'reset':
        request.socket.destroy()
        return
      case 'hang':
        // Never answered: the client's deadline, or close(), ends it.
        return
      case 'status':
        write(response, {
          status: fault.status ?? 500,
          headers: { 'content-type': 'application/json', ...fault.headers },
          body:
            fault.body ??
            JSON.stringify({ error: 'server_error', error_description: 'Injected fault' }),
        })
        return
      case 'garbage':
        write(response, {
          status: 200,
          headers: { 'content-type': fault.contentType ?? 'application/json' },
          body: fault.body ?? '{"keys": [ <html>this is not JSON',
        })
        return
      case 'redirect':
        write(response, {
          status: fault.status ?? 302,
          headers: { location: fault.location ?? `${origin}${target}` },
          body: '',
        })
        return
      case 'huge':
        write(response, {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ padding: 'A'.repeat(fault.bytes) }),
        })
        return
      case 'slow':
        await delay(fault.delay)
        break
      case 'content-type':
        contentType = fault.contentType
        break
    }
    let reply: Reply
    try {
      reply = await handle(endpoint, request)
    } catch {
      reply = oauthError(500, 'server_error', 'The server failed')
    }
    if (contentType !== undefined) reply.headers['content-type'] = contentType
    write(response, reply)
  }

  const server: Server = createServer((request, response) => {
    void onRequest(request, response)
  })

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error)
      server.once('error', onError)
      server.listen(port, host, () => {
        server.off('error', onError)
        resolve()
      })
    })

  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      if (!server.listening) {
        server.closeAllConnections()
        resolve()
        return
      }
      server.close(() => resolve())
      server.closeAllConnections()
    })

  await listen(requestedPort)
  if (!quiet && !warned) {
    warned = true
    process.emitWarning(TEST_SERVER_WARNING, { code: 'BEARERKIT_TEST_SERVER' })
  }
  const port = (server.address() as AddressInfo).port
  origin = host === '::1' ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`
  issuer = `${origin}${path}`
  let closed = false

  const [metadataPath, openidPath] = [...paths.keys()] as [string, string]
  return {
    issuer,
    origin,
    port,
    metadataUrl: `${origin}${metadataPath}`,
    openidConfigurationUrl: `${origin}${openidPath}`,
    jwksUri: url('/jwks'),
    tokenEndpoint: url('/token'),
    introspectionEndpoint: url('/introspect'),
    revocationEndpoint: url('/revoke'),
    get metadata() {
      return metadata()
    },
    get signingKey() {
      return keys[0] as TestKeyPair
    },
    get keys() {
      return [...keys]
    },
    clients: Object.freeze(clients),
    jwks,
    issueToken(issue: IssueTokenOptions = {}) {
      const client = issue.clientId ?? (clients[0] as LocalClient).clientId
      if (typeof client !== 'string' || client === '') {
        throw invalidArgument('options.clientId', 'must be a non-empty string')
      }
      const scopes =
        issue.scopes === undefined
          ? []
          : typeof issue.scopes === 'string'
            ? parseScopes(issue.scopes)
            : [...issue.scopes]
      checkScopes('options.scopes', scopes)
      const audience = normalizeAudience(issue.audience ?? options.defaultResource)
      if (audience === false) {
        throw invalidArgument('options.audience', 'must be a string or an array of strings')
      }
      if (issue.format !== undefined && issue.format !== 'jwt' && issue.format !== 'opaque') {
        throw invalidArgument('options.format', 'must be jwt or opaque')
      }
      if (issue.expiresIn !== undefined && !Number.isFinite(issue.expiresIn)) {
        throw invalidArgument('options.expiresIn', 'must be a number of seconds')
      }
      const registered = clients.find((c) => c.clientId === client)
      return mint(
        { clientId: client, tokenFormat: registered?.tokenFormat },
        {
          subject: issue.subject,
          scopes,
          audience: audience ?? [],
          format: issue.format,
          expiresIn: issue.expiresIn,
          claims: issue.claims,
        },
      )
    },
    revokeToken(token: string) {
      const record = tokens.get(tokenCacheKey(token))
      if (record === undefined) return false
      record.revoked = true
      return true
    },
    async rotateKeys(rotate: RotateKeysOptions = {}) {
      const alg = rotate.alg ?? (keys[0] as TestKeyPair).alg
      if (!isAsymmetricAlgorithm(alg)) {
        throw invalidArgument('options.alg', `must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
      }
      if (
        rotate.key !== undefined &&
        !(typeof rotate.key === 'object' && 'privateKey' in rotate.key)
      ) {
        throw invalidArgument('options.key', 'must be a key from generateKeyPair')
      }
      const key = rotate.key ?? (await generateKeyPair(alg))
      keys = rotate.keepOld === false ? [key] : [key, ...keys.filter((k) => k.kid !== key.kid)]
      return key
    },
    setFault(endpoint: EndpointName, fault: Fault | null) {
      if (!ENDPOINT_NAMES.includes(endpoint)) {
        throw invalidArgument('endpoint', `must be one of ${ENDPOINT_NAMES.join(', ')}`)
      }
      if (fault === null) faults.delete(endpoint)
      else faults.set(endpoint, checkFault(fault))
    },
    clearFaults() {
      faults.clear()
    },
    async refuseConnections() {
      await stop()
    },
    async acceptConnections() {
      if (closed) throw new Error('The local authorization server is closed')
      if (!server.listening) await listen(port)
    },
    requestCount(endpoint: EndpointName | 'other') {
      return counts.get(endpoint) ?? 0
    },
    get counts() {
      const snapshot = Object.fromEntries(
        [...ENDPOINT_NAMES, 'other' as const].map((name) => [name, counts.get(name) ?? 0]),
      )
      return Object.freeze(snapshot) as RequestCounts
    },
    resetCounts() {
      counts.clear()
    },
    async close() {
      closed = true
      await stop()
    },
  }
}
