// In-process operations counted under callgrind, run in a child process by instructions.ts (never
// imported): one JWT verification per algorithm (the node:crypto bound, bearerkit uncached, a
// cache hit) or the DPoP rows (bearer request, reference, DPoP request). The child is started
// with instrumentation off, so the warm-up runs at the speed of valgrind without callgrind's
// counting; then each operation in turn: counters zeroed, a fixed number run, counters dumped and
// read back.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { createVerifier, type TokenVerifier } from '@bearerkit/core'
import { createJwtVerifier } from '@bearerkit/jwt'
import { prepareDpop } from './dpop.js'
import { mustAccept } from './lib/accept.js'
import type { FromOpsChild, ToOpsChild } from './lib/messages.js'
import { BENCH_ALGORITHMS, createRawVerify } from './lib/raw-jwt.js'
import { AUDIENCE, ISSUER, keysFor, mint } from './lib/tokens.js'

const run = promisify(execFile)

interface Op {
  readonly name: string
  /** Awaited when it answers a promise (as the micro and DPoP sections await it). */
  readonly run: () => unknown
}

async function microOps(): Promise<{ ops: Op[]; close: () => void }> {
  const ops: Op[] = []
  const closers: (() => void)[] = []
  for (const alg of BENCH_ALGORITHMS) {
    const keys = await keysFor(alg)
    const token = await mint(keys)
    const raw = createRawVerify(alg, keys.verifyKey)
    if (raw(token) === null) throw new Error(`raw ${alg} verification refused its token`)
    const uncached = createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      key: keys.keyInput,
      algorithms: [alg],
    })
    await mustAccept(`bearerkit ${alg}`, uncached, token)
    const cached = (await createVerifier({
      type: 'jwt',
      issuer: ISSUER,
      audience: AUDIENCE,
      ...(alg === 'HS256' ? { secret: keys.keyInput } : { key: keys.keyInput }),
      algorithms: [alg],
    })) as TokenVerifier & { close(): void }
    await mustAccept(`bearerkit cached ${alg}`, cached, token)
    closers.push(
      () => uncached.close(),
      () => cached.close(),
    )
    ops.push(
      { name: `${alg} bound`, run: () => raw(token) },
      { name: `${alg} uncached`, run: () => uncached.verifyToken(token) },
      { name: `${alg} hit`, run: () => cached.verifyToken(token) },
    )
  }
  return { ops, close: () => closers.forEach((close) => close()) }
}

async function dpopOps(proofs: number): Promise<{ ops: Op[]; close: () => void }> {
  // A clock that stands still at the time the proofs are signed: under valgrind, signing them and
  // the warm-up take longer than the minute a proof is accepted for.
  const at = Date.now()
  const dpop = await prepareDpop(proofs, () => at)
  return {
    ops: [
      { name: 'bearer', run: dpop.bearer },
      { name: 'reference', run: dpop.reference },
      { name: 'dpop', run: dpop.dpop },
    ],
    close: dpop.close,
  }
}

async function times(op: Op, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    let answer = op.run()
    if (answer instanceof Promise) answer = await answer
    // A refusal would count the refusal's work (a challenge, an error) instead: every operation
    // must be an acceptance (a token, a payload, an accepted gate result, a valid signature).
    if (
      answer === null ||
      answer === false ||
      (typeof answer === 'object' && 'kind' in answer && answer.kind !== 'accepted')
    ) {
      throw new Error(`${op.name} was refused`)
    }
  }
}

async function count(message: ToOpsChild): Promise<[string, number][]> {
  // Interleaved warm-up in ten steps, as the sections interleave their rounds: each operation's
  // code is optimised for what the process runs, not for one operation alone.
  const step = Math.max(1, Math.ceil(message.warmup / 10))
  // Each DPoP and reference operation takes a fresh proof: enough for both, the warm-up, the
  // step run again before counting and the counted ones.
  const { ops, close } =
    message.group === 'micro'
      ? await microOps()
      : await dpopOps(2 * (10 * step + step + message.measured) + 10)
  for (let done = 0; done < message.warmup; done += step) {
    for (const op of ops) await times(op, step)
  }
  const pid = String(process.pid)
  await run('callgrind_control', ['--instr=on', pid])
  const counts: [string, number][] = []
  for (const [index, op] of ops.entries()) {
    // The operation again right before it is counted, so that it runs on the code it settles on
    // (an operation counted right after another may first finish optimising for itself).
    await times(op, step)
    await run('callgrind_control', ['--zero', pid])
    await times(op, message.measured)
    await run('callgrind_control', ['--dump', pid])
    // `<out>.<pid>.<dump>-<thread>`: dump 1, 2, ... of thread 1 (the main thread).
    const text = await readFile(`${message.out}.${pid}.${index + 1}-01`, 'utf8')
    const summary = /^summary: (\d+)/m.exec(text)
    if (summary === null) throw new Error(`no summary in the dump of ${op.name}`)
    counts.push([op.name, Number(summary[1]) / message.measured])
  }
  close()
  return counts
}

process.on('message', (message: ToOpsChild) => {
  if (message.type !== 'run') return
  void (async () => {
    try {
      process.send?.({ type: 'result', counts: await count(message) } satisfies FromOpsChild)
    } catch (error) {
      process.send?.({
        type: 'error',
        message: error instanceof Error ? error.message : String(error),
      } satisfies FromOpsChild)
    }
    process.disconnect()
  })()
})
