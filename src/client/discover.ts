/**
 * Where a miner's deal endpoint is, from the chain: the peer ID and multiaddrs its owner set with
 * `lotus-miner actor set-peer-id` / `set-addrs`, read with StateMinerInfo, as boost's client finds
 * a provider (cmd/util.go GetAddrInfo; the error texts are boost's).
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { MinerInfo } from '../lotus/types.ts'

/**
 * The miner's on-chain addresses, each ending in /p2p/<its peer ID>, in the order the chain has
 * them. An address naming another peer is left out, as go-libp2p's address book leaves it out;
 * only if none is left is that an error.
 */
export function providerAddrsOf (miner: string, info: Pick<MinerInfo, 'peerId' | 'multiaddrs'>): Multiaddr[] {
  if (info.peerId === null || info.peerId === '') throw new Error(`storage provider ${miner} has no peer ID set on-chain`)
  let peer: string
  try {
    peer = peerIdFromString(info.peerId).toString()
  } catch (err) {
    throw new Error(`storage provider ${miner} has an invalid peer ID on-chain (${JSON.stringify(info.peerId)}): ${(err as Error).message}`)
  }
  const addrs: Multiaddr[] = []
  const foreign: string[] = []
  for (const bytes of info.multiaddrs) {
    let ma: Multiaddr
    try {
      ma = multiaddr(bytes)
    } catch (err) {
      throw new Error(`storage provider ${miner} had invalid multiaddrs in their info: ${(err as Error).message}`)
    }
    const named = ma.getComponents().find((c) => c.name === 'p2p')?.value
    if (named === undefined) addrs.push(ma.encapsulate(`/p2p/${peer}`))
    else if (named === peer) addrs.push(ma)
    else foreign.push(ma.toString())
  }
  if (info.multiaddrs.length === 0) throw new Error(`storage provider ${miner} has no multiaddrs set on-chain`)
  if (addrs.length === 0) throw new Error(`storage provider ${miner} had invalid multiaddrs in their info: each names a peer other than its peer ID ${peer} (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`)
  return addrs
}

/** StateMinerInfo, then providerAddrsOf. */
export async function providerAddrsFromChain (full: { stateMinerInfo: (miner: string) => Promise<MinerInfo> }, miner: string): Promise<Multiaddr[]> {
  return providerAddrsOf(miner, await full.stateMinerInfo(miner))
}
