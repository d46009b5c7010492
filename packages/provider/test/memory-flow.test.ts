import t from 'tap'
import {
  JWT_BEARER_GRANT_TYPE,
  TokenError,
  authenticateClient,
  createMemoryProvider,
  createProviderVerifier,
  handleTokenRequest,
  type MemoryProviderOptions,
  type OAuthClientInformation,
  type OAuthToken,
} from '../src/index.js'
import {
  REDIRECT,
  RESOURCE,
  START,
  authorize,
  codeFlow,
  confidentialClient,
  manualClock,
  pkce,
  publicClient,
} from './fixtures/flow.js'

async function setup(options: MemoryProviderOptions = {}) {
  const clock = manualClock()
  const provider = createMemoryProvider({
    now: clock.now,
    issuer: 'https://as.example.com',
    resources: [RESOURCE],
    ...options,
  })
  const client = confidentialClient()
  await provider.registerClient(client)
  const verifier = createProviderVerifier(provider, { audience: RESOURCE, now: clock.now })
  return { clock, provider, client, verifier }
}

const tokenError = (promise: Promise<unknown>): Promise<TokenError> =>
  promise.then(
    () => {
      throw new Error('expected a TokenError')
    },
    (e: unknown) => e as TokenError,
  )

t.test('code flow with PKCE end to end, verified by createProviderVerifier', async (t) => {
  const { provider, client, verifier, clock } = await setup()
  const { verifier: codeVerifier, challenge } = pkce()
  const { code, location } = await authorize(provider, client, challenge, { scope: 'read' })
  t.equal(location.origin + location.pathname, REDIRECT)
  t.equal(location.searchParams.get('state'), 'st-1')
  // RFC 6749 §10.10: at least 128 bits; these are 256 (43 base64url characters).
  t.match(code, /^[A-Za-z0-9_-]{43}$/)
  const authenticated = await authenticateClient(provider, {
    clientId: 'client-a',
    clientSecret: 'secret-a-0123456789',
    method: 'client_secret_basic',
  })
  const token = await handleTokenRequest(
    provider,
    authenticated,
    { grant_type: 'authorization_code', code, code_verifier: codeVerifier, resource: RESOURCE },
    { now: clock.now },
  )
  t.equal(token.token_type, 'Bearer')
  t.equal(token.expires_in, 3600)
  t.equal(token.scope, 'read')
  t.match(token.access_token, /^[A-Za-z0-9_-]{43}$/)
  t.match(token.refresh_token, /^[A-Za-z0-9_-]{43}$/)
  const accessToken = await verifier.verifyToken(token.access_token)
  t.same(
    accessToken && {
      clientId: accessToken.clientId,
      scopes: accessToken.scopes,
      subject: accessToken.subject,
      issuer: accessToken.issuer,
      resource: accessToken.resource,
      expiresAt: accessToken.expiresAt,
    },
    {
      clientId: 'client-a',
      scopes: ['read'],
      subject: 'user',
      issuer: 'https://as.example.com',
      resource: RESOURCE,
      expiresAt: START / 1000 + 3600,
    },
  )
  // A refresh token is not an access token.
  t.equal(await verifier.verifyToken(token.refresh_token ?? ''), null)
})

t.test(
  'a wrong code_verifier is refused, and the code still works with the right one',
  async (t) => {
    const { provider, client, clock } = await setup()
    const { verifier, challenge } = pkce()
    const { code } = await authorize(provider, client, challenge)
    const error = await tokenError(
      handleTokenRequest(
        provider,
        client,
        { grant_type: 'authorization_code', code, code_verifier: pkce().verifier },
        { now: clock.now },
      ),
    )
    t.equal(error.error, 'invalid_grant')
    t.equal(error.errorDescription, 'The code_verifier does not match the code_challenge')
    const ok = await handleTokenRequest(
      provider,
      client,
      { grant_type: 'authorization_code', code, code_verifier: verifier },
      { now: clock.now },
    )
    t.ok(ok.access_token)
  },
)

