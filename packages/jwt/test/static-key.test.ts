import { createSecretKey, generateKeyPairSync, KeyObject, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { createJwtVerifier, type JwtVerifierOptions } from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, mint, mintHmac, pair, signRaw, claims } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

const base = { issuer: ISSUER, audience: AUDIENCE, now: () => NOW }
const make = (options: Partial<JwtVerifierOptions>) => createJwtVerifier({ ...base, ...options })

t.test('every default algorithm verifies with its own static key', async (t) => {
  for (const alg of [
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
  ]) {
    const signer = await pair(alg)
    const verifier = make({ key: signer.jwk })
    t.equal(await outcome(verifier, await mint(signer)), 'accepted', alg)
    // A signature by another key of the same type is refused.
    const other = await pair(alg, 'other')
    t.equal(
      await outcome(verifier, await mint(other, { header: { kid: signer.kid } })),
      'bad_signature',
      `${alg} other key`,
    )
  }
  const ed448 = await pair('Ed448')
  t.equal(
    await outcome(make({ key: ed448.pem }), await signRaw(ed448, { alg: 'EdDSA', typ: 'at+jwt' })),
    'accepted',
    'EdDSA over Ed448',
  )
  const ed = await pair('EdDSA')
  const verifier = make({ key: ed.pem, algorithms: ['Ed25519'] })
  t.equal(
    await outcome(verifier, await signRaw(ed, { alg: 'Ed25519', typ: 'at+jwt' })),
    'accepted',
    'Ed25519 (RFC 9864)',
  )
  t.equal(
    await outcome(verifier, await signRaw(ed, { alg: 'EdDSA', typ: 'at+jwt' })),
    'algorithm_not_allowed',
  )
})

t.test('the result is a complete AccessToken', async (t) => {
  const signer = await pair('ES256')
  const token = await mint(signer, { claims: { aud: [AUDIENCE, 'other'], resource: AUDIENCE } })
  const result = await make({ key: signer.pem }).verifyToken(token)
  t.ok(result)
  t.equal(result?.token, token)
  t.equal(result?.clientId, 'client-1')
  t.same(result?.scopes, ['read', 'write'])
  t.equal(result?.subject, 'user-1')
  t.equal(result?.issuer, ISSUER)
  t.same(result?.audience, [AUDIENCE, 'other'])
  t.equal(result?.resource, AUDIENCE)
  t.equal(result?.expiresAt, NOW / 1000 + 600)
  // Inherits nothing: its prototype is an empty object without a prototype.
  t.same(Reflect.ownKeys(Object.getPrototypeOf(result?.claims) as object), [])
  t.equal(Object.getPrototypeOf(Object.getPrototypeOf(result?.claims) as object), null)
  t.ok(Object.isFrozen(result?.claims))
})

