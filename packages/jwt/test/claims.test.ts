import t from 'tap'
import { Refusal, VerifierUnavailableError } from '@bearerkit/core'
import {
  createJwtVerifier,
  DEFAULT_CLOCK_TOLERANCE,
  type JwtVerifierOptions,
} from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, NOW_S, mint, pair, signRaw, claims } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

const base = { issuer: ISSUER, audience: AUDIENCE, now: () => NOW }

t.test('exp, nbf and iat at the skew boundaries', async (t) => {
  const rsa = await pair('RS256')
  const skew = DEFAULT_CLOCK_TOLERANCE
  t.equal(skew, 30)
  const verifier = createJwtVerifier({ ...base, key: rsa.pem })
  const check = async (extra: Record<string, unknown>) =>
    outcome(verifier, await mint(rsa, { claims: extra }))
  // RFC 7519 §4.1.4: valid while now < exp + skew.
  t.equal(await check({ exp: NOW_S - skew + 1 }), 'accepted')
  t.equal(await check({ exp: NOW_S - skew + 0.001 }), 'accepted')
  t.equal(await check({ exp: NOW_S - skew }), 'expired')
  t.equal(await check({ exp: NOW_S - 3600 }), 'expired')
  // RFC 7519 §4.1.5: valid once now >= nbf - skew.
  t.equal(await check({ nbf: NOW_S + skew }), 'accepted')
  t.equal(await check({ nbf: NOW_S + skew + 1 }), 'not_yet_valid')
  t.equal(await check({ iat: NOW_S + skew }), 'accepted')
  t.equal(await check({ iat: NOW_S + skew + 1 }), 'issued_in_future')
  // Types: a NumericDate is a number.
  t.equal(await check({ exp: String(NOW_S + 600) }), 'invalid_claim')
  t.equal(await check({ exp: null }), 'invalid_claim')
  t.equal(await check({ exp: [NOW_S + 600] }), 'invalid_claim')
  t.equal(await check({ nbf: 'yesterday' }), 'invalid_claim')
  t.equal(await check({ iat: true }), 'invalid_claim')
  // exp is required by default.
  t.equal(await check({ exp: undefined }), 'missing_claim')
  const optional = createJwtVerifier({ ...base, key: rsa.pem, requireExpiration: false })
  t.equal(await outcome(optional, await mint(rsa, { claims: { exp: undefined } })), 'accepted')
  t.equal(await outcome(optional, await mint(rsa, { claims: { exp: 'soon' } })), 'invalid_claim')
  // A zero tolerance is exact.
  const exact = createJwtVerifier({ ...base, key: rsa.pem, clockTolerance: 0 })
  t.equal(await outcome(exact, await mint(rsa, { claims: { exp: NOW_S } })), 'expired')
  t.equal(await outcome(exact, await mint(rsa, { claims: { exp: NOW_S + 1 } })), 'accepted')
  t.equal(await outcome(exact, await mint(rsa, { claims: { nbf: NOW_S + 1 } })), 'not_yet_valid')
})

t.test('maxTokenAge needs iat and bounds the age', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwtVerifier({
    ...base,
    key: rsa.pem,
    maxTokenAge: 300,
    clockTolerance: 10,
  })
  const check = async (extra: Record<string, unknown>) =>
    outcome(verifier, await mint(rsa, { claims: extra }))
  t.equal(await check({ iat: NOW_S - 310 }), 'accepted')
  t.equal(await check({ iat: NOW_S - 311 }), 'too_old')
  t.equal(await check({ iat: undefined }), 'missing_claim')
})

