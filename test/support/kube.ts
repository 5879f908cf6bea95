/** Per-test-file access to the shared control plane: a REST client and a namespace of its own. */
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { basename } from 'node:path'
import { Core, KubeRest, loadKubeConfig } from '../../src/kube/index.ts'
import { sharedControlPlane, type ControlPlane } from './controlplane.ts'

const run = promisify(execFile)

export interface TestKube {
  plane: Omit<ControlPlane, 'stop'>
  rest: KubeRest
  namespace: string
  kubectl: (...args: string[]) => Promise<string>
  cleanup: () => Promise<void>
}

export async function testKube (file: string): Promise<TestKube> {
  const plane = await sharedControlPlane()
  const rest = new KubeRest(loadKubeConfig(plane.kubeconfig))
  const namespace = `${basename(file).replace(/\.spec\.ts$/, '').replace(/[^a-z0-9]+/g, '-').slice(0, 40)}-${randomBytes(3).toString('hex')}`
  await rest.create(Core.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
  return {
    plane,
    rest,
    namespace,
    kubectl: async (...args) => (await run(plane.bin, ['kubectl', `--kubeconfig=${plane.kubeconfig}`, ...args])).stdout,
    // The namespace controller (in the plane's kube-controller-manager) really deletes it.
    cleanup: async () => { await rest.delete(Core.namespaces, undefined, namespace).catch(() => {}) }
  }
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function eventually<T> (fn: () => Promise<T> | T, opts: { timeoutMs?: number, intervalMs?: number, what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v as NonNullable<T>
    } catch (err) { last = err }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last != null ? `: ${(last as Error).message}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 50))
  }
}
