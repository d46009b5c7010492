import { Writable } from 'node:stream'
import { InsufficientScopeError, Refusal, VerifierUnavailableError } from '@bearerkit/core'
import { redactTokenParams } from '@bearerkit/http'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import { bearerAuth, redactRequest, tokenSafeLogging } from '../src/index.js'
import { ISSUER, RESOURCE, accessToken, tableVerifier } from './fixtures/app.js'

const SECRET = {
  valid: 'sEcReT.valid.0123456789',
  expired: 'sEcReT.expired.0123456789',
  down: 'sEcReT.down.0123456789',
  broken: 'sEcReT.broken.0123456789',
  query: 'sEcReT.query.0123456789',
}

function capture(t: Test, safe: boolean): { app: FastifyInstance; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line)
      callback()
    },
  })
  // As the README says: Fastify({ logger: { level, ...tokenSafeLogging } }).
  const app = Fastify({
    logger: safe ? { level: 'trace', stream, ...tokenSafeLogging } : { level: 'trace', stream },
  })
  t.teardown(() => app.close())
  return { app, lines }
}

async function exercise(app: FastifyInstance): Promise<number[]> {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  )
  await app.register(async (api) => {
    await api.register(bearerAuth, {
      verifier: tableVerifier({
        [SECRET.valid]: accessToken(SECRET.valid),
        [SECRET.expired]: new Refusal('expired', 'The access token expired'),
        [SECRET.down]: new VerifierUnavailableError('down', { reason: 'timeout' }),
        [SECRET.broken]: new Error(`cannot parse ${SECRET.broken}`),
      }),
      requiredScopes: ['read'],
      resource: { url: RESOURCE, authorizationServers: [ISSUER] },
    })
    api.all('/data', async () => 'ok')
    api.get('/boom', async () => {
      throw new Error('handler failed')
    })
    api.get('/scope', async () => {
      throw new InsufficientScopeError(['admin'])
    })
    api.get('/public', { config: { bearer: false } }, async () => 'public')
  })
  const statuses: number[] = []
  const send = async (options: InjectOptions): Promise<void> => {
    statuses.push((await app.inject(options)).statusCode)
  }
  const auth = (token: string) => ({ authorization: `Bearer ${token}` })
  await send({ url: '/data', headers: auth(SECRET.valid) })
  await send({ url: '/data', headers: auth(SECRET.expired) })
  await send({ url: '/data', headers: auth(SECRET.down) })
  await send({ url: '/data', headers: auth(SECRET.broken) })
  await send({ url: `/data?access_token=${SECRET.query}` })
  await send({ url: `/data?x=1&access%5Ftoken=${SECRET.query}` })
  await send({ url: `/data?token=${SECRET.query}`, headers: auth(SECRET.valid) })
  await send({ url: `/public?access_token=${SECRET.query}` })
  await send({ url: `/nowhere?access_token=${SECRET.query}` })
  await send({ url: '/boom', headers: auth(SECRET.valid) })
  await send({ url: '/scope', headers: auth(SECRET.valid) })
  await send({
    method: 'POST',
    url: '/data',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `access_token=${SECRET.query}`,
  })
  await send({ url: '/data', headers: { authorization: `Basic ${SECRET.valid}` } })
  await send({ url: '/data', headers: { authorization: `Bearer ${SECRET.valid} x` } })
  return statuses
}

t.test('Tokens in logs', async (t) => {
  t.test('an app set up as the README says logs no token, at trace level', async (t) => {
    const { app, lines } = capture(t, true)
    const statuses = await exercise(app)
    t.same(statuses, [200, 401, 503, 503, 400, 400, 200, 200, 404, 500, 403, 400, 401, 400])
    t.ok(lines.length > 40, `${lines.length} lines`)
    for (const line of lines) t.notMatch(line, 'sEcReT', line)
    const urls = lines
      .map((line) => (JSON.parse(line) as { req?: { url?: string } }).req?.url)
      .filter((url) => url?.includes('redacted'))
    t.ok(urls.includes('/data?access_token=[redacted]'), 'the URL is logged, redacted')
    t.ok(urls.includes('/data?x=1&access%5Ftoken=[redacted]'), 'encoded names too')
    t.ok(
      lines.some((line) => line.includes('Route GET:/nowhere?access_token=[redacted] not found')),
      "Fastify's not-found message is redacted",
    )
  })

  t.test('without it, Fastify itself logs the token (what the redaction is for)', async (t) => {
    const { app, lines } = capture(t, false)
    await exercise(app)
    t.ok(lines.some((line) => line.includes(SECRET.query)))
  })
})

t.test('redactRequest keeps the fields of Fastify’s own serializer', async (t) => {
  const { app, lines } = capture(t, true)
  app.get('/x', { config: { bearer: false } }, async (request) => redactRequest(request))
  const res = await app.inject({
    url: '/x?token=abc&keep=1',
    headers: { 'accept-version': '1.x' },
  })
  t.same(res.json(), {
    method: 'GET',
    url: '/x?token=[redacted]&keep=1',
    version: '1.x',
    host: 'localhost:80',
    remoteAddress: '127.0.0.1',
  })
  t.ok(lines.length > 0)
})

t.test('redactTokenParams', async (t) => {
  t.equal(redactTokenParams('/a'), '/a')
  t.equal(redactTokenParams('/a?b=1'), '/a?b=1')
  t.equal(redactTokenParams('/a?access_token=x&b=1'), '/a?access_token=[redacted]&b=1')
  // The query runs to the end: a raw # is part of it, as for the gate (log-fragment.test.ts).
  t.equal(redactTokenParams('/a?TOKEN=x#frag'), '/a?TOKEN=[redacted]')
  t.equal(redactTokenParams('/a?access+token=x&token'), '/a?access+token=x&token=[redacted]')
  t.equal(redactTokenParams('/a?%zz=1&access_token=%'), '/a?%zz=1&access_token=[redacted]')
})
