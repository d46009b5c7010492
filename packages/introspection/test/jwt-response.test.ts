import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { inspect } from 'node:util'
import { SignJWT, exportJWK } from 'jose'
import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier, type JwtResponseOptions } from '../src/index.js'
import { ISSUER, NOW_S, activeAnswer, baseOptions, newToken, verify } from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

const AS = 'https://as.example.com'
const PATH = '/oauth/introspect'
const JWT_TYPE = { 'content-type': 'application/token-introspection+jwt; charset=utf-8' }
const CLIENT = 'resource-server'

const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const publicJwk = { ...(await exportJWK(signer.publicKey)), kid: 'as-1', alg: 'ES256', use: 'sig' }

interface SignOptions {
  header?: Record<string, unknown>
  claims?: Record<string, unknown>
  key?: KeyObject
  alg?: string
}

/** An RFC 9701 answer as oidc-provider shapes it, with overridable parts. */
async function signed(introspection: unknown, options: SignOptions = {}): Promise<string> {
  return new SignJWT({
    iss: ISSUER,
    aud: CLIENT,
    iat: NOW_S,
    token_introspection: introspection,
    ...options.claims,
  })
    .setProtectedHeader({
      alg: options.alg ?? 'ES256',
      kid: 'as-1',
      typ: 'token-introspection+jwt',
      ...options.header,
    })
    .sign(options.key ?? signer.privateKey)
}

function jwtVerifier(jwtResponse: boolean | JwtResponseOptions = { jwksUri: `${AS}/jwks` }) {
  return createIntrospectionVerifier(baseOptions({ jwtResponse, cache: false }))
}

async function failure(promise: Promise<unknown>) {
  return promise.then(
    () => ({ reason: 'resolved' }),
    (e: unknown) => e as { reason?: string; retryAfter?: number },
  )
}

t.test('a signed active answer is verified and mapped; the request asks for a JWT', async (t) => {
  useNock(t)
  const token = newToken()
  const scope = nock(AS)
    .get('/jwks')
    .reply(200, { keys: [publicJwk] })
    .post(PATH)
    .matchHeader('accept', 'application/token-introspection+jwt')
    .reply(200, await signed(activeAnswer()), JWT_TYPE)
  const { accessToken } = await verify(jwtVerifier(), token)
  t.match(accessToken, { token, clientId: 'mcp-client', issuer: ISSUER, subject: 'alice' })
  t.ok(scope.isDone())
})

t.test('the inner answer goes through every RFC 7662 rule', async (t) => {
  useNock(t)
  nock(AS)
    .get('/jwks')
    .reply(200, { keys: [publicJwk] })
    .post(PATH)
    .reply(200, await signed({ active: false }), JWT_TYPE)
    .post(PATH)
    .reply(200, await signed(activeAnswer({ aud: 'https://other.example' })), JWT_TYPE)
    .post(PATH)
    .reply(200, await signed(activeAnswer({ active: 'true' })), JWT_TYPE)
    .post(PATH)
    .reply(200, await signed(undefined), JWT_TYPE)
  const verifier = jwtVerifier()
  t.equal((await verify(verifier, newToken())).refusal, 'inactive')
  t.equal((await verify(verifier, newToken())).refusal, 'wrong_audience')
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'invalid_response' })
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'invalid_response' })
})

t.test('a response that cannot be trusted makes the verifier unavailable', async (t) => {
  useNock(t)
  const unsigned = `${Buffer.from('{"alg":"none","typ":"token-introspection+jwt"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: CLIENT, iat: NOW_S, token_introspection: activeAnswer() })).toString('base64url')}.`
  const cases: Array<[string, string]> = [
    [
      'typ JWT (cross-JWT confusion, RFC 9701 §8.1)',
      await signed(activeAnswer(), { header: { typ: 'JWT' } }),
    ],
    ['typ missing', await signed(activeAnswer(), { header: { typ: undefined } })],
    [
      'iss of another server',
      await signed(activeAnswer(), { claims: { iss: 'https://evil.example.com' } }),
    ],
    ['aud of another client', await signed(activeAnswer(), { claims: { aud: 'someone-else' } })],
    ['no iat', await signed(activeAnswer(), { claims: { iat: undefined } })],
    [
      'iat older than maxAge plus clockTolerance',
      await signed(activeAnswer(), { claims: { iat: NOW_S - 306 } }),
    ],
    ['iat in the future', await signed(activeAnswer(), { claims: { iat: NOW_S + 60 } })],
    ['exp passed', await signed(activeAnswer(), { claims: { exp: NOW_S - 60 } })],
    [
      'signed by another key under the same kid',
      await signed(activeAnswer(), { key: intruder.privateKey }),
    ],
    ['alg none', unsigned],
    ['not a JWT at all', 'garbage'],
  ]
  const scope = nock(AS)
    .get('/jwks')
    .reply(200, { keys: [publicJwk] })
  for (const [, body] of cases) scope.post(PATH).reply(200, body, JWT_TYPE)
  const verifier = jwtVerifier()
  for (const [label] of cases) {
    const error = await failure(verifier.verifyToken(newToken()))
    t.match(
      error,
      { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'invalid_response', retryAfter: 5 },
      label,
    )
  }
  t.ok(scope.isDone())
})

