import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fitText } from '../../../src/ingress/status.ts'

test('fitText keeps text within the byte limit, cut on a character boundary and marked', () => {
  assert.equal(fitText('short', 8192), 'short')
  const euros = '€'.repeat(4096) // 12,288 bytes of UTF-8
  const fitted = fitText(euros)
  assert.ok(Buffer.byteLength(fitted) <= 8192)
  assert.ok(Buffer.byteLength(fitted) >= 8192 - 5)
  assert.match(fitted, /^€+…$/)
  // A 4-byte character straddling the cut is dropped whole, never split.
  const s = 'a'.repeat(10) + '😀'.repeat(10)
  for (let max = 8; max < 40; max++) {
    const f = fitText(s, max)
    assert.ok(Buffer.byteLength(f) <= max, `${max}: ${Buffer.byteLength(f)}`)
    assert.equal(Buffer.from(f, 'utf8').toString('utf8'), f)
    assert.ok(!f.includes('\ufffd'))
  }
})
