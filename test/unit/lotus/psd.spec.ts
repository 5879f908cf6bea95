import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dealIdAt, publishStorageDealsMessage, publishStorageDealsParams } from '../../../src/lotus/index.ts'
import { b64, fixtures } from './fixtures.ts'

describe('PublishStorageDeals params', () => {
  it('wraps encoded ClientDealProposals into the same bytes go-state-types marshals', () => {
    const items = fixtures.publishParams.items.map(b64)
    assert.deepEqual(publishStorageDealsParams(items), b64(fixtures.publishParams.params))
  })

  it('writes 1- and 2-byte array headers for larger batches', () => {
    const item = b64(fixtures.publishParams.items[0]!)
    for (const [n, header] of [[23, [0x97]], [24, [0x98, 24]], [300, [0x99, 1, 44]]] as const) {
      const p = publishStorageDealsParams(Array.from({ length: n }, () => item))
      assert.deepEqual([...p.subarray(0, 1 + header.length)], [0x81, ...header])
      assert.equal(p.length, 1 + header.length + n * item.length)
    }
  })

  it('refuses an empty batch and items that are not one ClientDealProposal', () => {
    const item = b64(fixtures.publishParams.items[0]!)
    assert.throws(() => publishStorageDealsParams([]), { code: 'ERR_LOTUS_DECODE' })
    assert.throws(() => publishStorageDealsParams([item.subarray(0, item.length - 1)]), { code: 'ERR_LOTUS_DECODE' })
    assert.throws(() => publishStorageDealsParams([Uint8Array.of(...item, 0x00)]), { code: 'ERR_LOTUS_DECODE' })
    assert.throws(() => publishStorageDealsParams([Uint8Array.of(0x82, 0x1f, 0x00)]), { code: 'ERR_LOTUS_DECODE' })
  })

  it('addresses the message to the market actor, method 4, value 0', () => {
    const m = publishStorageDealsMessage('f01001', Uint8Array.of(0x81, 0x80))
    assert.deepEqual({ to: m.to, method: m.method, value: m.value }, { to: 'f05', method: 4, value: 0n })
  })

  it('maps input indexes to deal IDs through ValidDeals', () => {
    const r = { ids: [100, 101, 102], validDeals: [0, 2, 3] }
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => dealIdAt(r, i)), [100, undefined, 101, 102, undefined])
  })
})
