// Red-team finding: Fastify routes /files/../admin to a /files/* route, but the DPoP htu check
// normalises it (RFC 3986 §6.2.2.3) to /admin, so a proof made for /admin passed on the /files
// handler.
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
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

t.test('a dot segment cannot take a proof for /admin to the /files/* handler', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const verifier = suiteVerifier(t)
  await app.register(bearerAuth, { verifier, dpop: { publicOrigin: 'https://api.example.com' } })
  app.get('/files/*', async () => ({ handler: 'files' }))
  app.get('/admin', async () => ({ handler: 'admin' }))
  const bound = await mint({ cnf: { jkt: CLIENT_JKT } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  // Over the wire: inject would normalise the path before routing.
  const status = async (path: string, htu: string) => {
    const dpop = await dpopProof(htu, bound)
    return new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          agent: false,
          headers: { authorization: `DPoP ${bound}`, dpop },
        },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        },
      )
      req.on('error', reject)
      req.end()
    })
  }
  for (const url of ['/files/../admin', '/files/%2e%2e/admin', '/files/x/../../admin']) {
    t.equal(await status(url, 'https://api.example.com/admin'), 401, url)
  }
  t.equal(await status('/files/x/..', 'https://api.example.com/files/'), 401)
  t.equal(await status('/admin', 'https://api.example.com/admin'), 200)
  t.equal(await status('/files/x', 'https://api.example.com/files/x'), 200)
})
