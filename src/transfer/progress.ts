import type { Logger } from '../log.ts'

/** What `status.transfer` shows while bytes arrive. */
export interface TransferProgress {
  bytesReceived: number
  totalBytes: number
  rateBytesPerSecond: number
  attempt: number
  lastUpdate: Date
}

export interface TransferSuccess { pieceCid: string, stagedPath: string, indexPath: string | undefined }
export interface TransferFailure { message: string, code: string }

/**
 * Where progress and the outcome go: the deal's status (kube sink), a terminal progress bar, or
 * log lines. Sinks may be slow (an API call); callers do not wait on `progress`.
 */
export interface ProgressSink {
  progress (p: TransferProgress): void | Promise<void>
  succeeded (r: TransferSuccess, p: TransferProgress): Promise<void>
  failed (f: TransferFailure, p: TransferProgress): Promise<void>
}

/** Formats bytes as a short binary size (1.5 GiB). */
export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

export function percent (p: Pick<TransferProgress, 'bytesReceived' | 'totalBytes'>): string {
  if (p.totalBytes <= 0) return '0%'
  return `${Math.min(100, Math.floor((p.bytesReceived / p.totalBytes) * 100))}%`
}

/**
 * Turns a stream of byte counts into at most one report per `intervalMs` (the API server should
 * see about one status write a second, not one per buffer), with the rate measured over the
 * interval. A report still in flight is not stacked: the next one waits for the following tick.
 */
export class ProgressThrottle {
  private readonly sink: ProgressSink
  private readonly intervalMs: number
  private readonly now: () => number
  private lastAt = -Infinity
  private lastBytes = 0
  private rate = 0
  private inFlight = false
  private latest: TransferProgress = { bytesReceived: 0, totalBytes: 0, rateBytesPerSecond: 0, attempt: 1, lastUpdate: new Date(0) }
  private readonly startAt: number
  private readonly startBytes: number

  constructor (sink: ProgressSink, opts: { intervalMs?: number, now?: () => number, startBytes?: number } = {}) {
    this.sink = sink
    this.intervalMs = opts.intervalMs ?? 1000
    this.now = opts.now ?? Date.now
    this.startAt = this.now()
    this.startBytes = opts.startBytes ?? 0
    this.lastBytes = this.startBytes
    // A resumed run starts from the bytes kept, not from 0: a run that fails before its first
    // report would otherwise report 0 received, and a rate below zero the apiserver refuses.
    this.latest = { ...this.latest, bytesReceived: this.startBytes }
  }

  update (bytes: number, total: number, attempt: number): void {
    const t = this.now()
    this.latest = { ...this.latest, bytesReceived: bytes, totalBytes: total, attempt }
    if (t - this.lastAt < this.intervalMs || this.inFlight) return
    if (Number.isFinite(this.lastAt) && t > this.lastAt) this.rate = Math.max(0, Math.round((bytes - this.lastBytes) * 1000 / (t - this.lastAt)))
    this.lastAt = t
    this.lastBytes = bytes
    const p = { ...this.latest, rateBytesPerSecond: this.rate, lastUpdate: new Date(t) }
    this.latest = p
    this.inFlight = true
    Promise.resolve().then(async () => { await this.sink.progress(p) }).catch(() => {}).finally(() => { this.inFlight = false })
  }

  /** The last numbers, with the rate averaged over the whole run. */
  final (): TransferProgress {
    const t = this.now()
    const secs = (t - this.startAt) / 1000
    // Never below zero: a server that started over from byte 0 leaves fewer bytes than the run began with.
    const rate = secs > 0 ? Math.max(0, Math.round((this.latest.bytesReceived - this.startBytes) / secs)) : 0
    return { ...this.latest, rateBytesPerSecond: rate, lastUpdate: new Date(t) }
  }
}

/** A progress bar on a terminal (stderr), redrawn in place. */
export class TerminalProgress implements ProgressSink {
  private readonly out: NodeJS.WriteStream
  constructor (out: NodeJS.WriteStream = process.stderr) { this.out = out }

  progress (p: TransferProgress): void {
    const width = 30
    const frac = p.totalBytes > 0 ? Math.min(1, p.bytesReceived / p.totalBytes) : 0
    const done = Math.round(frac * width)
    const bar = '#'.repeat(done) + '.'.repeat(width - done)
    const retry = p.attempt > 1 ? ` attempt ${p.attempt}` : ''
    this.out.write(`\r[${bar}] ${percent(p).padStart(4)} ${formatBytes(p.bytesReceived)}/${formatBytes(p.totalBytes)} ${formatBytes(p.rateBytesPerSecond)}/s${retry}\x1b[K`)
  }

  async succeeded (r: TransferSuccess, p: TransferProgress): Promise<void> {
    this.progress(p)
    this.out.write(`\n${r.pieceCid} ${r.stagedPath}\n`)
  }

  async failed (f: TransferFailure, p: TransferProgress): Promise<void> {
    this.progress(p)
    this.out.write('\n')
  }
}

/** Periodic log lines, for a pod's log or a pipe. */
export class LogProgress implements ProgressSink {
  private readonly log: Logger
  private readonly everyMs: number
  private last = -Infinity
  constructor (log: Logger, everyMs = 10_000) { this.log = log; this.everyMs = everyMs }

  progress (p: TransferProgress): void {
    if (p.lastUpdate.getTime() - this.last < this.everyMs) return
    this.last = p.lastUpdate.getTime()
    this.log.info({ bytesReceived: p.bytesReceived, totalBytes: p.totalBytes, rateBytesPerSecond: p.rateBytesPerSecond, attempt: p.attempt }, `transfer ${percent(p)}`)
  }

  async succeeded (r: TransferSuccess, p: TransferProgress): Promise<void> {
    this.log.info({ ...r, bytesReceived: p.bytesReceived, rateBytesPerSecond: p.rateBytesPerSecond }, 'transfer complete')
  }

  async failed (f: TransferFailure, p: TransferProgress): Promise<void> {
    this.log.error({ errorCode: f.code, bytesReceived: p.bytesReceived }, f.message)
  }
}

/** Sends every report to several sinks (the deal status and the terminal). */
export class FanoutProgress implements ProgressSink {
  private readonly sinks: ProgressSink[]
  constructor (sinks: ProgressSink[]) { this.sinks = sinks }
  async progress (p: TransferProgress): Promise<void> { await Promise.allSettled(this.sinks.map(async (s) => { await s.progress(p) })) }
  async succeeded (r: TransferSuccess, p: TransferProgress): Promise<void> { await Promise.all(this.sinks.map(async (s) => { await s.succeeded(r, p) })) }
  async failed (f: TransferFailure, p: TransferProgress): Promise<void> { await Promise.all(this.sinks.map(async (s) => { await s.failed(f, p) })) }
}
