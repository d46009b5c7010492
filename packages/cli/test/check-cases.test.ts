// Every verdict of `bearerkit check` that the servers in check.test.ts do not reach.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nock from 'nock'
import t, { type Test } from 'tap'
import type { CheckReport, CheckResult } from '../src/index.js'
import { json, startBrokenServer, type Routes } from './fixtures/broken-server.js'
import { CLIENT, TOOLS_SCOPE, freePort, run, startMcpExample } from './fixtures/cli.js'

async function report(t: Test, routes: Routes, extra: string[] = []): Promise<CheckReport> {
  const resource = await startBrokenServer(t, routes)
  const result = await run(['check', resource, '--json', ...extra])
  t.equal(result.stderr, '')
  return JSON.parse(result.stdout) as CheckReport
}

function verdict(r: CheckReport, id: string): [string, string] | undefined {
  const check: CheckResult | undefined = r.checks.find((c) => c.id === id)
  return check === undefined ? undefined : [check.status, check.detail ?? '']
}

const withCredentials = ['--client-id', 'svc', '--client-secret', 's', '--scope', 'full']

t.test('usage errors exit 64 and name the problem', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /one resource URL/],
    [['not a url'], /absolute URL/],
    [['ftp://127.0.0.1/mcp'], /https URL/],
    [['http://mcp.example.com/mcp'], /https URL/],
    [['http://127.0.0.1/mcp', '--token-file', 'x', '--client-id', 'y'], /exclude each other/],
    [['http://127.0.0.1/mcp', '--small-scope', 'x'], /needs --client-id/],
    [['http://127.0.0.1/mcp', '--timeout', '0'], /--timeout/],
    [['http://127.0.0.1/mcp', '--timeout', '1.5'], /--timeout/],
    [['http://127.0.0.1/mcp', '--bogus'], /Unknown option/],
    [['http://127.0.0.1/mcp', '--probe-url', '/notes'], /--probe-url must be an absolute URL/],
    [['http://127.0.0.1/mcp', '--probe-url', 'http://127.0.0.1:1/mcp'], /origin of the resource/],
  ]
  for (const [argv, message] of cases) {
    const result = await run(['check', ...argv])
    t.equal(result.code, 64, argv.join(' '))
    t.match(result.stderr, message)
    t.match(result.stderr, /Usage: bearerkit check/)
  }
  const help = await run(['check', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /Examples:/)
})

t.test('an unreachable resource fails every request check, with the reason', async (t) => {
  const port = await freePort()
  const result = await run(['check', `http://127.0.0.1:${port}/mcp`, '--json', '--timeout', '500'])
  t.equal(result.code, 1)
  const r = JSON.parse(result.stdout) as CheckReport
  t.same(
    r.checks.map((c) => `${c.id} ${c.status}`),
    [
      'resource.reachable fail',
      'prm.found fail',
      'token.accepted skip',
      'errors.malformed fail',
      'errors.invalid_token fail',
      'errors.query fail',
    ],
  )
  t.match(verdict(r, 'resource.reachable')?.[1], /ERR_REQUEST_FAILED/)
})

t.test('challenge and first response variants', async (t) => {
  const withError = await report(t, {
    'POST /mcp': (origin) => ({
      status: 401,
      headers: {
        'www-authenticate': `Bearer error="invalid_token", resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`,
      },
    }),
  })
  t.same(verdict(withError, 'challenge.bearer'), [
    'warn',
    'error="invalid_token" although no token was sent',
  ])
  const forbidden = await report(t, {
    'POST /mcp': () => ({ status: 403, headers: { 'www-authenticate': 'Bearer' } }),
  })
  t.same(verdict(forbidden, 'resource.401'), ['fail', 'HTTP 403'])
})

