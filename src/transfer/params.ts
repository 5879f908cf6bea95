import { httpRequestOf } from '../policy/http-request.ts'
import { TransferError, TransferErrorCodes } from './errors.ts'
import { isHeaderName, isHeaderValue } from './http1.ts'

/** boost's transfer Params (`transport/types.HttpRequest`), spec boost-protocol §5.2. */
export interface TransferParams {
  url: string
  headers: Record<string, string>
}

/**
 * Parses the Params JSON exactly as the client sent it. Go's encoding/json matches keys case-
 * insensitively (so `url` works like `URL`) and writes `"Headers": null` when there are none.
 */
export function parseTransferParams (json: string | Uint8Array): TransferParams {
  // The ingress admitted the deal with this same reading: what it accepted, this can start. The
  // bytes as sent: decoded to text first, a BOM or a bad byte would read otherwise than Go reads it.
  const r = httpRequestOf(json)
  if ('error' in r) throw new TransferError(TransferErrorCodes.Params, `transfer params: ${r.error}`)
  if (r.url === '') throw new TransferError(TransferErrorCodes.Params, 'transfer params: deal url is empty')
  return r
}

/** Checks the URL is something the HTTP transport can fetch. */
export function checkTransferUrl (url: string): URL {
  let u: URL
  // Not repeated: a URL may carry a password or a token.
  try { u = new URL(url) } catch {
    throw new TransferError(TransferErrorCodes.Params, 'transfer params: the URL cannot be parsed (an absolute http(s) URL is needed)')
  }
  if (u.protocol === 'libp2p:') {
    throw new TransferError(TransferErrorCodes.Unsupported, 'transfer params: libp2p:// URLs (HTTP over libp2p) are not supported by this transfer program')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TransferError(TransferErrorCodes.Params, `transfer params: unsupported URL scheme ${u.protocol}`)
  }
  return u
}

/**
 * Parses a `--header 'Name: value'` flag, refusing (without repeating it: a header is often a
 * credential) what no HTTP request can carry: a name that is not a token, a control character in
 * the value. Checked here rather than when the request is written, where the refusal is fatal to
 * the deal's partial download.
 */
export function parseHeaderFlag (flag: string): [string, string] {
  const colon = flag.indexOf(':')
  if (colon <= 0) throw new TransferError(TransferErrorCodes.Params, '--header: expected "Name: value", got text with no name before a ":"')
  const name = flag.slice(0, colon).trim()
  const value = flag.slice(colon + 1).trim()
  checkHeader(name, value, '--header')
  return [name, value]
}

/**
 * A header the transfer's request can carry (isHeaderName, isHeaderValue). A refusal never repeats
 * a value, nor a name that is not a token (a credential pasted in the wrong place, often).
 */
export function checkHeader (name: string, value: string, where: string): void {
  if (!isHeaderName(name)) throw new TransferError(TransferErrorCodes.Params, `${where}: a header name is not an HTTP token (letters, digits and -, no spaces)`)
  if (!isHeaderValue(value)) throw new TransferError(TransferErrorCodes.Params, `${where}: header ${name}: the value has a control character (CR, LF…)`)
}