t.test('a code is single use; reuse revokes the tokens issued from it', async (t) => {
  const { provider, client, verifier, clock } = await setup()
  const { verifier: codeVerifier, challenge } = pkce()
  const { code } = await authorize(provider, client, challenge)
  const request = { grant_type: 'authorization_code', code, code_verifier: codeVerifier }
  const first = await handleTokenRequest(provider, client, request, { now: clock.now })
  t.not(await verifier.verifyToken(first.access_token), null)
  const error = await tokenError(handleTokenRequest(provider, client, request, { now: clock.now }))
  t.equal(error.error, 'invalid_grant')
  t.equal(error.errorDescription, 'The authorization code is invalid')
  t.equal(await verifier.verifyToken(first.access_token), null, 'access token revoked')
  const refresh = await tokenError(
    handleTokenRequest(
      provider,
      client,
      { grant_type: 'refresh_token', refresh_token: first.refresh_token },
      { now: clock.now },
    ),
  )
  t.equal(refresh.error, 'invalid_grant', 'refresh token revoked')
})

t.test('two concurrent exchanges of one code: exactly one succeeds', async (t) => {
  const { provider, client, clock } = await setup()
  const { verifier, challenge } = pkce()
  const { code } = await authorize(provider, client, challenge)
  const request = { grant_type: 'authorization_code', code, code_verifier: verifier }
  const results = await Promise.allSettled([
    handleTokenRequest(provider, client, request, { now: clock.now }),
    handleTokenRequest(provider, client, request, { now: clock.now }),
  ])
  t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
  const rejected = results.find((r) => r.status === 'rejected')
  t.equal((rejected?.reason as TokenError).error, 'invalid_grant')
})

t.test('an expired code is refused', async (t) => {
  const { provider, client, clock } = await setup({ codeLifetime: 60 })
  const { verifier, challenge } = pkce()
  const { code } = await authorize(provider, client, challenge)
  clock.advance(60)
  const error = await tokenError(
    handleTokenRequest(
      provider,
      client,
      { grant_type: 'authorization_code', code, code_verifier: verifier },
      { now: clock.now },
    ),
  )
  t.equal(error.error, 'invalid_grant')
  t.equal(error.errorDescription, 'The authorization code has expired')
})

t.test("a code is bound to its client: another client's is invalid_grant", async (t) => {
  const { provider, client, clock } = await setup()
  const other = confidentialClient({ client_id: 'client-z' })
  await provider.registerClient(other)
  const { verifier, challenge } = pkce()
  const { code } = await authorize(provider, client, challenge)
  const error = await tokenError(
    handleTokenRequest(
      provider,
      other,
      { grant_type: 'authorization_code', code, code_verifier: verifier },
      { now: clock.now },
    ),
  )
  t.equal(error.error, 'invalid_grant')
  // The rightful client can still use it.
  const ok = await handleTokenRequest(
    provider,
    client,
    { grant_type: 'authorization_code', code, code_verifier: verifier },
    { now: clock.now },
  )
  t.ok(ok.access_token)
})

t.test('redirect_uri must repeat the authorization request when it named one', async (t) => {
  const { provider, client, clock } = await setup()
  const exchange = (code: string, verifier: string, redirect_uri?: string) =>
    handleTokenRequest(
      provider,
      client,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        ...(redirect_uri === undefined ? {} : { redirect_uri }),
      },
      { now: clock.now },
    )
  const a = pkce()
  const explicit = await authorize(provider, client, a.challenge, { redirect_uri: REDIRECT })
  t.equal((await tokenError(exchange(explicit.code, a.verifier))).error, 'invalid_grant', 'missing')
  t.equal(
    (await tokenError(exchange(explicit.code, a.verifier, `${REDIRECT}/x`))).error,
    'invalid_grant',
    'different',
  )
  t.ok((await exchange(explicit.code, a.verifier, REDIRECT)).access_token, 'identical')
  const b = pkce()
  const implicit = await authorize(provider, client, b.challenge)
  t.equal(
    (await tokenError(exchange(implicit.code, b.verifier, 'https://evil.example/cb'))).error,
    'invalid_grant',
    'given anyway, must match',
  )
  t.ok((await exchange(implicit.code, b.verifier)).access_token, 'may be left out')
})

