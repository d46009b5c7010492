// The forward-auth server behind a real nginx (Debian's package, auth_request module), with the
// configuration the README documents (test/fixtures/nginx.ts). nginx runs in the foreground from
// a temporary prefix, listening on a free loopback port, in front of a small node:http upstream.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { Refusal, VerifierUnavailableError, defineVerifier } from '@bearerkit/core'
import t, { type Test } from 'tap'
import { createForwardAuthServer } from '../src/index.js'
import {
  ISSUER,
  METADATA_PATH,
  RESOURCE,
  accessToken,
  sendOverHttp,
  type ConformanceAnswer,
} from './fixtures/conformance.js'
import { nginxConfig } from './fixtures/nginx.js'
import { CLIENT_JKT, dpopProof, mint, suiteVerifier } from './fixtures/sender-constraint-suite.js'

function findNginx(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '')
  return [...dirs, '/usr/sbin', '/usr/local/sbin']
    .map((dir) => join(dir, 'nginx'))
    .find((path) => existsSync(path))
}

async function listen(t: Test, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

// nginx is ready when its port accepts a connection; it exits at once on a bad configuration.
async function waitForPort(port: number, exited: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (exited()) throw new Error('nginx exited')
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`nginx did not listen on ${port}`)
}

const nginx = findNginx()