t.test('audience', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwtVerifier({ ...base, key: rsa.pem })
  const check = async (aud: unknown) => outcome(verifier, await mint(rsa, { claims: { aud } }))
  t.equal(await check(AUDIENCE), 'accepted')
  t.equal(await check(['other', AUDIENCE]), 'accepted', 'an aud array containing ours')
  t.equal(await check(undefined), 'missing_claim')
  t.equal(await check(AUDIENCE.toUpperCase()), 'wrong_audience', 'differently cased')
  t.equal(await check(`${AUDIENCE}/`), 'wrong_audience', 'trailing slash')
  t.equal(await check(['other']), 'wrong_audience')
  t.equal(await check([]), 'wrong_audience')
  t.equal(await check({ [AUDIENCE]: true }), 'invalid_claim', 'an object')
  t.equal(await check([AUDIENCE, 1]), 'invalid_claim', 'a mixed array')
  t.equal(await check(42), 'invalid_claim')
  const several = createJwtVerifier({ ...base, key: rsa.pem, audience: ['a', AUDIENCE] })
  t.equal(await outcome(several, await mint(rsa)), 'accepted')
  // Opting out takes an explicit null; the type of aud is still checked.
  const none = createJwtVerifier({ ...base, key: rsa.pem, audience: null })
  t.equal(await outcome(none, await mint(rsa, { claims: { aud: undefined } })), 'accepted')
  t.equal(await outcome(none, await mint(rsa, { claims: { aud: 'anything' } })), 'accepted')
  t.equal(await outcome(none, await mint(rsa, { claims: { aud: { x: 1 } } })), 'invalid_claim')
  t.throws(
    () => createJwtVerifier({ issuer: ISSUER, key: rsa.pem } as unknown as JwtVerifierOptions),
    {
      code: 'ERR_INVALID_ARG_VALUE',
      message: /options\.audience .*pass null to skip/,
    },
  )
})

t.test('issuer is compared exactly and checked before any key lookup', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwtVerifier({ ...base, key: rsa.pem })
  const check = async (iss: unknown) => outcome(verifier, await mint(rsa, { claims: { iss } }))
  t.equal(await check(`${ISSUER}/`), 'wrong_issuer', 'trailing slash')
  t.equal(await check(ISSUER.toUpperCase()), 'wrong_issuer')
  t.equal(await check('https://evil.example.com'), 'wrong_issuer')
  t.equal(await check(undefined), 'missing_claim')
  t.equal(await check(['https://as.example.com']), 'invalid_claim')
  t.equal(await check('__proto__'), 'wrong_issuer')
})

t.test('claim mapping, scopes and required scopes', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwtVerifier({ ...base, key: rsa.pem })
  const verify = async (extra: Record<string, unknown>) =>
    verifier.verifyToken(await mint(rsa, { claims: extra }))
  t.same((await verify({ scope: undefined, scp: ['a', 'b', 'a'] }))?.scopes, ['a', 'b'])
  t.same((await verify({ scope: undefined }))?.scopes, [])
  t.equal((await verify({ client_id: undefined, azp: 'azp-client' }))?.clientId, 'azp-client')
  t.equal((await verify({ client_id: undefined, cid: 'okta-client' }))?.clientId, 'okta-client')
  t.equal((await verify({ client_id: undefined, appid: 'entra-client' }))?.clientId, 'entra-client')
  t.equal(
    await outcome(verifier, await mint(rsa, { claims: { client_id: undefined } })),
    'missing_claim',
  )
  t.equal(await outcome(verifier, await mint(rsa, { claims: { client_id: 7 } })), 'invalid_claim')
  t.equal(await outcome(verifier, await mint(rsa, { claims: { sub: 7 } })), 'invalid_claim')
  const mapped = createJwtVerifier({
    ...base,
    key: rsa.pem,
    claims: { clientId: ['app'], scopes: ['roles'] },
  })
  const token = await mapped.verifyToken(
    await mint(rsa, { claims: { app: 'x', roles: ['admin'] } }),
  )
  t.equal(token?.clientId, 'x')
  t.same(token?.scopes, ['admin'])
  const scoped = createJwtVerifier({ ...base, key: rsa.pem, requiredScopes: ['read', 'write'] })
  t.equal(await outcome(scoped, await mint(rsa)), 'accepted')
  t.equal(
    await outcome(scoped, await mint(rsa, { claims: { scope: 'read' } })),
    'insufficient_scope',
  )
  t.equal(
    await outcome(scoped, await mint(rsa, { claims: { scope: 'read writer' } })),
    'insufficient_scope',
  )
})

