import t from 'tap'
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint } from 'jose'
import { createMemoryReplayStore, parseChallenge } from '@bearerkit/core'
import {
  resolveSenderConstraint,
  type SenderConstraint,
  type SenderConstraintRequest,
} from '../src/dpop/sender-constraint.js'
import { NOW, URL_, ath, proof, proofKey } from './fixtures/dpop.js'

const TOKEN = 'token-value'
const now = () => NOW

function certificate(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'bearerkit-sc-'))
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }))
  execFileSync(
    'openssl',
    ['req', '-x509', '-new', '-key', keyFile, '-subj', '/CN=c', '-days', '1', '-out', certFile],
    { stdio: 'ignore' },
  )
  return new X509Certificate(readFileSync(certFile)).raw
}

const request = (extra: Partial<SenderConstraintRequest>): SenderConstraintRequest => ({
  method: 'GET',
  url: URL_,
  scheme: 'dpop',
  token: TOKEN,
  dpop: undefined,
  ...extra,
})

/** The proof context a request yields, or its refusal (the checked proof left aside). */
const contextOf = (sc: SenderConstraint, given: SenderConstraintRequest) => {
  const proven = sc.context(given)
  return 'status' in proven ? proven : proven.context
}

t.test('off unless configured', async (t) => {
  t.equal(resolveSenderConstraint({}), null)
  t.equal(resolveSenderConstraint({ dpop: false, mtls: false }), null)
})

t.test('DPoP: the proof context, the refusals and the challenge', async (t) => {
  const key = await proofKey('ES256')
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  const sc = resolveSenderConstraint({ dpop: { now, algorithms: ['ES256', 'EdDSA'] } })
  if (sc === null) throw new Error('expected a sender constraint')
  t.equal(sc.dpopRequired, false)
  t.equal(sc.mtls, false)
  t.equal(sc.nonce(), undefined)
  t.same(contextOf(sc, request({ dpop: await proof(key, { ath: ath(TOKEN) }) })), {
    dpopJkt: jkt,
  })
  // Bearer: no proof context (the verifier then refuses a bound token), even with a DPoP header.
  t.same(
    contextOf(sc, request({ scheme: 'bearer', dpop: await proof(key, { ath: ath(TOKEN) }) })),
    {},
  )
  t.same(contextOf(sc, request({})), {
    status: 401,
    error: 'invalid_dpop_proof',
    reason: 'missing',
    description: 'The request has no DPoP proof',
  })
  const twice = contextOf(sc, request({ dpop: [await proof(key), await proof(key)] }))
  t.match(twice, { status: 401, error: 'invalid_dpop_proof', reason: 'multiple' })
  t.match(contextOf(sc, request({ dpop: await proof(key, { ath: ath('other') }) })), {
    status: 401,
    error: 'invalid_dpop_proof',
    reason: 'wrong_token_hash',
  })
  t.equal(sc.challenge(), 'DPoP algs="ES256 EdDSA"')
  t.same(parseChallenge(sc.challenge('invalid_dpop_proof', 'The DPoP proof is too old')), [
    {
      scheme: 'DPoP',
      params: {
        error: 'invalid_dpop_proof',
        error_description: 'The DPoP proof is too old',
        algs: 'ES256 EdDSA',
      },
    },
  ])
  // A relative URL cannot be checked without a public origin.
  t.match(contextOf(sc, request({ url: '/mcp', dpop: await proof(key, { ath: ath(TOKEN) }) })), {
    reason: 'wrong_uri',
  })
})

t.test('DPoP: the public origin replaces whatever origin the request names', async (t) => {
  const key = await proofKey('ES256')
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  const sc = resolveSenderConstraint({ dpop: { now, publicOrigin: 'HTTPS://RS.example.com:443' } })
  if (sc === null) throw new Error('expected a sender constraint')
  const good = { ath: ath(TOKEN) }
  t.same(contextOf(sc, request({ url: '/mcp?x=1', dpop: await proof(key, good) })), {
    dpopJkt: jkt,
  })
  // The Host header or an internal origin never decides: the proof must name the public URL.
  t.same(
    contextOf(sc, request({ url: 'http://10.0.0.7:8080/mcp', dpop: await proof(key, good) })),
    { dpopJkt: jkt },
  )
  t.match(
    contextOf(
      sc,
      request({
        url: '/mcp',
        dpop: await proof(key, { ...good, htu: 'http://10.0.0.7:8080/mcp' }),
      }),
    ),
    { reason: 'wrong_uri' },
  )
  t.match(contextOf(sc, request({ url: 'not a url', dpop: await proof(key, good) })), {
    reason: 'wrong_uri',
  })
  for (const bad of ['https://rs.example.com/mcp', 'ftp://x', 'https://rs.example.com?x', 42]) {
    t.throws(() => resolveSenderConstraint({ dpop: { publicOrigin: bad as string } }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /options\.dpop\.publicOrigin/,
    })
  }
})

