/** Shared by the unit fuzz test and `npm run bench fuzz-protocol`: decoder fuzzing with fast-check. */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DealyardError } from '../../../src/errors.ts'
import { cborItemEnd } from '../../../src/protocol/index.ts'
import { codecs, loadVectors, toPlain, unhex } from './golden.ts'

const vectors = loadVectors().vectors
const names = Object.keys(codecs)
const golden = vectors.map((v) => ({ type: v.type, bytes: unhex(v.hex) }))

/**
 * Decoding must either succeed, with a value that re-encodes and decodes to the same value, or fail
 * with a DealyardError whose code is ERR_CBOR_DECODE (malformed), ERR_CBOR_RANGE (well formed, an
 * integer beyond ±(2^53-1)) or ERR_CBOR_MISSING (well formed, a map lacking a field). Anything else (a TypeError, a RangeError, a hang) is a bug. The framing scanner must agree: never throw anything but ERR_CBOR_DECODE.
 */
export function checkInput (type: string, bytes: Uint8Array): void {
  const codec = codecs[type]!
  let value: unknown
  try {
    value = codec.decode(bytes)
  } catch (err) {
    if (!(err instanceof DealyardError) || (err.code !== 'ERR_CBOR_DECODE' && err.code !== 'ERR_CBOR_RANGE' && err.code !== 'ERR_CBOR_MISSING')) throw err
    value = undefined
  }
  if (value !== undefined) {
    // The 1.2.0 encoder drops the 1.2.1 booleans by design: round-trip through the full form.
    const full = codecs[type === 'DealParamsV120' ? 'DealParams' : type]!
    const again = full.decode(full.encode(value as never))
    assert.deepEqual(toPlain(again), toPlain(value))
  }
  try {
    const end = cborItemEnd(bytes)
    assert.ok(end >= -1 && end <= bytes.length)
  } catch (err) {
    if (!(err instanceof DealyardError) || err.code !== 'ERR_CBOR_DECODE') throw err
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('major' as const), at: fc.nat(), major: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('huge' as const), at: fc.nat(), major: fc.integer({ min: 2, max: 5 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) })
)
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never

function mutate (b: Uint8Array, m: Mutation): Uint8Array {
  const at = m.at % (b.length + 1)
  const out = Array.from(b)
  switch (m.kind) {
    case 'truncate': return b.subarray(0, at)
    case 'flip': if (at < out.length) out[at]! ^= m.mask; break
    case 'major': if (at < out.length) out[at] = (m.major << 5) | (out[at]! & 0x1f); break
    case 'insert': out.splice(at, 0, ...m.bytes); break
    case 'huge': out.splice(at, at < out.length ? 1 : 0, (m.major << 5) | 27, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff); break
    case 'delete': out.splice(at, m.n); break
  }
  return Uint8Array.from(out)
}

/** Golden messages with 1–3 mutations, decoded as their own type and as a random other type. */
export const mutatedGolden = fc.record({
  g: fc.integer({ min: 0, max: golden.length - 1 }),
  ms: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  other: fc.integer({ min: 0, max: names.length - 1 })
}).map(({ g, ms, other }) => {
  const v = golden[g]!
  return { type: v.type, other: names[other]!, bytes: ms.reduce(mutate, v.bytes) }
})

export const randomBytes = fc.record({
  type: fc.constantFrom(...names),
  bytes: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 600 }))
})

/** Runs `cases` fuzz cases, split 70/30 between mutated golden messages and random bytes. */
export function fuzz (cases: number, seed?: number): void {
  const params = seed === undefined ? {} : { seed }
  fc.assert(fc.property(mutatedGolden, ({ type, other, bytes }) => { checkInput(type, bytes); checkInput(other, bytes) }), { numRuns: Math.ceil(cases * 0.35), ...params })
  fc.assert(fc.property(randomBytes, ({ type, bytes }) => { checkInput(type, bytes) }), { numRuns: Math.ceil(cases * 0.3), ...params })
}
