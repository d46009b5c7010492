// The proof's jti is claimed only once its token is accepted: a client without a valid token
// (anyone can sign a proof with a key of their own for a token they made up) must never write to
// the replay store, which would fill the built-in one (every honest DPoP request then a 503) or
// write unauthenticated keys into a shared one.
import t from 'tap'
import { calculateJwkThumbprint } from 'jose'
import {
  Refusal,
  VerifierUnavailableError,
  accessTokenFromClaims,
  checkConfirmation,
  createMemoryReplayStore,
  defineVerifier,
  type ReplayStore,
  type VerifyOptions,
} from '@bearerkit/core'
import { createBearerGate, type BearerGateOptions, type GateResult } from '../src/index.js'
import { resolveSenderConstraint } from '../src/dpop/sender-constraint.js'
import { NOW, NOW_S, URL_, ath, proof, proofKey, type ProofKey } from './fixtures/dpop.js'

const RESOURCE = 'https://rs.example.com/mcp'
const now = () => NOW

const claims = (extra: Record<string, unknown> = {}) => ({
  client_id: 'app',
  aud: RESOURCE,
  scope: 'mcp',
  exp: NOW_S + 600,
  ...extra,
})

/** A replay store that counts its calls and remembers keys (first use `true`). */
function countingStore() {
  const seen = new Set<string>()
  const store = {
    calls: 0,
    markUsed(key: string): boolean {
      store.calls++
      if (seen.has(key)) return false
      seen.add(key)
      return true
    },
  }
  return store
}

interface Setup {
  readonly key: ProofKey
  readonly jkt: string
  /** Token name -> claims, or a thrown error, or a refusal; changed by tests as they go. */
  readonly tokens: Map<string, Record<string, unknown> | Error>
  readonly gate: ReturnType<typeof createBearerGate>
  /** Resolves the verifier's pending answers (when `slow`). */
  readonly release: () => void
}

async function setup(
  options: {
    replayStore?: ReplayStore
    slow?: boolean
    clock?: () => number
    /** A verifier that answers at once (as a verified-token cache hit does). */
    sync?: boolean
    /** Called by the synchronous verifier with each token before it answers. */
    during?: (token: string) => void
  } = {},
  gateOptions: Partial<BearerGateOptions> = {},
): Promise<Setup> {
  const key = await proofKey('ES256')
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  const tokens = new Map<string, Record<string, unknown> | Error>([
    ['bound', claims({ cnf: { jkt } })],
    ['plain', claims()],
    ['other', claims({ cnf: { jkt: 'A'.repeat(43) } })],
    ['foreign', claims({ aud: 'https://elsewhere.example.com', cnf: { jkt } })],
    ['narrow', claims({ scope: 'read', cnf: { jkt } })],
  ])
  let waiting: (() => void)[] = []
  const release = () => {
    const now = waiting
    waiting = []
    for (const go of now) go()
  }
  const decide = (token: string, verifyOptions: VerifyOptions) => {
    const found = tokens.get(token)
    if (found instanceof Error) throw found
    if (found === undefined) return new Refusal('bad_signature', 'The access token is invalid')
    return (
      checkConfirmation(found.cnf, verifyOptions.senderConstraint) ??
      accessTokenFromClaims(token, found)
    )
  }
  const verifier =
    options.sync === true
      ? defineVerifier('test', (token, verifyOptions) => {
          options.during?.(token)
          return decide(token, verifyOptions)
        })
      : defineVerifier('test', async (token, verifyOptions) => {
          if (options.slow === true) await new Promise<void>((resolve) => waiting.push(resolve))
          return decide(token, verifyOptions)
        })
  const gate = createBearerGate({
    verifier,
    resource: { url: RESOURCE, authorizationServers: ['https://as.example.com'] },
    dpop: {
      now: options.clock ?? now,
      ...(options.replayStore === undefined ? {} : { replayStore: options.replayStore }),
    },
    ...gateOptions,
  })
  return { key, jkt, tokens, gate, release }
}

type Outcome = 'accepted' | { status: number; reason: string; error: unknown }