t.test('__proto__ and constructor claims pollute nothing', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwtVerifier({ ...base, key: rsa.pem, tokenTypes: null })
  const payload = JSON.stringify(claims()).replace(
    /^\{/,
    '{"__proto__":{"polluted":true,"scope":"admin"},"constructor":{"prototype":{"polluted":true}},',
  )
  const header = Buffer.from(
    JSON.stringify({ alg: 'RS256', typ: 'at+jwt', __proto__x: 1 }),
  ).toString('base64url')
  const body = Buffer.from(payload).toString('base64url')
  const { sign } = await import('node:crypto')
  const token = `${header}.${body}.${sign('sha256', Buffer.from(`${header}.${body}`), rsa.privateKey).toString('base64url')}`
  let seen: Readonly<Record<string, unknown>> | undefined
  const hooked = createJwtVerifier({
    ...base,
    key: rsa.pem,
    validate: (c) => {
      seen = c
    },
  })
  const result = await verifier.verifyToken(token)
  t.ok(result)
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.equal((Object.prototype as Record<string, unknown>).polluted, undefined)
  t.same(result?.scopes, ['read', 'write'], 'scope comes from the own claim, not a prototype')
  // Inherits nothing: its prototype is an empty object without a prototype.
  t.same(Reflect.ownKeys(Object.getPrototypeOf(result?.claims) as object), [])
  t.equal(Object.getPrototypeOf(Object.getPrototypeOf(result?.claims) as object), null)
  t.same(Object.getOwnPropertyDescriptor(result?.claims, '__proto__')?.value, {
    polluted: true,
    scope: 'admin',
  })
  t.ok(Object.hasOwn(result?.claims ?? {}, 'constructor'))
  t.ok(await hooked.verifyToken(token))
  // Inherits nothing: its prototype is an empty object without a prototype.
  t.same(Reflect.ownKeys(Object.getPrototypeOf(seen) as object), [])
  t.equal(Object.getPrototypeOf(Object.getPrototypeOf(seen) as object), null)
  t.ok(Object.isFrozen(seen))
  // A __proto__ header parameter is data too.
  const headerProto = await signRaw(
    rsa,
    JSON.parse('{"alg":"RS256","typ":"at+jwt","__proto__":{"kid":"x","alg":"none"}}') as Record<
      string,
      unknown
    >,
  )
  t.equal(await outcome(verifier, headerProto), 'accepted')
  t.equal(({} as Record<string, unknown>).kid, undefined)
})

t.test('validate: return and throw semantics', async (t) => {
  const rsa = await pair('RS256')
  const token = await mint(rsa)
  const run = async (validate: JwtVerifierOptions['validate']) =>
    outcome(createJwtVerifier({ ...base, key: rsa.pem, validate }), token)
  t.equal(await run(() => undefined), 'accepted')
  t.equal(await run(() => true), 'accepted')
  t.equal(await run(async () => true), 'accepted')
  t.equal(await run(() => false), 'rejected')
  t.equal(await run(async () => false), 'rejected')
  t.equal(await run(() => 'yes' as unknown as boolean), 'rejected', 'anything else refuses')
  t.equal(await run(() => new Refusal('inactive', 'revoked')), 'inactive')
  t.equal(
    await run(() => {
      throw new Error('secret detail')
    }),
    'rejected',
  )
  t.equal(
    await run(async () => {
      throw new TypeError('boom')
    }),
    'rejected',
  )
  t.equal(
    await run(() => {
      // Anything can be thrown from JavaScript; a non-Error must be handled as well.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw 'a string'
    }),
    'rejected',
  )
  let description = ''
  await createJwtVerifier({
    ...base,
    key: rsa.pem,
    validate: () => {
      throw new Error('secret detail')
    },
  }).verifyToken(token, {
    onRefusal: (r) => {
      description = r.description
    },
  })
  t.notMatch(description, /secret detail/)
  await t.rejects(
    createJwtVerifier({
      ...base,
      key: rsa.pem,
      validate: () => {
        throw new VerifierUnavailableError('revocation list unreachable', { reason: 'network' })
      },
    }).verifyToken(token),
    { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'network' },
  )
  // validate sees the claims and the header, after every other check.
  let calls = 0
  const seen = createJwtVerifier({
    ...base,
    key: rsa.pem,
    validate: (claims, header) => {
      calls++
      return claims.jti === 'jti-1' && header.alg === 'RS256' && header.typ === 'at+jwt'
    },
  })
  t.equal(await outcome(seen, token), 'accepted')
  t.equal(await outcome(seen, await mint(rsa, { claims: { exp: NOW_S - 3600 } })), 'expired')
  t.equal(calls, 1, 'not called for a token that failed earlier')
})

