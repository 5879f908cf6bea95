import { test } from 'node:test'
import assert from 'node:assert/strict'
import { validate, schemas } from '../../../src/api/index.ts'
import { dealSpec } from '../../support/builders.ts'

const cases: Record<string, { mutate: (s: any) => void, path: string, message: RegExp }> = {
  'a missing proposal is required': { mutate: (s) => { delete s.proposal }, path: 'proposal', message: /required/ },
  'a piece size below 128 is out of bounds': { mutate: (s) => { s.proposal.pieceSize = 64 }, path: 'proposal.pieceSize', message: /≥ 128/ },
  'a price with a decimal point is not attoFIL': { mutate: (s) => { s.proposal.storagePricePerEpoch = '1.5' }, path: 'proposal.storagePricePerEpoch', message: /must match/ },
  'an unknown transfer type is refused': { mutate: (s) => { s.transfer.type = 'ftp' }, path: 'transfer.type', message: /one of/ },
  'an unknown field is refused': { mutate: (s) => { s.extra = 1 }, path: 'extra', message: /unknown field/ },
  'a string where an integer belongs names the field': { mutate: (s) => { s.proposal.startEpoch = '10' }, path: 'proposal.startEpoch', message: /expected integer, got string/ },
  'a bad uuid is refused': { mutate: (s) => { s.dealUuid = 'not-a-uuid' }, path: 'dealUuid', message: /must match/ }
}

test('a well-formed StorageDeal spec validates', () => {
  assert.deepEqual(validate(dealSpec(), schemas.storageDealSpec), [])
})

for (const [name, c] of Object.entries(cases)) {
  test(name, () => {
    const spec = dealSpec()
    c.mutate(spec)
    const errors = validate(spec, schemas.storageDealSpec)
    assert.equal(errors.length, 1, JSON.stringify(errors))
    assert.equal(errors[0]!.path, c.path)
    assert.match(errors[0]!.message, c.message)
  })
}
