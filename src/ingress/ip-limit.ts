/**
 * How many connections one address may hold open on the ingress, counted from the moment its TCP
 * socket is accepted (before the noise handshake) until the socket closes.
 *
 * Why: libp2p's own limits are global. A host that opens sockets and sends nothing holds each one
 * for the whole inbound upgrade timeout (10 s), so a hundred silent sockets from one machine, opened
 * under the per-host rate limit, filled every pending slot and every honest client's dial was reset.
 * go-libp2p's resource manager (which boost runs behind) caps connections per subnet for the same
 * reason; the defaults here are its: 8 per IPv4 address, 8 per IPv6 /56 and 64 per IPv6 /48, with
 * loopback exempt. Pure: addresses in, decisions out.
 */
import { cidrContains, parseCidr, parseIp, type Cidr } from '../policy/transfer-host.ts'

export interface IpLimitOptions {
  /** Connections per IPv4 address and per IPv6 /56 (eight times as many per /48); 0 = no limit. */
  perIp: number
  /** Ranges never limited (CIDR text). */
  exempt: readonly string[]
}

export const DEFAULT_CONNECTIONS_PER_IP = 8
export const DEFAULT_IP_LIMIT_EXEMPT: readonly string[] = ['127.0.0.0/8', '::1/128']

/** A held slot: give it back once, when the connection closes (later calls do nothing). */
export type Release = () => void

export type Admission = { ok: true, release: Release } | { ok: false, reason: string }

export class ConnectionsPerIp {
  private readonly perIp: number
  private readonly exempt: Cidr[]
  /** Subnet key → connections held in it. */
  private readonly held = new Map<string, number>()

  constructor (o: IpLimitOptions) {
    if (!Number.isInteger(o.perIp) || o.perIp < 0) throw new Error(`connections per IP must be a whole number ≥ 0, got ${o.perIp}`)
    this.perIp = o.perIp
    this.exempt = o.exempt.map(parseCidr)
  }

  /** Takes a slot for a connection from `address` (as a socket reports it), or says why not. */
  admit (address: string): Admission {
    if (this.perIp === 0) return { ok: true, release: () => {} }
    const ip = parseIp(address)
    // An address we cannot parse is not one a TCP socket reports; refusing it would lock out a
    // client over our own bug, so it passes unlimited.
    if (ip === undefined || this.exempt.some((c) => cidrContains(c, ip))) return { ok: true, release: () => {} }
    const limits = subnetLimits(ip, this.perIp)
    for (const [key, max] of limits) {
      if ((this.held.get(key) ?? 0) >= max) return { ok: false, reason: `${max} connections already open from ${subnetName(key)}` }
    }
    for (const [key] of limits) this.held.set(key, (this.held.get(key) ?? 0) + 1)
    let released = false
    return {
      ok: true,
      release: () => {
        if (released) return
        released = true
        for (const [key] of limits) {
          const n = (this.held.get(key) ?? 0) - 1
          if (n <= 0) this.held.delete(key)
          else this.held.set(key, n)
        }
      }
    }
  }

  /** Subnets holding at least one connection (for tests and metrics). */
  get size (): number { return this.held.size }
}

const isV4 = (ip: Uint8Array): boolean => ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** The key a client address is counted under: its IPv4 address, or its IPv6 /56. */
export function clientKey (ip: Uint8Array): string {
  return isV4(ip) ? `4/32/${hex(ip.subarray(12))}` : `6/56/${hex(ip.subarray(0, 7))}`
}

function subnetLimits (ip: Uint8Array, perIp: number): Array<[string, number]> {
  if (isV4(ip)) return [[clientKey(ip), perIp]]
  return [[clientKey(ip), perIp], [`6/48/${hex(ip.subarray(0, 6))}`, 8 * perIp]]
}

function subnetName (key: string): string {
  const [family, bits] = key.split('/')
  return family === '4' ? 'this IPv4 address' : `this IPv6 /${bits}`
}
