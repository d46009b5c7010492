// The client against a real, certified authorization server (oidc-provider) on 127.0.0.1.
import { generateKeyPairSync } from 'node:crypto'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import t from 'tap'
import {
  createAuthorizationRequest,
  createClientIdMetadataDocument,
  discoverAuthorizationServerMetadata,
  exchangeAuthorizationCode,
  followAuthorizationRedirects,
  obtainClient,
  readAuthorizationResponse,
  refreshAccessToken,
  requestClientCredentials,
  type AuthorizationServerMetadata,
} from '../src/index.js'
import { OP_RESOURCE, startOp } from './fixtures/oidc-provider.js'
import { json, loopbackOnly, startServer } from './fixtures/server.js'

loopbackOnly(t)

const REDIRECT = 'http://127.0.0.1:8976/callback'

async function verify(token: string, issuer: string, metadata: AuthorizationServerMetadata) {
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri as string))
  const { payload } = await jwtVerify(token, jwks, { issuer, audience: OP_RESOURCE })
  return payload
}

t.test('discovery, dynamic registration, code + PKCE + RFC 9207, refresh', async (t) => {
  const op = await startOp(t)
  const discovery = await discoverAuthorizationServerMetadata(op.issuer)
  t.equal(discovery.source, 'oauth-authorization-server')
  t.equal(discovery.issuer, op.issuer)
  const { metadata } = discovery
  t.equal(metadata.authorization_response_iss_parameter_supported, true)
  t.ok(metadata.code_challenge_methods_supported?.includes('S256'))

  const obtained = await obtainClient(metadata, {
    clientMetadata: {
      client_name: 'bearerkit client test',
      application_type: 'native',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
  })
  t.equal(obtained.method, 'dynamic')
  t.match(obtained.client, { clientId: String, authMethod: 'none', issuer: op.issuer })

  const pending = createAuthorizationRequest({
    server: metadata,
    clientId: obtained.client.clientId,
    redirectUri: REDIRECT,
    resource: OP_RESOURCE,
    scope: 'mcp:tools',
  })
  t.equal(pending.issRequired, true)
  const callback = await followAuthorizationRedirects(pending.url, { redirectUri: REDIRECT })
  t.equal(callback.searchParams.get('iss'), op.issuer, 'oidc-provider sends iss (RFC 9207)')
  const code = readAuthorizationResponse(pending, callback)
  const context = { server: metadata, client: obtained.client }
  const tokens = await exchangeAuthorizationCode(context, {
    code,
    codeVerifier: pending.codeVerifier,
    redirectUri: REDIRECT,
    resource: OP_RESOURCE,
  })
  t.equal(tokens.tokenType, 'Bearer')
  t.type(tokens.refreshToken, 'string')
  const claims = await verify(tokens.accessToken, op.issuer, metadata)
  t.match(claims, {
    sub: 'alice',
    aud: OP_RESOURCE,
    scope: 'mcp:tools',
    client_id: obtained.client.clientId,
  })

  const refreshed = await refreshAccessToken(context, { tokens })
  t.not(refreshed.accessToken, tokens.accessToken)
  t.match(await verify(refreshed.accessToken, op.issuer, metadata), {
    sub: 'alice',
    aud: OP_RESOURCE,
  })

  // The code is single-use: redeeming it again is the server's invalid_grant, passed on intact;
  // and the server then revokes what the code gave (RFC 6749 §4.1.2), refresh token included.
  await t.rejects(
    exchangeAuthorizationCode(context, {
      code,
      codeVerifier: pending.codeVerifier,
      redirectUri: REDIRECT,
      resource: OP_RESOURCE,
    }),
    { code: 'ERR_OAUTH_ERROR_RESPONSE', status: 400, error: 'invalid_grant' },
  )

  await t.rejects(refreshAccessToken(context, { tokens: refreshed }), {
    code: 'ERR_OAUTH_ERROR_RESPONSE',
    error: 'invalid_grant',
  })

  // A wrong verifier is refused by the server (PKCE is enforced on its side too).
  const second = createAuthorizationRequest({
    server: metadata,
    clientId: obtained.client.clientId,
    redirectUri: REDIRECT,
    resource: OP_RESOURCE,
    scope: 'mcp:tools',
  })
  const secondCode = readAuthorizationResponse(
    second,
    await followAuthorizationRedirects(second.url, { redirectUri: REDIRECT }),
  )
  await t.rejects(
    exchangeAuthorizationCode(context, {
      code: secondCode,
      codeVerifier: pending.codeVerifier,
      redirectUri: REDIRECT,
      resource: OP_RESOURCE,
    }),
    { code: 'ERR_OAUTH_ERROR_RESPONSE', error: 'invalid_grant' },
  )
  t.same(op.serverErrors, [])
})

t.test('a denied authorization: the error with its iss, and no token request', async (t) => {
  const op = await startOp(t)
  const { metadata } = await discoverAuthorizationServerMetadata(op.issuer)
  const { client } = await obtainClient(metadata, {
    clientMetadata: {
      application_type: 'native',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
    },
  })
  op.deny = true
  const pending = createAuthorizationRequest({
    server: metadata,
    clientId: client.clientId,
    redirectUri: REDIRECT,
    resource: OP_RESOURCE,
  })
  const callback = await followAuthorizationRedirects(pending.url, { redirectUri: REDIRECT })
  t.throws(() => readAuthorizationResponse(pending, callback), {
    code: 'ERR_AUTHORIZATION_ERROR',
    errorDescription: 'the user said no',
  })
  // The same response replayed into a request recorded for another issuer is a mix-up.
  t.throws(
    () => readAuthorizationResponse({ ...pending, issuer: 'https://other.example' }, callback),
    { code: 'ERR_ISS_MISMATCH' },
  )
  t.equal(op.count('/token'), 0)
})

t.test(
  'client credentials with a resource, client_secret_basic with RFC 6749 §2.3.1 encoding',
  async (t) => {
    const op = await startOp(t)
    const { metadata } = await discoverAuthorizationServerMetadata(op.issuer)
    const tokens = await requestClientCredentials(
      { server: metadata, client: { ...op.service, issuer: op.issuer } },
      { resource: OP_RESOURCE, scope: 'mcp:tools mcp:admin' },
    )
    t.match(await verify(tokens.accessToken, op.issuer, metadata), {
      aud: OP_RESOURCE,
      client_id: 'service',
      scope: 'mcp:tools mcp:admin',
    })
    await t.rejects(
      requestClientCredentials(
        { server: metadata, client: { ...op.service, clientSecret: 'wrong' } },
        { resource: OP_RESOURCE },
      ),
      { code: 'ERR_OAUTH_ERROR_RESPONSE', status: 401, error: 'invalid_client' },
    )
    await t.rejects(
      requestClientCredentials(
        { server: metadata, client: op.service },
        { resource: 'https://unknown.interop.test/' },
      ),
      { code: 'ERR_OAUTH_ERROR_RESPONSE', status: 400, error: 'invalid_target' },
    )
    t.same(op.serverErrors, [])
  },
)

t.test(
  'dynamic registration with private_key_jwt: the token request is authenticated by the assertion',
  async (t) => {
    const op = await startOp(t)
    const { metadata } = await discoverAuthorizationServerMetadata(op.issuer)
    t.ok(metadata.token_endpoint_auth_methods_supported?.includes('private_key_jwt'))
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const obtained = await obtainClient(metadata, {
      clientMetadata: {
        client_name: 'bearerkit private_key_jwt test',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'svc-1', use: 'sig' }] },
      },
      clientKey: { privateKey },
    })
    t.match(obtained, {
      method: 'dynamic',
      client: { authMethod: 'private_key_jwt', keyId: 'svc-1', issuer: op.issuer },
      registration: { token_endpoint_auth_method: 'private_key_jwt' },
    })
    const { client } = obtained
    const tokens = await requestClientCredentials(
      { server: metadata, client },
      { resource: OP_RESOURCE, scope: 'mcp:tools' },
    )
    t.match(await verify(tokens.accessToken, op.issuer, metadata), {
      aud: OP_RESOURCE,
      client_id: client.clientId,
      scope: 'mcp:tools',
    })
    // The server checks the assertion: signed with another key, or absent (what the client fell
    // back to when registration dropped the key), the request is invalid_client.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    await t.rejects(
      requestClientCredentials(
        { server: metadata, client: { ...client, privateKey: other } },
        { resource: OP_RESOURCE },
      ),
      { code: 'ERR_OAUTH_ERROR_RESPONSE', status: 401, error: 'invalid_client' },
    )
    await t.rejects(
      requestClientCredentials(
        { server: metadata, client: { clientId: client.clientId, issuer: op.issuer } },
        { resource: OP_RESOURCE },
      ),
      { code: 'ERR_OAUTH_ERROR_RESPONSE', status: 401, error: 'invalid_client' },
    )
    t.same(op.serverErrors, [])
  },
)

