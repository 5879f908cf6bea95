/**
 * The whole test suite in one command: unit tests, then (when any are selected) one real control
 * plane for the run — built from the Go module proxy on first use — with the CRDs applied, and the
 * integration/interop tests against it. Each test file makes its own namespace.
 *
 *   node test/run.ts [--only unit|integration|interop] [path-substring ...]
 */
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { startControlPlane, buildTestplane, repoRoot, type ControlPlane } from './support/controlplane.ts'
import { applyCrds } from './support/crds.ts'
import { buildLotusPeer } from './support/lotus-peer.ts'

const suites = ['unit', 'integration', 'interop'] as const
type Suite = typeof suites[number]

function specFiles (dir: string): string[] {
  let out: string[] = []
  let entries: string[]
  try { entries = readdirSync(dir) } catch { return out }
  for (const e of entries.sort()) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) out = out.concat(specFiles(p))
    else if (e.endsWith('.spec.ts')) out.push(p)
  }
  return out
}

function nodeTest (files: string[], env: NodeJS.ProcessEnv, concurrency: number): Promise<number> {
  if (files.length === 0) return Promise.resolve(0)
  const args = ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files]
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env })
    child.on('exit', (code, signal) => { resolve(code ?? (signal != null ? 1 : 0)) })
  })
}

async function main (): Promise<number> {
  const argv = process.argv.slice(2)
  let only: Suite | undefined
  const filters: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') only = argv[++i] as Suite
    else filters.push(argv[i]!)
  }
  const pick = (s: Suite): string[] => {
    if (only != null && only !== s) return []
    const files = specFiles(join(repoRoot, 'test', s)).map((f) => relative(repoRoot, f))
    return filters.length === 0 ? files : files.filter((f) => filters.some((x) => f.includes(x)))
  }
  const env = { ...process.env, DEALYARD_LOG_LEVEL: process.env.DEALYARD_LOG_LEVEL ?? 'error' }
  let failed = 0
  const unit = pick('unit')
  if (unit.length > 0) {
    console.log(`# unit: ${unit.length} files`)
    failed += await nodeTest(unit, env, 2)
  }
  const cluster = [...pick('integration'), ...pick('interop')]
  if (cluster.length === 0) return failed
  const t0 = Date.now()
  const bin = await buildTestplane()
  console.log(`# testplane binary ready in ${Date.now() - t0} ms: ${bin}`)
  // Build the Lotus peer once here rather than in several test files at the same time.
  const t1 = Date.now()
  const peer = await buildLotusPeer()
  console.log(`# lotus-peer binary ready in ${Date.now() - t1} ms: ${peer}`)
  let plane: ControlPlane | undefined
  const stop = async (): Promise<void> => { await plane?.stop() }
  process.once('SIGINT', () => { void stop().then(() => process.exit(130)) })
  process.once('SIGTERM', () => { void stop().then(() => process.exit(143)) })
  try {
    // ConfigMaps get no watch cache so the informer test can provoke a real 410 Gone by compacting
    // etcd (with a watch cache the apiserver would answer old resourceVersions from memory).
    plane = await startControlPlane({ kcm: true, apiserverArgs: ['--watch-cache-sizes=configmaps#0'] })
    console.log(`# control plane: kube-apiserver ${plane.version} at ${plane.server}, started in ${plane.startupMs} ms`)
    await applyCrds(plane)
    console.log(`# integration: ${cluster.length} files`)
    failed += await nodeTest(cluster, {
      ...env,
      DEALYARD_TEST_PLANE: join(plane.kubeconfig, '..', 'ready.json'),
      DEALYARD_TESTPLANE_BIN: bin,
      DEALYARD_LOTUS_PEER_BIN: peer
    }, 2)
  } finally {
    await stop()
  }
  return failed
}

process.exitCode = await main() === 0 ? 0 : 1
