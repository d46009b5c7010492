import t from 'tap'
import { generateKeyPairSync, sign as nodeSign, randomUUID } from 'node:crypto'
import { CompactSign, calculateJwkThumbprint } from 'jose'
import { createMemoryReplayStore, type ReplayStore } from '@bearerkit/core'
import {
  DEFAULT_DPOP_ALGORITHMS,
  createDpopProofVerifier,
  type DpopProofRequest,
  type DpopProofVerifierOptions,
} from '../src/dpop/dpop-proof-verifier.js'
import { createDpopNonces } from '../src/dpop/dpop-nonce.js'
import { NOW, NOW_S, URL_, ath, proof, proofKey, rawJws } from './fixtures/dpop.js'

const TOKEN = 'an-access-token.not-a-real-one'
const base: DpopProofVerifierOptions = { now: () => NOW }

/** The verdict as one string: the jkt when accepted, else `error/reason`. */
async function verdict(
  verifier: ReturnType<typeof createDpopProofVerifier>,
  request: Partial<DpopProofRequest> & { proof: DpopProofRequest['proof'] },
): Promise<string> {
  const result = await verifier.verify({ method: 'GET', url: URL_, ...request })
  return result.valid ? `ok ${result.jkt}` : `${result.error}/${result.reason}`
}

t.test('a valid proof is accepted and yields the RFC 7638 thumbprint of its key', async (t) => {
  const key = await proofKey('ES256')
  const verifier = createDpopProofVerifier(base)
  const jkt = await calculateJwkThumbprint(key.publicJwk, 'sha256')
  const result = await verifier.verify({
    method: 'GET',
    url: URL_,
    proof: await proof(key, { ath: ath(TOKEN) }),
    accessToken: TOKEN,
  })
  t.same(result, {
    valid: true,
    jkt,
    alg: 'ES256',
    jti: result.valid ? result.jti : '',
    iat: NOW_S,
  })
  t.ok(Object.isFrozen(result))
  // One field line kept apart by the framework is one proof.
  const single = await verifier.verify({ method: 'GET', url: URL_, proof: [await proof(key)] })
  t.equal(single.valid, true)
  t.same(verifier.algorithms, DEFAULT_DPOP_ALGORITHMS)
  t.equal(verifier.requireNonce, false)
  t.equal(verifier.nonce(), undefined)
})

t.test('every allowed asymmetric algorithm verifies', async (t) => {
  const algs = [
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
    'Ed25519',
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
  ]
  const verifier = createDpopProofVerifier({ ...base, algorithms: algs })
  for (const alg of algs) {
    const key = await proofKey(alg)
    const jkt = await calculateJwkThumbprint(key.publicJwk, 'sha256')
    t.equal(await verdict(verifier, { proof: await proof(key) }), `ok ${jkt}`, alg)
  }
})

