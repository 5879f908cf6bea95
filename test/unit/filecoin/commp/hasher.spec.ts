/**
 * The streaming contract: any chunking gives the same root, digest() does not finalize, sizes and
 * errors; random payloads agree between the native paths (inline, worker threads, portable C) and
 * the pure-TypeScript path; native node hashing equals node:crypto SHA-256 truncated to 254 bits.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { CommPHasher, commpImplementation, commpOfFile, padPieceCommitment } from '../../../../src/filecoin/commp/index.ts'
import { loadNative } from '../../../../src/filecoin/commp/native.ts'
import { hashPairs } from '../../../../src/filecoin/commp/sha256.ts'
import { TsTree } from '../../../../src/filecoin/commp/tree.ts'
import { chunked, pseudoRandom } from './data.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function tsRoot (data: Uint8Array, height: number): string {
  const t = new TsTree()
  t.update(data)
  return hex(t.digest(height))
}

function sha254 (pair: Uint8Array): string {
  const d = createHash('sha256').update(pair).digest()
  d[31] = d[31]! & 0x3f
  return d.toString('hex')
}

test('node hashing: native and TypeScript equal node:crypto SHA-256 truncated to 254 bits', () => {
  const addon = loadNative().addon
  assert.ok(addon !== undefined)
  // 37 pairs: whole lane groups plus a tail
  const pairs = randomBytes(64 * 37)
  const native = addon.hashPairs(pairs)
  const ts = new Uint8Array(32 * 37)
  hashPairs(ts, 0, pairs, 0, 37)
  for (let i = 0; i < 37; i++) {
    const want = sha254(pairs.subarray(64 * i, 64 * i + 64))
    assert.equal(hex(native.subarray(32 * i, 32 * i + 32)), want)
    assert.equal(hex(ts.subarray(32 * i, 32 * i + 32)), want)
  }
})

test('random payloads: native inline and threaded equal the TypeScript tree', () => {
  assert.equal(commpImplementation(), 'native')
  const job = 127 << 15
  for (const size of [1, 126, 127, 128, 508, 127 * 4096 - 1, 127 * 4096 * 3 + 64, job - 1, job, job + 1, 2 * job + 12345]) {
    const data = randomBytes(size)
    let want: string | undefined
    for (const workers of [1, 2, 4]) {
      const h = new CommPHasher({ workers })
      h.update(data)
      const r = h.digest()
      want ??= tsRoot(data, Math.log2(r.paddedPieceSize) - 5)
      assert.equal(hex(r.digest), want, `size ${size}, workers ${workers}`)
      assert.equal(r.payloadSize, size)
      assert.equal(h.bytesHashed, size)
    }
  }
})

test('any chunking gives the same root (1-byte, 127-byte and random chunk sizes)', () => {
  const data = pseudoRandom(127 * 4096 * 2 + 1000, 42)
  const whole = new CommPHasher({ workers: 1 })
  whole.update(data)
  const want = whole.digest().pieceCid
  for (const sizes of [[1], [127], [126, 128, 1]]) {
    for (const workers of [1, 2]) {
      const h = new CommPHasher({ workers })
      chunked(data, sizes, (c) => { h.update(c) })
      assert.equal(h.digest().pieceCid, want, `chunks ${sizes.join(',')}, workers ${workers}`)
    }
  }
  const small = data.subarray(0, 3000)
  const wantSmall = new CommPHasher({ workers: 0 })
  wantSmall.update(small)
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }), (sizes) => {
    const h = new CommPHasher({ workers: 0 })
    chunked(small, sizes, (c) => { h.update(c) })
    return h.digest().pieceCid === wantSmall.digest().pieceCid
  }), { numRuns: 200 })
})

test('digest() does not finalize: a mid-stream digest then more data equals one pass', () => {
  const data = pseudoRandom((127 << 15) * 2 + 777, 7)
  for (const workers of [1, 3]) {
    const h = new CommPHasher({ workers })
    h.update(data.subarray(0, 200_000))
    const mid = h.digest()
    h.update(data.subarray(200_000))
    const one = new CommPHasher({ workers: 1 })
    one.update(data.subarray(0, 200_000))
    assert.equal(mid.pieceCid, one.digest().pieceCid)
    one.update(data.subarray(200_000))
    assert.equal(h.digest().pieceCid, one.digest().pieceCid, `workers ${workers}`)
  }
})

test('digest(paddedPieceSize) zero-pads a larger piece; too small or invalid sizes throw ERR_COMMP_SIZE', () => {
  const data = pseudoRandom(5000, 3)
  const h = new CommPHasher({ workers: 1 })
  h.update(data)
  const natural = h.digest()
  assert.equal(natural.paddedPieceSize, 8192)
  const big = h.digest(1 << 20)
  assert.equal(big.paddedPieceSize, 1 << 20)
  assert.equal(hex(big.digest), hex(padPieceCommitment(natural.digest, 8192, 1 << 20)))
  assert.equal(hex(big.digest), tsRoot(data, 15))
  assert.notEqual(big.pieceCidV2, natural.pieceCidV2)
  for (const bad of [4096, 1000, 0]) assert.throws(() => h.digest(bad), { name: 'DealyardError', code: 'ERR_COMMP_SIZE' }, String(bad))
  // exactly full: 127 * 64 bytes fill an 8 KiB piece, one more byte does not
  const full = new CommPHasher({ workers: 1 })
  full.update(new Uint8Array(127 * 64))
  assert.equal(full.digest().paddedPieceSize, 8192)
  full.update(new Uint8Array(1))
  assert.throws(() => full.digest(8192), { code: 'ERR_COMMP_SIZE' })
  assert.equal(full.digest().paddedPieceSize, 16384)
})

test('invalid worker counts are refused', () => {
  for (const w of [-1, 1.5, 1000]) assert.throws(() => new CommPHasher({ workers: w }), { code: 'ERR_COMMP_OPTIONS' })
})

test('commpOfFile and the portable C path (DEALYARD_COMMP_PORTABLE=1, a child process) agree with the stream', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'commp-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  const data = pseudoRandom((4 << 20) * 2 + 4321, 9)
  const file = join(dir, 'payload.bin')
  writeFileSync(file, data)
  const h = new CommPHasher({ workers: 1 })
  h.update(data)
  const want = h.digest()
  for (const workers of [1, 2]) {
    const r = await commpOfFile(file, { workers })
    assert.equal(r.pieceCid, want.pieceCid)
    assert.equal(r.payloadSize, data.length)
  }
  assert.equal((await commpOfFile(file, { paddedPieceSize: 64 << 20 })).paddedPieceSize, 64 << 20)
  await assert.rejects(commpOfFile(join(dir, 'missing')), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_COMMP_READ')
    assert.equal((err.cause as { code?: string }).code, 'ENOENT')
    return true
  })
  await assert.rejects(commpOfFile(dir), { code: 'ERR_COMMP_READ' })
  const script = `import { commpOfFile } from ${JSON.stringify(new URL('../../../../src/filecoin/commp/index.ts', import.meta.url).href)}
import { loadNative } from ${JSON.stringify(new URL('../../../../src/filecoin/commp/native.ts', import.meta.url).href)}
const r = await commpOfFile(process.argv[1], { workers: 2 })
console.log(JSON.stringify({ sha: loadNative().addon?.implementation, cid: r.pieceCid }))`
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, file], {
    env: { ...process.env, DEALYARD_COMMP_PORTABLE: '1', DEALYARD_LOG_LEVEL: 'silent' }, encoding: 'utf8'
  })) as { sha: string, cid: string }
  assert.equal(out.sha, 'portable')
  assert.equal(out.cid, want.pieceCid)
})
