import { createPublicKey, createPrivateKey } from 'node:crypto'
import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose'
import t from 'tap'
import {
  ASYMMETRIC_ALGORITHMS,
  SYMMETRIC_ALGORITHMS,
  createToken,
  generateKeyPair,
  generateSecret,
  isAsymmetricAlgorithm,
  isSymmetricAlgorithm,
  type AsymmetricAlgorithm,
  type SymmetricAlgorithm,
} from '../src/index.js'

const EXPECTED: Record<AsymmetricAlgorithm, { kty: string; crv?: string }> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
}

t.test('generateKeyPair makes a usable key pair for every algorithm', async (t) => {
  for (const alg of ASYMMETRIC_ALGORITHMS) {
    const pair = await generateKeyPair(alg)
    const { kty, crv } = EXPECTED[alg]
    t.equal(pair.alg, alg)
    t.equal(pair.publicJwk.kty, kty, `${alg} kty`)
    t.equal(pair.publicJwk.crv, crv, `${alg} crv`)
    t.equal(pair.publicJwk.alg, alg)
    t.equal(pair.publicJwk.use, 'sig')
    t.equal(pair.publicJwk.kid, pair.kid)
    t.equal(pair.privateJwk.kid, pair.kid)
    t.equal(pair.publicJwk.d, undefined, `${alg} public JWK has no private part`)
    t.type(pair.privateJwk.d, 'string')
    // The default kid is the RFC 7638 thumbprint of the public key.
    t.equal(pair.kid, await calculateJwkThumbprint(pair.publicJwk, 'sha256'))
    t.match(pair.privatePem, /^-----BEGIN PRIVATE KEY-----\n/)
    t.match(pair.publicPem, /^-----BEGIN PUBLIC KEY-----\n/)
    t.ok(createPublicKey(pair.publicPem).equals(pair.publicKey))
    t.ok(createPrivateKey(pair.privatePem).equals(pair.privateKey))
    t.ok(Object.isFrozen(pair) && Object.isFrozen(pair.publicJwk))
    // A token signed with the private key verifies with the public JWK, and only under alg.
    const token = await createToken({ key: pair })
    const { protectedHeader } = await compactVerify(token, await importJWK(pair.publicJwk, alg))
    t.equal(protectedHeader.alg, alg)
  }
})

t.test('generateKeyPair honours kid and modulusLength', async (t) => {
  const pair = await generateKeyPair('RS256', { kid: 'key-1', modulusLength: 3072 })
  t.equal(pair.kid, 'key-1')
  t.equal(pair.publicJwk.kid, 'key-1')
  t.equal(pair.publicKey.asymmetricKeyDetails?.modulusLength, 3072)
  const other = await generateKeyPair('RS256')
  t.not(other.kid, pair.kid, 'fresh keys get distinct thumbprint kids')
})

t.test('generateKeyPair refuses bad arguments up front', async (t) => {
  await t.rejects(generateKeyPair('HS256' as AsymmetricAlgorithm), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^alg must be one of RS256/,
  })
  await t.rejects(generateKeyPair('none' as AsymmetricAlgorithm), { code: 'ERR_INVALID_ARG_VALUE' })
  await t.rejects(generateKeyPair('RS256', { kid: '' }), { message: /^options\.kid / })
  await t.rejects(generateKeyPair('RS256', { kid: 7 as unknown as string }), {
    message: /^options\.kid /,
  })
  await t.rejects(generateKeyPair('RS256', { modulusLength: 1024 }), {
    message: /^options\.modulusLength must be an integer of at least 2048/,
  })
  await t.rejects(generateKeyPair('PS256', { modulusLength: 2048.5 }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
})

t.test('generateSecret makes secrets as long as the hash output', async (t) => {
  const lengths: Record<SymmetricAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 }
  for (const alg of SYMMETRIC_ALGORITHMS) {
    const secret = await generateSecret(alg)
    t.equal(secret.secret.byteLength, lengths[alg], alg)
    t.equal(secret.key.type, 'secret')
    t.equal(secret.key.symmetricKeySize, lengths[alg])
    t.equal(secret.jwk.kty, 'oct')
    t.equal(secret.jwk.k, Buffer.from(secret.secret).toString('base64url'))
    t.same([secret.jwk.alg, secret.jwk.use, secret.jwk.kid], [alg, 'sig', secret.kid])
    const token = await createToken({ key: secret })
    await t.resolves(compactVerify(token, secret.secret, { algorithms: [alg] }))
  }
  const a = await generateSecret('HS256')
  const b = await generateSecret('HS256', { kid: 'hmac' })
  t.equal(b.kid, 'hmac')
  t.not(Buffer.from(a.secret).toString('hex'), Buffer.from(b.secret).toString('hex'))
  await t.rejects(generateSecret('RS256' as SymmetricAlgorithm), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^alg must be one of HS256, HS384, HS512/,
  })
  await t.rejects(generateSecret('HS256', { kid: '' }), { message: /^options\.kid / })
})

t.test('algorithm guards', async (t) => {
  t.equal(isAsymmetricAlgorithm('EdDSA'), true)
  t.equal(isAsymmetricAlgorithm('HS256'), false)
  t.equal(isAsymmetricAlgorithm(undefined), false)
  t.equal(isSymmetricAlgorithm('HS512'), true)
  t.equal(isSymmetricAlgorithm('none'), false)
})
