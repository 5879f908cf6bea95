/**
 * Which addresses a transfer may connect to (SSRF guard). A deal's data URL comes from the client,
 * so without this check a client could make the provider fetch from its own cluster: the API
 * server, a metadata service, a Lotus node. The transfer program applies it to every address a
 * host name resolves to, at connect time and after each redirect; the ingress admission applies it
 * to literal addresses in proposals. Pure: no DNS, no sockets.
 */

export interface TransferHostPolicy {
  /** Ranges allowed though refused by default (the local demo allows 127.0.0.0/8); see checkTransferAddress. */
  allowCidrs: readonly string[]
  /** Ranges refused on top of the defaults (the cluster's service and pod CIDRs), inside allowed ranges too when as narrow or narrower. */
  denyCidrs: readonly string[]
}

export interface Violation {
  /** CamelCase, stable. */
  reason: string
  message: string
}

/** Reasons, one per refused class of address. */
export const Reasons = {
  /** Not an IP address at all (a resolver returned garbage). */
  InvalidAddress: 'InvalidAddress',
  LoopbackAddress: 'LoopbackAddress',
  LinkLocalAddress: 'LinkLocalAddress',
  /** RFC 1918, IPv6 ULA (fc00::/7) and carrier-grade NAT (100.64.0.0/10). */
  PrivateAddress: 'PrivateAddress',
  UnspecifiedAddress: 'UnspecifiedAddress',
  MulticastAddress: 'MulticastAddress',
  /** 240.0.0.0/4 and the broadcast address. */
  ReservedAddress: 'ReservedAddress',
  /** Inside one of the policy's `denyCidrs`. */
  DeniedCidr: 'DeniedCidr'
} as const

export const defaultTransferHostPolicy: TransferHostPolicy = { allowCidrs: [], denyCidrs: [] }

/**
 * `v4`: an IPv4 range (written as one, or as ::ffff:a.b.c.d/n with n ≥ 96). As in Go's net.IPNet,
 * an IPv4 range holds only IPv4 addresses and an IPv6 range only IPv6 ones, so `::/0` is not every
 * IPv4 address too (the 16-byte form maps IPv4 into ::ffff:0:0/96).
 */
export interface Cidr { text: string, bytes: Uint8Array, bits: number, v4: boolean }

/** Whether a 16-byte address (parseIp's form) is an IPv4 address (::ffff:a.b.c.d). */
export function isIpv4 (ip: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false
  return ip[10] === 0xff && ip[11] === 0xff
}

/** Parses an IPv4 or IPv6 address into 16 bytes (IPv4 as ::ffff:a.b.c.d), or undefined. */
export function parseIp (text: string): Uint8Array | undefined {
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1)
  if (!text.includes(':')) {
    const v4 = parseIpv4(text)
    if (v4 === undefined) return undefined
    const out = new Uint8Array(16)
    out[10] = 0xff; out[11] = 0xff
    out.set(v4, 12)
    return out
  }
  return parseIpv6(text)
}

function parseIpv4 (text: string): Uint8Array | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    out[i] = n
  }
  return out
}

function parseIpv6 (text: string): Uint8Array | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (s: string): number[] | undefined => {
    if (s === '') return []
    const out: number[] = []
    const parts = s.split(':')
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p)
        if (v4 === undefined) return undefined
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined
        out.push(parseInt(p, 16))
      }
    }
    return out
  }
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  const fill = 8 - head.length - tail.length
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail]
  const out = new Uint8Array(16)
  all.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff })
  return out
}

/** Parses `a.b.c.d/n` or `x::y/n`; IPv4 prefixes are mapped into ::ffff:0:0/96. Throws if malformed. */
export function parseCidr (text: string): Cidr {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  // A zone or brackets are an address's (parseIp takes them from resolvers), never a range's (Go's ParseCIDR refuses them).
  const bytes = /[%[\]]/.test(addr) ? undefined : parseIp(addr)
  if (bytes === undefined) throw new Error(`invalid CIDR ${JSON.stringify(text)}: bad address`)
  const v4 = !addr.includes(':')
  const max = v4 ? 32 : 128
  const bits = slash < 0 ? max : Number(text.slice(slash + 1))
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) {
    throw new Error(`invalid CIDR ${JSON.stringify(text)}: bad prefix length`)
  }
  const full = v4 ? bits + 96 : bits
  return { text, bytes, bits: full, v4: v4 || (full >= 96 && isIpv4(bytes)) }
}

/** Whether the 16-byte address (parseIp's form) is inside the range. */
export function cidrContains (c: Cidr, ip: Uint8Array): boolean {
  if (c.v4 !== isIpv4(ip)) return false
  const full = c.bits >> 3
  for (let i = 0; i < full; i++) if (c.bytes[i] !== ip[i]) return false
  const rest = c.bits & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (c.bytes[full]! & mask) === (ip[full]! & mask)
}