t.test('static key formats', async (t) => {
  const rsa = await pair('RS256')
  const token = await mint(rsa)
  t.test('PEM SPKI, also with CRLF line ends and surrounding whitespace', async (t) => {
    t.equal(await outcome(make({ key: rsa.pem }), token), 'accepted')
    t.equal(
      await outcome(make({ key: `\r\n  ${rsa.pem.replace(/\n/g, '\r\n')}  \n` }), token),
      'accepted',
    )
  })
  t.test('X.509 certificate', async (t) => {
    const certificate = readFileSync(new URL('./fixtures/cert.pem', import.meta.url), 'utf8')
    const key = readFileSync(new URL('./fixtures/cert-key.pem', import.meta.url), 'utf8')
    const { createPrivateKey } = await import('node:crypto')
    const signer = { ...rsa, privateKey: createPrivateKey(key), kid: 'cert' }
    t.ok(new X509Certificate(certificate).publicKey)
    t.equal(await outcome(make({ key: certificate }), await mint(signer)), 'accepted')
    t.equal(await outcome(make({ key: certificate }), token), 'bad_signature')
  })
  t.test('JWK, JWK Set (encryption keys in it are left out), KeyObject, CryptoKey', async (t) => {
    t.equal(await outcome(make({ key: rsa.jwk }), token), 'accepted')
    const enc = { ...(await pair('RS256', 'enc')).jwk, use: 'enc' }
    const set = {
      keys: [enc, { ...enc, kid: 'ops', use: undefined, key_ops: ['encrypt'] }, rsa.jwk],
    }
    t.equal(await outcome(make({ key: set }), token), 'accepted')
    t.equal(await outcome(make({ key: rsa.publicKey }), token), 'accepted')
    const cryptoKey = await globalThis.crypto.subtle.importKey(
      'jwk',
      { kty: 'RSA', n: rsa.jwk.n, e: rsa.jwk.e },
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      true,
      ['verify'],
    )
    t.equal(await outcome(make({ key: cryptoKey }), token), 'accepted')
  })
  t.test(
    'a PEM key without kid verifies tokens that name a kid, and tokens without one',
    async (t) => {
      t.equal(
        await outcome(make({ key: rsa.pem }), await mint(rsa, { header: { kid: 'anything' } })),
        'accepted',
      )
      t.equal(
        await outcome(make({ key: rsa.pem }), await mint(rsa, { header: { kid: undefined } })),
        'accepted',
      )
    },
  )
  t.test('a JWK with a kid only verifies tokens naming that kid, or no kid', async (t) => {
    t.equal(
      await outcome(make({ key: rsa.jwk }), await mint(rsa, { header: { kid: 'other' } })),
      'unknown_key',
    )
    t.equal(
      await outcome(make({ key: rsa.jwk }), await mint(rsa, { header: { kid: undefined } })),
      'accepted',
    )
  })
  t.test(
    'a token without kid against several keys for its algorithm is refused, not tried on each',
    async (t) => {
      const second = await pair('RS256', 'second')
      const verifier = make({ key: { keys: [rsa.jwk, second.jwk] } })
      t.equal(
        await outcome(verifier, await mint(rsa, { header: { kid: undefined } })),
        'unknown_key',
      )
      t.equal(await outcome(verifier, await mint(second)), 'accepted')
    },
  )
})

