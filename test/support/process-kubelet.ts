/**
 * A "process kubelet" for the local cluster (ARCHITECTURE §4 step 4, test-control-plane.md §8): the
 * test plane has no kubelet and no scheduler, so Job pods would stay Pending forever. This agent
 * registers a Node, binds unscheduled pods to it and runs each pod's container command as a plain
 * local process, writing the pod status back so the real Job controller sees real exit codes.
 *
 * Scope, on purpose: one container per pod, no init containers, no probes. Images are never pulled:
 * an allow-list maps an image to a local argv (the guard that keeps arbitrary images from running
 * on the host), and the container's `command` then `args` are appended to it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { constants } from 'node:os'
import type { V1Container, V1Pod } from '@kubernetes/client-node'
import { DealyardError } from '../../src/errors.ts'
import { logger } from '../../src/log.ts'
import { Core, Informer, isAlreadyExists, isNotFound, resourcePath, type KubeObject, type KubeRest } from '../../src/kube/index.ts'

const log = logger('process-kubelet')
const nodes = { group: '', version: 'v1', plural: 'nodes' }
const configmaps = { group: '', version: 'v1', plural: 'configmaps' }
// Strategic merge, as the kubelet does: conditions merge by type and containerStatuses by name, so
// the PodScheduled condition the binding wrote survives our patches.
const SMP = 'application/strategic-merge-patch+json'

export interface ProcessKubeletOptions {
  rest: KubeRest
  /** Default `local-exec`. */
  nodeName?: string
  /** Image → argv prefix. An exact match wins; otherwise the image without its tag/digest. */
  images: Record<string, string[]>
  /** Each pod gets `<workDir>/<namespace>/<name>_<uid>/` (logs, emptyDirs, HOME). */
  workDir: string
  /** Only bind and run pods of this namespace (tests share one plane with other files). */
  namespace?: string
  /** Base environment of every process, under the pod's own env (e.g. KUBECONFIG, PATH). */
  env?: Record<string, string>
  /** First OnFailure restart delay, doubled per restart up to 10 s (the kubelet's is 10 s–5 min). */
  restartBackoffMs?: number
}

export interface ProcessKubelet {
  nodeName: string
  /** The pod's work dir: `stdout.log`, `stderr.log`, `volumes/<name>/`. */
  podDir: (pod: V1Pod) => string
  stop: () => Promise<void>
}

interface Run {
  pod: V1Pod
  dir: string
  child?: ChildProcess
  exited?: Promise<void>
  restarts: number
  startedAt: string
  lastTerminated?: Record<string, unknown>
  terminating: boolean
  deadlineHit: boolean
  done: boolean
  timers: NodeJS.Timeout[]
  /** Serialises this pod's status writes so Running never lands after Succeeded. */
  chain: Promise<void>
}

type Outcome = { exitCode: number, reason: string, message?: string, podReason?: string }

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z')
const microNow = (): string => new Date().toISOString().replace('Z', '000Z')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const cond = (type: string, status: 'True' | 'False', reason?: string): Record<string, unknown> =>
  ({ type, status, lastTransitionTime: now(), ...(reason != null ? { reason } : {}) })

