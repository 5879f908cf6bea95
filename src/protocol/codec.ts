import { CborReader, decodeError, ERR_CBOR_MISSING, ERR_CBOR_RANGE } from './cbor/reader.ts'
import { DealyardError } from '../errors.ts'
import { CborWriter } from './cbor/writer.ts'
import type { DecodeOptions } from './types.ts'

/**
 * Largest message accepted by default: 5 MiB holds the largest DealParams cbor-gen would decode
 * (2 MiB Transfer.Params + 2 MiB label + the rest) and refuses anything like a 10 MB flood.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 5 << 20

/**
 * A complete, well-formed message whose map lacks a field (ERR_CBOR_MISSING), with what was read:
 * cbor-gen leaves the missing field's zero value and boost answers from it, which a handler may
 * imitate where that answer is an error anyway (the status protocol).
 */
export class MissingFieldError<T = unknown> extends DealyardError {
  readonly partial: T
  constructor (message: string, partial: T) {
    super(ERR_CBOR_MISSING, message)
    this.partial = partial
  }
}

/** Decodes exactly one top-level item of `bytes` with `read`; trailing bytes are an error. */
export function decodeWith<T> (bytes: Uint8Array, root: string, read: (r: CborReader, path: string) => T, opts: DecodeOptions = {}): T {
  if (!(bytes instanceof Uint8Array)) throw decodeError(root, 'input is not a Uint8Array')
  const max = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  if (bytes.length > max) throw decodeError(root, `message of ${bytes.length} bytes exceeds the ${max}-byte limit`)
  if (bytes.length === 0) throw decodeError(root, 'empty input')
  const r = new CborReader(bytes)
  const v = read(r, root)
  r.end(root)
  if (r.missing !== undefined) throw new MissingFieldError(`${r.missing.path}: missing field ${r.missing.field}`, v)
  if (r.outOfRange !== undefined) {
    const { path, value } = r.outOfRange
    throw new DealyardError(ERR_CBOR_RANGE, `${path}: ${value} is out of range (this provider takes integers up to ±${Number.MAX_SAFE_INTEGER})`)
  }
  return v
}

export function encodeWith<T> (value: T, root: string, write: (w: CborWriter, path: string, v: T) => void): Uint8Array {
  const w = new CborWriter()
  write(w, root, value)
  return w.finish()
}
