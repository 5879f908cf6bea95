/**
 * The Helm chart, checked with the real tools: `helm lint --strict`, the values schema refusing bad
 * values, and every rendered manifest accepted by the real apiserver in a server-side dry run
 * (schemas, CRDs, RBAC objects and all); RBAC and the admission policy applied for real and asked
 * what the ingress's ServiceAccount may do.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { cachedBinary, repoRoot } from '../../support/build.ts'
import { eventually, testKube, type TestKube } from '../../support/kube.ts'
import { paramsSecret } from '../../../src/ingress/deal-object.ts'

const run = promisify(execFile)
const chart = join(repoRoot, 'charts/dealyard')
const everyOption = join(import.meta.dirname, 'every-option.values.yaml')
let k: TestKube
let helm: string

before(async () => {
  k = await testKube(import.meta.filename)
  helm = await cachedBinary('tools/helm/build.sh')
})
after(async () => { await k.cleanup() })

const templateAs = async (release: string, namespace: string, ...args: string[]): Promise<string> =>
  (await run(helm, ['template', release, chart, '--namespace', namespace, ...args], { maxBuffer: 1 << 26 })).stdout
const template = async (...args: string[]): Promise<string> => await templateAs('sp1', k.namespace, ...args)

interface Obj { apiVersion: string, kind: string, metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }, spec?: any, rules?: any[], [k: string]: any }
const objects = (rendered: string): Obj[] => parseAllDocuments(rendered).map((d) => d.toJSON() as Obj).filter(Boolean)
const find = (objs: Obj[], kind: string, name?: string): Obj => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name))
  assert.ok(o, `a ${kind}${name !== undefined ? ` ${name}` : ''} is rendered`)
  return o
}
const deployment = (objs: Obj[]): any => find(objs, 'Deployment').spec

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

const kubectlArgs = (): string[] => ['kubectl', `--kubeconfig=${k.plane.kubeconfig}`]
const kubectl = async (...args: string[]): Promise<{ code: number, out: string }> =>
  await run(k.plane.bin, [...kubectlArgs(), ...args]).then((r) => ({ code: 0, out: r.stdout }), (err: { code: number, stdout: string, stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }))
const dryRun = async (rendered: string): Promise<{ code: number, out: string }> =>
  await pipe(k.plane.bin, [...kubectlArgs(), 'apply', '--dry-run=server', '--validate=strict', '-f', '-'], rendered)

/** Applies the objects for real; the returned function deletes them again. */
async function applyForReal (objs: Obj[]): Promise<() => Promise<void>> {
  const { code, out } = await pipe(k.plane.bin, [...kubectlArgs(), 'apply', '-f', '-'], objs.map((o) => JSON.stringify(o)).join('\n'))
  assert.equal(code, 0, out)
  return async () => {
    for (const o of objs) await kubectl('delete', o.kind.toLowerCase(), o.metadata.name, ...(o.metadata.namespace !== undefined ? ['-n', o.metadata.namespace] : []), '--ignore-not-found', '--wait=false')
  }
}
const rbacKinds = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']

/** Namespaces made for one test, deleted after it. */
async function namespaces (...names: string[]): Promise<() => Promise<void>> {
  for (const n of names) assert.equal((await kubectl('create', 'namespace', n)).code, 0)
  return async () => { for (const n of names) await kubectl('delete', 'namespace', n, '--wait=false') }
}

const canI = (sa: string) => async (verb: string, resource: string, ns?: string, ...extra: string[]): Promise<boolean> =>
  (await kubectl('auth', 'can-i', verb, resource, `--as=${sa}`, ...(ns !== undefined ? ['-n', ns] : []), ...extra)).out.trim() === 'yes'

test('helm lint --strict passes, with the defaults and with every value set', async () => {
  const { stdout } = await run(helm, ['lint', '--strict', chart])
  assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/)
  const every = await run(helm, ['lint', '--strict', chart, '-f', everyOption])
  assert.match(every.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/)
})

test('the values schema refuses unknown keys and out-of-range values', async () => {
  await assert.rejects(template('--set', 'ingress.replicas=-1'), /replicas/)
  await assert.rejects(template('--set', 'ingres.replicas=1'), /ingres/)
  await assert.rejects(template('--set', 'ingress.service.loadBalancerClass=x'), /loadBalancerClass/)
})

test('every rendered object is accepted by the apiserver (server-side dry run)', async () => {
  const rendered = await template()
  const kinds = objects(rendered).map((o) => o.kind)
  for (const kind of ['CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'Service', 'PodDisruptionBudget', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']) {
    assert.ok(kinds.includes(kind), `chart renders a ${kind}`)
  }
  const { code, out } = await dryRun(rendered)
  assert.equal(code, 0, out)
  assert.match(out, /deployment.apps\/sp1-ingress (created|configured) \(server dry run\)/)
})

