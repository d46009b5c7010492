// The options a wrapper (composite, revocation check) hands its inner verifier: everything the
// caller gave, as a spread would copy it, with the wrapper's own onRefusal.
import t from 'tap'
import type { Refusal } from '../src/index.js'
import { type VerifyOptions } from '../src/index.js'
import { withOnRefusal } from '../src/forward-options.js'

const ours = (_refusal: Refusal): void => undefined

t.test('every own member is passed on, onRefusal is the wrapper’s', async (t) => {
  const signal = new AbortController().signal
  const onValidity = (): void => undefined
  const theirs = (): void => undefined
  const marker = Symbol('later')
  const given = {
    signal,
    onValidity,
    onRefusal: theirs,
    senderConstraint: { dpopJkt: 'thumb' },
    later: 'a member added later',
    [marker]: 1,
  } as unknown as VerifyOptions
  const forwarded = withOnRefusal(given, ours) as unknown as Record<PropertyKey, unknown>
  t.equal(forwarded.signal, signal)
  t.equal(forwarded.onValidity, onValidity)
  t.equal(forwarded.onRefusal, ours, 'the caller’s own onRefusal is replaced')
  t.same(forwarded.senderConstraint, { dpopJkt: 'thumb' })
  t.equal(forwarded.later, 'a member added later')
  t.equal(forwarded[marker], 1, 'symbol members too')
  t.not(forwarded, given, 'a copy: the caller’s object is untouched')
  t.equal((given as { onRefusal?: unknown }).onRefusal, theirs)
})

t.test('no options: only the wrapper’s onRefusal', async (t) => {
  const forwarded = withOnRefusal(undefined, ours)
  t.same(Object.keys(forwarded), ['onRefusal'])
  t.equal(forwarded.onRefusal, ours)
})

t.test('an own __proto__ member stays a member, never the prototype', async (t) => {
  const hostile = JSON.parse(
    '{"__proto__": {"signal": "inherited", "polluted": true}}',
  ) as VerifyOptions
  const forwarded = withOnRefusal(hostile, ours)
  t.equal(Object.getPrototypeOf(forwarded), Object.prototype)
  t.equal((forwarded as { polluted?: unknown }).polluted, undefined)
  t.equal(forwarded.signal, undefined, 'nothing inherited from the member')
  t.ok(Object.hasOwn(forwarded, '__proto__'), 'copied as an own member, as a spread does')
  t.equal(forwarded.onRefusal, ours)
})

t.test('getters are read once, as a spread reads them', async (t) => {
  let reads = 0
  const given = {
    get onValidity() {
      reads++
      return () => undefined
    },
  } as VerifyOptions
  const forwarded = withOnRefusal(given, ours)
  t.equal(reads, 1)
  t.equal(typeof forwarded.onValidity, 'function')
  t.equal(reads, 1, 'the copy holds the value, not the getter')
})
