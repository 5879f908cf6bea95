/**
 * native/build.sh caches the addon by its sources' hash. One built without blst (no Go, or no
 * module proxy, on the first run) used to stay cached for good: a machine whose first run lacked
 * Go kept verifying BLS in TypeScript. It is now marked and built again once blst can be fetched
 * (at once when Go has appeared; after a failed fetch, an hour on).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync, mkdirSync, readFileSync, statSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'

const script = join(import.meta.dirname, '../../../native/build.sh')

/** Whether this machine's Go can fetch the blst version binding.gyp names. */
function blstReachable (): boolean {
  const version = /"blst_version": "(v[0-9.]+)"/.exec(readFileSync(join(import.meta.dirname, '../../../native/binding.gyp'), 'utf8'))![1]!
  try {
    execFileSync('go', ['mod', 'download', '-json', `github.com/supranational/blst@${version}`], { env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '' }, stdio: 'ignore', timeout: 30_000 })
    return true
  } catch {
    return false
  }
}

test('an addon built without blst is built again, with blsVerify, once the module proxy answers', { timeout: 300_000 }, (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'dealyard-native-'))
  t.after(() => { rmSync(cache, { recursive: true, force: true }) })
  // a `go` that fails as an unreachable proxy does
  const fakeBin = join(cache, 'fake-bin')
  mkdirSync(fakeBin)
  writeFileSync(join(fakeBin, 'go'), '#!/bin/sh\necho "go: module lookup disabled" >&2\nexit 1\n')
  chmodSync(join(fakeBin, 'go'), 0o755)
  const build = (path: string): string => execFileSync('bash', [script], {
    env: { ...process.env, DEALYARD_CACHE: cache, DEALYARD_NODE_HOME: dirname(dirname(process.execPath)), PATH: path },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  }).trim()
  const blsVerify = (addon: string): boolean =>
    typeof (createRequire(import.meta.url)(addon) as { blsVerify?: unknown }).blsVerify === 'function'

  const first = build(`${fakeBin}:${process.env.PATH}`)
  const marker = join(dirname(first), 'without-blst')
  assert.equal(readFileSync(marker, 'utf8').trim(), 'no-blst', 'a build without blst is marked')
  const builtAt = statSync(first).mtimeMs
  // within the hour the proxy is not asked again: the cached addon is used as it is
  assert.equal(build(process.env.PATH!), first)
  assert.equal(statSync(first).mtimeMs, builtAt)
  assert.ok(existsSync(marker))
  // an hour on, it is
  const hourAgo = new Date(Date.now() - 2 * 3600_000)
  utimesSync(marker, hourAgo, hourAgo)
  const second = build(process.env.PATH!)
  assert.equal(second, first)
  if (!blstReachable()) {
    // a machine with Go but no module proxy: the addon without blst stays in use, asked again in an hour
    assert.equal(statSync(first).mtimeMs, builtAt)
    assert.ok(statSync(marker).mtimeMs > hourAgo.getTime())
    return
  }
  assert.equal(existsSync(marker), false, 'built again with blst')
  assert.equal(blsVerify(second), true)
  // and kept from then on
  assert.equal(build(`${fakeBin}:${process.env.PATH}`), first)
  assert.equal(existsSync(marker), false)
})
