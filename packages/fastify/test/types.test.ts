// Compiles only if the plugin's declaration merging is in place (checked by
// `npx tsc -p tsconfig.test.json`); the assertions below also run under tap.
import type { AccessToken, PrincipalComponents } from '@bearerkit/core'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t from 'tap'
import bearerAuthDefault, {
  bearerAuth,
  createSessionBinding,
  requireScopes,
  type BearerAuthOptions,
  type BearerRouteConfig,
  type SessionBinding,
} from '../src/index.js'
import { accessToken, standardVerifier } from './fixtures/app.js'

type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function assertType<T extends true>(value: T): T {
  return value
}

assertType<Equals<FastifyRequest['accessToken'], AccessToken | null | undefined>>(true)
assertType<Equals<FastifyRequest['principal'], PrincipalComponents | null | undefined>>(true)
assertType<Equals<BearerRouteConfig, boolean | { readonly scopes?: readonly string[] }>>(true)

const options: BearerAuthOptions = {
  verifier: {
    type: 'jwt',
    issuer: 'https://login.example.com/',
    audience: 'https://api.example.com/mcp',
  },
  requiredScopes: ['read'],
  resource: {
    url: 'https://api.example.com/mcp',
    authorizationServers: ['https://login.example.com/'],
  },
  audience: null,
}
// @ts-expect-error verifier is required
const missing: BearerAuthOptions = { requiredScopes: [] }
const query: BearerAuthOptions['resource'] = {
  url: 'x',
  authorizationServers: [],
  // @ts-expect-error bearer_methods_supported may only name the header
  bearerMethodsSupported: ['query'],
}

// Never called: the route config type is what is under test.
export function badRouteConfig(app: FastifyInstance): void {
  // @ts-expect-error scopes is a list
  app.get('/bad', { config: { bearer: { scopes: 'read' } } }, async () => 'bad')
}

t.test('typed decorations and route config', async (t) => {
  t.equal(bearerAuthDefault, bearerAuth, 'default and named exports are the same plugin')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(bearerAuth, { verifier: standardVerifier() })
  app.get('/', { config: { bearer: { scopes: ['read'] } } }, async (request) => {
    const token: AccessToken | null | undefined = request.accessToken
    const principal: PrincipalComponents | null | undefined = request.principal
    requireScopes(request, ['read'])
    // @ts-expect-error accessToken may be null
    const client: string = request.accessToken.clientId
    return { client: token?.clientId, principal, unused: typeof client }
  })
  app.get('/open', { config: { bearer: false } }, async () => 'open')
  const sessions: SessionBinding = createSessionBinding()
  sessions.bind('s', ['c', null, null])
  t.ok(options && missing !== undefined && query !== undefined)
  t.equal(accessToken('x').token, 'x')
  const res = await app.inject({ url: '/', headers: { authorization: 'Bearer good' } })
  t.same(res.json(), {
    client: 'client-1',
    principal: ['client-1', 'https://login.example.com/', 'alice'],
    unused: 'string',
  })
})
