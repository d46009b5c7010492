import { createBrokenToken, createLocalAuthorizationServer, createToken } from '@bearerkit/testing'
import t, { type Test } from 'tap'
import { fingerprint } from '../src/lib/fingerprint.js'
import { freePort, run } from './fixtures/cli.js'

const AUDIENCE = 'https://mcp.example.com/mcp'

async function server(t: Test) {
  const as = await createLocalAuthorizationServer({ quiet: true })
  t.teardown(() => as.close())
  const flags = ['--issuer', as.issuer, '--jwks-uri', as.jwksUri, '--audience', AUDIENCE]
  const env = {
    BEARERKIT_VERIFIER: 'jwt',
    BEARERKIT_ISSUER: as.issuer,
    BEARERKIT_JWKS_URI: as.jwksUri,
    BEARERKIT_AUDIENCE: AUDIENCE,
  }
  return { as, flags, env }
}

t.test('a valid token: exit 0, the access token with a fingerprint, never the token', async (t) => {
  const { as, flags, env } = await server(t)
  const token = await as.issueToken({ subject: 'alice', scopes: ['mcp:tools'], audience: AUDIENCE })
  const text = await run(['verify', ...flags], { input: token })
  t.equal(text.code, 0)
  t.match(text.stdout, `valid  token ${fingerprint(token)}`)
  t.match(text.stdout, /subject {4}alice/)
  t.match(text.stdout, /scopes {5}mcp:tools/)
  t.match(text.stdout, /expires {4}\d{4}-\d\d-\d\dT.*\((in 59 min|in 1 h)\)/)
  t.notOk(text.stdout.includes(token))
  const json = await run(['verify', '-', '--json'], { input: token, env })
  t.equal(json.code, 0, 'from the environment')
  const parsed = JSON.parse(json.stdout) as Record<string, unknown>
  t.equal(parsed.valid, true)
  t.equal(parsed.fingerprint, fingerprint(token))
  t.equal(parsed.subject, 'alice')
  t.notOk(json.stdout.includes(token))
  t.notOk('token' in parsed)
})

t.test('expired, forged, wrong audience and malformed tokens: exit 1 with the code', async (t) => {
  const { as, flags } = await server(t)
  const options = { key: as.signingKey, issuer: as.issuer, audience: AUDIENCE }
  const cases: [string, string][] = [
    [await createBrokenToken('expired', options), 'expired'],
    [await createBrokenToken('bad-signature', options), 'bad_signature'],
    [await createBrokenToken('alg-none', options), 'algorithm_not_allowed'],
    [await createBrokenToken('wrong-audience', options), 'wrong_audience'],
    ['not-a-jwt', 'malformed'],
  ]
  for (const [token, code] of cases) {
    const result = await run(['verify', token, ...flags])
    t.equal(result.code, 1, code)
    t.match(result.stdout, `invalid  token ${fingerprint(token)}`)
    t.notOk(result.stdout.includes(token))
    const json = await run(['verify', token, ...flags, '--json'])
    const parsed = JSON.parse(json.stdout) as { valid: boolean; code: string }
    t.equal(parsed.valid, false)
    t.equal(parsed.code, code, `${code} (got ${parsed.code})`)
  }
})

t.test('unavailable: exit 2, never reported as invalid', async (t) => {
  const { as } = await server(t)
  const token = await createToken({ key: as.signingKey, issuer: as.issuer, audience: AUDIENCE })
  const port = await freePort()
  const flags = ['--issuer', as.issuer, '--audience', AUDIENCE]
  const down = await run(['verify', token, ...flags, '--jwks-uri', `http://127.0.0.1:${port}/jwks`])
  t.equal(down.code, 2)
  t.match(down.stdout, /unavailable/)
  t.notOk(down.stdout.includes(token))
  as.setFault('jwks', { type: 'hang' })
  const slow = await run([
    'verify',
    token,
    ...flags,
    '--jwks-uri',
    as.jwksUri,
    '--timeout',
    '200',
    '--json',
  ])
  t.equal(slow.code, 2)
  t.equal((JSON.parse(slow.stdout) as { unavailable: boolean }).unavailable, true)
})

t.test('configuration errors exit 78, usage errors 64', async (t) => {
  const none = await run(['verify', 'x.y.z'])
  t.equal(none.code, 78)
  t.match(none.stderr, /no verifier/)
  const empty = await run(['verify', 'x.y.z'], {
    env: { BEARERKIT_VERIFIER: 'jwt', BEARERKIT_ISSUER: ' ', BEARERKIT_AUDIENCE: 'a' },
  })
  t.equal(empty.code, 78)
  t.match(empty.stderr, /BEARERKIT_ISSUER/)
  const noAudience = await run(['verify', 'x.y.z', '--issuer', 'https://login.example.com/'])
  t.equal(noAudience.code, 78)
  t.equal((await run(['verify', 'x.y.z', '--type', 'saml'])).code, 64)
  t.equal((await run(['verify', 'a', 'b'])).code, 64)
  t.equal((await run(['verify', 'x', '--timeout', '-1'])).code, 64)
  const help = await run(['verify', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /Exit codes: 0 valid, 1 invalid/)
})

t.test('introspection flags build an introspection verifier', async (t) => {
  const as = await createLocalAuthorizationServer({
    quiet: true,
    clients: [{ clientId: 'rs', clientSecret: 'rs-secret' }],
  })
  t.teardown(() => as.close())
  const token = await as.issueToken({ audience: AUDIENCE, format: 'opaque' })
  // An opaque token is random base64url and may start with '-': it goes after '--', as the usage
  // line says, or parseArgs would take it for an option one run in 64.
  const result = await run([
    'verify',
    '--introspection-url',
    as.introspectionEndpoint,
    '--client-id',
    'rs',
    '--client-secret',
    'rs-secret',
    '--audience',
    AUDIENCE,
    '--audience',
    'https://other.example',
    '--required-scopes',
    '',
    '--algorithms',
    'ES256',
    '--',
    token,
  ])
  t.equal(result.code, 78, 'algorithms is not an introspection option')
  const ok = await run([
    'verify',
    '--introspection-url',
    as.introspectionEndpoint,
    '--client-id',
    'rs',
    '--client-secret',
    'rs-secret',
    '--audience',
    AUDIENCE,
    '--',
    token,
  ])
  t.equal(ok.code, 0, ok.stderr)
})

t.test('a --timeout longer than a timer holds waits as long as one can', async (t) => {
  // Node fires a timer of more than 2^31 - 1 ms after 1 ms, and AbortSignal.timeout throws a
  // RangeError above 2^32 - 1: both made verify answer "unavailable" (exit 2) at once.
  const { as, flags } = await server(t)
  const token = await as.issueToken({ audience: AUDIENCE })
  for (const timeout of ['3000000000', '99999999999']) {
    const result = await run(['verify', token, ...flags, '--timeout', timeout])
    t.equal(result.code, 0, timeout)
  }
})
