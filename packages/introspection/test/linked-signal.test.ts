import { getEventListeners } from 'node:events'
import t from 'tap'
import { withLinkedSignal } from '../src/lib/linked-signal.js'

t.test('the task signal aborts with the parent, and nothing stays registered', async (t) => {
  const parent = new AbortController()
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      withLinkedSignal(parent.signal, async (signal) => {
        t.equal(getEventListeners(parent.signal, 'abort').length > 0, true)
        return signal.aborted ? -1 : i
      }),
    ),
  )
  t.equal(results.length, 100)
  t.equal(getEventListeners(parent.signal, 'abort').length, 0, 'every listener was removed')

  const pending = withLinkedSignal(
    parent.signal,
    (signal) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason as Error))
      }),
  )
  parent.abort(new Error('closed'))
  await t.rejects(pending, { message: 'closed' })
  t.equal(getEventListeners(parent.signal, 'abort').length, 0)
  await t.rejects(
    withLinkedSignal(parent.signal, async () => 'never'),
    { message: 'closed' },
    'an aborted parent refuses new tasks',
  )
})

t.test('a failing task still removes its listener', async (t) => {
  const parent = new AbortController()
  await t.rejects(
    withLinkedSignal(parent.signal, async () => {
      throw new Error('boom')
    }),
    { message: 'boom' },
  )
  t.equal(getEventListeners(parent.signal, 'abort').length, 0)
})