t.test('a refused signed response is quoted by no error, cause or member', async (t) => {
  useNock(t)
  // jose's claim errors carry the payload: here an answer that echoes a token.
  const secret = 'zQ9xSecretTokenValue.c2VjcmV0.c2ln'
  const answer = activeAnswer({ username: secret, token: secret })
  const cases: Array<[string, string]> = [
    ['exp passed', await signed(answer, { claims: { exp: NOW_S - 60 } })],
    ['aud of another client', await signed(answer, { claims: { aud: 'someone-else' } })],
    ['typ JWT', await signed(answer, { header: { typ: 'JWT' } })],
  ]
  const scope = nock(AS)
    .get('/jwks')
    .reply(200, { keys: [publicJwk] })
  for (const [, body] of cases) scope.post(PATH).reply(200, body, JWT_TYPE)
  const verifier = jwtVerifier()
  for (const [label] of cases) {
    const error = await failure(verifier.verifyToken(newToken()))
    t.match(error, { reason: 'invalid_response' }, label)
    t.match((error as { cause?: unknown }).cause, { code: /^ERR_JWT_/ }, 'the cause keeps its code')
    const text = inspect(error, { depth: Infinity, showHidden: true })
    t.notOk(text.includes(secret.slice(0, 12)), label)
  }
  t.ok(scope.isDone())
})

t.test('an iat within maxAge plus clockTolerance is accepted', async (t) => {
  useNock(t)
  nock(AS)
    .get('/jwks')
    .reply(200, { keys: [publicJwk] })
    .post(PATH)
    .reply(200, await signed(activeAnswer(), { claims: { iat: NOW_S - 304 } }), JWT_TYPE)
  t.ok(await jwtVerifier().verifyToken(newToken()))
})

t.test('an unknown kid is no_key; a plain JSON answer is a refused downgrade', async (t) => {
  useNock(t)
  nock(AS)
    .get('/jwks')
    .reply(200, { keys: [publicJwk] })
    .post(PATH)
    .reply(200, await signed(activeAnswer(), { header: { kid: 'unknown' } }), JWT_TYPE)
    .post(PATH)
    .reply(200, activeAnswer())
  const verifier = jwtVerifier()
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'no_key' })
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'content_type' })
})

t.test(
  'the JWKS goes through the configured fetch; a JWT answer needs its content type',
  async (t) => {
    useNock(t)
    nock(AS)
      .get('/jwks')
      .reply(200, { keys: [publicJwk] })
      .post(PATH)
      .reply(200, await signed(activeAnswer()), JWT_TYPE)
      .post(PATH)
      .reply(200, async () => Buffer.from(await signed(activeAnswer())))
    const urls: string[] = []
    const verifier = createIntrospectionVerifier(
      baseOptions({
        jwtResponse: { jwksUri: `${AS}/jwks` },
        fetch: (input, init) => {
          urls.push(input instanceof Request ? input.url : input.toString())
          return fetch(input, init)
        },
      }),
    )
    t.ok(await verifier.verifyToken(newToken()))
    t.same(urls, [`${AS}${PATH}`, `${AS}/jwks`])
    // the same signed answer without a content type is not accepted
    t.match(await failure(verifier.verifyToken(newToken())), { reason: 'content_type' })
  },
)

t.test('algorithms restricts what is accepted', async (t) => {
  useNock(t)
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  nock(AS)
    .post(PATH)
    .reply(200, await signed(activeAnswer(), { key: rsa.privateKey, alg: 'RS256' }), JWT_TYPE)
  const verifier = jwtVerifier({ key: rsa.publicKey, algorithms: ['ES256'] })
  t.match(await failure(verifier.verifyToken(newToken())), { reason: 'invalid_response' })
})

t.test('a static key (JWK, PEM or KeyObject) needs no JWKS request', async (t) => {
  useNock(t)
  const pem = signer.publicKey.export({ format: 'pem', type: 'spki' }) as string
  for (const key of [publicJwk, pem, signer.publicKey, signer.privateKey]) {
    nock(AS)
      .post(PATH)
      .reply(200, await signed(activeAnswer()), JWT_TYPE)
    const verifier = jwtVerifier({ key })
    await verifier.ready()
    t.ok(await verifier.verifyToken(newToken()))
  }
  t.ok(nock.isDone())
})

