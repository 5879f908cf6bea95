/**
 * The pure-TypeScript CommP tree (fallback when the native addon is unavailable). Same algorithm as
 * native/src/commp.c: payload is Fr32-padded into a batch of leaves; a full batch is reduced level
 * by level in place and its root pushed on the right-edge stack (stack[l] = a complete left subtree
 * at level l waiting for its right sibling), so memory stays O(tree height).
 */
import { DealyardError } from '../../errors.ts'
import type { TreeEngine } from './engine.ts'
import { fr32Block } from './fr32.ts'
import { hashNode, hashPairs } from './sha256.ts'
import { zeroSubtree } from './zero.ts'

const BATCH_LOG = 10
const BATCH = 1 << BATCH_LOG

type Stack = Array<Uint8Array | undefined>

function push (stack: Stack, level: number, node: Uint8Array): void {
  let l = level
  let n = node
  for (let left = stack[l]; left !== undefined; left = stack[l]) {
    n = hashNode(left, n)
    stack[l] = undefined
    l++
  }
  stack[l] = n
}

export class TsTree implements TreeEngine {
  readonly #stack: Stack = []
  readonly #leaves = new Uint8Array(BATCH * 32)
  #n = 0
  readonly #carry = new Uint8Array(127)
  #carryLen = 0

  update (chunk: Uint8Array): void {
    let i = 0
    let len = chunk.length
    if (this.#carryLen > 0) {
      const take = Math.min(127 - this.#carryLen, len)
      this.#carry.set(chunk.subarray(0, take), this.#carryLen)
      this.#carryLen += take
      i += take
      len -= take
      if (this.#carryLen < 127) return
      this.#carryLen = 0
      this.#block(this.#carry, 0)
    }
    for (; len >= 127; i += 127, len -= 127) this.#block(chunk, i)
    if (len > 0) {
      this.#carry.set(chunk.subarray(i, i + len), 0)
      this.#carryLen = len
    }
  }

  #block (src: Uint8Array, i: number): void {
    fr32Block(this.#leaves, 32 * this.#n, src, i)
    this.#n += 4
    if (this.#n < BATCH) return
    for (let n = BATCH; n > 1; n /= 2) hashPairs(this.#leaves, 0, this.#leaves, 0, n / 2)
    push(this.#stack, BATCH_LOG, this.#leaves.slice(0, 32))
    this.#n = 0
  }

  digest (height: number): Uint8Array {
    const stack = this.#stack.slice()
    for (let j = 0; j < this.#n; j++) push(stack, 0, this.#leaves.slice(32 * j, 32 * j + 32))
    if (this.#carryLen > 0) {
      const block = new Uint8Array(127)
      block.set(this.#carry.subarray(0, this.#carryLen))
      const leaves = new Uint8Array(128)
      fr32Block(leaves, 0, block, 0)
      for (let j = 0; j < 4; j++) push(stack, 0, leaves.slice(32 * j, 32 * j + 32))
    }
    // a node at `height` is the root only if nothing else is pending; anything higher is too much data
    const top = stack[height]
    const below = stack.slice(0, height).some((x) => x !== undefined)
    if (stack.slice(height + 1).some((x) => x !== undefined) || (top !== undefined && below)) {
      throw new DealyardError('ERR_COMMP_SIZE', `commp: payload does not fit a tree of height ${height}`)
    }
    if (top !== undefined) return top
    let cur: Uint8Array | undefined
    for (let l = 0; l < height; l++) {
      const left = stack[l]
      if (left !== undefined) cur = hashNode(left, cur ?? zeroSubtree(l))
      else if (cur !== undefined) cur = hashNode(cur, zeroSubtree(l))
    }
    return cur ?? zeroSubtree(height)
  }
}
