import t from 'tap'
import { abortReason, raceAbort } from '../src/index.js'

t.test('raceAbort', async (t) => {
  await t.rejects(raceAbort(new Promise(() => undefined), AbortSignal.abort(new Error('early'))), {
    message: 'early',
  })
  await raceAbort(Promise.resolve(), new AbortController().signal)
  await raceAbort(Promise.resolve(), undefined)
  const controller = new AbortController()
  const pending = raceAbort(new Promise(() => undefined), controller.signal)
  controller.abort(new Error('late'))
  await t.rejects(pending, { message: 'late' })
  const plain = new AbortController()
  const waiting = raceAbort(new Promise(() => undefined), plain.signal)
  plain.abort('not an error')
  await t.rejects(waiting, { message: 'not an error' })
})

t.test('raceAbort passes results and failures through and removes its listener', async (t) => {
  const { EventEmitter } = await import('node:events')
  const controller = new AbortController()
  t.equal(await raceAbort(Promise.resolve(42), controller.signal), 42)
  await t.rejects(raceAbort(Promise.reject(new Error('work failed')), controller.signal), {
    message: 'work failed',
  })
  await t.rejects(raceAbort(Promise.reject(new Error('plain')), controller.signal), {
    message: 'plain',
  })
  t.equal(EventEmitter.getEventListeners(controller.signal, 'abort').length, 0)
})

t.test('abortReason', async (t) => {
  const error = new Error('why')
  t.equal(abortReason(AbortSignal.abort(error)), error)
  t.equal(abortReason(AbortSignal.abort('text')).message, 'text')
})
