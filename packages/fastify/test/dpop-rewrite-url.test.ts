// Red-team finding: with Fastify's rewriteUrl, the DPoP htu check looked at the rewritten URL, not
// the one the client called (RFC 9449 §4.3). A client's proof for /public was refused on
// /public, and a proof made for /admin passed there; Express (req.originalUrl) decided the other
// way round.
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

t.test('rewriteUrl: htu names the URL the client called, not the rewritten one', async (t) => {
  const app = Fastify({
    rewriteUrl: (req) => (req.url === '/public' ? '/admin' : (req.url ?? '/')),
  })
  t.teardown(() => app.close())
  const verifier = suiteVerifier(t)
  await app.register(bearerAuth, { verifier, dpop: { publicOrigin: 'https://api.example.com' } })
  app.get('/admin', async () => ({ ok: true }))
  const bound = await mint({ cnf: { jkt: CLIENT_JKT } })
  const status = async (path: string, htu: string) =>
    (
      await app.inject({
        url: path,
        headers: { authorization: `DPoP ${bound}`, dpop: await dpopProof(htu, bound) },
      })
    ).statusCode
  t.equal(await status('/public', 'https://api.example.com/public'), 200)
  t.equal(await status('/public', 'https://api.example.com/admin'), 401)
  t.equal(await status('/admin', 'https://api.example.com/admin'), 200)
})