test('the CRDs always carry helm.sh/resource-policy: keep; crds.keep=false is refused, saying why', async () => {
  const crds = objects(await template()).filter((o) => o.kind === 'CustomResourceDefinition')
  assert.equal(crds.length, 4)
  for (const crd of crds) assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep', crd.metadata.name)
  assert.doesNotMatch(await template('--set', 'crds.enabled=false'), /kind: CustomResourceDefinition/)
  // With keep=false, `helm upgrade --set crds.enabled=false` (what a second release sets) deleted
  // the CRDs and every StorageDeal in the cluster.
  await assert.rejects(template('--set', 'crds.keep=false'), /keep=false is refused: the CRDs are always kept .*deletes every StorageDeal.*kubectl delete crd/)
  await assert.rejects(template('--set', 'crds.keep=null'), /missing property 'keep'/)
})

test('a release that owns the CRDs without keep (an older chart\'s crds.keep=false) may not drop them', async () => {
  // The live CRD annotated as owned by release "guard" of this namespace, without the keep policy:
  // an upgrade leaving the CRDs out would have Helm delete them.
  const crd = 'storagedeals.dealyard.io'
  const owner = [`meta.helm.sh/release-name=guard`, `meta.helm.sh/release-namespace=${k.namespace}`]
  assert.equal((await kubectl('annotate', 'crd', crd, '--overwrite', ...owner)).code, 0)
  try {
    const withCluster = async (...args: string[]): Promise<string> => await templateAs('guard', k.namespace, '--dry-run=server', `--kubeconfig=${k.plane.kubeconfig}`, ...args)
    await assert.rejects(withCluster('--set', 'crds.enabled=false'), /crds.enabled=false would delete CRD storagedeals.dealyard.io.*kubectl annotate crd -l app.kubernetes.io\/part-of=dealyard helm.sh\/resource-policy=keep/)
    // Another release, or the live CRD marked keep: no objection.
    await templateAs('other', k.namespace, '--dry-run=server', `--kubeconfig=${k.plane.kubeconfig}`, '--set', 'crds.enabled=false')
    assert.equal((await kubectl('annotate', 'crd', crd, '--overwrite', 'helm.sh/resource-policy=keep')).code, 0)
    await withCluster('--set', 'crds.enabled=false')
  } finally {
    await kubectl('annotate', 'crd', crd, 'meta.helm.sh/release-name-', 'meta.helm.sh/release-namespace-', 'helm.sh/resource-policy-')
  }
})

const notes = async (...args: string[]): Promise<string> => {
  const out = (await run(helm, ['install', 'sp1', chart, '--namespace', k.namespace, '--dry-run=client', ...args], { maxBuffer: 1 << 26 })).stdout
  return out.slice(out.indexOf('\nNOTES:\n'))
}

test('NOTES: numbered in order, how to rotate the identity, how to take the CRDs over', async () => {
  const steps = (text: string): string[] => [...text.matchAll(/^(\d+)\. /gm)].map((m) => m[1]!)
  assert.deepEqual(steps(await notes()), ['1', '2', '3', '4'])
  const announced = await notes('--set', 'ingress.announce={/dns4/sp.example.com/tcp/24001}')
  assert.deepEqual(steps(announced), ['1', '2', '3'])
  assert.match(announced, /kubectl -n \S+ rollout restart deployment\/sp1-ingress/)
  // The CRDs' owner uninstalled: another release takes them over with --take-ownership, or
  // kubectl annotate/label.
  assert.match(await notes(), /always kept[\s\S]*--set crds.enabled=true --take-ownership/)
  const second = await notes('--set', 'crds.enabled=false')
  assert.match(second, new RegExp(`helm upgrade sp1 <chart> -n ${k.namespace} --reuse-values --set crds.enabled=true --take-ownership`))
  assert.match(second, new RegExp(`kubectl annotate crd -l app.kubernetes.io/part-of=dealyard --overwrite meta.helm.sh/release-name=sp1 meta.helm.sh/release-namespace=${k.namespace}`))
  assert.match(second, /kubectl label crd -l app.kubernetes.io\/part-of=dealyard --overwrite app.kubernetes.io\/managed-by=Helm/)
  const dealsElsewhere = await notes('--set', 'ingress.dealsNamespace=deals')
  assert.match(dealsElsewhere, /kubectl -n deals get storagedeals/)
})

