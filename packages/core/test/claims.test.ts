import t from 'tap'
import {
  DEFAULT_CLAIM_MAPPING,
  Refusal,
  accessTokenFromClaims,
  normalizeAudience,
  resolveClaimMapping,
  safeClaims,
  type AccessToken,
} from '../src/index.js'

const ok = (value: AccessToken | Refusal): AccessToken => {
  if (value instanceof Refusal) throw new Error(`refused: ${value.code}`)
  return value
}

t.test('maps RFC 9068 claims to a complete, frozen AccessToken', async (t) => {
  const at = ok(
    accessTokenFromClaims('tok', {
      iss: 'https://as',
      sub: 'alice',
      aud: 'https://rs',
      client_id: 'c1',
      scope: 'a b',
      exp: 2000,
      resource: 'https://rs/mcp',
      extra: 1,
    }),
  )
  t.same(
    { ...at, claims: { ...at.claims } },
    {
      token: 'tok',
      clientId: 'c1',
      scopes: ['a', 'b'],
      expiresAt: 2000,
      subject: 'alice',
      issuer: 'https://as',
      audience: ['https://rs'],
      resource: 'https://rs/mcp',
      claims: {
        iss: 'https://as',
        sub: 'alice',
        aud: 'https://rs',
        client_id: 'c1',
        scope: 'a b',
        exp: 2000,
        resource: 'https://rs/mcp',
        extra: 1,
      },
    },
  )
  t.ok(Object.isFrozen(at))
  t.ok(Object.isFrozen(at.claims))
  t.ok(Object.isFrozen(at.scopes))
})

t.test('client id and scopes fall back through the default mapping', async (t) => {
  t.equal(ok(accessTokenFromClaims('x', { azp: 'a' })).clientId, 'a')
  t.equal(ok(accessTokenFromClaims('x', { cid: 'okta' })).clientId, 'okta')
  t.equal(ok(accessTokenFromClaims('x', { appid: 'entra' })).clientId, 'entra')
  t.equal(ok(accessTokenFromClaims('x', { client_id: 'first', azp: 'second' })).clientId, 'first')
  t.same(ok(accessTokenFromClaims('x', { cid: 'c', scp: ['r', 'w'] })).scopes, ['r', 'w'])
  const noOptional = ok(accessTokenFromClaims('x', { client_id: 'c', sub: '' }))
  t.equal(noOptional.subject, undefined)
  t.equal(noOptional.issuer, undefined)
  t.equal(noOptional.audience, undefined)
  t.equal(noOptional.expiresAt, undefined)
  t.equal(noOptional.resource, undefined)
})

t.test('claims of the wrong type are refused', async (t) => {
  const refused = (claims: Record<string, unknown>, code: string): void => {
    const result = accessTokenFromClaims('x', claims)
    t.ok(result instanceof Refusal, JSON.stringify(claims))
    t.equal((result as Refusal).code, code)
  }
  refused({}, 'missing_claim')
  refused({ client_id: 7 }, 'invalid_claim')
  refused({ client_id: '' }, 'invalid_claim')
  refused({ client_id: 'c', exp: '2000' }, 'invalid_claim')
  refused({ client_id: 'c', exp: Infinity }, 'invalid_claim')
  refused({ client_id: 'c', sub: 1 }, 'invalid_claim')
  refused({ client_id: 'c', iss: ['a'] }, 'invalid_claim')
  refused({ client_id: 'c', aud: { a: 1 } }, 'invalid_claim')
  refused({ client_id: 'c', aud: ['a', 1] }, 'invalid_claim')
})

t.test('__proto__ and constructor claims stay plain data', async (t) => {
  const claims = JSON.parse(
    '{"client_id":"c","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
  ) as Record<string, unknown>
  const at = ok(accessTokenFromClaims('x', claims))
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  // Inherits nothing: its prototype is an empty object without a prototype.
  t.same(Reflect.ownKeys(Object.getPrototypeOf(at.claims) as object), [])
  t.equal(Object.getPrototypeOf(Object.getPrototypeOf(at.claims) as object), null)
  t.same(Object.keys(at.claims).sort(), ['__proto__', 'client_id', 'constructor'])
  t.equal((at.claims as Record<string, unknown> & { polluted?: unknown }).polluted, undefined)
  const copy = safeClaims({ a: 1 })
  t.throws(() => {
    ;(copy as Record<string, unknown>).a = 2
  })
})

t.test('a mapping naming an inherited property reads only own claims', async (t) => {
  const mapping = resolveClaimMapping({
    clientId: ['constructor', 'client_id'],
    subject: ['toString'],
  })
  const at = ok(accessTokenFromClaims('x', { client_id: 'c' }, mapping))
  t.equal(at.clientId, 'c')
  t.equal(at.subject, undefined)
})

