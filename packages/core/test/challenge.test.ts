import t from 'tap'
import { formatChallenge, parseChallenge } from '../src/index.js'

t.test('formatChallenge writes params in a stable order, quoted', async (t) => {
  t.equal(formatChallenge(), 'Bearer')
  t.equal(formatChallenge({ realm: undefined }), 'Bearer')
  t.equal(
    formatChallenge({
      resource_metadata: 'https://r.example/.well-known/oauth-protected-resource/mcp',
      scope: 'a b',
      error_description: 'The access token expired',
      error: 'invalid_token',
      realm: 'api',
      extra: 'x',
    }),
    'Bearer realm="api", error="invalid_token", error_description="The access token expired", ' +
      'scope="a b", resource_metadata="https://r.example/.well-known/oauth-protected-resource/mcp", extra="x"',
  )
  t.equal(formatChallenge({ realm: 'x' }, 'DPoP'), 'DPoP realm="x"')
})

t.test(
  'formatChallenge escapes quotes and backslashes and neutralises control bytes',
  async (t) => {
    t.equal(formatChallenge({ realm: 'a"b\\c' }), 'Bearer realm="a\\"b\\\\c"')
    t.equal(
      formatChallenge({ error_description: 'line1\r\nSet-Cookie: x=1' }),
      'Bearer error_description="line1??Set-Cookie: x=1"',
    )
    t.equal(formatChallenge({ realm: 'caf\u00e9\u0000' }), 'Bearer realm="caf??"')
    t.equal(formatChallenge({ realm: 'tab\there' }), 'Bearer realm="tab\there"')
  },
)

t.test('formatChallenge refuses names that are not tokens', async (t) => {
  t.throws(() => formatChallenge({}, 'Bad Scheme'), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => formatChallenge({ 'bad name': 'x' }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => formatChallenge({ 'a=b': 'x' }), { code: 'ERR_INVALID_ARG_VALUE' })
})

t.test('parseChallenge reads one or several challenges', async (t) => {
  t.same(parseChallenge('Bearer'), [{ scheme: 'Bearer', params: {} }])
  t.same(parseChallenge('Bearer realm="api", error="invalid_token"'), [
    { scheme: 'Bearer', params: { realm: 'api', error: 'invalid_token' } },
  ])
  t.same(parseChallenge('Basic realm="a", Bearer error=invalid_token, scope="x y"'), [
    { scheme: 'Basic', params: { realm: 'a' } },
    { scheme: 'Bearer', params: { error: 'invalid_token', scope: 'x y' } },
  ])
  t.same(parseChallenge('Negotiate abc==, Bearer REALM = "r"'), [
    { scheme: 'Negotiate', params: {}, token68: 'abc==' },
    { scheme: 'Bearer', params: { realm: 'r' } },
  ])
  t.same(parseChallenge('Bearer, Basic'), [
    { scheme: 'Bearer', params: {} },
    { scheme: 'Basic', params: {} },
  ])
  t.same(parseChallenge('Bearer realm="a",, error="b"'), [
    { scheme: 'Bearer', params: { realm: 'a', error: 'b' } },
  ])
})

t.test('parseChallenge never throws on garbage and keeps what it read', async (t) => {
  t.same(parseChallenge(''), [])
  t.same(parseChallenge('   ,  '), [])
  t.same(parseChallenge('"oops"'), [])
  t.same(parseChallenge('Bearer realm="unterminated'), [{ scheme: 'Bearer', params: {} }])
  t.same(parseChallenge('Bearer realm="a\\'), [{ scheme: 'Bearer', params: {} }])
  // RFC 7235: a lone `name=` is a token68 with padding, not a parameter.
  t.same(parseChallenge('Bearer realm='), [{ scheme: 'Bearer', params: {}, token68: 'realm=' }])
  t.same(parseChallenge('Bearer realm=,'), [{ scheme: 'Bearer', params: {}, token68: 'realm=' }])
  t.same(parseChallenge('Bearer a=b, c='), [{ scheme: 'Bearer', params: { a: 'b' } }])
  t.same(parseChallenge('Bearer realm="a" junk'), [{ scheme: 'Bearer', params: { realm: 'a' } }])
  t.same(parseChallenge('Bearer realm="a", ='), [{ scheme: 'Bearer', params: { realm: 'a' } }])
  t.same(parseChallenge('Bearer;x'), [{ scheme: 'Bearer', params: {} }])
  t.same(parseChallenge('Bearer "x"'), [{ scheme: 'Bearer', params: {} }])
})

t.test('format and parse round-trip, including escaping', async (t) => {
  const cases = [
    { realm: 'api' },
    { realm: 'a"b\\c', error: 'invalid_token', error_description: 'quote " and \\ slash' },
    {
      error: 'insufficient_scope',
      scope: 'files:read files:write',
      resource_metadata: 'https://x/y',
    },
    { realm: '', error_description: 'a, b=c' },
  ]
  for (const params of cases) {
    const header = formatChallenge(params)
    t.same(parseChallenge(header), [{ scheme: 'Bearer', params }], header)
  }
})
