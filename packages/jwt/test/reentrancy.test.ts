// Re-entrancy: a call out to user code (key resolver, key, clock, validate hook, onRefusal,
// diagnostics subscriber) may start another verification before it returns. Nothing one
// verification decodes may be changed by the other (docs: STYLE.md "Speed tricks").
import diagnostics from 'node:diagnostics_channel'
import { Refusal, VERIFY_CHANNEL } from '@bearerkit/core'
import t from 'tap'
import {
  createJwsVerifier,
  createJwtVerifier,
  createKeyResolver,
  type KeyResolver,
  type VerificationKey,
  type VerifiedJws,
} from '../src/index.js'
import { AUDIENCE, ISSUER, NOW, claims, pair, signRaw, type Pair } from './fixtures/keys.js'
import { outcome } from './fixtures/outcome.js'

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * A genuine token with a long `note`, and a forgery of exactly the same length: same header, an
 * attacker payload with `scope: admin` padded to the genuine payload's length, and a garbage
 * signature of the genuine signature's length.
 */
async function genuineAndForged(signer: Pair): Promise<{ genuine: string; forged: string }> {
  const header = { alg: signer.alg, typ: 'at+jwt', kid: signer.kid }
  const genuinePayload = claims({ note: 'n'.repeat(120) })
  const genuine = await signRaw(signer, header, genuinePayload)
  const target = JSON.stringify(genuinePayload).length
  const attack = claims({ scope: 'admin', pad: '' })
  attack.pad = 'p'.repeat(target - JSON.stringify(attack).length)
  const [h, , s] = genuine.split('.') as [string, string, string]
  const forged = `${h}.${b64(attack)}.${'A'.repeat(s.length - 1)}A`
  return { genuine, forged }
}

t.test('re-entrant key resolver cannot make a forged token pass', async (t) => {
  for (const alg of ['ES256', 'RS256', 'EdDSA']) {
    const signer = await pair(alg)
    const { genuine, forged } = await genuineAndForged(signer)
    t.equal(forged.length, genuine.length, `${alg}: the forgery has the genuine token's length`)
    const base = createKeyResolver({ key: signer.pem, algorithms: [alg] })
    const other = createJwsVerifier({ keys: base, algorithms: [alg], types: ['at+jwt'] })
    let nested: Promise<unknown> | undefined
    // Answers synchronously, but first verifies a second, genuine JWS (say, from the request).
    const keys: KeyResolver = {
      resolve(header, payload, signal) {
        nested ??= other.verify(genuine)
        return base.resolve(header, payload, signal)
      },
      ready: () => base.ready(),
      close: () => base.close(),
    }
    const jws = createJwsVerifier({ keys, algorithms: [alg], types: ['at+jwt'] })
    const result = await jws.verify(forged)
    t.ok(result instanceof Refusal, `${alg}: the forgery is refused`)
    t.equal((result as Refusal).code, 'bad_signature', alg)
    // The nested verification itself is not disturbed either.
    const inner = await nested
    t.notOk(inner instanceof Refusal, `${alg}: the nested genuine token verifies`)
    t.equal((inner as { payload: { scope: string } }).payload.scope, 'read write')
    // And the genuine token verified through the re-entrant resolver is accepted as itself.
    nested = undefined
    const again = await jws.verify(genuine)
    t.equal((again as VerifiedJws).payload.note, 'n'.repeat(120))
  }
})

t.test('a custom key that verifies another token cannot make a forged token pass', async (t) => {
  const signer = await pair('ES256')
  const { genuine, forged } = await genuineAndForged(signer)
  const base = createKeyResolver({ key: signer.pem, algorithms: ['ES256'] })
  const other = createJwsVerifier({ keys: base, algorithms: ['ES256'], types: ['at+jwt'] })
  const real = base.resolve(
    { alg: 'ES256', kid: signer.kid },
    {},
    undefined,
  ) as readonly VerificationKey[]
  // The first key verifies a second JWS before saying no; the second key is the real one.
  const meddling: VerificationKey = {
    kid: signer.kid,
    algorithms: new Set(['ES256']),
    verify: () => {
      void other.verify(genuine)
      return false
    },
  }
  const keys: KeyResolver = {
    resolve: () => [meddling, ...real],
    ready: () => Promise.resolve(),
    close: () => undefined,
  }
  const jws = createJwsVerifier({ keys, algorithms: ['ES256'], types: ['at+jwt'] })
  t.equal(((await jws.verify(forged)) as Refusal).code, 'bad_signature')
  t.notOk((await jws.verify(genuine)) instanceof Refusal)
})

