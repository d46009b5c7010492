import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { bearerAuth } from '../src/index.js'
import { bearer, buildApp, standardVerifier } from './fixtures/app.js'

// Red-team finding "Preflights still run user hooks unauthenticated": the preflight decision was
// deferred to preValidation so that @fastify/cors could answer first, but without @fastify/cors
// the application's later onRequest and preParsing hooks then ran for an anonymous OPTIONS
// request. A preflight is decided in onRequest unless @fastify/cors is there to answer it.

const PREFLIGHT = { origin: 'https://app.example.com', 'access-control-request-method': 'GET' }

/** Hooks added after the plugin (app-wide and per route), each recording that it ran. */
function addHookedRoute(app: FastifyInstance): string[] {
  const ran: string[] = []
  app.addHook('onRequest', async (request) => {
    ran.push(`app onRequest ${request.method}`)
  })
  app.addHook('preParsing', async (request) => {
    ran.push(`app preParsing ${request.method}`)
  })
  app.route({
    method: ['GET', 'OPTIONS'],
    url: '/admin',
    onRequest: async () => {
      ran.push('route onRequest')
    },
    preParsing: async () => {
      ran.push('route preParsing')
    },
    handler: async (request) => {
      ran.push(`handler ${request.method}`)
      return { secret: 'admin data' }
    },
  })
  return ran
}

t.test('Preflights still run user hooks unauthenticated', async (t) => {
  t.test('without @fastify/cors: refused in onRequest, no later hook runs', async (t) => {
    const { app } = buildApp(t)
    await app.register(bearerAuth, { verifier: standardVerifier(), realm: 'api' })
    const ran = addHookedRoute(app)
    for (const headers of [PREFLIGHT, { 'access-control-request-method': 'DELETE' }]) {
      const res = await app.inject({ method: 'OPTIONS', url: '/admin', headers })
      t.equal(res.statusCode, 401)
      t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
      t.notMatch(res.body, 'admin data')
    }
    t.same(ran, [], 'no hook or handler of the application ran')
    const withToken = await app.inject({
      method: 'OPTIONS',
      url: '/admin',
      headers: { ...PREFLIGHT, ...bearer('good') },
    })
    t.equal(withToken.statusCode, 200, 'with a token the preflight is an ordinary request')
    t.same(ran, [
      'app onRequest OPTIONS',
      'route onRequest',
      'app preParsing OPTIONS',
      'route preParsing',
      'handler OPTIONS',
    ])
  })

  t.test('@fastify/cors registered before bearerAuth answers; no later hook runs', async (t) => {
    const { app } = buildApp(t)
    await app.register(cors, { origin: 'https://app.example.com' })
    await app.register(bearerAuth, { verifier: standardVerifier(), realm: 'api' })
    const ran = addHookedRoute(app)
    const res = await app.inject({ method: 'OPTIONS', url: '/admin', headers: PREFLIGHT })
    t.equal(res.statusCode, 204)
    t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com')
    t.equal(res.body, '')
    t.same(ran, [])
  })

  t.test(
    '@fastify/cors that lets the preflight through: authenticated before the handler',
    async (t) => {
      const { app } = buildApp(t)
      await app.register(cors, { origin: '*', preflightContinue: true })
      await app.register(bearerAuth, { verifier: standardVerifier(), realm: 'api' })
      const ran = addHookedRoute(app)
      const res = await app.inject({ method: 'OPTIONS', url: '/admin', headers: PREFLIGHT })
      t.equal(res.statusCode, 401)
      t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
      t.notOk(ran.includes('handler OPTIONS'), 'the handler never ran')
    },
  )
})
