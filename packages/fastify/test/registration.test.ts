import { GATE_OPTION_NAMES } from '@bearerkit/http'
import t from 'tap'
import { bearerAuth } from '../src/index.js'
import type { BearerAuthOptions } from '../src/index.js'
import { ISSUER, RESOURCE, buildApp, standardVerifier } from './fixtures/app.js'

const resource = { url: RESOURCE, authorizationServers: [ISSUER] }

t.test('bad options fail registration with a message naming the option', async (t) => {
  const verifier = standardVerifier()
  const cases: [unknown, string][] = [
    [
      undefined,
      'options.verifier must be a TokenVerifier (an object with verifyToken) or a verifier config object with a type',
    ],
    [
      { verifier: 'jwt' },
      'options.verifier must be a TokenVerifier (an object with verifyToken) or a verifier config object with a type',
    ],
    [
      { verifier: {} },
      'options.verifier must be a TokenVerifier (an object with verifyToken) or a verifier config object with a type',
    ],
    [{ verifier, requiredScope: ['a'] }, 'options.requiredScope is not a known option'],
    [
      { verifier, requiredScopes: 'read' },
      'options.requiredScopes must be an array of scope tokens (RFC 6749 §3.3: no spaces, quotes or backslashes)',
    ],
    [
      { verifier, requiredScopes: ['read write'] },
      'options.requiredScopes must be an array of scope tokens (RFC 6749 §3.3: no spaces, quotes or backslashes)',
    ],
    [
      { verifier, resource: 'https://api.example.com' },
      'options.resource must be an object with url and authorizationServers',
    ],
    [
      { verifier, resource: { ...resource, scopes: [] } },
      'options.resource.scopes is not a known resource field',
    ],
    [
      { verifier, resource: { ...resource, url: 'http://api.example.com/mcp' } },
      'options.resource.url must use https (http is allowed only for loopback hosts)',
    ],
    [
      { verifier, resource: { ...resource, url: 'https://api.example.com/mcp?a=1' } },
      'options.resource.url must not contain a query',
    ],
    [
      { verifier, resource: { ...resource, url: 'https://u:p@api.example.com/mcp' } },
      'options.resource.url must not contain credentials',
    ],
    [
      { verifier, resource: { url: RESOURCE } },
      'options.resource.authorizationServers must be a non-empty array of authorization server issuer URLs',
    ],
    [
      { verifier, resource: { ...resource, authorizationServers: ['not a url'] } },
      'options.resource.authorizationServers[0] must be an absolute URL',
    ],
    [
      { verifier, resource: { ...resource, jwksUri: 'ftp://x' } },
      'options.resource.jwksUri must use https (http is allowed only for loopback hosts)',
    ],
    [
      { verifier, resource: { ...resource, scopesSupported: ['a b'] } },
      'options.resource.scopesSupported must be an array of scope tokens',
    ],
    [
      { verifier, resource: { ...resource, bearerMethodsSupported: ['query'] } },
      'options.resource.bearerMethodsSupported must be ["header"]: tokens are accepted only in the Authorization header',
    ],
    [
      { verifier, resource: { ...resource, resourceName: '' } },
      'options.resource.resourceName must be a non-empty string',
    ],
    [
      { verifier, resource: { ...resource, dpopSigningAlgValuesSupported: [''] } },
      'options.resource.dpopSigningAlgValuesSupported must be an array of non-empty strings',
    ],
    [
      { verifier, resource: { ...resource, dpopBoundAccessTokensRequired: 'yes' } },
      'options.resource.dpopBoundAccessTokensRequired must be a boolean',
    ],
    [
      { verifier, audience: [] },
      'options.audience must be a non-empty string, a non-empty array of them, or null',
    ],
    [
      { verifier, audience: '' },
      'options.audience must be a non-empty string, a non-empty array of them, or null',
    ],
    [
      { verifier, realm: 'caf\u00e9' },
      'options.realm must be a non-empty string of printable ASCII',
    ],
    [{ verifier, realm: 'a\r\nb' }, 'options.realm must be a non-empty string of printable ASCII'],
    [{ verifier, metadata: 'yes' }, 'options.metadata must be a boolean or { allowOrigin }'],
    [
      { verifier, resource, metadata: { origin: '*' } },
      'options.metadata.origin is not a known option',
    ],
    [
      { verifier, resource, metadata: { allowOrigin: 'https://x.example/path' } },
      'options.metadata.allowOrigin must be "*", an origin such as "https://app.example.com", or false',
    ],
    [{ verifier, metadata: true }, 'options.metadata needs options.resource to describe'],
    [
      { verifier, exposeErrorDescription: 'no' },
      'options.exposeErrorDescription must be a boolean',
    ],
    [
      { verifier, retryAfter: 1.5 },
      'options.retryAfter must be a whole number of seconds (0 or more)',
    ],
    [{ verifier, maxTokenLength: 0 }, 'options.maxTokenLength must be a positive whole number'],
    [
      { verifier: { type: 'saml' } },
      'config.type must be one of jwt, introspection, provider, composite (got "saml")',
    ],
  ]
  for (const [options, message] of cases) {
    const { app } = buildApp(t)
    await t.rejects(
      async () => {
        await app.register(bearerAuth, options as BearerAuthOptions)
      },
      { code: 'ERR_INVALID_ARG_VALUE', message },
      message,
    )
  }
})

