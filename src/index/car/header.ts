import { newCidSpan, scanCid } from './cid.ts'

const utf8 = new TextDecoder()

/**
 * The version of a CAR header (the first section of a CARv1, or the CARv2 pragma), read as go-car
 * reads it: go-ipld-cbor's refmt decoder into `struct { Roots []cid.Cid; Version uint64 }`. 0 when
 * there is no version key. Throws `not a CAR: header…` where go-car refuses the header.
 *
 * Why not a CBOR library: go-car (under boost) takes CBOR that dag-cbor's strict decoders refuse,
 * and refuses shapes they take. What it takes: integers and lengths not minimally encoded,
 * indefinite-length maps, arrays and strings, one tag on any item (ignored; two are refused),
 * `undefined` as null, keys in any order and repeated (each value checked, the last kept), and
 * bytes after the header's map. What it refuses: keys besides `roots` and `version`, a version
 * that is not an unsigned integer, roots that are neither null nor a list of CIDs (bytes: a 0x00
 * then a CID go-cid's Cast takes whole). Each rule was checked against go-car v2.17's
 * GenerateIndex on 11,400 fuzzed headers (red-team round 20; test/fixtures/car/headers.json).
 */
export function carHeaderVersion (bytes: Uint8Array): number | bigint {
  const r = new Tokens(bytes)
  const top = r.next()
  if (top.kind !== 'map') throw new Error('not a CAR: header is not a map')
  let version: number | bigint = 0
  for (let left = top.length; left !== 0; left--) {
    const key = r.next(top.length < 0)
    if (key.kind === 'break') break
    if (key.kind !== 'text') throw new Error(`not a CAR: header key is ${key.kind}, not text`)
    const name = utf8.decode(key.bytes)
    const value = r.next()
    if (name === 'version') {
      if (value.kind !== 'uint') throw new Error(`not a CAR: header version is ${value.kind}, not an unsigned integer`)
      version = value.value
    } else if (name === 'roots') {
      if (value.kind === 'null') continue
      if (value.kind !== 'array') throw new Error(`not a CAR: header roots are ${value.kind}, not a list of CIDs`)
      for (let n = value.length; n !== 0; n--) {
        const root = r.next(value.length < 0)
        if (root.kind === 'break') break
        checkRoot(root)
      }
    } else {
      throw new Error(`not a CAR: header has a key ${JSON.stringify(name)} besides roots and version`)
    }
  }
  return version
}

/** A root as go-ipld-cbor casts one: bytes, a 0x00, then a CID go-cid's Cast takes whole. */
function checkRoot (t: Token): void {
  if (t.kind !== 'bytes' || t.bytes.length === 0) throw new Error(`not a CAR: header root is ${t.kind === 'bytes' ? 'empty' : t.kind}, not a CID`)
  if (t.bytes[0] !== 0) throw new Error('not a CAR: header root is not a CID (no 0x00 prefix)')
  const span = newCidSpan()
  let ok = false
  try { ok = scanCid(t.bytes, 1, t.bytes.length, span) } catch {}
  if (!ok || span.length !== t.bytes.length - 1) throw new Error('not a CAR: header root is not a CID')
}

type Token =
  | { kind: 'uint', value: number | bigint }
  | { kind: 'negint' | 'float' | 'bool' | 'null' | 'break' }
  | { kind: 'bytes' | 'text', bytes: Uint8Array }
  | { kind: 'array' | 'map', length: number }

/** refmt's CBOR tokens, one at a time; a composite's items are read by the caller. */
class Tokens {
  readonly #b: Uint8Array
  #pos = 0

  constructor (b: Uint8Array) { this.#b = b }

  /** The next item, its tag (at most one) skipped; `break` only where `breakAllowed`. */
  next (breakAllowed = false): Token {
    let first = this.#byte()
    if (first === 0xff && breakAllowed) return { kind: 'break' }
    if (first >> 5 === 6) {
      this.#arg(first & 0x1f)
      first = this.#byte()
      if (first >> 5 === 6) throw new Error('not a CAR: header: more than one tag on an item')
    }
    const major = first >> 5
    const info = first & 0x1f
    switch (major) {
      case 0: return { kind: 'uint', value: this.#arg(info) }
      case 1:
        // refmt computes -1 - n in 64 bits: n = 2^64 - 1 wraps to 0, which a uint field takes
        if (this.#arg(info) === 0xffffffffffffffffn) return { kind: 'uint', value: 0 }
        return { kind: 'negint' }
      case 2: case 3: {
        const kind = major === 2 ? 'bytes' : 'text'
        return { kind, bytes: info === 31 ? this.#chunks(major) : this.#take(this.#length(info)) }
      }
      case 4: case 5: return { kind: major === 4 ? 'array' : 'map', length: info === 31 ? -1 : this.#length(info) }
      default:
        if (first === 0xf4 || first === 0xf5) return { kind: 'bool' }
        if (first === 0xf6 || first === 0xf7) return { kind: 'null' }
        if (first === 0xf9 || first === 0xfa || first === 0xfb) { this.#take(2 ** (first - 0xf8)); return { kind: 'float' } }
        throw new Error(`not a CAR: header: unexpected CBOR byte 0x${first.toString(16)}`)
    }
  }

  /** An indefinite-length string's chunks, each a definite string of the same major type. */
  #chunks (major: number): Uint8Array {
    const parts: Uint8Array[] = []
    for (;;) {
      const b = this.#byte()
      if (b === 0xff) break
      if (b >> 5 !== major || (b & 0x1f) === 31) throw new Error('not a CAR: header: a chunk of an indefinite-length string is not a string of its type')
      parts.push(this.#take(this.#length(b & 0x1f)))
    }
    return Buffer.concat(parts)
  }

  #length (info: number): number {
    const n = this.#arg(info)
    if (typeof n === 'bigint' || n > this.#b.length - this.#pos) throw new Error('not a CAR: header: a length runs past the header')
    return n
  }

  /** An item's argument: small values in `info`, else the 1, 2, 4 or 8 bytes after it. */
  #arg (info: number): number | bigint {
    if (info < 24) return info
    if (info > 27) throw new Error(`not a CAR: header: malformed CBOR (additional information ${info})`)
    const bytes = this.#take(2 ** (info - 24))
    let v = 0n
    for (const x of bytes) v = (v << 8n) | BigInt(x)
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  }

  #byte (): number {
    if (this.#pos >= this.#b.length) throw new Error('not a CAR: header ends inside an item')
    return this.#b[this.#pos++]!
  }

  #take (n: number): Uint8Array {
    if (n > this.#b.length - this.#pos) throw new Error('not a CAR: header ends inside an item')
    const out = this.#b.subarray(this.#pos, this.#pos + n)
    this.#pos += n
    return out
  }
}
