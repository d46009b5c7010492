import { DEFAULT_CLAIM_MAPPING, isVerifierUnavailable } from '@bearerkit/core'
import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import { decide, parseAnswer } from '../src/lib/answer.js'
import {
  AUDIENCE,
  ENDPOINT,
  ISSUER,
  NOW,
  NOW_S,
  activeAnswer,
  baseOptions,
  createClock,
  newToken,
  verify,
} from './fixtures/common.js'
import { useNock, type Teardown } from './fixtures/net.js'

const AS = 'https://as.example.com'
const PATH = '/oauth/introspect'

/** One introspection answered with `body` (JSON), through a verifier without a cache. */
async function answerWith(t: Tap, body: unknown, extra: Parameters<typeof baseOptions>[0] = {}) {
  useNock(t)
  const scope = nock(AS)
    .post(PATH)
    .reply(200, JSON.stringify(body), { 'content-type': 'application/json' })
  const verifier = createIntrospectionVerifier(baseOptions({ cache: false, ...extra }))
  const result = await verify(verifier, newToken())
  t.ok(scope.isDone(), 'the endpoint was asked')
  return result
}

type Tap = Teardown & { ok(value: unknown, message: string): boolean }

t.test('an active answer becomes a full AccessToken', async (t) => {
  useNock(t)
  const token = newToken()
  const scope = nock(AS)
    .post(PATH, { token, token_type_hint: 'access_token' })
    .reply(200, activeAnswer({ resource: AUDIENCE, ext: { tenant: 't1' } }))
  const verifier = createIntrospectionVerifier(baseOptions({ cache: false }))
  const { accessToken, refusal } = await verify(verifier, token)
  t.ok(scope.isDone())
  t.equal(refusal, undefined)
  t.match(accessToken, {
    token,
    clientId: 'mcp-client',
    scopes: ['read', 'write'],
    expiresAt: NOW_S + 3600,
    subject: 'alice',
    issuer: ISSUER,
    audience: [AUDIENCE],
    resource: AUDIENCE,
  })
  t.same(accessToken?.claims.ext, { tenant: 't1' })
  t.equal(accessToken?.claims.active, true)
  t.ok(Object.isFrozen(accessToken?.claims))
})

t.test('active: false is refused as inactive, whatever else the answer says', async (t) => {
  const result = await answerWith(t, { active: false, client_id: 'mcp-client', aud: AUDIENCE })
  t.same(result, { accessToken: null, refusal: 'inactive' })
})

for (const [label, body] of [
  ['active: "true" (a string)', activeAnswer({ active: 'true' })],
  ['active: 1', activeAnswer({ active: 1 })],
  ['active missing', (({ active: _a, ...rest }) => rest)(activeAnswer())],
  ['active: null', activeAnswer({ active: null })],
  ['a JSON array', [activeAnswer()]],
  ['a JSON string', 'active'],
  ['JSON null', null],
] as const) {
  t.test(
    `${label} is not active: the answer is unusable, so the verifier is unavailable`,
    async (t) => {
      const error = await answerWith(t, body).catch((e: unknown) => e)
      t.ok(isVerifierUnavailable(error), 'rejects with VerifierUnavailableError')
      t.match(error, { reason: 'invalid_response', statusCode: 503, retryAfter: 5 })
    },
  )
}

for (const [member, value] of [
  ['exp', '1900000000'],
  ['iat', 'yesterday'],
  ['nbf', null],
  ['scope', ['read']],
  ['client_id', 42],
  ['sub', 7],
  ['iss', { url: ISSUER }],
  ['token_type', true],
  ['username', 1],
  ['jti', 1],
  ['aud', 5],
  ['aud', [AUDIENCE, 5]],
  ['cnf', 'thumbprint'],
  ['exp', Infinity],
] as const) {
  t.test(`an active answer with ${member} = ${JSON.stringify(value)} is unusable`, async (t) => {
    const error = await answerWith(t, activeAnswer({ [member]: value })).catch((e: unknown) => e)
    t.match(error, { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'invalid_response' })
  })
}

