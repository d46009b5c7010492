import t from 'tap'
import { createHash } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import {
  Refusal,
  accessTokenFromClaims,
  checkConfirmation,
  createMemoryReplayStore,
  defineVerifier,
  parseChallenge,
  type ReplayStore,
} from '@bearerkit/core'
import { createBearerGate, type BearerGateOptions, type GateResult } from '../src/index.js'
import { NOW, NOW_S, URL_, ath, proof, proofKey } from './fixtures/dpop.js'

const RESOURCE = 'https://rs.example.com/mcp'
const METADATA = 'https://rs.example.com/.well-known/oauth-protected-resource/mcp'
const now = () => NOW

/** Tokens are names of claim sets; the verifier enforces cnf the way jwt and introspection do. */
function verifierOf(tokens: Record<string, Record<string, unknown>>) {
  return defineVerifier('test', (token, options) => {
    const claims = tokens[token]
    if (claims === undefined) return new Refusal('bad_signature', 'The access token is invalid')
    return (
      checkConfirmation(claims.cnf, options.senderConstraint) ??
      accessTokenFromClaims(token, claims)
    )
  })
}

const claims = (extra: Record<string, unknown> = {}) => ({
  client_id: 'app',
  aud: RESOURCE,
  scope: 'mcp',
  exp: NOW_S + 600,
  ...extra,
})

async function setup(options: Partial<BearerGateOptions> = {}) {
  const key = await proofKey('ES256')
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  const verifier = verifierOf({
    bound: claims({ cnf: { jkt } }),
    plain: claims(),
    other: claims({ cnf: { jkt: 'A'.repeat(43) } }),
    cert: claims({ cnf: { 'x5t#S256': 'C'.repeat(43) } }),
  })
  const gate = createBearerGate({
    verifier,
    resource: { url: RESOURCE, authorizationServers: ['https://as.example.com'] },
    dpop: { now, algorithms: ['ES256', 'EdDSA'] },
    ...options,
  })
  return { key, jkt, gate }
}

type Answer = { status: number; headers: Record<string, string>; body: unknown } | 'accepted'

function answer(result: GateResult): Answer {
  if (result.kind === 'accepted') return 'accepted'
  if (result.kind !== 'refused') throw new Error(result.kind)
  const { status, headers, body } = result.response
  return { status, headers: { ...headers }, body: body === null ? null : JSON.parse(body) }
}

const challenge = (error: string, description: string, scheme: 'Bearer' | 'DPoP') =>
  scheme === 'DPoP'
    ? `Bearer resource_metadata="${METADATA}", DPoP error="${error}", error_description="${description}", scope="mcp", resource_metadata="${METADATA}", algs="ES256 EdDSA"`
    : `Bearer error="${error}", error_description="${description}", scope="mcp", resource_metadata="${METADATA}", DPoP resource_metadata="${METADATA}", algs="ES256 EdDSA"`

t.test('a DPoP-bound token with its proof is accepted', async (t) => {
  const { key, jkt, gate } = await setup()
  const result = await gate.authenticate({
    method: 'GET',
    url: URL_,
    scopes: ['mcp'],
    headers: { authorization: 'DPoP bound', dpop: await proof(key, { ath: ath('bound') }) },
  })
  t.equal(result.kind, 'accepted')
  if (result.kind === 'accepted') t.same(result.accessToken.cnf, { jkt })
  // The scheme name is case-insensitive (RFC 9110 §11.1).
  const lower = await gate.authenticate({
    method: 'GET',
    url: URL_,
    headers: { authorization: 'dpop bound', dpop: await proof(key, { ath: ath('bound') }) },
  })
  t.equal(lower.kind, 'accepted')
})

