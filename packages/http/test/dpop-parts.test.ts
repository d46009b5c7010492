import t from 'tap'
import {
  createHash,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  verify as verifyWith,
  X509Certificate,
} from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint } from 'jose'
import { jwkThumbprint, thumbprintInput } from '../src/dpop/jwk-thumbprint.js'
import { createDpopNonces } from '../src/dpop/dpop-nonce.js'
import { certificateThumbprint } from '../src/dpop/certificate-thumbprint.js'
import {
  DEFAULT_MAX_CLIENT_CERT_LENGTH,
  parseClientCertHeader,
} from '../src/dpop/client-cert-header.js'
import { normalizeHtu, htuMatches } from '../src/dpop/htu.js'
import {
  PROOF_ALGORITHMS,
  decodeBase64url,
  decodeBase64urlText,
  decodeSignature,
  importPublicKey,
  verifySignature,
} from '../src/lib/dpop-crypto.js'
import { nativePublicKey } from '@bearerkit/core'
import { NOW, proofKey } from './fixtures/dpop.js'

t.test('jwkThumbprint is RFC 7638 (the RFC example and jose agree)', async (t) => {
  // RFC 7638 §3.1 example key and its thumbprint.
  const rfc = {
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
    alg: 'RS256',
    kid: '2011-04-29',
  }
  t.equal(jwkThumbprint(rfc), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  for (const alg of ['ES256', 'ES384', 'EdDSA', 'PS256']) {
    const key = await proofKey(alg)
    t.equal(
      jwkThumbprint(key.publicJwk as Record<string, unknown>),
      await calculateJwkThumbprint(key.publicJwk),
      alg,
    )
    // Private members and extras change nothing: only the required members are hashed.
    t.equal(
      jwkThumbprint(key.privateJwk as Record<string, unknown>),
      jwkThumbprint(key.publicJwk as Record<string, unknown>),
    )
  }
  t.throws(() => jwkThumbprint({ kty: 'oct', k: 'AAAA' }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /jwk must be/,
  })
  t.throws(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'AA' }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  t.throws(() => jwkThumbprint({ kty: 'RSA', n: '', e: 'AQAB' }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => jwkThumbprint({ kty: 'RSA', n: 1, e: 'AQAB' }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => jwkThumbprint(null as unknown as Record<string, unknown>), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
  t.throws(() => jwkThumbprint({ kty: 'toString' }), { code: 'ERR_INVALID_ARG_VALUE' })
  // Inherited members do not count.
  t.equal(
    thumbprintInput(
      Object.create({ kty: 'OKP', crv: 'Ed25519', x: 'AA' }) as Record<string, unknown>,
    ),
    null,
  )
  t.same(thumbprintInput({ kty: 'OKP', crv: 'Ed25519', x: 'AA', d: 'x' }), {
    canonical: '{"crv":"Ed25519","kty":"OKP","x":"AA"}',
    members: { crv: 'Ed25519', kty: 'OKP', x: 'AA' },
  })
})

t.test('the imported-key cache stays bounded and still serves correct keys', async (t) => {
  for (let i = 0; i < 1002; i++) {
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as Record<
      string,
      string
    >
    const input = thumbprintInput(jwk)
    if (input === null) throw new Error('no input')
    const imported = importPublicKey(input.canonical, input.members)
    if (imported === null || imported.thumbprint !== jwkThumbprint(jwk)) t.fail(`key ${i}`)
  }
  t.equal(
    importPublicKey('{"crv":"Ed25519","kty":"OKP","x":"AA"}', {
      crv: 'Ed25519',
      kty: 'OKP',
      x: 'AA',
    }),
    null,
  )
  t.pass('1002 keys imported')
  // A key node:crypto cannot verify with (X25519 is for key agreement) is a failed check, not a throw.
  const x25519 = generateKeyPairSync('x25519').publicKey
  t.equal(
    verifySignature(PROOF_ALGORITHMS.get('EdDSA')!, x25519, 'a.b.c', 3, new Uint8Array(64)),
    false,
  )
  // A signing input that is not ASCII fails before any verification (a checked proof is ASCII).
  const ed = generateKeyPairSync('ed25519')
  const signed = (input: string) => nodeSign(null, Buffer.from(input), ed.privateKey)
  const eddsa = PROOF_ALGORITHMS.get('EdDSA')!
  t.equal(verifySignature(eddsa, ed.publicKey, 'ab.cd.x', 5, signed('ab.cd')), true)
  // Its first 3 UTF-8 bytes are the signed 'é.': only the ASCII check refuses it.
  t.equal(verifySignature(eddsa, ed.publicKey, 'é.b.x', 3, signed('é.')), false)
})

t.test('stateless nonces: fleet-wide, step-bounded, unforgeable, rotatable', async (t) => {
  let clock = NOW
  const now = () => clock
  const secret = 'a-secret-of-at-least-32-bytes-....'
  const a = createDpopNonces({ secret, now })
  const b = createDpopNonces({ secret: new TextEncoder().encode(secret), now })
  const nonce = a.issue()
  t.match(nonce, /^[A-Za-z0-9_-]{32}$/)
  t.equal(a.issue(), nonce, 'one nonce per step')
  t.equal(b.issue(), nonce, 'every instance with the secret issues the same nonce')
  t.ok(b.verify(nonce), 'and accepts the others')
  // Steps of 60 s: accepted in its step and the next, and one step early.
  clock = NOW + 60_000
  t.ok(a.verify(nonce))
  t.not(a.issue(), nonce)
  clock = NOW + 120_000
  t.notOk(a.verify(nonce), 'stale after two steps')
  clock = NOW - 60_000
  t.ok(a.verify(nonce), 'an instance one step behind still accepts it')
  clock = NOW - 120_000
  t.notOk(a.verify(nonce))
  clock = NOW
  // Forged: another secret, a changed step, a changed tag, wrong shapes.
  t.notOk(createDpopNonces({ secret: 'x'.repeat(32), now }).verify(nonce))
  t.notOk(a.verify(createDpopNonces({ secret: 'x'.repeat(32), now }).issue()))
  const bytes = Buffer.from(nonce, 'base64url')
  bytes[7] = (bytes[7] as number) ^ 1
  t.notOk(a.verify(bytes.toString('base64url')), 'another step with the old tag')
  const tag = Buffer.from(nonce, 'base64url')
  tag[23] = (tag[23] as number) ^ 1
  t.notOk(a.verify(tag.toString('base64url')))
  t.notOk(a.verify(''))
  t.notOk(a.verify(`${nonce}A`))
  t.notOk(a.verify(`${nonce.slice(0, -1)}+`))
  t.notOk(a.verify(42 as unknown as string))
  // Rotation: the new secret issues, the old one is still accepted.
  const rotated = createDpopNonces({ secret: ['n'.repeat(32), secret], now })
  t.ok(rotated.verify(nonce))
  t.not(rotated.issue(), nonce)
  t.notOk(a.verify(rotated.issue()))
  // Custom step.
  const hourly = createDpopNonces({ secret, step: 3600, now })
  const h = hourly.issue()
  clock = NOW + 3_600_000
  t.ok(hourly.verify(h))
  // Options.
  const bad = (options: unknown, message: RegExp) =>
    t.throws(() => createDpopNonces(options as never), { code: 'ERR_INVALID_ARG_VALUE', message })
  bad(undefined, /options must be an object/)
  bad({ secret: 'short' }, /options\.secret must be/)
  bad({ secret: [] }, /options\.secret must not be empty/)
  bad({ secret: ['x'.repeat(32), 7] }, /options\.secret\[1\]/)
  bad({ secret, step: 0 }, /options\.step/)
  bad({ secret, now: 5 }, /options\.now/)
  // The secret is copied: changing the caller's buffer later changes nothing.
  const buffer = new TextEncoder().encode(secret)
  const copy = createDpopNonces({ secret: buffer, now })
  const before = copy.issue()
  buffer.fill(0)
  t.ok(copy.verify(before))
  t.ok(createDpopNonces({ secret }).issue().length === 32)
})

function makeCertificate(): { der: Buffer; pem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bearerkit-cert-'))
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile,
      '-subj',
      '/CN=client',
      '-days',
      '1',
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  )
  const pem = readFileSync(certFile, 'utf8')
  return { der: new X509Certificate(pem).raw, pem }
}

t.test('certificate thumbprint and the RFC 9440 Client-Cert header', async (t) => {
  const { der, pem } = makeCertificate()
  const expected = createHash('sha256').update(der).digest('base64url')
  t.equal(certificateThumbprint(der), expected)
  t.equal(certificateThumbprint(new Uint8Array(der)), expected)
  t.throws(() => certificateThumbprint(new Uint8Array(0)), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => certificateThumbprint(pem as unknown as Uint8Array), {
    code: 'ERR_INVALID_ARG_VALUE',
  })

  const field = `:${der.toString('base64')}:`
  const parsed = parseClientCertHeader(field)
  t.ok(parsed !== null && Buffer.from(parsed).equals(der))
  t.equal(certificateThumbprint(parseClientCertHeader(` ${field}\t`) as Uint8Array), expected)
  t.equal(certificateThumbprint(parseClientCertHeader([field]) as Uint8Array), expected)
  // Absent, repeated, too long, not a Byte Sequence, not DER.
  t.equal(parseClientCertHeader(undefined), null)
  t.equal(parseClientCertHeader(null), null)
  t.equal(parseClientCertHeader([field, field]), null)
  t.equal(parseClientCertHeader(`${field}, ${field}`), null)
  t.equal(parseClientCertHeader(field, { maxLength: 100 }), null)
  t.equal(parseClientCertHeader(`:${'A'.repeat(DEFAULT_MAX_CLIENT_CERT_LENGTH)}:`), null)
  t.equal(parseClientCertHeader(der.toString('base64')), null, 'no colons')
  t.equal(parseClientCertHeader(`:${der.toString('base64url')}:`), null, 'base64url is not base64')
  const unpadded = parseClientCertHeader(`:${der.toString('base64').replace(/=+$/, '')}:`)
  t.equal(unpadded === null ? null : certificateThumbprint(unpadded), expected, 'padding optional')
  t.equal(parseClientCertHeader('::'), null)
  t.equal(parseClientCertHeader(`:${Buffer.from('hello').toString('base64')}:`), null)
  t.equal(parseClientCertHeader(`:${pem}:`), null, 'PEM is not accepted')
  // DER shapes: short form, long form, a length that does not span the bytes, indefinite length.
  const b64 = (bytes: number[]) => `:${Buffer.from(bytes).toString('base64')}:`
  t.ok(parseClientCertHeader(b64([0x30, 0x01, 0x00])))
  t.equal(parseClientCertHeader(b64([0x30, 0x02, 0x00])), null)
  t.equal(parseClientCertHeader(b64([0x30])), null)
  t.equal(parseClientCertHeader(b64([0x31, 0x01, 0x00])), null)
  t.equal(parseClientCertHeader(b64([0x30, 0x80, 0x00, 0x00])), null)
  t.equal(parseClientCertHeader(b64([0x30, 0x85, 1, 1, 1, 1, 1])), null)
  t.equal(parseClientCertHeader(b64([0x30, 0x82, 0x00])), null)
  t.ok(parseClientCertHeader(b64([0x30, 0x81, 0x01, 0x00])), 'long form')
})

t.test('htu normal forms', async (t) => {
  t.equal(normalizeHtu('HTTPS://Example.COM:443'), 'https://example.com/')
  t.equal(normalizeHtu('https://example.com/%7e%41%2f'), 'https://example.com/~A%2F')
  t.equal(normalizeHtu('https://example.com/p?'), null)
  t.equal(normalizeHtu('https://example.com/p#'), null)
  t.equal(normalizeHtu('https://:pw@example.com/'), null)
  t.equal(normalizeHtu('not a uri'), null)
  t.notOk(htuMatches('https://example.com/p', 'https://user@example.com/p'))
  t.ok(htuMatches('https://example.com/p', 'https://example.com/p#frag'))
})

t.test('strict base64url: one spelling per byte string', async (t) => {
  for (const bytes of [[0x66], [0x66, 0x6f], [0xff], [0xfb, 0xf0], [0xd3], [0x00, 0x0f]]) {
    const text = Buffer.from(bytes).toString('base64url')
    t.same([...(decodeBase64url(text) ?? [])], bytes, text)
  }
  // Spare bits set, in every character class of the alphabet.
  for (const bad of [
    'Zh',
    'Zm9',
    'A0',
    'A-',
    'A_',
    'Ab',
    'AB',
    'AAB',
    'AA9',
    'A',
    'AAAAA',
    'a+b',
    'a=',
  ]) {
    t.equal(decodeBase64url(bad), null, bad)
  }
  t.same([...(decodeBase64url('') ?? [0])], [])
})

t.test('signatures decode as strictly, straight from the proof', async (t) => {
  const decode = (text: string, prefix = 'h.c.') => {
    const bytes = decodeSignature(`${prefix}${text}`, prefix.length)
    return bytes === null ? null : [...bytes]
  }
  // Every length, random bytes: the same bytes as Node's decoder, the view of the right length.
  for (let length = 0; length < 200; length++) {
    const bytes = [...randomBytes(length)]
    const text = Buffer.from(bytes).toString('base64url')
    t.same(decode(text), bytes, `${length} bytes`)
    t.same(decode(text, ''), bytes)
  }
  // A longer signature than the buffer held (an RSA-16384 one), then short ones again.
  const big = [...randomBytes(2048)]
  t.same(decode(Buffer.from(big).toString('base64url')), big)
  t.same(decode('AAEC'), [0, 1, 2])
  // Each character outside the alphabet, at each position of a block and in the tail.
  for (const bad of ['+', '/', '=', ' ', '.', '\0', 'é', '\u0141', '\uFF21']) {
    for (const text of [
      `${bad}AAA`,
      `A${bad}AA`,
      `AA${bad}A`,
      `AAA${bad}`,
      `AAAA${bad}A`,
      `AAAAA${bad}`,
    ]) {
      t.equal(decode(text), null, JSON.stringify(text))
    }
  }
  // Spare bits set, impossible lengths.
  for (const bad of ['Zh', 'Zm9', 'A0', 'A-', 'A_', 'Ab', 'AB', 'AAB', 'AA9', 'A', 'AAAAA']) {
    t.equal(decode(bad), null, bad)
  }
  t.same(decode(''), [])
})

t.test('the segment decoders agree with the strict reference on hostile text', async (t) => {
  // The reference checks the alphabet by regular expression; the decoders check around Node's
  // lenient decoder instead. Strings built from base64url letters and every kind of foreign
  // character, at every position: the same verdict and the same bytes from all of them.
  const SPARE = 'AQgw'
  const strict = (text: string): Buffer | null =>
    /^[A-Za-z0-9_-]*$/.test(text) &&
    text.length % 4 !== 1 &&
    // RFC 4648 §3.5: the bits after the last full byte are zero.
    (text.length % 4 !== 2 || SPARE.includes(text.at(-1) as string)) &&
    (text.length % 4 !== 3 || 'AEIMQUYcgkosw048'.includes(text.at(-1) as string))
      ? Buffer.from(text, 'base64url')
      : null
  const pieces = [
    'A',
    'g',
    '-',
    '_',
    'Q',
    '+',
    '/',
    '=',
    ' ',
    '.',
    '\0',
    '\n',
    'é',
    '\u0141',
    '\u0130',
    '\uFF21',
    '\uD800',
  ]
  let seed = 7
  const next = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return (seed >>> 16) % n
  }
  let checked = 0
  let refused = 0
  for (let i = 0; i < 20_000; i++) {
    const length = next(12)
    let text = ''
    // Mostly letters, so that many strings are valid and the foreign one is alone.
    for (let j = 0; j < length; j++)
      text += next(4) === 0 ? pieces[next(pieces.length)] : 'AgQw'[next(4)]
    const reference = strict(text)
    const bytes = decodeBase64url(text)
    const signature = decodeSignature(`h.c.${text}`, 4)
    const asText = decodeBase64urlText(text)
    if (reference === null) {
      refused++
      if (bytes !== null || signature !== null || asText !== null) {
        t.fail(`accepted ${JSON.stringify(text)}`)
      }
      continue
    }
    if (bytes === null || !bytes.equals(reference)) t.fail(`bytes ${JSON.stringify(text)}`)
    checked++
    if (signature === null || !Buffer.from(signature).equals(reference)) {
      t.fail(`signature ${JSON.stringify(text)}`)
    }
    if (asText !== reference.toString('utf8')) t.fail(`text ${JSON.stringify(text)}`)
  }
  t.ok(checked > 2000 && refused > 2000, `${checked} accepted, ${refused} refused`)
  // Text decodes as UTF-8, multi-byte characters included.
  for (const value of ['', 'a', '{"jti":"x"}', 'ünïcødé ✓', '\u{1F600}']) {
    t.equal(decodeBase64urlText(Buffer.from(value).toString('base64url')), value)
  }
  // A segment longer than the buffer held, then a short one again.
  const long = 'x'.repeat(10_000)
  t.equal(decodeBase64urlText(Buffer.from(long).toString('base64url')), long)
  t.equal(decodeBase64urlText('e30'), '{}')
})

t.test('the last request URL is remembered, never the proof side', async (t) => {
  const url = 'https://example.com/mcp?session=1'
  // The same request URL again and again (the remembered one), each proof judged afresh.
  t.ok(htuMatches('https://example.com/mcp', url))
  t.notOk(htuMatches('https://example.com/other', url))
  t.ok(htuMatches('HTTPS://EXAMPLE.com:443/mcp', url))
  t.notOk(htuMatches('https://example.com/mcp/', url))
  // Another URL, then the first again.
  t.notOk(htuMatches('https://example.com/mcp', 'https://example.com/mcp2'))
  t.ok(htuMatches('https://example.com/mcp', url))
  // A request URL that does not parse stays refused when it comes again.
  t.notOk(htuMatches('x', 'x'))
  t.notOk(htuMatches('x', 'x'))
})

t.test('the htu memo stays bounded and keeps long URIs out', async (t) => {
  for (let i = 0; i < 1005; i++) {
    t.equal(htuMatches(`https://h${i}.example/p`, `https://h${i}.example/p`), true)
  }
  const long = `https://example.com/${'a'.repeat(600)}`
  t.ok(htuMatches(long, long))
  t.ok(
    htuMatches(
      long.toUpperCase().replace('HTTPS://EXAMPLE.COM', 'https://example.com'),
      long.toUpperCase().replace('HTTPS://EXAMPLE.COM', 'https://example.com'),
    ),
  )
})

t.test('a proof key is kept as a native key with the public values of its JWK', async (t) => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>
  const members = { crv: jwk.crv as string, kty: 'EC', x: jwk.x as string, y: jwk.y as string }
  const fromJwk = createPublicKey({ key: members, format: 'jwk' })
  const native = nativePublicKey(fromJwk)
  t.not(native, fromJwk)
  t.equal(native.equals(fromJwk), true)
  const imported = importPublicKey(JSON.stringify(members), members)
  t.equal(imported?.key.equals(pair.publicKey), true, 'the imported key is the key of the JWK')
  const data = Buffer.from('a.b')
  const signature = nodeSign('sha256', data, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' })
  const key = { key: imported?.key as typeof native, dsaEncoding: 'ieee-p1363' } as const
  t.equal(verifyWith('sha256', data, key, signature), true)
  t.equal(verifyWith('sha256', Buffer.from('a.c'), key, signature), false)
  // A key without an SPKI encoding stays as it is.
  const secret = createSecretKey(Buffer.alloc(32, 1))
  t.equal(nativePublicKey(secret), secret)
})
