// Red-team tests of the synchronous verification path (verifyTokenNow) and of the deadline the
// HTTP gate puts on a verifier's answer: hostile answers, and parity with verifyToken.
import t from 'tap'
import {
  Refusal,
  VerifierUnavailableError,
  createCachedVerifier,
  createVerifier,
  defineVerifier,
  isB64Token,
  raceDeadline,
  verifyTokenNow,
  type AccessToken,
  type TokenVerifier,
  type VerifierConfig,
  type VerifyOptions,
} from '../src/index.js'
import { accessToken } from './fixtures/tokens.js'

// The deadline's sweep never keeps a process alive; this timer does while the tests wait.
const alive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(alive))

const timedOut = (): Error => new VerifierUnavailableError('late', { reason: 'verifier_timeout' })

t.test('raceDeadline: a thenable answering with a thenable that never answers', async (t) => {
  // A custom verifier's answer (not a Promise): it "resolves" with another thenable, which never
  // calls back. The deadline must still fire: nothing waits forever.
  const never = { then: (): void => {} }
  const work = {
    then(resolve: (value: unknown) => void): void {
      resolve(never)
    },
  }
  // Before the fix the race followed the inner thenable and never settled: a hung request.
  const outcome = await Promise.race([
    raceDeadline(work as PromiseLike<unknown>, 150, timedOut).then(
      () => 'resolved',
      (error: unknown) => (error as VerifierUnavailableError).reason,
    ),
    new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2000)),
  ])
  t.equal(outcome, 'verifier_timeout', 'refused once the deadline passes')
})

t.test('raceDeadline: hostile thenables settle once, never hang, never throw', async (t) => {
  const value = accessToken('tok')
  const twice = {
    then(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
      resolve(value)
      resolve(null)
      reject(new Error('late'))
    },
  }
  t.equal(await raceDeadline(twice as PromiseLike<unknown>, 150, timedOut), value, 'first wins')
  const boom = new Error('then threw')
  const throwing = {
    then(): void {
      throw boom
    },
  }
  await t.rejects(raceDeadline(throwing as PromiseLike<unknown>, 150, timedOut), boom)
  const getter = {
    get then(): unknown {
      throw boom
    },
  }
  await t.rejects(raceDeadline(getter as PromiseLike<unknown>, 150, timedOut), boom)
  const nested = {
    then(resolve: (v: unknown) => void): void {
      resolve({
        then(inner: (v: unknown) => void): void {
          inner(value)
        },
      })
    },
  }
  t.equal(
    await raceDeadline(nested as PromiseLike<unknown>, 150, timedOut),
    value,
    'a thenable of a thenable is followed to its value',
  )
})

type Outcome =
  | { kind: 'value'; token: string | null; client?: string }
  | { kind: 'throw'; name: string; message: string }

const describe = (answer: AccessToken | null): Outcome => ({
  kind: 'value',
  token: answer === null ? null : answer.token,
  ...(answer === null ? {} : { client: answer.clientId }),
})
const thrown = (error: unknown): Outcome => ({
  kind: 'throw',
  name: (error as Error).name,
  message: (error as Error).message,
})

async function viaPromise(
  verifier: TokenVerifier,
  token: string,
  options: VerifyOptions,
): Promise<Outcome> {
  try {
    return describe(await verifier.verifyToken(token, options))
  } catch (error) {
    return thrown(error)
  }
}

async function viaNow(
  verifier: TokenVerifier,
  token: string,
  options: VerifyOptions,
): Promise<Outcome> {
  try {
    return describe(await verifyTokenNow(verifier, token, options))
  } catch (error) {
    return thrown(error)
  }
}

// Hostile tokens: grammar edges, non-ASCII, lone surrogates, a key collision candidate, sizes.
const TOKENS = [
  'good',
  'admin',
  'bound',
  'expiring',
  'refused',
  'down',
  'bug',
  'revoked',
  'good ',
  'Good',
  'good=',
  '=good',
  'go\u0000od',
  'go\uD800od',
  'gööd',
  '',
  'a'.repeat(16 * 1024 + 1),
  'a'.repeat(5000),
]

function table(clock: { now: number }): (token: string) => AccessToken | Refusal {
  return (token) => {
    switch (token) {
      case 'good':
        return accessToken(token)
      case 'admin':
        return accessToken(token, { scopes: ['read', 'admin'] })
      case 'bound':
        return accessToken(token, { claims: { cnf: { jkt: 'thumb' } } })
      case 'expiring':
        return accessToken(token, { expiresAt: Math.floor(clock.now / 1000) + 2 })
      case 'revoked':
        return accessToken(token, { claims: { jti: 'gone' } })
      case 'down':
        throw new VerifierUnavailableError('down', { reason: 'network' })
      case 'bug':
        throw new Error('bug')
      default:
        return token.startsWith('a') ? accessToken(token) : new Refusal('rejected', 'no')
    }
  }
}

