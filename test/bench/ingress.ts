/**
 * Ingress benchmark (`npm run bench ingress [--clients N] [--per-client K] [--rounds R] [--warmup W] [--client-impl go|js] [--reconnect] [--topology shared|split|both] [--marks]`):
 * a real control plane, the Lotus peer, and `dealyard ingress` in its own process. N libp2p
 * clients (one connection each, dialled beforehand, proposals signed beforehand) send R waves of
 * online proposals, after W unmeasured waves of each kind (JIT, caches, the apiserver's heap). In
 * a wave each client sends K proposals (default 1) one after the other, the next as soon as the
 * last is answered: N proposals in flight, N×K in all; K > 1 is sustained load. --reconnect sends
 * every proposal on a connection of its own (TCP, noise, identify, then the proposal), as
 * `boost deal` does, one process per deal. Prints
 * accepted/s, p50/p99 latency, and in the same run the raw create rate of the same apiserver for
 * the same objects (a StorageDeal + its params Secret per deal, N writers creating N×K, in a
 * namespace the ingress does not watch), and the ratio; ingress waves and reference waves alternate, each started with the other processes
 * quiet. Then CPU milliseconds per deal of each process (ingress, the clients, the control plane,
 * the Lotus peer) for both, what each kind of wave left the processes to do after its last
 * answer, each wave's paired ratio and apiserver price, to show the run's spread, how long the
 * ingress's accepted deals waited on each persistence step, and how idle each core was. All of
 * it once per topology (below): by default with every process on every core, then with the
 * control plane on a core of its own.
 * Goal: p99 < 1 s at 200 concurrent proposals; ratio ≥ 0.7.
 * Profiling: DEALYARD_BENCH_INGRESS_NODE_OPTIONS adds node flags to the ingress process (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/p`, `--perf-basic-prof`), DEALYARD_BENCH_INGRESS_LOG appends its
 * stdout to a file, and --marks prints each measured wave's CLOCK_MONOTONIC start and end (what
 * `perf record -k CLOCK_MONOTONIC` stamps samples with).
 */
