import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DealyardError } from '../../../src/errors.ts'
import { formatFIL, parseFIL } from '../../../src/filecoin/token.ts'

describe('FIL amounts', () => {
  const cases: Record<string, [string, bigint]> = {
    'half a FIL with a unit': ['0.5 FIL', 5n * 10n ** 17n],
    'a bare number is FIL': ['2', 2n * 10n ** 18n],
    'attoFIL': ['500 attoFIL', 500n],
    'lower-case, no space': ['1.25fil', 125n * 10n ** 16n],
    'negative': ['-1.000000000000000001 FIL', -(10n ** 18n + 1n)],
    'nanoFIL': ['3 nanoFIL', 3n * 10n ** 9n]
  }
  for (const [name, [s, atto]] of Object.entries(cases)) {
    it(`parses ${name}`, () => { assert.equal(parseFIL(s), atto) })
  }
  it('formats as Lotus does', () => {
    assert.equal(formatFIL(5n * 10n ** 17n), '0.5 FIL')
    assert.equal(formatFIL(0n), '0 FIL')
    assert.equal(formatFIL(-(10n ** 18n + 1n)), '-1.000000000000000001 FIL')
    assert.equal(formatFIL(62_500_000n), '0.0000000000625 FIL')
  })
  it('rejects unknown units, garbage and sub-attoFIL precision', () => {
    const bad = (err: unknown): boolean => err instanceof DealyardError && err.code === 'ERR_INVALID_AMOUNT'
    for (const s of ['1 BTC', 'abc', '', '0.5 attoFIL', '1.0000000000000000001']) assert.throws(() => parseFIL(s), bad, s)
  })
})
