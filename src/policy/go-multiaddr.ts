/**
 * go-multiaddr v0.16.1 as boost v2.5.2 reads a libp2p:// transfer URL's multiaddr: NewMultiaddr's
 * string parser with its error texts, Multiaddr.String(), and manet.DialArgs (which maurl.ToURL
 * takes the host from). A port rather than @multiformats/multiaddr because the two disagree on
 * what parses (js checks a peer ID's key, Go only its multihash; js has no 'httpath') and on every
 * error text, and boost sends those texts to the client.
 *
 * Every protocol's transcoder is ported with its error texts, and the decoders under them
 * (go-cid.ts, go-multibase.ts). One text differs: a garlic address that decodes to too few bytes,
 * which Go prints raw, is printed here as UTF-8.
 */
import { base58btc } from 'multiformats/bases/base58'
import { castMultihash, decodeCid, fromB58String } from './go-cid.ts'
import { B64_I2P, base32Encode, base64Encode, corrupt32, corrupt64, goBase32, goBase64, multibaseDecode, RFC4648 } from './go-multibase.ts'
import { goParseIP, goQueryEscape, goQueryUnescape, goQuoteString } from './go-url.ts'
import { isIpv4 } from './transfer-host.ts'

/** One component: its protocol and Value() as Go prints it ('' for a protocol without one). */
export interface GoComponent {
  name: string
  code: number
  value: string
  /** Bytes of the value in the binary form. */
  size: number
}

/** A transcoder's refusal: its message is the text of the Go error. */
class GoValueError extends Error {}

type Transcoder = (s: string) => { value: string, size: number }

interface Protocol {
  name: string
  code: number
  /** Bits of a fixed-size value; VAR for a length-prefixed one; 0 for none. */
  size: number
  /** A path protocol takes the rest of the address as its value. */
  path?: boolean
  stb?: Transcoder
}

const VAR = -1
const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8')

// ---- transcoders --------------------------------------------------------------------------------

/** strconv.ParseUint(s, 10, bits), with its NumError texts. */
function parseUint (s: string, bits: number): bigint {
  const fail = (why: string): GoValueError => new GoValueError(`strconv.ParseUint: parsing ${goQuoteString(s)}: ${why}`)
  if (s === '') throw fail('invalid syntax')
  const max = (1n << BigInt(bits)) - 1n
  let n = 0n
  for (const c of Buffer.from(s, 'utf8')) {
    if (c < 0x30 || c > 0x39) throw fail('invalid syntax')
    n = n * 10n + BigInt(c - 0x30)
    if (n > max) throw fail('value out of range')
  }
  return n
}

const dotted = (ip: Uint8Array): string => Array.from(ip.subarray(12)).join('.')

