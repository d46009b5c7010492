import t from 'tap'
import {
  isOptionsObject,
  nearestName,
  readBoolean,
  readFunction,
  readInteger,
  readNumber,
  readOptionalString,
  readOptionsObject,
  readString,
  rejectUnknownOptions,
} from '@bearerkit/core'

t.test('unknown options are refused with the nearest valid name', async (t) => {
  const known = ['requiredScopes', 'audience', 'jwksUri', 'algorithms', 'timeout']
  const cases: Array<[string, RegExp]> = [
    [
      'requiredScope',
      /^options\.requiredScope is not a known option: did you mean `requiredScopes`\?$/,
    ],
    ['jwks_uri', /did you mean `jwksUri`/],
    ['jwksUrl', /did you mean `jwksUri`/],
    ['algorithm', /did you mean `algorithms`/],
    ['timout', /did you mean `timeout`/],
  ]
  for (const [key, message] of cases) {
    t.throws(() => rejectUnknownOptions('options', { [key]: 1 }, known), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
  t.throws(() => rejectUnknownOptions('options', { zzzzzzzzzz: 1 }, new Set(['a'])), {
    message: 'options.zzzzzzzzzz is not a known option; known options: a',
  })
  t.doesNotThrow(() => rejectUnknownOptions('options', { audience: 'x' }, known))
  t.equal(nearestName('AUDIENCE', known), 'audience')
  t.equal(nearestName('q', []), undefined)
})

t.test('readers name the option and refuse wrong types', async (t) => {
  t.equal(isOptionsObject({}), true)
  t.equal(isOptionsObject([]), false)
  t.equal(isOptionsObject(null), false)
  t.equal(isOptionsObject(Promise.resolve({})), false)
  t.same(readOptionsObject('o', undefined), {})
  t.throws(() => readOptionsObject('o', Promise.resolve({})), { message: /did you forget `await`/ })
  t.throws(() => readOptionsObject('o', 3), { message: 'o must be an object' })

  t.equal(readNumber('n', undefined, 5), 5)
  t.equal(readNumber('n', 1.5, 5), 1.5)
  t.throws(() => readNumber('n', -1, 5), { message: 'n must be a finite number >= 0' })
  t.throws(() => readNumber('n', Infinity, 5))
  t.throws(() => readNumber('n', '3', 5))
  t.equal(readInteger('i', undefined, 2), 2)
  t.equal(readInteger('i', 3, 2, 1), 3)
  t.throws(() => readInteger('i', 1.5, 2), { message: 'i must be an integer >= 0' })
  t.throws(() => readInteger('i', 0, 2, 1))
  t.equal(readBoolean('b', undefined, true), true)
  t.equal(readBoolean('b', false, true), false)
  t.throws(() => readBoolean('b', 'false', true), { message: 'b must be true or false' })
  const f = () => 1
  t.equal(readFunction<() => number>('f', f), f)
  t.equal(readFunction('f', undefined), undefined)
  t.throws(() => readFunction<() => number>('f', 1), { message: 'f must be a function' })
  t.equal(readString('s', 'x'), 'x')
  t.throws(() => readString('s', ''), { message: 's must be a non-empty string' })
  t.equal(readOptionalString('s', undefined), undefined)
  t.equal(readOptionalString('s', 'y'), 'y')
  t.throws(() => readOptionalString('s', 1))
})

t.test('nearestName also finds another word for the same thing by its stem', async (t) => {
  const known = ['introspectionUrl', 'issuer', 'audience', 'clientId', 'clientSecret']
  t.equal(nearestName('introspectionEndpoint', known), 'introspectionUrl')
  t.equal(nearestName('clientSecretValue', known), 'clientSecret')
  // A short or a small shared beginning is no hint.
  t.equal(nearestName('clientAssertionType', known), undefined)
  t.equal(nearestName('issuanceDate', known), undefined)
  t.equal(nearestName('zzzzzzzzzz', known), undefined)
})
