// The kube side of the transfer program, against a local HTTP server standing in for the API
// server so that the exact requests the project's KubeRest sends can be checked: reads of the deal, its
// provider and params Secret, and server-side apply of status.transfer on the status subresource.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import { KubeRest } from '../../../src/kube/rest.ts'
import { KubeDeals, KubeStatusSink, transferStatus, parseDealRef, dealForTransfer, dealOverrides, FIELD_MANAGER } from '../../../src/transfer/kube.ts'

interface Req { method: string, url: string, contentType: string | undefined, body: string }

async function fakeApiServer (objects: Record<string, unknown>): Promise<{ kc: KubeConfig, reqs: Req[], close: () => Promise<void> }> {
  const reqs: Req[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      reqs.push({ method: req.method!, url: req.url!, contentType: req.headers['content-type'], body })
      const path = req.url!.split('?')[0]!
      const obj = objects[path]
      if (req.method === 'GET' && obj === undefined) { res.writeHead(404, { 'content-type': 'application/json' }); res.end('{"kind":"Status","code":404}'); return }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(obj ?? JSON.parse(body === '' ? '{}' : body)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x'
  })
  return { kc, reqs, close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => { resolve() })) } }
}

const deal = {
  apiVersion: 'dealyard.io/v1alpha1',
  kind: 'StorageDeal',
  metadata: { name: 'd1', namespace: 'ns' },
  spec: {
    provider: 'sp1',
    dealUuid: '5f0c2a3e-1111-4222-8333-444455556666',
    proposal: { pieceCid: 'baga6ea4seaqexample', pieceSize: 2097152 },
    transfer: { type: 'http', size: 1211567, paramsSecretRef: { name: 'd1-params' } }
  }
}
const provider = { spec: { dealPolicy: { transferHosts: { allowCidrs: ['127.0.0.0/8'], denyCidrs: ['10.96.0.0/12'] } }, transfer: { stallTimeoutSeconds: 30, deadlineSeconds: 600, minBytesPerSecond: 32768 } } }
const secret = { kind: 'Secret', metadata: { name: 'd1-params' }, data: { 'params.json': Buffer.from('{"URL":"http://127.0.0.1:1/x.car","Headers":null}').toString('base64') } }

test('the deal, its provider and its params Secret are read through the API', async (t) => {
  const api = await fakeApiServer({
    '/apis/dealyard.io/v1alpha1/namespaces/ns/storagedeals/d1': deal,
    '/apis/dealyard.io/v1alpha1/storageproviders/sp1': provider,
    '/api/v1/namespaces/ns/secrets/d1-params': secret
  })
  t.after(api.close)
  const deals = new KubeDeals(api.kc)
  const d = await deals.deal(parseDealRef('ns/d1'))
  assert.deepEqual(d, {
    uuid: '5f0c2a3e-1111-4222-8333-444455556666', pieceCid: 'baga6ea4seaqexample', pieceSize: 2097152, transferType: 'http',
    transferSize: 1211567, paramsSecret: 'd1-params', dataSourcePath: undefined, provider: 'sp1'
  })
  assert.deepEqual(await deals.provider('sp1'), { policy: { allowCidrs: ['127.0.0.0/8'], denyCidrs: ['10.96.0.0/12'] }, stallTimeoutSeconds: 30, deadlineSeconds: 600, minBytesPerSecond: 32768 })
  assert.equal(await deals.params('ns', 'd1-params'), '{"URL":"http://127.0.0.1:1/x.car","Headers":null}')
})

test('progress and outcome are server-side applied to the status subresource as dealyard-transfer', async (t) => {
  const api = await fakeApiServer({})
  t.after(api.close)
  const sink = new KubeStatusSink(new KubeRest(api.kc), { namespace: 'ns', name: 'd1' }, (p) => p.replace('/staging/', ''))
  const p = { bytesReceived: 500, totalBytes: 1000, rateBytesPerSecond: 250, attempt: 2, lastUpdate: new Date('2026-01-02T03:04:05.678Z') }
  await sink.progress(p)
  await sink.succeeded({ pieceCid: 'baga6ea4seaqx', stagedPath: '/staging/u.car', indexPath: '/staging/u.car.idx' }, { ...p, bytesReceived: 1000 })
  assert.equal(api.reqs.length, 2)
  for (const r of api.reqs) {
    assert.equal(r.method, 'PATCH')
    assert.equal(r.contentType, 'application/apply-patch+yaml')
    const u = new URL(r.url, 'http://x')
    assert.equal(u.pathname, '/apis/dealyard.io/v1alpha1/namespaces/ns/storagedeals/d1/status')
    assert.equal(u.searchParams.get('fieldManager'), FIELD_MANAGER)
    assert.equal(u.searchParams.get('force'), 'true')
  }
  const first = JSON.parse(api.reqs[0]!.body)
  assert.deepEqual(first, {
    apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageDeal', metadata: { name: 'd1', namespace: 'ns' },
    status: { progress: '50%', transfer: { bytesReceived: 500, totalBytes: 1000, rateBytesPerSecond: 250, lastUpdate: '2026-01-02T03:04:05Z', attempt: 2 } }
  })
  const last = JSON.parse(api.reqs[1]!.body)
  assert.equal(last.status.progress, '100%')
  assert.equal(last.status.transfer.pieceCid, 'baga6ea4seaqx')
  assert.equal(last.status.transfer.stagedPath, 'u.car')
  assert.equal(last.status.transfer.indexPath, 'u.car.idx')
})

test('a failure carries error and errorCode next to the last numbers', () => {
  const body = { status: transferStatus(
    { bytesReceived: 10, totalBytes: 0, rateBytesPerSecond: 0, attempt: 1, lastUpdate: new Date(0) },
    { failure: { message: 'deal x: transfer: HTTP 401', code: 'TRANSFER_UNAUTHORIZED' } }) as { transfer: Record<string, unknown>, progress: string } }
  assert.equal(body.status.transfer.errorCode, 'TRANSFER_UNAUTHORIZED')
  assert.equal(body.status.transfer.error, 'deal x: transfer: HTTP 401')
  assert.equal(body.status.progress, '0%')
})

test('a deal reference must be namespace/name', () => {
  for (const bad of ['d1', '/d1', 'ns/', 'a/b/c']) assert.throws(() => parseDealRef(bad), { code: 'TRANSFER_PARAMS' })
})

test('flags that differ from the deal are named with both values; equal ones and absent ones are not', () => {
  const d = dealForTransfer(deal)
  assert.deepEqual(dealOverrides(d, {}), [])
  assert.deepEqual(dealOverrides(d, { uuid: d.uuid, size: 1211567, pieceCid: 'baga6ea4seaqexample', pieceSize: 2097152 }), [])
  assert.deepEqual(dealOverrides(d, { size: 1211568, pieceCid: 'baga6ea4seaqother', pieceSize: 4194304, uuid: 'u2' }), [
    '--uuid u2 (the deal\'s: 5f0c2a3e-1111-4222-8333-444455556666)',
    '--size 1211568 (the deal\'s: 1211567)',
    '--piece-cid baga6ea4seaqother (the deal\'s: baga6ea4seaqexample)',
    '--piece-size 4194304 (the deal\'s: 2097152)'
  ])
})