import { execFileSync, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { cpus, loadavg, setPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { randomBytes, randomUUID } from 'node:crypto'
import { KubeConfig } from '@kubernetes/client-node'
import { FundLedgers, LOTUS_TOKEN_LABEL, StorageDeals, StorageLedgers, StorageProviders, type StorageDeal } from '../../src/api/index.ts'
import { Core, KubeRest, type KubeObject } from '../../src/kube/rest.ts'
import { generateKey, type PrivateKey } from '../../src/filecoin/keys.ts'
import { pieceCidFromCommP } from '../../src/filecoin/cid.ts'
import { buildDealParams } from '../../src/client/proposal.ts'
import { createClientNode, proposeDeal, type DealClientNode } from '../../src/client/net.ts'
import { generateIdentityFile } from '../../src/ingress/identity.ts'
import { dealObject, LABELS } from '../../src/ingress/deal-object.ts'
import { ATTEMPT_ANNOTATION, newAttempt } from '../../src/ingress/store.ts'
import { FullNodeClient } from '../../src/lotus/index.ts'
import { startControlPlane } from '../support/controlplane.ts'
import { applyCrds } from '../support/crds.ts'
import { startLotusPeer } from '../support/lotus-peer.ts'
import { cpuNanos, procStat, settle } from './support.ts'

const { values } = parseArgs({ options: { clients: { type: 'string' }, rounds: { type: 'string' }, warmup: { type: 'string' }, 'client-impl': { type: 'string' }, marks: { type: 'boolean' }, topology: { type: 'string' }, 'per-client': { type: 'string' }, reconnect: { type: 'boolean' } } })
const N = Number(values.clients ?? 200)
const clientImpl = values['client-impl'] ?? 'go'
if (clientImpl !== 'go' && clientImpl !== 'js') throw new Error(`--client-impl must be go or js, got ${clientImpl}`)
/** A connection per proposal, as `boost deal` (one process per deal) makes: the Go clients only. */
const reconnect = values.reconnect === true
if (reconnect && clientImpl !== 'go') throw new Error('--reconnect needs --client-impl go')
const K = Number(values['per-client'] ?? 1)
if (!Number.isInteger(K) || K < 1) throw new Error(`--per-client must be a positive integer, got ${values['per-client']}`)
/** Proposals (and reference deals) per wave. */
const WAVE = N * K
const ROUNDS = Number(values.rounds ?? 6)
const WARMUP = Number(values.warmup ?? 1)
const ingressNodeOptions = (process.env.DEALYARD_BENCH_INGRESS_NODE_OPTIONS ?? '').split(' ').filter((a) => a !== '')
const ingressLog = process.env.DEALYARD_BENCH_INGRESS_LOG
/** CLOCK_MONOTONIC seconds, as perf stamps samples with -k CLOCK_MONOTONIC. */
const mark = (what: string): void => { if (values.marks === true) console.log(`MARK ${what} ${Number(process.hrtime.bigint()) / 1e9}`) }
const FIL = 10n ** 18n
const ROOT = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
const repo = new URL('../../', import.meta.url).pathname

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!
}


/**
 * CPU time (user + system, from /proc) of this process and of every process it started, by name,
 * summed over start()/stop() intervals: the ingress, the bench's own clients, the control plane
 * (etcd + kube-apiserver) and the Lotus peer share the machine's cores.
 */
class CpuMeter {
  private readonly sum = new Map<string, number>()
  private at = new Map<number, number>()
  private readonly procs: Map<number, string>

  /** The processes are found once (reading all of /proc at every sample would cost CPU itself). */
  constructor (procs: Map<number, string>) { this.procs = procs }

  start (): void { this.at = this.sample() }
  stop (): void {
    for (const [pid, ns] of this.sample()) {
      const name = this.procs.get(pid)!
      this.sum.set(name, (this.sum.get(name) ?? 0) + (ns - (this.at.get(pid) ?? ns)) / 1e6)
    }
  }

  /** Milliseconds per process name. */
  totals (): Map<string, number> { return this.sum }

  /** Nanoseconds on CPU per live process, from the same per-thread schedstat settle() reads (/proc's 10 ms ticks were coarser than a wave's share of some processes). */
  private sample (): Map<number, number> {
    const out = new Map<number, number>()
    for (const pid of this.procs.keys()) {
      const ns = cpuNanos(pid)
      if (ns > 0) out.set(pid, ns)
    }
    return out
  }
}

/** Per core, the share of the start()/stop() intervals it sat idle and the share of that spent waiting on I/O (/proc/stat, 10 ms ticks). */
class CoreMeter {
  private readonly sum: Array<{ all: number, idle: number, iowait: number }> = []
  private at: number[][] = []
  start (): void { this.at = CoreMeter.sample() }
  stop (): void {
    CoreMeter.sample().forEach((t, core) => {
      const [all, idle, iowait] = t.map((x, i) => x - this.at[core]![i]!) as [number, number, number]
      const s = this.sum[core] ??= { all: 0, idle: 0, iowait: 0 }
      s.all += all; s.idle += idle; s.iowait += iowait
    })
  }

  toString (): string { return this.sum.map((s, core) => `core ${core} idle ${(100 * (s.idle + s.iowait) / s.all).toFixed(0)} % (I/O wait ${(100 * s.iowait / s.all).toFixed(0)} %)`).join(', ') }

  /** [all ticks, idle, iowait] per core. */
  private static sample (): number[][] {
    return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l)).map((l) => {
      const f = l.split(/\s+/).slice(1, 9).map(Number)
      return [f.reduce((a, b) => a + b, 0), f[3]!, f[4]!]
    })
  }
}

/** This process and every process it started (and theirs), named by the child of ours they descend from. */
function processTree (): Map<number, string> {
  const stats = new Map<number, { ppid: number, comm: string }>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try { stats.set(Number(d), procStat(Number(d))) } catch {}
  }
  const label = (pid: number): string => pid === process.pid ? (clientImpl === 'js' ? 'bench (clients)' : 'bench (writer)') : pid === ingressProc?.pid ? 'ingress' : pid === goClients?.pid ? 'clients (go)' : stats.get(pid)?.comm ?? '?'
  const out = new Map<number, string>()
  const walk = (pid: number, name: string): void => {
    out.set(pid, name)
    for (const [child, st] of stats) if (st.ppid === pid) walk(child, pid === process.pid ? label(child) : name)
  }
  walk(process.pid, label(process.pid))
  return out
}

