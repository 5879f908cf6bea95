/**
 * What a deal holds of its provider's funds and staging space at each checkpoint (boost tags funds
 * from acceptance to publish, staging bytes from acceptance to AddPiece), and the per-provider sums.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { holdingOf, HoldingIndex, type Holding } from '../../../src/policy/index.ts'
import type { StorageDeal } from '../../../src/api/index.ts'

function deal (o: { checkpoint?: string, retry?: string, offline?: boolean, imported?: boolean, provider?: string } = {}): StorageDeal {
  return {
    apiVersion: 'dealyard.io/v1alpha1',
    kind: 'StorageDeal',
    metadata: { name: 'd' },
    spec: {
      provider: o.provider ?? 'sp1',
      isOffline: o.offline ?? false,
      proposal: { providerCollateral: '1000' },
      transfer: o.offline === true ? { type: '', size: 0 } : { type: 'http', size: 1900 },
      ...(o.imported === true ? { dataSource: { path: 'imports/a.car' } } : {})
    },
    ...(o.checkpoint !== undefined || o.retry !== undefined ? { status: { ...(o.checkpoint !== undefined ? { checkpoint: o.checkpoint } : {}), ...(o.retry !== undefined ? { retry: o.retry } : {}) } } : {})
  } as unknown as StorageDeal
}

const held = (h: Holding | undefined): [bigint, boolean, number] | undefined => h === undefined ? undefined : [h.collateral, h.publish, h.stagingBytes]

describe('holdingOf', () => {
  it('follows an online deal through its checkpoints', () => {
    const cases: Array<[string | undefined, [bigint, boolean, number] | undefined]> = [
      [undefined, [1000n, true, 1900]],
      ['Accepted', [1000n, true, 1900]],
      ['Transferred', [1000n, true, 1900]],
      ['Published', [1000n, true, 1900]],
      ['PublishConfirmed', [0n, false, 1900]],
      ['AddedPiece', undefined],
      ['IndexedAndAnnounced', undefined],
      ['Complete', undefined]
    ]
    for (const [checkpoint, want] of cases) {
      assert.deepEqual(held(holdingOf(deal(checkpoint === undefined ? {} : { checkpoint }))), want, String(checkpoint))
    }
  })

  it('holds nothing for a failed deal', () => {
    assert.equal(holdingOf(deal({ checkpoint: 'Transferred', retry: 'fatal' })), undefined)
    assert.deepEqual(held(holdingOf(deal({ checkpoint: 'Transferred', retry: 'auto' }))), [1000n, true, 1900])
  })

  it('holds an offline deal\'s funds only once its data is imported, and never staging space', () => {
    assert.equal(holdingOf(deal({ offline: true })), undefined)
    assert.deepEqual(held(holdingOf(deal({ offline: true, imported: true }))), [1000n, true, 0])
    assert.equal(holdingOf(deal({ offline: true, imported: true, checkpoint: 'PublishConfirmed' })), undefined)
  })
})

describe('HoldingIndex', () => {
  it('keeps per-provider sums as deals change, idempotently', () => {
    const ix = new HoldingIndex()
    const a = holdingOf(deal())
    ix.set('a', a)
    ix.set('a', a)
    ix.set('b', holdingOf(deal({ provider: 'sp2' })))
    ix.set('c', holdingOf(deal({ checkpoint: 'PublishConfirmed' })))
    assert.deepEqual(ix.totals(['sp1']), { collateral: 1000n, publishes: 1, stagingBytes: 3800 })
    assert.deepEqual(ix.totals(['sp1', 'sp2']), { collateral: 2000n, publishes: 2, stagingBytes: 5700 })
    ix.set('a', holdingOf(deal({ checkpoint: 'AddedPiece' })))
    assert.equal(ix.has('a'), false)
    assert.deepEqual(ix.totals(['sp1']), { collateral: 0n, publishes: 0, stagingBytes: 1900 })
    ix.set('c', undefined)
    ix.set('b', undefined)
    assert.deepEqual(ix.totals(['sp1', 'sp2', 'sp3']), { collateral: 0n, publishes: 0, stagingBytes: 0 })
  })
})
