import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { isPieceCid, pieceCidFromCommP, refmtRecode } from '../../../src/filecoin/cid.ts'

describe('CID helpers', () => {
  it('recognise CommP piece CIDs and nothing else', () => {
    const p = pieceCidFromCommP(new Uint8Array(32).fill(7))
    assert.equal(isPieceCid(p), true)
    assert.equal(p.toString().startsWith('baga6ea4seaq'), true)
    assert.equal(isPieceCid(CID.parse('bafyreifykhvj53lgtz5wbrvyfrvpc7pijt3ocyaapgncilf63machyvsty')), false)
  })

  it('rewrite empty byte strings to null as refmt does, leaving everything else', () => {
    // [h'', "", h'01', tag42 h'0001550000', [h'']]
    const input = Uint8Array.from([0x85, 0x40, 0x60, 0x41, 0x01, 0xd8, 0x2a, 0x45, 0x00, 0x01, 0x55, 0x00, 0x00, 0x81, 0x40])
    assert.deepEqual(Array.from(refmtRecode(input)), [0x85, 0xf6, 0x60, 0x41, 0x01, 0xd8, 0x2a, 0x45, 0x00, 0x01, 0x55, 0x00, 0x00, 0x81, 0xf6])
  })
})
