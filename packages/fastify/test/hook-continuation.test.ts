// The plugin's onRequest hook decides a cache hit (or any verifier answering at once) without a
// promise, then lets Fastify go on a microtask later, as after an async hook. What comes after it
// must see exactly what it saw before: the decision made, errors of later hooks handled by
// Fastify, the refusal rendered, and nothing run for a refused request.
import { createCachedVerifier, verifyTokenNow, type TokenVerifier } from '@bearerkit/core'
import t from 'tap'
import type { Test } from 'tap'
import {
  TOKENS,
  conformanceOptions,
  conformanceVerifier,
} from '../../http/test/fixtures/conformance.js'
import { bearerAuth } from '../src/index.js'
import { buildApp } from './fixtures/app.js'

async function app(t: Test, verifier: TokenVerifier, later: 'throw' | 'async-throw' | 'read') {
  const { app, logs } = buildApp(t)
  await app.register(bearerAuth, { ...conformanceOptions(), verifier })
  const seen: string[] = []
  if (later === 'throw') {
    app.addHook('onRequest', (_request, _reply, done) => {
      seen.push('later hook')
      done(new Error('later hook failed'))
    })
  } else if (later === 'async-throw') {
    app.addHook('onRequest', async () => {
      seen.push('later hook')
      throw new Error('later hook failed')
    })
  } else {
    app.addHook('onRequest', (request, _reply, done) => {
      seen.push(`later hook: ${request.accessToken?.clientId ?? 'anonymous'}`)
      done()
    })
  }
  app.get('/mcp', async (request) => {
    seen.push('handler')
    return { client: request.accessToken?.clientId }
  })
  return { app, seen, logs }
}

// A cache warmed with the good token: its hit answers at once (no promise).
async function warmCache(): Promise<TokenVerifier> {
  const verifier = createCachedVerifier(conformanceVerifier())
  await verifier.verifyToken(TOKENS.good)
  const answer = verifyTokenNow(verifier, TOKENS.good)
  if (answer === null || typeof (answer as { then?: unknown }).then === 'function') {
    throw new Error('the warmed cache should answer the good token at once')
  }
  return verifier
}

const get = (token: string) => ({
  method: 'GET' as const,
  url: '/mcp',
  headers: { authorization: `Bearer ${token}` },
})

t.test('a hook after the plugin sees the decision, on the synchronous path', async (t) => {
  const { app: server, seen } = await app(t, await warmCache(), 'read')
  const res = await server.inject(get(TOKENS.good))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { client: 'client-1' })
  t.same(seen, ['later hook: client-1', 'handler'])
})

t.test('a refusal decided at once runs nothing after the plugin', async (t) => {
  const { app: server, seen } = await app(t, await warmCache(), 'read')
  const res = await server.inject(get(TOKENS.forged))
  t.equal(res.statusCode, 401)
  t.equal(
    res.headers['www-authenticate'],
    'Bearer realm="api", error="invalid_token", error_description="The signature does not verify", scope="read", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"',
  )
  t.same(seen, [], 'neither the later hook nor the handler ran')
})

for (const later of ['throw', 'async-throw'] as const) {
  t.test(`a later hook that fails (${later}) is Fastify's 500, the app lives on`, async (t) => {
    const { app: server, seen } = await app(t, await warmCache(), later)
    const first = await server.inject(get(TOKENS.good))
    t.equal(first.statusCode, 500)
    t.equal(first.json<{ message: string }>().message, 'later hook failed')
    t.equal(first.headers['www-authenticate'], undefined, 'not rendered as a bearer refusal')
    const second = await server.inject(get(TOKENS.good))
    t.equal(second.statusCode, 500, 'and again: nothing was left half done')
    t.same(seen, ['later hook', 'later hook'])
  })
}

t.test('many requests decided at once in one turn each get their own decision', async (t) => {
  const { app: server, seen } = await app(t, await warmCache(), 'read')
  const tokens = [TOKENS.good, TOKENS.forged, TOKENS.good, TOKENS.expired, TOKENS.good]
  const answers = await Promise.all(tokens.map((token) => server.inject(get(token))))
  t.same(
    answers.map((res) => res.statusCode),
    [200, 401, 200, 401, 200],
  )
  t.equal(seen.filter((entry) => entry === 'later hook: client-1').length, 3)
  t.equal(seen.filter((entry) => entry === 'handler').length, 3)
})
