// DPoP and certificate-bound tokens through the Hono middleware on @hono/node-server: the shared
// suite over real HTTP and TLS, then the connection reader other runtimes plug in.
import { serve } from '@hono/node-server'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { Hono, type Context } from 'hono'
import t, { type Test } from 'tap'
import {
  clientCertHeader,
  makeIdentities,
  mint,
  runSenderConstraintSuite,
  suiteVerifier,
  x5t,
  type Identity,
} from '../../http/test/fixtures/sender-constraint-suite.js'
import {
  bearerAuth,
  type BearerAuthOptions,
  type BearerEnv,
  type ConnectionInfo,
} from '../src/index.js'

function app(options: BearerAuthOptions): Hono<BearerEnv> {
  const hono = new Hono<BearerEnv>()
  hono.get('/mcp', bearerAuth(options), (c) => c.json({ cnf: c.get('accessToken').cnf ?? null }))
  return hono
}

async function start(
  t: Test,
  options: BearerAuthOptions,
  tls?: Identity,
): Promise<{ port: number }> {
  const server = serve({
    fetch: app(options).fetch,
    hostname: '127.0.0.1',
    port: 0,
    ...(tls === undefined
      ? {}
      : {
          createServer: createHttpsServer,
          serverOptions: { ...tls, requestCert: true, rejectUnauthorized: false },
        }),
  })
  await new Promise<void>((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { port: (server.address() as AddressInfo).port }
}

await runSenderConstraintSuite(t, start)

t.test('another runtime: the connection option says what the socket would', async (t) => {
  const ids = makeIdentities(t)
  const der = (identity: Identity) =>
    new Uint8Array(Buffer.from(clientCertHeader(identity).slice(1, -1), 'base64'))
  const token = await mint({ cnf: { 'x5t#S256': x5t(ids.client) } })
  const request = (connection: BearerAuthOptions['connection']) =>
    app({ verifier: suiteVerifier(t), mtls: true, connection }).request(
      'https://api.example.com/mcp',
      {
        headers: { authorization: `Bearer ${token}` },
      },
    )

  const own = await request(() => ({ clientCertificate: der(ids.client) }))
  t.equal(own.status, 200)
  t.same(await own.json(), { cnf: { 'x5t#S256': x5t(ids.client) } })
  t.equal((await request(() => ({ clientCertificate: der(ids.other) }))).status, 401)
  t.equal((await request(() => undefined)).status, 401, 'no certificate known')
  // Without @hono/node-server there is no socket: the default reader knows nothing.
  t.equal((await request(undefined)).status, 401)
  // Junk members are dropped, not trusted.
  const junk = await request(() => ({
    clientCertificate: x5t(ids.client) as never,
    remoteAddress: 7 as never,
  }))
  t.equal(junk.status, 401)

  // A reader that throws, or answers something that is not an object: 503, never accepted.
  for (const connection of [
    () => {
      throw new Error('socket gone')
    },
    () => 'client',
  ] as ((c: Context) => ConnectionInfo | undefined)[]) {
    const failed = await request(connection)
    t.equal(failed.status, 503)
    t.same(await failed.json(), {
      error: 'temporarily_unavailable',
      error_description: 'The token verifier is unavailable',
    })
    t.equal(failed.headers.get('www-authenticate'), null)
  }

  // The reader's peer address decides whether a Client-Cert header is believed.
  const viaProxy = (remoteAddress: string) =>
    app({
      verifier: suiteVerifier(t),
      mtls: { clientCertHeader: true, trustedProxies: ['10.0.0.2'] },
      connection: () => ({ remoteAddress }),
    }).request('https://api.example.com/mcp', {
      headers: { authorization: `Bearer ${token}`, 'client-cert': clientCertHeader(ids.client) },
    })
  t.equal((await viaProxy('10.0.0.2')).status, 200)
  t.equal((await viaProxy('10.0.0.3')).status, 401)
})

t.test('the connection option is checked up front', async (t) => {
  t.throws(() => bearerAuth({ verifier: suiteVerifier(t), connection: 'socket' as never }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /options\.connection must be a function/,
  })
})
