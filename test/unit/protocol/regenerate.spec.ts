/**
 * The committed fixtures must be exactly what test/vectors/boost produces: it is rebuilt (cached
 * per go.mod+go.sum+sources) and re-run into a temporary folder, and every file compared.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixturesDir } from './golden.ts'

const buildScript = fileURLToPath(new URL('../../vectors/boost/build.sh', import.meta.url))

function files (dir: string, prefix = ''): string[] {
  return readdirSync(dir).sort().flatMap((e) => statSync(join(dir, e)).isDirectory() ? files(join(dir, e), `${prefix}${e}/`) : [`${prefix}${e}`])
}

describe('test/fixtures/boost', () => {
  it('is what the Go vector program writes (deterministic seeds)', { timeout: 900_000 }, () => {
    const bin = execFileSync('bash', [buildScript], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '' } }).trim()
    const out = mkdtempSync(join(tmpdir(), 'boost-vectors-'))
    try {
      execFileSync(bin, [out], { stdio: 'inherit' })
      assert.deepEqual(files(out), files(fixturesDir))
      for (const f of files(out)) assert.equal(readFileSync(join(out, f), 'utf8'), readFileSync(join(fixturesDir, f), 'utf8'), `${f} differs from the Go program's output`)
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})