t.test('hostile proofs are refused with invalid_dpop_proof and a stable reason', async (t) => {
  const key = await proofKey('ES256')
  const other = await proofKey('ES256')
  const p384 = await proofKey('ES384')
  const rsa = await proofKey('RS256')
  const verifier = createDpopProofVerifier(base)
  const check = (proofValue: DpopProofRequest['proof'], request: Partial<DpopProofRequest> = {}) =>
    verdict(verifier, { proof: proofValue, ...request })
  const bad = 'invalid_dpop_proof/'

  // Exactly one DPoP field (§4.3 check 1).
  t.equal(await check(undefined), `${bad}missing`)
  t.equal(await check(null), `${bad}missing`)
  t.equal(await check([]), `${bad}missing`)
  const good = await proof(key)
  t.equal(await check([good, await proof(key)]), `${bad}multiple`)
  t.equal(await check(`${good}, ${await proof(key)}`), `${bad}multiple`)
  t.equal(await check([42 as unknown as string]), `${bad}multiple`)
  // Size limit before any parsing.
  t.equal(await check(await proof(key, { pad: 'x'.repeat(9000) })), `${bad}too_large`)
  // Well-formed compact JWS (§4.3 check 2).
  t.equal(await check('a.b'), `${bad}malformed`)
  t.equal(await check('a.b.c.d'), `${bad}malformed`)
  t.equal(await check('not a jws'), `${bad}malformed`)
  t.equal(await check(rawJws([1], {}, 'AA')), `${bad}malformed`)
  t.equal(
    await check(rawJws({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk }, 'text', 'AA')),
    `${bad}malformed`,
  )
  t.equal(await check(`${good.split('.').slice(0, 2).join('.')}.`), `${bad}malformed`)
  t.equal(await check(`%%%.${good.split('.').slice(1).join('.')}`), `${bad}malformed`)
  t.equal(await check(`${Buffer.from('{"a":').toString('base64url')}.e30.AA`), `${bad}malformed`)
  // Non-canonical base64url: the last character with non-zero spare bits; a length no byte
  // string has; a signature one byte too long.
  const [h, p, s] = good.split('.') as [string, string, string]
  t.equal(await check(`${h}.${p}.${s.slice(0, -1)}_`), `${bad}malformed`)
  t.equal(await check(`${h}.${p}.${s}AAA`), `${bad}malformed`)
  t.equal(await check(`${h}.${p}.${s}AA`), `${bad}bad_signature`)
  // A character outside base64url in one segment, at its start, middle and end: the header
  // (already cached from an earlier proof of this key, or new), the claims, the signature. Each
  // one a different way around Node's lenient decoder: base64's own letters, padding, white
  // space, NUL, Latin-1, and wider characters, of which some (U+0141) a decoder that converted
  // the text first would read as letters.
  const segments = [h, p, s]
  const fresh = (await proof(other)).split('.')[0] as string
  for (const foreign of ['+', '/', '=', ' ', '\0', 'é', '\u0141', '\u0130', '\uFF21']) {
    for (const [index, segment] of [...segments, fresh].entries()) {
      for (const at of [0, segment.length >> 1, segment.length]) {
        const parts = index === 3 ? [fresh, p, s] : [...segments]
        const which = index === 3 ? 0 : index
        parts[which] = `${segment.slice(0, at)}${foreign}${segment.slice(at)}`
        t.equal(
          await check(parts.join('.')),
          `${bad}malformed`,
          `${JSON.stringify(foreign)} ${index} ${at}`,
        )
        // Replacing a letter rather than adding one keeps the length of a valid segment.
        if (at < segment.length) {
          parts[which] = `${segment.slice(0, at)}${foreign}${segment.slice(at + 1)}`
          t.equal(
            await check(parts.join('.')),
            `${bad}malformed`,
            `${JSON.stringify(foreign)} for ${index} ${at}`,
          )
        }
      }
    }
  }
  // A comma (two field lines joined) in any one segment: the header (checked, and already
  // cached from an earlier proof of this key), the claims, the signature.
  t.equal(await check(`${h},.${p}.${s}`), `${bad}multiple`)
  t.equal(await check(`${h}.${p},.${s}`), `${bad}multiple`)
  t.equal(await check(`${h}.${p}.${s},`), `${bad}multiple`)
  t.equal(await check(`e30,.${p}.${s}`), `${bad}multiple`)
  t.equal(await check(`${h}.${p}.${s}`), `ok ${await calculateJwkThumbprint(key.publicJwk)}`)
  // typ (§4.3 check 4).
  t.equal(await check(await proof(key, {}, { header: { typ: 'JWT' } })), `${bad}wrong_type`)
  t.equal(await check(await proof(key, {}, { header: { typ: undefined } })), `${bad}wrong_type`)
  t.equal(
    await check(await proof(key, {}, { header: { typ: 'DPoP+JWT' } })),
    `ok ${await calculateJwkThumbprint(key.publicJwk)}`,
  )
  // alg (§4.3 check 5): none, HS256, and an asymmetric one not in the allow-list.
  const claims = { jti: randomUUID(), htm: 'GET', htu: URL_, iat: NOW_S }
  t.equal(
    await check(rawJws({ typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk }, claims)),
    `${bad}algorithm_not_allowed`,
  )
  t.equal(
    await check(rawJws({ typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk }, claims, 'AA')),
    `${bad}algorithm_not_allowed`,
  )
  const hs = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({
      typ: 'dpop+jwt',
      alg: 'HS256',
      jwk: { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' } as never,
    })
    .sign(new TextEncoder().encode('secret-secret-secret-secret-secret'))
  t.equal(await check(hs), `${bad}algorithm_not_allowed`)
  const es256Only = createDpopProofVerifier({ ...base, algorithms: ['ES256'] })
  t.equal(await verdict(es256Only, { proof: await proof(p384) }), `${bad}algorithm_not_allowed`)
  t.equal(
    await check(
      rawJws({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk, crit: ['exp'] }, claims, s),
    ),
    `${bad}unsupported_critical_header`,
  )
  // jwk (§4.3 check 6): private members, no jwk, a key that does not fit, a key not on the curve.
  t.equal(
    await check(await proof(key, {}, { header: { jwk: key.privateJwk } })),
    `${bad}private_key`,
  )
  t.equal(
    await check(await proof(rsa, {}, { header: { jwk: { ...rsa.publicJwk, p: 'AQAB' } } })),
    `${bad}private_key`,
  )
  t.equal(await check(await proof(key, {}, { header: { jwk: undefined } })), `${bad}invalid_key`)
  t.equal(
    await check(await proof(key, {}, { header: { jwk: [key.publicJwk] } })),
    `${bad}invalid_key`,
  )
  t.equal(await check(await proof(key, {}, { header: { jwk: 'key' } })), `${bad}invalid_key`)
  t.equal(
    await check(await proof(key, {}, { header: { jwk: rsa.publicJwk } })),
    `${bad}invalid_key`,
  )
  t.equal(
    await check(await proof(key, {}, { header: { jwk: p384.publicJwk } })),
    `${bad}invalid_key`,
  )
  t.equal(
    await check(await proof(key, {}, { header: { jwk: { ...key.publicJwk, alg: 'ES384' } } })),
    `${bad}invalid_key`,
  )
  t.equal(
    await check(await proof(key, {}, { header: { jwk: { ...key.publicJwk, kty: 'oct' } } })),
    `${bad}invalid_key`,
  )
  t.equal(
    await check(await proof(key, {}, { header: { jwk: { ...key.publicJwk, x: undefined } } })),
    `${bad}invalid_key`,
  )
  const offCurve = { ...key.publicJwk, y: key.publicJwk.x }
  t.equal(await check(await proof(key, {}, { header: { jwk: offCurve } })), `${bad}invalid_key`)
  // Signed by a key other than its jwk.
  t.equal(await check(await proof(key, {}, { signWith: other })), `${bad}bad_signature`)
  // An ECDSA signature of the wrong length (DER instead of r || s).
  t.equal(
    await check(`${h}.${p}.${Buffer.from(s, 'base64url').subarray(0, 63).toString('base64url')}`),
    `${bad}bad_signature`,
  )
  // Claims (§4.3 checks 7-11).
  t.equal(await check(await proof(key, { jti: undefined })), `${bad}missing_claim`)
  t.equal(await check(await proof(key, { jti: '' })), `${bad}missing_claim`)
  t.equal(await check(await proof(key, { jti: 'j'.repeat(257) })), `${bad}missing_claim`)
  t.equal(await check(await proof(key, { htm: undefined })), `${bad}missing_claim`)
  t.equal(await check(await proof(key, { htu: undefined })), `${bad}missing_claim`)
  t.equal(await check(await proof(key, { iat: undefined })), `${bad}missing_claim`)
  t.equal(await check(await proof(key, { iat: String(NOW_S) })), `${bad}missing_claim`)
  // JSON.parse reads 1e400 as Infinity: a number, but no NumericDate.
  const infinite = await new CompactSign(
    new TextEncoder().encode(`{"jti":"inf","htm":"GET","htu":"${URL_}","iat":1e400}`),
  )
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk })
    .sign(key.privateKey)
  t.equal(await check(infinite), `${bad}missing_claim`)
  t.equal(await check(await proof(key, { htm: 'POST' })), `${bad}wrong_method`)
  t.equal(await check(await proof(key, { htm: 'get' })), `${bad}wrong_method`)
  t.equal(await check(await proof(key), { method: 'POST' }), `${bad}wrong_method`)
  t.equal(
    await check(await proof(key, { htu: 'https://other.example.com/mcp' })),
    `${bad}wrong_uri`,
  )
  t.equal(await check(await proof(key, { htu: 'https://rs.example.com/admin' })), `${bad}wrong_uri`)
  t.equal(await check(await proof(key, { htu: 'https://rs.example.com/mcp/' })), `${bad}wrong_uri`)
  t.equal(
    await check(await proof(key, { htu: 'https://rs.example.com/mcp?a=1' }), {
      url: `${URL_}?a=2`,
    }),
    `${bad}wrong_uri`,
  )
  t.equal(
    await check(await proof(key, { htu: 'https://rs.example.com/mcp?a=1' }), {
      url: `${URL_}?a=1`,
    }),
    `${bad}wrong_uri`,
  )
  t.equal(await check(await proof(key, { htu: 'http://rs.example.com/mcp' })), `${bad}wrong_uri`)
  t.equal(
    await check(await proof(key, { htu: 'https://rs.example.com:8443/mcp' })),
    `${bad}wrong_uri`,
  )
  t.equal(
    await check(await proof(key, { htu: 'https://user@rs.example.com/mcp' })),
    `${bad}wrong_uri`,
  )
  t.equal(await check(await proof(key, { htu: '/mcp' })), `${bad}wrong_uri`)
  t.equal(await check(await proof(key, { htu: 'ftp://rs.example.com/mcp' })), `${bad}wrong_uri`)
  t.equal(await check(await proof(key, { htu: 42 })), `${bad}missing_claim`)
  // iat window: exact seconds on both sides (60 s past, 5 s future by default).
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  t.equal(await check(await proof(key, { iat: NOW_S - 60 })), `ok ${jkt}`)
  t.equal(await check(await proof(key, { iat: NOW_S - 61 })), `${bad}too_old`)
  t.equal(await check(await proof(key, { iat: NOW_S - 3600 })), `${bad}too_old`)
  t.equal(await check(await proof(key, { iat: NOW_S + 5 })), `ok ${jkt}`)
  t.equal(await check(await proof(key, { iat: NOW_S + 6 })), `${bad}issued_in_future`)
  t.equal(await check(await proof(key, { iat: NOW_S + 86400 })), `${bad}issued_in_future`)
  // ath (§4.3 check 11).
  t.equal(await check(await proof(key, { ath: ath(TOKEN) }), { accessToken: TOKEN }), `ok ${jkt}`)
  t.equal(
    await check(await proof(key, { ath: ath('another-token') }), { accessToken: TOKEN }),
    `${bad}wrong_token_hash`,
  )
  t.equal(await check(await proof(key), { accessToken: TOKEN }), `${bad}missing_claim`)
  t.equal(await check(await proof(key, { ath: 1 }), { accessToken: TOKEN }), `${bad}missing_claim`)
  // A nonce this server never issues (no nonces configured).
  t.equal(await check(await proof(key, { nonce: 'abc' })), `${bad}bad_nonce`)
})