t.test('a header spelt DPoP is answered exactly as one spelt otherwise', async (t) => {
  const { key, gate } = await setup({ maxTokenLength: 64 })
  const send = async (authorization: string) =>
    answer(
      await gate.authenticate({
        method: 'GET',
        url: URL_,
        headers: { authorization, dpop: await proof(key, { ath: ath('bound') }) },
      }),
    )
  const tails = [
    ' bound',
    '   bound',
    ' bound, Bearer plain',
    ' bound,Bearer plain',
    ' bound, DPoP bound',
    ' bound,',
    ' bo,und',
    ' b@und',
    ' ',
    ` ${'b'.repeat(65)}`,
    ` ${'b'.repeat(65)}, Bearer plain`,
    ` ${'b'.repeat(200)}`,
    ' plain',
    ' bound realm="x"',
  ]
  for (const tail of tails) {
    t.same(await send(`DPoP${tail}`), await send(`dPoP${tail}`), JSON.stringify(tail))
  }
  t.equal(await send('DPoP bound'), 'accepted')
  t.match(await send('DPoP bound, Bearer plain'), {
    status: 400,
    body: { error_description: 'The Authorization header must be sent once' },
  })
  t.match(await send(`DPoP ${'b'.repeat(65)}`), {
    status: 400,
    body: { error_description: 'The bearer token is too large' },
  })
})

t.test('hostile requests get the right error, challenge and status', async (t) => {
  const { key, gate } = await setup()
  const other = await proofKey('ES256')
  const send = async (
    authorization: string,
    dpop: string | string[] | undefined,
    extra: { method?: string; url?: string } = {},
  ) =>
    answer(
      await gate.authenticate({
        method: extra.method ?? 'GET',
        url: extra.url ?? URL_,
        scopes: ['mcp'],
        headers: dpop === undefined ? { authorization } : { authorization, dpop },
      }),
    )
  const proofError = (description: string) => ({
    status: 401,
    headers: {
      'www-authenticate': challenge('invalid_dpop_proof', description, 'DPoP'),
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=utf-8',
    },
    body: { error: 'invalid_dpop_proof', error_description: description },
  })
  const good = () => proof(key, { ath: ath('bound') })

  // A replayed proof.
  const once = await good()
  t.equal(await send('DPoP bound', once), 'accepted')
  t.same(await send('DPoP bound', once), proofError('The DPoP proof was already used'))
  // Wrong method, wrong URI (host, path, query-only difference, trailing slash).
  t.same(
    await send('DPoP bound', await good(), { method: 'POST' }),
    proofError('The DPoP proof was made for another HTTP method'),
  )
  for (const htu of [
    'https://evil.example.com/mcp',
    'https://rs.example.com/admin',
    `${URL_}?x=1`,
    `${URL_}/`,
  ]) {
    t.same(
      await send('DPoP bound', await proof(key, { ath: ath('bound'), htu })),
      proofError('The DPoP proof was made for another URI'),
      htu,
    )
  }
  // ath for another token; a private key in jwk; a signature by another key.
  t.same(
    await send('DPoP bound', await proof(key, { ath: ath('plain') })),
    proofError('The DPoP proof was made for another access token'),
  )
  t.same(
    await send(
      'DPoP bound',
      await proof(key, { ath: ath('bound') }, { header: { jwk: key.privateJwk } }),
    ),
    proofError('The DPoP proof jwk must not contain private key members'),
  )
  t.same(
    await send('DPoP bound', await proof(key, { ath: ath('bound') }, { signWith: other })),
    proofError('The DPoP proof signature is invalid'),
  )
  // iat far in the past or the future.
  t.same(
    await send('DPoP bound', await proof(key, { ath: ath('bound'), iat: NOW_S - 3600 })),
    proofError('The DPoP proof is too old'),
  )
  t.same(
    await send('DPoP bound', await proof(key, { ath: ath('bound'), iat: NOW_S + 3600 })),
    proofError('The DPoP proof was issued in the future'),
  )
  // A missing or a duplicated DPoP header; an oversized proof.
  t.same(await send('DPoP bound', undefined), proofError('The request has no DPoP proof'))
  t.same(
    await send('DPoP bound', [await good(), await good()]),
    proofError('The request has more than one DPoP proof'),
  )
  t.same(
    await send('DPoP bound', `${await good()}, ${await good()}`),
    proofError('The request has more than one DPoP proof'),
  )
  t.same(await send('DPoP bound', 'x'.repeat(9000)), proofError('The DPoP proof is too large'))
  // alg none and HS256.
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const payload = b64({ jti: 'j1', htm: 'GET', htu: URL_, iat: NOW_S, ath: ath('bound') })
  for (const alg of ['none', 'HS256']) {
    t.same(
      await send(
        'DPoP bound',
        `${b64({ typ: 'dpop+jwt', alg, jwk: key.publicJwk })}.${payload}.AAAA`,
      ),
      proofError('The DPoP proof algorithm is not accepted'),
      alg,
    )
  }
  // A bound token presented as Bearer: invalid_token on the Bearer challenge.
  t.same(await send('Bearer bound', undefined), {
    status: 401,
    headers: {
      'www-authenticate': challenge(
        'invalid_token',
        'The access token is sender-constrained (cnf) and was presented without its proof',
        'Bearer',
      ),
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=utf-8',
    },
    body: {
      error: 'invalid_token',
      error_description:
        'The access token is sender-constrained (cnf) and was presented without its proof',
    },
  })
  // The same with a (valid) DPoP header beside it: Bearer carries no proof.
  t.match(await send('Bearer bound', await good()), {
    status: 401,
    body: { error: 'invalid_token' },
  })
  // A token bound to another key, with a valid proof of ours.
  t.same(await send('DPoP other', await proof(key, { ath: ath('other') })), {
    status: 401,
    headers: {
      'www-authenticate': challenge(
        'invalid_token',
        'The DPoP proof was signed by a key other than the one the access token is bound to',
        'DPoP',
      ),
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=utf-8',
    },
    body: {
      error: 'invalid_token',
      error_description:
        'The DPoP proof was signed by a key other than the one the access token is bound to',
    },
  })
  // An unbound token with the DPoP scheme.
  t.match(await send('DPoP plain', await proof(key, { ath: ath('plain') })), {
    status: 401,
    headers: {
      'www-authenticate':
        /DPoP error="invalid_token", error_description="The access token is not DPoP-bound/,
    },
    body: { error: 'invalid_token' },
  })
  // An unbound token as Bearer stays fine; a malformed DPoP header is a malformed request.
  t.equal(await send('Bearer plain', undefined), 'accepted')
  t.match(await send('DPoP', undefined), { status: 400, body: { error: 'invalid_request' } })
  // No credentials: both challenges, no error.
  t.same(await send('', undefined), {
    status: 401,
    headers: {
      'www-authenticate': `Bearer scope="mcp", resource_metadata="${METADATA}", DPoP resource_metadata="${METADATA}", algs="ES256 EdDSA"`,
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=utf-8',
    },
    body: { error: 'unauthorized', error_description: 'Authentication is required' },
  })
})