t.test('exp in the past is refused as expired', async (t) => {
  t.same(await answerWith(t, activeAnswer({ exp: NOW_S - 1 })), {
    accessToken: null,
    refusal: 'expired',
  })
})

t.test('exp equal to now is expired too', async (t) => {
  t.equal((await answerWith(t, activeAnswer({ exp: NOW_S }))).refusal, 'expired')
})

t.test('an answer without exp is accepted (the server said active)', async (t) => {
  const { accessToken } = await answerWith(t, activeAnswer({ exp: undefined }))
  t.equal(accessToken?.expiresAt, undefined)
  t.equal(accessToken?.clientId, 'mcp-client')
})

for (const tokenType of [
  'refresh_token',
  'id_token',
  'N_A',
  'mac',
  'urn:ietf:params:oauth:token-type:refresh_token',
  'urn:ietf:params:oauth:token-type:id_token',
]) {
  t.test(`token_type ${tokenType} is refused as not an access token`, async (t) => {
    t.same(await answerWith(t, activeAnswer({ token_type: tokenType })), {
      accessToken: null,
      refusal: 'not_access_token',
    })
  })
}

for (const tokenType of [
  'Bearer',
  'bearer',
  'BEARER',
  'access_token',
  'urn:ietf:params:oauth:token-type:access_token',
]) {
  t.test(`token_type ${String(tokenType)} is accepted`, async (t) => {
    const { accessToken } = await answerWith(t, activeAnswer({ token_type: tokenType }))
    t.equal(accessToken?.clientId, 'mcp-client')
  })
}

t.test('a sender-constrained token (cnf) is refused without its proof context', async (t) => {
  t.same(await answerWith(t, activeAnswer({ cnf: { jkt: 'abc' } })), {
    accessToken: null,
    refusal: 'sender_constrained',
  })
  // An empty cnf binds to nothing bearerkit could check: refused as malformed, never accepted.
  t.equal((await answerWith(t, activeAnswer({ cnf: {} }))).refusal, 'invalid_claim')
})

t.test('iss different from the configured issuer is refused', async (t) => {
  t.same(await answerWith(t, activeAnswer({ iss: 'https://evil.example.com' })), {
    accessToken: null,
    refusal: 'wrong_issuer',
  })
  // a trailing slash is another issuer (RFC 8414 §3.3 compares exactly)
  t.equal((await answerWith(t, activeAnswer({ iss: `${ISSUER}/` }))).refusal, 'wrong_issuer')
})

t.test('iss absent is accepted; no issuer configured skips the check', async (t) => {
  t.ok((await answerWith(t, activeAnswer({ iss: undefined }))).accessToken)
  const other = await answerWith(t, activeAnswer({ iss: 'https://other.example.com' }), {
    issuer: undefined,
  })
  t.equal(other.accessToken?.issuer, 'https://other.example.com')
})

t.test('an answer for a different audience is refused', async (t) => {
  t.same(await answerWith(t, activeAnswer({ aud: 'https://other.example.com/mcp' })), {
    accessToken: null,
    refusal: 'wrong_audience',
  })
  t.equal(
    (await answerWith(t, activeAnswer({ aud: ['https://a.example', 'https://b.example'] })))
      .refusal,
    'wrong_audience',
  )
  // prefix and case variations are other audiences
  t.equal((await answerWith(t, activeAnswer({ aud: `${AUDIENCE}/x` }))).refusal, 'wrong_audience')
  t.equal(
    (await answerWith(t, activeAnswer({ aud: AUDIENCE.toUpperCase() }))).refusal,
    'wrong_audience',
  )
})

t.test('an answer without aud is refused while an audience is configured', async (t) => {
  t.same(await answerWith(t, activeAnswer({ aud: undefined })), {
    accessToken: null,
    refusal: 'missing_claim',
  })
})

