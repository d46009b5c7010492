import type { Refusal, VerifyOptions } from './access-token.js'

/**
 * `{ ...options, onRefusal }`: every option of the caller passed on to an inner verifier (the
 * signal, onValidity, the proof context, the token key, any member added later), with the
 * wrapper's own `onRefusal`. Built with `Object.assign` and an assignment rather than that
 * literal: V8 (Node 20) builds an object literal that spreads another and then adds a property
 * through a slow path, over a microsecond each time, on every verification of a wrapper.
 *
 * Own enumerable members are copied as a spread copies them, but for one: `Object.assign` would
 * turn an own `__proto__` member into the copy's prototype, so such options take the spread.
 *
 * @internal Not exported from the package.
 */
export function withOnRefusal(
  options: VerifyOptions | undefined,
  onRefusal: (refusal: Refusal) => void,
): VerifyOptions {
  if (options !== undefined && Object.hasOwn(options, '__proto__')) {
    return { ...options, onRefusal }
  }
  const copy: { -readonly [K in keyof VerifyOptions]: VerifyOptions[K] } = Object.assign(
    {},
    options,
  )
  copy.onRefusal = onRefusal
  return copy
}