/**
 * Where the processes run. `shared`: every process on every core, as on one machine running the
 * whole cluster; the ingress and its clients then take CPU from the apiserver, and the ratio
 * prices the total CPU of a deal. `split`: the control plane (etcd + kube-apiserver) on core 0,
 * every other process (the ingress, its clients, the reference's writer, the Lotus peer) on core
 * 1, as in a cluster, where the apiserver runs on control-plane nodes and the ingress on a worker:
 * the ratio then prices what the ingress asks of the apiserver. The clients, which would be other
 * machines, run there at nice 19. --topology both (the default on
 * two or more cores) measures one after the other in the same run.
 */
type Topology = 'shared' | 'split'
const topologyArg = values.topology ?? (cpus().length >= 2 ? 'both' : 'shared')
if (!['shared', 'split', 'both'].includes(topologyArg)) throw new Error(`--topology must be shared, split or both, got ${topologyArg}`)
if (topologyArg !== 'shared' && cpus().length < 2) throw new Error(`--topology ${topologyArg} needs two cores, this machine has ${cpus().length}`)
const topologies: Topology[] = topologyArg === 'both' ? ['shared', 'split'] : [topologyArg as Topology]
/** Every thread of a process (threads it starts later inherit this) on the given cores. */
const pinTo = (pid: number, cores: string): void => {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' })
  } catch (err) {
    // A process that has just exited is no error; a missing taskset is.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('--topology split needs taskset (util-linux); --topology shared runs without it')
  }
}

async function pool<T> (n: number, items: T[], fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0
  await Promise.all(Array.from({ length: n }, async () => { while (i < items.length) await fn(items[i++]!) }))
}

