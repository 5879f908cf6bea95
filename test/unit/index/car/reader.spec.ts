import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { CarBlockIndexer, encodeMultihashIndexSorted, decodeMultihashIndexSorted } from '../../../../src/index/car/index.ts'
import { encode as encodeCbor } from '@ipld/dag-cbor'

// Fixtures written by go-car v2 (test/vectors/car): each CAR, as CARv1 and wrapped as CARv2, with
// the MultihashIndexSorted index `car.GenerateIndex` + `index.WriteTo` produce for it.
const dir = join(import.meta.dirname, '../../../fixtures/car')
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)))
const refRecords = JSON.parse(readFileSync(join(dir, 'records.json'), 'utf8')) as Record<string, Array<{ cid: string, offset: number, size: number }>>

function indexInChunks (bytes: Uint8Array, chunk: number): CarBlockIndexer {
  const ix = new CarBlockIndexer()
  for (let i = 0; i < bytes.length; i += chunk) ix.update(bytes.subarray(i, i + chunk))
  return ix
}

for (const name of ['small', 'mixed', 'large']) {
  for (const v of ['', '.v2']) {
    for (const chunk of [1, 7, 4096, 1 << 20]) {
      test(`${name}${v}.car in ${chunk}-byte chunks gives go-car's index bytes`, () => {
        const res = indexInChunks(fixture(`${name}${v}.car`), chunk).result()
        assert.equal(res.error, undefined)
        assert.equal(res.version, v === '' ? 1 : 2)
        assert.deepEqual(encodeMultihashIndexSorted(res.records), fixture(`${name}${v}.car.idx`))
      })
    }
  }
  test(`${name}.car records match go-car's offsets and sizes, identity CIDs included`, () => {
    const res = indexInChunks(fixture(`${name}.car`), 1000).result()
    const got = res.records.list().map((r) => ({ mh: r.multihash, offset: r.offset, size: r.size }))
    const want = refRecords[name]!.map((r) => ({ mh: CID.parse(r.cid).multihash.bytes, offset: r.offset, size: r.size }))
    assert.deepEqual(got, want)
  })
}

test('a CARv2 reports offsets relative to DataOffset and source offsets from byte 0', () => {
  const bytes = fixture('small.v2.car')
  const dataOffset = Number(new DataView(bytes.buffer).getBigUint64(27, true))
  const res = indexInChunks(bytes, 333).result()
  assert.ok(res.records.length > 0)
  for (const r of res.records) assert.equal(r.sourceOffset, r.offset + dataOffset)
})

test('a CARv2 whose pragma is not written canonically is read as go-car reads it (round 20)', () => {
  const v2 = fixture('small.v2.car')
  // {"version": 2} with the 2 as a 1-byte integer (18 02): one byte more, so every offset after it moves by one
  const pragma = Uint8Array.of(0x0b, 0xa1, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x18, 0x02)
  const loose = new Uint8Array(v2.length + 1)
  loose.set(pragma)
  loose.set(v2.subarray(11), 12)
  const dv = new DataView(loose.buffer)
  dv.setBigUint64(12 + 16, dv.getBigUint64(12 + 16, true) + 1n, true)
  const indexOffset = dv.getBigUint64(12 + 32, true)
  if (indexOffset > 0n) dv.setBigUint64(12 + 32, indexOffset + 1n, true)
  const want = indexInChunks(v2, 333).result()
  const got = indexInChunks(loose, 333).result()
  assert.equal(got.error, undefined)
  assert.equal(got.version, 2)
  assert.deepEqual(encodeMultihashIndexSorted(got.records), encodeMultihashIndexSorted(want.records))
  assert.deepEqual(got.records.list().map((r) => r.sourceOffset), want.records.list().map((r) => r.sourceOffset + 1))
})

test('decode reads back what encode wrote, in code/width/digest order', () => {
  const idx = fixture('mixed.car.idx')
  const entries = decodeMultihashIndexSorted(idx)
  assert.deepEqual(encodeMultihashIndexSorted(entries), idx)
  const codes = entries.map((e) => e.hashCode)
  assert.deepEqual(codes, [...codes].sort((a, b) => a - b))
  assert.ok(codes.includes(0x12) && codes.includes(0x13) && codes.includes(0xb220))
})

test('identity CIDs are left out unless asked for', () => {
  const res = indexInChunks(fixture('mixed.car'), 64).result()
  const withId = decodeMultihashIndexSorted(encodeMultihashIndexSorted(res.records, { storeIdentityCids: true }))
  const without = decodeMultihashIndexSorted(encodeMultihashIndexSorted(res.records))
  assert.equal(withId.length, without.length + 1)
  assert.equal(withId[0]!.hashCode, 0)
})

const bad: Record<string, { bytes: () => Uint8Array, message: RegExp }> = {
  'random bytes are not a CAR': { bytes: () => Uint8Array.from({ length: 500 }, (_, i) => (i * 37 + 11) & 0xff), message: /not a CAR|CBOR|decode|version/i },
  'a CAR cut inside a block is truncated': { bytes: () => fixture('small.car').subarray(0, 1500), message: /truncated CAR/ },
  'a CAR cut inside the header is reported': { bytes: () => fixture('small.car').subarray(0, 20), message: /inside the header/ },
  // go-car (go-varint) refuses both.
  'a section length with a needless zero byte': { bytes: () => tinyCar(Uint8Array.of(0xa8, 0x00)), message: /varint not minimally encoded/ },
  // 2^53 + 1: a JS number would round it to 2^53 and file the block under a code that is not its own.
  'a multihash code past 2^53 − 1': { bytes: () => tinyCar(Uint8Array.of(48), Uint8Array.of(0x01, 0x55, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x20, ...new Uint8Array(32).fill(9))), message: /multihash code 0x20000000000001 is past 2\^53 − 1/ },
  // 2^63 − 1 and 2^60: said as written, not as the rounded numbers a JS number holds
  'a section length past 2^53 − 1': { bytes: () => tinyCar(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)), message: /section length 9223372036854775807 at offset 18 is past 2\^53 − 1/ },
  'a header length past 2^53 − 1': { bytes: () => Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0xa2), message: /not a CAR: header length 1152921504606846976 at offset 0 is past 2\^53 − 1/ },
  'a CARv2 whose data payload size is 0': { bytes: () => carV2(tinyCar(Uint8Array.of(40)), 0), message: /invalid data payload size 0/ }
}