t.test('shared secrets (HS*) only when configured and allowed', async (t) => {
  const secret = 'a'.repeat(64)
  const token = await mintHmac(secret, 'HS256')
  t.equal(await outcome(make({ secret, algorithms: ['HS256'] }), token), 'accepted')
  t.equal(
    await outcome(make({ secret: new TextEncoder().encode(secret), algorithms: ['HS256'] }), token),
    'accepted',
  )
  // Bytes, a secret KeyObject and an oct JWK are explicit secrets as key too (compatibility).
  t.equal(
    await outcome(
      make({ key: new TextEncoder().encode(secret), algorithms: ['HS256', 'HS512'] }),
      token,
    ),
    'accepted',
  )
  for (const option of ['key', 'secret'] as const) {
    t.equal(
      await outcome(
        make({ [option]: createSecretKey(Buffer.from(secret)), algorithms: ['HS256'] }),
        token,
      ),
      'accepted',
      `secret KeyObject as ${option}`,
    )
  }
  const octJwk = { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'oct-1' }
  t.equal(
    await outcome(
      make({ key: octJwk, algorithms: ['HS256'] }),
      await mintHmac(secret, 'HS256', { kid: 'oct-1' }),
    ),
    'accepted',
  )
  t.equal(
    await outcome(make({ secret, algorithms: ['HS256'] }), await mintHmac('b'.repeat(64))),
    'bad_signature',
  )
  // A signature of the right length and alphabet but not the MAC.
  const forged = token.slice(0, token.lastIndexOf('.') + 1) + Buffer.alloc(32).toString('base64url')
  t.equal(await outcome(make({ secret, algorithms: ['HS256'] }), forged), 'bad_signature')
  const verifier = make({ secret, algorithms: ['HS256'] })
  t.equal(await outcome(verifier, await mintHmac(secret, 'HS384')), 'algorithm_not_allowed')
  t.throws(() => make({ secret }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^options\.secret is a shared secret: it verifies only HS256, HS384 or HS512/,
  })
  t.throws(() => make({ secret: 'short', algorithms: ['HS256'] }), {
    message: /options\.secret is too weak/,
  })
  t.throws(() => make({ secret: 'a'.repeat(40), algorithms: ['HS256', 'HS512'] }), {
    message: /^options\.algorithms contains HS512, for which the shared secret is too short/,
  })
  // A public key and a separate secret may be configured together, each for its own algorithms.
  const rsa = await pair('RS256')
  const both = make({ key: rsa.pem, secret, algorithms: ['RS256', 'HS256'] })
  t.equal(await outcome(both, token), 'accepted')
  t.equal(await outcome(both, await mint(rsa)), 'accepted')
  t.equal(await outcome(both, await mintHmac(rsa.pem, 'HS256')), 'bad_signature')
  const fail = (options: Partial<JwtVerifierOptions>, message: RegExp) =>
    t.throws(() => make(options), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError', message })
  fail({ secret: '', algorithms: ['HS256'] }, /^options\.secret must not be empty/)
  fail({ secret: new Uint8Array(0), algorithms: ['HS256'] }, /^options\.secret must not be empty/)
  fail({ secret: 42 as never, algorithms: ['HS256'] }, /^options\.secret must be a string/)
  fail({ secret: rsa.publicKey, algorithms: ['HS256'] }, /^options\.secret is a public key/)
  fail(
    { secret, jwksUri: 'https://as.example.com/jwks', key: undefined, algorithms: ['HS256'] },
    /^options must give one key source/,
  )
})

t.test('public key text becomes an HMAC secret', async (t) => {
  const rsa = await pair('RS256')
  const es = await pair('ES256')
  const der = rsa.publicKey.export({ type: 'spki', format: 'der' })
  const body = der.toString('base64')
  const wrapped = body.replace(/(.{64})/g, '$1\n')
  const certificate = readFileSync(new URL('./fixtures/cert.pem', import.meta.url), 'utf8')
  const certBody = certificate.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')
  const texts: Record<string, string> = {
    'JWK as JSON text': JSON.stringify(rsa.jwk),
    'JWK as JSON text with whitespace': `\n  ${JSON.stringify(es.jwk, null, 2)}`,
    'SPKI base64 body without armor': body,
    'SPKI base64 body in 64-character lines': wrapped,
    'SPKI base64url body': der.toString('base64url'),
    'PKCS#1 base64 body': rsa.publicKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
    'certificate base64 body': certBody,
    PEM: rsa.pem,
    'JWK Set as JSON text': JSON.stringify({ keys: [rsa.jwk] }),
  }
  for (const [name, text] of Object.entries(texts)) {
    // Before: the verifier was built, and HS256 tokens signed with the text were accepted.
    t.throws(
      () => make({ key: text, algorithms: ['RS256', 'HS256'] }),
      { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' },
      `${name} as key with RS256 and HS256`,
    )
    t.throws(
      () => make({ secret: text, algorithms: ['HS256'] }),
      {
        code: 'ERR_INVALID_ARG_VALUE',
        message: /^options\.secret is .*, which is public and never a shared secret/,
      },
      `${name} as secret`,
    )
    t.throws(
      () => make({ secret: Buffer.from(text), algorithms: ['HS256'] }),
      { code: 'ERR_INVALID_ARG_VALUE', message: /never a shared secret/ },
      `${name} as secret bytes`,
    )
    t.throws(
      () => make({ key: Buffer.from(text), algorithms: ['HS256'] }),
      { code: 'ERR_INVALID_ARG_VALUE', message: /^options\.key is .*never a shared secret/ },
      `${name} as key bytes (readFileSync without an encoding)`,
    )
  }
  // The DER bytes themselves are no secret either.
  t.throws(() => make({ secret: der, algorithms: ['HS256'] }), {
    message: /^options\.secret is the DER of a key or certificate/,
  })
  t.throws(() => make({ key: body, algorithms: ['RS256'] }), {
    message:
      /^options\.key is the base64 body of a public key or certificate without its PEM armor/,
  })
  t.throws(() => make({ key: 'not a key at all', algorithms: ['HS256'] }), {
    message: /^options\.key is text that is no key; .*a shared secret for HS\* goes in secret/,
  })
  t.throws(() => make({ key: '   ', algorithms: ['HS256'] }), {
    message: /^options\.key must not be empty/,
  })
  t.throws(() => make({ key: '{"kty": ', algorithms: ['RS256'] }), {
    message: /^options\.key is JSON text that does not parse/,
  })
  // JWK JSON text is a key (the form BEARERKIT_KEY takes), checked as the object would be.
  t.equal(await outcome(make({ key: JSON.stringify(rsa.jwk) }), await mint(rsa)), 'accepted')
  // Random text that merely looks like base64, or braces that are not JSON, stays a secret.
  const random = Buffer.from('0123456789abcdef'.repeat(4)).toString('base64')
  t.equal(
    await outcome(make({ secret: random, algorithms: ['HS256'] }), await mintHmac(random)),
    'accepted',
  )
  const braces = '{' + 'x'.repeat(40)
  t.equal(
    await outcome(make({ secret: braces, algorithms: ['HS256'] }), await mintHmac(braces)),
    'accepted',
  )
  // A secret alone cannot serve an allow-list with an asymmetric algorithm in it.
  t.throws(() => make({ secret: 'a'.repeat(64), algorithms: ['RS256', 'HS256'] }), {
    message:
      /^options\.algorithms contains RS256, which need a public key, and only a shared secret is configured/,
  })
})

t.test('algorithm confusion: HS256 signed with the RSA public key as secret', async (t) => {
  const rsa = await pair('RS256')
  const variants = {
    pem: rsa.pem,
    'leading whitespace': `  \n${rsa.pem}`,
    crlf: rsa.pem.replace(/\n/g, '\r\n'),
    'no final newline': rsa.pem.trimEnd(),
    'jwk json': JSON.stringify(rsa.jwk),
  }
  for (const key of [rsa.pem, `  \n${rsa.pem}`, rsa.pem.replace(/\n/g, '\r\n'), rsa.jwk]) {
    const verifier = make({ key })
    for (const [name, secret] of Object.entries(variants)) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        t.equal(
          await outcome(verifier, await mintHmac(secret, alg, { kid: rsa.kid })),
          'algorithm_not_allowed',
          `${name} ${alg}`,
        )
      }
    }
  }
  // Asking for HS256 next to a public key is a configuration error, not a silent downgrade.
  t.throws(() => make({ key: rsa.pem, algorithms: ['RS256', 'HS256'] }), {
    message:
      /^options\.algorithms contains HS256, but a public key cannot verify an HMAC algorithm \(HS256\)/,
  })
  t.throws(() => make({ key: `  ${rsa.pem.replace(/\n/g, '\r\n')}`, algorithms: ['HS256'] }), {
    message:
      /^options\.key is a public key, and a public key cannot verify an HMAC algorithm \(HS256\)/,
  })
  t.throws(() => make({ key: rsa.jwk, algorithms: ['HS256', 'HS384'] }), {
    message: /a public key cannot verify an HMAC algorithm \(HS256, HS384\)/,
  })
})

