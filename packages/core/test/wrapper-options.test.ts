import t from 'tap'
import {
  Refusal,
  accessTokenFromClaims,
  createCachedVerifier,
  createCompositeVerifier,
  createMemoryRevocationList,
  withRevocationCheck,
  type AccessToken,
  type TokenVerifier,
  type VerifyOptions,
} from '../src/index.js'

// Red-team finding "withRevocationCheck drops onValidity": the wrapper passed only the signal and
// the proof context to the verifier it wraps, so a cache in front never learned a maxTokenAge
// bound and served a too_old token. Every core wrapper now passes every option through.

const NOW = 1_800_000_000_000
const IAT = NOW / 1000
const MAX_AGE = 60
// A JWT-shaped token (so that the composite verifier routes it to `jwt`), never verified here.
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'

/** A verifier enforcing a maximum token age of 60 s, reporting it as jwt's does. */
function agedVerifier(now: () => number): TokenVerifier & { seen: VerifyOptions[] } {
  const seen: VerifyOptions[] = []
  return {
    seen,
    verifyToken: async (token, options = {}) => {
      seen.push(options)
      const validUntil = IAT + MAX_AGE
      if (now() / 1000 >= validUntil) {
        options.onRefusal?.(new Refusal('too_old', 'The access token is too old'))
        return null
      }
      options.onValidity?.({ validUntil })
      const accessToken = accessTokenFromClaims(token, {
        client_id: 'c1',
        sub: 'alice',
        iss: 'https://as.example',
        iat: IAT,
        exp: IAT + 3600,
      })
      return accessToken instanceof Refusal ? null : accessToken
    },
  }
}

t.test('withRevocationCheck drops onValidity', async (t) => {
  const wrappers: Record<string, (inner: TokenVerifier) => TokenVerifier> = {
    withRevocationCheck: (inner) => withRevocationCheck(inner, createMemoryRevocationList()),
    createCompositeVerifier: (inner) => createCompositeVerifier({ jwt: inner }),
  }
  for (const [name, wrap] of Object.entries(wrappers)) {
    let clock = NOW + 1000
    const now = (): number => clock
    const inner = agedVerifier(now)
    const cached = createCachedVerifier(wrap(inner), { ttl: 300, now })
    t.ok(await cached.verifyToken(TOKEN), `${name}: accepted at iat + 1 s`)
    // Inside the cache's ttl but past the age bound: the cache must not answer from the entry.
    clock = NOW + 250_000
    let refusal: string | undefined
    const late: AccessToken | null = await cached.verifyToken(TOKEN, {
      onRefusal: (r) => (refusal = r.code),
    })
    t.equal(late, null, `${name}: refused at iat + 250 s`)
    t.equal(refusal, 'too_old', `${name}: by the inner verifier's rule`)
    // The exact edge: the last accepted second, from the cache, and the first refused one.
    clock = NOW + 1000
    const fresh = createCachedVerifier(wrap(agedVerifier(now)), { ttl: 300, now })
    t.ok(await fresh.verifyToken(TOKEN))
    clock = (IAT + MAX_AGE) * 1000 - 1
    t.ok(await fresh.verifyToken(TOKEN), `${name}: a hit 1 ms before the bound`)
    clock = (IAT + MAX_AGE) * 1000
    t.equal(await fresh.verifyToken(TOKEN), null, `${name}: no hit at the bound`)
  }
})

t.test('core wrappers pass every verify option through, onRefusal aside', async (t) => {
  for (const [name, wrap] of Object.entries({
    withRevocationCheck: (inner: TokenVerifier) =>
      withRevocationCheck(inner, createMemoryRevocationList()),
    createCompositeVerifier: (inner: TokenVerifier) => createCompositeVerifier({ jwt: inner }),
  })) {
    const inner = agedVerifier(() => NOW)
    const signal = new AbortController().signal
    const onValidity = (): void => undefined
    const onRefusal = (): void => undefined
    const senderConstraint = { dpopJkt: 'thumbprint' }
    const future = { extension: 'kept' }
    await wrap(inner).verifyToken(TOKEN, {
      signal,
      onValidity,
      onRefusal,
      senderConstraint,
      ...future,
    })
    const passed = inner.seen[0] as VerifyOptions & typeof future
    t.equal(passed.signal, signal, `${name}: signal`)
    t.equal(passed.onValidity, onValidity, `${name}: onValidity`)
    t.equal(passed.senderConstraint, senderConstraint, `${name}: senderConstraint`)
    t.equal(passed.extension, 'kept', `${name}: a member added later`)
    t.not(passed.onRefusal, onRefusal, `${name}: onRefusal is the wrapper's own`)
  }
})
