// Unit tests of internal helpers, for the cases no token can reach.
import t from 'tap'
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