/** A CARv1 of one block (a raw CIDv1, by default sha2-256, and 4 bytes), its section length written as `lengthVarint`. */
function tinyCar (lengthVarint: Uint8Array, cid = Uint8Array.of(0x01, 0x55, 0x12, 0x20, ...new Uint8Array(32).fill(9))): Uint8Array {
  const header = encodeCbor({ roots: [], version: 1 })
  return Uint8Array.of(header.length, ...header, ...lengthVarint, ...cid, 1, 2, 3, 4)
}

/** `v1` wrapped in a CARv2 whose header declares `dataSize`. */
function carV2 (v1: Uint8Array, dataSize: number): Uint8Array {
  const head = new Uint8Array(51)
  head.set([0x0a, 0xa1, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x02])
  const dv = new DataView(head.buffer)
  dv.setBigUint64(11 + 16, 51n, true)
  dv.setBigUint64(11 + 24, BigInt(dataSize), true)
  return Uint8Array.of(...head, ...v1)
}
for (const [name, c] of Object.entries(bad)) {
  test(name, () => {
    const res = indexInChunks(c.bytes(), 100).result()
    assert.ok(res.error instanceof Error)
    assert.match(res.error.message, c.message)
  })
}

// CARv1 headers in loose or odd CBOR, each with go-car's verdict (fixtures/car/headers.json, written
// by test/vectors/car from go-car's GenerateIndex): indexed here exactly when go-car indexes it.
const headerVerdicts = JSON.parse(readFileSync(join(dir, 'headers.json'), 'utf8')) as Array<{ note: string, header: string, indexed: boolean, error?: string }>
for (const v of headerVerdicts) {
  test(`a CAR header with ${v.note}: ${v.indexed ? 'indexed' : 'refused'}, as go-car does`, () => {
    const header = Buffer.from(v.header, 'hex')
    const cid = Uint8Array.of(0x01, 0x55, 0x12, 0x20, ...new Uint8Array(32).fill(9))
    const res = indexInChunks(Uint8Array.of(header.length, ...header, 40, ...cid, 1, 2, 3, 4), 5).result()
    if (v.indexed) {
      assert.equal(res.error, undefined)
      assert.equal(res.records.list().length, 1)
    } else {
      assert.ok(res.error instanceof Error, `indexed, where go-car said: ${v.error}`)
      // version 2 makes the header a CARv2 pragma, and the bytes after it no CARv2 header
      assert.match(res.error.message, /^(not a CAR: header|malformed CARv2)/)
    }
  })
}

test('zero padding after the last section ends the payload (ZeroLengthSectionAsEOF)', () => {
  const car = fixture('small.car')
  const padded = new Uint8Array(car.length + 4096)
  padded.set(car)
  const res = indexInChunks(padded, 512).result()
  assert.equal(res.error, undefined)
  assert.equal(res.zeroLengthSectionAsEOF, true)
  assert.deepEqual(encodeMultihashIndexSorted(res.records), fixture('small.car.idx'))
})

test('an identity CID longer than 2 KiB is indexed past (go-car skips identity CIDs before its CID size limit); another CID that long is refused', () => {
  const header = encodeCbor({ roots: [], version: 1 })
  const section = (cid: Uint8Array, data: Uint8Array): Uint8Array => {
    const len = encodeVarint(cid.length + data.length)
    return Uint8Array.of(...len, ...cid, ...data)
  }
  const mh = (code: number, digest: Uint8Array): Uint8Array => Uint8Array.of(...encodeVarint(code), ...encodeVarint(digest.length), ...digest)
  const inline = new Uint8Array(3000).fill(5)
  const identity = Uint8Array.of(0x01, 0x55, ...mh(0x00, inline))
  const sha = Uint8Array.of(0x01, 0x55, ...mh(0x12, new Uint8Array(32).fill(1)))
  const car = Uint8Array.of(header.length, ...header, ...section(identity, new Uint8Array(0)), ...section(sha, Uint8Array.of(1, 2, 3)))
  for (const chunk of [1, 7, 100, 4096, car.length]) {
    const res = indexInChunks(car, chunk).result()
    assert.equal(res.error, undefined, `chunks of ${chunk}`)
    assert.deepEqual(res.records.list().map((r) => [r.hashCode, r.digest.length]), [[0, 3000], [0x12, 32]])
    assert.deepEqual(decodeMultihashIndexSorted(encodeMultihashIndexSorted(res.records)).map((e) => e.hashCode), [0x12])
  }
  // A sha2-256 multihash claiming 2,100 bytes of digest: past go-car's 2 KiB.
  const long = Uint8Array.of(0x01, 0x55, ...mh(0x12, new Uint8Array(2100).fill(2)))
  const bad = Uint8Array.of(header.length, ...header, ...section(long, new Uint8Array(0)))
  assert.match(indexInChunks(bad, 512).result().error?.message ?? '', /CID does not fit/)
})

function encodeVarint (n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}
