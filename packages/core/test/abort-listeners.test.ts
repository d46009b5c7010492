import { getEventListeners } from 'node:events'
import t from 'tap'
import { raceAbort } from '../src/index.js'

// Red-team finding "MaxListeners warning with a shared caller signal": 10,000 concurrent
// introspections passed one long-lived signal added 10,000 abort listeners to it. All races on
// one signal now share a single listener, removed when the last of them settles.

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length

function deferred(): { promise: Promise<string>; resolve: (value: string) => void } {
  let resolve!: (value: string) => void
  const promise = new Promise<string>((r) => (resolve = r))
  return { promise, resolve }
}

t.test('MaxListeners warning with a shared caller signal', async (t) => {
  const warnings: string[] = []
  const onWarning = (warning: Error): void => {
    warnings.push(warning.name)
  }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))

  const controller = new AbortController()
  const { signal } = controller
  const work = Array.from({ length: 10_000 }, () => deferred())
  const races = work.map((w) => raceAbort(w.promise, signal))
  t.equal(listeners(signal), 1, 'one listener for 10,000 races')
  // Half settle: the listener stays for the other half.
  for (const w of work.slice(0, 5_000)) w.resolve('ok')
  await Promise.all(races.slice(0, 5_000))
  t.equal(listeners(signal), 1)
  for (const w of work.slice(5_000)) w.resolve('ok')
  t.equal((await Promise.all(races)).length, 10_000)
  t.equal(listeners(signal), 0, 'none left behind')
  // A later race on the same signal gets a listener again, and leaves none.
  const again = deferred()
  const late = raceAbort(again.promise, signal)
  t.equal(listeners(signal), 1)
  again.resolve('late')
  t.equal(await late, 'late')
  t.equal(listeners(signal), 0)
  // Let any warning be emitted (process warnings are delivered on the next tick).
  await new Promise((resolve) => setImmediate(resolve))
  t.same(warnings, [], 'no MaxListenersExceededWarning')
})

t.test('an abort reaches every race on the signal, and a failure keeps its error', async (t) => {
  const controller = new AbortController()
  const { signal } = controller
  const pending = Array.from({ length: 3 }, () => raceAbort(new Promise<never>(() => {}), signal))
  const failed = raceAbort(Promise.reject(new Error('boom')), signal)
  await t.rejects(failed, { message: 'boom' })
  t.equal(listeners(signal), 1, 'still held by the three pending races')
  // Work that settles only after the abort: its race has already rejected; nothing is left.
  let settle!: (value: string) => void
  const slow = raceAbort(new Promise<string>((resolve) => (settle = resolve)), signal)
  const reason = new Error('stop')
  // A race started from a rejection handler sees the signal aborted and rejects at once.
  const reentered = pending[0]!.catch(() => raceAbort(new Promise<never>(() => {}), signal))
  controller.abort(reason)
  for (const race of pending) await t.rejects(race, reason)
  await t.rejects(reentered, reason)
  await t.rejects(slow, reason)
  settle('late')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(listeners(signal), 0)
  // A rejection that is not an Error (a foreign store's string) becomes one.
  const notAnError = Promise.reject(new Error('text')).catch(({ message }: Error) => {
    throw message as unknown
  })
  await t.rejects(raceAbort(notAnError, new AbortController().signal), { message: 'text' })
})