export async function startProcessKubelet (opts: ProcessKubeletOptions): Promise<ProcessKubelet> {
  const { rest } = opts
  const nodeName = opts.nodeName ?? 'local-exec'
  const runs = new Map<string, Run>()
  const binding = new Set<string>()
  const deleting = new Set<string>()
  let stopped = false
  const podDir = (pod: V1Pod): string => join(opts.workDir, pod.metadata?.namespace ?? '', `${pod.metadata?.name ?? ''}_${pod.metadata?.uid ?? ''}`)

  await registerNode(rest, nodeName)
  const lease = setInterval(() => { void renewLease(rest, nodeName).catch((e: Error) => { log.debug({ err: e.message }, 'lease renewal failed') }) }, 10_000)
  await renewLease(rest, nodeName).catch((e: Error) => { log.warn({ err: e.message }, 'lease renewal failed') })

  const patchStatus = (run: Run, status: Record<string, unknown>): Promise<void> => {
    const { namespace, name } = run.pod.metadata ?? {}
    run.chain = run.chain.then(async () => {
      await rest.request('PATCH', resourcePath(Core.pods, namespace, name, 'status'), { body: { status }, contentType: SMP })
    }).catch((e: Error) => { if (!isNotFound(e)) log.warn({ pod: `${namespace}/${name}`, err: e.message }, 'status patch failed') })
    return run.chain
  }

  const containerStatus = (run: Run, state: Record<string, unknown>, ready: boolean): Record<string, unknown> => {
    const c = run.pod.spec?.containers[0]
    return {
      name: c?.name, image: c?.image, imageID: `process-kubelet://${c?.image ?? ''}`,
      containerID: run.child?.pid != null ? `process://${run.child.pid}` : undefined,
      ready, started: ready, restartCount: run.restarts, state,
      ...(run.lastTerminated != null ? { lastState: { terminated: run.lastTerminated } } : {})
    }
  }

  /** The pod's terminal status; after it the Job controller counts the pod. */
  const finish = async (run: Run, o: Outcome): Promise<void> => {
    if (run.done) return
    run.done = true
    for (const t of run.timers) clearTimeout(t)
    const phase = o.exitCode === 0 ? 'Succeeded' : 'Failed'
    const terminated = { exitCode: o.exitCode, reason: o.reason, message: o.message, startedAt: run.startedAt, finishedAt: now(), containerID: run.child?.pid != null ? `process://${run.child.pid}` : undefined }
    await patchStatus(run, {
      phase, reason: o.podReason, message: o.message, startTime: run.startedAt,
      conditions: [cond('PodReadyToStartContainers', 'False'), cond('Initialized', 'True'),
        cond('ContainersReady', 'False', 'PodCompleted'), cond('Ready', 'False', 'PodCompleted')],
      containerStatuses: [containerStatus(run, { terminated }, false)]
    })
  }

  const spawnOnce = (run: Run, argv: string[], env: Record<string, string>, cwd: string): void => {
    const out = openSync(join(run.dir, 'stdout.log'), 'a')
    const err = openSync(join(run.dir, 'stderr.log'), 'a')
    // Own process group, so a `sh -c` and its children die together on SIGTERM/SIGKILL.
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', out, err] })
    closeSync(out); closeSync(err)
    run.child = child
    const startedAt = now()
    let settled = false
    run.exited = new Promise((resolve) => {
      const onEnd = (code: number | null, signal: NodeJS.Signals | null, startError?: Error): void => {
        if (settled) return
        settled = true
        resolve()
        // A signal death reads as 128+n, as a container runtime reports it (SIGKILL → 137).
        const exitCode = startError != null ? 128 : code ?? 128 + (signal != null ? constants.signals[signal] : 0)
        const reason = startError != null ? 'StartError' : exitCode === 0 ? 'Completed' : 'Error'
        void onExit(run, argv, env, cwd, { exitCode, reason, message: startError?.message }, startedAt)
      }
      child.once('exit', (code, signal) => { onEnd(code, signal) })
      child.once('error', (e) => { onEnd(null, null, e) })
    })
    child.once('spawn', () => {
      void patchStatus(run, {
        phase: 'Running', startTime: run.startedAt, hostIP: '127.0.0.1', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }],
        conditions: [cond('PodReadyToStartContainers', 'True'), cond('Initialized', 'True'), cond('ContainersReady', 'True'), cond('Ready', 'True')],
        containerStatuses: [containerStatus(run, { running: { startedAt } }, true)]
      })
    })
  }

  const onExit = async (run: Run, argv: string[], env: Record<string, string>, cwd: string, o: Outcome, startedAt: string): Promise<void> => {
    if (run.terminating || stopped) return // terminate() writes the status itself
    if (run.deadlineHit) {
      await finish(run, { ...o, podReason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' })
      return
    }
    const policy = run.pod.spec?.restartPolicy ?? 'Always'
    if (policy === 'Always' || (policy === 'OnFailure' && o.exitCode !== 0)) {
      // Restart in place, as the kubelet does: same pod, restartCount+1, lastState kept. The Job
      // controller counts these restarts against backoffLimit.
      run.lastTerminated = { exitCode: o.exitCode, reason: o.reason, startedAt, finishedAt: now() }
      run.restarts++
      await patchStatus(run, { containerStatuses: [containerStatus(run, { waiting: { reason: 'CrashLoopBackOff' } }, false)], conditions: [cond('ContainersReady', 'False'), cond('Ready', 'False')] })
      const delay = Math.min((opts.restartBackoffMs ?? 1000) * 2 ** (run.restarts - 1), 10_000)
      run.timers.push(setTimeout(() => { if (!run.terminating && !run.done && !stopped) spawnOnce(run, argv, env, cwd) }, delay))
      return
    }
    await finish(run, o)
  }

  const launch = async (run: Run): Promise<void> => {
    const pod = run.pod
    const spec = pod.spec!
    mkdirSync(join(run.dir, 'tmp'), { recursive: true })
    const deadline = spec.activeDeadlineSeconds
    if (deadline != null) {
      run.timers.push(setTimeout(() => {
        run.deadlineHit = true
        if (run.child?.exitCode == null && run.child?.signalCode == null && run.child != null) void killGracefully(run, spec.terminationGracePeriodSeconds ?? 30)
        else void finish(run, { exitCode: 137, reason: 'DeadlineExceeded', podReason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' })
      }, deadline * 1000))
    }
    const c = spec.containers[0]
    if (c == null || spec.containers.length !== 1 || (spec.initContainers?.length ?? 0) > 0) {
      await finish(run, { exitCode: 128, reason: 'Unsupported', podReason: 'Unsupported', message: 'process-kubelet runs exactly one container and no init containers' })
      return
    }
    const prefix = resolveImage(opts.images, c.image ?? '')
    if (prefix == null) {
      await finish(run, { exitCode: 128, reason: 'ImageNotMapped', podReason: 'ImageNotMapped', message: `image ${c.image ?? '(none)'} is not in the process-kubelet allow-list` })
      return
    }
    let env: Record<string, string>
    let mounts: Array<[string, string]>
    try {
      mounts = await prepareVolumes(rest, pod, c, run.dir)
      // The kubelet retries a missing Secret with the pod Pending; failing fast suits tests better.
      env = await resolveEnv(rest, pod, c, nodeName)
    } catch (e) {
      await finish(run, { exitCode: 128, reason: 'CreateContainerConfigError', podReason: 'CreateContainerConfigError', message: (e as Error).message })
      return
    }
    const rewrite = (s: string): string => rewritePath(s, mounts)
    for (const k of Object.keys(env)) env[k] = rewrite(env[k]!)
    const argv = [...prefix, ...(c.command ?? []).map(rewrite), ...(c.args ?? []).map(rewrite)]
    const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: run.dir, TMPDIR: join(run.dir, 'tmp'), HOSTNAME: pod.metadata?.name ?? '' }
    const cwd = c.workingDir != null ? rewrite(c.workingDir) : run.dir
    // Deleted, timed out or stopped while the env was being read: nothing may start now.
    if (run.terminating || run.done || stopped) return
    spawnOnce(run, argv, { ...base, ...opts.env, ...env }, cwd)
  }

  const alive = (run: Run): boolean => run.child != null && run.child.exitCode == null && run.child.signalCode == null

  const killGracefully = async (run: Run, graceSeconds: number): Promise<void> => {
    if (!alive(run)) return
    killGroup(run.child!, 'SIGTERM')
    const timer = sleep(graceSeconds * 1000)
    await Promise.race([run.exited, timer])
    if (alive(run)) killGroup(run.child!, 'SIGKILL')
    await run.exited
  }

  /** The kubelet's half of a graceful delete: stop the process, report, then remove the pod for good. */
  const terminate = async (pod: V1Pod): Promise<void> => {
    const uid = pod.metadata?.uid ?? ''
    if (deleting.has(uid)) return
    deleting.add(uid)
    const run = runs.get(uid)
    if (run != null && !run.done) {
      run.terminating = true
      for (const t of run.timers) clearTimeout(t)
      const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30
      const wasAlive = alive(run)
      await killGracefully(run, grace)
      const code = run.child?.exitCode ?? (run.child?.signalCode != null ? 128 + constants.signals[run.child.signalCode] : 137)
      await finish(run, wasAlive ? { exitCode: code, reason: code === 0 ? 'Completed' : 'Error' } : { exitCode: 137, reason: 'ContainerStatusUnknown' })
    }
    try {
      await rest.request('DELETE', resourcePath(Core.pods, pod.metadata?.namespace, pod.metadata?.name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid } }
      })
    } catch (e) {
      if (!isNotFound(e)) { deleting.delete(uid); log.warn({ pod: pod.metadata?.name, err: (e as Error).message }, 'final delete failed') }
    }
  }

  const bind = async (pod: V1Pod): Promise<void> => {
    const { uid = '', namespace, name } = pod.metadata ?? {}
    if (binding.has(uid)) return
    binding.add(uid)
    try {
      await rest.request('POST', resourcePath(Core.pods, namespace, name, 'binding'), {
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } }
      })
    } catch (e) {
      // 409: someone else bound it first; anything else is retried on the next event or resync.
      if (!isAlreadyExists(e) && (e as { status?: number }).status !== 409) binding.delete(uid)
      if (!isNotFound(e)) log.warn({ pod: `${namespace}/${name}`, err: (e as Error).message }, 'bind failed')
    }
  }

  const onPod = (pod: V1Pod): void => {
    if (stopped) return
    const uid = pod.metadata?.uid ?? ''
    const spec = pod.spec
    if (spec == null) return
    const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'
    if (spec.nodeName == null || spec.nodeName === '') {
      const scheduler = spec.schedulerName ?? 'default-scheduler'
      if (pod.metadata?.deletionTimestamp == null && !terminal && scheduler === 'default-scheduler') void bind(pod)
      return
    }
    if (spec.nodeName !== nodeName) return
    if (pod.metadata?.deletionTimestamp != null) { void terminate(pod); return }
    if (runs.has(uid) || terminal) return
    const run: Run = { pod, dir: podDir(pod), restarts: 0, startedAt: now(), terminating: false, deadlineHit: false, done: false, timers: [], chain: Promise.resolve() }
    runs.set(uid, run)
    void launch(run).catch((e: Error) => finish(run, { exitCode: 128, reason: 'StartError', podReason: 'StartError', message: e.message }))
  }

  const informer = new Informer<V1Pod & KubeObject>(rest, { resource: Core.pods, namespace: opts.namespace, resyncMs: 5000 })
  informer.on('add', onPod)
  informer.on('update', (_old, pod) => { onPod(pod) })
  informer.on('delete', (pod) => {
    // Gone without us (a force delete): nothing may keep running for it.
    const uid = pod.metadata?.uid ?? ''
    const run = runs.get(uid)
    if (run != null) { for (const t of run.timers) clearTimeout(t); if (alive(run)) killGroup(run.child!, 'SIGKILL') }
    runs.delete(uid); binding.delete(uid); deleting.delete(uid)
  })
  await informer.start()
  log.info({ nodeName, namespace: opts.namespace }, 'process kubelet started')

  return {
    nodeName,
    podDir,
    stop: async () => {
      if (stopped) return
      stopped = true
      clearInterval(lease)
      await informer.stop()
      const all = [...runs.values()]
      for (const run of all) { for (const t of run.timers) clearTimeout(t); if (alive(run)) killGroup(run.child!, 'SIGKILL') }
      await Promise.all(all.map(async (r) => { if (r.exited != null) await r.exited; await r.chain }))
      // The Node goes too: pod GC then removes whatever pods were left bound to it.
      await rest.delete(nodes, undefined, nodeName).catch(() => {})
      await rest.delete(Core.leases, 'kube-node-lease', nodeName).catch(() => {})
    }
  }
}

function killGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  try { process.kill(-child.pid!, signal) } catch { try { child.kill(signal) } catch {} }
}

export function resolveImage (images: Record<string, string[]>, image: string): string[] | undefined {
  const exact = images[image]
  if (exact != null) return exact
  const bare = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '')
  return images[bare]
}

/** A container path under a mount (whole value, or the value of `--flag=value`) → the local dir. */
export function rewritePath (s: string, mounts: Array<[string, string]>): string {
  const one = (v: string): string => {
    for (const [from, to] of mounts) if (v === from || v.startsWith(from + '/')) return to + v.slice(from.length)
    return v
  }
  const eq = s.indexOf('=')
  return eq > 0 && !s.startsWith('/') ? s.slice(0, eq + 1) + one(s.slice(eq + 1)) : one(s)
}

/** Makes each volume a local dir and returns mountPath → local path, longest mount first. */
async function prepareVolumes (rest: KubeRest, pod: V1Pod, c: V1Container, dir: string): Promise<Array<[string, string]>> {
  const ns = pod.metadata?.namespace
  const local = new Map<string, string>()
  for (const v of pod.spec?.volumes ?? []) {
    const p = join(dir, 'volumes', v.name)
    if (v.emptyDir != null) { mkdirSync(p, { recursive: true }); local.set(v.name, p) } else if (v.hostPath != null) {
      if (v.hostPath.type === 'DirectoryOrCreate') mkdirSync(v.hostPath.path, { recursive: true })
      local.set(v.name, v.hostPath.path)
    } else if (v.secret != null || v.configMap != null) {
      const isSecret = v.secret != null
      const ref = isSecret ? v.secret!.secretName! : v.configMap!.name!
      const obj = await rest.get<KubeObject & { data?: Record<string, string> }>(isSecret ? Core.secrets : configmaps, ns, ref)
      mkdirSync(p, { recursive: true })
      const items = (isSecret ? v.secret!.items : v.configMap!.items) ?? Object.keys(obj.data ?? {}).map((key) => ({ key, path: key }))
      for (const it of items) {
        const val = obj.data?.[it.key]
        if (val != null) writeFileSync(join(p, it.path), isSecret ? Buffer.from(val, 'base64') : val)
      }
      local.set(v.name, p)
    } else throw new DealyardError('ERR_KUBELET_VOLUME', `volume ${v.name}: only emptyDir, hostPath, secret and configMap are supported`)
  }
  const mounts: Array<[string, string]> = []
  for (const m of c.volumeMounts ?? []) {
    const p = local.get(m.name)
    if (p == null) throw new DealyardError('ERR_KUBELET_VOLUME', `volumeMount ${m.name}: no such volume`)
    mounts.push([m.mountPath.replace(/\/$/, ''), m.subPath != null && m.subPath !== '' ? join(p, m.subPath) : p])
  }
  return mounts.sort((a, b) => b[0].length - a[0].length)
}

