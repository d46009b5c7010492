import { createVerifier, verifierConfigFromEnv } from '@bearerkit/core'
import nock from 'nock'
import t from 'tap'
import * as introspection from '../src/index.js'
import { AUDIENCE, ENDPOINT, activeAnswer, newToken } from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

t.test('built from environment variables through core createVerifier', async (t) => {
  useNock(t)
  const config = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'introspection',
    BEARERKIT_INTROSPECTION_URL: ENDPOINT,
    BEARERKIT_ISSUER: 'https://as.example.com',
    BEARERKIT_AUDIENCE: AUDIENCE,
    BEARERKIT_CLIENT_ID: 'rs',
    BEARERKIT_CLIENT_SECRET: 'secret',
    BEARERKIT_CLIENT_AUTH_METHOD: 'client_secret_post',
    BEARERKIT_REQUIRED_SCOPES: 'read,write',
    BEARERKIT_TIMEOUT: '2000',
    BEARERKIT_CACHE_TTL: '30',
    BEARERKIT_CACHE_NEGATIVE_TTL: '0',
  })
  t.ok(config)
  const verifier = await createVerifier(config as NonNullable<typeof config>, {
    load: async () => introspection,
  })
  const seconds = Math.floor(Date.now() / 1000)
  const token = newToken()
  const scope = nock('https://as.example.com')
    .post('/oauth/introspect', {
      token,
      token_type_hint: 'access_token',
      client_id: 'rs',
      client_secret: 'secret',
    })
    .reply(200, activeAnswer({ exp: seconds + 600 }))
  t.equal((await verifier.verifyToken(token))?.clientId, 'mcp-client')
  t.equal((await verifier.verifyToken(token))?.clientId, 'mcp-client', 'cached: one request')
  t.ok(scope.isDone())
  await (verifier as introspection.IntrospectionVerifier).close()
})

t.test('BEARERKIT_CACHE=off reaches the verifier as cache: false', async (t) => {
  useNock(t)
  const config = verifierConfigFromEnv({
    BEARERKIT_VERIFIER: 'introspection',
    BEARERKIT_INTROSPECTION_URL: ENDPOINT,
    BEARERKIT_AUDIENCE: AUDIENCE,
    BEARERKIT_CLIENT_ID: 'rs',
    BEARERKIT_CLIENT_SECRET: 'secret',
    BEARERKIT_CACHE: 'off',
  })
  const verifier = await createVerifier(config as NonNullable<typeof config>, {
    load: async () => introspection,
  })
  const seconds = Math.floor(Date.now() / 1000)
  const scope = nock('https://as.example.com')
    .post('/oauth/introspect')
    .times(2)
    .reply(200, activeAnswer({ exp: seconds + 600, iss: undefined }))
  const token = newToken()
  await verifier.verifyToken(token)
  await verifier.verifyToken(token)
  t.ok(scope.isDone(), 'two requests: no cache')
})

t.test('a config without audience is refused at construction', async (t) => {
  await t.rejects(
    // @ts-expect-error audience is required by the type as well
    createVerifier(
      { type: 'introspection', introspectionUrl: ENDPOINT, clientId: 'rs', clientSecret: 's' },
      { load: async () => introspection },
    ),
    { code: 'ERR_INVALID_ARG_VALUE', message: /^options\.audience / },
  )
})
