import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { InsufficientScopeError } from '@bearerkit/core'
import express, { type Express, type Request, type Response } from 'express'
import t, { type Test } from 'tap'
import {
  METADATA_PATH,
  RESOURCE,
  ISSUER,
  TOKENS,
  conformanceOptions,
  sendOverHttp,
} from '../../http/test/fixtures/conformance.js'
import { bearerAuth, protectedResourceMetadata, requireScopes } from '../src/index.js'

async function listen(t: Test, app: Express): Promise<number> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

const bearer = (token: string): [string, string] => ['authorization', `Bearer ${token}`]
const FORM: [string, string] = ['content-type', 'application/x-www-form-urlencoded']
const code = { code: 'ERR_INVALID_ARG_VALUE' }

t.test('options are checked up front', async (t) => {
  t.throws(() => bearerAuth(null as never), { ...code, message: /^options / })
  t.throws(() => bearerAuth([] as never), { ...code, message: /^options / })
  const base = conformanceOptions()
  t.throws(() => bearerAuth({ ...base, formBodyLimit: -1 }), { ...code, message: /formBodyLimit/ })
  t.throws(() => bearerAuth({ ...base, formBodyLimit: 0.5 }), { ...code, message: /formBodyLimit/ })
  t.throws(() => bearerAuth({ ...base, requiredScope: ['x'] } as never), {
    ...code,
    message: /options\.requiredScope is not a known option/,
  })
  const auth = bearerAuth(base)
  t.throws(() => auth.require(['two words']), { ...code, message: /^scopes / })
  t.throws(() => auth.require('admin' as never), { ...code, message: /^scopes / })
  t.ok(Object.isFrozen(auth), 'the middleware is frozen')
})

t.test('route-only use: require() authenticates with the route scopes', async (t) => {
  const auth = bearerAuth(conformanceOptions())
  const app = express()
  app.use(auth.metadata)
  app.get('/admin', auth.require(['admin']), (req, res) => {
    res.json({ client: req.accessToken?.clientId, principal: req.principal })
  })
  app.get('/open', auth.require([]), (req, res) => {
    res.json({ client: req.accessToken?.clientId })
  })
  app.get('/public', (req, res) => {
    res.json({ token: req.accessToken ?? null })
  })
  const port = await listen(t, app)
  const admin = await sendOverHttp(port, {
    method: 'GET',
    path: '/admin',
    headers: [bearer(TOKENS.admin)],
  })
  t.equal(admin.status, 200)
  t.same(JSON.parse(admin.body), { client: 'client-1', principal: ['client-1', ISSUER, 'alice'] })
  const lacking = await sendOverHttp(port, {
    method: 'GET',
    path: '/admin',
    headers: [bearer(TOKENS.good)],
  })
  t.equal(lacking.status, 403)
  t.match(lacking.headers['www-authenticate'], /scope="read admin"/)
  const open = await sendOverHttp(port, {
    method: 'GET',
    path: '/open',
    headers: [bearer(TOKENS.good)],
  })
  t.equal(open.status, 200)
  const metadata = await sendOverHttp(port, { method: 'GET', path: METADATA_PATH, headers: [] })
  t.equal(metadata.status, 200)
  t.equal((JSON.parse(metadata.body) as { resource: string }).resource, RESOURCE)
  const open2 = await sendOverHttp(port, { method: 'GET', path: '/public', headers: [] })
  t.same(JSON.parse(open2.body), { token: null }, 'metadata passes other requests on')
})

t.test('app.use(auth) then require(): the token is verified once', async (t) => {
  let calls = 0
  const options = conformanceOptions()
  const verifier = options.verifier
  const auth = bearerAuth({
    ...options,
    verifier: {
      verifyToken: (token, opts) => {
        calls++
        return verifier.verifyToken(token, opts)
      },
    },
  })
  const app = express()
  app.use(auth)
  app.get('/admin', auth.require(['admin']), (_req, res) => {
    res.json({ ok: true })
  })
  app.get('/plain', auth.require([]), (_req, res) => {
    res.json({ ok: true })
  })
  const port = await listen(t, app)
  t.equal(
    (await sendOverHttp(port, { method: 'GET', path: '/admin', headers: [bearer(TOKENS.admin)] }))
      .status,
    200,
  )
  t.equal(calls, 1)
  t.equal(
    (await sendOverHttp(port, { method: 'GET', path: '/admin', headers: [bearer(TOKENS.good)] }))
      .status,
    403,
  )
  t.equal(
    (await sendOverHttp(port, { method: 'GET', path: '/plain', headers: [bearer(TOKENS.good)] }))
      .status,
    200,
  )
  // Another gate's acceptance does not count for this one.
  const other = bearerAuth(conformanceOptions())
  const app2 = express()
  app2.use(other)
  app2.get('/admin', auth.require(['admin']), (_req, res) => {
    res.json({ ok: true })
  })
  const port2 = await listen(t, app2)
  calls = 0
  t.equal(
    (await sendOverHttp(port2, { method: 'GET', path: '/admin', headers: [bearer(TOKENS.admin)] }))
      .status,
    200,
  )
  t.equal(calls, 1, 'this gate verified it itself')
})

