import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { repoRoot, type ControlPlane } from './controlplane.ts'

const run = promisify(execFile)

/** Applies crds/*.yaml with the plane's own kubectl and waits until every CRD is Established. */
export async function applyCrds (plane: Pick<ControlPlane, 'bin' | 'kubeconfig'>): Promise<void> {
  const kubectl = async (...args: string[]): Promise<string> =>
    (await run(plane.bin, ['kubectl', `--kubeconfig=${plane.kubeconfig}`, ...args])).stdout
  await kubectl('apply', '--server-side', '--field-manager=dealyard-tests', '-f', join(repoRoot, 'crds'))
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=dealyard')
}