/** net.IP.String() of an IPv6 address that is not IPv4-mapped: RFC 5952, the first longest zero run cut. */
function ipv6String (ip: Uint8Array): string {
  const g = Array.from({ length: 8 }, (_, i) => ip[2 * i]! << 8 | ip[2 * i + 1]!)
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) [best, bestLen] = [i, j - i]
    i = j === i ? i + 1 : j
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(':')
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`
}

const ip4: Transcoder = (s) => {
  const ip = goParseIP(s)
  if (ip === undefined || !isIpv4(ip)) throw new GoValueError(`failed to parse ip4 addr: ${s}`)
  return { value: dotted(ip), size: 4 }
}

const ip6: Transcoder = (s) => {
  const ip = goParseIP(s)
  if (ip === undefined) throw new GoValueError(`failed to parse ip6 addr: ${s}`)
  // go-multiaddr's ip6BtS writes an IPv4-mapped address as ::ffff:a.b.c.d (net.IP would drop the prefix).
  return { value: isIpv4(ip) ? `::ffff:${dotted(ip)}` : ipv6String(ip), size: 16 }
}

const ip6zone: Transcoder = (s) => {
  if (s === '') throw new GoValueError('empty ip6zone')
  return { value: s, size: byteLength(s) }
}

const port: Transcoder = (s) => {
  let n: bigint
  try { n = parseUint(s, 16) } catch (err) { throw new GoValueError(`failed to parse port addr: ${(err as Error).message}`) }
  return { value: n.toString(), size: 2 }
}

const uint = (bits: number): Transcoder => (s) => ({ value: parseUint(s, bits).toString(), size: bits / 8 })

const dns: Transcoder = (s) => {
  // A '/' cannot reach a value: the address was split on it.
  if (s === '') throw new GoValueError('empty dns addr')
  return { value: s, size: byteLength(s) }
}

const httpPath: Transcoder = (s) => {
  const r = goQueryUnescape(s)
  if ('error' in r) throw new GoValueError(r.error)
  if (r.bytes === '') throw new GoValueError('empty http path is not allowed')
  return { value: goQueryEscape(r.bytes), size: r.bytes.length }
}

/** Raw bytes kept as written: unix paths and boost's maurl 'httpath' (which refuses only a '/'). */
const raw: Transcoder = (s) => ({ value: s, size: byteLength(s) })

/** Splits "host:port" for onion addresses; Go requires exactly one ':'. */
function onionParts (s: string): [string, string] {
  const parts = s.split(':')
  if (parts.length !== 2) throw new GoValueError(`failed to parse onion addr: ${s} does not contain a port number`)
  return parts as [string, string]
}

function onionPort (p: string): number {
  let n: bigint
  try { n = parseUint(p, 16) } catch (err) { throw new GoValueError(`failed to parse onion addr: ${(err as Error).message}`) }
  if (n === 0n) throw new GoValueError('failed to parse onion addr: non-zero port')
  return Number(n)
}

const onion: Transcoder = (s) => {
  const [host, p] = onionParts(s)
  const b = goBase32(host.toUpperCase(), RFC4648, { padded: true, caseInsensitive: false })
  if (typeof b === 'number') throw new GoValueError(`failed to decode base32 onion addr: ${s} ${corrupt32(b)!}`)
  if (b.length !== 10) throw new GoValueError(`failed to parse onion addr: ${s} not a Tor onion address`)
  return { value: `${base32Encode(b, RFC4648).toLowerCase()}:${onionPort(p)}`, size: 12 }
}

const onion3: Transcoder = (s) => {
  const [host, p] = onionParts(s)
  if (byteLength(host) !== 56) throw new GoValueError(`failed to parse onion addr: ${s} not a Tor onionv3 address. len == ${byteLength(host)}`)
  const b = goBase32(host.toUpperCase(), RFC4648, { padded: true, caseInsensitive: false })
  if (typeof b === 'number') throw new GoValueError(`failed to decode base32 onion addr: ${s} ${corrupt32(b)!}`)
  return { value: `${base32Encode(b.subarray(0, 35), RFC4648).toLowerCase()}:${onionPort(p)}`, size: 37 }
}

const garlic32: Transcoder = (s) => {
  const alphabet = RFC4648.toLowerCase()
  const padded = s + '='.repeat((8 - byteLength(s) % 8) % 8)
  const b = goBase32(padded, alphabet, { padded: true, caseInsensitive: false })
  if (typeof b === 'number') throw new GoValueError(`failed to decode base32 garlic addr: ${padded}, err: ${corrupt32(b)!} len: ${byteLength(padded)}`)
  // Go prints the decoded bytes as they are; here they are read as UTF-8.
  if (b.length < 35 && b.length !== 32) throw new GoValueError(`failed to validate garlic addr: ${Buffer.from(b).toString('utf8')} not an i2p base32 address. len: ${b.length}`)
  return { value: base32Encode(b, alphabet).replace(/=+$/, ''), size: b.length }
}

const garlic64: Transcoder = (s) => {
  const b = goBase64(s, B64_I2P, true)
  if (typeof b === 'number') throw new GoValueError(`failed to decode base64 i2p addr: ${s} ${corrupt64(b)!}`)
  // Go prints the decoded bytes as they are; here they are read as UTF-8.
  if (b.length < 386) throw new GoValueError(`failed to validate garlic addr: ${Buffer.from(b).toString('utf8')} not an i2p base64 address. len: ${b.length}`)
  return { value: base64Encode(b, B64_I2P), size: b.length }
}

/** certHashStB: a multibase-encoded multihash; Value() is it in base64url. */
const certhash: Transcoder = (s) => {
  const data = multibaseDecode(s)
  if (typeof data === 'string') throw new GoValueError(data)
  const m = castMultihash(data)
  if (typeof m === 'string') throw new GoValueError(m)
  return { value: 'u' + Buffer.from(data).toString('base64url'), size: data.length }
}

// ---- p2p ----------------------------------------------------------------------------------------

/** p2pVal: a peer ID is a sha2-256 (32-byte) or identity multihash. */
function p2pVal (b: Uint8Array): void {
  const m = castMultihash(b)
  if (typeof m === 'string') throw new GoValueError(`invalid multihash: ${m}`)
  if (m.code !== 0x12n && m.code !== 0n) throw new GoValueError(`invalid multihash code ${m.code} expected sha-256 or identity`)
  if (m.code === 0x12n && m.length !== 32) throw new GoValueError(`invalid digest length ${m.length} for sha256 addr: expected 32`)
}

/** p2pStB: a base58 multihash ("Qm…", "1…") or a libp2p-key CID; Value() is the base58 multihash. */
const p2p: Transcoder = (s) => {
  let hash: Uint8Array
  if (s.startsWith('Qm') || s.startsWith('1')) {
    const b = fromB58String(s)
    if (typeof b === 'string') throw new GoValueError(`failed to parse p2p addr: ${s} ${b}`)
    hash = b
  } else {
    const c = decodeCid(s)
    if (typeof c === 'string') throw new GoValueError(`failed to parse p2p addr: ${s} ${c}`)
    if (c.codec !== 0x72n) throw new GoValueError(`failed to parse p2p addr: ${s} has the invalid codec ${c.codec}`)
    hash = c.hash
  }
  p2pVal(hash)
  return { value: base58btc.baseEncode(hash), size: hash.length }
}

// ---- protocols ----------------------------------------------------------------------------------

const PROTOCOLS: readonly Protocol[] = [
  { name: 'ip4', code: 4, size: 32, stb: ip4 },
  { name: 'tcp', code: 6, size: 16, stb: port },
  { name: 'dns', code: 53, size: VAR, stb: dns },
  { name: 'dns4', code: 54, size: VAR, stb: dns },
  { name: 'dns6', code: 55, size: VAR, stb: dns },
  { name: 'dnsaddr', code: 56, size: VAR, stb: dns },
  { name: 'udp', code: 273, size: 16, stb: port },
  { name: 'dccp', code: 33, size: 16, stb: port },
  { name: 'ip6', code: 41, size: 128, stb: ip6 },
  { name: 'ip6zone', code: 42, size: VAR, stb: ip6zone },
  { name: 'ipcidr', code: 43, size: 8, stb: uint(8) },
  { name: 'sctp', code: 132, size: 16, stb: port },
  { name: 'p2p-circuit', code: 290, size: 0 },
  { name: 'onion', code: 444, size: 96, stb: onion },
  { name: 'onion3', code: 445, size: 296, stb: onion3 },
  { name: 'garlic64', code: 446, size: VAR, stb: garlic64 },
  { name: 'garlic32', code: 447, size: VAR, stb: garlic32 },
  { name: 'utp', code: 302, size: 0 },
  { name: 'udt', code: 301, size: 0 },
  { name: 'quic', code: 460, size: 0 },
  { name: 'quic-v1', code: 461, size: 0 },
  { name: 'webtransport', code: 465, size: 0 },
  { name: 'certhash', code: 466, size: VAR, stb: certhash },
  { name: 'http', code: 480, size: 0 },
  { name: 'http-path', code: 481, size: VAR, stb: httpPath },
  { name: 'https', code: 443, size: 0 },
  { name: 'p2p', code: 421, size: VAR, stb: p2p },
  { name: 'unix', code: 400, size: VAR, path: true, stb: raw },
  { name: 'p2p-webrtc-direct', code: 276, size: 0 },
  { name: 'tls', code: 448, size: 0 },
  { name: 'sni', code: 449, size: VAR, stb: dns },
  { name: 'noise', code: 454, size: 0 },
  { name: 'ws', code: 477, size: 0 },
  { name: 'wss', code: 478, size: 0 },
  { name: 'plaintextv2', code: 7367777, size: 0 },
  { name: 'webrtc-direct', code: 280, size: 0 },
  { name: 'webrtc', code: 281, size: 0 },
  { name: 'memory', code: 777, size: 64, stb: uint(64) },
  // Registered by go-libipni's maurl package, which boost imports.
  { name: 'httpath', code: 0x300200, size: VAR, stb: raw }
]

const byName = new Map<string, Protocol>([...PROTOCOLS.map((p): [string, Protocol] => [p.name, p]), ['ipfs', PROTOCOLS.find((p) => p.name === 'p2p')!]])

const varintLength = (n: number): number => n < 0x80 ? 1 : 1 + varintLength(Math.floor(n / 0x80))

/** A component's length in the binary form. */
function encodedLength (c: GoComponent): number {
  const p = byName.get(c.name)!
  return varintLength(c.code) + (p.size === VAR ? varintLength(c.size) : 0) + c.size
}

// ---- parse, String, DialArgs --------------------------------------------------------------------

/** multiaddr.NewMultiaddr(s): the components, or the error text. */
export function parseGoMultiaddr (input: string): { components: GoComponent[] } | { error: string } {
  const s = input.replace(/\/+$/, '')
  const q = goQuoteString(s)
  let sp = s.split('/')
  if (sp[0] !== '') return { error: `failed to parse multiaddr ${q}: must begin with /` }
  sp = sp.slice(1)
  if (sp.length === 0) return { error: `failed to parse multiaddr ${q}: empty multiaddr` }
  const components: GoComponent[] = []
  while (sp.length > 0) {
    const p = byName.get(sp[0]!)
    if (p === undefined) return { error: `failed to parse multiaddr ${q}: unknown protocol ${sp[0]!}` }
    sp = sp.slice(1)
    if (p.size === 0) {
      components.push({ name: p.name, code: p.code, value: '', size: 0 })
      continue
    }
    if (sp.length < 1) return { error: `failed to parse multiaddr ${q}: unexpected end of multiaddr` }
    if (p.path === true) sp = ['/' + sp.join('/')]
    try {
      const { value, size } = p.stb!(sp[0]!)
      components.push({ name: p.name, code: p.code, value, size })
    } catch (err) {
      if (!(err instanceof GoValueError)) throw err
      return { error: `failed to parse multiaddr ${q}: invalid value ${goQuoteString(sp[0]!)} for protocol ${p.name}: ${err.message}` }
    }
    sp = sp.slice(1)
  }
  // NewMultiaddrBytes reads the bytes back, and refuses a length-prefixed value of no bytes (only
  // 'httpath' takes an empty value), counting the bytes left from it to the end.
  for (let i = 0; i < components.length; i++) {
    const c = components[i]!
    if (byName.get(c.name)!.size !== VAR || c.size > 0) continue
    const left = components.slice(i + 1).reduce((n, x) => n + encodedLength(x), 0)
    return { error: `invalid value for size ${left}` }
  }
  return { components }
}

/** Multiaddr.String(): "/name/value" per component, a path value's own '/' not doubled. */
function goMultiaddrString (components: readonly GoComponent[]): string {
  return components.map((c) => {
    if (c.value === '') return `/${c.name}`
    return byName.get(c.name)!.path === true && c.value.startsWith('/') ? `/${c.name}${c.value}` : `/${c.name}/${c.value}`
  }).join('')
}

/**
 * manet.DialArgs(m)'s host: "ip", "ip:port" or "[ip6]:port" from a leading ip4/ip6 (with any
 * ip6zone) or dns name and an optional tcp/udp port; a unix path as is. Anything else is not a
 * "thin waist" address; what follows the port is ignored.
 */
function goDialArgsHost (m: readonly GoComponent[]): { host: string } | { error: string } {
  let zone = ''
  let network = ''
  let ip = ''
  let portValue = ''
  let hostname = false
  scan: for (const c of m) {
    if (network === '') {
      switch (c.name) {
        case 'ip6zone':
          if (zone !== '') return { error: `${goMultiaddrString(m)} has multiple zones` }
          zone = c.value
          continue
        case 'ip6': network = 'ip6'; ip = c.value; continue
        case 'ip4':
          if (zone !== '') return { error: `${goMultiaddrString(m)} has ip4 with zone` }
          network = 'ip4'; ip = c.value; continue
        case 'dns': network = 'ip'; hostname = true; ip = c.value; continue
        case 'dns4': network = 'ip4'; hostname = true; ip = c.value; continue
        case 'dns6': network = 'ip6'; hostname = true; ip = c.value; continue
        case 'unix': network = 'unix'; ip = c.value; break scan
      }
      break
    }
    if (c.name === 'tcp' || c.name === 'udp') {
      network = c.name + (network === 'ip' ? '' : network.slice(2))
      portValue = c.value
    }
    break
  }
  if (hostname) return { host: portValue === '' ? ip : `${ip}:${portValue}` }
  switch (network) {
    case 'ip4': return { host: ip }
    case 'ip6': return { host: zone === '' ? ip : `${ip}%${zone}` }
    case 'tcp4': case 'udp4': return { host: `${ip}:${portValue}` }
    case 'tcp6': case 'udp6': return { host: `[${zone === '' ? ip : `${ip}%${zone}`}]:${portValue}` }
    case 'unix': return { host: ip }
    default: return { error: `${goMultiaddrString(m)} is not a 'thin waist' address` }
  }
}

/** maurl.ToURL(m).Host: DialArgs' host, a bare IPv6 address (not IPv4-mapped) in brackets. */
export function goMaurlHost (m: readonly GoComponent[]): { host: string } | { error: string } {
  const r = goDialArgsHost(m)
  if ('error' in r) return r
  const ip = goParseIP(r.host)
  return ip !== undefined && !isIpv4(ip) ? { host: `[${r.host}]` } : r
}