test('the ingress Service keeps client addresses for the per-address limit, except as a ClusterIP', async () => {
  const byDefault = await template()
  assert.match(byDefault, /externalTrafficPolicy: Local/)
  assert.match(byDefault, /--max-connections-per-ip=8/)
  assert.match(await template('--set', 'ingress.maxConnectionsPerIp=0'), /--max-connections-per-ip=0/)
  await assert.rejects(template('--set', 'ingress.service.externalTrafficPolicy=Nearest'), /externalTrafficPolicy/)
  // Cluster source-NATs clients: with a per-address limit they would share one address.
  await assert.rejects(template('--set', 'ingress.service.externalTrafficPolicy=Cluster'), /externalTrafficPolicy=Cluster is refused with maxConnectionsPerIp > 0: .*source-NATs/)
  await assert.rejects(template('--set', 'ingress.service.type=NodePort', '--set', 'ingress.service.externalTrafficPolicy=Cluster'), /is refused with maxConnectionsPerIp > 0/)
  assert.match(await template('--set', 'ingress.service.externalTrafficPolicy=Cluster', '--set', 'ingress.maxConnectionsPerIp=0'), /externalTrafficPolicy: Cluster/)
  // The API refuses externalTrafficPolicy on a ClusterIP Service, so the chart leaves it out.
  const clusterIp = await template('--set', 'ingress.service.type=ClusterIP')
  assert.equal(find(objects(clusterIp), 'Service', 'sp1-ingress').spec.externalTrafficPolicy, undefined)
  const { code, out } = await dryRun(clusterIp)
  assert.equal(code, 0, out)
})

test('the ingress may write only in its namespace, and read only provider config cluster-wide', async () => {
  // The RBAC objects applied for real (namespaced names), then asked what the ServiceAccount may do.
  const lotus = `${k.namespace}-lotus`
  const dropNs = await namespaces(lotus)
  const rendered = objects(await template('--set', `ingress.secretNamespaces={${lotus}}`)).filter((o) => rbacKinds.includes(o.kind))
  const remove = await applyForReal(rendered)
  try {
    const can = canI(`system:serviceaccount:${k.namespace}:sp1-ingress`)
    assert.equal(await can('create', 'storagedeals.dealyard.io', k.namespace), true)
    assert.equal(await can('create', 'secrets', k.namespace), true)
    assert.equal(await can('list', 'storageproviders.dealyard.io'), true)
    assert.equal(await can('watch', 'fundledgers.dealyard.io'), true)
    assert.equal(await can('get', 'secrets', 'kube-system'), false)
    assert.equal(await can('get', 'secrets', lotus), true)
    assert.equal(await can('delete', 'secrets', lotus), false)
    assert.equal(await can('create', 'storagedeals.dealyard.io', 'default'), false)
    assert.equal(await can('patch', 'secrets', k.namespace), false)
    assert.equal(await can('create', 'storageproviders.dealyard.io'), false)
    // The providers' status, never their spec; Events about the (cluster-scoped) providers, which
    // the apiserver takes only in "default".
    assert.equal(await can('update', 'storageproviders.dealyard.io', undefined, '--subresource=status'), true)
    assert.equal(await can('update', 'storageproviders.dealyard.io'), false)
    assert.equal(await can('patch', 'storageproviders.dealyard.io'), false)
    assert.equal(await can('create', 'events.events.k8s.io', 'default'), true)
    assert.equal(await can('create', 'events.events.k8s.io', 'kube-system'), false)
    assert.equal(await can('create', 'secrets', 'default'), false)
    // The Lease of the replica that writes provider status, and no other.
    assert.equal(await can('update', 'leases.coordination.k8s.io/sp1-provider-status', k.namespace), true)
    assert.equal(await can('get', 'leases.coordination.k8s.io/sp1-provider-status', k.namespace), true)
    assert.equal(await can('update', 'leases.coordination.k8s.io/some-other-leader', k.namespace), false)
    assert.equal(await can('get', 'leases.coordination.k8s.io/some-other-leader', k.namespace), false)
    assert.equal(await can('create', 'leases.coordination.k8s.io', k.namespace), true)
    assert.equal(await can('update', 'leases.coordination.k8s.io', 'kube-system'), false)
  } finally {
    await remove()
    await dropNs()
  }
})