if (nginx === undefined) {
  if (process.env.CI === 'true') {
    t.fail(
      'nginx is not installed: .ci/run installs it; the forward-auth integration test must run',
    )
  } else {
    console.error('\n*** nginx not found: SKIPPING the forward-auth nginx integration test ***\n')
    t.test(
      'forward-auth behind a real nginx',
      { skip: 'nginx not found on PATH or in /usr/sbin' },
      () => {},
    )
  }
} else {
  const binary = nginx
  t.test('forward-auth behind a real nginx', async (t) => {
    const verifier = defineVerifier('nginx-test', (token) => {
      if (token === 'user-token') return accessToken(token)
      if (token === 'admin-token') return accessToken(token, { scopes: ['read', 'admin'] })
      // A client credentials token: no end user, no `sub`.
      if (token === 'service-token') {
        return accessToken(token, { clientId: 'service-1', subject: undefined })
      }
      if (token === 'down-token') {
        throw new VerifierUnavailableError('JWKS timed out', { reason: 'timeout', retryAfter: 30 })
      }
      return new Refusal('bad_signature', 'The signature does not verify')
    })
    const authServer = createForwardAuthServer({
      verifier,
      requiredScopes: ['read'],
      resource: { url: RESOURCE, authorizationServers: [ISSUER] },
    })
    const authPort = await listen(t, authServer)
    // Behind nginx the proof names the public URL (X-Original-URI is relative).
    const dpopAuthServer = createForwardAuthServer({
      verifier: suiteVerifier(t),
      dpop: {
        publicOrigin: 'https://api.example.com',
        nonceSecret: 'a nonce secret of at least thirty-two bytes',
        requireNonce: true,
      },
    })
    const dpopAuthPort = await listen(t, dpopAuthServer)
    const seen: IncomingHttpHeaders[] = []
    const upstreamPort = await listen(
      t,
      createServer((req, res) => {
        seen.push(req.headers)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ upstream: true }))
      }),
    )
    const prefix = await mkdtemp(join(tmpdir(), 'bearerkit-nginx-'))
    t.teardown(() => rm(prefix, { recursive: true, force: true }))
    const port = await freePort()
    const conf = join(prefix, 'nginx.conf')
    await writeFile(conf, nginxConfig({ prefix, port, authPort, upstreamPort, dpopAuthPort }))
    const child = spawn(binary, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')], {
      stdio: 'ignore',
    })
    let exited = false
    const done = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true
        resolve()
      })
    })
    t.teardown(async () => {
      if (!exited) child.kill('SIGTERM')
      await done
    })
    await waitForPort(port, () => exited)

    const get = (path: string, headers: [string, string][] = []): Promise<ConformanceAnswer> =>
      sendOverHttp(port, { method: 'GET', path, headers })
    const bearer = (token: string): [string, string] => ['authorization', `Bearer ${token}`]
    const RM = `resource_metadata="https://api.example.com${METADATA_PATH}"`

    t.test('no token: 401 with the challenge, the upstream never asked', async (t) => {
      const before = seen.length
      const answer = await get('/mcp')
      t.equal(answer.status, 401)
      t.equal(answer.headers['www-authenticate'], `Bearer scope="read", ${RM}`)
      t.equal(seen.length, before, 'upstream not reached')
    })

    t.test('a bad token: 401 invalid_token, the upstream never asked', async (t) => {
      const before = seen.length
      const answer = await get('/mcp', [bearer('forged-token')])
      t.equal(answer.status, 401)
      t.equal(
        answer.headers['www-authenticate'],
        `Bearer error="invalid_token", error_description="The signature does not verify", scope="read", ${RM}`,
      )
      t.equal(seen.length, before, 'upstream not reached')
    })

    t.test('a missing route scope: 403 insufficient_scope with the challenge', async (t) => {
      const before = seen.length
      const answer = await get('/admin', [bearer('user-token')])
      t.equal(answer.status, 403)
      t.equal(
        answer.headers['www-authenticate'],
        `Bearer error="insufficient_scope", error_description="The access token lacks a required scope", scope="read admin", ${RM}`,
      )
      t.equal(seen.length, before, 'upstream not reached')
    })

    t.test('an unavailable verifier: 503 with Retry-After, not 500', async (t) => {
      const before = seen.length
      const answer = await get('/mcp', [bearer('down-token')])
      t.equal(answer.status, 503)
      t.equal(answer.headers['retry-after'], '30')
      t.equal(answer.headers['www-authenticate'], undefined, 'no challenge')
      t.equal(seen.length, before, 'upstream not reached')
    })

    t.test('a malformed request: 400 invalid_request, not 500', async (t) => {
      const before = seen.length
      const answer = await get('/mcp?access_token=user-token', [bearer('user-token')])
      t.equal(answer.status, 400)
      t.equal(
        answer.headers['www-authenticate'],
        `Bearer error="invalid_request", error_description="Access tokens are not accepted in the query string", ${RM}`,
      )
      t.equal(seen.length, before, 'upstream not reached')
    })

    t.test('a valid token: identity reaches the upstream; forged headers do not', async (t) => {
      const answer = await get('/mcp', [
        bearer('user-token'),
        ['x-bearer-subject', 'mallory'],
        ['x-bearer-client-id', 'forged-client'],
        ['x-bearer-scopes', 'read admin'],
      ])
      t.equal(answer.status, 200)
      t.same(JSON.parse(answer.body), { upstream: true })
      const headers = seen.at(-1)
      t.equal(headers?.['x-bearer-subject'], 'alice')
      t.equal(headers?.['x-bearer-client-id'], 'client-1')
      t.equal(headers?.['x-bearer-issuer'], ISSUER)
      t.equal(headers?.['x-bearer-scopes'], 'read')
      t.equal(headers?.authorization, 'Bearer user-token', 'the token itself is passed on')
    })

    t.test('a token without sub: a client-sent X-Bearer-Subject is dropped', async (t) => {
      const answer = await get('/mcp', [bearer('service-token'), ['x-bearer-subject', 'alice']])
      t.equal(answer.status, 200)
      const headers = seen.at(-1)
      t.equal(headers?.['x-bearer-client-id'], 'service-1')
      t.equal(headers?.['x-bearer-subject'], undefined, 'no subject reaches the upstream')
    })

    t.test('an unauthenticated request with forged identity headers is refused', async (t) => {
      const before = seen.length
      const answer = await get('/mcp', [['x-bearer-subject', 'alice']])
      t.equal(answer.status, 401)
      t.equal(seen.length, before, 'upstream not reached')
    })

    t.test('the admin route with the scope reaches the upstream', async (t) => {
      const answer = await get('/admin', [bearer('admin-token')])
      t.equal(answer.status, 200)
      t.equal(seen.at(-1)?.['x-bearer-scopes'], 'read admin')
    })

    t.test('a forged X-Forwarded-Uri next to nginx X-Original-URI is refused', async (t) => {
      const before = seen.length
      const answer = await get('/mcp?access_token=user-token', [
        bearer('user-token'),
        ['x-forwarded-uri', '/mcp'],
        ['x-forwarded-method', 'GET'],
      ])
      t.equal(answer.status, 400)
      t.equal(seen.length, before, 'upstream not reached')
    })

    t.test('the metadata document is served through nginx', async (t) => {
      const answer = await get(METADATA_PATH)
      t.equal(answer.status, 200)
      t.same(JSON.parse(answer.body), {
        resource: RESOURCE,
        authorization_servers: [ISSUER],
        bearer_methods_supported: ['header'],
      })
    })

    t.test(
      'DPoP through nginx: the server nonce reaches the client, then the proof passes',
      async (t) => {
        const bound = await mint({ cnf: { jkt: CLIENT_JKT } })
        const htu = 'https://api.example.com/dpop/mcp'
        const dpopGet = async (claims: Record<string, unknown> = {}, proof?: string) =>
          get('/dpop/mcp?page=1', [
            ['authorization', `DPoP ${bound}`],
            ['dpop', proof ?? (await dpopProof('GET', htu, bound, undefined, claims))],
          ])
        const before = seen.length
        const first = await dpopGet()
        t.equal(first.status, 401)
        t.match(first.headers['www-authenticate'], /DPoP error="use_dpop_nonce"/)
        const nonce = first.headers['dpop-nonce']
        t.type(nonce, 'string', 'nginx passes DPoP-Nonce on')
        t.equal(seen.length, before, 'upstream not reached')

        const proof = await dpopProof('GET', htu, bound, undefined, { nonce })
        const ok = await dpopGet({}, proof)
        t.equal(ok.status, 200)
        t.equal(seen.at(-1)?.['x-bearer-subject'], 'test-user')
        const replay = await dpopGet({}, proof)
        t.equal(replay.status, 401)
        t.match(replay.headers['www-authenticate'], /DPoP error="invalid_dpop_proof"/)
        const forged = await dpopGet({ nonce: `${String(nonce)}x` })
        t.equal(forged.status, 401)
        const stolen = await get('/dpop/mcp', [['authorization', `Bearer ${bound}`]])
        t.equal(stolen.status, 401)
        t.match(stolen.headers['www-authenticate'], /^Bearer error="invalid_token"/)
        t.equal(seen.length, before + 1, 'only the request with its proof reached the upstream')
      },
    )

    t.test('the forward-auth server down: 503, not 500, upstream not reached', async (t) => {
      authServer.closeAllConnections()
      await new Promise<void>((resolve) => authServer.close(() => resolve()))
      const before = seen.length
      const answer = await get('/mcp', [bearer('user-token'), ['x-bearer-subject', 'alice']])
      t.equal(answer.status, 503)
      t.equal(seen.length, before, 'upstream not reached')
    })
  })
}
