import t, { type Test } from 'tap'
import { extractBearerToken, DEFAULT_MAX_TOKEN_LENGTH } from '../src/index.js'

const invalid = (t: Test, value: unknown, message: string | RegExp): void => {
  t.throws(
    () => extractBearerToken(value as string),
    { code: 'ERR_INVALID_REQUEST', error: 'invalid_request', statusCode: 400, message },
    JSON.stringify(value)?.slice(0, 40),
  )
}

t.test('absent credentials are null, not an error', async (t) => {
  t.equal(extractBearerToken(undefined), null)
  t.equal(extractBearerToken(null), null)
  t.equal(extractBearerToken(''), null)
})

t.test('accepts RFC 6750 b64token values with any scheme case', async (t) => {
  t.equal(
    extractBearerToken('Bearer abc.def-ghi_jkl~mno+pqr/stu=='),
    'abc.def-ghi_jkl~mno+pqr/stu==',
  )
  t.equal(extractBearerToken('bearer abc'), 'abc')
  t.equal(extractBearerToken('BEARER abc'), 'abc')
  t.equal(extractBearerToken('BeArEr    abc'), 'abc', 'several spaces after the scheme')
})

t.test('refuses hostile and malformed header values', async (t) => {
  invalid(t, 'Basic dXNlcjpwYXNz', /Bearer scheme/)
  invalid(t, 'Bearer', /no token/)
  invalid(t, 'Bearer ', /no token/)
  invalid(t, 'Bearer    ', /no token/)
  invalid(t, 'Bearer abc def', /malformed/)
  invalid(t, 'Bearer abc, Bearer def', /malformed/)
  invalid(t, 'Bearer abc ', /malformed/)
  invalid(t, 'Bearer\tabc', /Bearer scheme/)
  invalid(t, 'Bearer tökén', /malformed/)
  invalid(t, 'Bearer abc\r\nX-Injected: 1', /malformed/)
  invalid(t, 'Bearer a=b', /malformed/)
  invalid(t, 'Bearer "abc"', /malformed/)
  invalid(t, 'Bearer =abc', /malformed/)
  invalid(t, 'Bearerabc', /Bearer scheme/)
  invalid(t, ['Bearer a', 'Bearer b'], /sent once/)
})

t.test('size limits are enforced before any parsing', async (t) => {
  const huge = 'Bearer ' + 'a'.repeat(100 * 1024)
  invalid(t, huge, /too large/)
  const atLimit = 'a'.repeat(DEFAULT_MAX_TOKEN_LENGTH)
  t.equal(extractBearerToken('Bearer ' + atLimit), atLimit)
  invalid(t, 'Bearer ' + atLimit + 'a', /too large/)
  t.equal(extractBearerToken('Bearer abcd', { maxLength: 4 }), 'abcd')
  t.throws(() => extractBearerToken('Bearer abcde', { maxLength: 4 }), {
    code: 'ERR_INVALID_REQUEST',
    message: /too large/,
  })
})

t.test('error messages never contain the header value', async (t) => {
  const secret = 'sekrit-token-value'
  for (const header of [`Basic ${secret}`, `Bearer ${secret} x`, `Bearer ${secret}\u00e9`]) {
    try {
      extractBearerToken(header)
      t.fail('should throw')
    } catch (error) {
      t.notMatch((error as Error).message, secret)
    }
  }
})