t.test('a token request naming another resource than the code is invalid_target', async (t) => {
  const { provider, client, clock } = await setup()
  const { verifier, challenge } = pkce()
  const { code } = await authorize(provider, client, challenge)
  const error = await tokenError(
    handleTokenRequest(
      provider,
      client,
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        resource: 'https://other.example.com/mcp',
      },
      { now: clock.now },
    ),
  )
  t.equal(error.error, 'invalid_target')
})

t.test('a token without a resource is refused by an audience-checking verifier', async (t) => {
  const { provider, client, verifier, clock } = await setup({ resources: undefined })
  const token = await codeFlow(provider, client, clock.now, { resource: undefined })
  let reason: string | undefined
  t.equal(
    await verifier.verifyToken(token.access_token, { onRefusal: (r) => (reason = r.code) }),
    null,
  )
  t.equal(reason, 'wrong_audience')
  const anyAudience = createProviderVerifier(provider, { audience: null, now: clock.now })
  t.not(await anyAudience.verifyToken(token.access_token), null)
})

t.test('refresh rotates both tokens; the old refresh token dies', async (t) => {
  const { provider, client, verifier, clock } = await setup()
  const first = await codeFlow(provider, client, clock.now)
  clock.advance(10)
  const refresh = (token: string | undefined, scope?: string) =>
    handleTokenRequest(
      provider,
      client,
      {
        grant_type: 'refresh_token',
        refresh_token: token,
        ...(scope === undefined ? {} : { scope }),
      },
      { now: clock.now },
    )
  const second = await refresh(first.refresh_token)
  t.not(second.refresh_token, first.refresh_token)
  t.not(second.access_token, first.access_token)
  t.equal(second.scope, 'read write')
  t.equal(await verifier.verifyToken(first.access_token), null, 'old access token revoked')
  t.equal((await verifier.verifyToken(second.access_token))?.subject, 'user')
  // Narrowing the scope; the next refresh token keeps the original scope (RFC 6749 §6).
  const third = await refresh(second.refresh_token, 'read')
  t.equal(third.scope, 'read')
  t.same((await verifier.verifyToken(third.access_token))?.scopes, ['read'])
  const fourth = await refresh(third.refresh_token, 'write')
  t.equal(fourth.scope, 'write')
  t.equal((await tokenError(refresh(fourth.refresh_token, 'admin'))).error, 'invalid_scope')
  t.equal((await tokenError(refresh(fourth.refresh_token, 'a b'))).error, 'invalid_scope')
  // Replaying a rotated-out refresh token revokes the whole grant (RFC 9700 §4.14.2).
  const replay = await tokenError(refresh(first.refresh_token))
  t.equal(replay.error, 'invalid_grant')
  t.equal(await verifier.verifyToken(fourth.access_token), null, 'grant revoked on replay')
  t.equal((await tokenError(refresh(fourth.refresh_token))).error, 'invalid_grant')
})

t.test('two concurrent refreshes of one token: exactly one succeeds', async (t) => {
  const { provider, client, clock } = await setup()
  const first = await codeFlow(provider, client, clock.now)
  const request = { grant_type: 'refresh_token', refresh_token: first.refresh_token }
  const results = await Promise.allSettled([
    handleTokenRequest(provider, client, request, { now: clock.now }),
    handleTokenRequest(provider, client, request, { now: clock.now }),
  ])
  t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
  const rejected = results.find((r) => r.status === 'rejected')
  t.equal((rejected?.reason as TokenError).error, 'invalid_grant')
})

