import { Refusal } from '@bearerkit/core'
import t from 'tap'
import {
  createJwsVerifier,
  createKeyResolver,
  normalizeType,
  DEFAULT_JWKS_OPTIONS,
  type KeyResolver,
} from '../src/index.js'
import { startServer } from './fixtures/jwks-server.js'
import { pair, signRaw, NOW } from './fixtures/keys.js'

t.test('an ID-JAG style assertion verified with the same key handling', async (t) => {
  const server = await startServer()
  t.teardown(() => server.close())
  const idp = await pair('ES256', 'idp')
  server.json('/jwks', { keys: [idp.jwk] })
  const keys = createKeyResolver({
    jwksUri: `${server.origin}/jwks`,
    algorithms: ['ES256'],
    now: () => NOW,
  })
  t.teardown(() => keys.close())
  const assertions = createJwsVerifier({ keys, algorithms: ['ES256'], types: ['oauth-id-jag+jwt'] })
  const payload = {
    iss: 'https://idp.example.com',
    sub: 'alice',
    aud: 'https://as.example.com',
    client_id: 'c',
  }
  const token = await signRaw(idp, { alg: 'ES256', typ: 'oauth-id-jag+jwt', kid: idp.kid }, payload)
  const result = await assertions.verify(token)
  t.notOk(result instanceof Refusal)
  if (!(result instanceof Refusal)) {
    t.same(result.payload, payload)
    t.equal(result.header.typ, 'oauth-id-jag+jwt')
    t.equal(result.key.kid, idp.kid)
    t.ok(result.key.algorithms.has('ES256'))
    t.ok(Object.isFrozen(result.header))
  }
  const accessToken = await signRaw(idp, { alg: 'ES256', typ: 'at+jwt', kid: idp.kid }, payload)
  t.match(await assertions.verify(accessToken), { code: 'wrong_type' })
  t.equal(server.count('/jwks'), 1)
  const controller = new AbortController()
  controller.abort(new Error('stop'))
  const cold = createKeyResolver({ jwksUri: `${server.origin}/jwks`, algorithms: ['ES256'] })
  t.teardown(() => cold.close())
  const coldVerifier = createJwsVerifier({ keys: cold, algorithms: ['ES256'], types: null })
  await t.rejects(coldVerifier.verify(token, controller.signal), { message: 'stop' })
  t.equal(server.count('/jwks'), 1, 'an aborted verification starts no fetch')
})

t.test('tokens with different headers, in turns, each get their own header', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwsVerifier({ keys: createKeyResolver({ key: rsa.pem }), types: null })
  const a = await signRaw(rsa, { alg: 'RS256', kid: 'a', x: 1 })
  const b = await signRaw(rsa, { alg: 'RS256', kid: 'b', x: 2 })
  for (const [token, x] of [
    [a, 1],
    [b, 2],
    [a, 1],
    [a, 1],
    [b, 2],
    [a, 1],
  ] as const) {
    const result = await verifier.verify(token)
    t.notOk(result instanceof Refusal)
    if (!(result instanceof Refusal)) t.equal(result.header.x, x)
  }
  // The header of the last token with the signature of another: refused, though both headers
  // are known.
  const [headerA, payloadA] = a.split('.')
  const [, , signatureB] = b.split('.')
  t.match(await verifier.verify(`${headerA}.${payloadA}.${signatureB}`), {
    code: 'bad_signature',
  })
  // A header one character off the last one is parsed on its own, never taken for it.
  const [headerB] = b.split('.') as [string]
  t.ok(headerB.startsWith('e'))
  t.match(await verifier.verify(`f${headerB.slice(1)}.${payloadA}.${signatureB}`), {
    code: 'malformed',
  })
})

