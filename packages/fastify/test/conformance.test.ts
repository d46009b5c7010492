import t from 'tap'
import {
  conformanceOptions,
  headerRecord,
  runConformance,
  sendOverHttp,
} from '../../http/test/fixtures/conformance.js'
import { bearerAuth } from '../src/index.js'
import { buildApp } from './fixtures/app.js'
import type { Test } from 'tap'

const FORM = 'application/x-www-form-urlencoded'

// The app the conformance table describes, on Fastify.
async function conformanceApp(t: Test) {
  const { app } = buildApp(t)
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  await app.register(bearerAuth, conformanceOptions())
  app.route({
    method: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    url: '/mcp',
    handler: async (request) => ({ ok: true, client: request.accessToken?.clientId }),
  })
  app.get('/admin', { config: { bearer: { scopes: ['admin'] } } }, async (request) => ({
    ok: true,
    client: request.accessToken?.clientId,
  }))
  return app
}

t.test('conformance: Fastify, app.inject', async (t) => {
  const app = await conformanceApp(t)
  await runConformance(t, async (request) => {
    const res = await app.inject({
      method: request.method as 'GET',
      url: request.path,
      headers: headerRecord(request),
      ...(request.body === undefined ? {} : { payload: request.body }),
    })
    return { status: res.statusCode, headers: res.headers, body: res.body }
  })
})

t.test('conformance: Fastify over real HTTP on 127.0.0.1', async (t) => {
  const app = await conformanceApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  await runConformance(t, (request) => sendOverHttp(port, request))
})
