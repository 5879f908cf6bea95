/**
 * Start and stop a real control plane (embedded etcd + kube-apiserver [+ kube-controller-manager])
 * from test code: one call each. The binary is built from the Go module proxy by tools/k8s/build.sh
 * and cached outside the repository.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cachedBinary, repoRoot } from './build.ts'

export { repoRoot }

export interface ControlPlane {
  server: string
  /** The embedded etcd's client URL (tests compact it to provoke 410 Gone). */
  etcd: string
  kubeconfig: string
  token: string
  caFile: string
  version: string
  startupMs: number
  /** The testplane binary: `${bin} kubectl ...` is a kubectl of the same version. */
  bin: string
  stop: () => Promise<void>
}

interface ReadyFile {
  server: string, kubeconfig: string, token: string, caFile: string, version: string, startupMs: number, etcd: string
}

/** Builds (or finds in the cache) the testplane binary and returns its path. */
export async function buildTestplane (): Promise<string> {
  if (process.env.DEALYARD_TESTPLANE_BIN != null) return process.env.DEALYARD_TESTPLANE_BIN
  return await cachedBinary('tools/k8s/build.sh')
}

export interface StartOptions {
  /** Also run kube-controller-manager (Job, GC, TTL, pod-GC and namespace controllers). */
  kcm?: boolean
  timeoutMs?: number
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[]
}

export async function startControlPlane (opts: StartOptions = {}): Promise<ControlPlane> {
  const bin = await buildTestplane()
  const dir = await mkdtemp(join(tmpdir(), 'dealyard-plane-'))
  const args = ['up', `--dir=${dir}`, '--exit-on-stdin-close', `--timeout=${Math.round((opts.timeoutMs ?? 60_000) / 1000)}s`]
  if (opts.kcm === true) args.push('--kcm')
  for (const a of opts.apiserverArgs ?? []) args.push(`--apiserver-arg=${a}`)
  // stdin stays a pipe we never close: if this process dies, the plane notices EOF and shuts down.
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (b: Buffer) => { output += b.toString() })
  child.stderr.on('data', (b: Buffer) => { output += b.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  const ready = await new Promise<boolean>((resolve) => {
    const onData = (): void => { if (output.includes('\nready ') || output.startsWith('ready ')) resolve(true) }
    child.stdout.on('data', onData)
    void exited.then(() => { resolve(false) })
  })
  if (!ready) throw new Error(`control plane did not start:\n${output.slice(-8000)}`)
  const info = JSON.parse(await readFile(join(dir, 'ready.json'), 'utf8')) as ReadyFile
  return {
    ...info,
    bin,
    stop: async () => {
      if (child.exitCode != null) return
      child.kill('SIGTERM')
      await exited
    }
  }
}

/**
 * The control plane the test runner started for this run (its ready.json path is in
 * DEALYARD_TEST_PLANE). Test files never start their own: one control plane per run.
 */
export async function sharedControlPlane (): Promise<Omit<ControlPlane, 'stop'>> {
  const path = process.env.DEALYARD_TEST_PLANE
  if (path == null) throw new Error('DEALYARD_TEST_PLANE is not set: run integration tests through `npm test` (test/run.ts)')
  const info = JSON.parse(await readFile(path, 'utf8')) as ReadyFile
  return { ...info, bin: process.env.DEALYARD_TESTPLANE_BIN ?? await buildTestplane() }
}