t.test('DPoP required: Bearer is refused; nonces are issued and demanded', async (t) => {
  const key = await proofKey('ES256')
  const sc = resolveSenderConstraint({
    dpop: {
      now,
      required: true,
      nonceSecret: 'n'.repeat(32),
      requireNonce: true,
      replayStore: createMemoryReplayStore({ now }),
    },
  })
  if (sc === null) throw new Error('expected a sender constraint')
  t.equal(sc.dpopRequired, true)
  t.match(contextOf(sc, request({ scheme: 'bearer' })), {
    status: 401,
    error: 'invalid_token',
    reason: 'bearer_not_accepted',
  })
  t.match(contextOf(sc, request({ dpop: await proof(key, { ath: ath(TOKEN) }) })), {
    status: 401,
    error: 'use_dpop_nonce',
    reason: 'nonce_required',
  })
  const nonce = sc.nonce()
  t.match(nonce, /^[A-Za-z0-9_-]{32}$/)
  t.same(contextOf(sc, request({ dpop: await proof(key, { ath: ath(TOKEN), nonce }) })), {
    dpopJkt: await calculateJwkThumbprint(key.publicJwk),
  })
  t.throws(() => resolveSenderConstraint({ dpop: { nonceStep: 30 } }), {
    message: /nonceStep needs `nonceSecret`/,
  })
  t.throws(() => resolveSenderConstraint({ dpop: { requireNonce: true } }), {
    message: /requireNonce/,
  })
  t.throws(() => resolveSenderConstraint({ dpop: { nonceSecret: 'short' } }), { message: /secret/ })
  t.throws(() => resolveSenderConstraint({ dpop: { requred: true } as never }), {
    message: /did you mean `required`/,
  })
  t.throws(() => resolveSenderConstraint({ dpop: 'yes' as never }), {
    message: /options\.dpop must be an object/,
  })
  t.throws(() => resolveSenderConstraint({ dpop: { required: 1 } as never }), {
    message: /options\.dpop\.required/,
  })
})

t.test('mTLS only: the DPoP scheme is refused, certificates give the context', async (t) => {
  const der = certificate()
  const thumbprint = createHash('sha256').update(der).digest('base64url')
  const sc = resolveSenderConstraint({ mtls: true })
  if (sc === null) throw new Error('expected a sender constraint')
  t.equal(sc.mtls, true)
  t.equal(sc.clientCertHeader, false)
  t.equal(sc.proofs, null)
  t.equal(sc.challenge(), 'DPoP algs=""')
  t.same(contextOf(sc, request({ scheme: 'bearer', clientCertificate: der })), {
    certificateThumbprint: thumbprint,
  })
  t.same(contextOf(sc, request({ scheme: 'bearer', clientCertificate: new Uint8Array(0) })), {})
  t.same(contextOf(sc, request({ scheme: 'bearer' })), {})
  t.match(contextOf(sc, request({ scheme: 'dpop' })), {
    status: 401,
    error: 'invalid_token',
    reason: 'dpop_not_accepted',
  })
  // The Client-Cert header is ignored unless configured, and then only from a trusted proxy.
  const header = `:${der.toString('base64')}:`
  t.same(
    contextOf(
      sc,
      request({ scheme: 'bearer', clientCert: header, remoteAddress: '::ffff:10.0.0.2' }),
    ),
    {},
  )
  const proxied = resolveSenderConstraint({
    mtls: { clientCertHeader: true, trustedProxies: ['10.0.0.2', '::1'] },
  })
  if (proxied === null) throw new Error('expected a sender constraint')
  t.same(contextOf(proxied, request({ scheme: 'bearer', clientCert: header })), {})
  t.same(
    contextOf(
      proxied,
      request({ scheme: 'bearer', clientCert: header, remoteAddress: '::ffff:10.0.0.2' }),
    ),
    {
      certificateThumbprint: thumbprint,
    },
  )
  t.same(
    contextOf(
      proxied,
      request({ scheme: 'bearer', clientCert: ':AAAA:', remoteAddress: '::ffff:10.0.0.2' }),
    ),
    {},
  )
  t.throws(() => resolveSenderConstraint({ mtls: { header: true } as never }), {
    message: /options\.mtls\.header/,
  })
  // From anyone else, the header is not believed.
  const from = (remoteAddress: string | undefined) =>
    contextOf(proxied, request({ scheme: 'bearer', clientCert: header, remoteAddress }))
  t.same(from('10.0.0.3'), {})
  t.same(from(undefined), {})
  t.same(from('::1'), { certificateThumbprint: thumbprint })
  t.throws(() => resolveSenderConstraint({ mtls: { clientCertHeader: true } }), {
    message: /options\.mtls\.trustedProxies must list/,
  })
  t.throws(() => resolveSenderConstraint({ mtls: { trustedProxies: ['10.0.0.2'] } }), {
    message: /options\.mtls\.clientCertHeader must be true/,
  })
  for (const trustedProxies of [[''], '10.0.0.2', [7]]) {
    t.throws(
      () =>
        resolveSenderConstraint({
          mtls: { clientCertHeader: true, trustedProxies: trustedProxies as never },
        }),
      { message: /array of IP addresses/ },
    )
  }
})

