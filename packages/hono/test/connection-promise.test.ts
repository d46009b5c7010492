// Red-team finding: an async `connection` reader. Its promise was read as an object that knows
// no certificate (a bound token was 401 invalid_token, as if the client had erred), and when it
// rejected the rejection went unhandled, which ends a Node process.
import { Hono } from 'hono'
import t from 'tap'
import {
  clientCertHeader,
  makeIdentities,
  mint,
  suiteVerifier,
  x5t,
} from '../../http/test/fixtures/sender-constraint-suite.js'
import { bearerAuth, type BearerAuthOptions, type BearerEnv } from '../src/index.js'

t.test('a connection reader that answers a promise is a 503, never unhandled', async (t) => {
  const ids = makeIdentities(t)
  const der = new Uint8Array(Buffer.from(clientCertHeader(ids.client).slice(1, -1), 'base64'))
  const bound = await mint({ cnf: { 'x5t#S256': x5t(ids.client) } })
  const plain = await mint()
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => {
    process.off('unhandledRejection', onUnhandled)
  })

  const request = (connection: BearerAuthOptions['connection'], token: string) => {
    const app = new Hono<BearerEnv>()
    app.get('/mcp', bearerAuth({ verifier: suiteVerifier(t), mtls: true, connection }), (c) =>
      c.json({ ok: true }),
    )
    return app.request('https://api.example.com/mcp', {
      headers: { authorization: `Bearer ${token}` },
    })
  }
  const readers = [
    (async () => ({ clientCertificate: der })) as unknown as BearerAuthOptions['connection'],
    (async () => {
      throw new Error('socket gone')
    }) as unknown as BearerAuthOptions['connection'],
  ]
  for (const connection of readers) {
    for (const token of [bound, plain]) {
      const answer = await request(connection, token)
      t.equal(answer.status, 503)
      t.same(await answer.json(), {
        error: 'temporarily_unavailable',
        error_description: 'The token verifier is unavailable',
      })
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(unhandled, [], 'no unhandled rejection')
})