function outcome(result: GateResult): Outcome {
  if (result.kind === 'accepted') return 'accepted'
  if (result.kind !== 'refused') throw new Error(result.kind)
  const body = result.response.body
  return {
    status: result.response.status,
    reason: result.reason,
    error: body === null ? null : (JSON.parse(body) as { error: unknown }).error,
  }
}

const request = (token: string, dpop: string, scopes: string[] = ['mcp']) => ({
  method: 'GET',
  url: URL_,
  scopes,
  headers: { authorization: `DPoP ${token}`, dpop },
})

t.test('a made-up token with a valid self-signed proof writes nothing', async (t) => {
  const store = countingStore()
  const { gate } = await setup({ replayStore: store })
  // The attacker's own key and a proof bound (ath) to the garbage they send as a token.
  const attacker = await proofKey('ES256')
  for (let i = 0; i < 20; i++) {
    const garbage = `garbage-${i}`
    t.same(
      outcome(
        await gate.authenticate(request(garbage, await proof(attacker, { ath: ath(garbage) }))),
      ),
      { status: 401, reason: 'bad_signature', error: 'invalid_token' },
    )
  }
  t.equal(store.calls, 0, 'the replay store was never called')
})

t.test('the built-in store is not filled by requests without a valid token', async (t) => {
  // A store of 3 entries: before the fix, 3 such requests left every honest one a 503.
  const { key, gate } = await setup({ replayStore: createMemoryReplayStore({ now, max: 3 }) })
  const attacker = await proofKey('ES256')
  for (let i = 0; i < 10; i++) {
    const garbage = `garbage-${i}`
    t.match(
      outcome(
        await gate.authenticate(request(garbage, await proof(attacker, { ath: ath(garbage) }))),
      ),
      { status: 401, error: 'invalid_token' },
    )
  }
  for (let i = 0; i < 3; i++) {
    t.equal(
      outcome(await gate.authenticate(request('bound', await proof(key, { ath: ath('bound') })))),
      'accepted',
    )
  }
  // Now it is full of unexpired proofs of an authenticated client: a 503, never a pass.
  t.same(
    outcome(await gate.authenticate(request('bound', await proof(key, { ath: ath('bound') })))),
    {
      status: 503,
      reason: 'verifier_unavailable:replay_store_full',
      error: 'temporarily_unavailable',
    },
  )
})

t.test('a refused token claims nothing; the same proof then passes once', async (t) => {
  const store = countingStore()
  const { key, jkt, tokens, gate } = await setup({ replayStore: store })
  const once = await proof(key, { ath: ath('flaky') })
  // Refused by the verifier, then not yet valid (an error), then valid.
  t.same(outcome(await gate.authenticate(request('flaky', once))), {
    status: 401,
    reason: 'bad_signature',
    error: 'invalid_token',
  })
  tokens.set('flaky', new VerifierUnavailableError('down', { reason: 'jwks_unavailable' }))
  t.same(outcome(await gate.authenticate(request('flaky', once))), {
    status: 503,
    reason: 'verifier_unavailable:jwks_unavailable',
    error: 'temporarily_unavailable',
  })
  t.equal(store.calls, 0)
  tokens.set('flaky', claims({ cnf: { jkt } }))
  t.equal(outcome(await gate.authenticate(request('flaky', once))), 'accepted')
  t.equal(store.calls, 1)
  // The replay: a 401 invalid_dpop_proof, the store asked and answering "used".
  t.same(outcome(await gate.authenticate(request('flaky', once))), {
    status: 401,
    reason: 'dpop_replayed',
    error: 'invalid_dpop_proof',
  })
  t.equal(store.calls, 2)
})

t.test('each token refusal after a valid proof leaves the store untouched', async (t) => {
  const store = countingStore()
  const { key, gate } = await setup({ replayStore: store })
  const send = async (token: string) =>
    outcome(await gate.authenticate(request(token, await proof(key, { ath: ath(token) }))))
  // Bound to another key; issued for another resource; not DPoP-bound at all.
  t.same(await send('other'), { status: 401, reason: 'sender_constrained', error: 'invalid_token' })
  t.same(await send('foreign'), { status: 401, reason: 'wrong_audience', error: 'invalid_token' })
  t.same(await send('plain'), { status: 401, reason: 'not_dpop_bound', error: 'invalid_token' })
  // A proof that fails its own checks never reaches the store either.
  t.same(
    outcome(await gate.authenticate(request('bound', await proof(key, { ath: ath('other') })))),
    { status: 401, reason: 'dpop_wrong_token_hash', error: 'invalid_dpop_proof' },
  )
  t.equal(store.calls, 0)
})