test('writeGuard: the ingress may create and delete only its deals\' params Secrets, and create only its Lease', async () => {
  const rendered = objects(await template()).filter((o) => rbacKinds.includes(o.kind))
  const remove = await applyForReal(rendered)
  const sa = `system:serviceaccount:${k.namespace}:sp1-ingress`
  const asSa = async (verb: 'create' | 'delete', obj: object | string): Promise<{ code: number, out: string }> =>
    typeof obj === 'string'
      ? await kubectl(verb, ...obj.split(' '), '-n', k.namespace, `--as=${sa}`, '--dry-run=server')
      : await pipe(k.plane.bin, [...kubectlArgs(), verb, '-n', k.namespace, `--as=${sa}`, '--dry-run=server', '-f', '-'], JSON.stringify(obj))
  const uuid = '00000000-0000-4000-8000-00000000c4a7'
  // The Secret as the ingress builds it: the policy must take exactly that shape.
  const params = paramsSecret({ apiVersion: 'dealyard.io/v1alpha1', name: uuid, uid: '6f1c3b0e-0000-4000-8000-000000000001' }, k.namespace, Buffer.from('{}'))
  try {
    // A legacy token Secret for another ServiceAccount (the token controller would fill it in).
    const minted = { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 'minted', annotations: { 'kubernetes.io/service-account.name': 'default' } } }
    // The policy takes effect once the apiserver has loaded it.
    await eventually(async () => /denied request: the dealyard ingress may create only the params Secrets/.test((await asSa('create', minted)).out), { what: 'the admission policy to refuse a token Secret', timeoutMs: 20_000 })
    const ok = await asSa('create', params)
    assert.equal(ok.code, 0, ok.out)
    assert.match((await asSa('create', { ...params, metadata: { ...params.metadata, ownerReferences: undefined } })).out, /may create only the params Secrets/)
    assert.match((await asSa('create', { ...params, metadata: { ...params.metadata, name: 'dealyard-libp2p-identity' } })).out, /may create only the params Secrets/)
    // Deletes: the deal's params Secret, not the identity (or any other Secret of the namespace).
    for (const s of [{ name: 'dealyard-libp2p-identity', labels: {} }, { name: `${uuid}-transfer`, labels: { 'dealyard.io/deal-uuid': uuid } }]) {
      const made = await pipe(k.plane.bin, [...kubectlArgs(), 'create', '-n', k.namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: s, stringData: { k: 'v' } }))
      assert.equal(made.code, 0, made.out)
    }
    assert.match((await asSa('delete', 'secret dealyard-libp2p-identity')).out, /may delete only the params Secrets of its deals/)
    const del = await asSa('delete', `secret ${uuid}-transfer`)
    assert.equal(del.code, 0, del.out)
    // Leases: its own only.
    const lease = (name: string): object => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name } })
    assert.match((await asSa('create', lease('some-other-leader'))).out, /may create only its Lease sp1-provider-status/)
    const own = await asSa('create', lease('sp1-provider-status'))
    assert.equal(own.code, 0, own.out)
    // Requests of others (here the test's admin) are not the policy's business.
    assert.equal((await kubectl('create', '-n', k.namespace, 'secret', 'generic', 'admins', '--dry-run=server')).code, 0)
    // writeGuard=false leaves the policy out.
    assert.doesNotMatch(await template('--set', 'ingress.writeGuard=false'), /ValidatingAdmissionPolicy/)
  } finally {
    await remove()
    await kubectl('delete', 'secret', '-n', k.namespace, 'dealyard-libp2p-identity', `${uuid}-transfer`, '--ignore-not-found')
  }
})

test('dealsNamespace: deals, params Secrets and the Lease elsewhere; tokens only read, by name when named', async () => {
  const rel = `${k.namespace}-r`
  const deals = `${k.namespace}-d`
  const lotus = `${k.namespace}-l`
  const dropNs = await namespaces(rel, deals, lotus)
  const all = objects(await templateAs('sp1', rel, '--set', `ingress.dealsNamespace=${deals}`, '--set', `ingress.secretNamespaces={${lotus}}`, '--set', 'ingress.tokenSecretNames={lotus-tokens}'))
  const args: string[] = deployment(all).template.spec.containers[0].args
  assert.ok(args.includes(`--namespace=${deals}`), args.join(' '))
  const lease = args.find((a) => a.startsWith('--provider-status-lease='))!.split('=')[1]!
  assert.match(lease, /^.*-provider-status-[0-9a-f]{8}$/)
  const remove = await applyForReal(all.filter((o) => rbacKinds.includes(o.kind)))
  try {
    const can = canI(`system:serviceaccount:${rel}:sp1-ingress`)
    assert.equal(await can('create', 'storagedeals.dealyard.io', deals), true)
    assert.equal(await can('create', 'secrets', deals), true)
    assert.equal(await can('update', `leases.coordination.k8s.io/${lease}`, deals), true)
    // In the release namespace (the identity Secret's): the named token Secrets, read only.
    assert.equal(await can('create', 'storagedeals.dealyard.io', rel), false)
    assert.equal(await can('create', 'secrets', rel), false)
    assert.equal(await can('delete', 'secrets', rel), false)
    assert.equal(await can('get', 'secrets/lotus-tokens', rel), true)
    assert.equal(await can('get', 'secrets/dealyard-libp2p-identity', rel), false)
    assert.equal(await can('get', 'secrets/lotus-tokens', lotus), true)
    assert.equal(await can('get', 'secrets/other', lotus), false)
    assert.equal(await can('update', 'leases.coordination.k8s.io/sp1-provider-status', rel), false)
  } finally {
    await remove()
    await dropNs()
  }
  await assert.rejects(template('--set', 'ingress.dealsNamespace=Not_A_Namespace'), /dealsNamespace/)
  // The chart's RBAC is made for the namespace and Lease it passes.
  await assert.rejects(template('--set', 'ingress.extraArgs={--namespace=other}'), /ingress.extraArgs: --namespace=other: the chart sets this flag/)
  await assert.rejects(template('--set', 'ingress.extraArgs={--provider-status-lease=x}'), /the chart sets this flag/)
})

