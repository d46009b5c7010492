// DPoP and certificate-bound tokens through the Express middleware: the shared suite over real
// HTTP and TLS, then what only Express decides ('trust proxy').
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import express from 'express'
import t, { type Test } from 'tap'
import {
  CLIENT_JKT,
  dpopProof,
  mint,
  runSenderConstraintSuite,
  send,
  suiteVerifier,
  type Identity,
} from '../../http/test/fixtures/sender-constraint-suite.js'
import { bearerAuth, type BearerAuthOptions } from '../src/index.js'

async function start(
  t: Test,
  options: BearerAuthOptions,
  tls?: Identity,
  configure?: (app: express.Express) => void,
): Promise<{ port: number }> {
  const app = express()
  configure?.(app)
  app.get('/mcp', bearerAuth(options), (req, res) => {
    res.json({ cnf: req.accessToken?.cnf ?? null })
  })
  const server =
    tls === undefined
      ? app.listen(0, '127.0.0.1')
      : createHttpsServer({ ...tls, requestCert: true, rejectUnauthorized: false }, app).listen(
          0,
          '127.0.0.1',
        )
  await new Promise<void>((resolve) => server.once('listening', resolve))
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return { port: (server.address() as AddressInfo).port }
}

await runSenderConstraintSuite(t, (t, options, tls) => start(t, options, tls))

t.test("'trust proxy' decides whether X-Forwarded-* name the htu origin", async (t) => {
  const bound = await mint({ cnf: { jkt: CLIENT_JKT } })
  const forwarded: [string, string][] = [
    ['x-forwarded-proto', 'https'],
    ['x-forwarded-host', 'api.example.com'],
  ]
  const status = async (port: number, htu: string) =>
    (
      await send(port, {
        headers: [
          ['authorization', `DPoP ${bound}`],
          ['dpop', await dpopProof('GET', htu, bound)],
          ...forwarded,
        ],
      })
    ).status
  const behind = await start(t, { verifier: suiteVerifier(t), dpop: true }, undefined, (app) =>
    app.set('trust proxy', 'loopback'),
  )
  t.equal(await status(behind.port, 'https://api.example.com/mcp'), 200)
  t.equal(await status(behind.port, `http://127.0.0.1:${behind.port}/mcp`), 401)
  const direct = await start(t, { verifier: suiteVerifier(t), dpop: true })
  t.equal(
    await status(direct.port, 'https://api.example.com/mcp'),
    401,
    'without trust proxy a client cannot choose the origin with X-Forwarded-Host',
  )
  t.equal(await status(direct.port, `http://127.0.0.1:${direct.port}/mcp`), 200)
})

t.test('mounted under a prefix: htu names the full path the client called', async (t) => {
  const app = express()
  const router = express.Router()
  router.get('/mcp', bearerAuth({ verifier: suiteVerifier(t), dpop: true }), (_req, res) => {
    res.json({ ok: true })
  })
  app.use('/api', router)
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const port = (server.address() as AddressInfo).port
  const bound = await mint({ cnf: { jkt: CLIENT_JKT } })
  const status = async (htu: string) =>
    (
      await send(port, {
        path: '/api/mcp',
        headers: [
          ['authorization', `DPoP ${bound}`],
          ['dpop', await dpopProof('GET', htu, bound)],
        ],
      })
    ).status
  t.equal(await status(`http://127.0.0.1:${port}/api/mcp`), 200)
  t.equal(await status(`http://127.0.0.1:${port}/mcp`), 401)
})
