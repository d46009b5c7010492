import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createIntrospectionVerifier } from '@bearerkit/introspection'
import { DEFAULT_JWKS_OPTIONS, createJwtVerifier } from '@bearerkit/jwt'
import { createLocalAuthorizationServer } from '@bearerkit/testing'
import { startChild } from './lib/child.js'
import type { BenchConfig } from './lib/config.js'
import { formatInt, type SectionResult, type Table } from './lib/report.js'
import { AUDIENCE, SCOPES } from './lib/tokens.js'
import type { MemoryReply, MemoryRequest } from './scale-memory.js'

const MiB = 1024 * 1024

/** A part of the scale section: request-count rows go into one shared table. */
interface Part extends SectionResult {
  readonly rows: readonly (readonly string[])[]
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`
}

/** Heap after N distinct tokens through core's cache, in a child process with --expose-gc. */
async function memory(config: BenchConfig, log: (line: string) => void): Promise<SectionResult> {
  const { tokens, cacheMax } = config.scale
  log(`scale: ${formatInt(tokens)} distinct tokens through the cache (max ${formatInt(cacheMax)})`)
  const script = fileURLToPath(new URL('./scale-memory.js', import.meta.url))
  const child = startChild<MemoryRequest, MemoryReply>(script, ['--expose-gc'])
  const reply = await child.ask({ type: 'run', tokens, cacheMax }, 'result')
  await child.exited
  const points = reply.checkpoints
  const full = points[0]
  const last = points[points.length - 1]
  if (full === undefined || last === undefined) throw new Error('scale-memory sent no checkpoint')
  const rows = points.map((p) => [
    formatInt(p.tokens),
    formatInt(p.cacheSize),
    mib(p.heapDelta),
    `${formatInt(p.heapDelta / Math.max(1, p.cacheSize))} B`,
  ])
  // Bounded: once the cache is full, many more tokens must not grow the heap (25% + 1 MiB slack
  // for what the collector has not given back).
  const bounded = last.cacheSize <= cacheMax && last.heapDelta <= full.heapDelta * 1.25 + MiB
  return {
    tables: [
      {
        title: 'Scale: memory of the verified-token cache',
        headers: ['Distinct tokens', 'Cache entries', 'heapUsed delta after GC', 'Per entry'],
        rows,
        notes: [
          `Core \`createCachedVerifier\` (max ${formatInt(cacheMax)}) in front of the HS256 JWT verifier, every token a real, valid, distinct token (own \`jti\`), verified one after the other in a child process run with --expose-gc; ${reply.seconds.toFixed(1)} s. heapUsed is read after two full collections and compared with the heap before the first token.`,
        ],
      },
    ],
    targets: [
      {
        name: `Memory after ${formatInt(tokens)} tokens`,
        goal: `bounded by the cache (<= ${formatInt(cacheMax)} entries, heap <= 1.25x the heap when first full)`,
        measured: `${formatInt(last.cacheSize)} entries, ${mib(last.heapDelta)} (full at ${formatInt(full.tokens)}: ${mib(full.heapDelta)})`,
        pass: bounded,
      },
    ],
  }
}

/** Concurrent first uses of one opaque token: how many introspection requests reach the server. */
async function coalescing(config: BenchConfig, log: (line: string) => void): Promise<Part> {
  const n = config.scale.concurrent
  log(`scale: ${formatInt(n)} concurrent first uses of one opaque token`)
  const server = await createLocalAuthorizationServer({ tokenFormat: 'opaque' })
  try {
    const token = await server.issueToken({ audience: AUDIENCE, scopes: SCOPES })
    const verifier = createIntrospectionVerifier({
      introspectionUrl: server.introspectionEndpoint,
      issuer: server.issuer,
      audience: AUDIENCE,
      clientId: 'test-client',
      clientSecret: 'test-secret',
    })
    server.resetCounts()
    const results = await Promise.all(Array.from({ length: n }, () => verifier.verifyToken(token)))
    const accepted = results.filter((r) => r !== null).length
    const requests = server.requestCount('introspection')
    await verifier.close()
    return {
      tables: [],
      rows: [
        [
          `${formatInt(n)} concurrent first uses of one opaque token`,
          `${requests} introspection`,
          '1',
        ],
      ],
      targets: [
        {
          name: `${formatInt(n)} concurrent first uses of one opaque token`,
          goal: '1 introspection request, all accepted',
          measured: `${requests} request${requests === 1 ? '' : 's'}, ${formatInt(accepted)} accepted`,
          pass: requests === 1 && accepted === n,
        },
      ],
    }
  } finally {
    await server.close()
  }
}