t.test("refresh: another client's token, a resource change, expiry", async (t) => {
  const { provider, client, clock } = await setup({ refreshTokenLifetime: 100 })
  const other = confidentialClient({ client_id: 'client-z' })
  await provider.registerClient(other)
  const first = await codeFlow(provider, client, clock.now)
  const foreign = await tokenError(
    handleTokenRequest(
      provider,
      other,
      { grant_type: 'refresh_token', refresh_token: first.refresh_token },
      { now: clock.now },
    ),
  )
  t.equal(foreign.error, 'invalid_grant')
  const target = await tokenError(
    handleTokenRequest(
      provider,
      client,
      {
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token,
        resource: 'https://other.example.com',
      },
      { now: clock.now },
    ),
  )
  t.equal(target.error, 'invalid_target')
  // Rotation keeps the grant's absolute lifetime.
  clock.advance(60)
  const second = await handleTokenRequest(
    provider,
    client,
    { grant_type: 'refresh_token', refresh_token: first.refresh_token, resource: RESOURCE },
    { now: clock.now },
  )
  clock.advance(40)
  const expired = await tokenError(
    handleTokenRequest(
      provider,
      client,
      { grant_type: 'refresh_token', refresh_token: second.refresh_token },
      { now: clock.now },
    ),
  )
  t.equal(expired.error, 'invalid_grant')
  t.equal(expired.errorDescription, 'The refresh token has expired')
})

t.test('refresh tokens that never expire (refreshTokenLifetime null)', async (t) => {
  const { provider, client, clock } = await setup({ refreshTokenLifetime: null })
  const first = await codeFlow(provider, client, clock.now)
  clock.advance(10 * 365 * 86_400)
  const record = await provider.loadRefreshToken(client, first.refresh_token ?? '')
  t.equal(record?.expiresAt, undefined)
  const second = await handleTokenRequest(
    provider,
    client,
    { grant_type: 'refresh_token', refresh_token: first.refresh_token },
    { now: clock.now },
  )
  t.ok(second.refresh_token)
})

t.test('access tokens expire by the injected clock', async (t) => {
  const { provider, client, verifier, clock } = await setup({ accessTokenLifetime: 120 })
  const token = await codeFlow(provider, client, clock.now)
  t.equal(token.expires_in, 120)
  clock.advance(119)
  t.not(await verifier.verifyToken(token.access_token), null)
  clock.advance(1)
  t.equal(await verifier.verifyToken(token.access_token), null)
  t.equal(await provider.loadAccessToken(token.access_token), null)
})

t.test('revoking the access token revokes its refresh token too', async (t) => {
  const { provider, client, verifier, clock } = await setup()
  const token = await codeFlow(provider, client, clock.now)
  const other = await codeFlow(provider, client, clock.now)
  const record = await provider.loadAccessToken(token.access_token)
  if (record === null) throw new Error('expected a record')
  await provider.revokeToken(record)
  t.equal(await verifier.verifyToken(token.access_token), null)
  t.equal(await provider.loadRefreshToken(client, token.refresh_token ?? ''), null)
  t.not(await verifier.verifyToken(other.access_token), null, 'other grants untouched')
  // Revoking again, or something unknown, does nothing.
  await provider.revokeToken(record)
  await provider.revokeToken({ token: 'unknown', clientId: 'client-a', scopes: [] })
  await provider.revokeToken({ clientId: 'client-a', scopes: [] })
  t.not(await verifier.verifyToken(other.access_token), null)
})