test('two installations never share an object: same release name in two namespaces, and ambiguous <namespace>-<release>', async () => {
  const east = `${k.namespace}-east`
  const west = `${k.namespace}-west`
  const lotus = `${k.namespace}-lotus2`
  // Objects outside the release namespace (cluster-scoped, in "default", in a token or deals
  // namespace) are the ones another installation can meet.
  const shared = (objs: Obj[], ns: string): string[] => objs.filter((o) => o.metadata.namespace !== ns).map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)
  const opts = ['--set', 'crds.enabled=false', '--set', `ingress.secretNamespaces={${lotus}}`]
  const a = objects(await templateAs('dealyard', east, ...opts))
  const b = objects(await templateAs('dealyard', west, ...opts))
  // Applied as GitOps tools do (helm template | kubectl apply): the second installation no longer
  // takes the first's access to the token namespace.
  const dropNs = await namespaces(east, west, lotus)
  const removeA = await applyForReal(a.filter((o) => rbacKinds.includes(o.kind)))
  const removeB = await applyForReal(b.filter((o) => rbacKinds.includes(o.kind)))
  try {
    assert.equal(await canI(`system:serviceaccount:${east}:dealyard-ingress`)('get', 'secrets', lotus), true)
    assert.equal(await canI(`system:serviceaccount:${west}:dealyard-ingress`)('get', 'secrets', lotus), true)
  } finally {
    await removeA()
    await removeB()
    await dropNs()
  }
  assert.deepEqual(shared(a, east).filter((n) => shared(b, west).includes(n)), [])
  // Their deals in one namespace too (a mistake, but not one that mixes up their RBAC).
  const withDeals = [...opts, '--set', `ingress.dealsNamespace=${lotus}`]
  const a2 = objects(await templateAs('dealyard', east, ...withDeals))
  const b2 = objects(await templateAs('dealyard', west, ...withDeals))
  assert.deepEqual(shared(a2, east).filter((n) => shared(b2, west).includes(n)), [])
  // a-b/c and a/b-c: one "<namespace>-<release>", two installations.
  const ab = objects(await templateAs('c', 'a-b', '--set', 'crds.enabled=false'))
  const bc = objects(await templateAs('b-c', 'a', '--set', 'crds.enabled=false'))
  assert.notEqual(find(ab, 'ClusterRole').metadata.name, find(bc, 'ClusterRole').metadata.name)
  assert.deepEqual(shared(ab, 'a-b').filter((n) => shared(bc, 'a').includes(n)), [])
  // The longest namespace and release name: names within 63 characters, still unique.
  const longNs = 'n'.repeat(63)
  const long1 = objects(await templateAs('r'.repeat(53), longNs, ...withDeals))
  const long2 = objects(await templateAs(`${'r'.repeat(52)}s`, longNs, ...withDeals))
  for (const o of long1) assert.ok(o.metadata.name.length <= 63, `${o.kind} ${o.metadata.name} is longer than 63`)
  assert.deepEqual(shared(long1, longNs).filter((n) => shared(long2, longNs).includes(n)), [])
})

test('rollouts: a preStop sleep before the drain, and a grace period that covers both', async () => {
  const pod = (objs: Obj[]): any => deployment(objs).template.spec
  const byDefault = pod(objects(await template()))
  assert.deepEqual(byDefault.containers[0].lifecycle, { preStop: { exec: { command: ['/bin/sleep', '5'] } } })
  // 5 s of sleep, the ingress's 30 s drain (DRAIN_MS), 15 s to stop.
  assert.equal(byDefault.terminationGracePeriodSeconds, 50)
  const longer = pod(objects(await template('--set', 'ingress.preStopSleepSeconds=20')))
  assert.deepEqual(longer.containers[0].lifecycle.preStop.exec.command, ['/bin/sleep', '20'])
  assert.equal(longer.terminationGracePeriodSeconds, 65)
  const none = pod(objects(await template('--set', 'ingress.preStopSleepSeconds=0')))
  assert.equal(none.containers[0].lifecycle, undefined)
  assert.equal(none.terminationGracePeriodSeconds, 45)
})

