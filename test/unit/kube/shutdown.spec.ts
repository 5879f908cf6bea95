// SIGTERM runs every shutdown hook, newest first, and the exit code says whether they all finished.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'

const fixture = join(import.meta.dirname, 'fixtures', 'shutdown-hooks.ts')

async function terminate (...args: string[]): Promise<{ code: number | null, lines: string[] }> {
  const child = spawn(process.execPath, [fixture, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DEALYARD_LOG_LEVEL: 'info' } })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    if (out === '' && chunk.startsWith('ready\n')) child.kill('SIGTERM')
    out += chunk
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => { resolve(c) }))
  return { code, lines: out.split('\n').filter((l) => l !== '') }
}

const logged = (lines: string[]): Array<Record<string, unknown>> => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)

test('a failed hook: the others still run, its name and error are logged, and the exit code is 1', async () => {
  const { code, lines } = await terminate('fail')
  assert.deepEqual(lines.filter((l) => !l.startsWith('{')), ['ready', 'last stopped', 'first stopped'])
  const failure = logged(lines).find((l) => l.msg === 'shutdown hook failed')
  assert.ok(failure !== undefined, lines.join('\n'))
  assert.equal(failure.hook, 'middle')
  assert.equal(failure.err, 'lease not released: apiserver gone')
  assert.equal(code, 1)
})

test('every hook finished: exit code 0', async () => {
  const { code, lines } = await terminate()
  assert.deepEqual(lines.filter((l) => !l.startsWith('{')), ['ready', 'last stopped', 'middle stopped', 'first stopped'])
  assert.equal(logged(lines).filter((l) => l.level === 50).length, 0)
  assert.equal(code, 0)
})
