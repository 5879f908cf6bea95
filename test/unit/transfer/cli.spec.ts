// The transfer and verify commands as a person runs them without a cluster: exit codes 0/1/2, one
// JSON line on stdout on success, one clear line on stderr on failure.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fixture, fixturesDir, pieces, tempDir, serve, trickle } from './support.ts'

const root = join(import.meta.dirname, '../../..')

function cli (command: 'transfer' | 'verify', args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const fn = command === 'transfer' ? 'runTransfer' : 'runVerify'
  const script = `import('./src/cli/${command}.ts').then((m) => m.${fn}(JSON.parse(process.argv[1]))).then((c) => { process.exitCode = c })`
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(args)], { cwd: root, env: { ...process.env, DEALYARD_LOG_LEVEL: 'silent' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('exit', (code) => { resolve({ code: code ?? 1, stdout, stderr }) })
  })
}

const car = fixture('large.car')
const piece = pieces['large.car']!

test('transfer with flags only stages the file and prints its piece CID', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  const r = await cli('transfer', ['--url', srv.url, '--header', 'Authorization: Bearer abc', '--size', String(car.length),
    '--piece-cid', piece.pieceCid, '--piece-size', String(piece.pieceSize), '--out-dir', dir, '--uuid', 'u1', '--allow-cidr', '127.0.0.0/8', '--quiet'])
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { pieceCid: string, stagedPath: string, indexPath: string }
  assert.equal(out.pieceCid, piece.pieceCid)
  assert.equal(out.stagedPath, join(dir, 'u1.car'))
  assert.equal(srv.seen[0]!.authorization, 'Bearer abc')
})

test('transfer creates a staging directory that does not exist yet', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = join(await tempDir(), 'new', 'staging')
  const r = await cli('transfer', ['--url', srv.url, '--size', String(car.length), '--piece-cid', piece.pieceCid,
    '--piece-size', String(piece.pieceSize), '--out-dir', dir, '--uuid', 'u5', '--allow-cidr', '127.0.0.0/8', '--quiet'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout).stagedPath, join(dir, 'u5.car'))
})

test('transfer reads boost\'s Params JSON from a file', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const dir = await tempDir()
  const params = join(dir, 'params.json')
  await writeFile(params, JSON.stringify({ URL: srv.url, Headers: { 'X-Token': 't1' } }))
  const r = await cli('transfer', ['--params-file', params, '--size', String(car.length), '--out-dir', dir, '--uuid', 'u2', '--allow-cidr', '127.0.0.1/32', '--quiet'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout).pieceCid, piece.pieceCid)
})

test('a refused data server exits 1 with one line naming the policy', async (t) => {
  const srv = await serve(car)
  t.after(srv.close)
  const r = await cli('transfer', ['--url', srv.url, '--size', String(car.length), '--out-dir', await tempDir(), '--uuid', 'u3', '--quiet'])
  assert.equal(r.code, 1)
  assert.equal(r.stderr.trim().split('\n').length, 1)
  assert.match(r.stderr, /^dealyard transfer: deal u3: transfer: connect to 127\.0\.0\.1: refused by transfer-host policy: .*\(TRANSFER_ADDRESS_REFUSED\)\n$/)
})

test('bad usage exits 2', async () => {
  assert.equal((await cli('transfer', ['--size', '10'])).code, 2)
  assert.equal((await cli('transfer', ['--url', 'http://x', '--allow-cidr', '10.0.0.0/99'])).code, 2)
  assert.equal((await cli('verify', [])).code, 2)
  // Named before the file is hashed.
  const cid = await cli('verify', ['--file', join(fixturesDir, 'large.car'), '--piece-cid', 'garbage'])
  assert.equal(cid.code, 2)
  assert.match(cid.stderr, /^dealyard verify: --piece-cid "garbage" is not a CID/)
  const size = await cli('verify', ['--file', join(fixturesDir, 'large.car'), '--piece-size', '1000'])
  assert.equal(size.code, 2)
  assert.match(size.stderr, /^dealyard verify: --piece-size must be a padded piece size/)
  // A header's text is not repeated (it is often a credential), and neither is a URL's.
  const header = await cli('transfer', ['--url', 'http://127.0.0.1:9/x.car', '--header', 'Authorization Bearer SECRET-A'])
  assert.equal(header.code, 2)
  assert.ok(!header.stderr.includes('SECRET-A'), header.stderr)
  assert.equal((await cli('transfer', ['--url', 'http://127.0.0.1:9/x.car', '--header', 'X Api Key: k'])).code, 2)
  // An unquoted value's second half is an argument of no flag: not repeated either.
  const unquoted = await cli('transfer', ['--url', 'http://127.0.0.1:9/x.car', '--header', 'X-Api-Key:', 'SECRET-C'])
  assert.equal(unquoted.code, 2)
  assert.ok(!unquoted.stderr.includes('SECRET-C'), unquoted.stderr)
  // Refused before hours of download, not after them with the download deleted.
  assert.equal((await cli('transfer', ['--url', 'http://127.0.0.1:9/x.car', '--piece-size', '10000'])).code, 2)
  const url = await cli('transfer', ['--url', 'http://user:SECRET-B@127.0.0.1:99999/x.car', '--out-dir', await tempDir()])
  assert.equal(url.code, 1)
  assert.ok(!url.stderr.includes('SECRET-B'), url.stderr)
})

