/**
 * The orphan sweep's choices without a cluster: deals it cannot check (their provider's head
 * unreadable) wait instead of taking every sweep's lookups, and its delete names the version it
 * looked at, so a deal a controller took on meanwhile stays.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { OrphanSweeper } from '../../../src/ingress/orphans.ts'
import { ATTEMPT_ANNOTATION, newAttempt } from '../../../src/ingress/store.ts'
import { KubeApiError, type KubeRest } from '../../../src/kube/rest.ts'
import type { StorageDeal } from '../../../src/api/index.ts'

const T0 = Date.parse('2026-11-26T00:00:00Z')

function deal (name: string, provider: string): StorageDeal {
  return {
    apiVersion: 'dealyard.io/v1alpha1',
    kind: 'StorageDeal',
    metadata: { name, uid: `${name}-uid`, resourceVersion: `${name}-rv`, creationTimestamp: new Date(T0).toISOString() as unknown as Date, annotations: { [ATTEMPT_ANNOTATION]: newAttempt(T0) } },
    spec: { isOffline: false, proposal: { provider, startEpoch: 1_000_000 }, transfer: { type: 'http', size: 1, paramsSecretRef: { name: `${name}-transfer` } } }
  } as unknown as StorageDeal
}

describe('OrphanSweeper', () => {
  it('lets deals it cannot check wait, so an orphan behind them is still deleted; deletes name the version looked at', async () => {
    // Three deals of a provider whose head cannot be read come first, then one orphan.
    const deals = [deal('a', 'f09999'), deal('b', 'f09999'), deal('c', 'f09999'), deal('orphan', 'f01000')]
    const deletes: unknown[] = []
    const rest = {
      request: async (method: string, path: string, opts: { body?: unknown }) => {
        if (method === 'GET') throw new KubeApiError(404, 'NotFound', `${path} not found`)
        deletes.push({ path, body: opts.body })
        return {}
      }
    } as unknown as KubeRest
    let now = T0 + 10 * 60_000
    const sweeper = new OrphanSweeper(rest, 'ns', () => deals, undefined, {
      graceMs: 1000,
      maxLookups: 3,
      now: () => now,
      headOf: async (d) => { if (d.spec.proposal.provider === 'f09999') throw new Error('no StorageProvider for f09999'); return 100 }
    })
    await sweeper.sweep() // first seen
    now += 2000
    const first = await sweeper.sweep()
    assert.deepEqual([first.looked, first.deleted], [3, []], 'the lookups of this sweep went to the deals of the missing provider')
    now += 30_000
    const second = await sweeper.sweep()
    assert.deepEqual(second.deleted, ['orphan'])
    assert.deepEqual(deletes, [{
      path: '/apis/dealyard.io/v1alpha1/namespaces/ns/storagedeals/orphan',
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'orphan-uid', resourceVersion: 'orphan-rv' } }
    }])
  })

  it('leaves a deal older than half an hour alone: its missing Secret may have been deleted after its client heard "accepted"', async () => {
    const looked: string[] = []
    const rest = {
      request: async (method: string, path: string) => {
        looked.push(`${method} ${path}`)
        if (method === 'GET') throw new KubeApiError(404, 'NotFound', `${path} not found`)
        return {}
      }
    } as unknown as KubeRest
    // Created at T0; a replica started (a rollout) 31 minutes later.
    let now = T0 + 31 * 60_000
    const sweeper = new OrphanSweeper(rest, 'ns', () => [deal('old', 'f01000')], undefined, { graceMs: 1000, now: () => now, headOf: async () => 100 })
    await sweeper.sweep()
    now += 60_000
    assert.deepEqual(await sweeper.sweep(), { looked: 0, deleted: [] })
    assert.deepEqual(looked, [])
  })
})