t.test('revoking the refresh token revokes its access token too', async (t) => {
  const { provider, client, verifier, clock } = await setup()
  const token = await codeFlow(provider, client, clock.now)
  const record = await provider.loadRefreshToken(client, token.refresh_token ?? '')
  if (record === null) throw new Error('expected a record')
  await provider.revokeToken(record)
  t.equal(await verifier.verifyToken(token.access_token), null)
  const error = await tokenError(
    handleTokenRequest(
      provider,
      client,
      { grant_type: 'refresh_token', refresh_token: token.refresh_token },
      { now: clock.now },
    ),
  )
  t.equal(error.error, 'invalid_grant')
})

t.test('a public client completes the flow; no refresh token without that grant', async (t) => {
  const { provider, clock } = await setup()
  const pub = publicClient()
  await provider.registerClient(pub)
  const authenticated = await authenticateClient(provider, { clientId: 'public-b', method: 'none' })
  const token = await codeFlow(provider, authenticated, clock.now)
  t.ok(token.refresh_token, 'grant_types absent: refresh allowed')
  const noRefresh = publicClient({ client_id: 'public-c', grant_types: ['authorization_code'] })
  await provider.registerClient(noRefresh)
  const only = await codeFlow(provider, noRefresh, clock.now)
  t.equal(only.refresh_token, undefined)
  const refused = await tokenError(
    handleTokenRequest(
      provider,
      noRefresh,
      { grant_type: 'refresh_token', refresh_token: token.refresh_token },
      { now: clock.now },
    ),
  )
  t.equal(refused.error, 'unauthorized_client')
})

t.test('authorize: approve decides, scopes and resources are checked', async (t) => {
  const denied = await setup({ approve: () => null })
  const { challenge } = pkce()
  const location = new URL(
    await (
      await import('../src/index.js')
    ).handleAuthorizationRequest(
      denied.provider,
      {
        response_type: 'code',
        client_id: 'client-a',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's',
      },
      { trustRedirectUris: () => true },
    ),
  )
  t.equal(location.searchParams.get('error'), 'access_denied')
  t.equal(location.searchParams.get('state'), 's')
  t.equal(location.searchParams.get('code'), null)

  const asAlice = await setup({ approve: async () => 'alice', scopes: ['read', 'write'] })
  const token = await codeFlow(asAlice.provider, asAlice.client, asAlice.clock.now)
  t.equal((await asAlice.verifier.verifyToken(token.access_token))?.subject, 'alice')
  t.equal(token.scope, 'read write', "the client's registered scope by default")

  const client = asAlice.client
  await t.rejects(
    asAlice.provider.authorize(client, {
      codeChallenge: challenge,
      redirectUri: REDIRECT,
      redirectUriProvidedExplicitly: false,
      scopes: ['admin'],
    }),
    { code: 'ERR_OAUTH_AUTHORIZE', error: 'invalid_scope' },
  )
  await t.rejects(
    asAlice.provider.authorize(client, {
      codeChallenge: challenge,
      redirectUri: REDIRECT,
      redirectUriProvidedExplicitly: false,
      scopes: ['read write'],
    }),
    { code: 'ERR_OAUTH_AUTHORIZE', error: 'invalid_scope', message: /malformed/ },
  )
  await t.rejects(
    asAlice.provider.authorize(client, {
      codeChallenge: challenge,
      redirectUri: REDIRECT,
      redirectUriProvidedExplicitly: false,
      resource: 'https://other.example.com/mcp',
    }),
    { code: 'ERR_OAUTH_AUTHORIZE', error: 'invalid_target' },
  )
  // Resources compare after URL normalization.
  t.match(
    await asAlice.provider.authorize(client, {
      codeChallenge: challenge,
      redirectUri: REDIRECT,
      redirectUriProvidedExplicitly: false,
      resource: 'HTTPS://MCP.EXAMPLE.COM/mcp',
    }),
    /code=/,
  )
  const broken = await setup({ approve: () => '' })
  await t.rejects(
    broken.provider.authorize(client, {
      codeChallenge: challenge,
      redirectUri: REDIRECT,
      redirectUriProvidedExplicitly: false,
    }),
    { name: 'TypeError', message: /approve must answer/ },
  )
  const noScope = await setup()
  const bare: OAuthClientInformation = confidentialClient({ client_id: 'bare', scope: undefined })
  await noScope.provider.registerClient(bare)
  const bareToken = await codeFlow(noScope.provider, bare, noScope.clock.now)
  t.equal(bareToken.scope, '')
})