t.test(
  'nonces: use_dpop_nonce with a DPoP-Nonce header, for a missing, stale or forged nonce',
  async (t) => {
    let clock = NOW
    const { key, gate } = await setup({
      dpop: {
        now: () => clock,
        nonceSecret: 's'.repeat(32),
        requireNonce: true,
        algorithms: ['ES256', 'EdDSA'],
      },
    })
    const send = async (nonce: unknown) =>
      answer(
        await gate.authenticate({
          method: 'GET',
          url: URL_,
          scopes: ['mcp'],
          headers: {
            authorization: 'DPoP bound',
            dpop: await proof(key, { ath: ath('bound'), iat: clock / 1000, nonce }),
          },
        }),
      )
    const missing = await send(undefined)
    if (missing === 'accepted') throw new Error('accepted without a nonce')
    t.equal(missing.status, 401)
    const nonce = missing.headers['dpop-nonce'] as string
    t.match(nonce, /^[A-Za-z0-9_-]{32}$/)
    t.equal(
      missing.headers['www-authenticate'],
      challenge('use_dpop_nonce', 'The DPoP proof must carry the server nonce', 'DPoP'),
    )
    t.same(missing.body, {
      error: 'use_dpop_nonce',
      error_description: 'The DPoP proof must carry the server nonce',
    })
    t.equal(await send(nonce), 'accepted')
    // A forged nonce, then a stale one (three steps later).
    t.match(await send('A'.repeat(32)), {
      status: 401,
      headers: { 'dpop-nonce': nonce },
      body: { error: 'use_dpop_nonce' },
    })
    clock += 180_000
    const stale = await send(nonce)
    t.match(stale, { status: 401, body: { error: 'use_dpop_nonce' } })
    if (stale !== 'accepted') t.not(stale.headers['dpop-nonce'], nonce, 'a fresh nonce')
  },
)

