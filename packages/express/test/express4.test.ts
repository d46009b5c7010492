// Express 4 (the peer range allows ^4.21), installed beside Express 5 under the alias express4:
// the conformance table, a form body next to body-parser 1, and DPoP and mTLS.
import { createRequire } from 'node:module'
import type express from 'express'
import t from 'tap'
import { TOKENS, runConformance, sendOverHttp } from '../../http/test/fixtures/conformance.js'
import { conformanceApp, listen } from './fixtures/conformance-app.js'
import { runExpressSenderConstraint } from './fixtures/sender-constraint.js'

// express4 has no types of its own; Express 5's describe every call made here.
const express4 = createRequire(import.meta.url)('express4') as typeof express
const version = (createRequire(import.meta.url)('express4/package.json') as { version: string })
  .version

t.match(version, /^4\./, 'the alias is Express 4')

t.test('conformance: Express 4 with express.urlencoded() before the middleware', async (t) => {
  const port = await listen(t, conformanceApp(express4, true))
  await runConformance(t, (request) => sendOverHttp(port, request))
})

t.test('conformance: Express 4, the middleware reads form bodies itself', async (t) => {
  const port = await listen(t, conformanceApp(express4, false))
  await runConformance(t, (request) => sendOverHttp(port, request))
})

t.test('Express 4: a JSON parser before the middleware does not hide a form token', async (t) => {
  // body-parser 1 sets req.body = {} on a request it leaves alone; an empty object must not pass
  // for a parsed, empty form.
  const app = express4()
  app.use(express4.json())
  app.use(conformanceApp(express4, false))
  const port = await listen(t, app)
  const answer = await sendOverHttp(port, {
    method: 'POST',
    path: '/mcp',
    headers: [
      ['authorization', `Bearer ${TOKENS.good}`],
      ['content-type', 'application/x-www-form-urlencoded'],
    ],
    body: `access_token=${TOKENS.good}`,
  })
  t.equal(answer.status, 400)
  t.match(JSON.parse(answer.body), { error: 'invalid_request' })
})

await runExpressSenderConstraint(t, express4)
