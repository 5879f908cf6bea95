/**
 * Lotus's JSON encodings of Filecoin types, both ways: CIDs as {"/": "..."}, big ints as decimal
 * strings, byte slices as padded base64, TipSetKeys as arrays of CIDs. Decoders throw
 * ERR_LOTUS_DECODE naming the field path, so a shape change in Lotus is reported, not guessed at.
 */
import { LotusRpcError } from './errors.ts'

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
export type CidJson = { '/': string }

export function bad (path: string, what: string, v: unknown): LotusRpcError {
  const shown = JSON.stringify(v)?.slice(0, 80)
  return new LotusRpcError('ERR_LOTUS_DECODE', `${path}: expected ${what}, got ${shown}`)
}

export function cidToJson (cid: string): CidJson {
  return { '/': cid }
}

export function obj (v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(path, 'an object', v)
  return v as Record<string, unknown>
}

export function arr (v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw bad(path, 'an array', v)
  return v
}

/** A Lotus array that may also be null (Go nil slice). */
export function arrOrNull (v: unknown, path: string): unknown[] {
  return v === null || v === undefined ? [] : arr(v, path)
}

export function cidFromJson (v: unknown, path: string): string {
  const o = obj(v, path)
  const s = o['/']
  if (typeof s !== 'string' || s === '') throw bad(path, 'a CID {"/": ...}', v)
  return s
}

export function cidOrNull (v: unknown, path: string): string | null {
  return v === null || v === undefined ? null : cidFromJson(v, path)
}

export function bigFromJson (v: unknown, path: string): bigint {
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw bad(path, 'a decimal big integer string', v)
  return BigInt(v)
}

export function bigToJson (v: bigint): string {
  return v.toString(10)
}

export function num (v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(path, 'an integer', v)
  return v
}

export function str (v: unknown, path: string): string {
  if (typeof v !== 'string') throw bad(path, 'a string', v)
  return v
}

export function bool (v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw bad(path, 'a boolean', v)
  return v
}

/** Go's encoding/json writes []byte as standard base64 with padding, nil as null. */
export function bytesFromJson (v: unknown, path: string): Uint8Array | null {
  if (v === null || v === undefined) return null
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw bad(path, 'base64 bytes', v)
  return new Uint8Array(Buffer.from(v, 'base64'))
}

export function bytesToJson (b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
}

/** An address string; Lotus prints address.Undef as "<empty>", which becomes null. */
export function addrOrNull (v: unknown, path: string): string | null {
  if (v === null || v === undefined || v === '<empty>') return null
  return str(v, path)
}

/** TipSetKey: array of CIDs; [] (or null) means "the current head" on input. */
export type TipSetKey = string[]

export function tskToJson (tsk: TipSetKey | undefined): CidJson[] {
  return (tsk ?? []).map(cidToJson)
}

export function tskFromJson (v: unknown, path: string): TipSetKey {
  return arrOrNull(v, path).map((c, i) => cidFromJson(c, `${path}[${i}]`))
}
