/**
 * Loads the native CommP addon built by native/build.sh (node-gyp; tools/env.sh runs it when the
 * sources changed). The addon is cached outside the repository under
 * $DEALYARD_CACHE/commp-native/<key>/dealyard_commp.node, where key is the same hash build.sh takes
 * (binding.gyp, then native/src/* sorted bytewise), so a stale build is never picked up.
 * DEALYARD_COMMP_ADDON names an addon file explicitly (container images);
 * DEALYARD_COMMP_IMPL=typescript disables the native path.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DealyardError } from '../../errors.ts'
import type { TreeEngine } from './engine.ts'

export interface NativeAddon {
  /** 'sha-ni' or 'portable': which SHA-256 the CPU check picked. */
  implementation: string
  create (threads: number): object
  update (handle: object, chunk: Uint8Array): void
  /** threaded handles: pool threads pread whole jobs; fd must stay open until digest */
  updateFile (handle: object, fd: number, position: number, length: number): void
  digest (handle: object, height: number): Uint8Array
  hashPairs (pairs: Uint8Array): Uint8Array
  /** The address of bytes[0] modulo m (aligning O_DIRECT buffers). */
  addressModulo (bytes: Uint8Array, m: number): number
  /** Node's OpenSSL (native/src/crypto.c); absent from addons built before it. */
  chachaOpen?: (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array, dst: Uint8Array) => boolean
  /** out: plaintext.length + 16 bytes (ciphertext ‖ tag); the caller allocates it (Node's buffer pool is cheaper than a fresh Buffer per call) */
  chachaSeal?: (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array, out: Uint8Array) => void
  /** undefined where OpenSSL cannot set BLAKE2b's output size (before 3.2) */
  blake2b?: (data: Uint8Array, outLen: number) => Uint8Array | undefined
  /** blst (native/src/bls.c); absent when the addon was built without blst's sources */
  blsVerify?: (sig: Uint8Array, publicKey: Uint8Array, message: Uint8Array, dst: Uint8Array) => boolean
}

export interface NativeLoad {
  addon?: NativeAddon
  path?: string
  /** why the native addon is not used (when addon is undefined) */
  reason?: string
}

const nativeDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../native')

/** The build key of native/ sources, identical to native/build.sh's. */
export function nativeSourceKey (dir = nativeDir): string {
  const h = createHash('sha256')
  h.update(readFileSync(join(dir, 'binding.gyp')))
  for (const f of readdirSync(join(dir, 'src')).sort()) h.update(readFileSync(join(dir, 'src', f)))
  return h.digest('hex').slice(0, 16)
}

function addonPath (): { path?: string, reason?: string } {
  const explicit = process.env.DEALYARD_COMMP_ADDON
  if (explicit !== undefined && explicit !== '') return { path: explicit }
  if (!existsSync(join(nativeDir, 'binding.gyp'))) return { reason: `no native sources at ${nativeDir}` }
  const cache = process.env.DEALYARD_CACHE ?? join(homedir(), '.cache', 'dealyard')
  const path = join(cache, 'commp-native', nativeSourceKey(), 'dealyard_commp.node')
  if (!existsSync(path)) return { reason: `native addon not built (${path}); run native/build.sh or source tools/env.sh` }
  return { path }
}

let loaded: NativeLoad | undefined

export function loadNative (): NativeLoad {
  if (loaded !== undefined) return loaded
  if (process.env.DEALYARD_COMMP_IMPL === 'typescript') {
    loaded = { reason: 'DEALYARD_COMMP_IMPL=typescript' }
    return loaded
  }
  const { path, reason } = addonPath()
  if (path === undefined) {
    loaded = { reason: reason ?? 'no addon' }
    return loaded
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon
    loaded = { addon, path }
  } catch (err) {
    loaded = { reason: `loading ${path}: ${err instanceof Error ? err.message : String(err)}` }
  }
  return loaded
}

/** The native tree; threads ≤ 1 hashes inside update(), more uses the addon's thread pool. */
export class NativeTree implements TreeEngine {
  readonly #addon: NativeAddon
  readonly #handle: object
  readonly threaded: boolean

  constructor (addon: NativeAddon, threads: number) {
    this.#addon = addon
    this.#handle = addon.create(threads)
    this.threaded = threads > 1
  }

  update (chunk: Uint8Array): void {
    this.#addon.update(this.#handle, chunk)
  }

  /** length bytes of an open file from position; fd must stay open until digest() returned. */
  updateFile (fd: number, position: number, length: number): void {
    try {
      this.#addon.updateFile(this.#handle, fd, position, length)
    } catch (err) {
      throw nativeError(err, `commp: read at ${position}`)
    }
  }

  digest (height: number): Uint8Array {
    try {
      return new Uint8Array(this.#addon.digest(this.#handle, height))
    } catch (err) {
      throw nativeError(err, `commp: tree of height ${height}`)
    }
  }
}

/** The addon throws plain errors with a code; callers match DealyardError codes. */
function nativeError (err: unknown, context: string): Error {
  const code = (err as { code?: string }).code
  if (code === 'ERR_COMMP_SIZE') return new DealyardError(code, `${context}: payload does not fit`, { cause: err })
  if (code === 'ERR_COMMP_READ') return new DealyardError(code, `${context}: ${(err as Error).message}`, { cause: err })
  return err instanceof Error ? err : new Error(String(err))
}
