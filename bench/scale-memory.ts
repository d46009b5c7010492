// Pushes distinct tokens through core's verified-token cache and reports the heap at checkpoints.
// Run by scale.ts in its own process with --expose-gc (never imported).
import { createHmac, randomBytes } from 'node:crypto'
import { createCachedVerifier } from '@bearerkit/core'
import { createJwtVerifier } from '@bearerkit/jwt'
import { AUDIENCE, ISSUER, SCOPES } from './lib/tokens.js'

/** Parent -> child. */
export interface MemoryRequest {
  readonly type: 'run'
  readonly tokens: number
  readonly cacheMax: number
}

/** One checkpoint: after `tokens` distinct tokens, the heap after full collections. */
export interface Checkpoint {
  readonly tokens: number
  /** heapUsed minus heapUsed before the first token, in bytes. */
  readonly heapDelta: number
  readonly cacheSize: number
}

/** Child -> parent. */
export type MemoryReply =
  | {
      readonly type: 'result'
      readonly checkpoints: readonly Checkpoint[]
      readonly seconds: number
    }
  | { readonly type: 'error'; readonly message: string }

const gc = (globalThis as { gc?: () => void }).gc

function heapUsed(): number {
  if (gc === undefined) throw new Error('scale-memory needs node --expose-gc')
  // Two passes: the first may only promote what the second frees.
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

async function run(request: MemoryRequest): Promise<MemoryReply> {
  const secret = randomBytes(32)
  const verifier = createCachedVerifier(
    createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, key: secret, algorithms: ['HS256'] }),
    { max: request.cacheMax },
  )
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' })).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user',
    client_id: 'client',
    scope: SCOPES.join(' '),
    iat: now,
    exp: now + 3600,
  }
  // A real HS256 token per index, made cheaply: only `jti` changes.
  const mint = (i: number): string => {
    const body = `${header}.${Buffer.from(JSON.stringify({ ...claims, jti: `t${i}` })).toString('base64url')}`
    return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`
  }
  if ((await verifier.verifyToken(mint(-1))) === null) throw new Error('the cache refused a token')
  verifier.clear()
  const marks = new Set([request.cacheMax, Math.floor(request.tokens / 10), request.tokens])
  const start = performance.now()
  const base = heapUsed()
  const checkpoints: Checkpoint[] = []
  for (let i = 0; i < request.tokens; i++) {
    if ((await verifier.verifyToken(mint(i))) === null) throw new Error('a token was refused')
    if (marks.has(i + 1)) {
      checkpoints.push({ tokens: i + 1, heapDelta: heapUsed() - base, cacheSize: verifier.size })
    }
  }
  return { type: 'result', checkpoints, seconds: (performance.now() - start) / 1000 }
}

process.on('message', (message: MemoryRequest) => {
  run(message).then(
    (reply) => {
      process.send?.(reply)
      process.disconnect()
    },
    (error: unknown) => {
      process.send?.({
        type: 'error',
        message: error instanceof Error ? error.message : String(error),
      })
      process.disconnect()
    },
  )
})
