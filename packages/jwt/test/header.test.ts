import { readFileSync } from 'node:fs'
import t from 'tap'
import { createJwtVerifier, type JwtVerifierOptions } from '../src/index.js'
import { startServer } from './fixtures/jwks-server.js'
import { AUDIENCE, ISSUER, NOW, claims, mint, pair, rawToken, signRaw } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

const base = { issuer: ISSUER, audience: AUDIENCE, now: () => NOW }
const make = (options: Partial<JwtVerifierOptions>) => createJwtVerifier({ ...base, ...options })

t.test('alg none in every spelling is refused, signed or not', async (t) => {
  const rsa = await pair('RS256')
  const verifier = make({ key: rsa.pem })
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    t.equal(
      await outcome(verifier, rawToken({ alg, typ: 'at+jwt' }, claims(), '')),
      'algorithm_not_allowed',
      `${alg} empty signature`,
    )
    t.equal(await outcome(verifier, rawToken({ alg, typ: 'at+jwt' })), 'algorithm_not_allowed', alg)
  }
  t.equal(await outcome(verifier, rawToken({ alg: 'none' }, claims(), '')), 'algorithm_not_allowed')
  for (const alg of [undefined, 5, null, ['RS256'], { a: 1 }]) {
    t.equal(
      await outcome(verifier, rawToken({ alg, typ: 'at+jwt' })),
      'malformed',
      `alg ${JSON.stringify(alg)}`,
    )
  }
  for (const alg of ['RS1', 'rs256', 'HS256', 'ES256K', '']) {
    t.equal(
      await outcome(verifier, rawToken({ alg, typ: 'at+jwt' })),
      'algorithm_not_allowed',
      `alg ${alg}`,
    )
  }
})

t.test('jku, x5u, jwk and x5c never cause a request and never supply a key', async (t) => {
  const server = await startServer()
  t.teardown(() => server.close())
  const legit = await pair('RS256')
  const attacker = await pair('RS256', 'attacker')
  server.json('/attacker-jwks', { keys: [{ ...attacker.jwk, kid: legit.kid }] })
  server.json('/legit-jwks', { keys: [legit.jwk] })
  const certificate = readFileSync(new URL('./fixtures/cert.pem', import.meta.url), 'utf8')
  const x5c = certificate.replace(/-----[A-Z ]+-----|\s/g, '')
  const { createPrivateKey } = await import('node:crypto')
  const certSigner = {
    ...attacker,
    privateKey: createPrivateKey(
      readFileSync(new URL('./fixtures/cert-key.pem', import.meta.url), 'utf8'),
    ),
  }
  const hostile = {
    jku: { jku: `${server.origin}/attacker-jwks` },
    x5u: { x5u: `${server.origin}/attacker-cert` },
    jwk: { jwk: { ...attacker.jwk, kid: legit.kid } },
    'jwk without kid': { jwk: attacker.jwk, kid: undefined },
  }
  for (const verifier of [
    make({ key: legit.pem }),
    make({ key: legit.jwk }),
    make({ jwksUri: `${server.origin}/legit-jwks` }),
  ]) {
    for (const [name, header] of Object.entries(hostile)) {
      const code = await outcome(
        verifier,
        await mint(attacker, { header: { kid: legit.kid, ...header } }),
      )
      t.ok(['bad_signature', 'unknown_key'].includes(code), `${name}: ${code}`)
    }
    t.equal(
      await outcome(verifier, await mint(certSigner, { header: { kid: legit.kid, x5c: [x5c] } })),
      'bad_signature',
      'x5c',
    )
    // The legitimate key still works with those headers present: they are ignored, not refused.
    t.equal(
      await outcome(
        verifier,
        await mint(legit, {
          header: { jku: `${server.origin}/attacker-jwks`, x5u: `${server.origin}/x` },
        }),
      ),
      'accepted',
    )
  }
  t.equal(server.count('/attacker-jwks'), 0)
  t.equal(server.count('/attacker-cert'), 0)
  t.equal(server.count('/x'), 0)
  t.equal(server.count('/legit-jwks'), 1)
})

t.test('hostile kid values are refused with no side effect', async (t) => {
  const server = await startServer()
  t.teardown(() => server.close())
  const rsa = await pair('RS256')
  server.json('/jwks', { keys: [rsa.jwk] })
  const verifier = make({ jwksUri: `${server.origin}/jwks` })
  // On a cold cache, a malformed kid is refused before any fetch.
  for (const kid of [
    'k'.repeat(10 * 1024),
    'k'.repeat(257),
    '',
    42,
    null,
    ['a'],
    { $ne: 1 },
    true,
  ]) {
    t.equal(
      await outcome(verifier, await signRaw(rsa, { alg: 'RS256', typ: 'at+jwt', kid })),
      'malformed',
      `kid ${JSON.stringify(kid).slice(0, 20)}`,
    )
  }
  t.equal(server.requests.length, 0, 'no request for malformed kids')
  t.equal(await outcome(verifier, await mint(rsa)), 'accepted')
  t.equal(server.count('/jwks'), 1)
  // Path-like and URL-like kids are only ever map keys: unknown, no file or network access,
  // and no refetch inside the cooldown.
  for (const kid of [
    '../../../../etc/passwd',
    '/dev/stdin',
    'file:///etc/passwd',
    `${server.origin}/other`,
    '__proto__',
    'constructor',
    'toString',
  ]) {
    t.equal(
      await outcome(verifier, await signRaw(rsa, { alg: 'RS256', typ: 'at+jwt', kid })),
      'unknown_key',
      kid,
    )
  }
  t.same(server.requests, ['/jwks'])
  t.equal(
    await outcome(
      verifier,
      await signRaw(rsa, { alg: 'RS256', typ: 'at+jwt', kid: 'k'.repeat(256) }),
    ),
    'unknown_key',
    'a 256-character kid is still a kid',
  )
})

