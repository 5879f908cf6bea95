/**
 * Where a miner's deal endpoint is, from the chain: the peer ID and multiaddrs its owner set with
 * `lotus-miner actor set-peer-id` / `set-addrs`, read with StateMinerInfo, as boost's client finds
 * a provider (cmd/util.go GetAddrInfo; the error texts are boost's).
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { MinerInfo } from '../lotus/types.ts'

/** The miner's on-chain addresses, each ending in /p2p/<its peer ID>, in the order the chain has them. */
export function providerAddrsOf (miner: string, info: Pick<MinerInfo, 'peerId' | 'multiaddrs'>): Multiaddr[] {
  if (info.peerId === null || info.peerId === '') throw new Error(`storage provider ${miner} has no peer ID set on-chain`)
  let peer: string
  try {
    peer = peerIdFromString(info.peerId).toString()
  } catch (err) {
    throw new Error(`storage provider ${miner} has an invalid peer ID on-chain (${JSON.stringify(info.peerId)}): ${(err as Error).message}`)
  }
  const addrs = info.multiaddrs.map((bytes) => {
    let ma: Multiaddr
    try {
      ma = multiaddr(bytes)
    } catch (err) {
      throw new Error(`storage provider ${miner} had invalid multiaddrs in their info: ${(err as Error).message}`)
    }
    const named = ma.getComponents().find((c) => c.name === 'p2p')?.value
    if (named === undefined) return ma.encapsulate(`/p2p/${peer}`)
    if (named !== peer) throw new Error(`storage provider ${miner} had invalid multiaddrs in their info: ${ma.toString()} names peer ${named}, not its peer ID ${peer}`)
    return ma
  })
  if (addrs.length === 0) throw new Error(`storage provider ${miner} has no multiaddrs set on-chain`)
  return addrs
}

/** StateMinerInfo, then providerAddrsOf. */
export async function providerAddrsFromChain (full: { stateMinerInfo: (miner: string) => Promise<MinerInfo> }, miner: string): Promise<Multiaddr[]> {
  return providerAddrsOf(miner, await full.stateMinerInfo(miner))
}
