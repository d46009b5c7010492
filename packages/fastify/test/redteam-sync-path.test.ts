// Red-team tests of the plugin's callback onRequest hook (gate.authenticateNow): a cache hit is
// decided synchronously, a miss through a promise; both must answer exactly alike, and a hostile
// verifier answer is a 503 that leaves the token out of the log.
import { createCachedVerifier, type AccessToken, type TokenVerifier } from '@bearerkit/core'
import t from 'tap'
import type { Test } from 'tap'
import {
  TOKENS,
  conformanceOptions,
  conformanceVerifier,
} from '../../http/test/fixtures/conformance.js'
import { bearerAuth } from '../src/index.js'
import { buildApp, type LogCapture } from './fixtures/app.js'

const FORM = 'application/x-www-form-urlencoded'

async function app(t: Test, verifier: TokenVerifier) {
  const built = buildApp(t)
  const { app } = built
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  await app.register(bearerAuth, { ...conformanceOptions(), verifier })
  const runs: string[] = []
  app.route({
    method: ['GET', 'POST', 'OPTIONS'],
    url: '/mcp',
    handler: async (request) => {
      runs.push(request.method)
      return { ok: true, client: request.accessToken?.clientId }
    },
  })
  app.get('/admin', { config: { bearer: { scopes: ['admin'] } } }, async (request) => {
    runs.push('admin')
    return { ok: true, client: request.accessToken?.clientId }
  })
  app.get('/open', { config: { bearer: false } }, async () => ({ open: true }))
  return { app, runs, logs: built.logs }
}

interface Probe {
  method: 'GET' | 'POST' | 'OPTIONS'
  url: string
  headers: Record<string, string>
  payload?: string
}

function probes(): Probe[] {
  const auth = [
    undefined,
    '',
    'Bearer',
    `Bearer ${TOKENS.good}`,
    `bearer  ${TOKENS.good}`,
    `Bearer ${TOKENS.good}=`,
    `Bearer ${TOKENS.good}=x`,
    `Bearer ${TOKENS.admin}`,
    `Bearer ${TOKENS.expired}`,
    `Bearer ${TOKENS.elsewhere}`,
    `Bearer ${TOKENS.down}`,
    `Bearer ${TOKENS.broken}`,
    `Bearer ${TOKENS.forged}`,
    `Bearer ${TOKENS.good}, Basic eA==`,
    'Basic YTpi',
    `DPoP ${TOKENS.good}`,
    `Bearer ${'a'.repeat(4097)}`,
  ]
  const list: Probe[] = []
  for (const authorization of auth) {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization }
    for (const url of ['/mcp', '/admin', '/open', '/mcp?access_token=x', '/missing']) {
      list.push({ method: 'GET', url, headers })
    }
    list.push({
      method: 'POST',
      url: '/mcp',
      headers: { ...headers, 'content-type': FORM },
      payload: `access_token=${TOKENS.good}`,
    })
    list.push({
      method: 'POST',
      url: '/mcp',
      headers: { ...headers, 'content-type': FORM },
      payload: 'a=1',
    })
    list.push({
      method: 'OPTIONS',
      url: '/mcp',
      headers: {
        ...headers,
        origin: 'https://app.example.com',
        'access-control-request-method': 'GET',
      },
    })
  }
  return list
}

t.test('differential: synchronous cache hits answer as the promise path does', async (t) => {
  // A: core's cache, answered synchronously on a hit. B: the same cache behind a wrapper that
  // verifyTokenNow cannot see through, so every answer is a promise (the hook as it was).
  const a = await app(t, createCachedVerifier(conformanceVerifier()))
  const hidden = createCachedVerifier(conformanceVerifier())
  const b = await app(t, {
    verifyToken: (token, options) => hidden.verifyToken(token, options),
  })
  const differences: string[] = []
  let compared = 0
  for (let round = 0; round < 3; round++) {
    for (const probe of probes()) {
      const [left, right] = await Promise.all([a.app.inject(probe), b.app.inject(probe)])
      const view = (res: typeof left): string =>
        JSON.stringify({
          status: res.statusCode,
          challenge: res.headers['www-authenticate'],
          retry: res.headers['retry-after'],
          body: res.body,
        })
      if (view(left) !== view(right)) {
        differences.push(
          `#${round} ${JSON.stringify(probe).slice(0, 100)}: ${view(left)} / ${view(right)}`,
        )
      }
      compared++
    }
  }
  t.same(differences, [], `${compared} requests`)
  t.same(a.runs, b.runs, 'the same handlers ran, in the same order')
  const leaked = (logs: LogCapture): string[] =>
    logs.lines.filter((line) => line.includes('sEcReT'))
  t.same(leaked(a.logs), [], 'no token in the log (synchronous path)')
  t.same(leaked(b.logs), [], 'no token in the log (promise path)')
})

t.test('a verifier answer whose then getter throws: 503, no token in the log', async (t) => {
  const verifier: TokenVerifier = {
    verifyToken: () => {
      const answer = {}
      Object.defineProperty(answer, 'then', {
        get() {
          throw new Error(`cannot read the answer for ${TOKENS.good}`)
        },
      })
      return answer as Promise<AccessToken>
    },
  }
  const { app: server, runs, logs } = await app(t, verifier)
  const res = await server.inject({
    method: 'GET',
    url: '/mcp',
    headers: { authorization: `Bearer ${TOKENS.good}` },
  })
  t.equal(res.statusCode, 503)
  t.same(JSON.parse(res.body), {
    error: 'temporarily_unavailable',
    error_description: 'The token verifier is unavailable',
  })
  t.same(runs, [])
  t.same(
    logs.lines.filter((line) => line.includes('sEcReT')),
    [],
  )
})