t.test('a clock that verifies another token cannot make a forged token pass', async (t) => {
  const { startServer } = await import('./fixtures/jwks-server.js')
  const server = await startServer()
  t.teardown(() => server.close())
  const signer = await pair('ES256')
  server.json('/jwks', { keys: [signer.jwk] })
  const { genuine, forged } = await genuineAndForged(signer)
  let reentered = 0
  const late: { verifier?: ReturnType<typeof createJwtVerifier> } = {}
  // The clock is read while the keys of a fresh JWKS are looked up, inside the signature stretch.
  const now = (): number => {
    if (late.verifier !== undefined && reentered < 50) {
      reentered += 1
      void late.verifier.verifyToken(genuine)
    }
    return NOW
  }
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: `${server.origin}/jwks`,
    now,
  })
  late.verifier = verifier
  t.teardown(() => verifier.close())
  await verifier.ready()
  reentered = 0
  t.equal(await outcome(verifier, forged), 'bad_signature')
  t.ok(reentered > 0, 'the clock did start nested verifications')
  t.equal(await outcome(verifier, genuine), 'accepted')
})

t.test('validate, onRefusal and diagnostics subscribers that verify other tokens', async (t) => {
  const signer = await pair('ES256')
  const { genuine, forged } = await genuineAndForged(signer)
  const nested: Promise<unknown>[] = []
  let started = 0
  const late: { verifier?: ReturnType<typeof createJwtVerifier> } = {}
  // Counted before the call: a subscriber is called again by the nested verification itself.
  const again = (): void => {
    if (late.verifier === undefined || started >= 20) return
    started += 1
    nested.push(late.verifier.verifyToken(genuine))
  }
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: signer.pem,
    now: () => NOW,
    validate: (claims) => {
      again()
      return claims.scope === 'read write'
    },
  })
  late.verifier = verifier
  const subscriber = (): void => again()
  diagnostics.subscribe(VERIFY_CHANNEL, subscriber)
  t.teardown(() => diagnostics.unsubscribe(VERIFY_CHANNEL, subscriber))
  let refused = ''
  const forgedResult = await verifier.verifyToken(forged, {
    onRefusal: (refusal) => {
      refused = refusal.code
      again()
    },
  })
  t.equal(forgedResult, null)
  t.equal(refused, 'bad_signature')
  const accepted = await verifier.verifyToken(genuine, { onRefusal: again })
  t.equal(accepted?.claims.note, 'n'.repeat(120))
  t.equal(accepted?.scopes.join(' '), 'read write')
  const results = await Promise.all(nested)
  t.ok(results.length > 0)
  for (const result of results)
    t.equal((result as { scopes: string[] }).scopes.join(' '), 'read write')
})

t.test(
  'a key resolver that throws, answers garbage or a thenable fails closed (503)',
  async (t) => {
    const signer = await pair('ES256')
    const token = await signRaw(signer, { alg: 'ES256', typ: 'at+jwt', kid: signer.kid })
    const base = createKeyResolver({ key: signer.pem, algorithms: ['ES256'] })
    const real = base.resolve({ alg: 'ES256' }, {}, undefined) as readonly VerificationKey[]
    const jwsWith = (resolve: KeyResolver['resolve']) =>
      createJwsVerifier({
        keys: { resolve, ready: () => Promise.resolve(), close: () => undefined },
        algorithms: ['ES256'],
        types: ['at+jwt'],
      })
    const unavailable = { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'key_resolver' }
    await t.rejects(
      jwsWith(() => {
        throw new Error('boom')
      }).verify(token),
      unavailable,
      'a synchronous throw',
    )
    await t.rejects(
      jwsWith(() => Promise.reject(new Error('boom'))).verify(token),
      unavailable,
      'a rejection',
    )
    for (const garbage of [undefined, null, 'keys', 42, {}, [{}], [null], [{ verify: true }]]) {
      await t.rejects(
        jwsWith(() => garbage as never).verify(token),
        unavailable,
        `answer ${JSON.stringify(garbage)}`,
      )
      await t.rejects(
        jwsWith(() => Promise.resolve(garbage as never)).verify(token),
        unavailable,
        `promise of ${JSON.stringify(garbage)}`,
      )
    }
    // A VerifierUnavailableError from the resolver is passed on as it is.
    const { VerifierUnavailableError } = await import('@bearerkit/core')
    await t.rejects(
      jwsWith(() => {
        throw new VerifierUnavailableError('down', { reason: 'network' })
      }).verify(token),
      { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'network' },
    )
    // A thenable that calls back twice, synchronously: adopted once, by a real promise.
    let calls = 0
    const twice = {
      then(resolve: (keys: readonly VerificationKey[]) => void) {
        calls += 1
        resolve([])
        resolve(real)
      },
    }
    t.equal(((await jwsWith(() => twice as never).verify(token)) as Refusal).code, 'bad_signature')
    t.equal(calls, 1)
    t.notOk((await jwsWith(() => Promise.resolve(real)).verify(token)) instanceof Refusal)
    // A custom key whose verify is async (a promise is truthy) or throws never accepts.
    const asyncKey = {
      kid: undefined,
      algorithms: new Set(['ES256']),
      verify: () => Promise.resolve(true) as unknown as boolean,
    }
    t.equal(((await jwsWith(() => [asyncKey]).verify(token)) as Refusal).code, 'bad_signature')
    const throwingKey = {
      ...asyncKey,
      verify: (): boolean => {
        throw new Error('hsm down')
      },
    }
    await t.rejects(jwsWith(() => [throwingKey]).verify(token), unavailable)
  },
)
