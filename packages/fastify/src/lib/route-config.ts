import { invalidArgument, isScopeToken } from '@bearerkit/core'

/**
 * Validates a route's `config.bearer` when the route is declared, so a mistake fails at startup.
 *
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) naming the route.
 */
export function checkRouteConfig(route: string, value: unknown): void {
  if (value === undefined || typeof value === 'boolean') return
  const option = `route ${route} config.bearer`
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(option, 'must be false, true or { scopes: [...] }')
  }
  for (const key of Object.keys(value)) {
    if (key !== 'scopes') throw invalidArgument(`${option}.${key}`, 'is not a known option')
  }
  const scopes = (value as { scopes?: unknown }).scopes
  if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every(isScopeToken))) {
    throw invalidArgument(`${option}.scopes`, 'must be an array of scope tokens')
  }
}

const cache = new WeakMap<object, readonly string[]>()

/**
 * The scopes a route needs on top of `requiredScopes`, or `null` for a public route. Checked again
 * here because routes declared before the plugin was registered never met the `onRoute` check; a
 * bad setting then fails the request (500) rather than opening the route. `route` names the route
 * in that error; it is only called then.
 */
export function routeScopes(route: () => string, config: unknown): readonly string[] | null {
  const bearer = (config as { bearer?: unknown } | null | undefined)?.bearer
  if (bearer === false) return null
  if (typeof bearer !== 'object' || bearer === null) {
    if (bearer !== undefined && bearer !== true) checkRouteConfig(route(), bearer)
    return []
  }
  let scopes = cache.get(bearer)
  if (scopes === undefined) {
    checkRouteConfig(route(), bearer)
    scopes = Object.freeze([...((bearer as { scopes?: string[] }).scopes ?? [])])
    cache.set(bearer, scopes)
  }
  return scopes
}
