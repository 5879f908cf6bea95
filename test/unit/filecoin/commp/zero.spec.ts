/**
 * All-zero pieces against Lotus's zero-commitment table (go-commp-utils zerocomm.PieceComms,
 * fixtures/zerocomm.txt): the computed table for every size from 128 B to 2 TiB, and zero payloads
 * actually hashed through the streaming API for every size 128 B … 1 GiB (native) and 128 B … 1 MiB
 * (pure TypeScript, which is slow).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { CommPHasher, commpImplementation, padPieceCommitment, zeroPieceCommitment } from '../../../../src/filecoin/commp/index.ts'
import { TsTree } from '../../../../src/filecoin/commp/tree.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const table = readFileSync(new URL('./fixtures/zerocomm.txt', import.meta.url), 'utf8')
  .split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l))

test('zeroPieceCommitment matches all 35 tabulated sizes, 128 B to 2 TiB', () => {
  assert.equal(table.length, 35)
  table.forEach((want, i) => { assert.equal(hex(zeroPieceCommitment(128 * 2 ** i)), want, `size 2^${i + 7}`) })
})

test('zeroPieceCommitment rejects sizes that are not pieces', () => {
  for (const bad of [0, 64, 100, 129, 3 * 2 ** 20, -128, 2 ** 51]) {
    assert.throws(() => zeroPieceCommitment(bad), { code: 'ERR_COMMP_SIZE' }, String(bad))
  }
})

test('native: zero payloads filling every piece size from 128 B to 1 GiB hash to the table', () => {
  assert.equal(commpImplementation(), 'native')
  const zeros = new Uint8Array(127 << 15)
  for (let i = 0; i <= 23; i++) {
    const padded = 128 * 2 ** i
    // big pieces go through worker threads, small ones through the inline path
    const h = new CommPHasher({ workers: padded >= 64 << 20 ? 2 : 1 })
    for (let left = padded / 128 * 127; left > 0; left -= zeros.length) h.update(zeros.subarray(0, Math.min(left, zeros.length)))
    const r = h.digest()
    assert.equal(r.paddedPieceSize, padded)
    assert.equal(hex(r.digest), table[i], `size ${padded}`)
  }
})

test('typescript: zero payloads from 128 B to 1 MiB hash to the table', () => {
  for (let i = 0; i <= 13; i++) {
    const padded = 128 * 2 ** i
    const t = new TsTree()
    t.update(new Uint8Array(padded / 128 * 127))
    assert.equal(hex(t.digest(i + 2)), table[i], `size ${padded}`)
  }
})

test('padPieceCommitment grows a zero piece along the table', () => {
  assert.equal(hex(padPieceCommitment(zeroPieceCommitment(128), 128, 2 ** 30)), table[23])
  assert.throws(() => padPieceCommitment(zeroPieceCommitment(256), 256, 128), { code: 'ERR_COMMP_SIZE' })
})
