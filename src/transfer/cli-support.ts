import { relative } from 'node:path'
import { wholeNumber } from '../cli/numbers.ts'
import { logger, type Logger } from '../log.ts'
import { TransferError, TransferErrorCodes } from './errors.ts'
import type { KubeDeals, DealRef, dealOverrides } from './kube.ts'
import { FanoutProgress, LogProgress, TerminalProgress, type ProgressSink } from './progress.ts'

/** Parses an integer flag of at least `min` (wholeNumber: digits only). */
export function intFlag (v: string | undefined, name: string, max: number = Number.MAX_SAFE_INTEGER, min = 0): number | undefined {
  if (v === undefined) return undefined
  const n = wholeNumber(v)
  if (n === undefined) throw new TransferError(TransferErrorCodes.Params, `${name} must be a non-negative integer, got ${v}`)
  if (n < min) throw new TransferError(TransferErrorCodes.Params, `${name} must be at least ${min}, got ${v}`)
  if (n > max) throw new TransferError(TransferErrorCodes.Params, `${name} must be at most ${max}, got ${v}`)
  return n
}

/**
 * The progress sinks of a CLI run: the deal's status when a deal is named, plus a progress bar on
 * a terminal or log lines otherwise.
 */
export async function progressSinks (opts: { deals: KubeDeals | undefined, ref: DealRef | undefined, outDir: string, log: Logger, tty: boolean }): Promise<ProgressSink> {
  const sinks: ProgressSink[] = [opts.tty ? new TerminalProgress() : new LogProgress(opts.log)]
  if (opts.deals !== undefined && opts.ref !== undefined) {
    const { KubeStatusSink } = await import('./kube.ts')
    sinks.push(new KubeStatusSink(opts.deals.rest, opts.ref, (p) => relative(opts.outDir, p)))
  }
  return new FanoutProgress(sinks)
}

/**
 * The kube client is loaded only for `--deal`: @kubernetes/client-node takes about half a second
 * to import, which a person running the command on a file should not pay.
 */
export async function kubeDeals (): Promise<{ KubeDeals: typeof KubeDeals, parseDealRef: (s: string) => DealRef, dealOverrides: typeof dealOverrides }> {
  const m = await import('./kube.ts')
  return { KubeDeals: m.KubeDeals, parseDealRef: m.parseDealRef, dealOverrides: m.dealOverrides }
}

/** One clear line on stderr for a failure; returns the exit code 1. */
export function reportFailure (command: string, err: unknown): number {
  const code = (err as { code?: string }).code
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`dealyard ${command}: ${message}${code !== undefined ? ` (${code})` : ''}\n`)
  return 1
}

export class UsageError extends Error {}

export function cliLogger (component: string): Logger { return logger(component) }