test('every production setting renders, and the apiserver takes it (server-side dry run)', async () => {
  const rel = `${k.namespace}-p`
  const deals = `${k.namespace}-pd`
  const lotus = `${k.namespace}-pl`
  const rendered = await templateAs('sp1', rel, '-f', everyOption, '--set', `ingress.dealsNamespace=${deals}`, '--set', `ingress.secretNamespaces={${lotus}}`)
  const all = objects(rendered)
  const spec = deployment(all).template.spec
  const meta = deployment(all).template.metadata
  assert.deepEqual(spec.nodeSelector, { 'node-role/storage': 'true' })
  assert.deepEqual(spec.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'storage', effect: 'NoSchedule' }])
  assert.ok(spec.affinity.nodeAffinity !== undefined && spec.affinity.podAntiAffinity === undefined, 'the affinity given replaces the default')
  assert.deepEqual(spec.topologySpreadConstraints[0].labelSelector, { matchLabels: { 'app.kubernetes.io/name': 'dealyard', 'app.kubernetes.io/instance': 'sp1', 'app.kubernetes.io/component': 'ingress' } })
  assert.deepEqual(spec.topologySpreadConstraints[1].labelSelector, { matchLabels: { 'app.kubernetes.io/instance': 'sp1' } })
  assert.equal(spec.priorityClassName, 'system-cluster-critical')
  assert.deepEqual(spec.imagePullSecrets, [{ name: 'regcred' }, { name: 'mirror-cred' }])
  assert.equal(meta.annotations['prometheus.io/scrape'], 'true')
  assert.equal(meta.labels.team, 'storage')
  assert.equal(meta.labels['app.kubernetes.io/component'], 'ingress', 'the chart\'s labels win over podLabels')
  assert.deepEqual(spec.volumes[1], { name: 'ask-key', secret: { secretName: 'worker-key' } })
  assert.deepEqual(spec.containers[0].volumeMounts[1], { name: 'ask-key', mountPath: '/var/run/dealyard/ask', readOnly: true })
  assert.equal(spec.containers[0].image, 'registry.internal/mirror/dealyard:0.1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef')
  const svc = find(all, 'Service', 'sp1-ingress')
  assert.equal(svc.metadata.annotations?.['service.beta.kubernetes.io/aws-load-balancer-type'], 'nlb')
  assert.equal(svc.spec.loadBalancerIP, '203.0.113.10')
  assert.deepEqual(svc.spec.loadBalancerSourceRanges, ['203.0.113.0/24', '2001:db8::/32'])
  assert.equal(svc.spec.ports[0].nodePort, 30401)
  assert.deepEqual([svc.spec.ipFamilyPolicy, svc.spec.ipFamilies], ['PreferDualStack', ['IPv4']])
  assert.deepEqual(spec.containers[0].args.filter((a: string) => /^--(listen|metrics-addr)=/.test(a)), ['--listen=/ip4/0.0.0.0/tcp/4001', '--listen=/ip6/::/tcp/4001', '--metrics-addr=[::]:9200'])
  assert.equal(find(all, 'PodDisruptionBudget').spec.unhealthyPodEvictionPolicy, 'AlwaysAllow')
  const dropNs = await namespaces(rel, deals, lotus)
  try {
    const { code, out } = await dryRun(rendered)
    assert.equal(code, 0, out)
    assert.match(out, /deployment.apps\/sp1-ingress created \(server dry run\)/)
    // A fixed node port on a NodePort Service.
    const nodePort = await templateAs('sp1', rel, '--set', 'ingress.service.type=NodePort', '--set', 'ingress.service.nodePort=30402', '--set', 'crds.enabled=false')
    assert.equal(find(objects(nodePort), 'Service', 'sp1-ingress').spec.ports[0].nodePort, 30402)
    const np = await dryRun(nodePort)
    assert.equal(np.code, 0, np.out)
  } finally {
    await dropNs()
  }
  await assert.rejects(template('--set', 'ingress.service.type=ClusterIP', '--set', 'ingress.service.nodePort=30401'), /a ClusterIP Service has no node port/)
  await assert.rejects(template('--set', 'ingress.service.type=NodePort', '--set', 'ingress.service.loadBalancerIP=203.0.113.10'), /apply to a LoadBalancer Service, not a NodePort/)
  await assert.rejects(template('--set', 'ingress.topologySpreadConstraints[0].maxSkew=1'), /topologyKey/)
})

