import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parse } from 'yaml'
import { validate, schemas } from '../../../src/api/index.ts'
import { renderCrd } from '../../../src/api/render.ts'
import { storageProvider } from '../../../src/api/kinds.ts'
import { storageProvider as provider } from '../../support/builders.ts'

test('StorageProvider CRD: spec.transfer.minBytesPerSecond is an integer ≥ 0 defaulting to 64 KiB/s', () => {
  const crd = parse(renderCrd(storageProvider))
  const field = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.transfer.properties.minBytesPerSecond
  assert.equal(field.type, 'integer')
  assert.equal(field.minimum, 0)
  assert.equal(field.default, 65536)
  assert.match(field.description, /0 turns the check off/)
})

const cases: Record<string, { value: unknown, message: RegExp | undefined }> = {
  '0 (off) is valid': { value: 0, message: undefined },
  '1 MiB/s is valid': { value: 1 << 20, message: undefined },
  'a negative rate is refused': { value: -1, message: /≥ 0/ },
  'a fraction is refused': { value: 1.5, message: /integer/ },
  'a string is refused': { value: '64Ki', message: /expected integer, got string/ }
}

for (const [name, c] of Object.entries(cases)) {
  test(`spec.transfer.minBytesPerSecond: ${name}`, () => {
    const spec: any = provider('sp1').spec
    spec.transfer = { minBytesPerSecond: c.value }
    const errors = validate(spec, schemas.storageProviderSpec)
    if (c.message === undefined) { assert.deepEqual(errors, []); return }
    assert.equal(errors.length, 1, JSON.stringify(errors))
    assert.equal(errors[0]!.path, 'transfer.minBytesPerSecond')
    assert.match(errors[0]!.message, c.message)
  })
}