const builtin: Array<[string, string, string]> = [
  [Reasons.UnspecifiedAddress, '0.0.0.0/8', 'unspecified'],
  [Reasons.UnspecifiedAddress, '::/128', 'unspecified'],
  [Reasons.LoopbackAddress, '127.0.0.0/8', 'loopback'],
  [Reasons.LoopbackAddress, '::1/128', 'loopback'],
  [Reasons.LinkLocalAddress, '169.254.0.0/16', 'link-local'],
  [Reasons.LinkLocalAddress, 'fe80::/10', 'link-local'],
  [Reasons.PrivateAddress, '10.0.0.0/8', 'private (RFC 1918)'],
  [Reasons.PrivateAddress, '172.16.0.0/12', 'private (RFC 1918)'],
  [Reasons.PrivateAddress, '192.168.0.0/16', 'private (RFC 1918)'],
  [Reasons.PrivateAddress, '100.64.0.0/10', 'carrier-grade NAT'],
  [Reasons.PrivateAddress, 'fc00::/7', 'private (unique local)'],
  [Reasons.PrivateAddress, 'fec0::/10', 'site-local (deprecated, RFC 3879)'],
  // The local-use NAT64 prefix: the IPv4 address it carries sits where the network chose, so the
  // whole prefix is refused (the well-known prefix is judged by its IPv4 address, below).
  [Reasons.PrivateAddress, '64:ff9b:1::/48', 'local-use NAT64 (RFC 8215)'],
  // IPv4-compatible (deprecated, RFC 4291): never a real destination; after :: and ::1 above.
  [Reasons.ReservedAddress, '::/96', 'IPv4-compatible (deprecated)'],
  [Reasons.MulticastAddress, '224.0.0.0/4', 'multicast'],
  [Reasons.MulticastAddress, 'ff00::/8', 'multicast'],
  [Reasons.ReservedAddress, '240.0.0.0/4', 'reserved'],
  [Reasons.ReservedAddress, '192.0.0.0/24', 'reserved (IETF protocol assignments)'],
  [Reasons.ReservedAddress, '198.18.0.0/15', 'reserved (benchmarking)'],
  // Teredo carries its server's and client's IPv4 addresses obfuscated: refused whole.
  [Reasons.ReservedAddress, '2001::/32', 'Teredo'],
  [Reasons.ReservedAddress, '100::/64', 'discard-only'],
  [Reasons.ReservedAddress, '5f00::/16', 'SRv6 SIDs']
]
const builtinCidrs = builtin.map(([reason, cidr, what]) => ({ reason, cidr: parseCidr(cidr), what }))
/**
 * Local-use NAT64 (RFC 8215). Its network-specific prefixes may be /48 to /96 long (RFC 6052 2.2),
 * and where the IPv4 address sits depends on the length, which only the network knows: read with
 * the wrong one, an internal address passes as a public one (and a public one is refused). So only
 * a /96 prefix of it can be allowed, whose layout is fixed; an allowed range shorter than that
 * does not open it.
 */
const LOCAL_NAT64 = parseCidr('64:ff9b:1::/48')

/**
 * Prefixes that carry an IPv4 address a translator or relay connects to, and where in the 16 bytes
 * it sits (`xor`: stored inverted): such an address is judged by that IPv4 address too.
 */
const EMBEDDING: Array<{ cidr: Cidr, at: readonly number[], what: string, xor?: number, except?: Cidr[] }> = [
  // NAT64's well-known prefix (RFC 6052): on an IPv6-only cluster the gateway connects to it.
  { cidr: parseCidr('64:ff9b::/96'), at: [12, 13, 14, 15], what: 'NAT64' },
  // Local-use NAT64 (RFC 8215), refused whole below unless a /96 prefix of it is allowed (see
  // LOCAL_NAT64), then judged by the IPv4 address that prefix carries: a gateway there does
  // translate to non-global addresses, which the well-known one must not.
  { cidr: LOCAL_NAT64, at: [12, 13, 14, 15], what: 'local-use NAT64 (a /96 prefix)' },
  // SIIT's IPv4-translated addresses (RFC 2765).
  { cidr: parseCidr('::ffff:0:0:0/96'), at: [12, 13, 14, 15], what: 'IPv4-translated (SIIT)' },
  // IPv4-compatible (deprecated, RFC 4291), refused whole below unless allowed. :: and ::1 are
  // IPv6's own unspecified and loopback addresses, not IPv4 ones (RFC 4291 2.5.5.1).
  { cidr: parseCidr('::/96'), at: [12, 13, 14, 15], what: 'IPv4-compatible', except: [parseCidr('::/128'), parseCidr('::1/128')] },
  // 6to4 (RFC 3056): a relay connects to the IPv4 address in bits 16–48.
  { cidr: parseCidr('2002::/16'), at: [2, 3, 4, 5], what: '6to4' },
  // Teredo (RFC 4380), refused whole below unless allowed: its server's IPv4 address in bits
  // 32–63, its client's in the last 32, inverted.
  { cidr: parseCidr('2001::/32'), at: [4, 5, 6, 7], what: 'Teredo (server)' },
  { cidr: parseCidr('2001::/32'), at: [12, 13, 14, 15], what: 'Teredo (client)', xor: 0xff }
]