t.test('metadata variants: root, origin, OpenID fallback, scopes, registration', async (t) => {
  const root = await report(t, {
    'POST /mcp': () => ({ status: 401, headers: { 'www-authenticate': 'Bearer' } }),
    'GET /.well-known/oauth-protected-resource/mcp': null,
    'GET /.well-known/oauth-protected-resource': (origin) =>
      json({ resource: origin, authorization_servers: [origin], scopes_supported: [] }),
    'GET /.well-known/oauth-authorization-server': null,
    'GET /.well-known/openid-configuration': (origin) =>
      json({
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        code_challenge_methods_supported: ['S256'],
        client_id_metadata_document_supported: true,
        dpop_signing_alg_values_supported: 'ES256',
      }),
  })
  t.match(verdict(root, 'prm.found'), ['pass', /well-known at the root/])
  t.match(verdict(root, 'prm.resource'), ['warn', /tokens will be requested for it/])
  t.same(verdict(root, 'prm.scopes_supported'), ['pass', '(empty)'])
  t.match(verdict(root, 'as.found'), ['pass', /OpenID Connect fallback/])
  t.equal(root.checks.find((c) => c.id === 'as.found')?.ref, 'OpenID Connect Discovery §4')
  t.same(verdict(root, 'as.registration'), ['pass', 'client_id_metadata_document_supported'])
  t.equal(verdict(root, 'as.dpop')?.[0], 'fail')
  t.same(verdict(root, 'as.token_endpoint_auth_methods'), [
    'pass',
    'absent (client_secret_basic by default)',
  ])

  const path = await report(t, {
    'POST /mcp': () => ({ status: 401, headers: { 'www-authenticate': 'Bearer' } }),
    'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
      json({ resource: `${origin}/mcp`, authorization_servers: [origin] }),
    'GET /.well-known/oauth-authorization-server': (origin) =>
      json({
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        code_challenge_methods_supported: ['S256'],
      }),
  })
  t.match(verdict(path, 'prm.found'), ['pass', /path inserted/])
  t.match(verdict(path, 'prm.scopes_supported'), ['warn', /absent/])
  t.match(verdict(path, 'as.registration'), ['warn', /registered beforehand/])
  t.equal(verdict(path, 'as.dpop'), undefined, 'no DPoP check without DPoP metadata')
})

t.test('no authorization endpoint: skipped when no grant needs one (RFC 8414 §2)', async (t) => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [
      { grant_types_supported: ['client_credentials'] },
      'skip',
      /^none needed: grant_types_supported is client_credentials; MCP clients acting for a user/,
    ],
    [
      {
        grant_types_supported: [
          'client_credentials',
          'urn:ietf:params:oauth:grant-type:jwt-bearer',
        ],
      },
      'skip',
      /^none needed: /,
    ],
    // Absent, grant_types_supported means authorization_code and implicit, which need one.
    [{}, 'warn', /^none, and no grant_types_supported \(authorization_code by default/],
    [
      { grant_types_supported: ['client_credentials', 'authorization_code'] },
      'warn',
      /^none, though grant_types_supported lists authorization_code;/,
    ],
    [{ grant_types_supported: ['implicit'] }, 'warn', /lists implicit;/],
  ]
  for (const [extra, status, detail] of cases) {
    const r = await report(t, {
      'POST /mcp': () => ({ status: 401, headers: { 'www-authenticate': 'Bearer' } }),
      'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
        json({ resource: `${origin}/mcp`, authorization_servers: [origin] }),
      'GET /.well-known/oauth-authorization-server': (origin) =>
        json({ issuer: origin, token_endpoint: `${origin}/token`, ...extra }),
    })
    const label = JSON.stringify(extra)
    t.match(verdict(r, 'as.authorization_endpoint'), [status, detail], label)
    t.same(verdict(r, 'as.pkce'), ['skip', 'no authorization endpoint'], label)
  }
})

