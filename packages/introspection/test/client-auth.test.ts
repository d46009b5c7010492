import { generateKeyPairSync } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import nock from 'nock'
import t from 'tap'
import { createIntrospectionVerifier, type IntrospectionVerifierOptions } from '../src/index.js'
import {
  ENDPOINT,
  ISSUER,
  NOW_S,
  activeAnswer,
  baseOptions,
  createClock,
  newToken,
} from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

const AS = 'https://as.example.com'
const PATH = '/oauth/introspect'

interface Captured {
  body: string
  headers: Record<string, string | string[] | undefined>
}

/** Introspects one token and returns the request exactly as the server received it. */
async function capture(
  options: Partial<IntrospectionVerifierOptions>,
  token = newToken(),
  replies: number[] = [200],
): Promise<Captured[]> {
  const seen: Captured[] = []
  let interceptor = nock(AS)
  for (const status of replies) {
    interceptor = interceptor.post(PATH).reply(function (_uri, body) {
      seen.push({ body: body as string, headers: { ...this.req.headers } })
      return status === 200 ? [200, activeAnswer()] : [status, 'down']
    })
  }
  const verifier = createIntrospectionVerifier(baseOptions({ ...options }))
  await verifier.verifyToken(token)
  return seen
}

t.test(
  'client_secret_basic form-encodes id and secret before base64 (RFC 6749 §2.3.1)',
  async (t) => {
    useNock(t)
    const token = 'abc.DEF-123_~+/=='
    const [request] = await capture(
      { clientId: 'my client:1', clientSecret: 'p@ss word/+=%é' },
      token,
    )
    // computed by hand: ' ' -> '+', ':' -> %3A, '@' -> %40, '/' -> %2F, '+' -> %2B, '=' -> %3D,
    // '%' -> %25, 'é' -> %C3%A9
    const expected = Buffer.from('my+client%3A1:p%40ss+word%2F%2B%3D%25%C3%A9').toString('base64')
    t.equal(request?.headers.authorization, `Basic ${expected}`)
    t.equal(request?.body, 'token=abc.DEF-123_%7E%2B%2F%3D%3D&token_type_hint=access_token')
    t.equal(request?.headers['content-type'], 'application/x-www-form-urlencoded')
    t.equal(request?.headers.accept, 'application/json')
  },
)

t.test('client_secret_basic is the default and plain ids stay readable', async (t) => {
  useNock(t)
  const token = newToken()
  const [request] = await capture({}, token)
  t.equal(
    request?.headers.authorization,
    `Basic ${Buffer.from('resource-server:resource-secret').toString('base64')}`,
  )
  t.equal(request?.body, `token=${token}&token_type_hint=access_token`)
})

t.test('client_secret_post puts id and secret in the body, no Authorization', async (t) => {
  useNock(t)
  const token = newToken()
  const [request] = await capture(
    { clientAuthMethod: 'client_secret_post', clientId: 'rs 1', clientSecret: 's&x=y' },
    token,
  )
  t.equal(
    request?.body,
    `token=${token}&token_type_hint=access_token&client_id=rs+1&client_secret=s%26x%3Dy`,
  )
  t.equal(request?.headers.authorization, undefined)
})

t.test('none sends client_id when given and nothing else', async (t) => {
  useNock(t)
  const token = newToken()
  const [withId] = await capture(
    { clientAuthMethod: 'none', clientId: 'public-rs', clientSecret: undefined },
    token,
  )
  t.equal(withId?.body, `token=${token}&token_type_hint=access_token&client_id=public-rs`)
  t.equal(withId?.headers.authorization, undefined)
  const [bare] = await capture(
    { clientAuthMethod: 'none', clientId: undefined, clientSecret: undefined },
    token,
  )
  t.equal(bare?.body, `token=${token}&token_type_hint=access_token`)
  t.equal(bare?.headers.authorization, undefined)
})