t.test('htu matching normalises scheme, host, default port and percent-encoding', async (t) => {
  const key = await proofKey('ES256')
  const verifier = createDpopProofVerifier(base)
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  const accepts = async (htu: string, url: string) =>
    t.equal(
      await verdict(verifier, { proof: await proof(key, { htu }), url }),
      `ok ${jkt}`,
      `${htu} ~ ${url}`,
    )
  await accepts('HTTPS://RS.Example.COM:443/mcp', URL_)
  await accepts('https://rs.example.com/mcp', 'https://rs.example.com:443/mcp?x=1#f')
  await accepts('https://rs.example.com/%7emcp', 'https://rs.example.com/~mcp')
  await accepts('https://rs.example.com/a%2fb', 'https://rs.example.com/a%2Fb')
  await accepts('https://rs.example.com/a/../mcp', URL_)
  await accepts('http://rs.example.com:80', 'http://rs.example.com/')
  // An unparseable request URL never matches.
  t.equal(
    await verdict(verifier, { proof: await proof(key, { htu: 'x' }), url: 'x' }),
    'invalid_dpop_proof/wrong_uri',
  )
})

t.test(
  'a replayed proof is refused, on this instance and on another sharing the store',
  async (t) => {
    const key = await proofKey('ES256')
    const shared = createMemoryReplayStore({ now: () => NOW })
    const a = createDpopProofVerifier({ ...base, replayStore: shared })
    const b = createDpopProofVerifier({ ...base, replayStore: shared })
    const jkt = await calculateJwkThumbprint(key.publicJwk)
    const once = await proof(key, { ath: ath(TOKEN) })
    t.equal(await verdict(a, { proof: once, accessToken: TOKEN }), `ok ${jkt}`)
    t.equal(await verdict(a, { proof: once, accessToken: TOKEN }), 'invalid_dpop_proof/replayed')
    t.equal(await verdict(b, { proof: once, accessToken: TOKEN }), 'invalid_dpop_proof/replayed')
    // Two concurrent presentations: exactly one wins.
    const twice = await proof(key)
    const results = await Promise.all([verdict(a, { proof: twice }), verdict(b, { proof: twice })])
    t.same(results.sort(), ['invalid_dpop_proof/replayed', `ok ${jkt}`].sort())
    // The replay key expires when the proof would be too old anyway.
    const seen: [string, number][] = []
    const spy: ReplayStore = { markUsed: (k, until) => (seen.push([k, until]), true) }
    const c = createDpopProofVerifier({ ...base, replayStore: spy })
    const third = await proof(key, { jti: 'fixed-jti' })
    t.equal(await verdict(c, { proof: third }), `ok ${jkt}`)
    t.same(seen, [[`dpop ${jkt} fixed-jti`, NOW_S + 61]])
  },
)

