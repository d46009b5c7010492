import diagnostics from 'node:diagnostics_channel'
import t from 'tap'
import {
  DEFAULT_REVOCATION_LIFETIME,
  STORE_CHANNEL,
  createMemoryRevocationList,
  createRevocationSet,
  guardRevocationList,
  readRevocation,
  revokeClient,
  revokeSubject,
  revokeToken,
  type AccessToken,
  type Revocation,
  type RevocationList,
  type StoreEvent,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

const T = 1_700_000_000 // seconds
const at = (seconds: number): number => seconds * 1000

const tok = (fields: Partial<AccessToken> & { claims?: Record<string, unknown> }): AccessToken =>
  accessToken('opaque', fields)

t.test('revocation set: jti until expiry, exact boundary', async (t) => {
  const set = createRevocationSet()
  t.equal(set.matches(tok({ claims: { jti: 'j' } }), at(T)), false, 'empty')
  t.equal(set.add({ type: 'token', jti: 'j', expiresAt: T + 10 }), true)
  t.equal(set.add({ type: 'token', jti: 'j', expiresAt: T + 5 }), false, 'weaker: no change')
  t.equal(set.add({ type: 'token', jti: 'j', expiresAt: T + 20 }), true, 'longer: a change')
  t.equal(set.matches(tok({ claims: { jti: 'j' } }), at(T + 20) - 1), true)
  t.equal(set.matches(tok({ claims: { jti: 'j' } }), at(T + 20)), false, 'expired exactly at exp')
  t.equal(set.matches(tok({ claims: { jti: 'k' } }), at(T)), false)
  t.equal(
    set.matches(tok({ claims: { jti: 5 } }), at(T)),
    false,
    'a non-string jti matches no entry',
  )
  t.equal(set.matches(tok({}), at(T)), false)
  t.equal(set.size, 1)
})

t.test('revocation set: subject cutoff at or before, per issuer, iat missing', async (t) => {
  const set = createRevocationSet()
  set.add({ type: 'subject', issuer: 'https://a', subject: 'alice', before: T, expiresAt: T + 100 })
  set.add({ type: 'subject', issuer: null, subject: 'bob', before: T, expiresAt: T + 100 })
  const now = at(T + 1)
  const alice = (iat: unknown, issuer: string | null = 'https://a') =>
    tok({ subject: 'alice', ...(issuer === null ? {} : { issuer }), claims: { iat } })
  t.equal(set.matches(alice(T - 1), now), true, 'issued before')
  t.equal(set.matches(alice(T), now), true, 'issued in the same second: at or before')
  t.equal(set.matches(alice(T + 1), now), false, 'issued after')
  t.equal(set.matches(alice(undefined), now), true, 'no iat cannot show it is newer')
  t.equal(set.matches(alice('0'), now), true, 'a string iat is no iat')
  t.equal(set.matches(alice(T - 1, 'https://b'), now), false, 'another issuer’s alice')
  t.equal(set.matches(alice(T - 1, null), now), false, 'no issuer is not issuer a')
  t.equal(set.matches(tok({ subject: 'bob', claims: { iat: T } }), now), true, 'null issuer')
  t.equal(set.matches(tok({ subject: 'bob', issuer: 'https://a', claims: {} }), now), false)
  t.equal(set.matches(tok({ claims: { iat: 0 } }), now), false, 'no subject')
  t.equal(set.matches(alice(T - 1), at(T + 100)), false, 'the entry expired')
  t.equal(
    set.add({
      type: 'subject',
      issuer: 'https://a',
      subject: 'alice',
      before: T - 5,
      expiresAt: T,
    }),
    false,
  )
  t.equal(
    set.add({
      type: 'subject',
      issuer: 'https://a',
      subject: 'alice',
      before: T + 5,
      expiresAt: T,
    }),
    true,
    'a later cutoff strengthens',
  )
  t.equal(set.matches(alice(T + 4), now), true)
  t.equal(set.size, 2)
})

t.test('revocation set: clients, prune, entries, replace', async (t) => {
  const set = createRevocationSet()
  set.add({ type: 'client', clientId: 'leaky', before: T, expiresAt: T + 10 })
  set.add({ type: 'token', jti: 'j', expiresAt: T + 5 })
  set.add({ type: 'subject', issuer: null, subject: 's', before: T, expiresAt: T + 5 })
  set.add({ type: 'subject', issuer: null, subject: 's2', before: T, expiresAt: T + 50 })
  t.equal(set.matches(tok({ clientId: 'leaky', claims: { iat: T } }), at(T)), true)
  t.equal(set.matches(tok({ clientId: 'leaky', claims: { iat: T + 1 } }), at(T)), false)
  t.equal(set.matches(tok({ clientId: 'other', claims: { iat: T } }), at(T)), false)
  t.same(
    set.entries().map((e) => e.type),
    ['token', 'subject', 'subject', 'client'],
  )
  t.equal(set.prune(at(T + 5)), 2)
  t.equal(set.prune(at(T + 10)), 1)
  t.same(set.entries(), [
    { type: 'subject', issuer: null, subject: 's2', before: T, expiresAt: T + 50 },
  ])
  set.replace([{ type: 'token', jti: 'x', expiresAt: T + 1 }])
  t.equal(set.size, 1)
  t.equal(set.matches(tok({ subject: 's2', claims: { iat: 0 } }), at(T)), false)
})

t.test('readRevocation checks every field', async (t) => {
  t.same(readRevocation('r', { type: 'subject', subject: 's', before: 1, expiresAt: 2 }), {
    type: 'subject',
    issuer: null,
    subject: 's',
    before: 1,
    expiresAt: 2,
  })
  const bad: [unknown, RegExp][] = [
    [null, /^r must be an object/],
    ['x', /^r must be an object/],
    [{ type: 'user' }, /^r\.type /],
    [{ type: 'token', jti: '', expiresAt: 1 }, /^r\.jti /],
    [{ type: 'token', jti: 'j', expiresAt: Infinity }, /^r\.expiresAt /],
    [{ type: 'subject', issuer: '', subject: 's', before: 1, expiresAt: 1 }, /^r\.issuer /],
    [{ type: 'subject', issuer: 5, subject: 's', before: 1, expiresAt: 1 }, /^r\.issuer /],
    [{ type: 'subject', subject: 's', before: '1', expiresAt: 1 }, /^r\.before /],
    [{ type: 'client', clientId: 7, before: 1, expiresAt: 1 }, /^r\.clientId /],
  ]
  for (const [value, message] of bad) {
    t.throws(() => readRevocation('r', value), { code: 'ERR_INVALID_ARG_VALUE', message })
  }
})

t.test('memory revocation list: revoke, notify on change, bounded', async (t) => {
  let clock = at(T)
  const list = createMemoryRevocationList({ max: 2, now: () => clock })
  const heard: Revocation[] = []
  const off = list.subscribe((r) => heard.push(r))
  await revokeToken(list, { jti: 'j', expiresAt: T + 10 })
  await revokeToken(list, { jti: 'j', expiresAt: T + 10 })
  t.equal(heard.length, 1, 'a repeated revocation is no change')
  await revokeClient(list, { clientId: 'c' }, { now: () => clock })
  t.equal(list.isRevoked(tok({ clientId: 'c', claims: { iat: T } })), true)
  t.equal(list.isRevoked(tok({ claims: { jti: 'j' } })), true)
  await t.rejects(
    Promise.resolve().then(() => revokeSubject(list, { issuer: null, subject: 's' })),
    {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'revocation_list_full',
    },
  )
  clock = at(T + 10)
  await revokeSubject(list, { issuer: null, subject: 's' }, { now: () => clock })
  t.equal(list.isRevoked(tok({ subject: 's', claims: { iat: T + 10 } })), true)
  off()
  await revokeToken(list, { jti: 'k', expiresAt: T + 100 }).catch(() => undefined)
  t.equal(heard.length, 3)
  t.throws(() => list.subscribe(5 as never), { message: /^listener / })
  t.throws(() => list.revoke({ type: 'nope' } as never), { message: /^revocation\.type / })
  t.throws(() => createMemoryRevocationList({ max: 0 }), { message: /^options\.max / })
  t.throws(() => createMemoryRevocationList({ now: 0 as never }), { message: /^options\.now / })
  t.equal(createMemoryRevocationList().isRevoked(tok({})), false)
})

t.test('revoke helpers: defaults and explicit cutoffs', async (t) => {
  const list = createMemoryRevocationList({ now: () => at(T) })
  const heard: Revocation[] = []
  list.subscribe((r) => heard.push(r))
  await revokeSubject(list, { issuer: 'i', subject: 's' }, { now: () => at(T) + 999 })
  await revokeClient(list, { clientId: 'c' }, { before: T - 50, expiresAt: T + 60 })
  await revokeSubject(list, { issuer: 'i', subject: 'z' })
  t.same(heard.slice(0, 2), [
    {
      type: 'subject',
      issuer: 'i',
      subject: 's',
      before: T,
      expiresAt: T + DEFAULT_REVOCATION_LIFETIME,
    },
    { type: 'client', clientId: 'c', before: T - 50, expiresAt: T + 60 },
  ])
  await t.rejects(revokeClient(list, { clientId: 'c' }, { now: 5 as never }), {
    message: /^options\.now /,
  })
  await t.rejects(revokeSubject(list, { issuer: null, subject: '' }), {
    message: /^principal\.subject /,
  })
  await t.rejects(revokeToken(list, { jti: 'j', expiresAt: NaN }), {
    message: /^token\.expiresAt /,
  })
  const controller = new AbortController()
  let signalSeen: AbortSignal | undefined
  await revokeToken(
    { ...list, revoke: (_r, o) => void (signalSeen = o?.signal) },
    { jti: 'j', expiresAt: T + 1 },
    { signal: controller.signal },
  )
  t.equal(signalSeen, controller.signal)
})

t.test('guarded revocation list: fails closed', async (t) => {
  const events: StoreEvent[] = []
  const listen = (event: unknown): void => {
    events.push(event as StoreEvent)
  }
  diagnostics.subscribe(STORE_CHANNEL, listen)
  t.teardown(() => diagnostics.unsubscribe(STORE_CHANNEL, listen))
  t.throws(() => guardRevocationList({ isRevoked: () => false } as never), {
    message: /^revocations /,
  })
  const answering = (isRevoked: () => unknown): RevocationList => ({
    isRevoked: isRevoked as () => boolean,
    revoke: () => new Promise(() => undefined),
    subscribe: () => () => undefined,
  })
  for (const answer of [1, 'false', null, undefined, Promise.resolve(false)]) {
    t.throws(() => guardRevocationList(answering(() => answer)).isRevoked(tok({})), {
      code: 'ERR_VERIFIER_UNAVAILABLE',
      reason: 'store_invalid_answer',
    })
  }
  t.throws(
    () =>
      guardRevocationList(
        answering(() => {
          throw new Error('boom')
        }),
      ).isRevoked(tok({})),
    { code: 'ERR_VERIFIER_UNAVAILABLE', reason: 'store_error' },
  )
  const stale = guardRevocationList(
    answering(() => {
      throw Object.assign(new Error('stale'), { code: 'ERR_VERIFIER_UNAVAILABLE' })
    }),
  )
  t.throws(() => stale.isRevoked(tok({})), { message: 'stale' })
  const hanging = guardRevocationList(
    answering(() => true),
    { timeout: 20 },
  )
  t.equal(hanging.isRevoked(tok({})), true)
  await t.rejects(hanging.revoke({ type: 'token', jti: 'j', expiresAt: T }), {
    code: 'ERR_VERIFIER_UNAVAILABLE',
    reason: 'store_timeout',
  })
  await t.rejects(hanging.revoke({ type: 'token', jti: '', expiresAt: T }), {
    message: /^revocation\.jti /,
  })
  const memory = guardRevocationList(createMemoryRevocationList())
  const heard: Revocation[] = []
  memory.subscribe((r) => heard.push(r))
  await memory.revoke({ type: 'token', jti: 'j', expiresAt: 2e9 })
  t.equal(heard.length, 1)
  t.ok(events.length >= 3)
})
