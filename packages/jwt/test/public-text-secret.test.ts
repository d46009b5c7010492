import t from 'tap'
import { createJwtVerifier } from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, pair } from './fixtures/keys.js'

// Variants of "public key text becomes an HMAC secret" that an earlier guard let through: a JWK
// file read as bytes with a byte order mark, hex DER, the base64 of JWK text, a JWK with text
// pasted after it. Each is public, so it must never verify an HS256 token.
t.test(
  'Public key text becomes an HMAC secret: BOM, hex, base64 and padded variants',
  async (t) => {
    const rsa = await pair('RS256')
    const jwkText = JSON.stringify(rsa.jwk)
    const der = rsa.publicKey.export({ type: 'spki', format: 'der' })
    const variants: Array<[string, string | Uint8Array]> = [
      [
        'JWK bytes with a UTF-8 BOM',
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(jwkText)]),
      ],
      ['JWK text with U+FEFF', `\uFEFF${jwkText}`],
      ['JWK text padded with blanks', `  \n${jwkText}\n `],
      ['JWK text with trailing garbage', `${jwkText}xyz`],
      ['hex of the SPKI DER', der.toString('hex')],
      ['base64 of the JWK text', Buffer.from(jwkText).toString('base64')],
      ['base64url of the PEM text', Buffer.from(rsa.pem).toString('base64url')],
    ]
    for (const [name, secret] of variants) {
      t.throws(
        () =>
          createJwtVerifier({
            issuer: ISSUER,
            audience: AUDIENCE,
            secret,
            algorithms: ['HS256'],
            now: () => NOW,
          }),
        { code: 'ERR_INVALID_ARG_VALUE', message: /^options\.secret is .*never a shared secret/ },
        name,
      )
    }
    const bomKey = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(jwkText)])
    t.throws(
      () =>
        createJwtVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          key: bomKey,
          algorithms: ['HS256'],
          now: () => NOW,
        }),
      { code: 'ERR_INVALID_ARG_VALUE', message: /^options\.key is .*never a shared secret/ },
      'bytes in key follow the rules of secret',
    )
    // A real random secret still works.
    t.doesNotThrow(() =>
      createJwtVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        secret: 'a random shared secret of enough length 8c1f0e',
        algorithms: ['HS256'],
      }),
    )
  },
)
