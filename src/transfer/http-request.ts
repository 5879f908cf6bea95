import { basicAuthOf, get, shown, type Http1Response } from './http1.ts'
import { TransferError, TransferErrorCodes, RetryableError } from './errors.ts'

export interface RangeResponse {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: Http1Response
  /** URL that answered, after redirects. */
  url: string
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** Request headers the download sets itself; the deal's own of these names are dropped. */
const OWN_HEADERS = new Set(['accept-encoding', 'range'])
/** Headers Go's net/http drops when a redirect leaves the original host; we do the same. */
const SENSITIVE = new Set(['authorization', 'www-authenticate', 'cookie', 'cookie2', 'proxy-authorization', 'proxy-authenticate'])

export function header (h: RangeResponse['headers'], name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v[0] : v
}

/**
 * One GET, following at most `maxRedirects` redirects by hand so that each hop goes through the
 * guard (the policy check runs again for the new host) and keeps the Range header.
 * Statuses are classified here: 401/403 and other 4xx are final, 5xx/408/429 are retryable.
 */
export async function getRange (url: string, headers: Record<string, string>, from: number, opts: {
  /** Resolves and vets a host name (the SSRF guard): the address to connect to. */
  address: (hostname: string) => Promise<string>
  signal: AbortSignal
  maxRedirects: number
  /** Last byte wanted (inclusive); default: to the end. */
  to?: number
}): Promise<RangeResponse> {
  let current = new URL(url)
  const initial = current
  let stripped = false
  // The encoding and the range are the download's own, whatever the deal's headers say in whatever
  // case: a client's `Accept-Encoding: gzip` went out beside ours (and the server honoured it), and
  // a client's Range would have staged a slice of the data.
  let hdrs: Record<string, string> = {
    ...Object.fromEntries(Object.entries(headers).filter(([k]) => !OWN_HEADERS.has(k.toLowerCase()))),
    'accept-encoding': 'identity'
  }
  if (from > 0 || opts.to !== undefined) hdrs.range = `bytes=${from}-${opts.to ?? ''}`
  for (let hop = 0; ; hop++) {
    const res = await get(current, hdrs, { address: opts.address, signal: opts.signal })
    const where = `GET ${current.origin}${current.pathname}`
    if (REDIRECTS.has(res.statusCode)) {
      res.close()
      const loc = header(res.headers, 'location')
      if (loc === undefined) throw new TransferError(TransferErrorCodes.Redirect, `${where}: ${res.statusCode} without Location`)
      if (hop >= opts.maxRedirects) throw new TransferError(TransferErrorCodes.Redirect, `${where}: more than ${opts.maxRedirects} redirects`)
      const next = URL.parse(loc, current.href)
      if (next === null) throw new TransferError(TransferErrorCodes.Redirect, `${where}: ${res.statusCode} to a Location that cannot be read: ${JSON.stringify(loc.slice(0, 200))}`)
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new TransferError(TransferErrorCodes.Redirect, `${where}: redirect to unsupported scheme ${next.protocol}`)
      }
      // Go's client: dropped once the redirect leaves the first URL's host for one that is not the
      // same name or a subdomain of it (another port of the same name keeps them), and not given
      // back on a way back.
      if (!stripped && next.host !== initial.host && !isDomainOrSubdomain(bare(next.hostname), bare(initial.hostname))) {
        stripped = true
        hdrs = Object.fromEntries(Object.entries(hdrs).filter(([k]) => !SENSITIVE.has(k.toLowerCase())))
      }
      current = next
      continue
    }
    if (res.statusCode === 200 || res.statusCode === 206) {
      const coding = contentCoding(res.headers['content-encoding'])
      if (coding !== undefined) {
        res.close()
        // Retryable: a server asked for identity that encodes anyway is most often a proxy or a
        // CDN on the way, which another attempt (a later one, another route) may not meet; the
        // download gives up after its attempts, naming the encoding.
        throw new RetryableError('CONTENT_ENCODING', `${where}: the server sent Content-Encoding: ${coding} although the request asked for identity: the deal's data must be the bytes as stored`)
      }
    }
    if (res.statusCode === 200 || res.statusCode === 206 || res.statusCode === 416) {
      return { statusCode: res.statusCode, headers: res.headers, body: res, url: current.href }
    }
    const text = (await res.text(4096).catch(() => '')).slice(0, 200).replace(/\s+/g, ' ').trim()
    const detail = text === '' ? '' : `: ${text}`
    if (res.statusCode === 401 || res.statusCode === 403) {
      const sent = basicAuthOf(current, hdrs) !== undefined || Object.keys(hdrs).some((k) => k.toLowerCase() === 'authorization')
      throw new TransferError(TransferErrorCodes.Unauthorized,
        `${where}: HTTP ${res.statusCode}: ${sent ? 'the data server refused the deal\'s credentials (Authorization)' : 'the data server wants credentials, and the deal\'s transfer params give none'}${detail}`, { statusCode: res.statusCode })
    }
    if (res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429) {
      throw new RetryableError('HTTP_' + String(res.statusCode), `${where}: HTTP ${res.statusCode}${detail}`)
    }
    throw new TransferError(TransferErrorCodes.HttpClientError, `${where}: HTTP ${res.statusCode}${detail}`, { statusCode: res.statusCode })
  }
}

const bare = (hostname: string): string => hostname.replace(/^\[|\]$/g, '')

/** Go's net/http isDomainOrSubdomain: `sub` is `parent` or a name under it (never for IPv6 literals). */
export function isDomainOrSubdomain (sub: string, parent: string): boolean {
  if (sub === parent) return true
  if (/[:%]/.test(sub)) return false
  return sub.endsWith(parent) && sub.length > parent.length && sub[sub.length - parent.length - 1] === '.'
}

/**
 * A Content-Encoding header as text for an error when it names a coding other than identity (a
 * list, in any case, over one field or several); undefined when it names none. We send
 * `Accept-Encoding: identity` and store the body as it comes, so any coding would become deal data.
 */
export function contentCoding (v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined
  const values = Array.isArray(v) ? v : [v]
  const codings = values.flatMap((x) => x.split(',')).map((c) => c.trim()).filter((c) => c !== '')
  if (codings.every((c) => c.toLowerCase() === 'identity')) return undefined
  const text = values.join(', ')
  // The header as sent, quoted when it holds anything but printable ASCII.
  return /^[\x20-\x7e]{1,100}$/.test(text) ? text : shown(text)
}

/**
 * Parses `Content-Range: bytes a-b/total` (total may be `*`). The unit in any case: range units
 * are case-insensitive (RFC 9110 §14.1), and a server sending `Bytes` made every resume restart.
 * A range that ends before it starts, or at or past its total, is none (RFC 9110 §14.4: invalid,
 * not to be combined with stored data): one naming a total below what it sent was taken reply
 * after reply up to the piece's capacity (red-team round 42).
 */
export function parseContentRange (v: string | undefined): { start: number, end: number, total: number | undefined } | undefined {
  const m = v === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/i.exec(v.trim())
  if (m === null) return undefined
  const range = { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) }
  if (range.end < range.start || (range.total !== undefined && range.end >= range.total)) return undefined
  return range
}

/** A strong ETag, or undefined (weak validators cannot prove two bodies are the same bytes). */
export function strongEtag (v: string | undefined): string | undefined {
  return v === undefined || v.startsWith('W/') ? undefined : v
}