t.test(
  'a Client ID Metadata Document: oidc-provider fetches it, and the URL is the client id',
  async (t) => {
    const host = 'https://app.interop.test'
    const clientId = `${host}/oauth/client.json`
    const docs = await startServer(t)
    docs.route(
      '/oauth/client.json',
      json(
        createClientIdMetadataDocument({
          clientId,
          clientName: 'bearerkit metadata document test',
          redirectUris: [REDIRECT],
        }),
      ),
    )
    // Served at one URL, naming another: the provider must refuse it (client_id must match).
    const impostor = `${host}/oauth/impostor.json`
    docs.route('/oauth/impostor.json', json({ client_id: clientId, redirect_uris: [REDIRECT] }))
    const op = await startOp(t, OP_RESOURCE, {
      // The client's https host is a loopback server: this fetch stands in for DNS and TLS. The
      // provider's own fetch options are kept, but not its dispatcher, which refuses loopback.
      clientIdMetadataDocuments: (url, init) => {
        const target = new URL(url)
        if (target.origin !== host) return Promise.reject(new Error('not the client host'))
        return fetch(`${docs.origin}${target.pathname}`, {
          method: init.method ?? 'GET',
          headers: init.headers ?? {},
          redirect: init.redirect ?? 'manual',
          signal: init.signal ?? null,
        })
      },
    })
    const { metadata } = await discoverAuthorizationServerMetadata(op.issuer)
    t.equal(metadata.client_id_metadata_document_supported, true)

    // The metadata document comes before dynamic registration (the MCP priority order).
    const obtained = await obtainClient(metadata, {
      clientMetadataUrl: clientId,
      clientMetadata: { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' },
    })
    t.same(obtained, {
      method: 'client-id-metadata-document',
      client: { clientId, authMethod: 'none', issuer: op.issuer },
      registration: undefined,
    })
    const pending = createAuthorizationRequest({
      server: metadata,
      clientId,
      redirectUri: REDIRECT,
      resource: OP_RESOURCE,
      scope: 'mcp:tools',
    })
    const callback = await followAuthorizationRedirects(pending.url, { redirectUri: REDIRECT })
    const code = readAuthorizationResponse(pending, callback)
    const tokens = await exchangeAuthorizationCode(
      { server: metadata, client: obtained.client },
      { code, codeVerifier: pending.codeVerifier, redirectUri: REDIRECT, resource: OP_RESOURCE },
    )
    t.match(await verify(tokens.accessToken, op.issuer, metadata), {
      sub: 'alice',
      aud: OP_RESOURCE,
      scope: 'mcp:tools',
      client_id: clientId,
    })
    const fetched = docs.hits('/oauth/client.json')
    t.ok(fetched.length >= 1, 'the provider fetched the document')
    t.match(fetched[0], { method: 'GET', headers: { accept: 'application/json' } })
    t.equal(
      op.count(new URL(metadata.registration_endpoint as string).pathname),
      0,
      'no registration',
    )

    const refused = createAuthorizationRequest({
      server: metadata,
      clientId: impostor,
      redirectUri: REDIRECT,
      resource: OP_RESOURCE,
    })
    await t.rejects(followAuthorizationRedirects(refused.url, { redirectUri: REDIRECT }), {
      code: 'ERR_UNEXPECTED_STATUS',
      status: 400,
    })
    t.ok(docs.hits('/oauth/impostor.json').length >= 1, 'fetched, then refused')
    t.equal(op.count('/token'), 1)
    t.same(op.serverErrors, [])
  },
)
