// TEMPORARY: a minimal CommP (fr32 + SHA-256 tree) for early transfer tests, until
// src/filecoin/commp lands. To be removed.
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'

function h (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = createHash('sha256').update(a).update(b).digest()
  out[31]! &= 0x3f
  return out
}
function fr32 (s: Uint8Array, out: Uint8Array): void {
  out.set(s.subarray(0, 32)); out[31]! &= 0x3f
  for (let i = 32; i < 64; i++) out[i] = (s[i]! << 2) | (s[i - 1]! >> 6)
  out[63]! &= 0x3f
  for (let i = 64; i < 96; i++) out[i] = (s[i]! << 4) | (s[i - 1]! >> 4)
  out[95]! &= 0x3f
  for (let i = 96; i < 127; i++) out[i] = (s[i]! << 6) | (s[i - 1]! >> 2)
  out[127] = s[126]! >> 2
}
export class TinyCommP {
  private slab = new Uint8Array(127); private fill = 0; private levels: Array<Uint8Array | undefined> = []; private size = 0
  update (chunk: Uint8Array): void {
    this.size += chunk.length
    let i = 0
    while (i < chunk.length) {
      const t = Math.min(127 - this.fill, chunk.length - i)
      this.slab.set(chunk.subarray(i, i + t), this.fill); this.fill += t; i += t
      if (this.fill === 127) this.flush()
    }
  }
  private flush (): void {
    const out = new Uint8Array(128); fr32(this.slab, out); this.slab.fill(0); this.fill = 0
    for (let k = 0; k < 4; k++) this.push(out.slice(32 * k, 32 * k + 32), 0)
  }
  private push (node: Uint8Array, level: number): void {
    for (;;) {
      const left = this.levels[level]
      if (left === undefined) { this.levels[level] = node; return }
      this.levels[level] = undefined; node = h(left, node); level++
    }
  }
  digest (padded?: number): { pieceCid: CID, payloadSize: number } {
    if (this.fill > 0 || this.size === 0) this.flush()
    const zero: Uint8Array[] = [new Uint8Array(32)]
    for (let i = 1; i < 40; i++) zero.push(h(zero[i - 1]!, zero[i - 1]!))
    const top = this.levels.length - 1
    let carry: Uint8Array | undefined
    for (let l = 0; l < top; l++) {
      const n = this.levels[l]
      if (carry === undefined && n === undefined) continue
      carry = carry === undefined ? h(n!, zero[l]!) : n === undefined ? h(carry, zero[l]!) : h(n, carry)
    }
    let level = carry === undefined ? top : top + 1
    let root = carry === undefined ? this.levels[top]! : h(this.levels[top]!, carry)
    if (padded !== undefined) { const target = Math.log2(padded / 32); while (level < target) { root = h(root, zero[level]!); level++ } }
    return { pieceCid: CID.create(1, 0xf101, createDigest(0x1012, root)), payloadSize: this.size }
  }
}
