import type { AddressInfo } from 'node:net'
import express, { type Express } from 'express'
import t, { type Test } from 'tap'
import {
  conformanceOptions,
  runConformance,
  sendOverHttp,
} from '../../http/test/fixtures/conformance.js'
import { bearerAuth } from '../src/index.js'

// The app the conformance table describes, on Express. `parser`: express.urlencoded() runs before
// the middleware; without it the middleware reads the form body itself.
function conformanceApp(parser: boolean): Express {
  const auth = bearerAuth(conformanceOptions())
  const app = express()
  if (parser) app.use(express.urlencoded({ extended: false }))
  app.use(auth)
  app.all('/mcp', (req, res) => {
    res.json({ ok: true, client: req.accessToken?.clientId })
  })
  app.get('/admin', auth.require(['admin']), (req, res) => {
    res.json({ ok: true, client: req.accessToken?.clientId })
  })
  return app
}

async function listen(t: Test, app: Express): Promise<number> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

t.test('conformance: Express 5 with express.urlencoded() before the middleware', async (t) => {
  const port = await listen(t, conformanceApp(true))
  await runConformance(t, (request) => sendOverHttp(port, request))
})

t.test('conformance: Express 5, the middleware reads form bodies itself', async (t) => {
  const port = await listen(t, conformanceApp(false))
  await runConformance(t, (request) => sendOverHttp(port, request))
})
