/**
 * The Helm chart, checked with the real tools: `helm lint --strict`, the values schema refusing bad
 * values, and every rendered manifest accepted by the real apiserver in a server-side dry run
 * (schemas, CRDs, RBAC objects and all).
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { cachedBinary, repoRoot } from '../../support/build.ts'
import { testKube, type TestKube } from '../../support/kube.ts'

const run = promisify(execFile)
const chart = join(repoRoot, 'charts/dealyard')
let k: TestKube
let helm: string

before(async () => {
  k = await testKube(import.meta.filename)
  helm = await cachedBinary('tools/helm/build.sh')
})
after(async () => { await k.cleanup() })

const template = async (...args: string[]): Promise<string> =>
  (await run(helm, ['template', 'sp1', chart, '--namespace', k.namespace, ...args], { maxBuffer: 1 << 26 })).stdout

function pipe (cmd: string, args: string[], input: string): Promise<{ code: number, out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args)
    let out = ''
    p.stdout.on('data', (b: Buffer) => { out += b.toString() })
    p.stderr.on('data', (b: Buffer) => { out += b.toString() })
    p.on('close', (code) => { resolve({ code: code ?? 1, out }) })
    p.stdin.end(input)
  })
}

test('helm lint --strict passes', async () => {
  const { stdout } = await run(helm, ['lint', '--strict', chart])
  assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/)
})

test('the values schema refuses unknown keys and out-of-range values', async () => {
  await assert.rejects(template('--set', 'ingress.replicas=-1'), /replicas/)
  await assert.rejects(template('--set', 'ingres.replicas=1'), /ingres/)
})

test('every rendered object is accepted by the apiserver (server-side dry run)', async () => {
  const rendered = await template()
  const kinds = parseAllDocuments(rendered).map((d) => d.toJSON()).filter(Boolean).map((o: { kind: string }) => o.kind)
  for (const kind of ['CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Service']) {
    assert.ok(kinds.includes(kind), `chart renders a ${kind}`)
  }
  const { code, out } = await pipe(k.plane.bin, ['kubectl', `--kubeconfig=${k.plane.kubeconfig}`, 'apply', '--dry-run=server', '--validate=strict', '-f', '-'], rendered)
  assert.equal(code, 0, out)
  assert.match(out, /deployment.apps\/sp1-ingress (created|configured) \(server dry run\)/)
})

test('crds.enabled=false leaves the CRDs out; crds.keep=false drops the keep policy', async () => {
  assert.doesNotMatch(await template('--set', 'crds.enabled=false'), /kind: CustomResourceDefinition/)
  assert.match(await template(), /helm.sh\/resource-policy: keep/)
  assert.doesNotMatch(await template('--set', 'crds.keep=false'), /resource-policy/)
})

test('the ingress Service keeps client addresses for the per-address limit, except as a ClusterIP', async () => {
  const byDefault = await template()
  assert.match(byDefault, /externalTrafficPolicy: Local/)
  assert.match(byDefault, /--max-connections-per-ip=8/)
  assert.match(await template('--set', 'ingress.maxConnectionsPerIp=0'), /--max-connections-per-ip=0/)
  await assert.rejects(template('--set', 'ingress.service.externalTrafficPolicy=Nearest'), /externalTrafficPolicy/)
  // The API refuses externalTrafficPolicy on a ClusterIP Service, so the chart leaves it out.
  const clusterIp = await template('--set', 'ingress.service.type=ClusterIP')
  assert.doesNotMatch(clusterIp, /externalTrafficPolicy/)
  const { code, out } = await pipe(k.plane.bin, ['kubectl', `--kubeconfig=${k.plane.kubeconfig}`, 'apply', '--dry-run=server', '--validate=strict', '-f', '-'], clusterIp)
  assert.equal(code, 0, out)
})
