import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parse } from 'yaml'
import { staleFiles, generatedFiles } from '../../../src/api/generate.ts'
import { renderCrd } from '../../../src/api/render.ts'
import { storageDeal } from '../../../src/api/kinds.ts'

test('committed CRDs and TS types are what src/api renders (run `npm run gen` after changing a schema)', () => {
  assert.deepEqual(staleFiles(), [])
})

test('every kind renders a CRD file and the types file', () => {
  const paths = [...generatedFiles().keys()].sort()
  assert.deepEqual(paths, [
    'charts/dealyard/templates/crds.yaml',
    'crds/dealyard.io_fundledgers.yaml', 'crds/dealyard.io_storagedeals.yaml',
    'crds/dealyard.io_storageledgers.yaml', 'crds/dealyard.io_storageproviders.yaml',
    'src/api/types.generated.ts'
  ])
})

test('StorageDeal CRD: short name, category, status subresource, printer columns', () => {
  const crd = parse(renderCrd(storageDeal))
  assert.deepEqual(crd.spec.names.shortNames, ['sd'])
  assert.deepEqual(crd.spec.names.categories, ['dealyard'])
  const v = crd.spec.versions[0]
  assert.deepEqual(v.subresources, { status: {} })
  assert.deepEqual(v.additionalPrinterColumns.filter((c: { priority?: number }) => c.priority == null).map((c: { name: string }) => c.name),
    ['Provider', 'Client', 'Size', 'Checkpoint', 'Progress', 'Status', 'Age'])
  assert.equal(JSON.stringify(crd).includes('"title"'), false, 'TS-only titles must not reach the CRD')
})