t.test('a refused proof does not use up its jti', async (t) => {
  const key = await proofKey('ES256')
  const verifier = createDpopProofVerifier(base)
  const once = await proof(key)
  t.equal(
    await verdict(verifier, { proof: once, method: 'POST' }),
    'invalid_dpop_proof/wrong_method',
  )
  t.equal(
    await verdict(verifier, { proof: once }),
    `ok ${await calculateJwkThumbprint(key.publicJwk)}`,
  )
})

t.test('a replay store that fails makes the proof undecidable (503), never accepted', async (t) => {
  const key = await proofKey('ES256')
  const cases: [string, ReplayStore][] = [
    [
      'throws',
      {
        markUsed: () => {
          throw new Error('redis down')
        },
      },
    ],
    ['rejects', { markUsed: () => Promise.reject(new Error('redis down')) }],
    ['answers a string', { markUsed: () => 'OK' as unknown as boolean }],
    ['never answers', { markUsed: () => new Promise<boolean>(() => {}) }],
  ]
  // The guard's deadline timer does not hold the process open; this keeps the test alive for it.
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  for (const [name, replayStore] of cases) {
    const verifier = createDpopProofVerifier({ ...base, replayStore, replayStoreTimeout: 20 })
    await t.rejects(
      verifier.verify({ method: 'GET', url: URL_, proof: await proof(key) }),
      { code: 'ERR_VERIFIER_UNAVAILABLE', statusCode: 503 },
      name,
    )
  }
  const aborted = AbortSignal.abort(new Error('client went away'))
  // The caller's signal reaches a store of the user's (the built-in one answers at once).
  const verifier = createDpopProofVerifier({ ...base, replayStore: createMemoryReplayStore() })
  await t.rejects(
    verifier.verify({ method: 'GET', url: URL_, proof: await proof(key), signal: aborted }),
  )
})