t.test('DPoP and mTLS together: both thumbprints reach the verifier', async (t) => {
  const key = await proofKey('ES256')
  const der = certificate()
  const sc = resolveSenderConstraint({ dpop: { now }, mtls: true })
  if (sc === null) throw new Error('expected a sender constraint')
  t.same(
    contextOf(sc, request({ clientCertificate: der, dpop: await proof(key, { ath: ath(TOKEN) }) })),
    {
      dpopJkt: await calculateJwkThumbprint(key.publicJwk),
      certificateThumbprint: createHash('sha256').update(der).digest('base64url'),
    },
  )
})

t.test('challenges beside Bearer, alone when DPoP is required, and the proof error', async (t) => {
  const { senderConstrainedChallenge, DpopProofError, isDpopProofError } =
    await import('../src/dpop/dpop-challenge.js')
  const mixed = resolveSenderConstraint({ dpop: { algorithms: ['ES256', 'EdDSA'] } })
  const only = resolveSenderConstraint({ dpop: { required: true, algorithms: ['ES256'] } })
  const mtls = resolveSenderConstraint({ mtls: true })
  if (mixed === null || only === null || mtls === null) throw new Error('expected settings')
  const params = {
    realm: 'api',
    error: 'invalid_token',
    error_description: 'The access token expired',
    resource_metadata: 'https://rs.example.com/.well-known/oauth-protected-resource',
  }
  t.equal(
    senderConstrainedChallenge(mixed, params, false),
    'Bearer realm="api", error="invalid_token", error_description="The access token expired", resource_metadata="https://rs.example.com/.well-known/oauth-protected-resource", ' +
      'DPoP realm="api", resource_metadata="https://rs.example.com/.well-known/oauth-protected-resource", algs="ES256 EdDSA"',
  )
  t.equal(
    senderConstrainedChallenge(mixed, params, true),
    'Bearer realm="api", resource_metadata="https://rs.example.com/.well-known/oauth-protected-resource", ' +
      'DPoP realm="api", error="invalid_token", error_description="The access token expired", resource_metadata="https://rs.example.com/.well-known/oauth-protected-resource", algs="ES256 EdDSA"',
  )
  t.equal(
    senderConstrainedChallenge(only, { resource_metadata: 'https://m' }, false),
    'DPoP resource_metadata="https://m", algs="ES256"',
  )
  t.equal(
    senderConstrainedChallenge(mtls, { error: 'invalid_token' }, false),
    'Bearer error="invalid_token"',
  )
  t.equal(senderConstrainedChallenge(mixed, {}, false), 'Bearer, DPoP algs="ES256 EdDSA"')

  const headers = { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n' }
  const error = new DpopProofError(
    {
      status: 401,
      error: 'use_dpop_nonce',
      reason: 'nonce_required',
      description: 'Use the nonce',
    },
    'n',
    headers,
  )
  t.match(error, {
    code: 'ERR_INVALID_TOKEN',
    error: 'invalid_token',
    statusCode: 401,
    reason: 'nonce_required',
    dpopError: 'use_dpop_nonce',
    nonce: 'n',
    message: 'Use the nonce',
    headers,
  })
  t.ok(isDpopProofError(error))
  t.notOk(isDpopProofError(new Error('x')))
  t.notOk(isDpopProofError(null))
  t.notOk(isDpopProofError({ dpopError: 'other' }))
  t.ok(isDpopProofError({ dpopError: 'invalid_token' }))
  t.ok(isDpopProofError({ dpopError: 'invalid_dpop_proof' }))
})

t.test('the scanned token key spares a hash only for its very token', async (t) => {
  const { scanBearerToken } = await import('@bearerkit/core')
  const key = await proofKey('ES256')
  const sc = resolveSenderConstraint({ dpop: { now } })
  if (sc === null) throw new Error('expected a sender constraint')
  const mine = scanBearerToken(TOKEN)
  const other = scanBearerToken('other-token')
  if (mine === null || other === null) throw new Error('expected b64tokens')
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  t.same(contextOf(sc, request({ tokenKey: mine, dpop: await proof(key, { ath: ath(TOKEN) }) })), {
    dpopJkt: jkt,
  })
  // A key made for another token is not taken for this one: ath is checked against TOKEN.
  t.same(contextOf(sc, request({ tokenKey: other, dpop: await proof(key, { ath: ath(TOKEN) }) })), {
    dpopJkt: jkt,
  })
  t.match(
    contextOf(
      sc,
      request({ tokenKey: other, dpop: await proof(key, { ath: ath('other-token') }) }),
    ),
    { status: 401, reason: 'wrong_token_hash' },
  )
})
