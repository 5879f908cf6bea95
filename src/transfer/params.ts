import { TransferError, TransferErrorCodes } from './errors.ts'

const utf8 = new TextDecoder()

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
  const text = typeof json === 'string' ? json : utf8.decode(json)
  let raw: unknown
  try { raw = JSON.parse(text) } catch (err) {
    throw new TransferError(TransferErrorCodes.Params, `transfer params: not JSON: ${(err as Error).message}`, { cause: err })
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TransferError(TransferErrorCodes.Params, 'transfer params: not a JSON object')
  }
  let url: unknown
  let headers: unknown
  for (const [k, v] of Object.entries(raw)) {
    const key = k.toLowerCase()
    if (key === 'url') url = v
    else if (key === 'headers') headers = v
  }
  if (typeof url !== 'string' || url === '') throw new TransferError(TransferErrorCodes.Params, 'transfer params: deal url is empty')
  const out: Record<string, string> = {}
  if (headers !== null && headers !== undefined) {
    if (typeof headers !== 'object' || Array.isArray(headers)) throw new TransferError(TransferErrorCodes.Params, 'transfer params: Headers is not an object')
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v !== 'string') throw new TransferError(TransferErrorCodes.Params, `transfer params: header ${k} is not a string`)
      out[k] = v
    }
  }
  return { url, headers: out }
}

/** Checks the URL is something the HTTP transport can fetch. */
export function checkTransferUrl (url: string): URL {
  let u: URL
  try { u = new URL(url) } catch {
    throw new TransferError(TransferErrorCodes.Params, `transfer params: invalid URL ${JSON.stringify(url)}`)
  }
  if (u.protocol === 'libp2p:') {
    throw new TransferError(TransferErrorCodes.Unsupported, 'transfer params: libp2p:// URLs (HTTP over libp2p) are not supported by this transfer program')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TransferError(TransferErrorCodes.Params, `transfer params: unsupported URL scheme ${u.protocol}`)
  }
  return u
}

/** Parses a `--header 'Name: value'` flag. */
export function parseHeaderFlag (flag: string): [string, string] {
  const colon = flag.indexOf(':')
  if (colon <= 0) throw new TransferError(TransferErrorCodes.Params, `header ${JSON.stringify(flag)}: expected "Name: value"`)
  return [flag.slice(0, colon).trim(), flag.slice(colon + 1).trim()]
}
