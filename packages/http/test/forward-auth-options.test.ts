import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Refusal, defineVerifier } from '@bearerkit/core'
import t, { type Test } from 'tap'
import {
  DEFAULT_TRUSTED_PROXIES,
  createForwardAuthHandler,
  createForwardAuthServer,
  type ForwardAuthOptions,
} from '../src/index.js'
import { resolveProxyTrust } from '../src/forward-auth-trust.js'
import {
  METADATA_PATH,
  TOKENS,
  accessToken,
  conformanceOptions,
  sendOverHttp,
} from './fixtures/conformance.js'

async function start(t: Test, options: ForwardAuthOptions): Promise<number> {
  const server = createForwardAuthServer(options)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

const bearer = (token: string): [string, string] => ['authorization', `Bearer ${token}`]
const code = { code: 'ERR_INVALID_ARG_VALUE' }

t.test('options are checked up front, naming the option', async (t) => {
  const base = conformanceOptions()
  const bad = (options: unknown, message: RegExp): void => {
    t.throws(() => createForwardAuthHandler(options as ForwardAuthOptions), { ...code, message })
  }
  bad(null, /^options /)
  bad([], /^options /)
  bad({ ...base, requiredScope: ['x'] }, /options\.requiredScope is not a known option/)
  bad({ ...base, trustedProxies: '127.0.0.1' }, /options\.trustedProxies must be an array/)
  bad({ ...base, trustedProxies: [1] }, /options\.trustedProxies\[0\] must be a string/)
  bad({ ...base, trustedProxies: ['localhost'] }, /options\.trustedProxies\[0\] must be an IPv4/)
  bad({ ...base, trustedProxies: ['10.0.0.0/33'] }, /trustedProxies\[0\]/)
  bad({ ...base, trustedProxies: ['10.0.0.0/x'] }, /trustedProxies\[0\]/)
  bad({ ...base, trustedProxies: ['10.0.0.0/8/8'] }, /trustedProxies\[0\]/)
  bad({ ...base, trustedProxies: ['::1/129'] }, /trustedProxies\[0\]/)
  bad({ ...base, identityHeaders: 'x' }, /options\.identityHeaders must be an object/)
  bad({ ...base, identityHeaders: { subjects: 'x' } }, /identityHeaders\.subjects is not a known/)
  bad({ ...base, identityHeaders: { subject: 'bad name' } }, /identityHeaders\.subject must be/)
  bad({ ...base, identityHeaders: { subject: 'X-Bearer-Client-Id' } }, /used once/)
  bad({ ...base, identityHeaders: { subject: true } }, /identityHeaders\.subject/)
  bad({ ...base, pathPrefix: 'ext' }, /options\.pathPrefix must be a path/)
  bad({ ...base, pathPrefix: 5 }, /options\.pathPrefix/)
  bad({ ...base, formBodyLimit: -1 }, /options\.formBodyLimit/)
  bad({ ...base, formBodyLimit: 1.5 }, /options\.formBodyLimit/)
  t.equal(typeof createForwardAuthHandler(base).gate.authenticate, 'function', 'gate exposed')
})

t.test('trusted proxies: addresses, ranges, IPv4-mapped IPv6, default loopback', async (t) => {
  t.same(DEFAULT_TRUSTED_PROXIES, ['127.0.0.0/8', '::1'])
  const loopback = resolveProxyTrust(undefined)
  t.equal(loopback('127.0.0.1'), true)
  t.equal(loopback('127.1.2.3'), true)
  t.equal(loopback('::1'), true)
  t.equal(loopback('::ffff:127.0.0.1'), true, 'dual-stack socket, IPv4 peer')
  t.equal(loopback('10.0.0.1'), false)
  t.equal(loopback('::ffff:10.0.0.1'), false)
  t.equal(loopback('2001:db8::1'), false)
  t.equal(loopback(undefined), false, 'a socket without an address is not trusted')
  const list = resolveProxyTrust(['10.0.0.0/8', '2001:db8::/32', '192.168.1.7'])
  t.equal(list('10.200.0.1'), true)
  t.equal(list('2001:db8::5'), true)
  t.equal(list('192.168.1.7'), true)
  t.equal(list('192.168.1.8'), false)
  t.equal(list('127.0.0.1'), false, 'loopback is not added to an explicit list')
  // Answers are remembered per address: the same answer every time, past the memo's bound too.
  for (let round = 0; round < 3; round++) {
    t.equal(list('10.200.0.1'), true)
    t.equal(list('192.168.1.8'), false)
    t.equal(list('::ffff:10.0.0.1'), true)
  }
  for (let i = 0; i < 3000; i++) {
    if (list(`10.1.${i >> 8}.${i & 255}`) !== true || list(`11.1.${i >> 8}.${i & 255}`) !== false) {
      t.fail(`address ${i}`)
      break
    }
  }
  t.equal(list('192.168.1.7'), true)
  t.equal(list('192.168.1.8'), false)
})

t.test('from an untrusted address the forwarded headers are ignored', async (t) => {
  const port = await start(t, { ...conformanceOptions(), trustedProxies: ['10.9.9.9'] })
  // X-Original-URI would have been refused (token in the query); it is not believed.
  const answer = await sendOverHttp(port, {
    method: 'GET',
    path: '/mcp',
    headers: [
      bearer(TOKENS.good),
      ['x-original-uri', '/mcp?access_token=x'],
      ['x-original-method', 'DELETE'],
    ],
  })
  t.equal(answer.status, 200)
  t.equal(answer.headers['x-bearer-client-id'], 'client-1')
  // The auth URL's own scope is not read either: only a trusted proxy configures it.
  const scoped = await sendOverHttp(port, {
    method: 'GET',
    path: '/mcp?scope=admin',
    headers: [bearer(TOKENS.good), ['x-original-uri', '/mcp']],
  })
  t.equal(scoped.status, 200)
  const metadata = await sendOverHttp(port, { method: 'GET', path: METADATA_PATH, headers: [] })
  t.equal(metadata.status, 200, 'the metadata document is public')
})

t.test('a forwarded request for the metadata path is authenticated like any', async (t) => {
  const port = await start(t, conformanceOptions())
  const answer = await sendOverHttp(port, {
    method: 'GET',
    path: '/auth',
    headers: [['x-original-uri', METADATA_PATH]],
  })
  t.equal(answer.status, 401)
})

t.test('malformed forwarded requests are 400 invalid_request', async (t) => {
  const port = await start(t, conformanceOptions())
  const cases: [string, string, [string, string][]][] = [
    ['a method that is not a token', '/auth', [['x-original-method', 'GET /x']]],
    ['a URI that is not origin-form', '/auth', [['x-original-uri', 'http://evil/mcp']]],
    ['a URI with a space', '/auth', [['x-forwarded-uri', '/mcp x']]],
    [
      'a repeated X-Original-URI',
      '/auth',
      [
        ['x-original-uri', '/public'],
        ['x-original-uri', '/mcp'],
      ],
    ],
    [
      'nginx and Traefik headers that disagree',
      '/auth',
      [
        ['x-original-uri', '/mcp'],
        ['x-forwarded-uri', '/mcp?access_token=x'],
      ],
    ],
    [
      'a scope in the auth URL that is not a scope token',
      '/auth?scope=a%22b',
      [['x-original-uri', '/mcp']],
    ],
  ]
  for (const [name, path, headers] of cases) {
    const answer = await sendOverHttp(port, {
      method: 'GET',
      path,
      headers: [bearer(TOKENS.good), ...headers],
    })
    t.equal(answer.status, 400, name)
    t.match(
      answer.headers['www-authenticate'],
      /^Bearer realm="api", error="invalid_request", error_description="The forwarded request is malformed"/,
      name,
    )
  }
  const agree = await sendOverHttp(port, {
    method: 'GET',
    path: '/auth',
    headers: [
      bearer(TOKENS.good),
      ['x-original-uri', '/mcp'],
      ['x-forwarded-uri', '/mcp'],
      ['x-original-method', 'GET'],
      ['x-forwarded-method', 'GET'],
    ],
  })
  t.equal(agree.status, 200, 'both families agreeing is fine')
})

t.test('Traefik: only the method forwarded, proto and host make the URL absolute', async (t) => {
  const port = await start(t, conformanceOptions())
  const head = await sendOverHttp(port, {
    method: 'GET',
    path: '/verify',
    headers: [['x-forwarded-method', 'HEAD']],
  })
  t.equal(head.status, 401)
  t.equal(head.body, '', 'HEAD: no body')
  const absolute = await sendOverHttp(port, {
    method: 'GET',
    path: '/verify',
    headers: [
      bearer(TOKENS.good),
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'api.example.com'],
      ['x-forwarded-uri', '/mcp?access_token=x'],
    ],
  })
  t.equal(absolute.status, 400, 'the query is still seen')
  const badHost = await sendOverHttp(port, {
    method: 'GET',
    path: '/verify',
    headers: [
      bearer(TOKENS.good),
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'a b'],
      ['x-forwarded-uri', '/mcp'],
    ],
  })
  t.equal(badHost.status, 200, 'a host that cannot be used is left out, the path decides')
})

