import { getEventListeners } from 'node:events'
import t from 'tap'
import { createSignalGroup } from '../src/lib/linked-signal.js'

t.test('the task signal aborts with the parent, and nothing stays registered', async (t) => {
  const parent = new AbortController()
  const group = createSignalGroup(parent.signal)
  t.equal(getEventListeners(parent.signal, 'abort').length, 1, 'one listener for the group')
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      group.run(async (signal) => {
        t.equal(getEventListeners(parent.signal, 'abort').length, 1)
        return signal.aborted ? -1 : i
      }),
    ),
  )
  t.equal(results.length, 100)
  t.equal(group.size, 0, 'every task left the group')

  const pending = group.run(
    (signal) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason as Error))
      }),
  )
  t.equal(group.size, 1)
  parent.abort(new Error('closed'))
  await t.rejects(pending, { message: 'closed' })
  t.equal(group.size, 0)
  t.equal(getEventListeners(parent.signal, 'abort').length, 0)
  await t.rejects(
    group.run(async () => 'never'),
    { message: 'closed' },
    'an aborted parent refuses new tasks',
  )
  const late = createSignalGroup(parent.signal)
  t.equal(getEventListeners(parent.signal, 'abort').length, 0, 'no listener on an aborted parent')
  await t.rejects(
    late.run(async () => 'never'),
    { message: 'closed' },
  )
})

t.test('a failing task still leaves the group', async (t) => {
  const parent = new AbortController()
  const group = createSignalGroup(parent.signal)
  await t.rejects(
    group.run(async () => {
      throw new Error('boom')
    }),
    { message: 'boom' },
  )
  t.equal(group.size, 0)
  t.equal(getEventListeners(parent.signal, 'abort').length, 1)
})