t.test('jwtResponse: true takes the JWKS from the metadata, and ready() loads it', async (t) => {
  useNock(t)
  const scope = nock(AS)
    .get('/.well-known/oauth-authorization-server')
    .reply(200, { issuer: AS, jwks_uri: `${AS}/keys`, introspection_endpoint: `${AS}/elsewhere` })
    .get('/keys')
    .reply(200, { keys: [publicJwk] })
  const verifier = jwtVerifier(true)
  await verifier.ready()
  t.ok(scope.isDone(), 'metadata and keys loaded before any token')
  await verifier.ready()
  // the configured introspectionUrl is used, not the metadata's
  nock(AS)
    .post(PATH)
    .reply(200, await signed(activeAnswer()), JWT_TYPE)
  t.ok(await verifier.verifyToken(newToken()))
  t.ok(nock.isDone())
})

t.test('metadata without jwks_uri makes jwtResponse: true unavailable', async (t) => {
  useNock(t)
  nock(AS).get('/.well-known/oauth-authorization-server').reply(200, { issuer: AS })
  t.match(await failure(jwtVerifier(true).ready()), { reason: 'invalid_response', retryAfter: 5 })
})

t.test('the JWKS request has the same guards: status, redirect, size, JSON', async (t) => {
  useNock(t)
  const body = await signed(activeAnswer())
  const cases: Array<[string, () => void, string, number?]> = [
    ['500', () => nock(AS).get('/jwks').reply(500, 'down', { 'retry-after': '30' }), 'status', 30],
    [
      'redirect',
      () => nock(AS).get('/jwks').reply(301, '', { location: 'https://evil.example/jwks' }),
      'redirect',
    ],
    [
      'too large',
      () =>
        nock(AS)
          .get('/jwks')
          .reply(200, JSON.stringify({ keys: [publicJwk], pad: 'x'.repeat(5000) })),
      'too_large',
    ],
    ['not JSON', () => nock(AS).get('/jwks').reply(200, '<html>'), 'invalid_response'],
    ['not a JWK set', () => nock(AS).get('/jwks').reply(200, { keys: 'none' }), 'invalid_response'],
  ]
  for (const [label, arrange, reason, retryAfter] of cases) {
    arrange()
    nock(AS).post(PATH).reply(200, body, JWT_TYPE)
    const verifier = createIntrospectionVerifier(
      baseOptions({ jwtResponse: { jwksUri: `${AS}/jwks` }, maxResponseBytes: 4096 }),
    )
    t.match(
      await failure(verifier.verifyToken(newToken())),
      { code: 'ERR_VERIFIER_UNAVAILABLE', reason, retryAfter: retryAfter ?? 5 },
      label,
    )
    nock.cleanAll()
  }
})