/** A policy with its CIDRs parsed once; build it when the policy is loaded, then check many addresses. */
export interface CompiledPolicy { allow: Cidr[], deny: Cidr[] }

export function compileTransferHostPolicy (policy: TransferHostPolicy): CompiledPolicy {
  return { allow: policy.allowCidrs.map(parseCidr), deny: policy.denyCidrs.map(parseCidr) }
}

/**
 * Checks one resolved address. An address inside an allowCidrs range passes every built-in refusal
 * (the local demo allows loopback), but not a denyCidrs range inside that allowed range: the
 * narrowest range that holds the address decides, and a denied range as narrow as an allowed one
 * wins. So `allow 10.0.0.0/8` for a site's data servers beside `deny 10.96.0.0/12` (the cluster's
 * services) still refuses the services, and allowing one address of a denied range is still
 * possible (`allow 10.96.0.10/32`). Without an allowed range holding it: the built-in refusals,
 * then denyCidrs. IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are the IPv4 address they carry,
 * and an IPv6 address that carries one for a translator or relay (NAT64's well-known prefix and a
 * /96 prefix of the local-use one, SIIT, IPv4-compatible, 6to4, Teredo) is judged by that
 * IPv4 address first, allowed IPv6 range or not, so no such IPv6 form slips past the IPv4 rules
 * (to reach one, allow the IPv4 address, and for the forms refused whole the IPv6 range too). A
 * NAT64 prefix of the network's own choosing outside 64:ff9b:1::/48 cannot be told from ordinary
 * IPv6: deny it, or its forms of the internal ranges.
 */
export function checkTransferAddress (ip: string, policy: TransferHostPolicy | CompiledPolicy): Violation | undefined {
  const compiled = 'allow' in policy ? policy : compileTransferHostPolicy(policy)
  const bytes = parseIp(ip)
  if (bytes === undefined) return { reason: Reasons.InvalidAddress, message: `${JSON.stringify(ip)} is not an IP address` }
  // First, whatever range allows the IPv6 address: the connection reaches the IPv4 address it
  // carries, which the IPv4 rules judge (an allowed 2000::/3 must not open 6to4's loopback).
  for (const e of EMBEDDING) {
    if (!cidrContains(e.cidr, bytes) || e.except?.some((c) => cidrContains(c, bytes)) === true) continue
    const v4 = e.at.map((i) => bytes[i]! ^ (e.xor ?? 0)).join('.')
    const inner = checkTransferAddress(v4, compiled)
    if (inner !== undefined) return { reason: inner.reason, message: `transfer address ${ip} is ${e.what} for ${v4}, judged as that IPv4 address: ${inner.message}` }
  }
  let allowed: Cidr | undefined
  for (const c of compiled.allow) if ((allowed === undefined || c.bits > allowed.bits) && cidrContains(c, bytes)) allowed = c
  if (allowed !== undefined && allowed.bits < 96 && cidrContains(LOCAL_NAT64, bytes)) {
    return { reason: Reasons.PrivateAddress, message: `transfer address ${ip} is local-use NAT64 (${LOCAL_NAT64.text}): allowed range ${allowed.text} is shorter than /96, and only a /96 prefix of it can be allowed (where a shorter prefix puts the IPv4 address is the network's to know)` }
  }
  if (allowed !== undefined) {
    for (const c of compiled.deny) {
      if (c.bits >= allowed.bits && cidrContains(c, bytes)) {
        return { reason: Reasons.DeniedCidr, message: `transfer address ${ip} is in denied range ${c.text} (inside allowed range ${allowed.text}: the narrower range decides)` }
      }
    }
    return undefined
  }
  for (const b of builtinCidrs) {
    if (cidrContains(b.cidr, bytes)) {
      return { reason: b.reason, message: `transfer address ${ip} is ${b.what} (${b.cidr.text}); allow it with allowCidrs` }
    }
  }
  for (const c of compiled.deny) {
    if (cidrContains(c, bytes)) return { reason: Reasons.DeniedCidr, message: `transfer address ${ip} is in denied range ${c.text}` }
  }
  return undefined
}
