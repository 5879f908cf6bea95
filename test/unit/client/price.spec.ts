import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { priceFromAsk } from '../../../src/client/price.ts'
import { DealyardError } from '../../../src/errors.ts'
import { Address } from '../../../src/filecoin/address.ts'
import type { StorageAsk } from '../../../src/protocol/types.ts'

const ask = (over: Partial<StorageAsk> = {}): StorageAsk => ({
  price: 500n, verifiedPrice: 7n, minPieceSize: 256, maxPieceSize: 1 << 30, miner: Address.fromString('f01000'), timestamp: 100, expiry: 5000, seqNo: 1, ...over
})
const refused = (re: RegExp) => (err: unknown): boolean => err instanceof DealyardError && err.code === 'ERR_ASK' && re.test(err.message)

describe('the price a proposal takes from the ask', () => {
  it('takes the ask\'s price, or its verified price for a verified deal', () => {
    assert.equal(priceFromAsk(ask(), { provider: 'f01000', verified: false, head: 4000, max: undefined }), 500n)
    assert.equal(priceFromAsk(ask(), { provider: 'f01000', verified: true, head: 4000, max: undefined }), 7n)
    // t and f name the same miner; no head known: expiry not judged.
    assert.equal(priceFromAsk(ask({ expiry: 1 }), { provider: 't01000', verified: false, head: undefined, max: 500n }), 500n)
  })

  it('refuses an ask for another miner, an expired ask, one above the client\'s bound, and no ask at all', () => {
    assert.throws(() => priceFromAsk(ask({ miner: Address.fromString('f09999') }), { provider: 'f01000', verified: false, head: 1, max: undefined }), refused(/miner f09999's, not f01000's/))
    assert.throws(() => priceFromAsk(ask(), { provider: 'f01000', verified: false, head: 5001, max: undefined }), refused(/expired at epoch 5000 \(the head is 5001\)/))
    assert.throws(() => priceFromAsk(ask({ price: 10n ** 30n }), { provider: 'f01000', verified: false, head: 1, max: 10n ** 18n }), refused(/asks 1000000000000000000000000000000 attoFIL per GiB per epoch, above --max-storage-price 1000000000000000000/))
    assert.throws(() => priceFromAsk(ask(), { provider: 'f01000', verified: true, head: 1, max: 6n }), refused(/asks 7 attoFIL per GiB per epoch for verified deals/))
    assert.throws(() => priceFromAsk(null, { provider: 'f01000', verified: false, head: 1, max: undefined }), refused(/no ask for f01000/))
  })
})
