import { lookup as dnsLookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { checkTransferAddress, compileTransferHostPolicy, type TransferHostPolicy } from '../policy/transfer-host.ts'
import { TransferError, TransferErrorCodes } from './errors.ts'

/** Resolves a host name to every address it has (the DNS answer, unfiltered). */
export type Resolver = (hostname: string) => Promise<string[]>

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => a.address)

export interface GuardOptions {
  policy: TransferHostPolicy
  resolver?: Resolver
}

/**
 * Resolves `hostname` and checks every address against the policy: one refused address refuses the
 * host, so a DNS answer mixing a public and an internal address cannot be used to reach the
 * internal one. Returns the address to connect to.
 */
export async function resolveAllowed (hostname: string, policy: ReturnType<typeof compileTransferHostPolicy>, resolver: Resolver): Promise<string> {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
  const addresses = isIP(bare) !== 0 ? [bare] : await resolver(bare)
  if (addresses.length === 0) throw new Error(`${hostname}: no addresses`)
  for (const ip of addresses) {
    const v = checkTransferAddress(ip, policy)
    if (v !== undefined) {
      throw new TransferError(TransferErrorCodes.AddressRefused, `connect to ${hostname}: refused by transfer-host policy: ${v.message} (${v.reason})`)
    }
  }
  return addresses[0]!
}

/**
 * The address check the HTTP client runs before each connection, on the address it then connects
 * to: a check on the URL alone would miss DNS names that resolve internally and redirects to
 * internal hosts, and resolving twice would let DNS answer differently the second time. TLS keeps
 * the original name for SNI and certificate checks (http1.ts).
 */
export function guardedAddress (opts: GuardOptions): (hostname: string) => Promise<string> {
  const policy = compileTransferHostPolicy(opts.policy)
  const resolver = opts.resolver ?? systemResolver
  return async (hostname) => await resolveAllowed(hostname, policy, resolver)
}