t.test('aud arrays match when any configured audience is present', async (t) => {
  const { accessToken } = await answerWith(
    t,
    activeAnswer({ aud: ['https://other.example', AUDIENCE] }),
  )
  t.same(accessToken?.audience, ['https://other.example', AUDIENCE])
  const several = await answerWith(t, activeAnswer({ aud: 'https://b.example' }), {
    audience: ['https://a.example', 'https://b.example'],
  })
  t.ok(several.accessToken)
})

t.test('audience: null skips the audience check explicitly', async (t) => {
  const { accessToken } = await answerWith(t, activeAnswer({ aud: undefined }), { audience: null })
  t.equal(accessToken?.audience, undefined)
  t.ok(
    (await answerWith(t, activeAnswer({ aud: 'https://x.example' }), { audience: null }))
      .accessToken,
  )
})

t.test('requiredScopes must all be granted', async (t) => {
  t.ok((await answerWith(t, activeAnswer(), { requiredScopes: ['read', 'write'] })).accessToken)
  t.same(await answerWith(t, activeAnswer(), { requiredScopes: ['read', 'admin'] }), {
    accessToken: null,
    refusal: 'insufficient_scope',
  })
  t.equal(
    (await answerWith(t, activeAnswer({ scope: undefined }), { requiredScopes: ['read'] })).refusal,
    'insufficient_scope',
  )
  // "read" does not satisfy "rea" or "read:all"
  t.equal(
    (await answerWith(t, activeAnswer({ scope: 'read' }), { requiredScopes: ['read:all'] }))
      .refusal,
    'insufficient_scope',
  )
})

t.test('an active answer naming no client is refused (missing_claim)', async (t) => {
  t.same(await answerWith(t, activeAnswer({ client_id: undefined })), {
    accessToken: null,
    refusal: 'missing_claim',
  })
})

t.test('claim mapping picks client id, scopes and subject from other members', async (t) => {
  const { accessToken } = await answerWith(
    t,
    activeAnswer({
      client_id: undefined,
      azp: 'azp-client',
      scope: undefined,
      scp: ['a', 'b'],
      uid: 'u1',
    }),
    { claims: { clientId: ['azp'], scopes: ['scp'], subject: ['uid'] } },
  )
  t.equal(accessToken?.clientId, 'azp-client')
  t.same(accessToken?.scopes, ['a', 'b'])
  t.equal(accessToken?.subject, 'u1')
  const bad = await answerWith(t, activeAnswer({ azp: 5 }), { claims: { clientId: ['azp'] } })
  t.equal(bad.refusal, 'invalid_claim')
})

t.test('__proto__ in an answer stays plain data', async (t) => {
  useNock(t)
  nock(AS)
    .post(PATH)
    .reply(
      200,
      `{"active":true,"client_id":"c","aud":"${AUDIENCE}","token_type":"Bearer","__proto__":{"polluted":1}}`,
      {
        'content-type': 'application/json',
      },
    )
  const verifier = createIntrospectionVerifier(baseOptions({ cache: false }))
  const { accessToken } = await verify(verifier, newToken())
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  // Inherits nothing: its prototype is an empty object without a prototype.
  t.same(Reflect.ownKeys(Object.getPrototypeOf(accessToken?.claims) as object), [])
  t.equal(Object.getPrototypeOf(Object.getPrototypeOf(accessToken?.claims) as object), null)
  t.same(accessToken?.claims.__proto__, { polluted: 1 })
})

t.test(
  'tokens that cannot come from an Authorization header are refused without a request',
  async (t) => {
    useNock(t)
    const verifier = createIntrospectionVerifier(baseOptions())
    for (const token of ['has space', 'line\nbreak', 'quote"', 'a'.repeat(16 * 1024 + 1), 'é']) {
      t.same(await verify(verifier, token), { accessToken: null, refusal: 'malformed' })
    }
    t.same(await verify(verifier, ''), { accessToken: null, refusal: 'malformed' })
    t.equal(ENDPOINT.startsWith(AS), true)
  },
)