/** A JWT-shaped access token (unsigned: only its shape and jti matter to the binding). */
function jwtToken(claims: Record<string, unknown>): string {
  const enc = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${enc({ alg: 'ES256', typ: 'at+jwt' })}.${enc(claims)}.c2ln`
}

t.test(
  'A signed introspection answer can be replayed for another token: jti is claimed once',
  async (t) => {
    useNock(t)
    // A genuine answer for token A, with its own jti, served again for token B.
    const genuine = await signed(activeAnswer({ sub: 'alice', scope: 'admin' }), {
      claims: { jti: 'response-1' },
    })
    nock(AS).post(PATH).reply(200, genuine, JWT_TYPE).post(PATH).reply(200, genuine, JWT_TYPE)
    const verifier = jwtVerifier({ key: signer.publicKey })
    t.equal((await verify(verifier, newToken('A'))).accessToken?.subject, 'alice')
    t.match(await failure(verifier.verifyToken(newToken('B'))), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'replayed',
      message: 'The signed introspection response was seen before',
    })
    // A jti that is not a non-empty string is not a jti.
    for (const jti of ['', 42]) {
      nock(AS)
        .post(PATH)
        .reply(200, await signed(activeAnswer(), { claims: { jti } }), JWT_TYPE)
      t.match(await failure(verifier.verifyToken(newToken())), { reason: 'invalid_response' })
    }
  },
)

t.test(
  'A signed introspection answer can be replayed for another token: bound by the token jti',
  async (t) => {
    useNock(t)
    const tokenA = jwtToken({ jti: 'at-A', sub: 'alice' })
    const tokenB = jwtToken({ jti: 'at-B', sub: 'mallory' })
    // An answer about A (it names A's jti) and no response jti to catch the replay.
    const aboutA = await signed(activeAnswer({ jti: 'at-A' }))
    nock(AS).post(PATH).reply(200, aboutA, JWT_TYPE).post(PATH).reply(200, aboutA, JWT_TYPE)
    const verifier = jwtVerifier({ key: signer.publicKey })
    t.ok((await verify(verifier, tokenA)).accessToken)
    t.match(await failure(verifier.verifyToken(tokenB)), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'token_mismatch',
    })
    // An opaque token, or a JWT without jti, has nothing to bind by: documented, accepted.
    nock(AS).post(PATH).reply(200, aboutA, JWT_TYPE).post(PATH).reply(200, aboutA, JWT_TYPE)
    t.ok((await verify(verifier, newToken())).accessToken)
    t.ok((await verify(verifier, jwtToken({ sub: 'x' }))).accessToken)
    // A token that looks like a JWT but whose payload is not JSON has no jti either.
    nock(AS).post(PATH).reply(200, aboutA, JWT_TYPE)
    const broken = `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.bm90LWpzb24.c2ln`
    t.ok((await verify(verifier, broken)).accessToken)
  },
)

t.test('the replay store: a custom one is used, and one that fails makes it 503', async (t) => {
  useNock(t)
  const claimed: Array<[string, number]> = []
  const store = {
    markUsed(key: string, expiresAt: number) {
      claimed.push([key, expiresAt])
      return true
    },
  }
  nock(AS)
    .post(PATH)
    .reply(200, await signed(activeAnswer(), { claims: { jti: 'r-7' } }), JWT_TYPE)
  const verifier = jwtVerifier({ key: signer.publicKey, replayStore: store, maxAge: 60 })
  t.ok((await verify(verifier, newToken())).accessToken)
  // Held until the response would be refused as too old anyway: to the end of the second
  // iat + maxAge + clockTolerance (jose compares whole seconds).
  t.same(claimed, [[`introspection-response ${ISSUER} r-7`, NOW_S + 60 + 5 + 1]])
  for (const broken of [
    {
      markUsed: () => {
        throw new Error('redis down')
      },
    },
    { markUsed: () => 'OK' },
    { markUsed: () => new Promise<boolean>(() => undefined) },
  ]) {
    nock(AS)
      .post(PATH)
      .reply(200, await signed(activeAnswer(), { claims: { jti: 'r-8' } }), JWT_TYPE)
    const failing = jwtVerifier({ key: signer.publicKey, replayStore: broken as never })
    t.match(await failure(failing.verifyToken(newToken())), { code: 'ERR_VERIFIER_UNAVAILABLE' })
  }
})

t.test('time boundaries of a signed response: iat, exp and nbf at the exact second', async (t) => {
  useNock(t)
  // clockTolerance 0 puts the edges on exact seconds; the clock stands at NOW_S.
  const verifier = jwtVerifier({ key: signer.publicKey, clockTolerance: 0, maxAge: 300 })
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ['iat == now - maxAge', { iat: NOW_S - 300 }, true],
    ['iat == now - maxAge - 1', { iat: NOW_S - 301 }, false],
    ['iat == now', { iat: NOW_S }, true],
    ['iat == now + 1', { iat: NOW_S + 1 }, false],
    ['exp == now', { exp: NOW_S }, false],
    ['exp == now + 1', { exp: NOW_S + 1 }, true],
    ['nbf == now', { nbf: NOW_S }, true],
    ['nbf == now + 1', { nbf: NOW_S + 1 }, false],
  ]
  for (const [label, claims, accepted] of cases) {
    nock(AS)
      .post(PATH)
      .reply(200, await signed(activeAnswer(), { claims }), JWT_TYPE)
    const outcome = await failure(verifier.verifyToken(newToken()))
    if (accepted) t.equal(outcome.reason, 'resolved', label)
    else t.equal(outcome.reason, 'invalid_response', label)
  }
  // With the default tolerance of 5 s, the same edges move by 5 s.
  const tolerant = jwtVerifier({ key: signer.publicKey, maxAge: 300 })
  for (const [label, iat, accepted] of [
    ['iat == now - 305', NOW_S - 305, true],
    ['iat == now - 306', NOW_S - 306, false],
    ['iat == now + 5', NOW_S + 5, true],
    ['iat == now + 6', NOW_S + 6, false],
  ] as const) {
    nock(AS)
      .post(PATH)
      .reply(200, await signed(activeAnswer(), { claims: { iat } }), JWT_TYPE)
    const outcome = await failure(tolerant.verifyToken(newToken()))
    t.equal(outcome.reason, accepted ? 'resolved' : 'invalid_response', label)
  }
})
