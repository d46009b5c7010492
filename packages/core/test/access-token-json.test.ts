import { inspect, format } from 'node:util'
import t, { type Test } from 'tap'
import {
  Refusal,
  accessTokenFromClaims,
  accessTokenJson,
  createCachedVerifier,
  defineVerifier,
  safeAccessToken,
  tokenFingerprint,
  type AccessToken,
} from '../src/index.js'

// A JWT-shaped token whose parts are easy to search for in output.
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.U0VDUkVULVNJR05BVFVSRQ'
const CLAIMS = {
  client_id: 'client-1',
  sub: 'alice',
  scope: 'files:read files:write',
  exp: 2_000_000_000,
  iss: 'https://as.example',
  aud: 'https://rs.example/mcp',
  resource: 'https://rs.example/mcp',
}

function build(token = TOKEN, claims: Record<string, unknown> = CLAIMS): AccessToken {
  const result = accessTokenFromClaims(token, claims)
  if (result instanceof Refusal) throw new Error(`refused: ${result.code}`)
  return result
}

// No fragment of the token may show: not the whole, not the signature, not the payload.
function assertNoToken(t: Test, text: string): void {
  for (const part of [TOKEN, ...TOKEN.split('.')])
    t.notOk(text.includes(part), `no ${part.slice(0, 8)}…`)
}

t.test('JSON.stringify writes the fingerprint, never the token', async (t) => {
  const accessToken = build()
  const json = JSON.stringify(accessToken)
  assertNoToken(t, json)
  t.same(JSON.parse(json), {
    tokenFingerprint: tokenFingerprint(TOKEN),
    clientId: 'client-1',
    scopes: ['files:read', 'files:write'],
    expiresAt: 2_000_000_000,
    subject: 'alice',
    issuer: 'https://as.example',
    audience: ['https://rs.example/mcp'],
    resource: 'https://rs.example/mcp',
    claims: CLAIMS,
  })
  // Nested, as it reaches a log line or a response body.
  assertNoToken(t, JSON.stringify({ request: { accessToken } }))
  t.match(JSON.stringify([accessToken]), /"tokenFingerprint":"sha256:[0-9a-f]{16}"/)
})