test('a refusal of the run\'s inputs leaves the staging files alone (an unsafe uuid names one outside --out-dir)', async () => {
  const dir = await tempDir()
  await writeFile(join(dir, 'victim.car.part'), Buffer.alloc(1000, 1))
  const r = await cli('transfer', ['--url', 'http://127.0.0.1:9/x.car', '--out-dir', join(dir, 'a'), '--uuid', '../victim'])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /unsafe deal uuid/)
  assert.equal((await readFile(join(dir, 'victim.car.part'))).length, 1000)
  const bad = await cli('transfer', ['--url', 'http://127.0.0.1:99999/x.car', '--out-dir', dir, '--uuid', 'victim'])
  assert.equal(bad.code, 1)
  assert.equal((await readFile(join(dir, 'victim.car.part'))).length, 1000)
  // A typo in a params file's header (a name with spaces, a token pasted with its newline).
  for (const headers of [{ 'X Api Key': 'k' }, { Authorization: 'Bearer s3cr3t\n' }]) {
    await writeFile(join(dir, 'params.json'), JSON.stringify({ URL: 'http://127.0.0.1:9/x.car', Headers: headers }))
    const typo = await cli('transfer', ['--params-file', join(dir, 'params.json'), '--out-dir', dir, '--uuid', 'victim'])
    assert.equal(typo.code, 1)
    assert.ok(!typo.stderr.includes('s3cr3t'), typo.stderr)
    assert.equal((await readFile(join(dir, 'victim.car.part'))).length, 1000)
  }
})

test('verify reports the piece CID of an imported file and a mismatch as exit 1', async () => {
  const dir = await tempDir()
  const ok = await cli('verify', ['--file', join(fixturesDir, 'large.car'), '--piece-cid', piece.pieceCid, '--piece-size', String(piece.pieceSize), '--out-dir', dir, '--uuid', 'imp', '--quiet'])
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(JSON.parse(ok.stdout).indexPath, join(dir, 'imp.car.idx'))
  const bad = await cli('verify', ['--file', join(fixturesDir, 'small.car'), '--piece-cid', piece.pieceCid, '--out-dir', dir, '--uuid', 'imp', '--quiet'])
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /commP mismatch: expected baga\w+, got baga\w+ \(TRANSFER_COMMP_MISMATCH\)/)
})

test('--min-rate overrides the minimum rate, is named in the failure, and a bad value is refused like the other number flags', async (t) => {
  // 1 KiB/s against --min-rate 65536, measured over a 1 s window (--stall-timeout 1), two attempts.
  const srv = await serve(car, { behave: trickle(car, 1024) })
  t.after(srv.close)
  const slow = await cli('transfer', ['--url', srv.url, '--size', String(car.length), '--out-dir', await tempDir(), '--uuid', 'u6', '--allow-cidr', '127.0.0.0/8',
    '--stall-timeout', '1', '--max-attempts', '2', '--min-rate', '65536', '--quiet'])
  assert.equal(slow.code, 1)
  assert.match(slow.stderr, /^dealyard transfer: deal u6: transfer: below the minimum rate: [\d.]+ (B|KiB)\/s over the last \d\.\d s, minimum 64\.0 KiB\/s \(--min-rate\); gave up after \d+ too-slow windows, at \d+ bytes \(TRANSFER_TOO_SLOW\)\n$/)
  for (const bad of ['fast', '-1', '1.5', '', '1e3', '0x10']) {
    const r = await cli('transfer', ['--url', srv.url, `--min-rate=${bad}`, '--quiet'])
    assert.equal(r.code, (await cli('transfer', ['--url', srv.url, `--stall-timeout=${bad}`, '--quiet'])).code, 'the exit code of the other number flags')
    // A usage mistake, as every other flag's (it was a failed run, exit 1, before round 41).
    assert.equal(r.code, 2)
    assert.equal(r.stderr.split('\n')[0], `dealyard transfer: --min-rate must be a non-negative integer, got ${bad}`)
  }
  // 0 s would drop every connection (stall) or fail every transfer (deadline) at once, as the CRD's
  // minimum of 1 says; 0 attempts makes none.
  for (const flag of ['--stall-timeout', '--deadline', '--max-attempts']) {
    const r = await cli('transfer', ['--url', srv.url, `${flag}=0`, '--quiet'])
    assert.deepEqual([r.code, r.stderr.split('\n')[0]], [2, `dealyard transfer: ${flag} must be at least 1, got 0`])
  }
})
