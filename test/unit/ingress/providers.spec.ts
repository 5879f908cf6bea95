/**
 * The provider directory's Lotus token: read again periodically (a rotated token takes effect
 * without touching the StorageProvider), the last good one kept when the read fails, and a
 * StorageProvider whose config cannot be used not re-read on every request.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { lotusToken, ProviderConfigError, ProviderDirectory, readLotusToken } from '../../../src/ingress/providers.ts'
import { KubeApiError } from '../../../src/kube/rest.ts'
import { DealyardError } from '../../../src/errors.ts'
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

describe('ProviderDirectory: which StorageProviders serve', () => {
  const named = (name: string, address: string, created: string): ReturnType<typeof storageProvider> => {
    const sp = storageProvider(name)
    sp.spec.address = address
    sp.metadata.creationTimestamp = created as never
    sp.metadata.generation = 1
    return sp
  }

  it('one being deleted (a finalizer holds it) serves no more: not found, not listed, not borrowed', async () => {
    const sp = named('sp1', 'f01000', '2026-01-01T00:00:00Z')
    const dir = new ProviderDirectory({ list: () => [sp] })
    assert.equal((await dir.find('f01000'))?.terms.name, 'sp1')
    sp.metadata.deletionTimestamp = '2026-11-27T00:00:00Z' as never
    assert.equal(await dir.find('f01000'), undefined)
    assert.deepEqual(dir.addresses(), [])
    assert.equal(await dir.anyEntry(), undefined)
  })

  it('of several with one address, the oldest serves (the one the others\' status names)', async () => {
    const older = named('b-old', 'f01000', '2026-01-01T00:00:00Z')
    const newer = named('a-new', 't01000', '2026-02-01T00:00:00Z')
    const dir = new ProviderDirectory({ list: () => [newer, older] })
    assert.equal(dir.servedFor('f01000')?.metadata.name, 'b-old')
    assert.equal((await dir.find('t01000'))?.terms.name, 'b-old')
  })

  it('forgets deleted providers and Lotus clients no provider uses any more', async () => {
    let current: Array<ReturnType<typeof storageProvider>> = []
    const dir = new ProviderDirectory({ list: () => current })
    const held = dir as unknown as { terms: Map<string, unknown>, chains: Map<string, unknown> }
    for (let i = 0; i < 50; i++) {
      const sp = named(`p${i}`, `f0${1000 + i}`, '2026-01-01T00:00:00Z')
      sp.spec.lotus.fullNode.url = `http://lotus-${i}.example:1234/rpc/v1`
      current = [sp]
      await dir.find(sp.spec.address)
    }
    assert.ok(held.terms.size <= 2 && held.chains.size <= 2, `${held.terms.size} entries, ${held.chains.size} clients after 50 providers came and went`)
    const moving = named('moving', 'f02000', '2026-01-01T00:00:00Z')
    current = [moving]
    for (let g = 1; g <= 50; g++) {
      moving.metadata.generation = g
      moving.spec.lotus.fullNode.url = `http://moved-${g}.example:1234/rpc/v1`
      await dir.find('f02000')
    }
    assert.equal(held.terms.size, 1)
    assert.equal(held.chains.size, 1, 'only the client of the current URL')
  })

  it('a token read that fails for a reason that passes, after a spec edit: the new terms serve with the token read before, as a stale token', async () => {
    const sp = withToken()
    sp.metadata.generation = 1
    let fail: Error | undefined
    const dir = new ProviderDirectory({ list: () => [sp], readSecret: async () => { if (fail !== undefined) throw fail; return 'tok' } })
    const first = await dir.find('f01000')
    sp.metadata.generation = 2
    sp.spec.ask = { price: '5' }
    fail = new KubeApiError(503, 'ServiceUnavailable', 'GET /api/v1/namespaces/ns/secrets/lotus: 503 ServiceUnavailable: etcdserver: request timed out')
    const second = await dir.find('f01000')
    assert.equal(second?.terms.ask.price, 5n)
    assert.equal(second?.chain, first?.chain)
    assert.match(dir.staleTokenError(sp) ?? '', /etcdserver: request timed out/)
  })

  it('a token Secret gone (404) while StaleToken, then a spec edit: the new terms serve with the token read before, still StaleToken', async () => {
    let sp = withToken()
    sp.metadata.generation = 1
    // Each edit a new object, as the informer hands over.
    const edit = (change: (s: typeof sp) => void): void => { sp = structuredClone(sp); sp.metadata.generation = (sp.metadata.generation ?? 0) + 1; change(sp) }
    let fail: Error | undefined
    const dir = new ProviderDirectory({ list: () => [sp], readSecret: async () => { if (fail !== undefined) throw fail; return 'tok' }, tokenRefreshMs: 20 })
    const first = await dir.find('f01000')
    fail = new KubeApiError(404, 'NotFound', 'GET /api/v1/namespaces/ns/secrets/lotus: 404 NotFound: secrets "lotus" not found')
    await sleep(30)
    await dir.find('f01000')
    await sleep(10)
    const refreshed = dir.staleTokenError(sp)
    assert.match(refreshed ?? '', /^StorageProvider sp1: GET .*404 NotFound/)
    // An unrelated edit (the ask price): the rebuild's failed read is bridged as the refresh's is.
    edit((s) => { s.spec.ask = { price: '6' } })
    const second = await dir.find('f01000')
    assert.equal(second?.terms.ask.price, 6n)
    assert.equal(second?.chain, first?.chain, 'the token read before')
    assert.equal(dir.staleTokenError(sp), refreshed, 'reported in the same words as the background refresh')
    // An edit that breaks the terms, then one that fixes them: the token read before still serves.
    edit((s) => { s.spec.dealPolicy = { pieceCidBlocklist: ['not-a-cid'] } })
    await assert.rejects(dir.find('f01000'), /pieceCidBlocklist/)
    edit((s) => { s.spec.dealPolicy = {} })
    assert.equal((await dir.find('f01000'))?.chain, first?.chain)
    assert.match(dir.staleTokenError(sp) ?? '', /404 NotFound/)
    // The Secret back: the next refresh reads it and the provider is no longer stale.
    fail = undefined
    await sleep(30)
    await dir.find('f01000')
    await sleep(10)
    assert.equal(dir.staleTokenError(sp), undefined)
  })

  it('a failed token read after an edit of the URL or of the token Secret ref does not reuse the token read before', async () => {
    const edits: Array<[string, (sp: ReturnType<typeof withToken>) => void]> = [
      ['url', (sp) => { sp.spec.lotus.fullNode.url = 'http://lotus-2.example:1234/rpc/v1' }],
      ['namespace', (sp) => { sp.spec.lotus.fullNode.tokenSecretRef = { namespace: 'other', name: 'lotus', key: 'token' } }],
      ['namespace left out', (sp) => { sp.spec.lotus.fullNode.tokenSecretRef = { name: 'lotus', key: 'token' } }],
      ['name', (sp) => { sp.spec.lotus.fullNode.tokenSecretRef = { namespace: 'ns', name: 'lotus-2', key: 'token' } }],
      ['key', (sp) => { sp.spec.lotus.fullNode.tokenSecretRef = { namespace: 'ns', name: 'lotus', key: 'token-2' } }],
      ['no token', (sp) => { delete sp.spec.lotus.fullNode.tokenSecretRef }]
    ]
    for (const [what, edit] of edits) {
      let sp = withToken()
      sp.metadata.generation = 1
      let fail: Error | undefined
      const dir = new ProviderDirectory({
        list: () => [sp],
        readSecret: async () => { if (fail !== undefined) throw fail; return 'tok' },
        // Without a token Secret, the client is what fails to build.
        chainFor: (s) => { if (fail !== undefined) throw fail; return new LotusChain({ url: s.spec.lotus.fullNode.url }) }
      })
      await dir.find('f01000')
      fail = new KubeApiError(404, 'NotFound', 'GET …: 404 NotFound: secrets not found')
      // A new object, as the informer hands over.
      sp = structuredClone(sp)
      sp.metadata.generation = 2
      edit(sp)
      await assert.rejects(dir.find('f01000'), (err: unknown) => err instanceof ProviderConfigError && /404 NotFound/.test(err.message), what)
      assert.equal(dir.staleTokenError(sp), undefined, what)
    }
  })

  it('a first build whose token read fails for a reason that passes is tried again within a second, named as such', async () => {
    const sp = withToken()
    let reads = 0
    const dir = new ProviderDirectory({
      list: () => [sp],
      readSecret: async () => { reads++; throw new DealyardError('ERR_KUBE_TRANSPORT', 'GET /api/v1/namespaces/ns/secrets/lotus: connect ECONNREFUSED', { retry: 'auto' }) }
    })
    await assert.rejects(dir.find('f01000'), (err: unknown) => err instanceof ProviderConfigError && err.transient && err.retry === 'auto')
    await sleep(1100)
    await assert.rejects(dir.find('f01000'), /ECONNREFUSED/)
    assert.equal(reads, 2)
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

  // Round 52: a read RBAC forbids named the Secret, not the chart setting that grants it.
  it('reads through the ref\'s namespace or the deals\' one, and names the chart settings when RBAC forbids the read', async () => {
    const asked: string[] = []
    const get = async (ns: string, name: string): Promise<ReturnType<typeof secret>> => { asked.push(`${ns}/${name}`); return secret({ [LOTUS_TOKEN_LABEL]: 'true' }) }
    assert.equal(await readLotusToken(get, ref, 'deals'), 'eyJhbGc')
    assert.equal(await readLotusToken(get, { name: 'lotus', key: 'token' }, 'deals'), 'eyJhbGc')
    assert.deepEqual(asked, ['ns/lotus', 'deals/lotus'])
    const forbidden = async (): Promise<never> => { throw new KubeApiError(403, 'Forbidden', 'GET /api/v1/namespaces/ns/secrets/lotus: 403 Forbidden: secrets "lotus" is forbidden') }
    await assert.rejects(readLotusToken(forbidden, ref, 'deals'), (err: Error) => /is forbidden \(the chart lets the ingress read token Secrets .*ingress\.secretNamespaces.*ingress\.tokenSecretNames.*: add ns or lotus there, or move the Secret\)$/.test(err.message))
    const missing = new KubeApiError(404, 'NotFound', 'secrets "lotus" not found')
    await assert.rejects(readLotusToken(async () => { throw missing }, ref, 'deals'), (err) => err === missing)
  })
})