t.test('mounted under a prefix: the URL the client sent is what counts', async (t) => {
  const app = express()
  app.use('/api', bearerAuth(conformanceOptions()))
  app.get('/api/x', (_req, res) => {
    res.json({ ok: true })
  })
  const port = await listen(t, app)
  const answer = await sendOverHttp(port, {
    method: 'GET',
    path: '/api/x?access_token=sEcReT.good',
    headers: [bearer(TOKENS.good)],
  })
  t.equal(answer.status, 400)
})

t.test('errorHandler renders a BearerError thrown by a handler', async (t) => {
  const auth = bearerAuth(conformanceOptions())
  const app = express()
  app.set('env', 'test') // Express logs errors it renders outside the test env
  app.use(auth)
  app.get('/step-up', () => {
    throw new InsufficientScopeError(['read', 'files:delete'])
  })
  app.get('/boom', () => {
    throw new Error('not ours')
  })
  app.use(auth.errorHandler)
  const port = await listen(t, app)
  const answer = await sendOverHttp(port, {
    method: 'GET',
    path: '/step-up',
    headers: [bearer(TOKENS.good)],
  })
  t.equal(answer.status, 403)
  t.equal(
    answer.headers['www-authenticate'],
    'Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope", scope="read files:delete", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"',
  )
  const boom = await sendOverHttp(port, {
    method: 'GET',
    path: '/boom',
    headers: [bearer(TOKENS.good)],
  })
  t.equal(boom.status, 500, 'other errors go on to Express')
  let passed: unknown
  auth.errorHandler(
    new InsufficientScopeError(['x']),
    {} as never,
    { headersSent: true } as never,
    (error: unknown) => {
      passed = error
    },
  )
  t.type(passed, InsufficientScopeError, 'after headers were sent it can only pass the error on')
})

t.test('requireScopes inside a handler', async (t) => {
  const auth = bearerAuth(conformanceOptions())
  const app = express()
  app.get('/tool', auth, (req: Request, res: Response) => {
    if (!requireScopes(req, res, [typeof req.query.scope === 'string' ? req.query.scope : '']))
      return
    res.json({ ok: true })
  })
  app.get('/unguarded', (req, res) => {
    try {
      requireScopes(req, res, ['x'])
    } catch (error) {
      res.json({ code: (error as { code: string }).code })
    }
  })
  const port = await listen(t, app)
  t.equal(
    (
      await sendOverHttp(port, {
        method: 'GET',
        path: '/tool?scope=read',
        headers: [bearer(TOKENS.good)],
      })
    ).status,
    200,
  )
  const denied = await sendOverHttp(port, {
    method: 'GET',
    path: '/tool?scope=admin',
    headers: [bearer(TOKENS.good)],
  })
  t.equal(denied.status, 403)
  t.match(denied.headers['www-authenticate'], /scope="read admin"/)
  const unguarded = await sendOverHttp(port, { method: 'GET', path: '/unguarded', headers: [] })
  t.same(JSON.parse(unguarded.body), { code: 'ERR_INVALID_ARG_VALUE' })
})

t.test('protectedResourceMetadata serves only the document', async (t) => {
  const app = express()
  app.use(
    protectedResourceMetadata({
      resource: { url: RESOURCE, authorizationServers: [ISSUER] },
      allowOrigin: false,
    }),
  )
  app.get('/other', (_req, res) => {
    res.json({ other: true })
  })
  const port = await listen(t, app)
  const answer = await sendOverHttp(port, { method: 'GET', path: METADATA_PATH, headers: [] })
  t.equal(answer.status, 200)
  t.equal(answer.headers['access-control-allow-origin'], undefined)
  t.same(
    JSON.parse((await sendOverHttp(port, { method: 'GET', path: '/other', headers: [] })).body),
    { other: true },
  )
})