t.test('stale codes and tokens are swept as new ones are issued', async (t) => {
  const { provider, client, clock } = await setup({
    codeLifetime: 10,
    accessTokenLifetime: 20,
    refreshTokenLifetime: 30,
  })
  const used = await codeFlow(provider, client, clock.now)
  const rotated = await handleTokenRequest(
    provider,
    client,
    { grant_type: 'refresh_token', refresh_token: used.refresh_token },
    { now: clock.now },
  )
  t.ok(rotated.refresh_token)
  await authorize(provider, client, pkce().challenge) // a code never exchanged
  t.same(provider.size, { accessTokens: 1, refreshTokens: 1, codes: 1, clients: 1 })
  clock.advance(31)
  await authorize(provider, client, pkce().challenge)
  t.same(provider.size, { accessTokens: 0, refreshTokens: 0, codes: 1, clients: 1 })
  // The used code and the retired refresh token are forgotten too: presenting them now revokes
  // nothing and is simply invalid.
  const fresh = await codeFlow(provider, client, clock.now)
  t.equal(
    await provider.loadRefreshToken(client, used.refresh_token ?? ''),
    null,
    'retired token forgotten',
  )
  t.not(await provider.loadAccessToken(fresh.access_token), null, 'fresh grant untouched')
})

t.test('identity assertion grant: unsupported without the hook', async (t) => {
  const { provider, client, clock } = await setup()
  const error = await tokenError(
    handleTokenRequest(
      provider,
      confidentialClient({ grant_types: [JWT_BEARER_GRANT_TYPE] }),
      { grant_type: JWT_BEARER_GRANT_TYPE, assertion: 'a.b.c' },
      { now: clock.now },
    ),
  )
  t.equal(error.error, 'unsupported_grant_type')
  t.ok(client)
})

t.test('identity assertion grant through the hook', async (t) => {
  const seen: unknown[] = []
  const { provider, clock, verifier } = await setup({
    scopes: ['read', 'write'],
    identityAssertion: (client, params) => {
      seen.push({ client: client.client_id, params })
      if (params.assertion === 'bad') throw new TokenError('invalid_grant', 'The assertion is bad')
      if (params.assertion === 'elsewhere') {
        return { subject: 'bob', resource: 'https://other.example.com', scopes: ['read'] }
      }
      if (params.assertion === 'admin') {
        return { subject: 'bob', resource: RESOURCE, scopes: ['admin'] }
      }
      if (params.assertion === 'garbage') return { subject: 'bob' } as never
      if (params.assertion === 'stale') {
        return { subject: 'bob', resource: RESOURCE, scopes: [], expiresAt: START / 1000 }
      }
      return { subject: 'bob', resource: RESOURCE, scopes: ['read'], expiresAt: START / 1000 + 60 }
    },
  })
  const idjag = confidentialClient({
    client_id: 'idjag',
    grant_types: [JWT_BEARER_GRANT_TYPE],
  })
  await provider.registerClient(idjag)
  const exchange = (assertion: string, extra: Record<string, string> = {}) =>
    handleTokenRequest(
      provider,
      idjag,
      { grant_type: JWT_BEARER_GRANT_TYPE, assertion, ...extra },
      { now: clock.now },
    )
  const token = await exchange('good', { scope: 'write read', resource: 'https://x.example' })
  t.equal(token.refresh_token, undefined, 'no refresh token (SEP-990)')
  t.equal(token.expires_in, 60, 'bounded by the grant')
  t.equal(token.scope, 'read', 'scopes from the grant, not the request')
  const accessToken = await verifier.verifyToken(token.access_token)
  t.equal(accessToken?.resource, RESOURCE, "restricted to the assertion's resource")
  t.equal(accessToken?.subject, 'bob')
  t.same(seen[0], {
    client: 'idjag',
    params: { assertion: 'good', scopes: ['write', 'read'], resource: 'https://x.example' },
  })
  t.equal((await tokenError(exchange('bad'))).error, 'invalid_grant')
  t.equal((await tokenError(exchange('elsewhere'))).error, 'invalid_target')
  t.equal((await tokenError(exchange('admin'))).error, 'invalid_scope')
  t.equal((await tokenError(exchange('stale'))).errorDescription, 'The assertion has expired')
  t.same(provider.size.accessTokens, 1, 'the stale token was not kept')
  await t.rejects(exchange('garbage'), { name: 'TypeError', message: /identityAssertion must/ })
  t.equal((await tokenError(exchange(''))).error, 'invalid_request')
  // Public clients cannot use the grant.
  const pub = publicClient({ client_id: 'pub-idjag', grant_types: [JWT_BEARER_GRANT_TYPE] })
  await provider.registerClient(pub)
  const error = await tokenError(
    handleTokenRequest(
      provider,
      pub,
      { grant_type: JWT_BEARER_GRANT_TYPE, assertion: 'good' },
      { now: clock.now },
    ),
  )
  t.equal(error.error, 'unauthorized_client')
})

