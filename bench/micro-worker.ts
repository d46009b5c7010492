// One group of micro benchmarks, run in its own process by micro.ts (never imported). Each group
// measures the bound against one library only: what one library leaves behind (garbage for the
// collector, threads of WebCrypto's pool, JIT state) must not be paid for in another's rounds.
import { createPublicKey, createSecretKey } from 'node:crypto'
import { createVerifier, type TokenVerifier } from '@bearerkit/core'
import { createJwtVerifier } from '@bearerkit/jwt'
import { mustAccept } from './lib/accept.js'
import { compare, type Candidate } from './lib/harness.js'
import type { FromMicroWorker, ToMicroWorker } from './lib/messages.js'
import { peerRun } from './lib/peers.js'
import { createRawVerify } from './lib/raw-jwt.js'
import { AUDIENCE, ISSUER } from './lib/tokens.js'

type Run = Extract<ToMicroWorker, { type: 'run' }>

function send(message: FromMicroWorker): void {
  process.send?.(message)
}

async function candidates(run: Run): Promise<{ list: Candidate[]; close: () => void }> {
  const { alg, token } = run
  const secret = run.secret === undefined ? undefined : Buffer.from(run.secret, 'base64')
  const verifyKey =
    secret === undefined ? createPublicKey(run.publicPem as string) : createSecretKey(secret)
  const raw = createRawVerify(alg, verifyKey)
  if (raw(token) === null) throw new Error(`raw ${alg} verification refused its token`)
  const bound: Candidate = { name: 'raw', async: false, run: () => raw(token) }

  if (run.group !== 'bearerkit') {
    const peer = await peerRun(run.group, alg, token, { publicPem: run.publicPem, secret })
    return { list: [bound, { name: run.group, ...peer }], close: () => undefined }
  }

  const uncached = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    key: secret ?? run.publicPem,
    algorithms: [alg],
  })
  await uncached.ready()
  await mustAccept(`bearerkit ${alg}`, uncached, token)
  // What users get from a config object (the README's plugin snippet, the environment): the jwt
  // verifier with the verified-token cache in front, by default.
  const cached = (await createVerifier({
    type: 'jwt',
    issuer: ISSUER,
    audience: AUDIENCE,
    ...(secret === undefined ? { key: run.publicPem } : { secret }),
    algorithms: [alg],
  })) as TokenVerifier & { close(): void }
  await mustAccept(`bearerkit cached ${alg}`, cached, token)
  return {
    list: [
      bound,
      { name: 'uncached', async: true, run: () => uncached.verifyToken(token) },
      { name: 'hit', async: true, run: () => cached.verifyToken(token) },
    ],
    close: () => {
      uncached.close()
      cached.close()
    },
  }
}

process.on('message', (message: ToMicroWorker) => {
  if (message.type !== 'run') return
  void (async () => {
    try {
      const { list, close } = await candidates(message)
      const measured = await compare(list, message.harness)
      close()
      send({ type: 'result', measurements: [...measured] })
    } catch (error) {
      send({ type: 'error', message: error instanceof Error ? error.message : String(error) })
    }
    process.disconnect()
  })()
})