/** The container env the kubelet would build: envFrom first, then env (with `$(VAR)` expansion). */
async function resolveEnv (rest: KubeRest, pod: V1Pod, c: V1Container, nodeName: string): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace
  const cache = new Map<string, Promise<(KubeObject & { data?: Record<string, string> }) | undefined>>()
  const fetchRef = (kind: 'secret' | 'configmap', name: string): Promise<(KubeObject & { data?: Record<string, string> }) | undefined> => {
    const k = `${kind}/${name}`
    if (!cache.has(k)) cache.set(k, rest.get<KubeObject & { data?: Record<string, string> }>(kind === 'secret' ? Core.secrets : configmaps, ns, name).catch((e) => { if (isNotFound(e)) return undefined; throw e }))
    return cache.get(k)!
  }
  const lookup = async (kind: 'secret' | 'configmap', name: string, key: string | undefined, optional: boolean | undefined): Promise<Record<string, string> | string | undefined> => {
    const obj = await fetchRef(kind, name)
    const decode = (v: string): string => kind === 'secret' ? Buffer.from(v, 'base64').toString('utf8') : v
    if (obj == null) { if (optional === true) return undefined; throw new DealyardError('ERR_KUBELET_CONFIG', `${kind} "${name}" not found`) }
    if (key == null) return Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, v]) => [k, decode(v)]))
    const v = obj.data?.[key]
    if (v == null) { if (optional === true) return undefined; throw new DealyardError('ERR_KUBELET_CONFIG', `couldn't find key ${key} in ${kind} ${ns ?? ''}/${name}`) }
    return decode(v)
  }
  const out: Record<string, string> = {}
  for (const f of c.envFrom ?? []) {
    const ref = f.secretRef ?? f.configMapRef
    if (ref == null) continue
    const all = await lookup(f.secretRef != null ? 'secret' : 'configmap', ref.name ?? '', undefined, ref.optional)
    if (all != null && typeof all !== 'string') for (const [k, v] of Object.entries(all)) out[(f.prefix ?? '') + k] = v
  }
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name, 'metadata.namespace': pod.metadata?.namespace, 'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': nodeName, 'spec.serviceAccountName': pod.spec?.serviceAccountName, 'status.podIP': '127.0.0.1', 'status.hostIP': '127.0.0.1'
  }
  for (const e of c.env ?? []) {
    const vf = e.valueFrom
    if (vf == null) { out[e.name] = expand(e.value ?? '', out); continue }
    let v: string | undefined
    if (vf.fieldRef != null) {
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(vf.fieldRef.fieldPath)
      v = m != null ? (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2]!] ?? '' : fields[vf.fieldRef.fieldPath]
      if (v == null) throw new DealyardError('ERR_KUBELET_CONFIG', `env ${e.name}: unsupported fieldPath ${vf.fieldRef.fieldPath}`)
    } else if (vf.secretKeyRef != null) {
      v = await lookup('secret', vf.secretKeyRef.name ?? '', vf.secretKeyRef.key, vf.secretKeyRef.optional) as string | undefined
    } else if (vf.configMapKeyRef != null) {
      v = await lookup('configmap', vf.configMapKeyRef.name ?? '', vf.configMapKeyRef.key, vf.configMapKeyRef.optional) as string | undefined
    } else throw new DealyardError('ERR_KUBELET_CONFIG', `env ${e.name}: only value, fieldRef, secretKeyRef and configMapKeyRef are supported`)
    if (v != null) out[e.name] = v
  }
  return out
}