t.test('concurrent double redemption leaves the grant alive (finding 4): code', async (t) => {
  const { provider, client, verifier, clock } = await setup()
  const { verifier: codeVerifier, challenge } = pkce()
  const { code } = await authorize(provider, client, challenge)
  const request = { grant_type: 'authorization_code', code, code_verifier: codeVerifier }
  const results = await Promise.allSettled([
    handleTokenRequest(provider, client, request, { now: clock.now }),
    handleTokenRequest(provider, client, request, { now: clock.now }),
  ])
  t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
  const loser = results.find((r) => r.status === 'rejected')
  t.equal((loser?.reason as TokenError).error, 'invalid_grant')
  const winner = results.find((r) => r.status === 'fulfilled')?.value as OAuthToken
  // The loser was a replay: the winner's tokens die with the grant (RFC 6749 §4.1.2).
  t.equal(await verifier.verifyToken(winner.access_token), null, 'access token revoked')
  const refresh = await tokenError(
    handleTokenRequest(
      provider,
      client,
      { grant_type: 'refresh_token', refresh_token: winner.refresh_token },
      { now: clock.now },
    ),
  )
  t.equal(refresh.error, 'invalid_grant', 'refresh token revoked')
  t.same(provider.size, { accessTokens: 0, refreshTokens: 0, codes: 0, clients: 1 })
  // Three at once: still exactly one winner, and nothing left alive.
  const again = pkce()
  const second = await authorize(provider, client, again.challenge)
  const three = await Promise.allSettled(
    [1, 2, 3].map(() =>
      handleTokenRequest(
        provider,
        client,
        { grant_type: 'authorization_code', code: second.code, code_verifier: again.verifier },
        { now: clock.now },
      ),
    ),
  )
  t.equal(three.filter((r) => r.status === 'fulfilled').length, 1)
  t.equal(provider.size.accessTokens, 0)
})

t.test(
  'concurrent double redemption leaves the grant alive (finding 4): refresh token',
  async (t) => {
    const { provider, client, verifier, clock } = await setup()
    const first = await codeFlow(provider, client, clock.now)
    const request = { grant_type: 'refresh_token', refresh_token: first.refresh_token }
    const results = await Promise.allSettled([
      handleTokenRequest(provider, client, request, { now: clock.now }),
      handleTokenRequest(provider, client, request, { now: clock.now }),
    ])
    t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
    const winner = results.find((r) => r.status === 'fulfilled')?.value as OAuthToken
    t.equal(await verifier.verifyToken(winner.access_token), null, 'access token revoked')
    const next = await tokenError(
      handleTokenRequest(
        provider,
        client,
        { grant_type: 'refresh_token', refresh_token: winner.refresh_token },
        { now: clock.now },
      ),
    )
    t.equal(next.error, 'invalid_grant', 'rotated refresh token revoked')
    t.same(provider.size, { accessTokens: 0, refreshTokens: 0, codes: 0, clients: 1 })
  },
)

