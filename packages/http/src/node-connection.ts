/**
 * What a Node adapter passes to the gate about a request's connection: the DER client
 * certificate of its TLS session and the address of its peer.
 */
export interface NodeConnection {
  /** DER of the TLS client certificate, `undefined` without TLS or without a certificate. */
  readonly clientCertificate: Uint8Array | undefined
  /** The socket's peer address (not `X-Forwarded-For`), `undefined` once the socket is gone. */
  readonly remoteAddress: string | undefined
}

interface SocketLike {
  readonly remoteAddress?: unknown
  readonly getPeerCertificate?: unknown
}

/**
 * The client certificate and peer address of a Node `net.Socket` or `tls.TLSSocket`, for the
 * gate's certificate-bound tokens (RFC 8705 §3, option `mtls`): spread it into the
 * `GateRequest`. A plain socket, a TLS session without a client certificate, or a socket
 * already torn down gives `clientCertificate: undefined`, and a bound token is then refused; it
 * never throws.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-3 RFC 8705 §3
 * @example
 * ```ts
 * const result = await gate.authenticate({
 *   method: req.method,
 *   url: req.url,
 *   headers: req.headers,
 *   ...nodeConnection(req.socket),
 * })
 * ```
 */
export function nodeConnection(socket: unknown): NodeConnection {
  if (typeof socket !== 'object' || socket === null) {
    return { clientCertificate: undefined, remoteAddress: undefined }
  }
  const { remoteAddress, getPeerCertificate } = socket as SocketLike
  let clientCertificate: Uint8Array | undefined
  if (typeof getPeerCertificate === 'function') {
    try {
      // {} without a certificate, null once the session is gone.
      const peer = (getPeerCertificate as () => unknown).call(socket) as { raw?: unknown } | null
      const raw = peer?.raw
      if (raw instanceof Uint8Array && raw.length > 0) clientCertificate = raw
    } catch {
      clientCertificate = undefined
    }
  }
  return {
    clientCertificate,
    remoteAddress: typeof remoteAddress === 'string' ? remoteAddress : undefined,
  }
}
