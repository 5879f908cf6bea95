// Shared pieces of the transfer tests: a programmable local HTTP data server (node:http on
// loopback), the fixtures, and a recording progress sink.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFileSync, rmSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { ProgressSink, TransferFailure, TransferProgress, TransferSuccess } from '../../../src/transfer/progress.ts'
import { logger } from '../../../src/log.ts'
import { alignDown, openDirect } from '../../../src/transfer/direct-io.ts'

export const fixturesDir = join(import.meta.dirname, '../../fixtures/car')
export const fixture = (name: string): Buffer => readFileSync(join(fixturesDir, name))
export const pieces = JSON.parse(readFileSync(join(fixturesDir, 'pieces.json'), 'utf8')) as Record<string, { pieceCid: string, pieceSize: number, payloadSize: number }>
export const log = logger('transfer-test')
export const loopback = { allowCidrs: ['127.0.0.1/32'], denyCidrs: [] }
export const fast = { backoffMinMs: 5, backoffMaxMs: 20, stallMs: 2000, writeBatchBytes: 128 << 10 }

const made: string[] = []
// Each test file runs in its own process: its staging directories (up to 25 MB each) go when it
// exits, not into the machine's /tmp for good (ten thousand of them piled up over a few weeks).
process.once('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }) })

/** A fresh staging directory, removed when the test process exits. */
export async function tempDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'dealyard-transfer-'))
  made.push(d)
  return d
}

/**
 * Asserts where a download that lost its connection after `dropped` bytes resumed in `dir` (the
 * Range header of the next request). Through the page cache: exactly at `dropped`. With direct I/O
 * (when the filesystem allows it) the writer keeps an unaligned tail in memory while the aligned
 * part before it is still unsent, and a drop discards that tail (downloaded again, so the written
 * prefix, the hasher and the file stay the same length); a tail whose aligned part had already gone
 * out is written through the page cache. Which of the two happens depends on how the reads were
 * cut, so anything from the last aligned offset up to `dropped` is right, and nothing else.
 */
export async function assertResumedAt (range: string | undefined, dir: string, dropped: number): Promise<void> {
  const probe = join(dir, 'direct-probe')
  await writeFile(probe, '')
  const fh = await openDirect(probe)
  await fh?.close()
  const m = /^bytes=(\d+)-$/.exec(range ?? '')
  assert.ok(m !== null, `resume request has Range ${String(range)}`)
  const at = Number(m[1])
  const lowest = fh === undefined ? dropped : alignDown(dropped)
  assert.ok(at >= lowest && at <= dropped, `resumed at ${at}, expected ${lowest === dropped ? dropped : `${lowest}..${dropped}`}`)
}

export interface Seen { range: string | undefined, authorization: string | undefined, url: string }

/** What the server does with request number `i` (0-based); undefined = serve normally. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, i: number) => boolean | undefined

export interface DataServer {
  url: string
  port: number
  seen: Seen[]
  close: () => Promise<void>
}

/**
 * Serves `data` with Range support (206 + Content-Range) and a strong ETag unless told otherwise.
 * `behave` may take over a request (return true) to misbehave.
 */
export async function serve (data: Buffer, opts: { etag?: string | undefined, ignoreRange?: boolean, behave?: Behaviour, chunk?: number } = {}): Promise<DataServer> {
  const seen: Seen[] = []
  const server: Server = createServer((req, res) => {
    const i = seen.length
    seen.push({ range: req.headers.range, authorization: req.headers.authorization, url: req.url ?? '' })
    if (opts.behave?.(req, res, i) === true) return
    sendRange(req, res, data, opts)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/data.car`,
    port,
    seen,
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  }
}

export function sendRange (req: IncomingMessage, res: ServerResponse, data: Buffer, opts: { etag?: string | undefined, ignoreRange?: boolean, dropAfter?: number } = {}): void {
  const etag = 'etag' in opts ? opts.etag : '"v1"'
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
  let start = 0
  let end = data.length - 1
  if (m !== null && opts.ignoreRange !== true) {
    start = Number(m[1])
    if (m[2] !== '') end = Math.min(end, Number(m[2]))
    if (start >= data.length) { res.writeHead(416, { 'content-range': `bytes */${data.length}` }); res.end(); return }
    res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${data.length}`, ...(etag !== undefined ? { etag } : {}) })
  } else {
    res.writeHead(200, { 'content-length': data.length, ...(etag !== undefined ? { etag } : {}) })
  }
  const body = data.subarray(start, end + 1)
  if (opts.dropAfter !== undefined) {
    // Let the client read what was sent before the connection dies, as after a real drop.
    res.write(body.subarray(0, opts.dropAfter), () => { setTimeout(() => res.socket?.destroy(), 30) })
    return
  }
  res.end(body)
}

/** Records every report, as a deal status would receive them. */
export class RecordingSink implements ProgressSink {
  readonly reports: TransferProgress[] = []
  success: TransferSuccess | undefined
  failure: TransferFailure | undefined
  progress (p: TransferProgress): void { this.reports.push(p) }
  async succeeded (r: TransferSuccess): Promise<void> { this.success = r }
  async failed (f: TransferFailure): Promise<void> { this.failure = f }
}

/** Answers a request's Range (or the whole of `data`) with its status and headers; the bytes to send, inclusive. */
export function rangeHead (req: IncomingMessage, res: ServerResponse, data: Buffer): { start: number, end: number } {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
  const start = m !== null ? Number(m[1]) : 0
  const end = m !== null && m[2] !== '' ? Math.min(data.length - 1, Number(m[2])) : data.length - 1
  if (m !== null) res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${data.length}`, etag: '"v1"' })
  else res.writeHead(200, { 'content-length': data.length, etag: '"v1"' })
  return { start, end }
}

/**
 * Takes over every request to serve `data` (honouring Range) at `bytesPerSecond`, paced by the
 * clock: a tick that fires late on a loaded machine sends what is owed, so the rate holds.
 */
export function trickle (data: Buffer, bytesPerSecond: number): Behaviour {
  return (req, res) => {
    const { start, end } = rangeHead(req, res, data)
    const t0 = Date.now()
    let at = start
    const timer = setInterval(() => {
      const due = Math.min(end + 1, start + Math.floor((Date.now() - t0) * bytesPerSecond / 1000))
      if (due > at) { res.write(data.subarray(at, due)); at = due }
      if (at > end) { clearInterval(timer); res.end() }
    }, 10)
    res.on('close', () => { clearInterval(timer) })
    return true
  }
}
