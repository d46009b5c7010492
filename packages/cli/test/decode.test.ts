import { createBrokenToken, createToken, generateKeyPair } from '@bearerkit/testing'
import t from 'tap'
import { decodeToken, type DecodedToken } from '../src/index.js'
import { fingerprint } from '../src/lib/fingerprint.js'
import { relativeTime } from '../src/lib/time.js'
import { run } from './fixtures/cli.js'

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0)
const NOW_S = NOW / 1000
const key = await generateKeyPair('ES256')
const AUDIENCE = 'https://mcp.example.com/mcp'
const ISSUER = 'https://login.example.com/'

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function warnings(decoded: DecodedToken | string): string[] {
  t.type(decoded, 'object')
  return (decoded as DecodedToken).warnings.map((w) => w.code)
}

t.test('a valid access token: header, claims, ISO and relative times, no warnings', async (t) => {
  // Times decode from the claims alone: the signature does not matter to decode.
  const signed = await createToken({ key, issuer: ISSUER, audience: AUDIENCE })
  const [, , signature] = signed.split('.')
  const header = { alg: 'ES256', typ: 'at+jwt', kid: 'k1' }
  const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW_S - 60, exp: NOW_S + 13 * 60 }
  const token = `${b64(header)}.${b64(claims)}.${signature ?? ''}`
  const result = await run(['decode', token], { now: NOW })
  t.equal(result.code, 0)
  t.notOk(result.stdout.includes(token), 'the token is never printed')
  t.notOk(result.stdout.includes(token.split('.')[2] as string), 'nor its signature')
  t.match(result.stdout, `Token  ${fingerprint(token)}`)
  t.match(result.stdout, /"alg": "ES256"/)
  t.match(result.stdout, /"typ": "at\+jwt"/)
  t.match(result.stdout, /exp {7}2026-01-01T12:13:00\.000Z {2}in 13 min/)
  t.match(result.stdout, /iat {7}2026-01-01T11:59:00\.000Z {2}1 min ago/)
  t.notMatch(result.stdout, /Warnings/)
  t.equal(result.stderr, '')
})

t.test(
  'reads stdin with "-" and with no argument on a pipe; accepts a pasted "Bearer "',
  async (t) => {
    const token = await createToken({ key, issuer: ISSUER, audience: AUDIENCE })
    const dash = await run(['decode', '-', '--json'], { input: `${token}\n` })
    t.equal(dash.code, 0)
    t.equal((JSON.parse(dash.stdout) as DecodedToken).fingerprint, fingerprint(token))
    const piped = await run(['decode', '--json'], { input: `Bearer ${token}` })
    t.equal(piped.code, 0)
    t.equal((JSON.parse(piped.stdout) as DecodedToken).fingerprint, fingerprint(token))
    t.notOk(piped.stdout.includes(token))
  },
)

t.test('no token on a terminal, empty input, two tokens: usage errors (64)', async (t) => {
  const terminal = await run(['decode'])
  t.equal(terminal.code, 64)
  t.match(terminal.stderr, /pipe it on stdin/)
  t.equal((await run(['decode', '-'], { input: '  \n' })).code, 64)
  t.equal((await run(['decode', '-'], { input: 'a.b.c d.e.f' })).code, 64)
  t.equal((await run(['decode', 'a', 'b'])).code, 64)
  const huge = await run(['decode', '-'], { input: 'x'.repeat(70_000) })
  t.equal(huge.code, 64)
  t.match(huge.stderr, /larger than/)
  const unknown = await run(['decode', '--frobnicate'])
  t.equal(unknown.code, 64)
  t.match(unknown.stderr, /Usage: bearerkit decode/)
})

t.test('warnings: alg none, no exp, no aud, typ, cnf, expired, not yet valid', async (t) => {
  const none = await createBrokenToken('alg-none', { key, issuer: ISSUER, audience: AUDIENCE })
  t.ok(warnings(decodeToken(none, NOW)).includes('alg_none'))
  const bare = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ sub: 'x', cnf: { jkt: 'abc' } })}.sig`
  t.same(warnings(decodeToken(bare, NOW)), ['no_exp', 'no_aud', 'typ', 'cnf'])
  const noTyp = `${b64({})}.${b64({ exp: 'soon', aud: 'a' })}.sig`
  t.same(warnings(decodeToken(noTyp, NOW)), ['alg_none', 'bad_exp', 'typ'])
  const expired = await createBrokenToken('expired', { key, issuer: ISSUER, audience: AUDIENCE })
  t.ok(warnings(decodeToken(expired, Date.now())).includes('expired'))
  const later = `${b64({ alg: 'ES256', typ: 'application/at+jwt' })}.${b64({ aud: 'a', exp: NOW_S + 7200, nbf: NOW_S + 3 * 86400 })}.s`
  const decoded = decodeToken(later, NOW) as DecodedToken
  t.same(
    decoded.warnings.map((w) => w.code),
    ['not_yet_valid'],
  )
  t.equal(decoded.warnings[0]?.message, 'not valid before in 3 days')
  t.equal(decoded.times.exp?.relative, 'in 2 h')
  const text = await run(['decode', bare], { now: NOW, isTTY: true })
  t.match(text.stdout, /Warnings/)
  t.ok(text.stdout.includes('\u001b[33m!'), 'a terminal gets colours')
  const noColor = await run(['decode', bare], { now: NOW, isTTY: true, env: { NO_COLOR: '1' } })
  t.notOk(noColor.stdout.includes('\u001b['), 'NO_COLOR turns them off')
})

t.test('malformed and encrypted tokens: exit 1 with a reason, no token text', async (t) => {
  const cases: [string, RegExp][] = [
    ['not-a-jwt', /three dot-separated parts/],
    ['a.b.c.d.e', /encrypted JWT/],
    ['%%%.e30.x', /header is not base64url JSON/],
    [`${b64({ alg: 'ES256' })}.bm90IGpzb24.x`, /payload is not base64url JSON/],
    [`${b64([1])}.${b64({})}.x`, /header is not base64url JSON/],
    [`${b64({ alg: 'ES256' })}..x`, /payload is not base64url JSON/],
  ]
  for (const [token, reason] of cases) {
    const result = await run(['decode', token])
    t.equal(result.code, 1, token)
    t.match(result.stderr, reason)
    t.notOk(result.stderr.includes(token), 'the input is not echoed')
  }
})

t.test('relative times', async (t) => {
  t.equal(relativeTime(100, 100), 'now')
  t.equal(relativeTime(130, 100), 'in 30 s')
  t.equal(relativeTime(100, 100 + 3 * 3600), '3 h ago')
  t.equal(relativeTime(100, 100 + 5 * 86400), '5 days ago')
  t.equal(
    decodeToken(`${b64({ alg: 'ES256' })}.${b64({ exp: 1e20 })}.x`, NOW) instanceof Object,
    true,
  )
  t.same(
    (decodeToken(`${b64({ alg: 'ES256' })}.${b64({ exp: 1e20 })}.x`, NOW) as DecodedToken).times,
    {},
  )
})
