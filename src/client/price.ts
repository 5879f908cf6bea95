/**
 * What a proposal's price may be taken from. Pure.
 */
import { DealyardError } from '../errors.ts'
import { Address } from '../filecoin/address.ts'
import type { StorageAsk } from '../protocol/types.ts'

/**
 * The price per GiB per epoch a proposal takes from the provider's ask: refused when the ask is
 * another miner's, has expired (when the head is known), or asks more than the client's bound.
 */
export function priceFromAsk (ask: StorageAsk | null, o: { provider: string, verified: boolean, head: number | undefined, max: bigint | undefined }): bigint {
  if (ask === null) throw new DealyardError('ERR_ASK', `the provider has no ask for ${o.provider} to take the price from: give --storage-price`)
  if (!ask.miner.equals(Address.fromString(o.provider))) {
    throw new DealyardError('ERR_ASK', `the provider's ask is miner ${ask.miner.toString()}'s, not ${o.provider}'s: its price is not taken (give --storage-price)`)
  }
  if (o.head !== undefined && ask.expiry < o.head) {
    throw new DealyardError('ERR_ASK', `the provider's ask expired at epoch ${ask.expiry} (the head is ${o.head}): its price is not taken (give --storage-price)`)
  }
  const price = o.verified ? ask.verifiedPrice : ask.price
  if (o.max !== undefined && price > o.max) {
    throw new DealyardError('ERR_ASK', `the provider asks ${price} attoFIL per GiB per epoch${o.verified ? ' for verified deals' : ''}, above --max-storage-price ${o.max}`)
  }
  return price
}
