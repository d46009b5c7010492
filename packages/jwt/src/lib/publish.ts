import diagnostics from 'node:diagnostics_channel'
import { JWKS_CHANNEL, type JwksEvent } from '../jwks-events.js'

const channel = diagnostics.channel(JWKS_CHANNEL)

/** Publishes an event when someone listens; building it costs nothing otherwise. */
export function publishJwksEvent(build: () => JwksEvent): void {
  if (channel.hasSubscribers) channel.publish(build())
}
