/** True for `application/x-www-form-urlencoded` (parameters and case ignored). */
export function isFormType(type: string | undefined): boolean {
  return type?.split(';', 1)[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded'
}

/**
 * The form body's text, or `null` when it is larger than `limit` bytes. Hono caches the body, so
 * the application's own `c.req.parseBody()` still works afterwards. A declared `Content-Length`
 * over the limit is refused before anything is read.
 */
export async function readFormText(
  req: { header(name: string): string | undefined; text(): Promise<string> },
  limit: number,
): Promise<string | null> {
  const declared = Number(req.header('content-length'))
  if (Number.isFinite(declared) && declared > limit) return null
  const text = await req.text()
  return new TextEncoder().encode(text).byteLength > limit ? null : text
}
