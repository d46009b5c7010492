// nativePublicKey: a key read back from its SPKI encoding, the same public values.
import {
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto'
import t from 'tap'
import { nativePublicKey } from '../src/index.js'

t.test(
  'nativePublicKey gives the same public key, which verifies what the key signs',
  async (t) => {
    const pairs: [string, { publicKey: KeyObject; privateKey: KeyObject }, string | null][] = [
      ['RSA', generateKeyPairSync('rsa', { modulusLength: 2048 }), 'sha256'],
      ['P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'sha256'],
      ['P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'sha384'],
      ['P-521', generateKeyPairSync('ec', { namedCurve: 'P-521' }), 'sha512'],
      ['Ed25519', generateKeyPairSync('ed25519'), null],
      ['Ed448', generateKeyPairSync('ed448'), null],
    ]
    const data = Buffer.from('header.payload')
    for (const [name, pair, hash] of pairs) {
      // A key built from a JWK, as the JWKS and JWK paths build them.
      const fromJwk = createPublicKey({
        key: pair.publicKey.export({ format: 'jwk' }),
        format: 'jwk',
      })
      const native = nativePublicKey(fromJwk)
      t.not(native, fromJwk, `${name}: a key of its own`)
      t.equal(native.type, 'public', name)
      t.equal(native.equals(fromJwk), true, `${name}: the same public values`)
      t.same(native.asymmetricKeyDetails, fromJwk.asymmetricKeyDetails, name)
      const signature = sign(hash, data, pair.privateKey)
      t.equal(verify(hash, data, native, signature), true, `${name}: verifies`)
      const other = Buffer.from('header.payloae')
      t.equal(verify(hash, other, native, signature), false, `${name}: refuses other data`)
    }
    // A key that has no SPKI encoding stays as it is.
    const secret = createSecretKey(Buffer.alloc(32, 1))
    t.equal(nativePublicKey(secret), secret)
  },
)
