import { getEventListeners } from 'node:events'
import t from 'tap'
import { createIntrospectionVerifier } from '../src/index.js'
import { activeAnswer, baseOptions, newToken } from './fixtures/common.js'

t.test(
  'Abort listeners pile up under load: none at 10,000 concurrent introspections',
  async (t) => {
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => {
      warnings.push(warning)
    }
    process.on('warning', onWarning)
    // Count listeners per signal, as they are added and removed, for the whole run.
    const counts = new Map<EventTarget, number>()
    let peak = 0
    const proto = AbortSignal.prototype as unknown as EventTarget
    type Method = (this: EventTarget, ...args: unknown[]) => void
    const add = Reflect.get(proto, 'addEventListener') as Method
    const remove = Reflect.get(proto, 'removeEventListener') as Method
    Object.defineProperty(proto, 'addEventListener', {
      configurable: true,
      writable: true,
      value(this: EventTarget, ...args: unknown[]) {
        if (args[0] === 'abort') {
          const n = (counts.get(this) ?? 0) + 1
          counts.set(this, n)
          peak = Math.max(peak, n)
        }
        add.apply(this, args)
      },
    })
    Object.defineProperty(proto, 'removeEventListener', {
      configurable: true,
      writable: true,
      value(this: EventTarget, ...args: unknown[]) {
        if (args[0] === 'abort' && counts.has(this)) counts.set(this, (counts.get(this) ?? 1) - 1)
        remove.apply(this, args)
      },
    })
    t.teardown(() => {
      delete (proto as { addEventListener?: unknown }).addEventListener
      delete (proto as { removeEventListener?: unknown }).removeEventListener
      process.off('warning', onWarning)
    })

    const release: Array<() => void> = []
    const signals: AbortSignal[] = []
    const verifier = createIntrospectionVerifier(
      baseOptions({
        cache: false,
        fetch: ((_url: string, init: RequestInit) => {
          signals.push(init.signal as AbortSignal)
          return new Promise<Response>((resolve) => {
            release.push(() =>
              resolve(
                new Response(JSON.stringify(activeAnswer()), {
                  headers: { 'content-type': 'application/json' },
                }),
              ),
            )
          })
        }) as typeof fetch,
      }),
    )
    const all = Array.from({ length: 10_000 }, () => verifier.verifyToken(newToken()))
    while (release.length < 10_000) await new Promise((resolve) => setImmediate(resolve))
    t.ok(peak <= 2, `at most 2 abort listeners on any one signal (peak ${peak})`)
    for (const go of release) go()
    const results = await Promise.all(all)
    t.equal(results.filter((r) => r !== null).length, 10_000)
    // Let the deadline races settle before looking.
    await new Promise((resolve) => setImmediate(resolve))
    t.same(
      warnings.map((w) => w.name),
      [],
      'no MaxListenersExceededWarning (nor any other warning)',
    )
    const leftOver = [...counts.values()].reduce((sum, n) => sum + n, 0)
    t.equal(leftOver, 1, 'only the close listener of the verifier is left')
    t.ok(signals.every((s) => getEventListeners(s, 'abort').length === 0))
    await verifier.close()
  },
)