t.test(
  'redemption straight on the provider: the loser of two exchanges revokes the grant',
  async (t) => {
    // Both loaded the record before either exchanged it, as two token endpoints would.
    const { provider, client, verifier, clock } = await setup()
    const { challenge } = pkce()
    const { code } = await authorize(provider, client, challenge)
    const record = await provider.loadAuthorizationCode(client, code)
    if (record === null) throw new Error('no record')
    const [a, b] = await Promise.allSettled([
      provider.exchangeAuthorizationCode(client, record),
      provider.exchangeAuthorizationCode(client, record),
    ])
    t.equal(a.status, 'fulfilled')
    t.equal(b.status, 'rejected')
    const won = (a as PromiseFulfilledResult<OAuthToken>).value
    t.equal(await verifier.verifyToken(won.access_token), null)
    // The same for a refresh token.
    const fresh = await codeFlow(provider, client, clock.now)
    const stored = await provider.loadRefreshToken(client, fresh.refresh_token as string)
    if (stored === null) throw new Error('no record')
    const [c, d] = await Promise.allSettled([
      provider.exchangeRefreshToken(client, stored, []),
      provider.exchangeRefreshToken(client, stored, []),
    ])
    t.equal(c.status, 'fulfilled')
    t.equal(d.status, 'rejected')
    t.equal(
      await verifier.verifyToken((c as PromiseFulfilledResult<OAuthToken>).value.access_token),
      null,
    )
    // Another client's code or refresh token is refused without touching the grant.
    const other = confidentialClient({ client_id: 'client-z' })
    await provider.registerClient(other)
    const pending = pkce()
    const theirs = await authorize(provider, client, pending.challenge)
    const theirRecord = await provider.loadAuthorizationCode(client, theirs.code)
    if (theirRecord === null) throw new Error('no record')
    t.equal(
      (await tokenError(provider.exchangeAuthorizationCode(other, theirRecord))).error,
      'invalid_grant',
    )
    t.equal(provider.size.codes, 1, 'the code is still there for its own client')
    const mine = await codeFlow(provider, client, clock.now)
    const mineRecord = await provider.loadRefreshToken(client, mine.refresh_token as string)
    if (mineRecord === null) throw new Error('no record')
    t.equal(
      (await tokenError(provider.exchangeRefreshToken(other, mineRecord, []))).error,
      'invalid_grant',
    )
    t.not(await verifier.verifyToken(mine.access_token), null, 'the grant lives on')
  },
)

t.test('exchangeRefreshToken grants unknown scopes when called directly (finding 9)', async (t) => {
  const { provider, client, verifier, clock } = await setup({ scopes: ['read', 'write'] })
  const first = await codeFlow(provider, client, clock.now, { scope: 'read' })
  const record = await provider.loadRefreshToken(client, first.refresh_token as string)
  if (record === null) throw new Error('no record')
  for (const scopes of [['admin'], ['write'], ['read', 'admin'], 'read' as never]) {
    const error = await tokenError(provider.exchangeRefreshToken(client, record, scopes))
    t.equal(error.error, 'invalid_scope', JSON.stringify(scopes))
  }
  // Refused before anything changed: the refresh token and its access token still work.
  t.not(await verifier.verifyToken(first.access_token), null)
  const ok = await provider.exchangeRefreshToken(client, record, ['read'])
  t.equal(ok.scope, 'read')
})