t.test('a proof replayed on a second instance sharing the replay store is refused', async (t) => {
  const replayStore = createMemoryReplayStore({ now })
  const a = await setup({ dpop: { now, replayStore } })
  const b = createBearerGate({
    verifier: verifierOf({ bound: claims({ cnf: { jkt: a.jkt } }) }),
    resource: { url: RESOURCE, authorizationServers: ['https://as.example.com'] },
    dpop: { now, replayStore },
  })
  const request = {
    method: 'GET',
    url: URL_,
    headers: { authorization: 'DPoP bound', dpop: await proof(a.key, { ath: ath('bound') }) },
  }
  t.equal((await a.gate.authenticate(request)).kind, 'accepted')
  t.match(answer(await b.authenticate(request)), {
    status: 401,
    body: { error: 'invalid_dpop_proof', error_description: 'The DPoP proof was already used' },
  })
})

t.test('a replay store that cannot answer is a 503, never a pass', async (t) => {
  const broken: ReplayStore = { markUsed: () => Promise.reject(new Error('redis down')) }
  const { key, gate } = await setup({ dpop: { now, replayStore: broken } })
  t.match(
    answer(
      await gate.authenticate({
        method: 'GET',
        url: URL_,
        headers: { authorization: 'DPoP bound', dpop: await proof(key, { ath: ath('bound') }) },
      }),
    ),
    { status: 503, headers: { 'retry-after': '1' }, body: { error: 'temporarily_unavailable' } },
  )
})

t.test("a replay store of the user's: answered late, never, or at once", async (t) => {
  // The guard's deadline timer does not hold the process open; this keeps the test alive for it.
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  const request = async (key: Awaited<ReturnType<typeof proofKey>>) => ({
    method: 'GET',
    url: URL_,
    headers: { authorization: 'DPoP bound', dpop: await proof(key, { ath: ath('bound') }) },
  })
  const hanging: ReplayStore = { markUsed: () => new Promise<boolean>(() => {}) }
  const cut = await setup({ dpop: { now, replayStore: hanging, replayStoreTimeout: 20 } })
  t.match(answer(await cut.gate.authenticate(await request(cut.key))), {
    status: 503,
    headers: { 'retry-after': '1' },
    body: { error: 'temporarily_unavailable' },
  })
  const late: ReplayStore = {
    markUsed: () => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 5)),
  }
  const slow = await setup({ dpop: { now, replayStore: late } })
  t.equal(answer(await slow.gate.authenticate(await request(slow.key))), 'accepted')
  const seen = new Set<string>()
  const sync: ReplayStore = {
    markUsed: (key) => (seen.has(key) ? false : (seen.add(key), true)),
  }
  const direct = await setup({ dpop: { now, replayStore: sync } })
  const once = await request(direct.key)
  t.equal(answer(await direct.gate.authenticate(once)), 'accepted')
  t.match(answer(await direct.gate.authenticate(once)), {
    status: 401,
    body: { error: 'invalid_dpop_proof', error_description: 'The DPoP proof was already used' },
  })
})

t.test('a clock that throws while a proof is checked is a 503, never a throw', async (t) => {
  const { key, gate } = await setup({
    dpop: {
      now: () => {
        throw new Error('no clock')
      },
    },
  })
  const pending = gate.authenticate({
    method: 'GET',
    url: URL_,
    headers: { authorization: 'DPoP bound', dpop: await proof(key, { ath: ath('bound') }) },
  })
  t.ok(pending instanceof Promise)
  t.match(answer(await pending), { status: 503, body: { error: 'temporarily_unavailable' } })
})