const plane = await startControlPlane()
const peer = await startLotusPeer({ blockTimeMs: 1000 })
let ingressProc: ReturnType<typeof spawn> | undefined
let goClients: ReturnType<typeof spawn> | undefined
const nodes: DealClientNode[] = []
try {
  await applyCrds(plane)
  const kc = new KubeConfig()
  kc.loadFromFile(plane.kubeconfig)
  const rest = new KubeRest(kc)
  const ns = `bench-ingress-${randomBytes(3).toString('hex')}`
  await rest.create(Core.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })
  await rest.create(Core.secrets, ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lotus-token', labels: { [LOTUS_TOKEN_LABEL]: 'true' } }, stringData: { token: peer.fullNode.token ?? '' } } as unknown as KubeObject)
  await rest.create(StorageProviders, undefined, {
    apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageProvider', metadata: { name: `${ns}-sp` },
    spec: {
      address: peer.minerAddress,
      lotus: { fullNode: { url: peer.fullNode.url, tokenSecretRef: { namespace: ns, name: 'lotus-token', key: 'token' } }, miner: { url: peer.miner.url } },
      // Free storage: the load clients' proposals carry a token price, and the bench measures the
      // path of an accepted deal (the CRD's default ask is boost's 50,000,000 attoFIL/GiB/epoch).
      ask: { price: '0', verifiedPrice: '0' },
      dealPolicy: { expectedSealDurationEpochs: 20, transferTypes: ['http'] },
      fundLedger: `${ns}-funds`, storageLedger: `${ns}-staging`
    }
  } as unknown as KubeObject)
  // The provider's funds and staging volume: every proposal is checked against them, as in boost.
  const publishWallet = generateKey('secp256k1').address.toString('t')
  await peer.seed({ accounts: [{ address: publishWallet, balance: 1000n * FIL }], minerEscrow: 1000n * FIL })
  await rest.create(FundLedgers, undefined, {
    apiVersion: 'dealyard.io/v1alpha1', kind: 'FundLedger', metadata: { name: `${ns}-funds` }, spec: { escrowAddress: peer.minerAddress, publishWallet }
  } as unknown as KubeObject)
  await rest.create(StorageLedgers, undefined, {
    apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageLedger', metadata: { name: `${ns}-staging` }, spec: { capacityBytes: 2 ** 50 }
  } as unknown as KubeObject)
  const keys: PrivateKey[] = Array.from({ length: N }, () => generateKey('secp256k1'))
  await peer.seed({ accounts: keys.map((k) => ({ address: k.address.toString('t'), balance: FIL, escrow: FIL })) })

  const dir = mkdtempSync(join(tmpdir(), 'dealyard-bench-ingress-'))
  await generateIdentityFile(join(dir, 'identity.key'))
  ingressProc = spawn(process.execPath, [...ingressNodeOptions, join(repo, 'src/cli/main.ts'), 'ingress', '--identity-file', join(dir, 'identity.key'),
    '--kubeconfig', plane.kubeconfig, '--namespace', ns, '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-addr', '127.0.0.1:0',
    '--allow-cidr', '127.0.0.0/8', '--ask-signer', 'none', '--max-streams', '64', '--inbound-connection-rate', '10000'],
  // At the production log level (info): whatever the ingress logs per proposal is part of its cost.
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DEALYARD_LOG_LEVEL: process.env.DEALYARD_LOG_LEVEL ?? 'info' } })
  const ready = await new Promise<{ addresses: string[], metrics: string }>((resolve, reject) => {
    let out = ''
    let found = false
    ingressProc!.stdout!.on('data', (b: Buffer) => {
      if (ingressLog !== undefined) appendFileSync(ingressLog, b)
      if (found) return // drained, not kept
      out += b.toString()
      const line = out.split('\n').find((l) => l.startsWith('{') && !l.includes('"level"') && l.includes('"addresses"'))
      if (line !== undefined) {
        found = true
        resolve(JSON.parse(line) as { addresses: string[], metrics: string })
      }
    })
    ingressProc!.once('exit', (code) => { reject(new Error(`ingress exited ${code}`)) })
  })
  const addr = ready.addresses[0]!
  for (let i = 0; i < (clientImpl === 'js' ? N : 1); i++) nodes.push(await createClientNode())
  const { multiaddr } = await import('@multiformats/multiaddr')
  await pool(20, nodes, async (n) => { await n.dial(multiaddr(addr)) })
  // Go clients: boost's DealClient framing on go-libp2p (test/interop/boostclient -load), each with
  // its own connection and wallet, as deal clients are; their wallets are funded here.
  let goLines: AsyncIterator<string> | undefined
  /** The Go clients' next output line; their exit (a panic goes to stderr, inherited) is an error here. */
  const goLine = async (what: string): Promise<string> => {
    const next = await goLines!.next()
    if (next.done === true) throw new Error(`go clients exited (code ${goClients?.exitCode ?? '?'}) before ${what}`)
    return next.value
  }
  if (clientImpl === 'go') {
    const bin = execFileSync(join(repo, 'test/interop/boostclient/build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
    goClients = spawn(bin, ['-load', String(N), '-addr', addr, '-provider', peer.minerAddress, '-root', ROOT, '-url', 'http://127.0.0.1:9/data.car', '-collateral', '2000', ...(reconnect ? ['-reconnect'] : [])],
      { stdio: ['pipe', 'pipe', 'inherit'] })
    goLines = createInterface({ input: goClients.stdout! })[Symbol.asyncIterator]()
    const { wallets } = JSON.parse(await goLine('their wallets')) as { wallets: string[] }
    await peer.seed({ accounts: wallets.map((address) => ({ address, balance: FIL, escrow: FIL })) })
  }
  /** One wave of the Go clients' proposals (K per client, N in flight); resolves with what they saw. */
  const goWave = async (start: number, timed: (run: () => Promise<void>) => Promise<void>): Promise<{ latenciesMs: number[], accepted: number, messages: Record<string, number> }> => {
    const pieces = Array.from({ length: WAVE }, () => pieceCidFromCommP(new Uint8Array(randomBytes(32))).toString())
    goClients!.stdin!.write(JSON.stringify({ start, pieces }) + '\n')
    const ready = await goLine('signing the wave')
    if (ready !== '{"ready":true}') throw new Error(`go clients: expected the ready line, got ${ready.slice(0, 200)}`)
    let out: { latenciesMs: number[], accepted: number, messages: Record<string, number> } | undefined
    await timed(async () => {
      goClients!.stdin!.write('go\n')
      out = JSON.parse(await goLine('the wave\'s results')) as typeof out
    })
    return out!
  }

  const full = new FullNodeClient(peer.fullNode)
  const proposal = (key: PrivateKey, head: number, dealUuid?: string): ReturnType<typeof buildDealParams> => buildDealParams({
    key, provider: peer.minerAddress, pieceCid: pieceCidFromCommP(new Uint8Array(randomBytes(32))).toString(), pieceSize: 2048,
    payloadCid: ROOT, startEpoch: head + 200, storagePrice: 1n, providerCollateral: 2000n,
    ...(dealUuid !== undefined ? { dealUuid } : {}),
    http: { url: 'http://127.0.0.1:9/data.car', headers: { Authorization: 'Bearer bench' }, size: 1900 }
  })
  const makeWave = async (): Promise<Array<ReturnType<typeof buildDealParams>>> => {
    const head = (await full.chainHead()).height
    return Array.from({ length: WAVE }, (_, i) => proposal(keys[i % N]!, head))
  }
  /** A wave from the js-libp2p clients: client i sends proposals i, N+i, 2N+i, … one after the other. */
  const jsWave = async (wave: Array<ReturnType<typeof buildDealParams>>, seen: (latencyMs: number, res: { accepted: boolean, message: string }) => void): Promise<void> => {
    await Promise.all(nodes.map(async (node, i) => {
      for (let j = i; j < wave.length; j += N) {
        const s = performance.now()
        const res = await proposeDeal(node, addr, wave[j]!)
        seen(performance.now() - s, res)
      }
    }))
  }
  // The reference writes into a namespace of its own: the ingress's informer watches only its
  // namespace, so the reference pays for the writes alone, not for the ingress's watch of them.
  const rawNs = `${ns}-raw`
  await rest.create(Core.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: rawNs } })
  const rawWave = async (): Promise<Array<{ deal: StorageDeal, params: Uint8Array }>> => {
    const head = (await full.chainHead()).height
    return Array.from({ length: WAVE }, (_, i) => {
      const p = proposal(keys[i % N]!, head, randomUUID())
      const deal = dealObject(p, { namespace: rawNs, provider: `${ns}-sp`, protocol: '/fil/storage/mk/1.2.1', clientPeerId: nodes[0]!.peerId.toString() })
      // The objects exactly as the ingress writes them: its store names each create attempt.
      deal.metadata.annotations = { [ATTEMPT_ANNOTATION]: newAttempt() }
      return { deal, params: p.transfer.params }
    })
  }
  // The same write path as the ingress's (KubeWriter), so the ratio prices the ingress, not a client library.
  const writer = rest
  const rawCreate = async ({ deal, params }: { deal: StorageDeal, params: Uint8Array }): Promise<void> => {
    const created = await writer.create<KubeObject>(StorageDeals, rawNs, deal as unknown as KubeObject)
    await writer.create(Core.secrets, rawNs, {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: `${deal.metadata.name!}-transfer`, labels: { [LABELS.deal]: deal.metadata.name! }, ownerReferences: [{ apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageDeal', name: deal.metadata.name, uid: created.metadata?.uid, controller: true }] },
      data: { 'params.json': Buffer.from(params).toString('base64') }
    } as unknown as KubeObject)
  }
  // Warm-up (JIT, informers, chain-fact caches, the apiserver's heap; both paths alike), not counted.
  for (let w = 0; w < WARMUP; w++) {
    if (clientImpl === 'go') await goWave((await full.chainHead()).height + 200, async (run) => { await run() })
    else await jsWave(await makeWave(), () => {})
    await pool(N, await rawWave(), rawCreate)
  }

  const allCores = `0-${cpus().length - 1}`
  /** Puts the processes where `topology` has them; false when they are there already (they start on every core). */
  const place = (topology: Topology): boolean => {
    if (topology === 'shared' && !topologies.includes('split')) return false
    for (const [pid, name] of processTree()) {
      pinTo(pid, topology === 'shared' ? allCores : name === 'testplane' ? '0' : '1')
      // The clients stand in for other machines: on the ingress's core they take only what it
      // leaves (every thread; threads started later inherit it).
      if (name === 'clients (go)') for (const tid of readdirSync(`/proc/${pid}/task`)) setPriority(Number(tid), topology === 'split' ? 19 : 0)
    }
    return true
  }
  /** The ingress's persistence steps so far: seconds and count per step, from its /metrics. */
  const persistSteps = async (): Promise<Map<string, { s: number, n: number }>> => {
    const text = await (await fetch(ready.metrics)).text()
    const out = new Map<string, { s: number, n: number }>()
    for (const m of text.matchAll(/^dealyard_ingress_persist_step_duration_seconds_(sum|count)\{step="(\w+)"\} (\S+)$/gm)) {
      const e = out.get(m[2]!) ?? { s: 0, n: 0 }
      if (m[1] === 'sum') e.s = Number(m[3]); else e.n = Number(m[3])
      out.set(m[2]!, e)
    }
    return out
  }
  /** Measured rounds in one placement of the processes on the cores; prints what they showed. */
  const measure = async (topology: Topology): Promise<void> => {
    // Go (1.25 on) resizes GOMAXPROCS to the cores a process may use about once a second: the
    // control plane, the clients and the Lotus peer run each topology with as many Ps as cores.
    if (place(topology)) await new Promise((resolve) => setTimeout(resolve, 2500))
    const stepsBefore = await persistSteps()
    // Ingress waves and reference waves alternate, so both see the same background load (other
    // work on this machine drifts over a run); CPU is read from /proc for every process involved.
    const lat: number[] = []
    /** The reference's deals' latencies (both creates), to set the ingress's against. */
    const rawLat: number[] = []
    let accepted = 0
    let rejected = 0
    const messages = new Map<string, number>()
    let busy = 0
    let rawBusy = 0
    const procs = processTree()
    const cpuIngress = new CpuMeter(procs)
    const cpuRaw = new CpuMeter(procs)
    const coresIngress = new CoreMeter()
    const coresRaw = new CoreMeter()
    // Each wave starts with the other processes quiet, and what a wave leaves behind is metered as
    // its own: after a reference wave's last response the apiserver sometimes works on for ~100 ms
    // of CPU (a GC cycle its creates started), which back to back the next ingress wave paid for.
    const others = [...procs.keys()].filter((pid) => pid !== process.pid)
    const tailIngress = new CpuMeter(procs)
    const tailRaw = new CpuMeter(procs)
    let settledMs = 0
    const quiet = async (): Promise<void> => { settledMs += await settle(others) }
    const drain = async (meter: CpuMeter): Promise<void> => { meter.start(); await quiet(); meter.stop() }
    const waves: Array<{ ingressPerS: number, rawPerS: number, testplaneIngress: number, testplaneRaw: number }> = []
    for (let r = 0; r < ROUNDS; r++) {
      const busyBefore = busy
      const acceptedBefore = accepted
      const rawBusyBefore = rawBusy
      const waveIngress = new CpuMeter(procs)
      const waveRaw = new CpuMeter(procs)
      const ingressMeters = [cpuIngress, waveIngress, coresIngress]
      const rawMeters = [cpuRaw, waveRaw, coresRaw]
      if (clientImpl === 'go') {
        const res = await goWave((await full.chainHead()).height + 200, async (run) => {
          await quiet()
          for (const m of ingressMeters) m.start()
          mark('ingress start')
          const t0 = performance.now()
          await run()
          busy += performance.now() - t0
          for (const m of ingressMeters) m.stop()
          mark('ingress stop')
          await drain(tailIngress)
        })
        lat.push(...res.latenciesMs)
        accepted += res.accepted
        for (const [m, k] of Object.entries(res.messages)) { rejected += k; messages.set(m, (messages.get(m) ?? 0) + k) }
      } else {
        const wave = await makeWave()
        await quiet()
        for (const m of ingressMeters) m.start()
        const t0 = performance.now()
        await jsWave(wave, (ms, res) => {
          lat.push(ms)
          if (res.accepted) accepted++; else { rejected++; messages.set(res.message, (messages.get(res.message) ?? 0) + 1) }
        })
        busy += performance.now() - t0
        for (const m of ingressMeters) m.stop()
        await drain(tailIngress)
      }
      const raw = await rawWave()
      await quiet()
      for (const m of rawMeters) m.start()
      mark('raw start')
      const tr = performance.now()
      await pool(N, raw, async (d) => { const t = performance.now(); await rawCreate(d); rawLat.push(performance.now() - t) })
      mark('raw stop')
      rawBusy += performance.now() - tr
      for (const m of rawMeters) m.stop()
      await drain(tailRaw)
      waves.push({
        ingressPerS: (accepted - acceptedBefore) / ((busy - busyBefore) / 1000),
        rawPerS: WAVE / ((rawBusy - rawBusyBefore) / 1000),
        testplaneIngress: (waveIngress.totals().get('testplane') ?? 0) / WAVE,
        testplaneRaw: (waveRaw.totals().get('testplane') ?? 0) / WAVE
      })
    }
    const rate = accepted / (busy / 1000)
    const rawRate = (WAVE * ROUNDS) / (rawBusy / 1000)
    const perDeal = (m: CpuMeter, n: number): string => [...m.totals()].map(([name, ms]) => `${name} ${(ms / n).toFixed(2)}`).join(', ')

    console.log(`# ingress bench: ${N} concurrent libp2p clients (${clientImpl === 'go' ? 'go-libp2p, boost\'s DealClient framing' : 'js-libp2p, in the bench process'}) × ${K} proposals each per wave${reconnect ? ', a connection per proposal (as `boost deal`)' : ''}, ${ROUNDS} waves, ${topology === 'shared' ? 'all processes on all cores' : `the control plane on core 0, the rest on core 1${clientImpl === 'go' ? ' (the clients at nice 19)' : ''}`}, kube-apiserver ${plane.version}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}`)
    console.log(`accepted ${accepted}, rejected ${rejected}${messages.size > 0 ? ' ' + JSON.stringify([...messages]) : ''}`)
    console.log(`accepted/s ${rate.toFixed(1)}   p50 ${pct(lat, 0.5).toFixed(0)} ms   p99 ${pct(lat, 0.99).toFixed(0)} ms   max ${Math.max(...lat).toFixed(0)} ms`)
    console.log(`raw apiserver create rate (StorageDeal + Secret, ${N} writers × ${K} each, waves interleaved): ${rawRate.toFixed(1)} deals/s   p50 ${pct(rawLat, 0.5).toFixed(0)} ms   p99 ${pct(rawLat, 0.99).toFixed(0)} ms`)
    console.log(`ratio accepted/s ÷ raw: ${(rate / rawRate).toFixed(2)}   (goals: p99 < 1000 ms, ratio ≥ 0.7)`)
    console.log(`CPU ms per deal, ingress waves: ${perDeal(cpuIngress, accepted + rejected)}`)
    console.log(`CPU ms per deal, reference waves: ${perDeal(cpuRaw, WAVE * ROUNDS)}`)
    console.log(`CPU ms per deal left behind (after a wave's last response, until quiet; ${(settledMs / ROUNDS / 4).toFixed(0)} ms per pause on average): ingress waves ${perDeal(tailIngress, accepted + rejected)}; reference waves ${perDeal(tailRaw, WAVE * ROUNDS)}`)
    // Each ingress wave is paired with the reference wave right after it: drifts in the machine's
    // speed (other tenants of the host) hit both alike, so the spread of the paired ratios shows
    // how much a single run's ratio can be trusted.
    const steps = [...await persistSteps()].map(([step, { s, n }]) => {
      const b = stepsBefore.get(step) ?? { s: 0, n: 0 }
      return `${step} ${(1000 * (s - b.s) / Math.max(1, n - b.n)).toFixed(0)} ms`
    })
    console.log(`ingress's persistence steps, mean per accepted deal in measured waves: ${steps.join(', ')}`)
    console.log(`cores during waves: ingress ${coresIngress}; reference ${coresRaw}`)
    const paired = waves.map((w) => w.ingressPerS / w.rawPerS)
    console.log(`per wave, ingress/s ÷ reference/s: ${paired.map((x) => x.toFixed(2)).join(' ')}   median ${pct(paired, 0.5).toFixed(2)}`)
    console.log(`per wave, apiserver CPU ms per deal (ingress | reference): ${waves.map((w) => `${w.testplaneIngress.toFixed(2)}|${w.testplaneRaw.toFixed(2)}`).join(' ')}`)
    if (rejected > 0) {
      // A refused proposal costs a fraction of an accepted one: the figures above do not measure the path the goal is about.
      console.error(`ingress bench: ${rejected} proposals refused; the rates above are not the accepted path's`)
      process.exitCode = 1
    }
  }
  for (const t of topologies) await measure(t)
} finally {
  goClients?.stdin?.end()
  goClients?.kill()
  for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
  if (ingressProc !== undefined && ingressProc.exitCode === null) {
    ingressProc.kill('SIGTERM')
    await new Promise((resolve) => ingressProc!.once('exit', resolve))
  }
  await peer.stop()
  await plane.stop()
}
