// Red-team tests of the gate's synchronous path (authenticateNow, verifyTokenNow): hostile
// verifier answers, re-entrancy, and parity of authenticate, authenticateNow and the promise path.
import {
  Refusal,
  accessTokenFromClaims,
  checkConfirmation,
  createCachedVerifier,
  defineVerifier,
  type AccessToken,
  type TokenVerifier,
  type VerifyOptions,
} from '@bearerkit/core'
import { calculateJwkThumbprint } from 'jose'
import t from 'tap'
import {
  createBearerGate,
  type BearerGate,
  type GateRequest,
  type GateResult,
} from '../src/index.js'
import {
  ISSUER,
  RESOURCE,
  TOKENS,
  accessToken,
  conformanceOptions,
  conformanceVerifier,
} from './fixtures/conformance.js'
import { NOW, NOW_S, URL_, ath, proof, proofKey, type ProofKey } from './fixtures/dpop.js'

const DPOP_RESOURCE = 'https://rs.example.com/mcp'

// The deadline's sweep never keeps a process alive; this timer does while the tests wait.
const alive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(alive))

const get = (authorization: string): GateRequest => ({
  method: 'GET',
  url: '/mcp',
  headers: { authorization },
})

const gateOf = (verifyToken: TokenVerifier['verifyToken'], verifierTimeout = 200): BearerGate =>
  createBearerGate({ ...conformanceOptions(), verifier: { verifyToken }, verifierTimeout })

// What the gate answered, or how it failed, within `ms`: a hang is an outcome too.
async function settled(
  run: () => GateResult | Promise<GateResult>,
  ms = 2000,
): Promise<{ kind: string; status?: number; reason?: string; errorName?: unknown }> {
  let answer: GateResult | Promise<GateResult>
  try {
    answer = run()
  } catch (error) {
    return { kind: 'threw', reason: (error as Error).message }
  }
  const outcome = await Promise.race([
    Promise.resolve(answer).then(
      (result) => result,
      (error: unknown) => ({ kind: 'rejected', reason: (error as Error).message }) as const,
    ),
    new Promise<{ kind: 'hung' }>((resolve) => setTimeout(() => resolve({ kind: 'hung' }), ms)),
  ])
  if (outcome.kind !== 'refused') return outcome
  return {
    kind: 'refused',
    status: outcome.response.status,
    reason: outcome.reason,
    errorName: outcome.log.errorName,
  }
}

t.test(
  'an answer whose `then` getter throws is a 503 verifier_error, not a rejection',
  async (t) => {
    // A custom verifier's answer with a `then` getter that throws (a proxy, a lazy object). The
    // gate looked at it inside its try before db8720d (503); now authenticate rejects with the
    // verifier's own error, whose message (here quoting the token) reaches the framework's log.
    const gate = gateOf(() => {
      const answer = {}
      Object.defineProperty(answer, 'then', {
        get() {
          throw new Error('cannot read answer for sEcReT.good')
        },
      })
      return answer as Promise<AccessToken>
    })
    const expected = { kind: 'refused', status: 503, reason: 'verifier_error', errorName: 'Error' }
    t.same(await settled(() => gate.authenticate(get(`Bearer ${TOKENS.good}`))), expected)
    t.same(await settled(() => gate.authenticateNow(get(`Bearer ${TOKENS.good}`))), expected)
  },
)

t.test("a getter on the verifier's answer that throws is a 503, not a rejection", async (t) => {
  // The gate says it never throws for a request; a custom verifier's AccessToken whose
  // clientId is a throwing getter made authenticate reject (sync and promise answers alike).
  const hostile = (): AccessToken => {
    const token = { scopes: ['read'], audience: [RESOURCE], claims: {}, token: TOKENS.good }
    Object.defineProperty(token, 'clientId', {
      get() {
        throw new Error('getter for sEcReT.good')
      },
    })
    return token as unknown as AccessToken
  }
  for (const [name, verifyToken] of [
    ['synchronous answer', () => hostile() as unknown as Promise<AccessToken>],
    ['promise', async () => hostile()],
  ] as const) {
    const gate = gateOf(verifyToken)
    t.match(
      await settled(() => gate.authenticate(get(`Bearer ${TOKENS.good}`))),
      { kind: 'refused', status: 503, reason: 'verifier_error' },
      name,
    )
  }
})