t.test(
  'a proof longer than the signing buffer (4 KiB) verifies, and a changed one does not',
  async (t) => {
    const key = await proofKey('ES256')
    const verifier = createDpopProofVerifier(base)
    const long = await proof(key, { pad: 'x'.repeat(4000) })
    t.equal(
      await verdict(verifier, { proof: long }),
      `ok ${await calculateJwkThumbprint(key.publicJwk)}`,
    )
    const [h, p, s] = (await proof(key, { pad: 'y'.repeat(4000) })).split('.') as [
      string,
      string,
      string,
    ]
    // Same length, three pad characters changed ('yyy' is eXl5, 'zzz' enp6, at a 4-aligned
    // offset): the whole signing input is what was signed.
    const at = p.indexOf('eXl5eXl5', 400) - (p.indexOf('eXl5eXl5', 400) % 4)
    const forged = `${h}.${p.slice(0, at)}enp6${p.slice(at + 4)}.${s}`
    t.equal(await verdict(verifier, { proof: forged }), 'invalid_dpop_proof/bad_signature')
  },
)

t.test('ath: a token hash seen before never answers for another token', async (t) => {
  const key = await proofKey('EdDSA')
  const verifier = createDpopProofVerifier({ ...base, algorithms: ['EdDSA'] })
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  const send = async (accessToken: string, forToken: string) =>
    verdict(verifier, { proof: await proof(key, { ath: ath(forToken) }), accessToken })
  const first = `${'a'.repeat(700)}.one`
  const second = `${'a'.repeat(700)}.two`
  t.equal(await send(first, first), `ok ${jkt}`)
  t.equal(await send(first, first), `ok ${jkt}`, 'again, from what was kept')
  // Another token with the hash of one seen before, and the reverse.
  t.equal(await send(second, first), 'invalid_dpop_proof/wrong_token_hash')
  t.equal(await send(first, second), 'invalid_dpop_proof/wrong_token_hash')
  t.equal(await send(second, second), `ok ${jkt}`)
  // A token that differs in its last character only, and one that is a prefix of another.
  t.equal(await send(`${first}x`, first), 'invalid_dpop_proof/wrong_token_hash')
  t.equal(await send(first.slice(0, -1), first), 'invalid_dpop_proof/wrong_token_hash')
  // Tokens too long to be kept are hashed every time.
  const long = 'b'.repeat(5000)
  t.equal(await send(long, long), `ok ${jkt}`)
  t.equal(await send(long, long), `ok ${jkt}`)
  t.equal(await send(`${long}c`, long), 'invalid_dpop_proof/wrong_token_hash')
  // More tokens than are kept: the oldest go, and every answer stays right.
  for (let i = 0; i < 1010; i++) {
    if ((await send(`token-${i}`, `token-${i}`)) !== `ok ${jkt}`) t.fail(`token-${i}`)
  }
  t.equal(await send(first, first), `ok ${jkt}`, 'dropped, then hashed again')
  t.equal(await send('token-1009', 'token-1008'), 'invalid_dpop_proof/wrong_token_hash')
})

