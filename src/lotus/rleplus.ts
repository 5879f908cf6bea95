/**
 * RLE+ bitfields (go-bitfield rle/rleplus_reader.go), the encoding of PublishStorageDealsReturn's
 * ValidDeals, and the run-length JSON form Lotus prints for a BitField. Decoding only: the engine
 * reads which of its deals the market actor accepted.
 */
import { LotusRpcError } from './errors.ts'

const MAX_BITS = 1 << 24 // far beyond any batch; guards against a hostile run length

function bad (msg: string): LotusRpcError {
  return new LotusRpcError('ERR_LOTUS_DECODE', `rle+: ${msg}`)
}

class BitReader {
  readonly #b: Uint8Array
  #pos = 0
  constructor (b: Uint8Array) { this.#b = b }
  get exhausted (): boolean { return this.#pos >= this.#b.length * 8 }
  /** Bits come least-significant first within each byte; past the end they read as 0. */
  bit (): number {
    const byte = this.#b[this.#pos >> 3] ?? 0
    const v = (byte >> (this.#pos & 7)) & 1
    this.#pos++
    return v
  }
  bits (n: number): number {
    let v = 0
    for (let i = 0; i < n; i++) v |= this.bit() << i
    return v
  }
  /** Unsigned LEB128 read bitwise (8 bits per byte, LSB first). */
  varint (): number {
    let v = 0
    for (let shift = 0; shift < 63; shift += 7) {
      const byte = this.bits(8)
      v += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return v
    }
    throw bad('varint too long')
  }
}

/** The set bits of an RLE+ encoded bitfield, ascending. */
export function decodeRlePlus (b: Uint8Array): number[] {
  if (b.length === 0) return []
  const r = new BitReader(b)
  if (r.bits(2) !== 0) throw bad('unknown version')
  let value = r.bit() === 1
  const out: number[] = []
  let index = 0
  while (!r.exhausted) {
    let run: number
    if (r.bit() === 1) {
      run = 1
    } else if (r.bit() === 1) {
      run = r.bits(4)
    } else {
      run = r.varint()
    }
    if (run === 0) break // trailing zero padding of the last byte
    if (index + run > MAX_BITS) throw bad(`bitfield longer than ${MAX_BITS} bits`)
    if (value) for (let i = 0; i < run; i++) out.push(index + i)
    index += run
    value = !value
  }
  return out
}

/** Lotus's JSON form of a BitField: run lengths, the first one a run of zeros. */
export function bitsFromRuns (runs: unknown, path = 'BitField'): number[] {
  if (!Array.isArray(runs)) throw new LotusRpcError('ERR_LOTUS_DECODE', `${path}: expected an array of runs`)
  const out: number[] = []
  let index = 0
  runs.forEach((r, i) => {
    if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 0) throw new LotusRpcError('ERR_LOTUS_DECODE', `${path}[${i}]: bad run length`)
    if (index + r > MAX_BITS) throw bad(`bitfield longer than ${MAX_BITS} bits`)
    if (i % 2 === 1) for (let k = 0; k < r; k++) out.push(index + k)
    index += r
  })
  return out
}