t.test('Envoy: pathPrefix is removed from the request itself', async (t) => {
  const port = await start(t, { ...conformanceOptions(), pathPrefix: '/ext_authz' })
  const query = await sendOverHttp(port, {
    method: 'POST',
    path: '/ext_authz/mcp?access_token=x',
    headers: [bearer(TOKENS.good)],
  })
  t.equal(query.status, 400)
  const metadata = await sendOverHttp(port, {
    method: 'GET',
    path: `/ext_authz${METADATA_PATH}`,
    headers: [],
  })
  t.equal(metadata.status, 200)
  const root = await sendOverHttp(port, { method: 'GET', path: '/ext_authz', headers: [] })
  t.equal(root.status, 401)
  const glued = await sendOverHttp(port, {
    method: 'GET',
    path: '/ext_authzmcp',
    headers: [bearer(TOKENS.good)],
  })
  t.equal(glued.status, 200)
})

t.test(
  'identity headers: custom names, left out, and values that cannot be passed on',
  async (t) => {
    const tokens: Record<string, ReturnType<typeof accessToken>> = {
      plain: accessToken('plain'),
      newline: accessToken('newline', { subject: 'alice\r\nx-bearer-subject: admin' }),
      unicode: accessToken('unicode', { subject: 'ålice' }),
      padded: accessToken('padded', { clientId: ' client' }),
      empty: accessToken('empty', { issuer: '' }),
      typed: accessToken('typed', { subject: 42 as unknown as string }),
    }
    const verifier = defineVerifier(
      'identity',
      (token) => tokens[token] ?? new Refusal('bad_signature', 'unknown'),
    )
    const port = await start(t, {
      verifier,
      identityHeaders: { clientId: 'X-Client', issuer: false },
    })
    const ask = (token: string) =>
      sendOverHttp(port, {
        method: 'GET',
        path: '/auth',
        headers: [bearer(token), ['x-original-uri', '/']],
      })
    const plain = await ask('plain')
    t.equal(plain.status, 200)
    t.equal(plain.headers['x-client'], 'client-1')
    t.equal(plain.headers['x-bearer-client-id'], undefined)
    t.equal(plain.headers['x-bearer-issuer'], undefined, 'issuer left out')
    t.equal(plain.headers['x-bearer-subject'], 'alice')
    for (const name of ['newline', 'unicode', 'padded', 'typed']) {
      const answer = await ask(name)
      t.equal(answer.status, 400, `${name}: refused, not rewritten`)
      t.match(answer.body, /cannot be passed on/)
    }
    const empty = await ask('empty')
    t.equal(empty.status, 200, 'an empty value is an absent one')
  },
)

