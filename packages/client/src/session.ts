import {
  formatScopes,
  invalidArgument,
  isOptionsObject,
  parseScopes,
  readFunction,
  readInteger,
  readBoolean,
  readNumber,
  validateUrl,
} from '@bearerkit/core'
import { createAuthorizationRequest, type PendingAuthorization } from './authorization-request.js'
import { readAuthorizationResponse } from './authorization-response.js'
import {
  discoverAuthorizationServerMetadata,
  type AuthorizationServerDiscovery,
} from './authorization-server.js'
import { readBearerChallenge, type BearerChallenge } from './challenge.js'
import { isClientIdMetadataUrl } from './client-id-metadata-document.js'
import {
  readClientInformation,
  type ClientKey,
  type OAuthClientInformation,
} from './client-information.js'
import { OAuthClientError } from './errors.js'
import {
  exchangeAuthorizationCode,
  refreshAccessToken,
  requestClientCredentials,
  requestJwtBearer,
} from './grants.js'
import { awaitedByCaller, callHost } from './lib/callback.js'
import { pickRequestOptions, readRequestOptions } from './lib/options.js'
import { readScope } from './lib/resource.js'
import { discoverProtectedResource, type ProtectedResourceDiscovery } from './protected-resource.js'
import {
  obtainClient,
  readRegistrationKey,
  type ClientRegistrationMetadata,
  type ObtainedClient,
} from './registration.js'
import type { RequestOptions } from './request-options.js'
import type { TokenEndpointContext, TokenSet } from './token-request.js'

/** What the session asks the host for a JWT bearer grant. */
export interface AssertionRequest {
  issuer: string
  resource: string
  scope: string | undefined
}

/**
 * How a session obtains tokens:
 * - `client_credentials`: for the client itself (RFC 6749 §4.4);
 * - `authorization_code`: PKCE S256; `authorize` is the host's interactive step (open a browser
 *   and wait on a loopback listener, or {@link followAuthorizationRedirects} in automated hosts)
 *   and resolves with the callback URL it received;
 * - `jwt_bearer`: `assertion` supplies the JWT to present (RFC 7523), e.g. an ID-JAG.
 */
export type SessionGrant =
  | { type: 'client_credentials' }
  | {
      type: 'authorization_code'
      redirectUri: string
      authorize: (request: PendingAuthorization) => URL | string | Promise<URL | string>
    }
  | { type: 'jwt_bearer'; assertion: (request: AssertionRequest) => string | Promise<string> }

