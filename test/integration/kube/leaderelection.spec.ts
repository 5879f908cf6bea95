/**
 * Two (then three) real processes contend for one Lease on the real apiserver. Killing the leader
 * with SIGKILL hands leadership to another within the lease duration; SIGTERM releases the Lease so
 * a successor takes over at once.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { Core, KubeRest, LeaderElector, loadKubeConfig, type KubeObject } from '../../../src/kube/index.ts'
import { startStallProxy } from '../../support/stall-proxy.ts'
import { testKube, eventually, type TestKube } from '../../support/kube.ts'

let k: TestKube
const children: ChildProcess[] = []
const candidates = new Map<string, Candidate>()
before(async () => { k = await testKube(import.meta.filename) })
after(async () => {
  for (const c of children) if (c.exitCode == null && c.signalCode == null) c.kill('SIGKILL')
  await k.cleanup()
})

interface Candidate { proc: ChildProcess, lines: string[], leadingAt?: number }

function candidate (identity: string): Candidate {
  const proc = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/elector.ts'), k.plane.kubeconfig, k.namespace, 'dealyard-test', identity],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DEALYARD_LOG_LEVEL: 'error' } })
  children.push(proc)
  const c: Candidate = { proc, lines: [] }
  candidates.set(identity, c)
  proc.stdout!.on('data', (b: Buffer) => {
    for (const line of b.toString().trim().split('\n')) {
      c.lines.push(line)
      if (line.startsWith('leading')) c.leadingAt = Date.now()
    }
  })
  return c
}

const leaseHolder = async (): Promise<string | undefined> =>
  ((await k.rest.get<KubeObject & { spec: { holderIdentity?: string } }>(Core.leases, k.namespace, 'dealyard-test')).spec.holderIdentity)

test('one of two candidates leads; after SIGKILL the other takes over within the lease duration', async () => {
  const a = candidate('a')
  await eventually(() => a.leadingAt, { timeoutMs: 15_000, what: 'a to lead' })
  const b = candidate('b')
  await eventually(() => b.lines.includes('candidate b'), { what: 'b to start' })
  await new Promise((resolve) => setTimeout(resolve, 2000))
  assert.equal(b.leadingAt, undefined, 'b must not lead while a renews')
  assert.equal(await leaseHolder(), 'a')
  const killedAt = Date.now()
  a.proc.kill('SIGKILL')
  await eventually(() => b.leadingAt, { timeoutMs: 10_000, what: 'b to take over' })
  const takeover = b.leadingAt! - killedAt
  // b may only take the Lease once it saw no renewal for the 3 s lease duration, and should do so
  // within about one retry period after that.
  assert.ok(takeover >= 1000, `took over too early (${takeover} ms): a's lease was still valid`)
  assert.ok(takeover <= 3000 + 2 * 900 + 500, `took over in ${takeover} ms`)
  assert.equal(await leaseHolder(), 'b')
  const lease = await k.rest.get<KubeObject & { spec: { leaseTransitions?: number, renewTime?: string } }>(Core.leases, k.namespace, 'dealyard-test')
  assert.equal(lease.spec.leaseTransitions, 1)
  assert.match(lease.spec.renewTime ?? '', /\.\d{6}Z$/, 'renewTime is a MicroTime')
})

test('a leader stopped with SIGTERM releases the Lease and a successor takes over at once', async () => {
  const c = candidate('c')
  await eventually(() => c.lines.includes('candidate c'), { what: 'c to start' })
  const b = candidates.get('b')!.proc
  const stoppedAt = Date.now()
  b.kill('SIGTERM')
  await eventually(() => c.leadingAt, { timeoutMs: 10_000, what: 'c to take over' })
  const takeover = c.leadingAt! - stoppedAt
  assert.ok(takeover < 2000, `released lease taken in ${takeover} ms (a killed leader would need ≥ 3000)`)
  await eventually(() => b.exitCode === 0, { what: 'b to exit cleanly after SIGTERM' })
  assert.equal(await leaseHolder(), 'c')
})

test('a leader whose apiserver connection stalls stops leading by its renew deadline, before another can take the Lease', async () => {
  const kc = loadKubeConfig(k.plane.kubeconfig)
  const proxy = await startStallProxy(kc)
  const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 }
  const a = new LeaderElector(new KubeRest(proxy.kubeConfig), { namespace: k.namespace, name: 'stalled', identity: 'A', ...timings, onStartedLeading: () => {} })
  const b = new LeaderElector(new KubeRest(kc), { namespace: k.namespace, name: 'stalled', identity: 'B', ...timings, onStartedLeading: () => {} })
  try {
    void a.run()
    await eventually(() => a.isLeader, { what: 'A leading' })
    void b.run()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    proxy.stall()
    const stalledAt = performance.now()
    let both = 0
    while (a.isLeader || !b.isLeader) {
      if (a.isLeader && b.isLeader) both++
      assert.ok(performance.now() - stalledAt < 15_000, 'B took over within 15 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.equal(both, 0, 'never two leaders at once')
  } finally {
    proxy.resume()
    await Promise.all([a.stop(), b.stop()])
    await proxy.close()
  }
})