t.test('form bodies: read when forwarded, bounded', async (t) => {
  const port = await start(t, { ...conformanceOptions(), formBodyLimit: 16 })
  const form: [string, string] = ['content-type', 'application/x-www-form-urlencoded']
  const declared = await sendOverHttp(port, {
    method: 'POST',
    path: '/auth',
    headers: [form, bearer(TOKENS.good), ['x-original-uri', '/mcp']],
    body: 'x='.padEnd(40, 'a'),
  })
  t.equal(declared.status, 413)
  t.same(JSON.parse(declared.body), {
    error: 'invalid_request',
    error_description: 'The form body is too large',
  })
  // Chunked: the size is only known while reading.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/auth',
        headers: { 'content-type': form[1], 'x-original-uri': '/mcp' },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('error', reject)
    req.write('x='.padEnd(10, 'a'))
    req.end('&y='.padEnd(20, 'b'))
  })
  t.equal(chunked, 413)
  const empty = await sendOverHttp(port, {
    method: 'POST',
    path: '/auth',
    headers: [form, ['content-length', '0'], ['x-original-uri', '/mcp']],
  })
  t.equal(empty.status, 401, 'no body, no token')
})

t.test('a request whose body fails while being read is dropped, not decided', async (t) => {
  const handler = createForwardAuthHandler(conformanceOptions())
  const { PassThrough } = await import('node:stream')
  const req = Object.assign(new PassThrough(), {
    method: 'POST',
    url: '/auth',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '5' },
    rawHeaders: [],
    socket: { remoteAddress: '127.0.0.1' },
  })
  let written = false
  const destroyed = new Promise<boolean>((resolve) => {
    const res = {
      writeHead: () => {
        written = true
      },
      end: () => undefined,
      destroy: () => resolve(true),
    }
    handler(req as never, res as never)
  })
  req.destroy(new Error('connection reset'))
  t.equal(await destroyed, true)
  t.equal(written, false)
})
