import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import { activeAnswer, baseOptions, newToken } from './fixtures/common.js'
import { startServer, useNock, type TestServer } from './fixtures/net.js'

const AS = 'https://as.example.com'
const PATH = '/oauth/introspect'

/** A real introspection endpoint on 127.0.0.1 that answers after every request has arrived. */
async function introspectionServer(
  t: Parameters<typeof startServer>[0],
  answer: (token: string) => [number, unknown] = () => [200, activeAnswer()],
): Promise<TestServer> {
  return startServer(t, (request, response) => {
    const token = new URLSearchParams(request.body).get('token') ?? ''
    const [status, body] = answer(token)
    // answer on a later turn so concurrent callers really overlap with the request
    setImmediate(() => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    })
  })
}

t.test('1,000 concurrent first uses of one token make exactly 1 request', async (t) => {
  const server = await introspectionServer(t)
  const verifier = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: `${server.url}/introspect` }),
  )
  const token = newToken()
  const results = await Promise.all(Array.from({ length: 1000 }, () => verifier.verifyToken(token)))
  t.equal(server.requests.length, 1)
  t.equal(results.filter((r) => r?.clientId === 'mcp-client').length, 1000)
  t.equal(new Set(results).size, 1, 'every caller got the same AccessToken')
  await verifier.verifyToken(token)
  t.equal(server.requests.length, 1, 'and later uses hit the cache')
})

t.test('1,000 concurrent distinct tokens make 1,000 requests', async (t) => {
  // nock with a counter: 1,000 simultaneous loopback connections would test the kernel's accept
  // queue rather than the verifier.
  useNock(t)
  const seen: string[] = []
  const scope = nock(AS)
    .post(PATH)
    .times(1000)
    .reply((_uri, body) => {
      const token = new URLSearchParams(body as string).get('token') ?? ''
      seen.push(token)
      return [200, activeAnswer({ client_id: `client-for-${token}` })]
    })
  // a generous deadline: 1,000 intercepted requests on a busy 2-core runner take seconds
  const verifier = createIntrospectionVerifier(baseOptions({ timeout: 60_000 }))
  const tokens = Array.from({ length: 1000 }, () => newToken())
  const results = await Promise.all(tokens.map((token) => verifier.verifyToken(token)))
  t.ok(scope.isDone())
  t.equal(seen.length, 1000)
  t.same(new Set(seen), new Set(tokens))
  t.ok(
    results.every((r, i) => r?.clientId === `client-for-${tokens[i]}` && r.token === tokens[i]),
    'each caller got the answer for its own token',
  )
  t.equal(verifier.size, 1000)
})

t.test(
  'coalescing works without a cache too, and a shared failure reaches every caller',
  async (t) => {
    let status = 500
    const server = await introspectionServer(t, () => [
      status,
      status === 200 ? { active: false } : { error: 'down' },
    ])
    const verifier = createIntrospectionVerifier(
      baseOptions({ introspectionUrl: `${server.url}/introspect`, cache: false }),
    )
    const token = newToken()
    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, () => verifier.verifyToken(token)),
    )
    t.equal(server.requests.length, 1)
    t.ok(
      outcomes.every(
        (o) => o.status === 'rejected' && (o.reason as { reason?: string }).reason === 'status',
      ),
      'all 100 callers see VerifierUnavailableError',
    )
    status = 200
    t.equal(
      await verifier.verifyToken(token),
      null,
      'the failure was not kept; a new request decides',
    )
    t.equal(server.requests.length, 2)
  },
)

t.test('one caller giving up does not cancel the shared introspection', async (t) => {
  const server = await introspectionServer(t)
  const verifier = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: `${server.url}/introspect` }),
  )
  const token = newToken()
  const controller = new AbortController()
  const impatient = verifier.verifyToken(token, { signal: controller.signal })
  const patient = verifier.verifyToken(token, { signal: new AbortController().signal })
  controller.abort(new Error('client went away'))
  t.match(await impatient.catch((e: unknown) => e), { message: 'client went away' })
  t.equal((await patient)?.clientId, 'mcp-client')
  t.equal(server.requests.length, 1)
})

t.test('a caller with a signal still sees a shared failure', async (t) => {
  const server = await introspectionServer(t, () => [503, {}])
  const verifier = createIntrospectionVerifier(
    baseOptions({ introspectionUrl: `${server.url}/introspect` }),
  )
  const error = await verifier
    .verifyToken(newToken(), { signal: new AbortController().signal })
    .catch((e: unknown) => e)
  t.match(error, { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'status' })
  t.equal(server.requests.length, 1)
})
