/**
 * The process kubelet under the real Job controller of the shared plane: Jobs complete or fail from
 * real process exit codes, unknown images are refused, env comes from Secrets and fieldRefs, and
 * deletion, deadlines, restarts and stop() end the processes.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { V1Pod } from '@kubernetes/client-node'
import { Core, isNotFound, type KubeObject } from '../../../src/kube/index.ts'
import { testKube, eventually, type TestKube } from '../../support/kube.ts'
import { startProcessKubelet, type ProcessKubelet } from '../../support/process-kubelet.ts'

type Pod = V1Pod & KubeObject
interface Job extends KubeObject { status?: { succeeded?: number, failed?: number, conditions?: Array<{ type: string, status: string, reason?: string }> } }

let k: TestKube
let kubelet: ProcessKubelet
let workDir: string
let hostDir: string
const images = { node: [process.execPath] }

before(async () => {
  k = await testKube(import.meta.filename)
  workDir = await mkdtemp(join(tmpdir(), 'dealyard-pk-'))
  hostDir = await mkdtemp(join(tmpdir(), 'dealyard-pk-host-'))
  kubelet = await startProcessKubelet({ rest: k.rest, nodeName: `local-exec-${randomBytes(3).toString('hex')}`, namespace: k.namespace, images, workDir })
})
after(async () => {
  await kubelet.stop()
  await k.cleanup()
  await rm(workDir, { recursive: true, force: true })
  await rm(hostDir, { recursive: true, force: true })
})

const container = (script: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ name: 'main', image: 'node', command: ['-e', script], ...extra })

async function createJob (name: string, podSpec: Record<string, unknown>, backoffLimit = 0): Promise<void> {
  await k.rest.create(Core.jobs, k.namespace, {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name },
    spec: { backoffLimit, template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 2, ...podSpec } } }
  } as KubeObject)
}

async function createPod (name: string, spec: Record<string, unknown>): Promise<Pod> {
  return await k.rest.create<Pod>(Core.pods, k.namespace, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { restartPolicy: 'Never', ...spec } } as Pod)
}

async function jobCondition (name: string, type: string, timeoutMs = 30_000): Promise<Job> {
  return await eventually(async () => {
    const job = await k.rest.get<Job>(Core.jobs, k.namespace, name)
    const other = job.status?.conditions?.find((c) => c.type !== type && (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
    if (other != null) throw new Error(`job ${name} is ${other.type} (${other.reason ?? ''}), not ${type}`)
    return job.status?.conditions?.some((c) => c.type === type && c.status === 'True') === true ? job : undefined
  }, { timeoutMs, intervalMs: 200, what: `job ${name} ${type}` })
}

const jobPods = async (name: string): Promise<Pod[]> =>
  (await k.rest.list<Pod>(Core.pods, k.namespace, { labelSelector: `batch.kubernetes.io/job-name=${name}` })).items

const podPhase = (name: string, phase: string, timeoutMs = 20_000): Promise<Pod> => eventually(async () => {
  const p = await k.rest.get<Pod>(Core.pods, k.namespace, name)
  return p.status?.phase === phase ? p : undefined
}, { timeoutMs, intervalMs: 100, what: `pod ${name} ${phase}` })

const pidOf = (pod: Pod): number => Number(pod.status?.containerStatuses?.[0]?.containerID?.replace('process://', ''))
const processAlive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

test('a Job whose process writes a file and exits 0 is Complete, set by the real Job controller', async () => {
  const script = "const fs = require('fs'); fs.writeFileSync(process.env.OUT, 'hello ' + process.env.POD); fs.writeFileSync(process.env.SCRATCH + '/x', 'e'); console.log('done', process.argv[1])"
  await createJob('ok', {
    containers: [container(script, {
      args: ['/staging/arg'],
      env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'OUT', value: '/staging/$(POD).txt' }, { name: 'SCRATCH', value: '/scratch' }],
      volumeMounts: [{ name: 'staging', mountPath: '/staging' }, { name: 'scratch', mountPath: '/scratch' }]
    })],
    volumes: [{ name: 'staging', hostPath: { path: hostDir, type: 'Directory' } }, { name: 'scratch', emptyDir: {} }]
  })
  const job = await jobCondition('ok', 'Complete')
  assert.equal(job.status?.succeeded, 1)
  const [pod] = await jobPods('ok')
  assert.ok(pod != null)
  assert.equal(pod.spec?.nodeName, kubelet.nodeName, 'bound to the agent node through pods/binding')
  assert.equal(pod.status?.phase, 'Succeeded')
  assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0)
  assert.equal(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True', 'binding condition kept by strategic merge')
  const name = pod.metadata!.name!
  // OUT went through $(POD) expansion and the /staging mount → the hostPath dir.
  assert.equal(await readFile(join(hostDir, `${name}.txt`), 'utf8'), `hello ${name}`)
  assert.equal(await readFile(join(kubelet.podDir(pod), 'volumes', 'scratch', 'x'), 'utf8'), 'e')
  assert.equal(await readFile(join(kubelet.podDir(pod), 'stdout.log'), 'utf8'), `done ${hostDir}/arg\n`)
})

test('a Job whose process exits 3 with backoffLimit 1 fails after two Failed pods with exit code 3', async () => {
  await createJob('fail', { containers: [container('process.exit(3)')] }, 1)
  const job = await jobCondition('fail', 'Failed', 60_000)
  assert.equal(job.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'BackoffLimitExceeded')
  assert.equal(job.status?.failed, 2)
  const pods = await jobPods('fail')
  assert.equal(pods.length, 2)
  for (const p of pods) {
    assert.equal(p.status?.phase, 'Failed')
    assert.equal(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3)
    assert.equal(p.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Error')
  }
})

test('an image outside the allow-list fails the pod with ImageNotMapped and runs nothing', async () => {
  await createPod('unknown', { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'touch /tmp/x'] }] })
  const pod = await podPhase('unknown', 'Failed')
  assert.equal(pod.status?.reason, 'ImageNotMapped')
  assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'ImageNotMapped')
  assert.equal(existsSync(join(kubelet.podDir(pod), 'stdout.log')), false)
})

test('env from a Secret reaches the process; a missing Secret key is a CreateContainerConfigError', async () => {
  await k.rest.create(Core.secrets, k.namespace, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: { token: Buffer.from('s3cr3t-value').toString('base64') } } as KubeObject)
  await createPod('secret-env', { containers: [container('console.log(process.env.TOKEN + "|" + process.env.NS)', {
    env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } }, { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }]
  })] })
  const pod = await podPhase('secret-env', 'Succeeded')
  assert.equal(await readFile(join(kubelet.podDir(pod), 'stdout.log'), 'utf8'), `s3cr3t-value|${k.namespace}\n`)
  await createPod('secret-missing', { containers: [container('0', { env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope' } } }] })] })
  const bad = await podPhase('secret-missing', 'Failed')
  assert.equal(bad.status?.reason, 'CreateContainerConfigError')
})

test('deleting a running pod sends SIGTERM, then the agent removes the pod for good', async () => {
  const marker = join(hostDir, 'terminated')
  const ready = join(hostDir, 'handler-installed')
  await createPod('graceful', { terminationGracePeriodSeconds: 10, containers: [container(`process.on('SIGTERM', () => { require('fs').writeFileSync(${JSON.stringify(marker)}, 'bye'); process.exit(0) }); require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000)`)] })
  const running = await podPhase('graceful', 'Running')
  const pid = pidOf(running)
  assert.ok(processAlive(pid))
  // Running means the process started, not that it has set up its handler yet (as with a real
  // kubelet): on a loaded machine Node takes a while to boot, and a SIGTERM before the handler
  // exists would kill it by default.
  await eventually(() => existsSync(ready), { timeoutMs: 10_000, what: 'the SIGTERM handler' })
  await k.rest.delete(Core.pods, k.namespace, 'graceful')
  await eventually(() => k.rest.get(Core.pods, k.namespace, 'graceful').then(() => false, (e) => isNotFound(e)), { timeoutMs: 8000, what: 'pod gone' })
  assert.equal(await readFile(marker, 'utf8'), 'bye')
  assert.equal(processAlive(pid), false)
})

test('a process ignoring SIGTERM is killed after the grace period', async () => {
  const ready = join(hostDir, 'ignoring-sigterm')
  await createPod('stubborn', { terminationGracePeriodSeconds: 1, containers: [container(`process.on('SIGTERM', () => {}); require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000)`)] })
  const pid = pidOf(await podPhase('stubborn', 'Running'))
  await eventually(() => existsSync(ready), { timeoutMs: 10_000, what: 'the SIGTERM handler' })
  const t0 = Date.now()
  await k.rest.delete(Core.pods, k.namespace, 'stubborn')
  await eventually(() => k.rest.get(Core.pods, k.namespace, 'stubborn').then(() => false, (e) => isNotFound(e)), { timeoutMs: 8000, what: 'pod gone' })
  assert.ok(Date.now() - t0 >= 900, 'waited for the grace period')
  assert.equal(processAlive(pid), false)
})

test('activeDeadlineSeconds fails a pod that runs too long', async () => {
  await createPod('slow', { activeDeadlineSeconds: 1, terminationGracePeriodSeconds: 1, containers: [container('setInterval(() => {}, 1000)')] })
  const pid = pidOf(await podPhase('slow', 'Running'))
  const pod = await podPhase('slow', 'Failed', 10_000)
  assert.equal(pod.status?.reason, 'DeadlineExceeded')
  assert.equal(processAlive(pid), false)
})

test('restartPolicy OnFailure restarts the process in place and the Job completes', async () => {
  const flag = join(hostDir, 'second-try')
  await createJob('retry', {
    restartPolicy: 'OnFailure',
    containers: [container(`const fs = require('fs'); if (!fs.existsSync(${JSON.stringify(flag)})) { fs.writeFileSync(${JSON.stringify(flag)}, ''); process.exit(1) }`)]
  }, 3)
  const job = await jobCondition('retry', 'Complete')
  assert.equal(job.status?.succeeded, 1)
  const [pod] = await jobPods('retry')
  assert.equal(pod?.status?.containerStatuses?.[0]?.restartCount, 1)
  assert.equal(pod?.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 1)
})

test('stop() kills the processes the agent started', async () => {
  const other = await startProcessKubelet({ rest: k.rest, nodeName: `local-exec-stop-${randomBytes(3).toString('hex')}`, namespace: k.namespace, images, workDir })
  // Pre-assigned to the second node, so the first agent leaves it alone.
  await createPod('forever', { nodeName: other.nodeName, containers: [container('setInterval(() => {}, 1000)')] })
  const pid = pidOf(await podPhase('forever', 'Running'))
  assert.ok(processAlive(pid))
  await other.stop()
  assert.equal(processAlive(pid), false)
  await assert.rejects(k.rest.get({ group: '', version: 'v1', plural: 'nodes' }, undefined, other.nodeName), (e) => isNotFound(e))
})
