// Unit tests of internal helpers, for the cases no token can reach.
import t from 'tap'
import { raceAbort } from '../src/lib/abort.js'
import { decodeJsonObject, isBase64url } from '../src/lib/base64url.js'
import { PreparedKey } from '../src/lib/prepared-key.js'

t.test('isBase64url accepts only canonical, unpadded base64url', async (t) => {
  for (const ok of ['AA', 'AAA', 'AAAA', 'Zg', 'Zm8', '-_-_', 'AQ', 'AAE', 'A-A', 'A_A', 'AAAw']) {
    t.equal(isBase64url(ok), true, ok)
  }
  for (const bad of [
    '',
    'A',
    'AAAAA',
    'AB',
    'AAB',
    'Zh',
    'Zm9',
    'A=',
    'AA==',
    'A+A',
    'A/A',
    'A A',
    'AA-',
    'AA_',
    'AAA\n',
    'é',
  ]) {
    t.equal(isBase64url(bad), false, JSON.stringify(bad))
  }
  t.same(decodeJsonObject(Buffer.from('{"a":1}').toString('base64url')), { a: 1 })
  t.equal(decodeJsonObject('!!'), null)
})

t.test('PreparedKey.verify never throws', async (t) => {
  const key = new PreparedKey(
    'k',
    'RSA',
    new Map([
      [
        'RS256',
        () => {
          throw new Error('unexpected')
        },
      ],
    ]),
  )
  t.equal(key.verify('RS256', new Uint8Array(1), new Uint8Array(1)), false)
  t.equal(key.verify('ES256', new Uint8Array(1), new Uint8Array(1)), false)
  t.same([...key.algorithms], ['RS256'])
})

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