t.test('a cached answer is never used for another token, even under the same key', async (t) => {
  // Cache keys are SHA-256 hashes; decide() also compares the tokens themselves, so even a hash
  // collision could not hand one token's answer to another.
  const answer = parseAnswer('token-a', activeAnswer(), DEFAULT_CLAIM_MAPPING)
  const policy = {
    issuer: ISSUER,
    audience: [AUDIENCE],
    requiredScopes: [],
    requireTokenType: true,
  }
  t.equal((decide(answer, 'token-a', NOW_S * 1000, policy) as { token?: string }).token, 'token-a')
  t.match(decide(answer, 'token-b', NOW_S * 1000, policy), { code: 'rejected' })
})

t.test('an answer without token_type is refused unless requireTokenType is false', async (t) => {
  // oidc-provider's answer for a refresh token: active, no token_type, and no aud to tell.
  const refreshAnswer = activeAnswer({ token_type: undefined, aud: undefined })
  t.same(await answerWith(t, refreshAnswer, { audience: null }), {
    accessToken: null,
    refusal: 'not_access_token',
  })
  t.same(await answerWith(t, activeAnswer({ token_type: undefined })), {
    accessToken: null,
    refusal: 'not_access_token',
  })
  const optedOut = await answerWith(t, activeAnswer({ token_type: undefined }), {
    requireTokenType: false,
  })
  t.equal(optedOut.accessToken?.clientId, 'mcp-client')
  // Opting out never lets a wrong type through.
  t.same(
    await answerWith(t, activeAnswer({ token_type: 'refresh_token' }), { requireTokenType: false }),
    { accessToken: null, refusal: 'not_access_token' },
  )
  t.throws(() => createIntrospectionVerifier(baseOptions({ requireTokenType: 'no' as never })), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^options\.requireTokenType /,
  })
})

t.test('time boundaries of an answer: exp and nbf at the exact second', async (t) => {
  // The clock stands at NOW (NOW_S seconds exactly).
  t.equal((await answerWith(t, activeAnswer({ exp: NOW_S }))).refusal, 'expired', 'exp == now')
  t.equal((await answerWith(t, activeAnswer({ exp: NOW_S - 1 }))).refusal, 'expired')
  t.ok((await answerWith(t, activeAnswer({ exp: NOW_S + 1 }))).accessToken, 'exp == now + 1')
  t.ok((await answerWith(t, activeAnswer({ nbf: NOW_S }))).accessToken, 'nbf == now')
  t.ok((await answerWith(t, activeAnswer({ nbf: NOW_S - 1 }))).accessToken)
  t.equal(
    (await answerWith(t, activeAnswer({ nbf: NOW_S + 1 }))).refusal,
    'not_yet_valid',
    'nbf == now + 1',
  )
})

t.test('time boundaries hold on cached answers, to the millisecond', async (t) => {
  useNock(t)
  const clock = createClock()
  nock(AS)
    .post(PATH)
    .reply(200, activeAnswer({ exp: NOW_S + 10, nbf: NOW_S + 2 }))
  const verifier = createIntrospectionVerifier(baseOptions({ now: clock, cache: { ttl: 60 } }))
  const token = newToken()
  t.equal((await verify(verifier, token)).refusal, 'not_yet_valid')
  clock.set(NOW + 1999)
  t.equal((await verify(verifier, token)).refusal, 'not_yet_valid', 'cached, 1 ms before nbf')
  clock.set(NOW + 2000)
  t.ok((await verify(verifier, token)).accessToken, 'cached, nbf == now')
  clock.set(NOW + 9999)
  t.ok((await verify(verifier, token)).accessToken, 'cached, 1 ms before exp')
  clock.set(NOW + 10_000)
  nock(AS)
    .post(PATH)
    .reply(200, activeAnswer({ exp: NOW_S + 10 }))
  t.equal((await verify(verifier, token)).refusal, 'expired', 'exp == now: asked again, expired')
})
