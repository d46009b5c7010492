import type { GateResponse } from '@bearerkit/http'
import type { ServerResponse } from 'node:http'

/**
 * Writes a gate answer exactly as given: Express's `res.send` would add an `ETag` and rewrite the
 * content type, and the conformance table compares headers byte for byte.
 */
export function sendGateResponse(res: ServerResponse, answer: GateResponse): void {
  res.writeHead(answer.status, answer.headers)
  res.end(answer.body ?? undefined)
}