t.test('each algorithm is bound to the key type it needs', async (t) => {
  const rsa = await pair('RS256')
  const p256 = await pair('ES256')
  const p384 = await pair('ES384')
  const ed = await pair('EdDSA')
  // An ES256 token naming the RSA key's kid.
  t.equal(
    await outcome(make({ key: rsa.jwk }), await mint(p256, { header: { kid: rsa.kid } })),
    'algorithm_not_allowed',
  )
  // ES384 claimed, P-256 key configured: the curve does not fit.
  const p256Pem = make({ key: p256.pem })
  t.equal(
    await outcome(p256Pem, await signRaw(p384, { alg: 'ES384', typ: 'at+jwt' })),
    'algorithm_not_allowed',
  )
  // EdDSA token against an RSA key without kid.
  t.equal(
    await outcome(make({ key: rsa.pem }), await mint(ed, { header: { kid: undefined } })),
    'algorithm_not_allowed',
  )
  // PS256 and RS256 over the same RSA key are different algorithms; a JWK alg pins one.
  t.equal(
    await outcome(make({ key: rsa.jwk }), await mint(rsa, { alg: 'PS256' })),
    'algorithm_not_allowed',
  )
  t.equal(await outcome(make({ key: rsa.pem }), await mint(rsa, { alg: 'PS256' })), 'accepted')
  // An RS256 signature presented as PS256 fails PSS verification.
  const rs = await mint(rsa)
  const [, payload, signature] = rs.split('.')
  const relabelled = `${Buffer.from(JSON.stringify({ alg: 'PS256', typ: 'at+jwt' })).toString('base64url')}.${payload}.${signature}`
  t.equal(await outcome(make({ key: rsa.pem }), relabelled), 'bad_signature')
})

