import { Refusal, VerifierUnavailableError } from '@bearerkit/core'
import t from 'tap'
import { bearerAuth, createSessionBinding } from '../src/index.js'
import { ISSUER, RESOURCE, accessToken, buildApp, tableVerifier } from './fixtures/app.js'

const SECRETS = {
  valid: 'sEcReT.valid.0123456789abcdef',
  scoped: 'sEcReT.scoped.0123456789abcdef',
  expired: 'sEcReT.expired.0123456789abcdef',
  foreign: 'sEcReT.foreign.0123456789abcdef',
  down: 'sEcReT.down.0123456789abcdef',
  broken: 'sEcReT.broken.0123456789abcdef',
  unknown: 'sEcReT.unknown.0123456789abcdef',
}

t.test('refusals are logged at debug with a reason code and never the token', async (t) => {
  const { app, logs } = buildApp(t)
  const verifier = tableVerifier({
    [SECRETS.valid]: accessToken(SECRETS.valid),
    [SECRETS.scoped]: accessToken(SECRETS.scoped, { scopes: [] }),
    [SECRETS.expired]: new Refusal('expired', 'The access token expired'),
    [SECRETS.foreign]: accessToken(SECRETS.foreign, { audience: ['https://elsewhere.example/'] }),
    [SECRETS.down]: new VerifierUnavailableError('down', { reason: 'timeout' }),
    // A careless verifier error that quotes the token is kept as cause but never logged by us.
    [SECRETS.broken]: new Error(`cannot parse ${SECRETS.broken}`),
  })
  await app.register(bearerAuth, {
    verifier,
    requiredScopes: ['read'],
    resource: { url: RESOURCE, authorizationServers: [ISSUER] },
  })
  const sessions = createSessionBinding()
  app.get('/data', { preHandler: sessions.guard }, async () => 'ok')
  app.get('/malformed-probe', async () => 'ok')

  const statuses: Record<string, number> = {}
  for (const [name, token] of Object.entries(SECRETS)) {
    const res = await app.inject({ url: '/data', headers: { authorization: `Bearer ${token}` } })
    statuses[name] = res.statusCode
    t.notMatch(res.body, 'sEcReT', `${name}: not in the body`)
    t.notMatch(JSON.stringify(res.headers), 'sEcReT', `${name}: not in the headers`)
  }
  await app.inject({ url: '/data', headers: { authorization: `Bearer ${SECRETS.valid} extra` } })
  await app.inject({ url: '/data', headers: { authorization: `Basic ${SECRETS.valid}` } })
  await app.inject({
    url: '/data',
    headers: { authorization: `Bearer ${SECRETS.valid}`, 'mcp-session-id': 'nope' },
  })
  await app.inject({ url: '/data' })
  t.same(statuses, {
    valid: 200,
    scoped: 403,
    expired: 401,
    foreign: 401,
    down: 503,
    broken: 503,
    unknown: 401,
  })

  t.ok(logs.lines.length > 10)
  for (const line of logs.lines) t.notMatch(line, 'sEcReT', 'no log line carries a token')

  const reasons = logs
    .records()
    .map((r) => r.bearer as { reason?: string; outcome?: string; statusCode?: number } | undefined)
    .filter((b) => b !== undefined)
    .map((b) => b.reason ?? b.outcome)
  t.same(reasons, [
    'accepted',
    'insufficient_scope',
    'expired',
    'wrong_audience',
    'verifier_unavailable:timeout',
    'verifier_error',
    'bad_signature',
    'malformed_header',
    'other_scheme',
    'accepted',
    'session_unknown',
    'missing_token',
  ])
  const levels = logs
    .records()
    .filter((r) => r.bearer !== undefined)
    .map((r) => r.level)
  t.same(levels, [20, 20, 20, 20, 40, 40, 20, 20, 20, 20, 20, 20], 'debug, and warn for 503')
  const scoped = logs
    .records()
    .find((r) => (r.bearer as { reason?: string } | undefined)?.reason === 'insufficient_scope')
  t.same(scoped?.bearer, { reason: 'insufficient_scope', statusCode: 403, missing: ['read'] })
  const foreign = logs
    .records()
    .find((r) => (r.bearer as { reason?: string } | undefined)?.reason === 'verifier_error')
  t.same(foreign?.bearer, { reason: 'verifier_error', statusCode: 503, errorName: 'Error' })
})