t.test('form bodies read by the middleware: bounded, then parsed for the app', async (t) => {
  const app = express()
  app.use(bearerAuth({ ...conformanceOptions(), formBodyLimit: 16 }))
  // A parser after the middleware skips the body already read.
  app.use(express.urlencoded({ extended: false }))
  app.post('/mcp', (req, res) => {
    res.json({ body: req.body as unknown })
  })
  const port = await listen(t, app)
  const ok = await sendOverHttp(port, {
    method: 'POST',
    path: '/mcp',
    headers: [FORM, bearer(TOKENS.good)],
    body: 'a=1&b=2',
  })
  t.equal(ok.status, 200)
  t.same(JSON.parse(ok.body), { body: { a: '1', b: '2' } })
  const big = await sendOverHttp(port, {
    method: 'POST',
    path: '/mcp',
    headers: [FORM, bearer(TOKENS.good)],
    body: 'a='.padEnd(40, 'x'),
  })
  t.equal(big.status, 413)
  t.same(JSON.parse(big.body), {
    error: 'invalid_request',
    error_description: 'The form body is too large',
  })
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/mcp',
        headers: { 'content-type': FORM[1], authorization: `Bearer ${TOKENS.good}` },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('error', reject)
    req.write('a='.padEnd(10, 'x'))
    req.end('&b='.padEnd(20, 'y'))
  })
  t.equal(chunked, 413)
  const empty = await sendOverHttp(port, {
    method: 'POST',
    path: '/mcp',
    headers: [FORM, ['content-length', '0'], bearer(TOKENS.good)],
  })
  t.equal(empty.status, 200, 'no body to read')
})

t.test('a form body whose stream fails is answered here, never passed on', async (t) => {
  const auth = bearerAuth(conformanceOptions())
  const { PassThrough } = await import('node:stream')
  const req = Object.assign(new PassThrough(), {
    method: 'POST',
    originalUrl: '/mcp',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '5' },
    rawHeaders: [],
  })
  let passed = false
  const answered = new Promise<{ status: number; headers: Record<string, string>; body: string }>(
    (resolve) => {
      let status = 0
      let headers: Record<string, string> = {}
      const res = {
        writeHead(code: number, given: Record<string, string>) {
          status = code
          headers = given
        },
        end(body: string) {
          resolve({ status, headers, body })
        },
      }
      auth(req as never, res as never, () => {
        passed = true
        resolve({ status, headers, body: '{}' })
      })
    },
  )
  req.destroy(new Error('connection reset'))
  const answer = await answered
  t.equal(answer.status, 400)
  t.match(answer.headers['www-authenticate'], /^Bearer realm="api", error="invalid_request"/)
  t.same(JSON.parse(answer.body), {
    error: 'invalid_request',
    error_description: 'The form body could not be read',
  })
  t.notMatch(answer.body, /connection reset/, 'the stream error is not quoted')
  t.equal(passed, false, 'next is never called')
})

t.test('a client that aborts its form body reaches no handler', async (t) => {
  // An error handler that logs and calls next() without the error resumes the chain: Express then
  // runs the routes after it. A failure to read the body must not take that way.
  const app = express()
  app.use(bearerAuth(conformanceOptions()))
  let errors = 0
  app.use((_error: unknown, _req: Request, _res: Response, next: () => void) => {
    errors++
    next()
  })
  let ran = 0
  app.post('/mcp', (_req, res) => {
    ran++
    res.json({ ok: true })
  })
  const port = await listen(t, app)
  const { connect } = await import('node:net')
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
          'Content-Length: 100\r\n\r\na=1',
      )
      setTimeout(() => socket.destroy(), 50)
    })
    socket.on('close', () => resolve())
  })
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(ran, 0, 'the route never ran for an unauthenticated request')
  t.equal(errors, 0, 'nothing went to the error path')
})

t.test('a req.body set without reading the stream does not hide a form token', async (t) => {
  const app = express()
  // body-parser 1 (Express 4) leaves req.body = {} on requests it does not parse.
  app.use((req, _res, next) => {
    req.body = {}
    next()
  })
  app.use(bearerAuth(conformanceOptions()))
  app.post('/mcp', (_req, res) => {
    res.json({ ok: true })
  })
  const port = await listen(t, app)
  const answer = await sendOverHttp(port, {
    method: 'POST',
    path: '/mcp',
    headers: [FORM, bearer(TOKENS.good)],
    body: 'access_token=sEcReT.good',
  })
  t.equal(answer.status, 400)
  t.same(JSON.parse(answer.body), {
    error: 'invalid_request',
    error_description: 'The access token must be sent in one place only',
  })
})