t.test('an https authorization server passes the https check', async (t) => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
  t.teardown(() => {
    nock.cleanAll()
    nock.enableNetConnect()
  })
  const scope = nock('https://as.example.com')
    .get('/.well-known/oauth-authorization-server')
    .reply(200, {
      issuer: 'https://as.example.com',
      authorization_endpoint: 'https://as.example.com/authorize',
      token_endpoint: 'https://as.example.com/token',
      registration_endpoint: 'https://as.example.com/register',
      code_challenge_methods_supported: ['S256'],
    })
  const r = await report(t, {
    'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
      json({ resource: `${origin}/mcp`, authorization_servers: ['https://as.example.com'] }),
  })
  t.same(verdict(r, 'as.https'), ['pass', ''])
  t.equal(r.ok, true)
  t.ok(scope.isDone())
})

t.test('tokens: client credentials, accepted or not, step-up', async (t) => {
  const good = await report(t, {}, [...withCredentials, '--small-scope', 'small'])
  t.equal(good.ok, true, JSON.stringify(good.checks.filter((c) => c.status === 'fail')))
  t.match(verdict(good, 'token.request'), ['pass', /^token [\w-]{8}, resource http/])
  t.same(verdict(good, 'token.small.request')?.[0], 'pass')
  t.same(verdict(good, 'token.insufficient_scope'), ['pass', 'scope="full"'])

  const refused = await report(
    t,
    {
      'FULL /mcp': () => ({
        status: 403,
        headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="more"' },
      }),
      'SMALL /mcp': () => ({ status: 200 }),
    },
    [...withCredentials, '--small-scope', 'small'],
  )
  t.match(verdict(refused, 'token.accepted'), ['fail', /needs scope "more"/])
  t.equal(refused.checks.find((c) => c.id === 'token.accepted')?.ref, 'RFC 6750 §3.1')
  t.same(verdict(refused, 'token.insufficient_scope'), ['fail', 'HTTP 200'])

  const audience = await report(
    t,
    {
      'FULL /mcp': () => ({
        status: 401,
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      }),
      'SMALL /mcp': () => ({
        status: 403,
        headers: { 'www-authenticate': 'Bearer error="insufficient_scope"' },
      }),
    },
    [...withCredentials, '--small-scope', 'small'],
  )
  t.same(verdict(audience, 'token.accepted'), [
    'fail',
    'HTTP 401 invalid_token: is the token issued for this resource (aud)?',
  ])
  t.equal(audience.checks.find((c) => c.id === 'token.accepted')?.ref, 'RFC 8707 §2')
  t.match(verdict(audience, 'token.insufficient_scope'), ['fail', /cannot step up/])

  const noDetail = await report(
    t,
    {
      'SMALL /mcp': () => ({ status: 401 }),
    },
    [...withCredentials, '--small-scope', 'small'],
  )
  t.same(verdict(noDetail, 'token.insufficient_scope'), ['fail', 'HTTP 401'])

  const denied = await report(
    t,
    {
      'POST /token': () => json({ error: 'invalid_client' }, 401),
    },
    [...withCredentials, '--small-scope', 'small'],
  )
  t.match(verdict(denied, 'token.request'), ['fail', /ERR_OAUTH_ERROR_RESPONSE/])
  t.equal(verdict(denied, 'token.accepted'), undefined)
  t.equal(verdict(denied, 'token.small.request')?.[0], 'fail')

  const redirected = await report(
    t,
    { 'FULL /mcp': () => ({ status: 302, headers: { location: '/elsewhere' } }) },
    withCredentials,
  )
  t.match(verdict(redirected, 'token.accepted'), ['fail', /ERR_REDIRECT_REFUSED/])

  const missing = await report(t, { 'FULL /mcp': () => ({ status: 404 }) }, withCredentials)
  t.same(verdict(missing, 'token.accepted'), [
    'fail',
    'HTTP 404: is this where MCP requests go? (use --probe-url)',
  ])

  const noServer = await report(
    t,
    {
      'GET /.well-known/oauth-authorization-server': null,
    },
    withCredentials,
  )
  t.match(verdict(noServer, 'token.request'), ['skip', /no usable authorization server/])
})

