import t from 'tap'
import {
  Refusal,
  createCompositeVerifier,
  decodeJwtHeader,
  isCompactJwt,
  peekIssuer,
  type TokenVerifier,
} from '../src/index.js'
import { accessToken, fakeJwt } from './fixtures/tokens.js'

const named = (name: string, calls: string[]): TokenVerifier => ({
  verifyToken: async (token) => {
    calls.push(name)
    return accessToken(token, { clientId: name })
  },
})

t.test('token shape helpers read only what routing needs', async (t) => {
  const jwt = fakeJwt({ iss: 'https://a' })
  t.equal(isCompactJwt(jwt), true)
  t.equal(peekIssuer(jwt), 'https://a')
  t.same(decodeJwtHeader(jwt), { alg: 'RS256' })
  t.equal(isCompactJwt('opaque-token'), false)
  t.equal(isCompactJwt('a.b'), false, 'two segments')
  t.equal(isCompactJwt('a.b.c.d'), false, 'four segments')
  t.equal(isCompactJwt('a.b.c.d.e'), false, 'JWE')
  t.equal(isCompactJwt('!!!.e30.x'), false, 'bad base64url')
  t.equal(isCompactJwt(fakeJwt({}, { typ: 'JWT' })), false, 'no alg')
  t.equal(isCompactJwt(`${Buffer.from('[1]').toString('base64url')}.e30.x`), false, 'array header')
  t.equal(isCompactJwt(`${Buffer.from('{bad').toString('base64url')}.e30.x`), false, 'bad JSON')
  t.equal(isCompactJwt('x'.repeat(70 * 1024)), false, 'too large to inspect')
  t.equal(peekIssuer(fakeJwt({ iss: 5 })), null)
  t.equal(peekIssuer(fakeJwt({}, { typ: 'x' })), null)
  t.equal(peekIssuer('opaque'), null)
  t.equal(peekIssuer(`${fakeJwt({}).split('.')[0]}.!!.sig`), null, 'bad payload')
})

t.test('routes JWTs by issuer, other JWTs to jwt, the rest to opaque', async (t) => {
  const calls: string[] = []
  const v = createCompositeVerifier({
    issuers: { 'https://a': named('a', calls), 'https://b': named('b', calls) },
    jwt: named('jwt', calls),
    opaque: named('opaque', calls),
  })
  t.equal((await v.verifyToken(fakeJwt({ iss: 'https://a' })))?.clientId, 'a')
  t.equal((await v.verifyToken(fakeJwt({ iss: 'https://b' })))?.clientId, 'b')
  t.equal(
    (await v.verifyToken(fakeJwt({ iss: 'https://a/' })))?.clientId,
    'jwt',
    'exact match only',
  )
  t.equal((await v.verifyToken(fakeJwt({})))?.clientId, 'jwt')
  t.equal((await v.verifyToken('opaque-value'))?.clientId, 'opaque')
  t.equal((await v.verifyToken('a.b.c.d.e'))?.clientId, 'opaque', 'a JWE is not routed as a JWS')
  t.same(calls, ['a', 'b', 'jwt', 'jwt', 'opaque', 'opaque'])
})

t.test('an unmatched token is refused, not an error', async (t) => {
  const calls: string[] = []
  const onlyA = createCompositeVerifier({ issuers: { 'https://a': named('a', calls) } })
  const reasons: string[] = []
  const onRefusal = (r: Refusal): void => {
    reasons.push(r.code)
  }
  t.equal(await onlyA.verifyToken(fakeJwt({ iss: 'https://evil' }), { onRefusal }), null)
  t.equal(await onlyA.verifyToken('opaque', { onRefusal }), null)
  t.equal(await onlyA.verifyToken(fakeJwt({ iss: ['https://a'] }), { onRefusal }), null)
  t.same(reasons, ['unmatched', 'unmatched', 'unmatched'])
  t.same(calls, [])
  const onlyJwt = createCompositeVerifier({ jwt: named('jwt', calls) })
  t.equal((await onlyJwt.verifyToken(fakeJwt({ iss: 'x' })))?.clientId, 'jwt')
})

t.test("the chosen verifier's refusal reason and signal are passed through", async (t) => {
  let seenSignal: AbortSignal | undefined
  const refusing: TokenVerifier = {
    verifyToken: async (_token, options) => {
      seenSignal = options?.signal
      options?.onRefusal?.(new Refusal('bad_signature', 'The signature is invalid'))
      return null
    },
  }
  const silent: TokenVerifier = { verifyToken: async () => null }
  const v = createCompositeVerifier({ jwt: refusing, opaque: silent })
  const reasons: string[] = []
  const signal = new AbortController().signal
  await v.verifyToken(fakeJwt({}), { signal, onRefusal: (r) => reasons.push(r.code) })
  await v.verifyToken('opaque', { onRefusal: (r) => reasons.push(r.code) })
  t.same(reasons, ['bad_signature', 'rejected'])
  t.equal(seenSignal, signal)
})

t.test('options are validated', async (t) => {
  const ok = named('x', [])
  t.throws(() => createCompositeVerifier(null as never), { message: /^options must/ })
  t.throws(() => createCompositeVerifier({}), { message: /^options must route/ })
  t.throws(() => createCompositeVerifier({ issuers: 'x' as never }), {
    message: /^options\.issuers /,
  })
  t.throws(() => createCompositeVerifier({ issuers: { a: {} as never } }), {
    message: /^options\.issuers\["a"\] /,
  })
  t.throws(() => createCompositeVerifier({ jwt: 1 as never, opaque: ok }), {
    message: /^options\.jwt /,
  })
  t.throws(() => createCompositeVerifier({ opaque: {} as never }), { message: /^options\.opaque / })
})

t.test('createCompositeVerifier refuses unknown options, naming the nearest', async (t) => {
  const inner = { verifyToken: () => Promise.resolve(null) }
  t.throws(() => createCompositeVerifier({ opaqe: inner } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /options\.opaqe .*did you mean `opaque`/,
  })
  t.throws(() => createCompositeVerifier({ jwt: inner, issuer: {} } as never), {
    message: /did you mean `issuers`/,
  })
  t.throws(() => createCompositeVerifier(undefined as never), { message: /options/ })
  t.throws(() => createCompositeVerifier([] as never), { message: /must be an object/ })
})
