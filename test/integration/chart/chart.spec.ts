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
  for (const kind of ['CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'Service', 'PodDisruptionBudget']) {
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

const kubectl = async (...args: string[]): Promise<{ code: number, out: string }> =>
  await run(k.plane.bin, ['kubectl', `--kubeconfig=${k.plane.kubeconfig}`, ...args]).then((r) => ({ code: 0, out: r.stdout }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }))

test('the ingress may write only in its namespace and read only provider config cluster-wide', async () => {
  // The RBAC objects applied for real (namespaced names), then asked what the ServiceAccount may do.
  const rendered = parseAllDocuments(await template('--set', `ingress.secretNamespaces={${k.namespace}-lotus}`)).map((d) => d.toJSON())
    .filter((o: { kind?: string, metadata?: { namespace?: string } }) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o?.kind ?? '') && o.metadata?.namespace !== `${k.namespace}-lotus`)
  const { code, out } = await pipe(k.plane.bin, ['kubectl', `--kubeconfig=${k.plane.kubeconfig}`, 'apply', '-f', '-'], rendered.map((o) => JSON.stringify(o)).join('\n'))
  assert.equal(code, 0, out)
  try {
    const sa = `system:serviceaccount:${k.namespace}:sp1-ingress`
    const can = async (verb: string, resource: string, ns?: string, ...extra: string[]): Promise<boolean> =>
      (await kubectl('auth', 'can-i', verb, resource, `--as=${sa}`, ...(ns !== undefined ? ['-n', ns] : []), ...extra)).out.trim() === 'yes'
    assert.equal(await can('create', 'storagedeals.dealyard.io', k.namespace), true)
    assert.equal(await can('create', 'secrets', k.namespace), true)
    assert.equal(await can('list', 'storageproviders.dealyard.io'), true)
    assert.equal(await can('watch', 'fundledgers.dealyard.io'), true)
    assert.equal(await can('get', 'secrets', 'kube-system'), false)
    assert.equal(await can('create', 'storagedeals.dealyard.io', 'default'), false)
    assert.equal(await can('patch', 'secrets', k.namespace), false)
    assert.equal(await can('create', 'storageproviders.dealyard.io'), false)
    // The providers' status, never their spec; the Lease of the replica that writes it; Events
    // about the (cluster-scoped) providers, which the apiserver takes only in "default".
    assert.equal(await can('update', 'storageproviders.dealyard.io', undefined, '--subresource=status'), true)
    assert.equal(await can('update', 'storageproviders.dealyard.io'), false)
    assert.equal(await can('patch', 'storageproviders.dealyard.io'), false)
    assert.equal(await can('update', 'leases.coordination.k8s.io', k.namespace), true)
    assert.equal(await can('update', 'leases.coordination.k8s.io', 'kube-system'), false)
    assert.equal(await can('create', 'events.events.k8s.io', 'default'), true)
    assert.equal(await can('create', 'events.events.k8s.io', 'kube-system'), false)
    assert.equal(await can('create', 'secrets', 'default'), false)
  } finally {
    await kubectl('delete', 'clusterrole,clusterrolebinding', `${k.namespace}-sp1-ingress`, '--ignore-not-found')
    await kubectl('delete', 'role,rolebinding', '-n', 'default', `${k.namespace}-sp1-ingress-events`, '--ignore-not-found')
  }
})

test('flags are quoted as given, and libp2p and /metrics cannot share a port', async () => {
  const rendered = await template('--set-string', 'ingress.extraArgs={--allow-cidr=10.0.0.0/8 #office,123}', '--set', 'ingress.announce={/dns4/sp.example.com/tcp/24001}')
  assert.match(rendered, /- "--allow-cidr=10.0.0.0\/8 #office"/)
  assert.match(rendered, /- "123"/)
  assert.match(rendered, /- "--announce=\/dns4\/sp.example.com\/tcp\/24001"/)
  await assert.rejects(template('--set', 'ingress.metricsPort=24001'), /ingress.port and ingress.metricsPort are both 24001/)
})

test('each release writes provider status under its own Lease, for the providers its selector names', async () => {
  const rendered = await template('--set', 'ingress.providerSelector=dealyard.io/installation in (east)')
  assert.match(rendered, /- --provider-status-lease=sp1-provider-status\n/)
  assert.match(rendered, /- "--provider-selector=dealyard.io\/installation in \(east\)"/)
  assert.doesNotMatch(await template(), /--provider-selector/)
})