t.test(
  'dpop.required: the Bearer scheme is refused, only the DPoP challenge is sent',
  async (t) => {
    const { key, gate } = await setup({ dpop: { now, required: true, algorithms: ['ES256'] } })
    t.same(
      answer(
        await gate.authenticate({
          method: 'GET',
          url: URL_,
          headers: { authorization: 'Bearer plain' },
        }),
      ),
      {
        status: 401,
        headers: {
          'www-authenticate': `DPoP error="invalid_token", error_description="This resource accepts only DPoP-bound access tokens (Authorization: DPoP)", resource_metadata="${METADATA}", algs="ES256"`,
          'cache-control': 'no-store',
          'content-type': 'application/json; charset=utf-8',
        },
        body: {
          error: 'invalid_token',
          error_description:
            'This resource accepts only DPoP-bound access tokens (Authorization: DPoP)',
        },
      },
    )
    const ok = await gate.authenticate({
      method: 'GET',
      url: URL_,
      headers: { authorization: 'DPoP bound', dpop: await proof(key, { ath: ath('bound') }) },
    })
    t.equal(ok.kind, 'accepted')
    t.same(gate.metadata?.document, {
      resource: RESOURCE,
      authorization_servers: ['https://as.example.com'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256'],
      dpop_bound_access_tokens_required: true,
    })
  },
)

t.test('a relative request URL is checked against the public origin', async (t) => {
  const { key, gate } = await setup({ dpop: { now, publicOrigin: 'https://rs.example.com' } })
  const send = async (url: string, htu: string) =>
    (
      await gate.authenticate({
        method: 'GET',
        url,
        headers: {
          authorization: 'DPoP bound',
          dpop: await proof(key, { ath: ath('bound'), htu }),
        },
      })
    ).kind
  t.equal(await send('/mcp?session=1', URL_), 'accepted')
  // The Host header never decides.
  t.equal(await send('/mcp', 'http://localhost/mcp'), 'refused')
})

t.test('mTLS: a certificate-bound token needs the connection certificate', async (t) => {
  const der = Buffer.from('30030201 01'.replace(/ /g, ''), 'hex')
  const thumbprint = createHash('sha256').update(der).digest('base64url')
  const gate = createBearerGate({
    verifier: verifierOf({ cert: claims({ cnf: { 'x5t#S256': thumbprint } }) }),
    resource: { url: RESOURCE, authorizationServers: ['https://as.example.com'] },
    mtls: true,
  })
  const send = (clientCertificate?: Uint8Array) =>
    gate.authenticate({
      method: 'GET',
      url: URL_,
      headers: { authorization: 'Bearer cert' },
      clientCertificate,
    })
  t.equal((await send(der)).kind, 'accepted')
  t.match(answer(await send()), { status: 401, body: { error: 'invalid_token' } })
  t.match(answer(await send(Buffer.from('3003020102', 'hex'))), {
    status: 401,
    headers: {
      'www-authenticate':
        /^Bearer error="invalid_token", error_description="The client certificate is not the one the access token is bound to"/,
    },
  })
  t.equal(gate.metadata?.document.tls_client_certificate_bound_access_tokens, true)
  // No DPoP here: the DPoP scheme is another scheme (401 without an error code).
  t.match(
    answer(
      await gate.authenticate({
        method: 'GET',
        url: URL_,
        headers: { authorization: 'DPoP cert' },
      }),
    ),
    {
      status: 401,
      headers: { 'www-authenticate': `Bearer resource_metadata="${METADATA}"` },
    },
  )
  t.same(parseChallenge(`Bearer resource_metadata="${METADATA}"`)[0]?.scheme, 'Bearer')
})

t.test(
  'the gate answers HEAD refusals without a body and respond() keeps the DPoP error',
  async (t) => {
    const { key, gate } = await setup()
    const result = await gate.authenticate({
      method: 'HEAD',
      url: URL_,
      headers: {
        authorization: 'DPoP bound',
        dpop: await proof(key, { ath: ath('bound'), htm: 'GET' }),
      },
    })
    if (result.kind !== 'refused') throw new Error('expected a refusal')
    t.equal(result.response.body, null)
    t.equal(result.reason, 'dpop_wrong_method')
    // Rendering the error again (a framework's error path) gives the same answer.
    const again = gate.respond(result.error, [], 'GET')
    t.match(
      again.headers['www-authenticate'],
      /^Bearer resource_metadata=".*", DPoP error="invalid_dpop_proof"/,
    )
    t.same(JSON.parse(again.body as string), {
      error: 'invalid_dpop_proof',
      error_description: 'The DPoP proof was made for another HTTP method',
    })
  },
)