test('replicas prefer different nodes unless an affinity is given; one replica has no anti-affinity', async () => {
  const two = deployment(objects(await template())).template.spec.affinity
  const term = two.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm
  assert.equal(term.topologyKey, 'kubernetes.io/hostname')
  assert.deepEqual(term.labelSelector.matchLabels, { 'app.kubernetes.io/name': 'dealyard', 'app.kubernetes.io/instance': 'sp1', 'app.kubernetes.io/component': 'ingress' })
  assert.equal(deployment(objects(await template('--set', 'ingress.replicas=1'))).template.spec.affinity, undefined)
})

test('image references: a digest in the repository or in image.digest renders a valid reference', async () => {
  const digest = 'sha256:' + '0'.repeat(64)
  const image = async (...args: string[]): Promise<string> => deployment(objects(await template(...args))).template.spec.containers[0].image
  assert.equal(await image(), 'ghcr.io/dealyard/dealyard:0.1.0')
  assert.equal(await image('--set', `image.repository=registry.internal/dealyard@${digest}`), `registry.internal/dealyard@${digest}`)
  assert.equal(await image('--set', `image.digest=${digest}`), `ghcr.io/dealyard/dealyard@${digest}`)
  assert.equal(await image('--set', `image.digest=${digest}`, '--set', 'image.tag=0.1.1'), `ghcr.io/dealyard/dealyard:0.1.1@${digest}`)
  await assert.rejects(template('--set', 'image.repository=registry.internal/dealyard:0.1.0'), /image\/repository/)
  await assert.rejects(template('--set', 'image.digest=0000'), /image\/digest/)
  await assert.rejects(template('--set', `image.repository=registry.internal/dealyard@${digest}`, '--set', 'image.tag=v1'), /image.repository ends in a digest/)
})

test('names of Secrets and namespaces are checked by the schema', async () => {
  await assert.rejects(template('--set', 'ingress.identitySecret=Not_A_Secret_Name'), /identitySecret/)
  await assert.rejects(template('--set', 'ingress.secretNamespaces={Lotus}'), /secretNamespaces/)
  await assert.rejects(template('--set', 'ingress.tokenSecretNames={a b}'), /tokenSecretNames/)
  await assert.rejects(template('--set', 'image.pullSecrets={Reg_Cred}'), /pullSecrets/)
  await assert.rejects(template('--set', 'ingress.priorityClassName=High'), /priorityClassName/)
})

test('labels: helm.sh/chart on every object; Services and the PDB select on name too; the Deployment selector is unchanged', async () => {
  const all = objects(await template())
  for (const o of all.filter((x) => x.kind !== 'CustomResourceDefinition')) assert.match(o.metadata.labels?.['helm.sh/chart'] ?? '', /^dealyard-\d+\.\d+\.\d+/, `${o.kind} ${o.metadata.name}`)
  const selector = { 'app.kubernetes.io/name': 'dealyard', 'app.kubernetes.io/instance': 'sp1', 'app.kubernetes.io/component': 'ingress' }
  assert.deepEqual(find(all, 'Service', 'sp1-ingress').spec.selector, selector)
  assert.deepEqual(find(all, 'PodDisruptionBudget').spec.selector.matchLabels, selector)
  // Immutable: a changed selector would make `helm upgrade` of an existing release fail.
  assert.deepEqual(deployment(all).selector.matchLabels, { 'app.kubernetes.io/instance': 'sp1', 'app.kubernetes.io/component': 'ingress' })
  // The pod's memory request covers the measured steady state (~120 MiB + 2.8 KiB a deal).
  assert.equal(deployment(all).template.spec.containers[0].resources.requests.memory, '256Mi')
})

test('values added since chart 0.1.0 may be missing (helm upgrade --reuse-values keeps the old chart\'s defaults): the same manifests', async () => {
  // --reuse-values replaces the new chart's defaults with the old release's values, so every key
  // added since is absent; `--set key=null` takes a key out the same way.
  const added = ['image.digest', 'image.pullSecrets', 'ingress.dealsNamespace', 'ingress.writeGuard', 'ingress.service.annotations',
    'ingress.service.nodePort', 'ingress.service.loadBalancerIP', 'ingress.service.loadBalancerSourceRanges', 'ingress.tokenSecretNames',
    'ingress.preStopSleepSeconds', 'ingress.nodeSelector', 'ingress.tolerations', 'ingress.affinity', 'ingress.topologySpreadConstraints',
    'ingress.priorityClassName', 'ingress.podAnnotations', 'ingress.podLabels', 'ingress.extraVolumes', 'ingress.extraVolumeMounts', 'ingress.ipFamilies']
  assert.equal(await template(...added.flatMap((key) => ['--set', `${key}=null`])), await template())
})