t.test('a token lacking a scope: the proof is claimed, then answered 403', async (t) => {
  const store = countingStore()
  const { key, gate } = await setup({ replayStore: store })
  const once = await proof(key, { ath: ath('narrow') })
  t.same(outcome(await gate.authenticate(request('narrow', once))), {
    status: 403,
    reason: 'insufficient_scope',
    error: 'insufficient_scope',
  })
  t.equal(store.calls, 1, 'the client is authenticated: its proof is used up')
  // Sent again for a route it may call, the proof is a replay.
  t.same(outcome(await gate.authenticate(request('narrow', once, ['read']))), {
    status: 401,
    reason: 'dpop_replayed',
    error: 'invalid_dpop_proof',
  })
})

t.test('a store fault after a valid token is a 503, before one it is never called', async (t) => {
  let calls = 0
  const broken: ReplayStore = {
    markUsed: () => {
      calls++
      return Promise.reject(new Error('redis down'))
    },
  }
  const { key, gate } = await setup({ replayStore: broken })
  t.same(outcome(await gate.authenticate(request('bad', await proof(key, { ath: ath('bad') })))), {
    status: 401,
    reason: 'bad_signature',
    error: 'invalid_token',
  })
  t.equal(calls, 0)
  t.same(
    outcome(await gate.authenticate(request('bound', await proof(key, { ath: ath('bound') })))),
    { status: 503, reason: 'verifier_unavailable:store_error', error: 'temporarily_unavailable' },
  )
  t.equal(calls, 1)
})

t.test('two identical proofs at once: exactly one is accepted', async (t) => {
  for (const [name, replayStore] of [
    ['built-in store', undefined],
    ['counting store', countingStore()],
    [
      'asynchronous store',
      ((): ReplayStore => {
        const inner = countingStore()
        return { markUsed: (key) => Promise.resolve().then(() => inner.markUsed(key)) }
      })(),
    ],
  ] as const) {
    // The verifier answers both only once both requests wait on it: both proofs are checked,
    // both tokens verified, and the two claims race.
    const { key, gate, release } = await setup({
      slow: true,
      ...(replayStore === undefined ? {} : { replayStore }),
    })
    const same = await proof(key, { ath: ath('bound') })
    const both = Promise.all([
      gate.authenticate(request('bound', same)),
      gate.authenticate(request('bound', same)),
    ])
    await new Promise((resolve) => setImmediate(resolve))
    release()
    const answers = (await both).map(outcome)
    t.same(
      answers.map((a) => (a === 'accepted' ? a : a.reason)).sort(),
      ['accepted', 'dpop_replayed'],
      name,
    )
  }
})

t.test('a proof that ages out while its token is verified is refused, not claimed', async (t) => {
  let clock = NOW
  const store = countingStore()
  const { key, gate, release } = await setup({
    slow: true,
    clock: () => clock,
    replayStore: store,
  })
  // Checked at the last second of its window (iat = now - 60)...
  const late = await proof(key, { ath: ath('bound'), iat: NOW_S - 60 })
  const both = Promise.all([
    gate.authenticate(request('bound', late)),
    gate.authenticate(request('bound', late)),
  ])
  await new Promise((resolve) => setImmediate(resolve))
  // ...and claimed once the window closed: both copies are refused.
  clock = NOW + 1000
  release()
  t.same((await both).map(outcome), [
    { status: 401, reason: 'dpop_too_old', error: 'invalid_dpop_proof' },
    { status: 401, reason: 'dpop_too_old', error: 'invalid_dpop_proof' },
  ])
  t.equal(store.calls, 0)
  // One millisecond before the window closes, the claim still happens.
  clock = NOW
  const edge = await proof(key, { ath: ath('bound'), iat: NOW_S - 60 })
  const pending = gate.authenticate(request('bound', edge))
  await new Promise((resolve) => setImmediate(resolve))
  clock = NOW + 999
  release()
  t.equal(outcome(await pending), 'accepted')
  t.equal(store.calls, 1)
})

