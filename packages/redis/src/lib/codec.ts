/**
 * Values carry a format version (`v`), so that instances of two releases can share one Redis
 * during a rolling upgrade: a reader that meets a version it does not know treats the value as
 * absent or unreadable (per store, always on the safe side), never as something it is not.
 */
export const FORMAT_VERSION = 1

/** Parses a stored JSON object of the known version; `undefined` for anything else. */
export function decodeValue(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== 'string') return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const record = value as Record<string, unknown>
  return record.v === FORMAT_VERSION ? record : undefined
}

/** Serialises `fields` with the format version. */
export function encodeValue(fields: Record<string, unknown>): string {
  return JSON.stringify({ v: FORMAT_VERSION, ...fields })
}