/** Options of {@link createOAuthSession}. */
export interface OAuthSessionOptions extends RequestOptions {
  /** The protected resource (the MCP server URL). */
  resource: string
  grant: SessionGrant
  /** A pre-registered client (first choice). */
  client?: OAuthClientInformation
  /** A Client ID Metadata Document URL (second choice). */
  clientMetadataUrl?: string
  /** Metadata for dynamic registration (third choice). */
  clientMetadata?: ClientRegistrationMetadata
  /** The key of a client registered for `private_key_jwt`, with `clientMetadata`. */
  clientKey?: ClientKey
  /**
   * Scope when no challenge names one. Default: the resource's `scopes_supported`, else none
   * (the MCP scope selection order).
   */
  scope?: string
  /** Re-authorizations allowed for one request before `ERR_STEP_UP_EXHAUSTED`. Default 2. */
  maxStepUps?: number
  /**
   * Deadline of a host callback (`authorize`, `assertion`), in milliseconds. Default 120,000. A
   * callback that calls the session back for a token it does not have yet is refused at once
   * (`ERR_REENTRANT_CALL`) rather than left to this deadline.
   */
  callbackTimeout?: number
  /** Seconds before expiry at which a token counts as expired. Default 30. */
  expirySkew?: number
  /** Take the resource's origin as the issuer when it has no metadata. Default true. */
  legacyFallback?: boolean
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/** What a session has learnt so far; each step's typed result, for diagnostics. */
export interface OAuthSessionState {
  protectedResource: ProtectedResourceDiscovery | undefined
  authorizationServer: AuthorizationServerDiscovery | undefined
  client: ObtainedClient | undefined
  tokens: TokenSet | undefined
}

/** Options of {@link OAuthSession.authorize}. */
export interface AuthorizeOptions {
  /** The `WWW-Authenticate` header of the 401 or 403 that asks for authorization. */
  wwwAuthenticate?: string | null
}

/**
 * A client of one protected resource: it discovers, registers, obtains and refreshes tokens, and
 * steps up when a challenge asks for more scope. See {@link createOAuthSession}.
 */
export interface OAuthSession {
  readonly resource: string
  /** The typed result of every step so far. */
  readonly state: Readonly<OAuthSessionState>
  /** The current access token when it has not expired (with the skew), else `undefined`. */
  currentAccessToken(): string | undefined
  /**
   * A valid token: the current one, a refreshed one, or a new one from the grant. Concurrent
   * callers share one authorization; a host callback of this session that the session is waiting
   * for gets the current token only, else `ERR_REENTRANT_CALL` at once (as from `authorize`).
   */
  getTokens(): Promise<TokenSet>
  /**
   * Authorizes again for a challenge: re-discovers when it names other metadata, and requests the
   * union of the scopes asked so far and the challenge's `scope`.
   */
  authorize(options?: AuthorizeOptions): Promise<TokenSet>
  /**
   * A `fetch` for requests to the resource: it adds the token, and on a 401, or a 403
   * `insufficient_scope`, authorizes and retries, at most `maxStepUps` times per request.
   * Requests to another origin than the resource's are sent as they are: no token, and their
   * challenges are not answered.
   */
  readonly fetch: typeof fetch
}

const OWN = [
  'resource',
  'grant',
  'client',
  'clientMetadataUrl',
  'clientMetadata',
  'clientKey',
  'scope',
  'maxStepUps',
  'callbackTimeout',
  'expirySkew',
  'legacyFallback',
  'now',
]

function readGrant(value: unknown): SessionGrant {
  if (!isOptionsObject(value))
    throw invalidArgument('options.grant', 'must be an object with a type')
  switch (value.type) {
    case 'client_credentials':
      return { type: 'client_credentials' }
    case 'authorization_code': {
      const authorize = readFunction<
        Extract<SessionGrant, { type: 'authorization_code' }>['authorize']
      >('options.grant.authorize', value.authorize)
      if (authorize === undefined)
        throw invalidArgument('options.grant.authorize', 'must be a function')
      return {
        type: 'authorization_code',
        redirectUri: validateUrl('options.grant.redirectUri', value.redirectUri).href,
        authorize,
      }
    }
    case 'jwt_bearer': {
      const assertion = readFunction<Extract<SessionGrant, { type: 'jwt_bearer' }>['assertion']>(
        'options.grant.assertion',
        value.assertion,
      )
      if (assertion === undefined)
        throw invalidArgument('options.grant.assertion', 'must be a function')
      return { type: 'jwt_bearer', assertion }
    }
    default:
      throw invalidArgument(
        'options.grant.type',
        'must be client_credentials, authorization_code or jwt_bearer',
      )
  }
}

/** The origin a `fetch` input points at, or `undefined` for one that is not an absolute URL. */
function originOf(input: string | URL | Request): string | undefined {
  const href = input instanceof URL ? input.href : typeof input === 'string' ? input : input.url
  return URL.canParse(href) ? new URL(href).origin : undefined
}

const isString = (value: unknown): value is string => typeof value === 'string' && value !== ''
const isCallback = (value: unknown): value is URL | string =>
  value instanceof URL || isString(value)

/**
 * Creates a session with one protected resource (an MCP server): the whole client flow of the MCP
 * authorization specification behind one `fetch`. Each step uses this package's functions and
 * keeps its typed result in `state`.
 *
 * Scope: a challenge's `scope` first (united with what was asked before, so a step-up never loses
 * scopes), else `options.scope`, else the resource's `scopes_supported`.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a bad option, at once.
 * @example
 * ```ts
 * const session = createOAuthSession({
 *   resource: 'https://mcp.example.com/mcp',
 *   client: { clientId: 'svc', clientSecret },
 *   grant: { type: 'client_credentials' },
 * })
 * const response = await session.fetch('https://mcp.example.com/mcp', { method: 'POST', body })
 * ```
 */
export function createOAuthSession(options: OAuthSessionOptions): OAuthSession {
  const { request, rest } = readRequestOptions('options', options, OWN)
  const resourceUrl = validateUrl('options.resource', rest.resource)
  const resource = typeof rest.resource === 'string' ? rest.resource : resourceUrl.href
  const grant = readGrant(rest.grant)
  const configuredScope = readScope('options.scope', rest.scope)
  const maxStepUps = readInteger('options.maxStepUps', rest.maxStepUps, 2, 0)
  const callbackTimeout = readNumber('options.callbackTimeout', rest.callbackTimeout, 120_000, 1)
  const expirySkew = readNumber('options.expirySkew', rest.expirySkew, 30, 0)
  const legacyFallback = readBoolean('options.legacyFallback', rest.legacyFallback, true)
  const now = readFunction<() => number>('options.now', rest.now) ?? Date.now
  // The client, metadata URL and registration key are checked now, so that a typo fails at
  // start-up rather than at the first request; the rest of the registration metadata is the
  // server's to judge.
  let preRegistered =
    rest.client === undefined ? undefined : readClientInformation('options.client', rest.client)
  if (rest.clientMetadataUrl !== undefined && !isClientIdMetadataUrl(rest.clientMetadataUrl)) {
    throw invalidArgument('options.clientMetadataUrl', 'must be an https URL with a path (SEP-991)')
  }
  const clientKey = readRegistrationKey(rest.clientMetadata, rest.clientKey)
  const registration = {
    ...(rest.clientMetadataUrl === undefined ? {} : { clientMetadataUrl: rest.clientMetadataUrl }),
    ...(rest.clientMetadata === undefined
      ? {}
      : { clientMetadata: rest.clientMetadata as ClientRegistrationMetadata }),
    ...(clientKey === undefined ? {} : { clientKey }),
  }
  const baseFetch = request.fetch ?? fetch
  const stepOptions = pickRequestOptions(request)

  const state: OAuthSessionState = {
    protectedResource: undefined,
    authorizationServer: undefined,
    client: undefined,
    tokens: undefined,
  }
  let requestedScopes: string[] = []
  let inflight: Promise<TokenSet> | undefined
  // Who this session is to the host callbacks it runs (see `shared`).
  const identity = {}

  const fresh = (tokens: TokenSet | undefined): tokens is TokenSet =>
    tokens !== undefined &&
    (tokens.expiresAt === undefined || tokens.expiresAt - expirySkew > Math.floor(now() / 1000))

  async function discover(
    challenge: BearerChallenge | undefined,
    header: string | null | undefined,
  ): Promise<void> {
    const known = state.protectedResource
    if (
      known !== undefined &&
      (challenge?.resourceMetadata === undefined ||
        challenge.resourceMetadata === known.metadataUrl)
    ) {
      return
    }
    const protectedResource = await discoverProtectedResource(resource, {
      ...stepOptions,
      wwwAuthenticate: header ?? null,
      legacyFallback,
    })
    const issuer = protectedResource.authorizationServers[0] as string
    const authorizationServer = await discoverAuthorizationServerMetadata(issuer, {
      ...stepOptions,
      legacy: protectedResource.source === 'legacy',
    })
    if (state.authorizationServer?.issuer !== authorizationServer.issuer) {
      // Another authorization server: nothing obtained from the previous one carries over.
      state.client = undefined
      state.tokens = undefined
    }
    state.protectedResource = protectedResource
    state.authorizationServer = authorizationServer
  }

  function context(): TokenEndpointContext {
    return {
      ...stepOptions,
      server: (state.authorizationServer as AuthorizationServerDiscovery).metadata,
      client: (state.client as ObtainedClient).client,
      now,
    }
  }

  async function runGrant(scope: string | undefined): Promise<TokenSet> {
    const server = state.authorizationServer as AuthorizationServerDiscovery
    const target = (state.protectedResource as ProtectedResourceDiscovery).resource
    if (state.client === undefined) {
      state.client = await obtainClient(server.metadata, {
        ...stepOptions,
        ...registration,
        ...(preRegistered === undefined ? {} : { client: preRegistered }),
      })
      // A pre-registered client that names no issuer is bound to the first one it is used with:
      // a later challenge that points at another authorization server must not receive its
      // credentials (a resource could otherwise steer them to a server of its choosing).
      if (state.client.method === 'pre-registered' && preRegistered?.issuer === undefined) {
        preRegistered = readClientInformation('options.client', {
          ...preRegistered,
          issuer: server.issuer,
        })
      }
    }
    const ctx = context()
    switch (grant.type) {
      case 'client_credentials':
        return requestClientCredentials(ctx, {
          resource: target,
          ...(scope === undefined ? {} : { scope }),
        })
      case 'jwt_bearer': {
        const assertion = await callHost(
          'The assertion callback',
          callbackTimeout,
          () => grant.assertion({ issuer: server.issuer, resource: target, scope }),
          isString,
          identity,
        )
        return requestJwtBearer(ctx, {
          assertion,
          resource: target,
          ...(scope === undefined ? {} : { scope }),
        })
      }
      case 'authorization_code': {
        const pending = createAuthorizationRequest({
          server: server.metadata,
          clientId: ctx.client.clientId,
          redirectUri: grant.redirectUri,
          resource: target,
          ...(scope === undefined ? {} : { scope }),
        })
        const callback = await callHost(
          'The authorize callback',
          callbackTimeout,
          () => grant.authorize(pending),
          isCallback,
          identity,
        )
        // Any failure here (state, iss, error) discards the code: no token request is made.
        const code = readAuthorizationResponse(pending, callback)
        return exchangeAuthorizationCode(ctx, {
          code,
          codeVerifier: pending.codeVerifier,
          redirectUri: pending.redirectUri,
          resource: target,
        })
      }
    }
  }

  async function obtain(header: string | null | undefined, refresh: boolean): Promise<TokenSet> {
    const challenge = readBearerChallenge(header)
    await discover(challenge, header)
    if (challenge?.scope !== undefined) {
      requestedScopes = [...new Set([...requestedScopes, ...challenge.scopes])]
    } else if (requestedScopes.length === 0) {
      requestedScopes = parseScopes(
        configuredScope ?? state.protectedResource?.scopesSupported?.join(' ') ?? '',
      )
    }
    const scope = requestedScopes.length === 0 ? undefined : formatScopes(requestedScopes)
    const previous = state.tokens
    let tokens: TokenSet | undefined
    // A refresh cannot widen the scope (RFC 6749 §6), so it is only tried for an expired token.
    if (refresh && previous?.refreshToken !== undefined) {
      tokens = await refreshAccessToken(context(), { tokens: previous }).catch(() => undefined)
    }
    tokens ??= await runGrant(scope)
    state.tokens = tokens
    return tokens
  }

  function shared(work: () => Promise<TokenSet>): Promise<TokenSet> {
    // A host callback of this session that asks it for a token it has not got yet would wait for
    // the authorization that is waiting for the callback: neither could ever answer, and only the
    // callback deadline would end it. Such a call is refused at once; concurrent callers elsewhere
    // still share the authorization in progress.
    if (awaitedByCaller(identity)) {
      return Promise.reject(
        new OAuthClientError(
          'ERR_REENTRANT_CALL',
          'A host callback called the session for a token while the session waits for that callback: the token cannot exist before the callback answers',
        ),
      )
    }
    if (inflight !== undefined) return inflight
    const started = work().finally(() => {
      inflight = undefined
    })
    inflight = started
    return started
  }

  async function getTokens(): Promise<TokenSet> {
    if (fresh(state.tokens)) return state.tokens
    return shared(() => obtain(undefined, true))
  }

  async function authorize(authorizeOptions: AuthorizeOptions = {}): Promise<TokenSet> {
    const header = authorizeOptions.wwwAuthenticate
    if (header !== undefined && header !== null && typeof header !== 'string') {
      throw invalidArgument('options.wwwAuthenticate', 'must be a string or null')
    }
    return shared(() => obtain(header, false))
  }

  const sessionFetch = async (
    input: string | URL | Request,
    init: RequestInit = {},
  ): Promise<Response> => {
    // Only requests to the resource's origin get its token and have their challenges answered.
    // Anywhere else the token would leak, and a challenge naming metadata for this resource
    // could steer the session to another authorization server (RFC 9728 §3.3: metadata from a
    // challenge is only good for the URL the request went to).
    if (originOf(input) !== resourceUrl.origin) return baseFetch(input, init)
    const replayable =
      init.body === undefined || init.body === null || typeof init.body === 'string'
    const send = (token: string | undefined): Promise<Response> => {
      const headers = new Headers(init.headers)
      if (token === undefined) headers.delete('authorization')
      else headers.set('authorization', `Bearer ${token}`)
      return baseFetch(input, { ...init, headers })
    }
    let token = state.tokens === undefined ? undefined : (await getTokens()).accessToken
    let response = await send(token)
    let authorizations = 0
    let caughtUp = false
    for (;;) {
      const header = response.headers.get('www-authenticate')
      const wantsMore =
        response.status === 401 ||
        (response.status === 403 && readBearerChallenge(header)?.error === 'insufficient_scope')
      if (!wantsMore || !replayable) return response
      await response.body?.cancel().catch(() => undefined)
      // Another call of this session may have authorized while this request was out (two
      // requests refused for one expired token, the second answered after the first's
      // authorization ended): its token is tried once before authorizing again, which for the
      // code grant would ask the user a second time.
      const current = fresh(state.tokens) ? state.tokens.accessToken : undefined
      if (!caughtUp && current !== undefined && current !== token) {
        caughtUp = true
        token = current
      } else {
        if (authorizations >= maxStepUps) {
          throw new OAuthClientError(
            'ERR_STEP_UP_EXHAUSTED',
            `The resource still answered ${response.status} after ${maxStepUps} authorizations`,
            { status: response.status },
          )
        }
        authorizations++
        token = (await authorize({ wwwAuthenticate: header })).accessToken
      }
      response = await send(token)
    }
  }

  return Object.freeze({
    resource,
    state,
    currentAccessToken: () => (fresh(state.tokens) ? state.tokens.accessToken : undefined),
    getTokens,
    authorize,
    fetch: sessionFetch,
  })
}