t.test('token shapes: segments, base64url, sizes never throw', async (t) => {
  const rsa = await pair('RS256')
  const verifier = make({ key: rsa.pem })
  const good = await mint(rsa)
  const [h, p, s] = good.split('.') as [string, string, string]
  const cases: Record<string, string> = {
    'two segments': `${h}.${p}`,
    'four segments': `${h}.${p}.${s}.${s}`,
    'one segment': h,
    'empty header': `.${p}.${s}`,
    'empty payload': `${h}..${s}`,
    'empty signature': `${h}.${p}.`,
    'padding in signature': `${s.length % 4 === 0 ? good + '.' : good}==`,
    'standard base64 in header': `${h.replace(/-/g, '+').replace(/_/g, '/')}+.${p}.${s}`,
    'space in payload': `${h}.${p.slice(0, 5)} ${p.slice(5)}.${s}`,
    'impossible length': `${h}.${p}.${s}A`.replace(/\.([^.]*)$/, (m) =>
      m.length % 4 === 2 ? m : m + 'AA',
    ),
    'header not json': `${Buffer.from('{alg:RS256').toString('base64url')}.${p}.${s}`,
    'header an array': `${Buffer.from('["RS256"]').toString('base64url')}.${p}.${s}`,
    'header a string': `${Buffer.from('"RS256"').toString('base64url')}.${p}.${s}`,
    'header with BOM': `${Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt' }))]).toString('base64url')}.${p}.${s}`,
    'header invalid utf-8': `${Buffer.concat([Buffer.from('{"alg":"RS256","typ":"at+jwt","x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]).toString('base64url')}.${p}.${s}`,
    'payload not json': `${h}.${Buffer.from('nope').toString('base64url')}.${s}`,
    'payload an array': `${h}.${Buffer.from('[1]').toString('base64url')}.${s}`,
    'payload null': `${h}.${Buffer.from('null').toString('base64url')}.${s}`,
    '64 KB header': `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', x: 'a'.repeat(64 * 1024) })).toString('base64url')}.${p}.${s}`,
    '20 KB header under the token limit': `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', x: 'a'.repeat(20 * 1024) })).toString('base64url')}.${p}.${s}`,
    'huge payload': `${h}.${'A'.repeat(70 * 1024)}.${s}`,
    'dots only': '..',
    'many dots': '.'.repeat(10_000),
  }
  for (const [name, token] of Object.entries(cases)) {
    t.equal(await outcome(verifier, token), 'malformed', name)
  }
  // Non-canonical trailing bits: same bytes, different string.
  const last = s[s.length - 1] as string
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const index = alphabet.indexOf(last)
  const sibling = alphabet[(index & ~0x03) + ((index & 0x03) === 0 ? 1 : 0)] as string
  t.equal(s.length % 4, 2 + (s.length % 4 === 3 ? 1 : 0), 'RS256 signature has trailing bits')
  t.equal(
    await outcome(verifier, `${h}.${p}.${s.slice(0, -1)}${sibling}`),
    'malformed',
    'non-canonical signature',
  )
  // Characters Node's base64url decoder reads as others: `+` and `/` (the base64 alphabet), and
  // any character above U+00FF, read by its low byte (U+0141 as `A`). Each gives the same bytes
  // as the genuine signature, so a lax decoder would accept a token that was never issued.
  const shifted = (c: string): string => String.fromCharCode(0x100 + c.charCodeAt(0))
  // A token whose signature has a `-` or `_` to swap (one in 50,000 has neither: mint again).
  let dashed = good
  while (!/[-_]/.test(dashed.split('.')[2] as string)) dashed = await mint(rsa)
  const lookalikes: [string, string, string][] = [
    ['U+0100 + code in signature', good, `${h}.${p}.${shifted(s)}${s.slice(1)}`],
    ['U+0100 + code at the end', good, `${h}.${p}.${s.slice(0, -1)}${shifted(s.slice(-1))}`],
    [
      'base64 alphabet in signature',
      dashed,
      dashed.replace(/[-_](?=[^.]*$)/, (c) => (c === '-' ? '+' : '/')),
    ],
  ]
  for (const [name, genuine, lookalike] of lookalikes) {
    const signature = lookalike.split('.')[2] as string
    t.not(lookalike, genuine, `${name}: a different string`)
    t.same(
      Buffer.from(signature, 'base64url'),
      Buffer.from(genuine.split('.')[2] as string, 'base64url'),
      `${name}: the same bytes to Node's decoder`,
    )
    t.equal(await outcome(verifier, lookalike), 'malformed', name)
  }
  const header = `${shifted(h)}${h.slice(1)}`
  t.equal(await outcome(verifier, `${header}.${p}.${s}`), 'malformed', 'lookalike in header')
  const payload = `${p.slice(0, 7)}${shifted(p.charAt(7))}${p.slice(8)}`
  t.equal(await outcome(verifier, `${h}.${payload}.${s}`), 'malformed', 'lookalike in payload')
  t.equal(await outcome(verifier, `${h}.${p}.${s.slice(0, 9)}é${s.slice(10)}`), 'malformed', 'é')
  t.equal(await outcome(verifier, `${h}.${p}.${s.slice(0, 9)}\ud800${s.slice(10)}`), 'malformed')
  t.equal(await outcome(verifier, good), 'accepted', 'the genuine token still verifies')
  // A 5-segment token is a JWE, which is not supported.
  t.equal(await outcome(verifier, 'a.b.c.d.e'), 'unsupported_token')
  t.equal(await outcome(verifier, ''), 'malformed')
  t.equal(await outcome(verifier, 42 as unknown as string), 'malformed')
  t.equal(await outcome(verifier, good), 'accepted')
})