t.test('util.inspect, console.log and %o / %j show the fingerprint', async (t) => {
  const accessToken = build()
  for (const text of [
    inspect(accessToken),
    inspect({ nested: { accessToken } }, { depth: 10 }),
    inspect(accessToken, { showHidden: true }),
    format('%o', accessToken),
    format('%O', accessToken),
    format('%j', accessToken),
    format('%s', accessToken),
  ]) {
    assertNoToken(t, text)
  }
  t.match(inspect(accessToken), /^AccessToken \{\n?\s*tokenFingerprint: 'sha256:[0-9a-f]{16}'/)
  t.equal(inspect({ a: { b: accessToken } }, { depth: 0 }), '{ a: [Object] }')
  t.equal(inspect({ a: accessToken }, { depth: -1 }), '[Object]')
  t.match(inspect([accessToken], { depth: 0 }), /\[AccessToken\]/)
})

t.test('the token stays readable; the data fields stay the only own keys', async (t) => {
  const accessToken = build()
  t.equal(accessToken.token, TOKEN)
  t.same(Object.keys(accessToken), [
    'token',
    'clientId',
    'scopes',
    'expiresAt',
    'subject',
    'issuer',
    'audience',
    'resource',
    'claims',
  ])
  t.notOk(Object.hasOwn(accessToken, 'toJSON'), 'methods live on the shared prototype')
  t.ok(Object.isFrozen(accessToken))
  t.equal(Object.getPrototypeOf(accessToken), Object.getPrototypeOf(build('other', CLAIMS)))
  const proto = Object.getPrototypeOf(accessToken) as object
  t.ok(Object.isFrozen(proto), 'nobody can swap the methods')
  t.same(Object.keys(proto), [], 'nothing enumerable shows through for-in or a spread')
  // A spread is a plain copy: it has the token and no safe forms (documented).
  t.equal({ ...accessToken }.token, TOKEN)
})

t.test('a token without optional fields', async (t) => {
  const accessToken = build('opaque', { client_id: 'c' })
  t.same(JSON.parse(JSON.stringify(accessToken)), {
    tokenFingerprint: tokenFingerprint('opaque'),
    clientId: 'c',
    scopes: [],
    claims: { client_id: 'c' },
  })
})

t.test('tokenFingerprint: stable, distinct, short, not the token', async (t) => {
  t.equal(tokenFingerprint(TOKEN), tokenFingerprint(TOKEN))
  t.not(tokenFingerprint(TOKEN), tokenFingerprint(`${TOKEN}x`))
  t.match(tokenFingerprint(''), /^sha256:[0-9a-f]{16}$/)
  // sha256("abc") = ba7816bf8f01cfea...
  t.equal(tokenFingerprint('abc'), 'sha256:ba7816bf8f01cfea')
})

t.test(
  'accessTokenJson works for any AccessToken, a custom verifier’s plain object too',
  async (t) => {
    const plain: AccessToken = { token: TOKEN, clientId: 'c', scopes: ['a'], claims: {} }
    const json = accessTokenJson(plain)
    assertNoToken(t, JSON.stringify(json))
    t.same(json, {
      tokenFingerprint: tokenFingerprint(TOKEN),
      clientId: 'c',
      scopes: ['a'],
      claims: {},
    })
  },
)

t.test('a cached custom token gets the safe forms', async (t) => {
  const inner = {
    verifyToken: async (token: string): Promise<AccessToken> => ({
      token,
      clientId: 'c',
      scopes: ['a'],
      claims: { sub: 'alice' },
    }),
  }
  const cached = createCachedVerifier(inner, { ttl: 60 })
  const first = await cached.verifyToken(TOKEN)
  const again = await cached.verifyToken(TOKEN)
  for (const accessToken of [first, again]) {
    t.equal(accessToken?.token, TOKEN)
    assertNoToken(t, JSON.stringify(accessToken))
    assertNoToken(t, inspect(accessToken))
  }
})

t.test('a custom verifier’s token gets the safe forms from defineVerifier', async (t) => {
  class ClassToken {
    readonly clientId = 'c'
    readonly scopes = ['a']
    readonly claims = { sub: 'alice' }
    get token(): string {
      return TOKEN
    }
  }
  const answers: (() => AccessToken)[] = [
    () => ({ token: TOKEN, clientId: 'c', scopes: ['a'], claims: { sub: 'alice' } }),
    // A toJSON of its own that prints the token: the safe form wins.
    () => ({
      token: TOKEN,
      clientId: 'c',
      scopes: ['a'],
      claims: { sub: 'alice' },
      toJSON: () => ({ token: TOKEN }) as never,
      [Symbol.for('nodejs.util.inspect.custom')]: () => TOKEN,
    }),
    () => new ClassToken(),
  ]
  for (const [i, answer] of answers.entries()) {
    for (const sync of [true, false]) {
      const verifier = defineVerifier('custom', () => (sync ? answer() : Promise.resolve(answer())))
      const accessToken = await verifier.verifyToken(TOKEN)
      const label = `answer ${i}, ${sync ? 'sync' : 'async'}`
      t.equal(accessToken?.token, TOKEN, label)
      t.equal(accessToken?.clientId, 'c', label)
      t.same(accessToken?.scopes, ['a'], label)
      t.same(accessToken?.claims, { sub: 'alice' }, label)
      assertNoToken(t, JSON.stringify(accessToken))
      assertNoToken(t, JSON.stringify({ nested: accessToken }))
      assertNoToken(t, inspect(accessToken, { depth: 10 }))
      assertNoToken(t, format('%o %j', accessToken, accessToken))
      t.match(JSON.parse(JSON.stringify(accessToken)), {
        tokenFingerprint: tokenFingerprint(TOKEN),
        clientId: 'c',
      })
    }
  }
  // bearerkit's own tokens pass through as they are.
  const built = build()
  t.equal(await defineVerifier('jwt', () => built).verifyToken(TOKEN), built)
  t.equal(safeAccessToken(built), built)
})
