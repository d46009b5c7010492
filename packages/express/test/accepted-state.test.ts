// Which gate accepted a request is kept on the request under a symbol only the middleware holds:
// route scopes and requireScopes() trust it, nothing a handler sets under a string name stands in
// for it, and it never shows among the request's enumerable keys.
import type { AddressInfo } from 'node:net'
import express from 'express'
import t from 'tap'
import { TOKENS, conformanceOptions, sendOverHttp } from '../../http/test/fixtures/conformance.js'
import { bearerAuth, requireScopes } from '../src/index.js'

const bearer = (token: string): [string, string] => ['authorization', `Bearer ${token}`]

t.test('the accepted state: trusted when set by the middleware only', async (t) => {
  const auth = bearerAuth(conformanceOptions())
  const app = express()
  const keys: string[][] = []
  // An application middleware that sets look-alike state before the route's require().
  app.use('/forge', (req, _res, next) => {
    Object.assign(req, {
      '@bearerkit/express authentication': { gate: auth.gate, result: { kind: 'accepted' } },
    })
    next()
  })
  app.get('/forge', auth.require(['admin']), (_req, res) => {
    res.json({ reached: true })
  })
  app.get('/scoped', (req, res) => {
    if (requireScopes(req, res, ['admin'])) res.json({ reached: true })
  })
  app.get('/mcp', auth, auth.require(['admin']), (req, res) => {
    keys.push(Object.keys(req).filter((key) => key.includes('bearerkit')))
    res.json({ client: req.accessToken?.clientId })
  })
  app.use(
    (error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: error.message })
    },
  )
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const port = (server.address() as AddressInfo).port

  const forged = await sendOverHttp(port, {
    method: 'GET',
    path: '/forge',
    headers: [bearer(TOKENS.forged)],
  })
  t.equal(forged.status, 401, 'the token was verified: refused')
  const scoped = await sendOverHttp(port, {
    method: 'GET',
    path: '/scoped',
    headers: [bearer(TOKENS.admin)],
  })
  t.equal(scoped.status, 500, 'requireScopes refuses a request bearerAuth did not accept')
  t.match(scoped.body, /was not accepted by bearerAuth/)
  const ok = await sendOverHttp(port, {
    method: 'GET',
    path: '/mcp',
    headers: [bearer(TOKENS.admin)],
  })
  t.equal(ok.status, 200)
  t.same(JSON.parse(ok.body), { client: 'client-1' })
  t.same(keys, [[]], 'nothing of ours among the enumerable keys of the request')
})