t.test('typ: RFC 9068 at+jwt by default, media-type comparison, opt-outs', async (t) => {
  const rsa = await pair('RS256')
  const strict = make({ key: rsa.pem })
  for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
    t.equal(await outcome(strict, await mint(rsa, { header: { typ } })), 'accepted', typ)
  }
  for (const typ of [
    'JWT',
    'jwt',
    'application/jwt',
    'text/at+jwt',
    'at+jwt ',
    'at-jwt',
    'application/at+jwt; x=1',
    undefined,
  ]) {
    t.equal(await outcome(strict, await mint(rsa, { header: { typ } })), 'wrong_type', String(typ))
  }
  for (const typ of [1, null, ['at+jwt']]) {
    t.equal(
      await outcome(strict, await signRaw(rsa, { alg: 'RS256', typ })),
      'malformed',
      JSON.stringify(typ),
    )
  }
  // An ID token: typ JWT, aud = the client.
  const idToken = await mint(rsa, {
    header: { typ: 'JWT' },
    claims: { aud: 'client-1', nonce: 'n', client_id: undefined, azp: 'client-1' },
  })
  t.equal(await outcome(strict, idToken), 'wrong_type')
  // The documented opt-in for issuers that type access tokens as JWT: the audience still guards.
  const lenient = make({ key: rsa.pem, tokenTypes: ['at+jwt', 'JWT'] })
  t.equal(await outcome(lenient, await mint(rsa, { header: { typ: 'JWT' } })), 'accepted')
  t.equal(await outcome(lenient, idToken), 'wrong_audience')
  t.equal(await outcome(lenient, await mint(rsa, { header: { typ: undefined } })), 'wrong_type')
  const any = make({ key: rsa.pem, tokenTypes: null })
  t.equal(await outcome(any, await mint(rsa, { header: { typ: undefined } })), 'accepted')
  t.equal(await outcome(any, await mint(rsa, { header: { typ: 'whatever' } })), 'accepted')
  t.equal(await outcome(any, await signRaw(rsa, { alg: 'RS256', typ: 3 })), 'malformed')
  // Nested JWTs (cty JWT) are not supported.
  t.equal(await outcome(strict, await mint(rsa, { header: { cty: 'JWT' } })), 'unsupported_token')
  t.equal(
    await outcome(strict, await mint(rsa, { header: { cty: 'application/jwt' } })),
    'unsupported_token',
  )
  t.equal(await outcome(strict, await mint(rsa, { header: { cty: 'json' } })), 'accepted')
})

t.test('crit is handled per RFC 7515 §4.1.11', async (t) => {
  const rsa = await pair('RS256')
  const verifier = make({ key: rsa.pem })
  const sign = (header: Record<string, unknown>) =>
    signRaw(rsa, { alg: 'RS256', typ: 'at+jwt', ...header })
  t.equal(
    await outcome(verifier, await sign({ crit: ['exp'], exp: 1 })),
    'unsupported_critical_header',
  )
  t.equal(
    await outcome(verifier, await sign({ crit: ['b64'], b64: false })),
    'unsupported_critical_header',
  )
  t.equal(
    await outcome(verifier, await sign({ crit: ['b64'], b64: true })),
    'unsupported_critical_header',
  )
  for (const crit of [[], 'exp', ['exp', 'exp'], [1], ['alg'], ['kid'], ['missing']]) {
    t.equal(
      await outcome(verifier, await sign({ crit, exp: 1 })),
      'malformed',
      JSON.stringify(crit),
    )
  }
  t.equal(
    await outcome(verifier, await sign({ b64: false })),
    'malformed',
    'b64 false without crit',
  )
  t.equal(await outcome(verifier, await sign({ b64: 'false' })), 'malformed')
  t.equal(await outcome(verifier, await sign({ b64: true })), 'accepted')
})