t.test(
  'verify rejects, never throws, when a check cannot be made (a clock that throws)',
  async (t) => {
    const key = await proofKey('ES256')
    const verifier = createDpopProofVerifier({
      now: () => {
        throw new Error('no clock')
      },
    })
    const pending = verifier.verify({ method: 'GET', url: URL_, proof: await proof(key) })
    t.ok(pending instanceof Promise)
    await t.rejects(pending, { message: 'no clock' })
  },
)

t.test('server nonces: required, stale, forged, and accepted', async (t) => {
  const key = await proofKey('ES256')
  let clock = NOW
  const nonces = createDpopNonces({ secret: 's'.repeat(32), now: () => clock })
  const forger = createDpopNonces({ secret: 'f'.repeat(32), now: () => clock })
  const verifier = createDpopProofVerifier({ now: () => clock, nonces, requireNonce: true })
  t.equal(verifier.requireNonce, true)
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  const issued = verifier.nonce() as string
  t.equal(issued, nonces.issue())
  t.equal(await verdict(verifier, { proof: await proof(key) }), 'use_dpop_nonce/nonce_required')
  t.equal(
    await verdict(verifier, { proof: await proof(key, { nonce: forger.issue() }) }),
    'use_dpop_nonce/bad_nonce',
  )
  t.equal(
    await verdict(verifier, { proof: await proof(key, { nonce: 42 }) }),
    'use_dpop_nonce/bad_nonce',
  )
  t.equal(await verdict(verifier, { proof: await proof(key, { nonce: issued }) }), `ok ${jkt}`)
  // Three steps later the nonce is stale; the proof itself is fresh.
  clock = NOW + 180_000
  const fresh = { iat: clock / 1000 }
  t.equal(
    await verdict(verifier, { proof: await proof(key, { ...fresh, nonce: issued }) }),
    'use_dpop_nonce/bad_nonce',
  )
  t.equal(
    await verdict(verifier, { proof: await proof(key, { ...fresh, nonce: verifier.nonce() }) }),
    `ok ${jkt}`,
  )
  // Nonces configured but not required: a proof without one passes, a bad one does not.
  const optional = createDpopProofVerifier({ now: () => clock, nonces })
  t.equal(await verdict(optional, { proof: await proof(key, fresh) }), `ok ${jkt}`)
  t.equal(
    await verdict(optional, { proof: await proof(key, { ...fresh, nonce: 'x' }) }),
    'use_dpop_nonce/bad_nonce',
  )
})

