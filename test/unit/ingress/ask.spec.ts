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
import type { ChainReader } from '../../../src/ingress/chain.ts'


test('a provider whose config cannot be used gets a null ask, and the error names it', async () => {
  const broken = new ProviderDirectory({ list: () => [storageProvider('sp1', ['10.0.0.0/40'])], chainFor: () => { throw new Error('no chain in this test') } })
  await assert.rejects(broken.find('f01000'), /^ProviderConfigError: StorageProvider sp1: .*10\.0\.0\.0\/40/)
  assert.deepEqual(await new AskService(broken).ask({ miner: Address.fromString('f01000') }), { ask: null })
})

test('the ask\'s SeqNo follows the StorageProvider\'s generation unless the operator sets one', async () => {
  let sp = storageProvider('sp1')
  const chain = { head: async () => 100 } as unknown as ChainReader
  const asks = new AskService(new ProviderDirectory({ list: () => [sp], chainFor: () => chain }))
  const seqNo = async (): Promise<number | undefined> => (await asks.ask({ miner: Address.fromString('f01000') })).ask?.ask?.seqNo
  assert.equal(await seqNo(), 1)
  // A spec change (here the price) raises the generation, and with it the SeqNo clients see.
  sp = { ...sp, metadata: { ...sp.metadata, generation: 2, resourceVersion: '2' }, spec: { ...sp.spec, ask: { price: '7' } } }
  assert.equal(await seqNo(), 2)
  sp = { ...sp, metadata: { ...sp.metadata, generation: 3, resourceVersion: '3' }, spec: { ...sp.spec, ask: { price: '7', seqNo: 40 } } }
  assert.equal(await seqNo(), 40)
  // 0 is what the CRD used to fill in: a StorageProvider stored before is not stuck at SeqNo 0.
  sp = { ...sp, metadata: { ...sp.metadata, generation: 4, resourceVersion: '4' }, spec: { ...sp.spec, ask: { price: '7', seqNo: 0 } } }
  assert.equal(await seqNo(), 4)
})