t.test(
  'private_key_jwt sends an RFC 7523 assertion that verifies with the public key',
  async (t) => {
    useNock(t)
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
    const jwk = { ...(await exportJWK(privateKey)), kid: 'rs-key-1' }
    const token = newToken()
    const [first, second] = await capture(
      {
        clientAuthMethod: 'private_key_jwt',
        clientSecret: undefined,
        privateKey: jwk,
        retries: 1,
      },
      token,
      [500, 200],
    )
    const assertions: string[] = []
    for (const request of [first, second]) {
      const params = new URLSearchParams(request?.body)
      t.same(
        [...params.keys()],
        ['token', 'token_type_hint', 'client_id', 'client_assertion_type', 'client_assertion'],
      )
      t.equal(params.get('token'), token)
      t.equal(params.get('client_id'), 'resource-server')
      t.equal(
        params.get('client_assertion_type'),
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      )
      t.equal(request?.headers.authorization, undefined)
      const assertion = params.get('client_assertion') as string
      assertions.push(assertion)
      t.same(decodeProtectedHeader(assertion), { alg: 'RS256', kid: 'rs-key-1' })
      const { payload } = await jwtVerify(assertion, publicKey, {
        issuer: 'resource-server',
        subject: 'resource-server',
        audience: ISSUER,
        currentDate: new Date(NOW_S * 1000),
        algorithms: ['RS256'],
      })
      t.equal(payload.iat, NOW_S)
      t.equal(payload.exp, NOW_S + 60, 'short-lived')
      t.match(payload.jti, /^[0-9a-f-]{36}$/)
    }
    const jti = (a: string) => decodeJwt(a).jti
    t.not(jti(assertions[0] as string), jti(assertions[1] as string), 'a retry carries a new jti')
  },
)

t.test('private_key_jwt: aud is the endpoint when no issuer is configured', async (t) => {
  useNock(t)
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const [request] = await capture({
    issuer: undefined,
    clientAuthMethod: 'private_key_jwt',
    clientSecret: undefined,
    privateKey,
  })
  const assertion = new URLSearchParams(request?.body).get('client_assertion') as string
  t.same(decodeProtectedHeader(assertion), { alg: 'ES256' }, 'alg from the curve, no kid')
  const { payload } = await jwtVerify(assertion, publicKey, {
    audience: ENDPOINT,
    currentDate: new Date(NOW_S * 1000),
  })
  t.equal(payload.aud, ENDPOINT)
})

t.test('private_key_jwt with a PEM Ed25519 key and with an explicit alg', async (t) => {
  useNock(t)
  const ed = generateKeyPairSync('ed25519')
  const pem = ed.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
  const [edRequest] = await capture({
    clientAuthMethod: 'private_key_jwt',
    clientSecret: undefined,
    privateKey: pem,
  })
  const edAssertion = new URLSearchParams(edRequest?.body).get('client_assertion') as string
  t.equal(decodeProtectedHeader(edAssertion).alg, 'EdDSA')
  await jwtVerify(edAssertion, ed.publicKey, { currentDate: new Date(NOW_S * 1000) })

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const [psRequest] = await capture({
    clientAuthMethod: 'private_key_jwt',
    clientSecret: undefined,
    privateKey: rsa.privateKey,
    privateKeyAlg: 'PS384',
  })
  const psAssertion = new URLSearchParams(psRequest?.body).get('client_assertion') as string
  t.equal(decodeProtectedHeader(psAssertion).alg, 'PS384')
  await jwtVerify(psAssertion, rsa.publicKey, {
    currentDate: new Date(NOW_S * 1000),
    algorithms: ['PS384'],
  })
})

t.test('the assertion follows the injected clock', async (t) => {
  useNock(t)
  const clock = createClock()
  clock.advance(1000)
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const [request] = await capture({
    clientAuthMethod: 'private_key_jwt',
    clientSecret: undefined,
    privateKey,
    now: clock,
  })
  const assertion = new URLSearchParams(request?.body).get('client_assertion') as string
  const payload = JSON.parse(
    Buffer.from(assertion.split('.')[1] as string, 'base64url').toString(),
  ) as Record<string, number>
  t.equal(payload.iat, NOW_S + 1000)
  t.equal(decodeProtectedHeader(assertion).alg, 'ES384')
})