t.test('static key mistakes are TypeErrors at construction', async (t) => {
  const rsa = await pair('RS256')
  const fail = (key: unknown, message: RegExp, extra: Partial<JwtVerifierOptions> = {}) =>
    t.throws(
      () => make({ key: key as string, ...extra }),
      { code: 'ERR_INVALID_ARG_VALUE', message },
      String(message),
    )
  const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  fail(pkcs8, /options\.key is a private key/)
  fail(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }), /options\.key is a private key/)
  fail(
    rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }),
    /is a PEM RSA PUBLIC KEY; only PUBLIC KEY \(SPKI\) and CERTIFICATE/,
  )
  fail(
    '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
    /options\.key is not a valid PEM public key/,
  )
  fail(
    '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
    /options\.key is not a valid PEM certificate/,
  )
  fail(rsa.privateKey, /options\.key is a private key/)
  fail({ ...rsa.jwk, d: 'AAAA' }, /options\.key is a private key/)
  fail(
    { keys: [rsa.jwk, { ...rsa.jwk, kid: 'x', p: 'AAAA' }] },
    /options\.key\.keys\[1\] is a private key/,
  )
  fail({ keys: [] }, /options\.key holds no signature verification key/)
  fail({ keys: [{ ...rsa.jwk, use: 'enc' }] }, /options\.key holds no signature verification key/)
  fail('', /options\.key must not be empty/)
  fail(new Uint8Array(0), /options\.key must not be empty/)
  fail(42, /options\.key must be a PEM public key or certificate/)
  fail([rsa.jwk], /options\.key must be a PEM public key or certificate/)
  fail(null, /options\.key must be a PEM public key or certificate/)
  fail({ ...rsa.jwk, kid: 7 }, /has a kid that is not a string/)
  fail({ ...rsa.jwk, kid: 'k'.repeat(257) }, /has a kid that is not a string/)
  fail({ ...rsa.jwk, alg: 'none' }, /names an alg that is not supported/)
  fail({ ...rsa.jwk, alg: 'ES256' }, /names an alg that does not fit its key type/)
  fail({ ...rsa.jwk, alg: 'RS384' }, /fits none of options\.algorithms/, { algorithms: ['RS256'] })
  fail(
    { kty: 'EC', crv: 'secp256k1', x: 'AAAA', y: 'AAAA' },
    /is of a key type or curve that no JWS algorithm uses/,
  )
  fail({ kty: 'RSA', n: 'AAAA' }, /is not a valid key/)
  fail({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }, /is not a valid key/)
  fail({ kty: 'RSA', n: '!!!!', e: 'AQAB' }, /is not a valid key/)
  fail({ kty: 'oct', k: '!!' }, /is not a valid key/, { algorithms: ['HS256'] })
  fail({ kty: 'oct', k: 'a'.repeat(64) }, /is a shared secret: it verifies only HS256/)
  fail({ kty: 'nope' }, /is of a key type or curve that no JWS algorithm uses/)
  fail({ kty: 5 }, /is of a key type or curve that no JWS algorithm uses/)
  fail({ kty: 'oct' }, /is not a valid key/, { algorithms: ['HS256'] })
  fail({ ...rsa.jwk, key_ops: 'verify' }, /does not allow verify/)
  fail({ ...rsa.jwk, use: 'enc' }, /is not a signature key/)
  fail((await pair('RSA1024')).pem, /is too weak/)
  fail((await pair('secp256k1')).pem, /is of a key type or curve that no JWS algorithm uses/)
  fail((await pair('X25519')).pem, /is of a key type or curve that no JWS algorithm uses/)
  fail(
    generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey,
    /is of a key type or curve/,
  )
  fail(rsa.pem, /fits none of options\.algorithms/, { algorithms: ['ES256'] })
  t.ok(rsa.publicKey instanceof KeyObject)
  t.same(claims().iss, ISSUER)
})
