/**
 * The native addon in worker_threads: its pool threads are process-wide, while Node unloads the
 * shared library with the last environment that loaded it. A child process loads the addon only in
 * Workers (fixtures/worker-hash.ts), lets them exit, idles, and in later rounds loads it again; it
 * must exit 0 (not SIGSEGV from pool threads running unmapped code, not hang on a mutex or condition
 * re-initialised under threads still waiting on it), every Worker's CID must be right, and the pool
 * threads (named commp-pool) must be running while Workers hash and gone once they all exited.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { CommPHasher } from '../../../../src/filecoin/commp/index.ts'
import { loadNative } from '../../../../src/filecoin/commp/native.ts'
import { pseudoRandom } from './data.ts'

const child = fileURLToPath(new URL('./fixtures/worker-hash.ts', import.meta.url))
const JOB = 127 << 15

interface Run { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, timedOut: boolean }

function run (args: Array<number | string>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    p.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
    p.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
    const timer = setTimeout(() => { timedOut = true; p.kill('SIGKILL') }, timeoutMs)
    p.on('error', reject)
    p.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }) })
  })
}

function expectedCid (size: number): string {
  const h = new CommPHasher({ workers: 0 })
  h.update(pseudoRandom(size, 7))
  return h.digest().pieceCid
}

async function check (rounds: number, together: number, threads: number, size: number, abandon = false): Promise<void> {
  assert.ok(loadNative().addon !== undefined, 'the native addon is built')
  const r = await run([rounds, together, threads, size, ...(abandon ? ['abandon'] : [])])
  const what = `child ${rounds}x${together} workers, ${threads} pool threads: code ${r.code}, signal ${r.signal}${r.timedOut ? ', hung' : ''}\n${r.stderr.slice(-2000)}`
  assert.equal(r.timedOut, false, what)
  assert.equal(r.signal, null, what)
  assert.equal(r.code, 0, what)
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    rounds: Array<Array<{ pieceCid: string, implementation: string, poolThreads: number }>>
    poolThreadsAfter: number[]
  }
  assert.equal(out.rounds.length, rounds)
  const want = abandon ? '' : expectedCid(size)
  for (const round of out.rounds) {
    assert.equal(round.length, together)
    for (const w of round) {
      assert.deepEqual({ pieceCid: w.pieceCid, implementation: w.implementation }, { pieceCid: want, implementation: 'native' })
      // the pool grows to the largest request; another Worker may have started more
      assert.ok(w.poolThreads >= threads && w.poolThreads <= threads * together, `pool threads while hashing: ${w.poolThreads}`)
    }
  }
  assert.deepEqual(out.poolThreadsAfter, new Array<number>(rounds).fill(0), 'pool threads left after the Workers exited')
}

test('a Worker that alone loaded the addon exits with pool threads idle: the process lives on', async () => {
  // more pool threads than jobs, so some are idle (or just waking) when the library goes
  await check(6, 1, 8, 2 * JOB + 1000)
})

test('two Workers hashing at once, then unloaded and loaded again: right CIDs, no crash or hang', async () => {
  await check(4, 2, 4, 3 * JOB + 5)
})

test('Workers that exit with jobs still queued (no digest): torn down cleanly, pool gone', async () => {
  // 2 threads, a ring of 6 jobs: update() returns with up to 6 queued or running
  await check(4, 2, 2, 24 * JOB, true)
})
