/**
 * Runs one of the repository's cached-build scripts (tools/k8s, test/peers/lotus, tools/helm,
 * test/interop/boostclient, …: each builds once per source hash outside the repository and prints
 * the binary's path last) and returns that path. Build progress goes to our stderr.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const run = promisify(execFile)
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export async function cachedBinary (script: string): Promise<string> {
  const child = run('bash', [join(repoRoot, script)], { maxBuffer: 1 << 24 })
  child.child.stderr?.pipe(process.stderr)
  const bin = (await child).stdout.trim().split('\n').pop()
  if (bin == null || bin === '') throw new Error(`${script} printed no binary path`)
  return bin
}
