/** "in 13 min", "2 h ago", "now": how far `seconds` (epoch) is from `nowSeconds`. */
export function relativeTime(seconds: number, nowSeconds: number): string {
  const delta = Math.round(seconds - nowSeconds)
  const size = Math.abs(delta)
  if (size < 1) return 'now'
  let amount: string
  if (size < 60) amount = `${size} s`
  else if (size < 3600) amount = `${Math.floor(size / 60)} min`
  else if (size < 86400 * 2) amount = `${Math.floor(size / 3600)} h`
  else amount = `${Math.floor(size / 86400)} days`
  return delta > 0 ? `in ${amount}` : `${amount} ago`
}

/** ISO 8601 of an epoch-seconds value, or undefined when it is not a representable number. */
export function isoTime(seconds: unknown): string | undefined {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return undefined
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}