t.test('custom claim mappings are validated', async (t) => {
  t.equal(resolveClaimMapping(undefined), DEFAULT_CLAIM_MAPPING)
  const mapping = resolveClaimMapping({ clientId: ['app'], subject: ['oid'] })
  t.same(mapping.clientId, ['app'])
  t.same(mapping.scopes, DEFAULT_CLAIM_MAPPING.scopes)
  const at = ok(accessTokenFromClaims('x', { app: 'a', oid: 'u', sub: 'ignored' }, mapping))
  t.equal(at.clientId, 'a')
  t.equal(at.subject, 'u')
  t.throws(() => resolveClaimMapping(null as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^options\.claims /,
  })
  t.throws(() => resolveClaimMapping({ clientId: [] }), { message: /^options\.claims\.clientId / })
  t.throws(() => resolveClaimMapping({ scopes: [''] }, 'cfg.claims'), {
    message: /^cfg\.claims\.scopes /,
  })
})

t.test('normalizeAudience', async (t) => {
  t.same(normalizeAudience('a'), ['a'])
  t.same(normalizeAudience(['a', 'b']), ['a', 'b'])
  t.equal(normalizeAudience(undefined), undefined)
  t.equal(normalizeAudience(null), false)
  t.equal(normalizeAudience(5), false)
})

t.test(
  'Deep-frozen claims: nested values cannot be changed by one request for another',
  async (t) => {
    const payload = JSON.parse(
      '{"client_id":"c","cnf":{"jkt":"abc"},"authorization_details":[{"type":"payment","locations":["https://a"]}],"act":{"act":{"sub":"deep"}}}',
    ) as Record<string, unknown>
    const at = accessTokenFromClaims('tok', payload) as AccessToken
    const cnf = at.claims.cnf as Record<string, unknown>
    const details = at.claims.authorization_details as Array<Record<string, unknown>>
    t.ok(Object.isFrozen(cnf))
    t.ok(Object.isFrozen(details))
    t.ok(Object.isFrozen(details[0]))
    t.ok(Object.isFrozen(details[0]?.locations))
    t.ok(Object.isFrozen((at.claims.act as { act: object }).act))
    // Hostile writes fail (ESM is strict mode) and change nothing.
    t.throws(() => {
      cnf.jkt = 'attacker'
    }, TypeError)
    t.throws(() => details.push({ type: 'admin' }), TypeError)
    t.throws(() => {
      ;(details[0]?.locations as string[]).push('https://evil')
    }, TypeError)
    t.equal(cnf.jkt, 'abc')
    t.equal(details.length, 1)
  },
)

t.test('safeClaims freezes deep structures without recursion, and cycles end', async (t) => {
  // 100,000 levels would overflow the stack of a recursive freeze.
  const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown
  const claims = safeClaims({ deep })
  let level = claims.deep as unknown[]
  for (let i = 0; i < 99_999; i++) level = level[0] as unknown[]
  t.ok(Object.isFrozen(level))
  const cyclic: Record<string, unknown> = { name: 'a' }
  cyclic.self = cyclic
  const withCycle = safeClaims({ cyclic })
  t.ok(Object.isFrozen(withCycle.cyclic))
  // An already frozen value is kept as it is.
  const frozen = Object.freeze({ x: 1 })
  t.equal(safeClaims({ frozen }).frozen, frozen)
  // A typed array is not JSON and cannot be frozen.
  t.throws(() => safeClaims({ bytes: { b: new Uint8Array(2) } }), {
    code: 'ERR_INVALID_ARG_VALUE',
  })
})

t.test('safeClaims of primitive claims stays cheap', async (t) => {
  // A regression guard, not a benchmark: 100,000 copies of a typical RFC 9068 payload.
  const payload = {
    iss: 'https://as',
    sub: 'u',
    aud: 'r',
    exp: 2,
    iat: 1,
    client_id: 'c',
    scope: 'a b',
  }
  const start = performance.now()
  for (let i = 0; i < 100_000; i++) safeClaims(payload)
  t.ok(performance.now() - start < 2000, 'well under 20 µs per copy')
})

t.test('each token gets the audience and scopes of its own claims, in any order', async (t) => {
  const build = (aud: unknown, scope: unknown) =>
    accessTokenFromClaims('tok', { client_id: 'c', aud, scope })
  const cases: [unknown, unknown, string[] | undefined, string[]][] = [
    ['https://a', 'read write', ['https://a'], ['read', 'write']],
    ['https://a', 'read write', ['https://a'], ['read', 'write']],
    ['https://b', 'read', ['https://b'], ['read']],
    [['https://a', 'https://b'], 'read', ['https://a', 'https://b'], ['read']],
    ['https://a', ['write'], ['https://a'], ['write']],
    [undefined, 'read write', undefined, ['read', 'write']],
    ['https://b', 'x"y', ['https://b'], []],
    ['https://b', 'read', ['https://b'], ['read']],
  ]
  for (const [aud, scope, audience, scopes] of cases) {
    const at = ok(build(aud, scope))
    t.same(at.audience, audience)
    t.same(at.scopes, scopes)
    t.ok(Object.isFrozen(at.scopes))
    if (at.audience !== undefined) t.ok(Object.isFrozen(at.audience))
  }
  // A refused aud after an accepted one with the same scope: still refused.
  t.match(build(42, 'read'), { code: 'invalid_claim' })
  t.match(build(['https://a', 1], 'read'), { code: 'invalid_claim' })
})