t.test('hostile thenables never hang the gate and never accept twice', async (t) => {
  const never = { then: (): void => {} }
  const cases: [string, () => unknown, Record<string, unknown>][] = [
    [
      // Answered with a thenable that never answers: verifierTimeout must still end it.
      'a thenable that answers with a thenable that never answers',
      () => ({ then: (resolve: (v: unknown) => void) => resolve(never) }),
      { kind: 'refused', status: 503, reason: 'verifier_unavailable:verifier_timeout' },
    ],
    [
      'a thenable whose then throws',
      () => ({
        then: () => {
          throw new Error('x')
        },
      }),
      { kind: 'refused', status: 503, reason: 'verifier_error' },
    ],
    [
      'a thenable that calls back twice, synchronously (accept, then refuse)',
      () => ({
        then: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => {
          resolve(accessToken(TOKENS.good))
          resolve(null)
          reject(new Error('late'))
        },
      }),
      { kind: 'accepted' },
    ],
    [
      'a thenable that refuses, then accepts',
      () => ({
        then: (resolve: (v: unknown) => void) => {
          resolve(null)
          resolve(accessToken(TOKENS.good))
        },
      }),
      { kind: 'refused', status: 401, reason: 'invalid_token' },
    ],
    ['a synchronous null', () => null, { kind: 'refused', status: 401, reason: 'invalid_token' }],
    [
      'a synchronous number',
      () => 42,
      { kind: 'refused', status: 503, reason: 'verifier_error', errorName: 'invalid_result' },
    ],
    [
      'a synchronous throw',
      () => {
        throw new Error('sEcReT.good')
      },
      { kind: 'refused', status: 503, reason: 'verifier_error' },
    ],
  ]
  for (const [name, answer, expected] of cases) {
    const gate = gateOf(answer as TokenVerifier['verifyToken'], 150)
    t.match(await settled(() => gate.authenticate(get(`Bearer ${TOKENS.good}`))), expected, name)
    t.match(await settled(() => gate.authenticateNow(get(`Bearer ${TOKENS.good}`))), expected, name)
  }
})

t.test('re-entrancy: a verifier that authenticates another request synchronously', async (t) => {
  // The check runs inside the gate's call (a cache hit, a synchronous verifier); another
  // request's header parsing inside it reuses the scratch buffers of the token checks. Each
  // request must keep its own answer.
  const inner: { gate?: BearerGate; seen: string[] } = { seen: [] }
  const base = conformanceVerifier()
  const verifier = defineVerifier('reentrant', (token: string, options: VerifyOptions) => {
    if (inner.gate !== undefined && token === TOKENS.good) {
      const nested = inner.gate.authenticateNow(get(`Bearer ${TOKENS.forged}xx`))
      inner.seen.push(nested instanceof Promise ? 'promise' : nested.kind)
    }
    const answer = base.verifyToken(token, options)
    return answer.then((value) => value ?? new Refusal('bad_signature', 'no'))
  })
  const cached = createCachedVerifier(verifier)
  const gate = createBearerGate({ ...conformanceOptions(), verifier: cached })
  inner.gate = gate
  t.match(await settled(() => gate.authenticate(get(`Bearer ${TOKENS.good}`))), {
    kind: 'accepted',
  })
  t.match(await settled(() => gate.authenticateNow(get(`Bearer ${TOKENS.good}`))), {
    kind: 'accepted',
  })
  t.same(inner.seen, ['promise'], 'the nested request was decided on its own')
  const nested = await gate.authenticate(get(`Bearer ${TOKENS.forged}xx`))
  t.equal(nested.kind, 'refused')
})

// Everything a result says, as JSON (the AccessToken prints its fingerprint, not the token).
function snapshot(result: GateResult): string {
  if (result.kind === 'refused') {
    return JSON.stringify({
      kind: result.kind,
      reason: result.reason,
      log: result.log,
      response: result.response,
    })
  }
  return JSON.stringify(result)
}

const VERIFIERS: [string, () => TokenVerifier][] = [
  ['defineVerifier, synchronous', () => conformanceVerifier()],
  ['cached, synchronous inner', () => createCachedVerifier(conformanceVerifier())],
  [
    'cached, asynchronous inner, negative ttl',
    () => {
      const base = conformanceVerifier()
      return createCachedVerifier(
        defineVerifier('slow', async (token, options) => {
          await new Promise((resolve) => setImmediate(resolve))
          return (await base.verifyToken(token, options)) ?? new Refusal('bad_signature', 'no')
        }),
        { negativeTtl: 60 },
      )
    },
  ],
  [
    'plain object answering synchronously (outside the contract)',
    () => {
      const base = conformanceVerifier()
      let last: AccessToken | null = null
      return {
        verifyToken: (token: string, options?: VerifyOptions) => {
          // Answers what the table answered for this token the last time, at once.
          void base.verifyToken(token, options).then(
            (value) => (last = value),
            () => (last = null),
          )
          return (last?.token === token ? last : null) as unknown as Promise<AccessToken | null>
        },
      }
    },
  ],
]

