/**
 * Lotus's API info, as FULLNODE_API_INFO holds it and `lotus auth api-info` prints it:
 * `TOKEN:/ip4/127.0.0.1/tcp/1234/http`, or an address without a token, or a URL. Read as Lotus's
 * cliutil.ParseApiInfo and APIInfo.DialArgs read it, but for an HTTP client: go-jsonrpc serves the
 * same path over HTTP POST and WebSocket, so ws becomes http and wss https.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { DealyardError } from '../errors.ts'

/** Lotus's infoWithToken: a JWT (three dot-separated base64url parts, the last may be empty), a colon, the address. */
const INFO_WITH_TOKEN = /^[a-zA-Z0-9\-_]+?\.[a-zA-Z0-9\-_]+?\.([a-zA-Z0-9\-_]+)?:.+$/s

export interface ApiEndpoint { url: string, token?: string }

/** Whether `text` is API info rather than a plain URL: it has a token, or is a multiaddr. */
export function isApiInfo (text: string): boolean {
  return INFO_WITH_TOKEN.test(text) || text.startsWith('/')
}

/**
 * The RPC URL and token of API info. A multiaddr address becomes `http(s)://host:port/rpc/<version>`
 * and a URL gets `/rpc/<version>` appended, as Lotus dials them. Errors never repeat the token.
 */
export function parseApiInfo (text: string, version = 'v1'): ApiEndpoint {
  // Lotus reads a comma-separated list of endpoints (ParseApiInfoMulti); one is enough here.
  let addr = text.split(',')[0]!.trim()
  text = addr
  let token: string | undefined
  if (INFO_WITH_TOKEN.test(text)) {
    const i = text.indexOf(':')
    token = text.slice(0, i)
    addr = text.slice(i + 1)
  }
  const withToken = token === undefined ? '' : ' (after its token)'
  if (addr.startsWith('/')) {
    let parts: Array<{ name: string, value?: string }>
    // The parser's own message is not passed on: it repeats the address's parts, a token among them
    // when it was not where a token goes.
    try { parts = multiaddr(addr).getComponents() } catch (err) {
      throw new DealyardError('ERR_LOTUS_API_INFO', `API info: the address${withToken} is not a multiaddr (Lotus's form: TOKEN:/ip4/<host>/tcp/<port>/http)`, { cause: err })
    }
    const host = parts[0]
    const tcp = parts[1]
    if (host === undefined || !['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(host.name) || tcp?.name !== 'tcp') {
      throw new DealyardError('ERR_LOTUS_API_INFO', `API info: the address${withToken} must start /ip4|ip6|dns…/HOST/tcp/PORT`)
    }
    const secure = parts.slice(2).some((p) => p.name === 'https' || p.name === 'wss' || p.name === 'tls')
    const h = host.name === 'ip6' ? `[${host.value ?? ''}]` : host.value ?? ''
    return { url: `${secure ? 'https' : 'http'}://${h}:${tcp.value ?? ''}/rpc/${version}`, ...(token !== undefined ? { token } : {}) }
  }
  const u = URL.parse(addr)
  if (u === null || !['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) {
    throw new DealyardError('ERR_LOTUS_API_INFO', `API info: the address${withToken} is neither a multiaddr nor an http(s) or ws(s) URL`)
  }
  const scheme = u.protocol === 'ws:' ? 'http:' : u.protocol === 'wss:' ? 'https:' : u.protocol
  const base = `${scheme}${addr.slice(u.protocol.length).replace(/\/+$/, '')}`
  // One that names the RPC path already is taken as it is (lotus would append a second one).
  return { url: /\/rpc\/v\d+$/.test(base) ? base : `${base}/rpc/${version}`, ...(token !== undefined ? { token } : {}) }
}
