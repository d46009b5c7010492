// DPoP (RFC 9449) and certificate-bound tokens (RFC 8705) through the forward-auth server: the
// proxy describes the original request, the proof must name it, and only a trusted proxy may vouch
// for a client certificate.
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { createForwardAuthServer, type ForwardAuthOptions } from '../src/index.js'
import {
  CLIENT_JKT,
  clientCertHeader,
  dpopProof,
  makeIdentities,
  mint,
  send,
  suiteVerifier,
  x5t,
} from './fixtures/sender-constraint-suite.js'

async function start(t: Test, options: ForwardAuthOptions): Promise<number> {
  const server = createForwardAuthServer(options)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

t.test('DPoP behind Traefik: htu names the forwarded proto, host and URI', async (t) => {
  const port = await start(t, { verifier: suiteVerifier(t), dpop: { algorithms: ['ES256'] } })
  const bound = await mint({ cnf: { jkt: CLIENT_JKT } })
  const ask = async (htu: string, method = 'POST') =>
    send(port, {
      path: '/verify',
      headers: [
        ['authorization', `DPoP ${bound}`],
        ['dpop', await dpopProof(method, htu, bound)],
        ['x-forwarded-method', 'POST'],
        ['x-forwarded-proto', 'https'],
        ['x-forwarded-host', 'api.example.com'],
        ['x-forwarded-uri', '/mcp?session=1'],
      ],
    })
  const ok = await ask('https://api.example.com/mcp')
  t.equal(ok.status, 200)
  t.equal(ok.body, '')
  const wrongMethod = await ask('https://api.example.com/mcp', 'GET')
  t.equal(wrongMethod.status, 401, 'htm must be the forwarded method, not the subrequest one')
  t.match(wrongMethod.headers['www-authenticate'], /DPoP error="invalid_dpop_proof"/)
  t.equal((await ask(`http://127.0.0.1:${port}/verify`)).status, 401, 'not the subrequest URL')
  const stolen = await send(port, {
    path: '/verify',
    headers: [
      ['authorization', `Bearer ${bound}`],
      ['x-forwarded-method', 'POST'],
      ['x-forwarded-uri', '/mcp'],
    ],
  })
  t.equal(stolen.status, 401)
  t.match(stolen.headers['www-authenticate'], /^Bearer error="invalid_token", .*DPoP algs="ES256"$/)
})

t.test('DPoP behind nginx: the relative X-Original-URI needs dpop.publicOrigin', async (t) => {
  const bound = await mint({ cnf: { jkt: CLIENT_JKT } })
  const ask = async (port: number, htu: string) =>
    (
      await send(port, {
        path: '/_bearerkit',
        headers: [
          ['authorization', `DPoP ${bound}`],
          ['dpop', await dpopProof('GET', htu, bound)],
          ['x-original-method', 'GET'],
          ['x-original-uri', '/mcp'],
        ],
      })
    ).status
  const withOrigin = await start(t, {
    verifier: suiteVerifier(t),
    dpop: { publicOrigin: 'https://api.example.com' },
  })
  t.equal(await ask(withOrigin, 'https://api.example.com/mcp'), 200)
  t.equal(await ask(withOrigin, 'https://api.example.com/other'), 401)
  const without = await start(t, { verifier: suiteVerifier(t), dpop: true })
  t.equal(
    await ask(without, 'https://api.example.com/mcp'),
    401,
    'a relative URL without publicOrigin cannot be checked: refused',
  )
})

t.test('mTLS behind a TLS-terminating proxy: Client-Cert from a trusted proxy only', async (t) => {
  const ids = makeIdentities(t)
  const token = await mint({ cnf: { 'x5t#S256': x5t(ids.client) } })
  const ask = async (port: number, identity = ids.client) =>
    (
      await send(port, {
        path: '/_bearerkit',
        headers: [
          ['authorization', `Bearer ${token}`],
          ['client-cert', clientCertHeader(identity)],
          ['x-original-method', 'GET'],
          ['x-original-uri', '/mcp'],
        ],
      })
    ).status
  const trusted = await start(t, {
    verifier: suiteVerifier(t),
    mtls: { clientCertHeader: true, trustedProxies: ['127.0.0.1'] },
  })
  t.equal(await ask(trusted), 200)
  t.equal(await ask(trusted, ids.other), 401, 'another certificate')
  const elsewhere = await start(t, {
    verifier: suiteVerifier(t),
    mtls: { clientCertHeader: true, trustedProxies: ['10.0.0.2'] },
  })
  t.equal(await ask(elsewhere), 401, 'the header of a peer that is not the TLS proxy is ignored')
  const off = await start(t, { verifier: suiteVerifier(t), mtls: true })
  t.equal(await ask(off), 401, 'the header is not read unless clientCertHeader is on')
})