t.test('the metadata route cannot be served under a prefix', async (t) => {
  const { app } = buildApp(t)
  await t.rejects(
    async () => {
      await app.register(
        async (api) => {
          await api.register(bearerAuth, { verifier: standardVerifier(), resource })
        },
        { prefix: '/mcp' },
      )
    },
    {
      code: 'ERR_INVALID_ARG_VALUE',
      message:
        'options.metadata cannot be served under the prefix "/mcp": set metadata: false and register protectedResourceMetadata at the root of the app',
    },
  )
})

t.test('bad route config fails when the route is declared', async (t) => {
  const cases: [unknown, string][] = [
    ['yes', 'route GET /x config.bearer must be false, true or { scopes: [...] }'],
    [{ scope: ['a'] }, 'route GET /x config.bearer.scope is not a known option'],
    [{ scopes: 'a' }, 'route GET /x config.bearer.scopes must be an array of scope tokens'],
    [{ scopes: ['a b'] }, 'route GET /x config.bearer.scopes must be an array of scope tokens'],
  ]
  for (const [bearer, message] of cases) {
    const { app } = buildApp(t)
    await app.register(bearerAuth, { verifier: standardVerifier() })
    await t.rejects(
      async () => {
        app.get('/x', { config: { bearer: bearer as false } }, async () => 'x')
        await app.ready()
      },
      { code: 'ERR_INVALID_ARG_VALUE', message },
    )
  }
  const { app } = buildApp(t)
  await app.register(bearerAuth, { verifier: standardVerifier() })
  app.route({
    method: ['GET', 'POST'],
    url: '/y',
    config: { bearer: { scopes: ['a'] } },
    handler: async () => 'y',
  })
  await app.ready()
  t.pass('a route with several methods and a good config registers')
})

t.test('every gate option name passes the unknown-option check', async (t) => {
  // The plugin's list is built from the gate's, so an option the gate takes is never refused here.
  t.ok(GATE_OPTION_NAMES.includes('revocations') && GATE_OPTION_NAMES.includes('mtls'))
  for (const name of GATE_OPTION_NAMES) {
    const { app } = buildApp(t)
    // An option set to undefined counts as left out by the gate: only its name is checked here.
    const options = { [name]: undefined, verifier: standardVerifier() }
    await t.resolves(async () => {
      await app.register(bearerAuth, options as BearerAuthOptions).ready()
    }, name)
  }
  // The plugin's options type declares every gate option too (a type error otherwise).
  const declared: readonly (keyof BearerAuthOptions)[] = GATE_OPTION_NAMES
  t.equal(new Set(declared).size, declared.length, 'no name twice')
})