function requests(): GateRequest[] {
  const auth = [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Bearer ${TOKENS.good}`,
    `bearer ${TOKENS.good}`,
    `BEARER   ${TOKENS.good}`,
    `Bearer\t${TOKENS.good}`,
    `Bearer ${TOKENS.good} `,
    `Bearer ${TOKENS.good}=`,
    `Bearer ${TOKENS.good}==`,
    `Bearer ${TOKENS.good}=x`,
    'Bearer =',
    `Bearer ${TOKENS.admin}`,
    `Bearer ${TOKENS.expired}`,
    `Bearer ${TOKENS.elsewhere}`,
    `Bearer ${TOKENS.down}`,
    `Bearer ${TOKENS.broken}`,
    `Bearer ${TOKENS.forged}`,
    `Bearer ${TOKENS.good},Basic x`,
    `Bearer ${TOKENS.good}, Basic eA==`,
    'Basic YTpi',
    `DPoP ${TOKENS.good}`,
    'Bearer sEcReT.gööd',
    'Bearer sEcReT.go\uD800od',
    'Bearer sEcReT.go\u0000od',
    `Bearer ${'a'.repeat(4096)}`,
    `Bearer ${'a'.repeat(4097)}`,
    `Bearer ${'a'.repeat(20_000)}`,
  ]
  const list: GateRequest[] = []
  for (const authorization of auth) {
    const headers = authorization === undefined ? {} : { authorization }
    list.push({ method: 'GET', url: '/mcp', headers })
    list.push({ method: 'GET', url: '/mcp?access_token=x', headers })
    list.push({ method: 'GET', url: '/admin', headers, scopes: ['admin'] })
    list.push({
      method: 'POST',
      url: '/mcp',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: { access_token: TOKENS.good },
    })
    list.push({
      method: 'POST',
      url: '/mcp',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      bodyPending: true,
    })
    list.push({
      method: 'OPTIONS',
      url: '/mcp',
      headers: { ...headers, 'access-control-request-method': 'GET' },
      noHandlerRuns: true,
    })
  }
  list.push({
    method: 'GET',
    url: '/mcp',
    headers: {},
    authorization: [`Bearer ${TOKENS.good}`, `Bearer ${TOKENS.admin}`],
  })
  list.push({ method: 'GET', url: '/mcp', headers: { authorization: [`Bearer ${TOKENS.good}`] } })
  return list
}

t.test('differential: authenticate, authenticateNow and the promise path agree', async (t) => {
  let compared = 0
  const differences: string[] = []
  for (const [name, build] of VERIFIERS) {
    // Three gates over three identical verifiers: authenticate, authenticateNow, and a verifier
    // hidden behind a plain wrapper (verifyTokenNow cannot see through it: the pre-db8720d path).
    const byPromise = createBearerGate({ ...conformanceOptions(), verifier: build() })
    const byNow = createBearerGate({ ...conformanceOptions(), verifier: build() })
    const hidden = build()
    const byWrapper = createBearerGate({
      ...conformanceOptions(),
      verifier: { verifyToken: (token, options) => hidden.verifyToken(token, options) },
    })
    // Three rounds: misses, then hits, then hits again.
    for (let round = 0; round < 3; round++) {
      for (const request of requests()) {
        const a = snapshot(await byPromise.authenticate(request))
        const b = snapshot(await byNow.authenticateNow(request))
        const c = snapshot(await byWrapper.authenticate(request))
        if (a !== b || a !== c) {
          differences.push(`${name} #${round} ${JSON.stringify(request).slice(0, 120)}`)
        }
        if (a.includes('sEcReT')) differences.push(`token in the result: ${a.slice(0, 120)}`)
        compared++
      }
    }
  }
  t.same(differences, [], `${compared} requests, three ways`)
  t.ok(compared > 1000)
})

t.test('a cache hit answers at once, and only for the token it was stored for', async (t) => {
  const gate = createBearerGate({
    ...conformanceOptions(),
    verifier: createCachedVerifier(conformanceVerifier()),
  })
  t.equal((await gate.authenticate(get(`Bearer ${TOKENS.good}`))).kind, 'accepted')
  const hit = gate.authenticateNow(get(`Bearer ${TOKENS.good}`))
  t.notOk(hit instanceof Promise, 'synchronous')
  t.equal((hit as GateResult).kind, 'accepted')
  // The same token padded, or cased otherwise, is another token: never the hit's answer.
  for (const other of [`${TOKENS.good}=`, TOKENS.good.toUpperCase(), `${TOKENS.good}a`]) {
    const answer = await gate.authenticateNow(get(`Bearer ${other}`))
    t.equal(answer.kind, 'refused', other)
  }
  t.equal(ISSUER.length > 0, true)
})

