// Signature shapes: `alg: none` has its own explicit refusal, and ECDSA signatures must be
// exactly R || S (RFC 7518 §3.4) before node:crypto is asked at all.
import * as crypto from 'node:crypto'
import type { Refusal } from '@bearerkit/core'
import t from 'tap'
import { createJwsVerifier, createJwtVerifier, createKeyResolver } from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, claims, pair, rawToken, signRaw } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'
import type * as PreparedKeyModuleValue from '../src/lib/prepared-key.js'

type PreparedKeyModule = typeof PreparedKeyModuleValue

const NONE = 'Unsecured tokens (alg none) are never accepted'

t.test('alg none is refused by its own rule, in every spelling', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, key: rsa.pem })
  const jws = createJwsVerifier({ keys: createKeyResolver({ key: rsa.pem }), types: null })
  for (const alg of ['none', 'None', 'NONE', 'nOnE', 'noNE', 'NoNe']) {
    for (const signature of ['', 'c2ln']) {
      const token = rawToken({ alg, typ: 'at+jwt' }, claims(), signature)
      let refusal: Refusal | undefined
      t.equal(await verifier.verifyToken(token, { onRefusal: (r) => (refusal = r) }), null)
      // The same code as any algorithm outside the allow-list, but this rule's own description:
      // the explicit check runs before the allow-list is consulted.
      t.equal(refusal?.code, 'algorithm_not_allowed', `${alg} ${signature || 'unsigned'}`)
      t.equal(refusal?.description, NONE, `${alg}: refused as unsecured, not as unlisted`)
      const result = await jws.verify(token)
      t.equal((result as Refusal).code, 'algorithm_not_allowed')
      t.equal((result as Refusal).description, NONE)
    }
  }
  // Other algorithms outside the allow-list are refused by the allow-list, not by this rule.
  const other = await jws.verify(rawToken({ alg: 'HS256', typ: 'at+jwt' }))
  t.equal((other as Refusal).description, 'The token algorithm is not allowed')
})

const CURVES = [
  ['ES256', 64],
  ['ES384', 96],
  ['ES512', 132],
] as const

/** Signatures of every wrong length for `alg`, and the DER encoding node:crypto uses natively. */
function wrongSignatures(good: Buffer, der: Buffer, size: number): Map<string, Buffer> {
  const wrong = new Map<string, Buffer>()
  for (let length = 1; length <= size + 8; length++) {
    if (length === size) continue
    // The genuine signature cut or padded to each length.
    const bytes = Buffer.alloc(length)
    good.copy(bytes, 0, 0, Math.min(length, good.length))
    wrong.set(`length ${length}`, bytes)
  }
  wrong.set('length +1 (a zero appended)', Buffer.concat([good, Buffer.alloc(1)]))
  wrong.set('length +1 (a zero prepended)', Buffer.concat([Buffer.alloc(1), good]))
  wrong.set('length -1', good.subarray(0, -1))
  wrong.set(`DER (${der.length} bytes)`, der)
  wrong.set('twice', Buffer.concat([good, good]))
  return wrong
}

t.test('ECDSA signatures of every wrong length are refused as bad_signature', async (t) => {
  for (const [alg, size] of CURVES) {
    const signer = await pair(alg)
    const verifier = createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      key: signer.pem,
      algorithms: [alg],
      now: () => NOW,
    })
    const token = await signRaw(signer, { alg, typ: 'at+jwt', kid: signer.kid })
    t.equal(await outcome(verifier, token), 'accepted', `${alg} genuine`)
    const input = token.slice(0, token.lastIndexOf('.'))
    const good = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url')
    t.equal(good.length, size)
    const der = crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), signer.privateKey)
    t.ok(
      crypto.verify(`sha${alg.slice(2)}`, Buffer.from(input), signer.publicKey, der),
      `${alg}: the DER form is a valid signature to node:crypto by default`,
    )
    for (const [name, signature] of wrongSignatures(good, der, size)) {
      t.equal(
        await outcome(verifier, `${input}.${signature.toString('base64url')}`),
        'bad_signature',
        `${alg} ${name}`,
      )
    }
  }
})

t.test('the ECDSA length check refuses before node:crypto is asked', async (t) => {
  // Node refuses these shapes itself today; the check must not depend on that, so its verify is
  // watched and must not be reached with a signature of the wrong length.
  const lengths: number[] = []
  const { prepareKey } = await t.mockImport<PreparedKeyModule>('../src/lib/prepared-key.js', {
    'node:crypto': {
      ...crypto,
      verify: (...args: Parameters<typeof crypto.verify>) => {
        lengths.push((args[3] as Uint8Array).length)
        return crypto.verify(...args)
      },
    },
  })
  for (const [alg, size] of CURVES) {
    const signer = await pair(alg)
    const key = prepareKey(signer.publicKey, undefined, [alg])
    if (typeof key === 'string') throw new Error(key)
    const data = Buffer.from('header.payload')
    const good = crypto.sign(`sha${alg.slice(2)}`, data, {
      key: signer.privateKey,
      dsaEncoding: 'ieee-p1363',
    })
    const der = crypto.sign(`sha${alg.slice(2)}`, data, signer.privateKey)
    lengths.length = 0
    t.ok(key.verify(alg, data, good), `${alg} genuine`)
    t.same(lengths, [size], `${alg}: node:crypto checks the genuine signature`)
    lengths.length = 0
    for (const [name, signature] of wrongSignatures(good, der, size)) {
      t.notOk(key.verify(alg, data, signature), `${alg} ${name}`)
    }
    t.same(lengths, [], `${alg}: no signature of a wrong length reached node:crypto`)
  }
})
