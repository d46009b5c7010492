// Red-team finding: a Host or X-Forwarded-* value that is not a plain host (or scheme) moved the
// path the DPoP htu check saw. `X-Forwarded-Host: api.example.com/other#` made a request for /mcp
// read as `https://api.example.com/other#/mcp`, so a proof made for /other passed on /mcp.
import Fastify from 'fastify'
import t from 'tap'
import {
  CLIENT_JKT,
  dpopProof as suiteProof,
  mint,
  suiteVerifier,
} from '../../http/test/fixtures/sender-constraint-suite.js'
import { bearerAuth } from '../src/index.js'

// The shared suite's issuer, client key and verifier: a proof made with jose for htm GET.
const dpopProof = (htu: string, token: string) => suiteProof('GET', htu, token)

t.test('X-Forwarded-Host or -Proto from a trusted proxy cannot move the htu path', async (t) => {
  const app = Fastify({ trustProxy: true })
  t.teardown(() => app.close())
  const verifier = suiteVerifier(t)
  await app.register(bearerAuth, { verifier, dpop: true })
  app.get('/mcp', async () => ({ ok: true }))
  const bound = await mint({ cnf: { jkt: CLIENT_JKT } })
  const status = async (htu: string, forwarded: Record<string, string>) =>
    (
      await app.inject({
        url: '/mcp',
        headers: {
          authorization: `DPoP ${bound}`,
          dpop: await dpopProof(htu, bound),
          ...forwarded,
        },
      })
    ).statusCode

  for (const host of [
    'api.example.com/other#',
    'api.example.com/other?',
    'api.example.com\\other#',
  ]) {
    t.equal(
      await status('https://api.example.com/other', {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': host,
      }),
      401,
      `X-Forwarded-Host: ${host}`,
    )
  }
  t.equal(
    await status('https://api.example.com/other', {
      'x-forwarded-proto': 'https://api.example.com/other#',
    }),
    401,
    'X-Forwarded-Proto with a path',
  )
  t.equal(
    await status('https://api.example.com/mcp', {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
    }),
    200,
  )
})
