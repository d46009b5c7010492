import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { createForwardAuthServer, type ForwardAuthOptions } from '../src/index.js'
import {
  METADATA_PATH,
  TOKENS,
  conformanceOptions,
  runConformance,
  sendOverHttp,
  type ConformanceAnswer,
  type ConformanceRequest,
} from './fixtures/conformance.js'

async function start(t: Test, options: ForwardAuthOptions): Promise<number> {
  const server = createForwardAuthServer(options)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

/**
 * A proxy in front of the upstream of the conformance table, as Traefik's forwardAuth behaves:
 * the well-known path is routed to the auth server itself; every other request is asked about
 * with X-Forwarded-Method/Proto/Host/Uri and the client's headers (and body: `forwardBody`), a
 * 2xx lets the upstream answer, anything else is passed to the client as the auth server gave it.
 * `/admin` is the route whose forwardAuth address carries `?scope=admin`.
 */
function traefik(port: number) {
  return async (request: ConformanceRequest): Promise<ConformanceAnswer> => {
    if (request.path.startsWith(METADATA_PATH)) return sendOverHttp(port, request)
    const answer = await sendOverHttp(port, {
      method: 'GET',
      path: request.path.startsWith('/admin') ? '/verify?scope=admin' : '/verify',
      headers: [
        ...request.headers,
        ['x-forwarded-method', request.method],
        ['x-forwarded-proto', 'https'],
        ['x-forwarded-host', 'api.example.com'],
        ['x-forwarded-uri', request.path],
      ],
      ...(request.body === undefined ? {} : { body: request.body }),
    })
    if (answer.status !== 200) return answer
    const client = answer.headers['x-bearer-client-id']
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: request.method === 'HEAD' ? '' : JSON.stringify({ ok: true, client }),
    }
  }
}

t.test('conformance: forward-auth behind a Traefik-like proxy (body forwarded)', async (t) => {
  const port = await start(t, conformanceOptions())
  await runConformance(t, traefik(port))
})

t.test('conformance: forward-auth behind an nginx-like proxy (X-Original-*)', async (t) => {
  const port = await start(t, conformanceOptions())
  await runConformance(t, async (request) => {
    if (request.path.startsWith(METADATA_PATH)) return sendOverHttp(port, request)
    const answer = await sendOverHttp(port, {
      method: 'GET',
      path: request.path.startsWith('/admin') ? '/auth?scope=admin' : '/auth',
      headers: [
        ...request.headers,
        ['x-original-method', request.method],
        ['x-original-uri', request.path],
      ],
      ...(request.body === undefined ? {} : { body: request.body }),
    })
    if (answer.status !== 200) return answer
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body:
        request.method === 'HEAD'
          ? ''
          : JSON.stringify({ ok: true, client: answer.headers['x-bearer-client-id'] }),
    }
  })
})

t.test('a valid token: 200, identity headers, no body', async (t) => {
  const port = await start(t, conformanceOptions())
  const answer = await sendOverHttp(port, {
    method: 'GET',
    path: '/auth',
    headers: [
      ['authorization', `Bearer ${TOKENS.admin}`],
      ['x-original-method', 'POST'],
      ['x-original-uri', '/mcp?x=1'],
    ],
  })
  t.equal(answer.status, 200)
  t.equal(answer.headers['x-bearer-client-id'], 'client-1')
  t.equal(answer.headers['x-bearer-subject'], 'alice')
  t.equal(answer.headers['x-bearer-issuer'], 'https://login.example.com/')
  t.equal(answer.headers['x-bearer-scopes'], 'read admin')
  t.equal(answer.headers['cache-control'], 'no-store')
  t.equal(answer.body, '')
})
