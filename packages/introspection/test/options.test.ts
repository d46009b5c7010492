import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { createIntrospectionVerifier, type IntrospectionVerifierOptions } from '../src/index.js'
import nock from 'nock'
import { activeAnswer, baseOptions, newToken } from './fixtures/common.js'
import { useNock } from './fixtures/net.js'

const rsaSmall = generateKeyPairSync('rsa', { modulusLength: 1024 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
const x25519 = generateKeyPairSync('x25519')

/** Options that must throw a TypeError naming `option`. */
const mistakes: Array<[string, Record<string, unknown>, string]> = [
  ['options not an object', { __replace: null }, 'options'],
  [
    'no endpoint and no issuer',
    { introspectionUrl: undefined, issuer: undefined },
    'options.introspectionUrl',
  ],
  [
    'http endpoint off loopback',
    { introspectionUrl: 'http://as.example.com/i' },
    'options.introspectionUrl',
  ],
  [
    'endpoint with credentials',
    { introspectionUrl: 'https://u:p@as.example.com/i' },
    'options.introspectionUrl',
  ],
  ['issuer not a URL', { issuer: 'as.example.com' }, 'options.issuer'],
  ['audience missing', { audience: undefined }, 'options.audience'],
  ['audience empty string', { audience: '' }, 'options.audience'],
  ['audience empty array', { audience: [] }, 'options.audience'],
  ['audience with a non-string', { audience: ['a', 1] }, 'options.audience'],
  ['unknown auth method', { clientAuthMethod: 'client_secret_jwt' }, 'options.clientAuthMethod'],
  ['basic without id', { clientId: undefined }, 'options.clientId'],
  ['basic without secret', { clientSecret: undefined }, 'options.clientSecret'],
  [
    'post with empty secret',
    { clientAuthMethod: 'client_secret_post', clientSecret: '' },
    'options.clientSecret',
  ],
  ['privateKey with basic', { privateKey: ec.privateKey }, 'options.privateKey'],
  ['privateKeyAlg with basic', { privateKeyAlg: 'ES256' }, 'options.privateKeyAlg'],
  ['secret with none', { clientAuthMethod: 'none' }, 'options.clientSecret'],
  [
    'secret with private_key_jwt',
    { clientAuthMethod: 'private_key_jwt', privateKey: ec.privateKey },
    'options.clientSecret',
  ],
  [
    'none with an empty client id',
    { clientAuthMethod: 'none', clientSecret: undefined, clientId: '' },
    'options.clientId',
  ],
  [
    'private_key_jwt without a key',
    { clientAuthMethod: 'private_key_jwt', clientSecret: undefined },
    'options.privateKey',
  ],
  ...(
    [
      ['a public key', ec.publicKey],
      ['a public JWK', ec.publicKey.export({ format: 'jwk' })],
      ['a broken JWK', { kty: 'EC', crv: 'P-256', d: 'AA', x: 'AA', y: 'AA' }],
      ['a symmetric JWK', { kty: 'oct', k: 'c2VjcmV0', d: 'x' }],
      ['not PEM', 'not a key'],
      ['a number', 42],
      ['an RSA key under 2048 bits', rsaSmall.privateKey],
      ['a secp256k1 key', secp256k1.privateKey],
      ['an X25519 key', x25519.privateKey],
      ['an RSA-PSS-only key', generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey],
    ] as Array<[string, unknown]>
  ).map(([label, privateKey]): [string, Record<string, unknown>, string] => [
    `private_key_jwt with ${label}`,
    { clientAuthMethod: 'private_key_jwt', clientSecret: undefined, privateKey },
    'options.privateKey',
  ]),
  [
    'private_key_jwt with an alg the key cannot make',
    {
      clientAuthMethod: 'private_key_jwt',
      clientSecret: undefined,
      privateKey: ec.privateKey,
      privateKeyAlg: 'RS256',
    },
    'options.privateKeyAlg',
  ],
  [
    'private_key_jwt with a JWK alg the key cannot make',
    {
      clientAuthMethod: 'private_key_jwt',
      clientSecret: undefined,
      privateKey: { ...ec.privateKey.export({ format: 'jwk' }), alg: 'ES384' },
    },
    'options.privateKey.alg',
  ],
  [
    'private_key_jwt with an empty kid',
    {
      clientAuthMethod: 'private_key_jwt',
      clientSecret: undefined,
      privateKey: { ...ec.privateKey.export({ format: 'jwk' }), kid: '' },
    },
    'options.privateKey.kid',
  ],
  ['requiredScopes not an array', { requiredScopes: 'read' }, 'options.requiredScopes'],
  ['requiredScopes with a space', { requiredScopes: ['read write'] }, 'options.requiredScopes'],
  ['claims mapping broken', { claims: { clientId: [] } }, 'options.claims.clientId'],
  ['timeout zero', { timeout: 0 }, 'options.timeout'],
  ['timeout not a number', { timeout: '5000' }, 'options.timeout'],
  ['retries negative', { retries: -1 }, 'options.retries'],
  ['retries unbounded', { retries: 6 }, 'options.retries'],
  ['retries fractional', { retries: 1.5 }, 'options.retries'],
  ['maxResponseBytes zero', { maxResponseBytes: 0 }, 'options.maxResponseBytes'],
  ['cache not an object', { cache: true }, 'options.cache'],
  ['cache.max zero', { cache: { max: 0 } }, 'options.cache.max'],
  ['cache.ttl negative', { cache: { ttl: -1 } }, 'options.cache.ttl'],
  ['cache.ttl infinite', { cache: { ttl: Infinity } }, 'options.cache.ttl'],
  ['cache.negativeTtl a string', { cache: { negativeTtl: '5' } }, 'options.cache.negativeTtl'],
  ['now not a function', { now: 5 }, 'options.now'],
  ['fetch not a function', { fetch: 'fetch' }, 'options.fetch'],
  ['jwtResponse a string', { jwtResponse: 'yes' }, 'options.jwtResponse'],
  ['jwtResponse without issuer', { jwtResponse: true, issuer: undefined }, 'options.issuer'],
  [
    'jwtResponse without client id',
    { jwtResponse: true, clientAuthMethod: 'none', clientId: undefined, clientSecret: undefined },
    'options.clientId',
  ],
  [
    'jwtResponse with key and jwksUri',
    { jwtResponse: { key: ec.publicKey, jwksUri: 'https://as.example.com/jwks' } },
    'options.jwtResponse',
  ],
  [
    'jwtResponse with an http jwksUri',
    { jwtResponse: { jwksUri: 'http://as.example.com/jwks' } },
    'options.jwtResponse.jwksUri',
  ],
  ['jwtResponse with a broken key', { jwtResponse: { key: 'nope' } }, 'options.jwtResponse.key'],
  ['jwtResponse with a number key', { jwtResponse: { key: 1 } }, 'options.jwtResponse.key'],
  [
    'jwtResponse with an X25519 key',
    { jwtResponse: { key: x25519.publicKey } },
    'options.jwtResponse.key',
  ],
  [
    'jwtResponse with an RSA-PSS-only key',
    { jwtResponse: { key: generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey } },
    'options.jwtResponse.key',
  ],
  [
    'jwtResponse with alg none',
    { jwtResponse: { algorithms: ['none'] } },
    'options.jwtResponse.algorithms',
  ],
  [
    'jwtResponse with HS256',
    { jwtResponse: { algorithms: ['HS256'] } },
    'options.jwtResponse.algorithms',
  ],
  [
    'jwtResponse with no algorithms',
    { jwtResponse: { algorithms: [] } },
    'options.jwtResponse.algorithms',
  ],
  ['jwtResponse maxAge negative', { jwtResponse: { maxAge: -1 } }, 'options.jwtResponse.maxAge'],
  [
    'jwtResponse clockTolerance NaN',
    { jwtResponse: { clockTolerance: NaN } },
    'options.jwtResponse.clockTolerance',
  ],
]

for (const [label, change, option] of mistakes) {
  t.test(`config mistake: ${label}`, async (t) => {
    const options = '__replace' in change ? change.__replace : { ...baseOptions(), ...change }
    let thrown: unknown
    try {
      createIntrospectionVerifier(options as IntrospectionVerifierOptions)
    } catch (error) {
      thrown = error
    }
    t.type(thrown, TypeError)
    t.match(thrown, { code: 'ERR_INVALID_ARG_VALUE' })
    t.equal((thrown as Error).message.split(' ')[0], option, `names ${option}`)
  })
}

t.test('valid configurations construct without any request', async (t) => {
  const valid: Array<Partial<IntrospectionVerifierOptions>> = [
    {},
    { audience: null },
    { audience: ['a', 'b'] },
    { introspectionUrl: 'http://127.0.0.1:8080/introspect' },
    { introspectionUrl: undefined },
    { clientAuthMethod: 'none', clientSecret: undefined, clientId: undefined },
    {
      clientAuthMethod: 'private_key_jwt',
      clientSecret: undefined,
      privateKey: ec.privateKey,
      privateKeyAlg: 'ES256',
    },
    { cache: false },
    { cache: { max: 1, ttl: 0, negativeTtl: 0 } },
    { retries: 0, timeout: 1, maxResponseBytes: 1 },
    { requiredScopes: ['read', 'read'] },
    { jwtResponse: false },
    {
      jwtResponse: {
        key: ec.publicKey.export({ format: 'jwk' }),
        algorithms: ['ES256'],
        maxAge: 0,
        clockTolerance: 0,
      },
    },
  ]
  for (const change of valid) {
    const verifier = createIntrospectionVerifier(baseOptions(change))
    t.equal(typeof verifier.verifyToken, 'function')
    t.equal(verifier.size, 0)
    await verifier.close()
  }
})

t.test('defaults: the real clock and the global fetch', async (t) => {
  useNock(t)
  const seconds = Math.floor(Date.now() / 1000)
  nock('https://as.example.com')
    .post('/oauth/introspect')
    .reply(200, activeAnswer({ exp: seconds + 600 }))
    .post('/oauth/introspect')
    .reply(200, activeAnswer({ exp: seconds - 600 }))
  const options: IntrospectionVerifierOptions = { ...baseOptions() }
  delete options.now
  delete options.retries
  const verifier = createIntrospectionVerifier(options)
  t.ok(await verifier.verifyToken(newToken()), 'exp is judged by Date.now')
  t.equal(await verifier.verifyToken(newToken()), null)
})

t.test('Unknown options refused everywhere: introspection names the nearest', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    // It used to fall back to discovery from issuer, silently.
    [
      { introspectionUrl: undefined, introspectionEndpoint: 'https://as.example.com/i' },
      /^options\.introspectionEndpoint .*did you mean `introspectionUrl`/,
    ],
    [{ requiredScope: ['read'] }, /^options\.requiredScope .*did you mean `requiredScopes`/],
    [{ audiences: ['a'] }, /^options\.audiences .*did you mean `audience`/],
    [{ cache: { tll: 5 } }, /^options\.cache\.tll .*did you mean `ttl`/],
    [{ jwtResponse: { maxage: 5 } }, /^options\.jwtResponse\.maxage .*did you mean `maxAge`/],
    [{ jwtResponse: { jwks_uri: 'https://x' } }, /^options\.jwtResponse\.jwks_uri .*`jwksUri`/],
    [{ somethingElse: 1 }, /^options\.somethingElse is not a known option; known options: /],
    [{ jwtResponse: { replayStore: {} } }, /^options\.jwtResponse\.replayStore must be a Replay/],
  ]
  for (const [extra, message] of cases) {
    t.throws(() => createIntrospectionVerifier(baseOptions(extra)), {
      code: 'ERR_INVALID_ARG_VALUE',
      message,
    })
  }
  t.throws(() => createIntrospectionVerifier(Promise.resolve(baseOptions()) as never), {
    message: /^options is a Promise: did you forget `await`/,
  })
  t.throws(() => createIntrospectionVerifier(undefined as never), { message: /^options must be/ })
})
