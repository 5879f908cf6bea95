/**
 * The ask for a StorageProvider whose config cannot be used (a CIDR that got past the CRD): a null
 * ask, as for a miner not served here, rather than a reset stream.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AskService } from '../../../src/ingress/ask.ts'
import { ProviderDirectory } from '../../../src/ingress/providers.ts'
import { Address } from '../../../src/filecoin/address.ts'
import { storageProvider } from '../../support/builders.ts'


test('a provider whose config cannot be used gets a null ask, and the error names it', async () => {
  const broken = new ProviderDirectory({ list: () => [storageProvider('sp1', ['10.0.0.0/40'])], chainFor: () => { throw new Error('no chain in this test') } })
  await assert.rejects(broken.find('f01000'), /^Error: StorageProvider sp1: .*10\.0\.0\.0\/40/)
  assert.deepEqual(await new AskService(broken).ask({ miner: Address.fromString('f01000') }), { ask: null })
})
