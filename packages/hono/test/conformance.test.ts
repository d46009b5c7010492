import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import t from 'tap'
import {
  conformanceOptions,
  runConformance,
  sendOverHttp,
  type ConformanceAnswer,
  type ConformanceRequest,
} from '../../http/test/fixtures/conformance.js'
import { bearerAuth, type BearerEnv } from '../src/index.js'

// The app the conformance table describes, on Hono (form bodies are read by the middleware).
function conformanceApp(): Hono<BearerEnv> {
  const auth = bearerAuth(conformanceOptions())
  const app = new Hono<BearerEnv>()
  app.use(auth)
  app.all('/mcp', (c) => c.json({ ok: true, client: c.get('accessToken').clientId }))
  app.get('/admin', auth.require(['admin']), (c) =>
    c.json({ ok: true, client: c.get('accessToken').clientId }),
  )
  return app
}

t.test('conformance: Hono, app.request() (web-standard Request and Response)', async (t) => {
  const app = conformanceApp()
  await runConformance(t, async (request: ConformanceRequest): Promise<ConformanceAnswer> => {
    const headers = new Headers()
    for (const [name, value] of request.headers) headers.append(name, value)
    const response = await app.request(request.path, {
      method: request.method,
      headers,
      ...(request.body === undefined ? {} : { body: request.body }),
    })
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: await response.text(),
    }
  })
})

t.test('conformance: Hono on @hono/node-server over real HTTP', async (t) => {
  const app = conformanceApp()
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  await runConformance(t, (request) => sendOverHttp(port, request))
})