t.test('the sender constraint checks without claiming; claim claims once', async (t) => {
  let clock = NOW
  const store = countingStore()
  const sc = resolveSenderConstraint({ dpop: { now: () => clock, replayStore: store } })
  if (sc === null) throw new Error('expected a sender constraint')
  const key = await proofKey('ES256')
  const jkt = await calculateJwkThumbprint(key.publicJwk)
  const given = {
    method: 'GET',
    url: URL_,
    scheme: 'dpop' as const,
    token: 'tok',
    dpop: await proof(key, { ath: ath('tok'), jti: 'j-1' }),
  }
  const first = sc.context(given)
  const second = sc.context(given)
  if ('status' in first || 'status' in second) throw new Error('expected a checked proof')
  t.same(first.context, { dpopJkt: jkt })
  t.match(first.proof, { valid: true, jkt, alg: 'ES256', jti: 'j-1', replayUntil: NOW_S + 61 })
  t.equal(store.calls, 0, 'checking twice claims nothing')
  if (first.proof === null || second.proof === null) throw new Error('expected a proof')
  t.equal(await sc.claim(first.proof), null)
  t.match(await sc.claim(second.proof), {
    status: 401,
    error: 'invalid_dpop_proof',
    reason: 'replayed',
    description: 'The DPoP proof was already used',
  })
  // The exact second its claim would lapse: too old, and the store is not asked.
  clock = (NOW_S + 61) * 1000
  t.match(await sc.claim(first.proof), { status: 401, reason: 'too_old' })
  t.equal(store.calls, 2)
  // Bearer: nothing to claim.
  t.same(sc.context({ ...given, scheme: 'bearer' }), { context: {}, proof: null })
})

t.test(
  'a token decided at once, built-in store: one clock read, the time of the check is the time of the claim',
  async (t) => {
    // A verified-token cache hit answers synchronously: nothing is awaited between the proof's
    // check and its claim, so the claim takes the check's time instead of reading the clock again.
    // Each read of this clock takes the next time of `times` (the last one once they run out).
    let reads = 0
    let times = [NOW]
    const clock = (): number => {
      reads++
      const at = times[0] as number
      if (times.length > 1) times = times.slice(1)
      return at
    }
    // With the built-in replay store, which keeps time by the claims' readings.
    const { key, gate } = await setup({ sync: true, clock })
    const once = await proof(key, { ath: ath('bound') })
    t.equal(outcome(await gate.authenticate(request('bound', once))), 'accepted')
    t.equal(reads, 1, 'the clock is read once per request')
    t.match(outcome(await gate.authenticate(request('bound', once))), { reason: 'dpop_replayed' })
    // The proof's check reads the last millisecond of its window; a second read would be past it
    // (too_old). Claimed with the check's time: accepted, and held.
    const edge = await proof(key, { ath: ath('bound'), iat: NOW_S })
    reads = 0
    times = [(NOW_S + 60) * 1000 + 999, (NOW_S + 61) * 1000]
    t.equal(outcome(await gate.authenticate(request('bound', edge))), 'accepted')
    t.equal(reads, 1)
    reads = 0
    times = [(NOW_S + 60) * 1000 + 999]
    t.match(outcome(await gate.authenticate(request('bound', edge))), { reason: 'dpop_replayed' })
    // A store of the user's expires keys by its own clock: handed a proof whose window closed
    // while a synchronous verifier ran, it would hold the jti for no time, and a copy claimed on
    // another instance sharing it would pass too. Its claims read the clock: the same two
    // readings make the proof too old by its claim, and the store is not asked.
    const store = countingStore()
    const shared = await setup({ sync: true, replayStore: store, clock })
    const copy = await proof(shared.key, { ath: ath('bound'), iat: NOW_S })
    reads = 0
    times = [(NOW_S + 60) * 1000 + 999, (NOW_S + 61) * 1000]
    t.same(outcome(await shared.gate.authenticate(request('bound', copy))), {
      status: 401,
      reason: 'dpop_too_old',
      error: 'invalid_dpop_proof',
    })
    t.equal(reads, 2, 'the check and the claim each read the clock')
    t.equal(store.calls, 0)
    // Read a millisecond earlier, the claim happens.
    reads = 0
    times = [(NOW_S + 60) * 1000 + 998, (NOW_S + 60) * 1000 + 999]
    t.equal(outcome(await shared.gate.authenticate(request('bound', copy))), 'accepted')
    t.equal(reads, 2)
    t.equal(store.calls, 1)
    // Through an asynchronous verifier the claim reads the clock again, whatever the store: the
    // same two readings make the same proof too old by the time of its claim.
    const slow = await setup({ replayStore: store, clock })
    const late = await proof(slow.key, { ath: ath('bound'), iat: NOW_S })
    reads = 0
    times = [(NOW_S + 60) * 1000 + 999, (NOW_S + 61) * 1000]
    t.same(outcome(await slow.gate.authenticate(request('bound', late))), {
      status: 401,
      reason: 'dpop_too_old',
      error: 'invalid_dpop_proof',
    })
    t.equal(reads, 2, 'the check and the claim each read the clock')
    t.equal(store.calls, 1)
  },
)

