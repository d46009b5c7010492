import { readFile, writeFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { z } from 'zod'
import type { CheckReport, CheckResult } from '../src/index.js'
import { json, startBrokenServer, type Routes } from './fixtures/broken-server.js'
import { ADMIN_SCOPE, CLIENT, TOOLS_SCOPE, run, startMcpExample } from './fixtures/cli.js'

const schema = z.fromJSONSchema(
  JSON.parse(
    await readFile(new URL('../check-report.schema.json', import.meta.url), 'utf8'),
  ) as Parameters<typeof z.fromJSONSchema>[0],
)

async function checkJson(t: Test, resource: string, extra: string[] = []): Promise<CheckReport> {
  const result = await run(['check', resource, '--json', ...extra])
  const report = JSON.parse(result.stdout) as CheckReport
  const parsed = schema.safeParse(report)
  t.ok(parsed.success, 'the report matches check-report.schema.json', { error: parsed.error })
  t.equal(result.code, report.ok ? 0 : 1, 'exit code follows ok')
  return report
}

function find(report: CheckReport, id: string): CheckResult | undefined {
  return report.checks.find((check) => check.id === id)
}

function failures(report: CheckReport): string[] {
  return report.checks.filter((c) => c.status === 'fail').map((c) => `${c.id} ${c.ref}`)
}

t.test('against the MCP example and the local authorization server, no check fails', async (t) => {
  const { resource, as } = await startMcpExample(t)
  const args = [
    'check',
    resource,
    '--client-id',
    CLIENT.clientId,
    '--scope',
    TOOLS_SCOPE,
    '--small-scope',
    ADMIN_SCOPE,
    '--timeout',
    '3000',
  ]
  const env = { BEARERKIT_CLIENT_SECRET: CLIENT.clientSecret }
  const result = await run(args, { env })
  t.equal(result.code, 0)
  t.equal(result.stderr, '', 'no progress lines when stdout is not a terminal')
  t.notOk(result.stdout.includes('\u001b['), 'no colours off a terminal')

  // Golden text: the ports and token fingerprints vary from run to run.
  const rsPort = new URL(resource).port
  const asPort = new URL(as.issuer).port
  const normalised = result.stdout
    .replace(new RegExp(`127\\.0\\.0\\.1:${rsPort}(?!\\d)`, 'g'), '127.0.0.1:RS_PORT')
    .replace(new RegExp(`127\\.0\\.0\\.1:${asPort}(?!\\d)`, 'g'), '127.0.0.1:AS_PORT')
    .replace(/token [A-Za-z0-9_-]{8}/g, 'token XXXXXXXX')
  // After an intended change of the output: WRITE_GOLDEN=1 npx tap packages/cli/test/check.test.ts
  if (process.env.WRITE_GOLDEN === '1')
    await writeFile(new URL('./fixtures/check-example.txt', import.meta.url), normalised)
  const golden = await readFile(new URL('./fixtures/check-example.txt', import.meta.url), 'utf8')
  t.equal(normalised, golden)

  const report = JSON.parse((await run([...args, '--json'], { env })).stdout) as CheckReport
  t.ok(schema.safeParse(report).success)
  t.same(failures(report), [])
  t.same(report.summary, { pass: 18, warn: 1, fail: 0, skip: 3 })
  t.equal(find(report, 'token.insufficient_scope')?.detail, `scope="${TOOLS_SCOPE}"`)
})

t.test('the JSON schema rejects what it must', async (t) => {
  t.notOk(schema.safeParse({ version: 1 }).success)
  t.notOk(
    schema.safeParse({
      version: 1,
      resource: 'x',
      ok: true,
      summary: { pass: 1, warn: 0, fail: 0, skip: 0 },
      checks: [{ id: 'a.b', section: 's', status: 'maybe', title: 't', ref: 'RFC 1' }],
    }).success,
  )
})

t.test('a correct stand-alone server passes, DPoP and registration included', async (t) => {
  const report = await checkJson(t, await startBrokenServer(t))
  t.same(failures(report), [])
  t.equal(find(report, 'as.pkce')?.status, 'pass')
  t.equal(find(report, 'as.registration')?.status, 'pass')
  t.equal(find(report, 'as.dpop')?.detail, 'ES256')
  t.equal(find(report, 'token.accepted')?.status, 'skip')
})

interface Broken {
  name: string
  routes: Routes
  id: string
  ref: string
  detail?: RegExp
}

const BROKEN: Broken[] = [
  {
    name: 'PRM resource mismatch',
    routes: {
      'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
        json({ resource: `${origin}/other`, authorization_servers: [origin] }),
    },
    id: 'prm.found',
    ref: 'RFC 9728 §3.3',
    detail: /ERR_RESOURCE_MISMATCH/,
  },
  {
    name: 'challenge without resource_metadata',
    routes: { 'POST /mcp': () => ({ status: 401, headers: { 'www-authenticate': 'Bearer' } }) },
    id: 'challenge.resource_metadata',
    ref: 'RFC 9728 §5.1',
  },
  {
    name: 'metadata only at the wrong well-known path (appended, not inserted)',
    routes: {
      'POST /mcp': () => ({ status: 401, headers: { 'www-authenticate': 'Bearer' } }),
      'GET /.well-known/oauth-protected-resource/mcp': null,
      'GET /mcp/.well-known/oauth-protected-resource': (origin) =>
        json({ resource: `${origin}/mcp`, authorization_servers: [origin] }),
    },
    id: 'prm.found',
    ref: 'RFC 9728 §3.1',
    detail: /ERR_RESOURCE_METADATA_NOT_FOUND/,
  },
  {
    name: 'AS without S256',
    routes: {
      'GET /.well-known/oauth-authorization-server': (origin) =>
        json({
          issuer: origin,
          authorization_endpoint: `${origin}/authorize`,
          token_endpoint: `${origin}/token`,
          code_challenge_methods_supported: ['plain'],
        }),
    },
    id: 'as.pkce',
    ref: 'RFC 7636 §4.2',
    detail: /plain/,
  },
  {
    name: 'AS without code_challenge_methods_supported',
    routes: {
      'GET /.well-known/oauth-authorization-server': (origin) =>
        json({ issuer: origin, authorization_endpoint: `${origin}/authorize` }),
    },
    id: 'as.pkce',
    ref: 'RFC 7636 §4.2',
    detail: /absent/,
  },
  {
    name: 'PRM answering 500',
    routes: {
      'GET /.well-known/oauth-protected-resource/mcp': () => json({ error: 'boom' }, 500),
    },
    id: 'prm.found',
    ref: 'RFC 9728 §3.2',
    detail: /HTTP 500/,
  },
  {
    name: 'PRM answering HTML',
    routes: {
      'GET /.well-known/oauth-protected-resource/mcp': () => ({
        status: 200,
        headers: { 'content-type': 'text/html' },
        body: '<html>login</html>',
      }),
    },
    id: 'prm.found',
    ref: 'RFC 9728 §3.2',
    detail: /ERR_INVALID_RESPONSE/,
  },
  {
    name: 'AS metadata issuer mismatch',
    routes: {
      'GET /.well-known/oauth-authorization-server': () =>
        json({ issuer: 'https://evil.example', token_endpoint: 'https://evil.example/token' }),
    },
    id: 'as.found',
    ref: 'RFC 8414 §3.3',
    detail: /ERR_ISSUER_MISMATCH/,
  },
  {
    name: 'PRM listing no authorization server',
    routes: {
      'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
        json({ resource: `${origin}/mcp`, authorization_servers: [] }),
    },
    id: 'prm.found',
    ref: 'RFC 9728 §2',
  },
  {
    name: 'PRM allowing tokens in the query',
    routes: {
      'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
        json({
          resource: `${origin}/mcp`,
          authorization_servers: [origin],
          bearer_methods_supported: ['header', 'query'],
        }),
    },
    id: 'prm.bearer_methods_supported',
    ref: 'RFC 6750 §2.3',
  },
  {
    name: 'PRM without the header method',
    routes: {
      'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
        json({
          resource: `${origin}/mcp`,
          authorization_servers: [origin],
          bearer_methods_supported: ['body'],
        }),
    },
    id: 'prm.bearer_methods_supported',
    ref: 'RFC 9728 §2',
  },
  {
    name: 'PRM bearer_methods_supported not an array',
    routes: {
      'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
        json({
          resource: `${origin}/mcp`,
          authorization_servers: [origin],
          bearer_methods_supported: 'header',
        }),
    },
    id: 'prm.bearer_methods_supported',
    ref: 'RFC 9728 §2',
  },
  {
    name: 'PRM scopes that are not scope tokens',
    routes: {
      'GET /.well-known/oauth-protected-resource/mcp': (origin) =>
        json({
          resource: `${origin}/mcp`,
          authorization_servers: [origin],
          scopes_supported: ['ok', 'not "ok"'],
        }),
    },
    id: 'prm.scopes_supported',
    ref: 'RFC 6749 §3.3',
  },
  {
    name: 'AS with symmetric DPoP algorithms',
    routes: {
      'GET /.well-known/oauth-authorization-server': (origin) =>
        json({
          issuer: origin,
          token_endpoint: `${origin}/token`,
          dpop_signing_alg_values_supported: ['HS256'],
        }),
    },
    id: 'as.dpop',
    ref: 'RFC 9449 §5.1',
  },
  {
    name: 'AS without a token endpoint',
    routes: {
      'GET /.well-known/oauth-authorization-server': (origin) => json({ issuer: origin }),
    },
    id: 'as.token_endpoint_auth_methods',
    ref: 'RFC 8414 §2',
  },
  {
    name: 'AS without metadata',
    routes: { 'GET /.well-known/oauth-authorization-server': null },
    id: 'as.found',
    ref: 'RFC 8414 §3.1',
    detail: /ERR_AS_METADATA_NOT_FOUND/,
  },
  {
    name: 'an unprotected resource',
    routes: { 'POST /mcp': () => ({ status: 200, body: '{}' }) },
    id: 'resource.401',
    ref: 'RFC 6750 §3',
    detail: /not protected/,
  },
  {
    name: 'a 401 without WWW-Authenticate',
    routes: { 'POST /mcp': () => ({ status: 401 }) },
    id: 'challenge.present',
    ref: 'RFC 9110 §11.6.1',
  },
  {
    name: 'a malformed challenge',
    routes: {
      'POST /mcp': () => ({
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="unterminated' },
      }),
    },
    id: 'challenge.syntax',
    ref: 'RFC 9110 §11.6.1',
  },
  {
    name: 'a challenge of another scheme only',
    routes: {
      'POST /mcp': () => ({ status: 401, headers: { 'www-authenticate': 'Basic realm="x"' } }),
    },
    id: 'challenge.bearer',
    ref: 'RFC 6750 §3',
  },
]

for (const broken of BROKEN) {
  t.test(`broken: ${broken.name}`, async (t) => {
    const report = await checkJson(t, await startBrokenServer(t, broken.routes))
    const check = find(report, broken.id)
    t.equal(check?.status, 'fail', `${broken.id} fails`)
    t.equal(check?.ref, broken.ref)
    if (broken.detail !== undefined) t.match(check?.detail, broken.detail)
    t.equal(report.ok, false)
  })
}