t.test('the clock is injectable and read per verification', async (t) => {
  const rsa = await pair('ES256')
  let now = NOW
  const verifier = createJwtVerifier({ ...base, key: rsa.pem, now: () => now })
  const token = await mint(rsa)
  t.equal(await outcome(verifier, token), 'accepted')
  now = NOW + 631 * 1000
  t.equal(await outcome(verifier, token), 'expired')
})

t.test('an aborted signal rejects', async (t) => {
  const rsa = await pair('ES256')
  const verifier = createJwtVerifier({ ...base, key: rsa.pem })
  await t.rejects(
    verifier.verifyToken(await mint(rsa), { signal: AbortSignal.abort(new Error('gone')) }),
    { message: 'gone' },
  )
})

t.test('a sender-constrained token (cnf) is refused without its proof context', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwtVerifier({ ...base, key: rsa.pem })
  const check = async (extra: Record<string, unknown>) =>
    outcome(verifier, await mint(rsa, { claims: extra }))
  // RFC 9449 §6.1 (DPoP) and RFC 8705 §3.1 (mTLS) confirmation claims; no proof context given.
  t.equal(
    await check({ cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } }),
    'sender_constrained',
  )
  t.equal(
    await check({ cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } }),
    'sender_constrained',
  )
  t.equal(await check({ cnf: null }), 'invalid_claim')
  t.equal(await check({ cnf: { kid: 'k' } }), 'sender_constrained')
  t.equal(await check({}), 'accepted')
})

t.test(
  'RFC 9068 §2.2: a token without iat is refused unless requireIssuedAt is false',
  async (t) => {
    const rsa = await pair('RS256')
    const token = await mint(rsa, { claims: { iat: undefined } })
    // Before: accepted (iat was only needed with maxTokenAge).
    let refusal: Refusal | undefined
    const result = await createJwtVerifier({ ...base, key: rsa.pem }).verifyToken(token, {
      onRefusal: (r) => (refusal = r),
    })
    t.equal(result, null)
    t.equal(refusal?.code, 'missing_claim')
    t.equal(refusal?.description, 'The access token has no iat claim')
    const lenient = createJwtVerifier({ ...base, key: rsa.pem, requireIssuedAt: false })
    t.equal(await outcome(lenient, token), 'accepted')
    // Even then, an iat that is there is checked.
    t.equal(await outcome(lenient, await mint(rsa, { claims: { iat: 'x' } })), 'invalid_claim')
    t.equal(
      await outcome(lenient, await mint(rsa, { claims: { iat: NOW_S + 31 } })),
      'issued_in_future',
    )
    t.equal(await outcome(lenient, await mint(rsa, { claims: { iat: NOW_S } })), 'accepted')
  },
)