t.test(
  'a request that claims inside a synchronous verifier cannot free a proof for a replay',
  async (t) => {
    // The verifier (user code) makes another request through the same gate while the first is
    // verified, at a later clock reading: that claim drops what expired by then, the first proof's
    // jti among them. The first request's claim must then not be dated at its check, before the
    // drop, where the jti would look free: it takes the later time, and its proof is too old.
    let clock = NOW
    let reenter: (() => void) | null = null
    const { key, gate } = await setup({
      sync: true,
      clock: () => clock,
      during: () => {
        const go = reenter
        reenter = null
        go?.()
      },
    })
    const once = await proof(key, { ath: ath('bound'), iat: NOW_S })
    const inner = await proof(key, { ath: ath('bound'), iat: NOW_S + 61 })
    t.equal(outcome(await gate.authenticate(request('bound', once))), 'accepted')
    // Its jti is held until (NOW_S + 61) s. The last millisecond before that, the same proof again,
    // and the verifier moves the clock on by a millisecond and claims another proof.
    clock = (NOW_S + 61) * 1000 - 1
    let nested: Promise<GateResult> | undefined
    reenter = () => {
      clock = (NOW_S + 61) * 1000
      nested = gate.authenticate(request('bound', inner))
    }
    t.same(outcome(await gate.authenticate(request('bound', once))), {
      status: 401,
      reason: 'dpop_too_old',
      error: 'invalid_dpop_proof',
    })
    t.equal(outcome(await (nested as Promise<GateResult>)), 'accepted')
    // Without re-entry (a gate of its own, whose store saw no later time), the same replay at the
    // same moment is a replay.
    clock = NOW
    const plain = await setup({ sync: true, clock: () => clock })
    const again = await proof(plain.key, { ath: ath('bound'), iat: NOW_S })
    t.equal(outcome(await plain.gate.authenticate(request('bound', again))), 'accepted')
    clock = (NOW_S + 61) * 1000 - 1
    t.match(outcome(await plain.gate.authenticate(request('bound', again))), {
      reason: 'dpop_replayed',
    })
  },
)

t.test('a clock that fails at the claim is a 503, and claims nothing', async (t) => {
  // Read once by the proof check, then again by the claim: while `failing`, that read throws.
  let reads = 0
  let failing = true
  const { key, gate } = await setup({
    clock: () => {
      reads++
      if (failing && reads % 2 === 0) throw new Error('clock gone')
      return NOW
    },
  })
  const once = await proof(key, { ath: ath('bound') })
  t.same(outcome(await gate.authenticate(request('bound', once))), {
    status: 503,
    reason: 'verifier_error',
    error: 'temporarily_unavailable',
  })
  // The same proof once the clock answers again: accepted, since nothing was claimed; then a
  // replay.
  failing = false
  t.equal(outcome(await gate.authenticate(request('bound', once))), 'accepted')
  t.match(outcome(await gate.authenticate(request('bound', once))), { reason: 'dpop_replayed' })
})