/** Kubernetes' `$(VAR)` references to earlier variables; `$$(` escapes. Unknown ones stay as written. */
function expand (s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => name == null ? '$' : env[name] ?? m)
}

async function registerNode (rest: KubeRest, name: string): Promise<void> {
  const resources = { cpu: '64', memory: '256Gi', pods: '1000', 'ephemeral-storage': '1Ti' }
  const status = {
    capacity: resources,
    allocatable: resources,
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'process-kubelet is posting ready status', lastHeartbeatTime: now(), lastTransitionTime: now() }],
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }],
    nodeInfo: { kubeletVersion: 'process-kubelet', containerRuntimeVersion: 'process://', operatingSystem: process.platform, architecture: process.arch, machineID: '', systemUUID: '', bootID: '', kernelVersion: '', osImage: '', kubeProxyVersion: '' }
  }
  try {
    await rest.create(nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': process.platform, 'dealyard.io/process-kubelet': 'true' } } } as KubeObject)
  } catch (e) { if (!isAlreadyExists(e)) throw e }
  // Status is its own subresource; written after create so a re-registered node is Ready again.
  await rest.mergePatch(nodes, undefined, name, { status }, 'status')
}

async function renewLease (rest: KubeRest, name: string): Promise<void> {
  const spec = { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microNow() }
  try {
    await rest.mergePatch(Core.leases, 'kube-node-lease', name, { spec })
  } catch (e) {
    if (!isNotFound(e)) throw e
    await rest.create(Core.leases, 'kube-node-lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' }, spec } as KubeObject)
  }
}
