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
