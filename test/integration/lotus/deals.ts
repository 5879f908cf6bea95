/**
 * Builders for the Lotus integration tests: funded clients with real keys, signed deal proposals
 * encoded by src/protocol (the bytes that go on chain), and piece payloads with their CommP.
 */
import { randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { Address } from '../../../src/filecoin/address.ts'
import { CommPHasher, unpaddedSize } from '../../../src/filecoin/commp/index.ts'
import { generateKey, type PrivateKey } from '../../../src/filecoin/keys.ts'
import { encodeClientDealProposal, proposalCid, signProposal } from '../../../src/protocol/index.ts'
import type { ClientDealProposal, DealProposal } from '../../../src/protocol/index.ts'
import type { DealProposal as LotusDealProposal } from '../../../src/lotus/index.ts'
import type { LotusPeer } from '../../support/lotus-peer.ts'

export const FIL = 10n ** 18n

export interface Client { key: PrivateKey, address: string, id: string }

/** A client with a fresh key, seeded on the peer with wallet balance and market escrow. */
export async function fundedClient (peer: LotusPeer, type: 'secp256k1' | 'bls', escrow = 10n * FIL, datacap?: bigint): Promise<Client> {
  const key = generateKey(type)
  const address = key.address.toString('t')
  const res = await peer.seed({ accounts: [{ address, balance: 100n * FIL, escrow, ...(datacap !== undefined ? { datacap } : {}) }] })
  return { key, address, id: res.accounts[0]!.id }
}

export interface Piece { payload: Uint8Array, pieceCid: string, paddedSize: number, unpaddedSize: number }

/** Random payload bytes and the CommP of payload + zeros up to the piece size. */
export function makePiece (payloadBytes: number, paddedSize: number): Piece {
  const payload = new Uint8Array(randomBytes(payloadBytes))
  const h = new CommPHasher({ workers: 0 })
  h.update(payload)
  return { payload, pieceCid: h.digest(paddedSize).pieceCid, paddedSize, unpaddedSize: unpaddedSize(paddedSize) }
}

export interface DealOptions {
  client: Client
  provider: string
  pieceCid: string
  pieceSize: number
  start: number
  duration?: number
  price?: bigint
  providerCollateral?: bigint
  verified?: boolean
  label?: string
}

export interface SignedDeal { signed: ClientDealProposal, cbor: Uint8Array, proposalCid: string, lotus: LotusDealProposal }

export function signedDeal (o: DealOptions): SignedDeal {
  const p: DealProposal = {
    pieceCid: CID.parse(o.pieceCid),
    pieceSize: o.pieceSize,
    verifiedDeal: o.verified ?? false,
    client: Address.fromString(o.client.address),
    provider: Address.fromString(o.provider),
    label: { kind: 'string', value: o.label ?? 'bafkqaaa' },
    startEpoch: o.start,
    endEpoch: o.start + (o.duration ?? 518_400),
    storagePricePerEpoch: o.price ?? 1000n,
    providerCollateral: o.providerCollateral ?? 0n,
    clientCollateral: 0n
  }
  const signed = signProposal(p, o.client.key)
  return {
    signed,
    cbor: encodeClientDealProposal(signed),
    proposalCid: proposalCid(p).toString(),
    lotus: {
      pieceCid: o.pieceCid, pieceSize: p.pieceSize, verifiedDeal: p.verifiedDeal, client: o.client.address,
      provider: o.provider, label: o.label ?? 'bafkqaaa', startEpoch: p.startEpoch, endEpoch: p.endEpoch,
      storagePricePerEpoch: p.storagePricePerEpoch, providerCollateral: p.providerCollateral, clientCollateral: p.clientCollateral
    }
  }
}

/** Strips the network prefix so f01000 and t01000 compare equal. */
export function addr (a: string): string {
  return a.slice(1)
}
