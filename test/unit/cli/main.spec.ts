/**
 * The CLI starts whatever its temp directory is like: Node's own compile-cache setup loops forever
 * on a directory it cannot create under a parent that exists (TMPDIR=/proc/self spun at 100 % CPU).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { DEALYARD_VERSION } from '../../../src/version.ts'

const main = join(import.meta.dirname, '../../../src/cli/main.ts')

for (const tmp of ['/proc/self', '/nonexistent/dir', '/dev/null']) {
  test(`dealyard --help answers with TMPDIR=${tmp}`, () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp }
    delete env.NODE_COMPILE_CACHE
    const r = spawnSync(process.execPath, [main, '--help'], { env, timeout: 10_000, encoding: 'utf8' })
    assert.equal(r.error, undefined, `did not finish: ${String(r.error)}`)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /commp/)
  })
}

test('dealyard crds refuses arguments it does not take', () => {
  const r = spawnSync(process.execPath, [main, 'crds', '--bogus'], { timeout: 10_000, encoding: 'utf8' })
  assert.equal(r.status, 2)
  assert.match(r.stderr, /^dealyard crds: takes no arguments, got "--bogus"/)
  assert.equal(r.stdout, '')
})

test('dealyard --version prints the version; no command at all is a usage mistake on stderr', () => {
  const v = spawnSync(process.execPath, [main, '--version'], { timeout: 10_000, encoding: 'utf8' })
  assert.deepEqual([v.status, v.stdout], [0, `dealyard ${DEALYARD_VERSION}\n`])
  const none = spawnSync(process.execPath, [main], { timeout: 10_000, encoding: 'utf8' })
  assert.deepEqual([none.status, none.stdout], [2, ''])
  assert.match(none.stderr, /^usage: dealyard <command>/)
})