t.test('every time claim at the exact second, on both sides', async (t) => {
  const rsa = await pair('RS256')
  for (const skew of [0, 1, 30]) {
    const verifier = createJwtVerifier({ ...base, key: rsa.pem, clockTolerance: skew })
    const aged = createJwtVerifier({
      ...base,
      key: rsa.pem,
      clockTolerance: skew,
      maxTokenAge: 600,
    })
    const check = async (v: typeof verifier, extra: Record<string, unknown>) =>
      outcome(v, await mint(rsa, { claims: extra }))
    const at = (what: string) => `${what}, clockTolerance ${skew}`
    // exp: valid while now < exp + skew (RFC 7519 §4.1.4); exp == now - skew is expired.
    t.equal(await check(verifier, { exp: NOW_S - skew }), 'expired', at('exp == now - skew'))
    t.equal(
      await check(verifier, { exp: NOW_S - skew + 1 }),
      'accepted',
      at('exp == now - skew + 1'),
    )
    t.equal(
      await check(verifier, { exp: NOW_S - skew - 1 }),
      'expired',
      at('exp == now - skew - 1'),
    )
    // nbf: valid once now >= nbf - skew (RFC 7519 §4.1.5).
    t.equal(await check(verifier, { nbf: NOW_S + skew }), 'accepted', at('nbf == now + skew'))
    t.equal(
      await check(verifier, { nbf: NOW_S + skew - 1 }),
      'accepted',
      at('nbf == now + skew - 1'),
    )
    t.equal(
      await check(verifier, { nbf: NOW_S + skew + 1 }),
      'not_yet_valid',
      at('nbf == now + skew + 1'),
    )
    // iat: not after now + skew.
    t.equal(await check(verifier, { iat: NOW_S + skew }), 'accepted', at('iat == now + skew'))
    t.equal(
      await check(verifier, { iat: NOW_S + skew + 1 }),
      'issued_in_future',
      at('iat == now + skew + 1'),
    )
    // maxTokenAge: now - iat <= maxTokenAge + skew.
    const oldest = NOW_S - 600 - skew
    t.equal(await check(aged, { iat: oldest }), 'accepted', at('iat == now - maxTokenAge - skew'))
    t.equal(
      await check(aged, { iat: oldest + 1 }),
      'accepted',
      at('iat == now - maxTokenAge - skew + 1'),
    )
    t.equal(
      await check(aged, { iat: oldest - 1 }),
      'too_old',
      at('iat == now - maxTokenAge - skew - 1'),
    )
    t.equal(await check(aged, { iat: oldest - 0.001 }), 'too_old', at('a millisecond too old'))
  }
  // With no tolerance, the boundaries are now itself.
  const exact = createJwtVerifier({ ...base, key: rsa.pem, clockTolerance: 0, maxTokenAge: 60 })
  const check = async (extra: Record<string, unknown>) =>
    outcome(exact, await mint(rsa, { claims: extra }))
  t.equal(await check({ exp: NOW_S }), 'expired', 'exp == now')
  t.equal(await check({ nbf: NOW_S }), 'accepted', 'nbf == now')
  t.equal(await check({ iat: NOW_S }), 'accepted', 'iat == now')
  t.equal(await check({ iat: NOW_S - 60 }), 'accepted', 'iat == now - maxTokenAge')
  t.equal(await check({ iat: NOW_S - 61 }), 'too_old', 'iat == now - maxTokenAge - 1')
})

t.test('nested claims of a returned token cannot be mutated', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwtVerifier({ ...base, key: rsa.pem, requiredScopes: ['read'] })
  const token = await mint(rsa, {
    claims: {
      authorization_details: [{ type: 'payment', actions: ['read'], limits: { amount: 10 } }],
      ext: { roles: ['viewer'] },
    },
  })
  const result = await verifier.verifyToken(token)
  t.ok(result)
  const claims = result?.claims as Record<string, unknown>
  t.ok(Object.isFrozen(claims))
  const details = claims.authorization_details as Array<Record<string, unknown>>
  t.throws(() => details.push({ type: 'admin' }), TypeError, 'the array is frozen')
  t.throws(() => {
    ;(details[0] as { actions: string[] }).actions.push('write')
  }, TypeError)
  t.throws(() => {
    ;(details[0]?.limits as { amount: number }).amount = 1e9
  }, TypeError)
  t.throws(() => {
    ;(claims.ext as { roles: string[] }).roles[0] = 'admin'
  }, TypeError)
  t.throws(
    () => {
      ;(result?.audience as string[]).push('https://evil.example')
    },
    TypeError,
    'audience',
  )
  t.throws(
    () => {
      ;(result?.scopes as string[]).push('admin')
    },
    TypeError,
    'scopes',
  )
  // A second verification of the same token sees the claims as issued.
  const again = await verifier.verifyToken(token)
  t.same(again?.claims.authorization_details, [
    { type: 'payment', actions: ['read'], limits: { amount: 10 } },
  ])
})