t.test('error behaviour variants', async (t) => {
  const lax = await report(t, {
    'MALFORMED /mcp': () => ({ status: 401, headers: { 'www-authenticate': 'Bearer' } }),
    'BOGUS /mcp': () => ({ status: 401, headers: { 'www-authenticate': 'Bearer' } }),
    'QUERY /mcp': () => ({ status: 401, headers: { 'www-authenticate': 'Bearer' } }),
  })
  t.same(verdict(lax, 'errors.malformed'), ['warn', 'HTTP 401'])
  t.same(verdict(lax, 'errors.invalid_token'), ['warn', 'HTTP 401 without an error code'])
  t.same(verdict(lax, 'errors.query'), ['pass', 'HTTP 401'])

  const wrong = await report(t, {
    'MALFORMED /mcp': () => ({ status: 500, headers: { 'www-authenticate': 'Bearer error="x"' } }),
    'BOGUS /mcp': () => ({
      status: 400,
      headers: { 'www-authenticate': 'Bearer error="invalid_request"' },
    }),
    'QUERY /mcp': () => ({
      status: 401,
      headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    }),
  })
  t.same(verdict(wrong, 'errors.malformed'), ['fail', 'HTTP 500'])
  t.same(verdict(wrong, 'errors.invalid_token'), ['fail', 'HTTP 400 without an error code'])
  t.match(verdict(wrong, 'errors.query'), ['fail', /read the token from the query/])

  const accepted = await report(t, { 'QUERY /mcp': () => ({ status: 200 }) })
  t.same(verdict(accepted, 'errors.query'), ['fail', 'HTTP 200: accepted'])
  const odd = await report(t, { 'QUERY /mcp': () => ({ status: 500 }) })
  t.same(verdict(odd, 'errors.query'), [
    'fail',
    'HTTP 500: the server read the token from the query',
  ])
})

t.test('--token-file, and a terminal gets progress on stderr and colours', async (t) => {
  const { resource, as } = await startMcpExample(t)
  const dir = await mkdtemp(join(tmpdir(), 'bearerkit-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'token.txt')
  const token = await as.issueToken({ scopes: [TOOLS_SCOPE], audience: resource })
  await writeFile(file, `${token}\n`)
  const result = await run(['check', resource, '--token-file', file], { isTTY: true })
  t.equal(result.code, 0)
  t.notOk(result.stdout.includes(token), 'the token is never printed')
  t.notOk(result.stderr.includes(token))
  t.ok(result.stderr.includes('\r\u001b[K… unauthenticated request'), 'progress on stderr')
  t.ok(result.stdout.includes('\u001b[32m✔ pass\u001b[39m'))
  t.match(result.stdout, /A token is read from --token-file/)
  const noColor = await run(['check', resource, '--token-file', file], {
    isTTY: true,
    env: { NO_COLOR: '1' },
  })
  t.notOk(noColor.stdout.includes('\u001b['))

  await writeFile(file, '\n')
  const empty = await run(['check', resource, '--token-file', file, '--json'])
  t.equal(empty.code, 1)
  t.same(verdict(JSON.parse(empty.stdout) as CheckReport, 'token.file'), [
    'fail',
    'the file is empty',
  ])
  const missing = await run(['check', resource, '--token-file', join(dir, 'nope')])
  t.equal(missing.code, 64)
  t.match(missing.stderr, /cannot read --token-file/)

  const secret = await run(['check', resource, '--client-id', CLIENT.clientId, '--json'], {
    env: { BEARERKIT_CLIENT_SECRET: '' },
  })
  t.match(verdict(JSON.parse(secret.stdout) as CheckReport, 'token.request'), ['fail', /ERR_/])
})

t.test('--probe-url sends the requests there, discovery still uses the resource', async (t) => {
  const resource = await startBrokenServer(t, {})
  const probe = `${resource}?probe=1`
  const result = await run(['check', resource, '--probe-url', probe, '--json', ...withCredentials])
  t.equal(result.code, 0)
  const r = JSON.parse(result.stdout) as CheckReport
  t.same(verdict(r, 'prm.resource'), ['pass', ''])
  t.same(verdict(r, 'token.accepted'), ['pass', 'HTTP 200'])
})