t.test('an RSA key under 2048 bits is refused', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const jwk = publicKey.export({ format: 'jwk' })
  const header = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'RS256', jwk })).toString(
    'base64url',
  )
  const payload = Buffer.from(
    JSON.stringify({ jti: 'j', htm: 'GET', htu: URL_, iat: NOW_S }),
  ).toString('base64url')
  const signature = nodeSign('sha256', Buffer.from(`${header}.${payload}`), privateKey).toString(
    'base64url',
  )
  const verifier = createDpopProofVerifier(base)
  t.equal(
    await verdict(verifier, { proof: `${header}.${payload}.${signature}` }),
    'invalid_dpop_proof/invalid_key',
  )
})

t.test('options are checked up front', async (t) => {
  const bad = (options: unknown, message: RegExp) =>
    t.throws(() => createDpopProofVerifier(options as DpopProofVerifierOptions), {
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  bad({ algorithm: ['ES256'] }, /options\.algorithm .*`algorithms`/)
  bad({ algorithms: ['HS256'] }, /options\.algorithms .*HS256 is not one/)
  bad({ algorithms: ['none'] }, /none is not one/)
  bad({ algorithms: [] }, /non-empty array/)
  bad({ algorithms: 'ES256' }, /non-empty array/)
  bad({ maxAge: 0 }, /options\.maxAge/)
  bad({ maxProofLength: 10 }, /options\.maxProofLength/)
  bad({ requireNonce: true }, /needs `nonces`/)
  bad({ requireNonce: 'yes' }, /options\.requireNonce must be true or false/)
  bad({ nonces: {} }, /options\.nonces/)
  bad({ nonces: null }, /options\.nonces/)
  bad({ replayStore: {} }, /replayStore/)
  bad(Promise.resolve({}), /Promise/)
  t.same(createDpopProofVerifier({ algorithms: ['ES256', 'ES256'] }).algorithms, ['ES256'])
  t.equal(typeof createDpopProofVerifier().verify, 'function')
})

t.test(
  'checked headers are cached per verifier, bounded, and long ones are not kept',
  async (t) => {
    const verifier = createDpopProofVerifier(base)
    const key = await proofKey('ES256')
    const jkt = await calculateJwkThumbprint(key.publicJwk)
    // 1001 distinct headers (an extra member each) fill the cache past its bound.
    for (let i = 0; i < 1001; i++) {
      t.equal(
        await verdict(verifier, { proof: await proof(key, {}, { header: { n: i } }) }),
        `ok ${jkt}`,
      )
    }
    // A header too long to keep is checked every time; the same header keeps working.
    const long = { pad: 'x'.repeat(3000) }
    t.equal(await verdict(verifier, { proof: await proof(key, {}, { header: long }) }), `ok ${jkt}`)
    t.equal(await verdict(verifier, { proof: await proof(key, {}, { header: long }) }), `ok ${jkt}`)
    // A cached header does not stand in for the signature: another key's signature is refused.
    const other = await proofKey('ES256')
    t.equal(
      await verdict(verifier, {
        proof: await proof(key, {}, { header: { n: 5 }, signWith: other }),
      }),
      'invalid_dpop_proof/bad_signature',
    )
  },
)

t.test("the previous proof's header stands in only for the same header text", async (t) => {
  const verifier = createDpopProofVerifier({ ...base, algorithms: ['ES256', 'EdDSA'] })
  const a = await proofKey('ES256')
  const b = await proofKey('EdDSA')
  const jktA = await calculateJwkThumbprint(a.publicJwk)
  const jktB = await calculateJwkThumbprint(b.publicJwk)
  // Alternating keys, then the same key twice: each proof gets its own header's key.
  for (const [key, jkt] of [
    [a, jktA],
    [b, jktB],
    [a, jktA],
    [a, jktA],
    [b, jktB],
  ] as const) {
    t.equal(await verdict(verifier, { proof: await proof(key) }), `ok ${jkt}`)
  }
  // After a proof of b: a header that begins with b's header text but is longer (b's header text
  // with characters added) is not b's, and one of equal length that differs is not either.
  t.equal(await verdict(verifier, { proof: await proof(b) }), `ok ${jktB}`)
  const [hb, pb, sb] = (await proof(b)).split('.') as [string, string, string]
  t.equal(await verdict(verifier, { proof: `${hb}AA.${pb}.${sb}` }), 'invalid_dpop_proof/malformed')
  t.equal(await verdict(verifier, { proof: await proof(b) }), `ok ${jktB}`)
  const [ha] = (await proof(a)).split('.') as [string]
  t.equal(
    await verdict(verifier, { proof: `${ha}.${pb}.${sb}` }),
    'invalid_dpop_proof/bad_signature',
    "b's claims and signature under a's header",
  )
})

t.test('a clock that gives no number: the proof is not judged (503), never accepted', async (t) => {
  const key = await proofKey('ES256')
  for (const reading of [Number.NaN, Infinity]) {
    let calls = 0
    const store: ReplayStore = {
      markUsed: () => {
        calls++
        return true
      },
    }
    const verifier = createDpopProofVerifier({ now: () => reading, replayStore: store })
    await t.rejects(
      verifier.verify({
        method: 'GET',
        url: URL_,
        proof: await proof(key, { ath: ath(TOKEN) }),
        accessToken: TOKEN,
      }),
      { name: 'VerifierUnavailableError', reason: 'clock_error' },
      String(reading),
    )
    t.equal(calls, 0, 'nothing claimed')
  }
  // verify reads the clock once: its reading judges iat and is the time of the claim, so a
  // clock that would fail on a second read is never read again (the gate, which may await the
  // token's verification in between, reads it again: dpop-claim-order.test.ts).
  let reads = 0
  const once = createDpopProofVerifier({ now: () => (++reads > 1 ? Number.NaN : NOW) })
  const request = {
    method: 'GET',
    url: URL_,
    proof: await proof(key, { ath: ath(TOKEN) }),
    accessToken: TOKEN,
  }
  t.match(await once.verify(request), { valid: true })
  t.equal(reads, 1)
  // The next request's first read fails: not judged, and not taken for a replay either.
  await t.rejects(once.verify(request), { name: 'VerifierUnavailableError', reason: 'clock_error' })
})
