import { multiaddr } from '@multiformats/multiaddr'
import type { CborReader } from './cbor/reader.ts'
import type { CborWriter } from './cbor/writer.ts'
import { decodeWith, encodeWith } from './codec.ts'
import type { DecodeOptions, TransportProtocol, TransportsQueryResponse } from './types.ts'

/*
 * /fil/retrieval/transports/1.0.0 QueryResponse. Boost writes it with go-ipld-prime bindnode +
 * dag-cbor over retrievalmarket/types/transports.ipldsch, so keys are sorted length-first
 * ({"Name", "Addresses"}). bindnode refuses unknown and missing struct fields, and so does this
 * decoder; each address must parse as a binary multiaddr (boost converts them with
 * multiaddr.NewMultiaddrBytes).
 */

function readStrictStruct (r: CborReader, path: string, fields: Record<string, (p: string) => void>): void {
  const n = r.mapHeader(path)
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const k = r.key(path)
    const f = Object.hasOwn(fields, k) ? fields[k] : undefined
    if (f === undefined) r.fail(`${path}.${k}`, 'unknown field')
    if (seen.has(k)) r.fail(`${path}.${k}`, 'repeated field')
    seen.add(k)
    f(`${path}.${k}`)
  }
  for (const k of Object.keys(fields)) if (!seen.has(k)) r.fail(path, `missing field ${k}`)
}

function readList (r: CborReader, path: string, item: (p: string) => void): void {
  const got = r.describe()
  r.header(path)
  if (r.major !== 4) r.fail(path, `expected array, got ${got}`)
  const n = r.value
  if (n > r.buf.length - r.pos) r.fail(path, `array of ${n} items is longer than the input`)
  for (let i = 0; i < n; i++) item(`${path}[${i}]`)
}

function readProtocol (r: CborReader, path: string): TransportProtocol {
  const v: TransportProtocol = { name: '', addresses: [] }
  readStrictStruct(r, path, {
    Name: (p) => { v.name = r.text(p) },
    Addresses: (p) => {
      readList(r, p, (ap) => {
        const b = r.bytes(ap)
        try { multiaddr(b) } catch (err) { r.fail(ap, `invalid multiaddr: ${(err as Error).message}`, err) }
        v.addresses.push(b)
      })
    }
  })
  return v
}

export function readTransportsQueryResponse (r: CborReader, path: string): TransportsQueryResponse {
  const v: TransportsQueryResponse = { protocols: [] }
  readStrictStruct(r, path, {
    Protocols: (p) => { readList(r, p, (pp) => { v.protocols.push(readProtocol(r, pp)) }) }
  })
  return v
}

export function writeTransportsQueryResponse (w: CborWriter, path: string, v: TransportsQueryResponse): void {
  w.header(5, 1).key('Protocols').header(4, v.protocols.length)
  v.protocols.forEach((p, i) => {
    w.header(5, 2).key('Name').text(`${path}.Protocols[${i}].Name`, p.name, Number.MAX_SAFE_INTEGER)
    w.key('Addresses').header(4, p.addresses.length)
    p.addresses.forEach((a, j) => { w.bytes(`${path}.Protocols[${i}].Addresses[${j}]`, a) })
  })
}

export const encodeTransportsQueryResponse = (v: TransportsQueryResponse): Uint8Array => encodeWith(v, 'QueryResponse', writeTransportsQueryResponse)
export const decodeTransportsQueryResponse = (b: Uint8Array, o?: DecodeOptions): TransportsQueryResponse => decodeWith(b, 'QueryResponse', readTransportsQueryResponse, o)