// Builds one verifier of each kind around its own clock and revocation flag, so that two
// identical instances can be driven the same way, one through each entry point.
async function kinds(): Promise<
  [string, (clock: { now: number }, revoked: Set<string>) => Promise<TokenVerifier>][]
> {
  return [
    ['defineVerifier sync', async (clock) => defineVerifier('sync', table(clock))],
    [
      'defineVerifier async',
      async (clock) => {
        const check = table(clock)
        return defineVerifier('async', async (token) => check(token))
      },
    ],
    [
      'cached, negative ttl, revocations',
      async (clock, revoked) =>
        createCachedVerifier(defineVerifier('inner', table(clock)), {
          now: () => clock.now,
          negativeTtl: 30,
          revocations: {
            isRevoked: (token: AccessToken) => {
              if (token.token === 'down') throw new VerifierUnavailableError('stale', {})
              return revoked.has(token.token)
            },
            revoke: () => {},
            subscribe: () => () => {},
          },
        }),
    ],
    [
      'createVerifier (factory wrappers and cache)',
      async (clock) => {
        const check = table(clock)
        return createVerifier(
          { type: 'jwt', issuer: 'https://as', now: () => clock.now } as VerifierConfig,
          {
            load: async () => ({
              createJwtVerifier: () => defineVerifier('jwt', async (token) => check(token)),
            }),
          },
        )
      },
    ],
  ]
}

t.test('differential: verifyTokenNow answers exactly what verifyToken answers', async (t) => {
  const contexts: (VerifyOptions['senderConstraint'] | undefined)[] = [
    undefined,
    { dpopJkt: 'thumb' },
    { dpopJkt: 'other' },
  ]
  let compared = 0
  for (const [name, build] of await kinds()) {
    const clockA = { now: 1_700_000_000_000 }
    const clockB = { now: 1_700_000_000_000 }
    const revokedA = new Set<string>()
    const revokedB = new Set<string>()
    const a = await build(clockA, revokedA)
    const b = await build(clockB, revokedB)
    // Each token three times (miss, hit, hit) per context, then after time passes and after a
    // revocation: every state of the cache is reached on both sides the same way.
    for (const phase of ['fresh', 'later', 'revoked'] as const) {
      if (phase === 'later') {
        clockA.now += 5000
        clockB.now += 5000
      }
      if (phase === 'revoked') {
        revokedA.add('revoked')
        revokedB.add('revoked')
      }
      for (const token of TOKENS) {
        for (const context of contexts) {
          for (let round = 0; round < 3; round++) {
            const codesA: string[] = []
            const codesB: string[] = []
            const options = (codes: string[]): VerifyOptions => ({
              onRefusal: (refusal) => codes.push(refusal.code),
              ...(context === undefined ? {} : { senderConstraint: context }),
            })
            const left = await viaPromise(a, token, options(codesA))
            const right = await viaNow(b, token, options(codesB))
            const label = `${name} ${phase} ${JSON.stringify(token.slice(0, 12))} ${JSON.stringify(context)} #${round}`
            if (JSON.stringify(left) !== JSON.stringify(right) || codesA.join() !== codesB.join()) {
              t.fail(label, { left, right, codesA, codesB })
            }
            compared++
          }
        }
      }
    }
    await (a as { close?: () => Promise<void> }).close?.()
    await (b as { close?: () => Promise<void> }).close?.()
  }
  t.ok(compared > 500, `${compared} answers compared`)
})

t.test('isB64Token agrees with the RFC 6750 grammar on hostile strings', async (t) => {
  const grammar = /^[A-Za-z0-9\-._~+/]+=*$/
  const pieces = [
    'a',
    'Z',
    '9',
    '-',
    '.',
    '_',
    '~',
    '+',
    '/',
    '=',
    ' ',
    ',',
    '\u0000',
    '\u007f',
    '\u0080',
    'é',
    '\uD800',
    '\uDC00',
    '😀',
    '\u00ff',
    '\u0100',
    '\t',
    '"',
    '\\',
  ]
  let seed = 12345
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    // The high bits: the low ones of this generator repeat with a short period.
    return (seed >>> 16) % n
  }
  let mismatches = 0
  // Long valid tokens first, then short invalid ones: stale bytes of the scratch buffer must
  // never be read as part of a later token.
  for (let i = 0; i < 20_000; i++) {
    const length = i % 97 === 0 ? 16 * 1024 - 2 + random(5) : random(40)
    let value = ''
    for (let j = 0; j < length; j++) {
      value += random(10) < 8 ? 'aZ9-._~+/'[random(9)] : pieces[random(pieces.length)]
    }
    if (random(3) === 0) value += '='.repeat(random(4))
    if (isB64Token(value) !== grammar.test(value)) mismatches++
  }
  t.equal(mismatches, 0)
})