t.test('criticalHeaders names extensions the caller checks', async (t) => {
  const rsa = await pair('RS256')
  const keys = createKeyResolver({ key: rsa.pem })
  const verifier = createJwsVerifier({ keys, types: null, criticalHeaders: ['urn:example:ext'] })
  const ok = await signRaw(rsa, { alg: 'RS256', crit: ['urn:example:ext'], 'urn:example:ext': 1 })
  t.notOk((await verifier.verify(ok)) instanceof Refusal)
  const unknown = await signRaw(rsa, { alg: 'RS256', crit: ['other'], other: 1 })
  t.match(await verifier.verify(unknown), { code: 'unsupported_critical_header' })
  t.throws(() => createJwsVerifier({ keys, types: null, criticalHeaders: ['alg'] }), {
    message: /options\.criticalHeaders must be an array/,
  })
  t.throws(
    () => createJwsVerifier({ keys, types: null, criticalHeaders: 'x' as unknown as string[] }),
    { message: /options\.criticalHeaders/ },
  )
})

t.test('a resolver of your own, maxLength, and option checks', async (t) => {
  const rsa = await pair('RS256')
  const refusing: KeyResolver = {
    resolve: () => Promise.resolve(new Refusal('wrong_issuer', 'no')),
    ready: () => Promise.resolve(),
    close: () => undefined,
  }
  const token = await signRaw(rsa, { alg: 'RS256' })
  t.match(await createJwsVerifier({ keys: refusing, types: null }).verify(token), {
    code: 'wrong_issuer',
  })
  const tiny = createJwsVerifier({
    keys: createKeyResolver({ key: rsa.pem }),
    types: null,
    maxLength: 100,
  })
  t.match(await tiny.verify(token), { code: 'malformed', description: 'The token is too large' })
  t.match(await tiny.verify(7 as unknown as string), {
    code: 'malformed',
    description: /three segments/,
  })
  t.throws(() => createJwsVerifier(null as never), { message: /^options must be an object/ })
  t.throws(() => createJwsVerifier({ keys: {} as KeyResolver, types: null }), {
    message: /^options\.keys must be a KeyResolver/,
  })
  t.throws(() => createJwsVerifier({ keys: refusing, types: null, maxLength: 3 }), {
    message: /^options\.maxLength/,
  })
  t.throws(() => createKeyResolver(undefined as never), { message: /^options must be an object/ })
  t.throws(() => createKeyResolver({}, 'assertionKeys'), {
    message: /^assertionKeys needs a key source: jwksUri, key, secret, or issuer/,
  })
  t.equal(normalizeType('AT+JWT'), 'application/at+jwt')
  t.equal(normalizeType('Application/JWT'), 'application/jwt')
  t.same(DEFAULT_JWKS_OPTIONS, {
    maxAge: 600,
    cooldown: 30,
    timeout: 5000,
    staleIfError: 3600,
    backoff: 1,
    maxBackoff: 60,
    maxBytes: 262144,
  })
})

t.test('the header cache is bounded and keyed by the exact header text', async (t) => {
  const rsa = await pair('RS256')
  const verifier = createJwsVerifier({ keys: createKeyResolver({ key: rsa.pem }), types: null })
  // Many distinct valid headers, then the first again: still verified correctly.
  for (let i = 0; i < 100; i++) {
    t.notOk(
      (await verifier.verify(await signRaw(rsa, { alg: 'RS256', kid: `k${i}` }))) instanceof
        Refusal,
    )
  }
  const big = await signRaw(rsa, { alg: 'RS256', x: 'y'.repeat(2000) })
  t.notOk((await verifier.verify(big)) instanceof Refusal)
  t.notOk((await verifier.verify(big)) instanceof Refusal)
  // Same header bytes, tampered payload: the cached header does not skip the signature.
  const [h, , s] = big.split('.')
  const forged = `${h}.${Buffer.from('{"admin":true}').toString('base64url')}.${s}`
  t.match(await verifier.verify(forged), { code: 'bad_signature' })
  // A cached header is shared: it is frozen all the way down.
  const nested = await verifier.verify(
    await signRaw(rsa, { alg: 'RS256', ext: { list: [1, { deep: true }] } }),
  )
  t.notOk(nested instanceof Refusal)
  if (!(nested instanceof Refusal)) {
    const ext = nested.header.ext as { list: [number, { deep: boolean }] }
    t.ok(Object.isFrozen(nested.header))
    t.ok(Object.isFrozen(ext))
    t.ok(Object.isFrozen(ext.list))
    t.ok(Object.isFrozen(ext.list[1]))
    t.throws(() => {
      ext.list[1].deep = false
    })
  }
})
