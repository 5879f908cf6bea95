// KubeRest reuses auth headers for a short while instead of rebuilding them per request, and a 401
// (credentials rotated under the cache) makes it fetch them again and retry once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import { KubeRest, KubeApiError } from '../../../src/kube/rest.ts'

async function apiserver (accept: () => string): Promise<{ url: string, seen: string[], close: () => Promise<void> }> {
  const seen: string[] = []
  const srv = createServer((req, res) => {
    const auth = req.headers.authorization ?? ''
    seen.push(auth)
    if (auth !== `Bearer ${accept()}`) {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized' }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'x' } }))
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, close: async () => { srv.closeAllConnections(); await new Promise((resolve) => srv.close(resolve)) } }
}

function kubeconfig (server: string, token: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx'
  })
  return kc
}

test('auth headers are built once for a burst of requests', async (t) => {
  const srv = await apiserver(() => 'a')
  t.after(srv.close)
  const kc = kubeconfig(srv.url, 'a')
  let built = 0
  const apply = kc.applySecurityAuthentication.bind(kc)
  kc.applySecurityAuthentication = async (ctx) => { built++; await apply(ctx) }
  const rest = new KubeRest(kc)
  t.after(async () => { await rest.close() })
  for (let i = 0; i < 5; i++) await rest.get({ group: '', version: 'v1', plural: 'configmaps' }, 'default', 'x')
  assert.equal(built, 1)
  assert.deepEqual(srv.seen, Array(5).fill('Bearer a'))
})

test('a 401 drops the cached credentials and retries once with fresh ones', async (t) => {
  let valid = 'old'
  const srv = await apiserver(() => valid)
  t.after(srv.close)
  const kc = kubeconfig(srv.url, 'old')
  const rest = new KubeRest(kc)
  t.after(async () => { await rest.close() })
  const cm = { group: '', version: 'v1', plural: 'configmaps' }
  await rest.get(cm, 'default', 'x')
  // The token rotates: the server takes only the new one, the kubeconfig now holds it.
  valid = 'new'
  ;(kc.users[0] as { token?: string }).token = 'new'
  const got = await rest.get(cm, 'default', 'x')
  assert.equal(got.metadata?.name, 'x')
  assert.deepEqual(srv.seen, ['Bearer old', 'Bearer old', 'Bearer new'])
  // Credentials that stay wrong: one retry, then the 401 is the caller's.
  valid = 'other'
  await assert.rejects(rest.get(cm, 'default', 'x'), (err: unknown) => err instanceof KubeApiError && err.status === 401)
  assert.equal(srv.seen.length, 5)
})