test('ingress.ipFamilies: a libp2p listener per family on one port, /metrics on [::] with IPv6, the Services in those families', async () => {
  const render = async (...args: string[]): Promise<{ flags: string[], services: unknown[], rendered: string }> => {
    const rendered = await template(...args)
    const all = objects(rendered)
    const flags = (deployment(all).template.spec.containers[0].args as string[]).filter((a) => /^--(listen|metrics-addr)=/.test(a))
    const services = ['sp1-ingress', 'sp1-metrics'].map((n) => { const { ipFamilyPolicy, ipFamilies } = find(all, 'Service', n).spec; return { ipFamilyPolicy, ipFamilies } })
    return { flags, services, rendered }
  }
  const single = (family: string): unknown[] => Array(2).fill({ ipFamilyPolicy: 'SingleStack', ipFamilies: [family] })
  const byDefault = await render()
  assert.deepEqual(byDefault.flags, ['--listen=/ip4/0.0.0.0/tcp/24001', '--metrics-addr=0.0.0.0:9100'])
  assert.deepEqual(byDefault.services, single('IPv4'))
  // An IPv6-only cluster's pods have no IPv4 address to listen or be probed on.
  const v6 = await render('--set', 'ingress.ipFamilies={IPv6}', '--set', 'ingress.port=4001', '--set', 'ingress.metricsPort=9200')
  assert.deepEqual(v6.flags, ['--listen=/ip6/::/tcp/4001', '--metrics-addr=[::]:9200'])
  assert.deepEqual(v6.services, single('IPv6'))
  // Both on one port (libp2p binds /ip6 IPv6-only); the first family is the Services' primary.
  const duals = []
  for (const families of [['IPv4', 'IPv6'], ['IPv6', 'IPv4']]) {
    const dual = await render('--set', `ingress.ipFamilies={${families.join(',')}}`)
    assert.deepEqual(dual.flags, ['--listen=/ip4/0.0.0.0/tcp/24001', '--listen=/ip6/::/tcp/24001', '--metrics-addr=[::]:9100'])
    assert.deepEqual(dual.services, Array(2).fill({ ipFamilyPolicy: 'PreferDualStack', ipFamilies: [families[0]] }))
    duals.push(dual)
  }
  // The test cluster is IPv4-only (--service-cluster-ip-range=10.0.0.0/24), and the apiserver
  // refuses a Service naming a family it has no range for, PreferDualStack or not: the dual-stack
  // Services whose first family is IPv4 are taken (in IPv4 alone), the ones naming IPv6 refused
  // for that alone, not for their shape.
  const refusals = async (r: { rendered: string }): Promise<string[]> => {
    const { code, out } = await dryRun(objects(r.rendered).filter((o) => o.kind === 'Service').map((o) => JSON.stringify(o)).join('\n'))
    const errors = [...out.matchAll(/Service "sp1-(?:ingress|metrics)" is invalid: (.*)/g)].map((m) => m[1]!)
    assert.equal(code === 0, errors.length === 0, out)
    return errors
  }
  assert.deepEqual(await refusals(byDefault), [])
  const noIPv6 = (i: number): string[] => Array(2).fill(`spec.ipFamilies[${i}]: Invalid value: "IPv6": not configured on this cluster`)
  assert.deepEqual(await refusals(v6), noIPv6(0))
  assert.deepEqual(await refusals(duals[0]!), [])
  assert.deepEqual(await refusals(duals[1]!), noIPv6(0))
  // Anything but IPv4, IPv6 or both, each once, is refused naming the value.
  await assert.rejects(template('--set', 'ingress.ipFamilies={IPv5}'), /at '\/ingress\/ipFamilies\/0': value must be one of 'IPv4', 'IPv6'/)
  await assert.rejects(template('--set-json', 'ingress.ipFamilies=[]'), /at '\/ingress\/ipFamilies': minItems: got 0, want 1/)
  await assert.rejects(template('--set', 'ingress.ipFamilies={IPv4,IPv4}'), /at '\/ingress\/ipFamilies': items at 0 and 1 are equal/)
  await assert.rejects(template('--set', 'ingress.ipFamilies=IPv6'), /at '\/ingress\/ipFamilies': got string, want array/)
  await assert.rejects(run(helm, ['install', 'sp1', chart, '--namespace', k.namespace, '--dry-run=client', '--set', 'ingress.ipFamilies={IPv5}']), /ingress\/ipFamilies/)
  // Values that got past the schema are refused by the template.
  for (const bad of [['--set', 'ingress.ipFamilies={IPv5}'], ['--set-json', 'ingress.ipFamilies=[]'], ['--set', 'ingress.ipFamilies={IPv6,IPv6}'], ['--set', 'ingress.ipFamilies=IPv4']]) {
    await assert.rejects(template('--skip-schema-validation', ...bad), /ingress.ipFamilies must list IPv4, IPv6 or both, each once/, bad.join(' '))
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