function randomKidToken(goodToken: string): string {
  const [, payload] = goodToken.split('.')
  const header = { alg: 'RS256', typ: 'at+jwt', kid: randomBytes(12).toString('base64url') }
  return [
    Buffer.from(JSON.stringify(header)).toString('base64url'),
    payload,
    randomBytes(256).toString('base64url'),
  ].join('.')
}

/** Tokens naming random `kid`s must not turn into a flood of JWKS requests. */
async function randomKids(config: BenchConfig, log: (line: string) => void): Promise<Part> {
  const n = config.scale.randomKids
  log(`scale: ${formatInt(n)} tokens with random kids`)
  const server = await createLocalAuthorizationServer({ algorithm: 'RS256' })
  try {
    const good = await server.issueToken({ audience: AUDIENCE, scopes: SCOPES })
    // Simulated time: the verifier's clock moves 3 s per wave of 100 tokens (5 minutes over
    // 10,000 tokens), so the run covers several cooldowns without sleeping.
    let clock = Date.now()
    const verifier = createJwtVerifier({
      issuer: server.issuer,
      audience: AUDIENCE,
      jwksUri: server.jwksUri,
      now: () => clock,
    })
    await verifier.ready()
    const cooldown = DEFAULT_JWKS_OPTIONS.cooldown
    // Past the cooldown of the first fetch, so that the first unknown kid may refetch.
    clock += (cooldown + 1) * 1000
    server.resetCounts()
    const start = clock
    let refused = 0
    // In waves of 100 concurrent verifications, as a burst of traffic would arrive.
    for (let done = 0; done < n; done += 100) {
      const wave = Array.from({ length: Math.min(100, n - done) }, () =>
        verifier.verifyToken(randomKidToken(good)),
      )
      refused += (await Promise.all(wave)).filter((r) => r === null).length
      clock += 3000
    }
    const seconds = (clock - start) / 1000
    const goodAccepted = (await verifier.verifyToken(good)) !== null
    const requests = server.requestCount('jwks')
    const allowed = Math.ceil(seconds / cooldown)
    verifier.close()
    return {
      tables: [],
      rows: [
        [
          `${formatInt(n)} tokens with random kids over ${seconds.toFixed(0)} s of simulated time (cooldown ${cooldown} s)`,
          `${requests} JWKS`,
          `<= ${allowed}`,
        ],
      ],
      targets: [
        {
          name: `${formatInt(n)} random-kid tokens`,
          goal: '<= 1 JWKS request per cooldown; all refused; a good token still verifies',
          measured: `${requests} request${requests === 1 ? '' : 's'} in ${seconds.toFixed(0)} s, ${formatInt(refused)} refused, good token ${goodAccepted ? 'accepted' : 'refused'}`,
          pass: requests <= allowed && refused === n && goodAccepted,
        },
      ],
    }
  } finally {
    await server.close()
  }
}

/** Memory, coalescing and JWKS request counts under load. */
export async function runScale(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<SectionResult> {
  const parts = [await coalescing(config, log), await randomKids(config, log)]
  const mem = await memory(config, log)
  const counts: Table = {
    title: 'Scale: request counts',
    headers: ['Load', 'Upstream requests', 'Allowed'],
    rows: parts.flatMap((p) => p.rows),
    notes: [
      "The introspection row: every verification is started before any answer arrives. The JWKS row: waves of 100 concurrent verifications with forged signatures; the verifier's injected clock advances 3 s per wave, and the allowance is one request per started cooldown period.",
    ],
  }
  return {
    tables: [counts, ...mem.tables],
    targets: [...parts.flatMap((p) => p.targets), ...mem.targets],
  }
}