t.test(
  'DPoP on the synchronous path: binding, replay and audience as on the promise path',
  async (t) => {
    const key = await proofKey('ES256')
    const attacker = await proofKey('ES256')
    const jkt = await calculateJwkThumbprint(key.publicJwk)
    const claimsOf: Record<string, Record<string, unknown>> = {
      bound: { cnf: { jkt } },
      plain: {},
      foreign: { aud: 'https://elsewhere.example.com', cnf: { jkt } },
      narrow: { scope: 'read', cnf: { jkt } },
    }
    const base = (): TokenVerifier =>
      defineVerifier('dpop-table', (token, options) => {
        const extra = claimsOf[token]
        if (extra === undefined) return new Refusal('bad_signature', 'no')
        const claims: Record<string, unknown> = {
          client_id: 'app',
          aud: DPOP_RESOURCE,
          scope: 'mcp',
          exp: NOW_S + 600,
          ...extra,
        }
        return (
          checkConfirmation(claims.cnf, options.senderConstraint) ??
          accessTokenFromClaims(token, claims)
        )
      })
    const gateFor = (verifier: TokenVerifier): BearerGate =>
      createBearerGate({
        verifier,
        resource: { url: DPOP_RESOURCE, authorizationServers: ['https://as.example.com'] },
        dpop: { now: () => NOW },
      })
    // A: core's cache in front (hits answer synchronously); B: the same behind a plain wrapper.
    const syncGate = gateFor(createCachedVerifier(base(), { now: () => NOW }))
    const hidden = createCachedVerifier(base(), { now: () => NOW })
    const promiseGate = gateFor({
      verifyToken: (token, options) => hidden.verifyToken(token, options),
    })
    const dpopRequest = (scheme: string, token: string, dpop?: string) => ({
      method: 'GET',
      url: URL_,
      scopes: ['mcp'],
      headers: { authorization: `${scheme} ${token}`, ...(dpop === undefined ? {} : { dpop }) },
    })
    const steps: [string, () => Promise<ReturnType<typeof dpopRequest>>, string][] = []
    const fresh = (signer: ProofKey, token: string) => proof(signer, { ath: ath(token) })
    let replayed = ''
    steps.push([
      'bound, own proof (miss)',
      async () => dpopRequest('DPoP', 'bound', await fresh(key, 'bound')),
      'accepted',
    ])
    steps.push([
      'bound, own proof (hit)',
      async () => {
        replayed = await fresh(key, 'bound')
        return dpopRequest('DPoP', 'bound', replayed)
      },
      'accepted',
    ])
    steps.push([
      'bound, the same proof again (hit)',
      async () => dpopRequest('DPoP', 'bound', replayed),
      'dpop_replayed',
    ])
    steps.push([
      'bound, attacker key with the right ath (hit)',
      async () => dpopRequest('DPoP', 'bound', await fresh(attacker, 'bound')),
      'sender_constrained',
    ])
    steps.push([
      'bound, as Bearer without proof (hit)',
      async () => dpopRequest('Bearer', 'bound'),
      'sender_constrained',
    ])
    steps.push([
      'bound, as Bearer with a proof (hit)',
      async () => dpopRequest('Bearer', 'bound', await fresh(key, 'bound')),
      'sender_constrained',
    ])
    steps.push([
      'plain, as DPoP',
      async () => dpopRequest('DPoP', 'plain', await fresh(key, 'plain')),
      'not_dpop_bound',
    ])
    steps.push(['plain, as Bearer', async () => dpopRequest('Bearer', 'plain'), 'accepted'])
    steps.push([
      'foreign audience',
      async () => dpopRequest('DPoP', 'foreign', await fresh(key, 'foreign')),
      'wrong_audience',
    ])
    steps.push([
      'foreign audience again (hit)',
      async () => dpopRequest('DPoP', 'foreign', await fresh(key, 'foreign')),
      'wrong_audience',
    ])
    steps.push([
      'narrow scope',
      async () => dpopRequest('DPoP', 'narrow', await fresh(key, 'narrow')),
      'insufficient_scope',
    ])
    steps.push([
      'narrow scope again (hit)',
      async () => dpopRequest('DPoP', 'narrow', await fresh(key, 'narrow')),
      'insufficient_scope',
    ])
    for (const [name, make, expected] of steps) {
      const request = await make()
      // The same proof to both gates: each has its own replay store.
      const viaNow = await syncGate.authenticateNow(request)
      const viaPromise = await promiseGate.authenticate(request)
      const reasonOf = (result: GateResult): string =>
        result.kind === 'refused' ? result.reason : result.kind
      t.match(reasonOf(viaNow), expected, `${name}: authenticateNow`)
      t.equal(snapshot(viaNow), snapshot(viaPromise), `${name}: both paths alike`)
    }
  },
)
