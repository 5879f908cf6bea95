/**
 * The provider directory's Lotus token: read again periodically (a rotated token takes effect
 * without touching the StorageProvider), the last good one kept when the read fails, and a
 * StorageProvider whose config cannot be used not re-read on every request.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { lotusToken, ProviderDirectory } from '../../../src/ingress/providers.ts'
import { LOTUS_TOKEN_LABEL } from '../../../src/api/index.ts'
import { LotusChain } from '../../../src/ingress/chain.ts'
import { storageProvider } from '../../support/builders.ts'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

function withToken (): ReturnType<typeof storageProvider> {
  const sp = storageProvider('sp1')
  sp.metadata.resourceVersion = '7'
  sp.spec.lotus.fullNode.tokenSecretRef = { namespace: 'ns', name: 'lotus', key: 'token' }
  return sp
}

describe('ProviderDirectory', () => {
  it('reads the Lotus token again after the refresh interval and uses the new one', async () => {
    const sp = withToken()
    let token: string | Error = 'first'
    let reads = 0
    const dir = new ProviderDirectory({
      list: () => [sp],
      readSecret: async () => { reads++; if (token instanceof Error) throw token; return token },
      tokenRefreshMs: 50
    })
    const a = await dir.find('f01000')
    assert.ok(a?.chain instanceof LotusChain)
    assert.equal((await dir.find('f01000'))?.chain, a.chain, 'within the interval: the same client, no read')
    assert.equal(reads, 1)
    // The provider's status written (the writer syncs it every 30 s): same spec, no new read.
    sp.metadata.resourceVersion = '8'
    sp.status = { chainHead: 5 }
    assert.equal((await dir.find('f01000'))?.chain, a.chain)
    assert.equal(reads, 1)

    token = 'rotated'
    await sleep(60)
    // Past the interval the current entry answers while the token is read again.
    assert.equal((await dir.find('f01000'))?.chain, a.chain)
    await sleep(10)
    const b = await dir.find('f01000')
    assert.equal(reads, 2)
    assert.notEqual(b?.chain, a.chain, 'a client with the rotated token')

    // The Secret unreadable: the token read last stays in use.
    token = new Error('secrets "lotus" not found')
    await sleep(60)
    await dir.find('f01000')
    await sleep(10)
    assert.equal((await dir.find('f01000'))?.chain, b?.chain)
    assert.equal(reads, 3)
    // The provider's status says so (Ready, reason StaleToken) while the old token serves.
    assert.match(dir.staleTokenError(sp) ?? '', /StorageProvider sp1: secrets "lotus" not found/)
    token = 'fixed'
    await sleep(60)
    await dir.find('f01000')
    await sleep(10)
    assert.equal(dir.staleTokenError(sp), undefined)
  })

  it('does not read the Secret of a broken StorageProvider on every request', async () => {
    const sp = withToken()
    let reads = 0
    const dir = new ProviderDirectory({
      list: () => [sp],
      readSecret: async () => { reads++; throw new Error('secrets "lotus" is forbidden') },
      failedEntryMs: 80
    })
    for (let i = 0; i < 5; i++) await assert.rejects(dir.find('f01000'), /StorageProvider sp1: secrets "lotus" is forbidden/)
    assert.equal(reads, 1)
    // A status write (new resourceVersion, same generation) does not rebuild the entry.
    sp.metadata.resourceVersion = '8'
    await assert.rejects(dir.find('f01000'), /forbidden/)
    assert.equal(reads, 1)
    // Requests at once while it is first built after a spec change: one read between them.
    sp.metadata.generation = 2
    sp.metadata.resourceVersion = '9'
    await Promise.all(Array.from({ length: 5 }, async () => { await assert.rejects(dir.find('f01000'), /forbidden/) }))
    assert.equal(reads, 2)
    await sleep(90)
    await assert.rejects(dir.find('f01000'), /forbidden/)
    assert.equal(reads, 3)
  })
})

describe('lotusToken', () => {
  const ref = { namespace: 'ns', name: 'lotus', key: 'token' }
  const secret = (labels?: Record<string, string>): Parameters<typeof lotusToken>[0] =>
    ({ metadata: { namespace: 'ns', name: 'lotus', ...(labels !== undefined ? { labels } : {}) }, data: { token: Buffer.from('eyJhbGc').toString('base64') } })

  it('reads the key of a Secret marked as a Lotus token', () => {
    assert.equal(lotusToken(secret({ [LOTUS_TOKEN_LABEL]: 'true' }), ref), 'eyJhbGc')
  })

  it('refuses any other Secret, saying how to mark it: its value would go to the StorageProvider\'s URL', () => {
    for (const labels of [undefined, {}, { [LOTUS_TOKEN_LABEL]: 'false' }, { 'dealyard.io/deal': 'x' }] as Array<Record<string, string> | undefined>) {
      assert.throws(() => lotusToken(secret(labels), ref), /^Error: Secret ns\/lotus is not labelled dealyard\.io\/lotus-token=true: .*kubectl -n ns label secret lotus dealyard\.io\/lotus-token=true/)
    }
  })

  it('names a missing key', () => {
    assert.throws(() => lotusToken(secret({ [LOTUS_TOKEN_LABEL]: 'true' }), { ...ref, key: 'miner' }), /^Error: Secret ns\/lotus has no key miner$/)
  })
})
