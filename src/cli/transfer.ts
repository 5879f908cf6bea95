/**
 * `dealyard transfer`: download one deal's data into the staging directory with resume, computing
 * its CommP and CAR index on the way. Runs in a transfer Job (with `--deal`, reading the deal, its
 * provider and its params Secret, and patching the deal's status.transfer) or in a terminal
 * without any cluster (with `--url`/`--params-file` and the sizes as flags).
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { TransferHostPolicy } from '../policy/transfer-host.ts'
import { parseCidr } from '../policy/transfer-host.ts'
import { intFlag, kubeDeals, progressSinks, reportFailure, cliLogger, UsageError } from '../transfer/cli-support.ts'
import type { Logger } from '../log.ts'
import type { KubeDeals, DealRef } from '../transfer/kube.ts'
import { checkHeader, parseHeaderFlag, parseTransferParams } from '../transfer/params.ts'
import { MAX_TIMER_SECONDS } from '../api/common.ts'
import { cidFlag, usageMessage } from './flags.ts'
import { isPaddedPieceSize } from '../filecoin/commp/sizes.ts'
import { commpHasher } from '../transfer/piece-sink.ts'
import { runTransferJob, type TransferJobSpec } from '../transfer/run.ts'
import { TransferError, TransferErrorCodes } from '../transfer/errors.ts'
import type { DownloadTuning } from '../transfer/download.ts'

const usage = `usage: dealyard transfer [--deal <ns>/<name>] [options]
  --deal NS/NAME        read the StorageDeal, its params Secret and StorageProvider; patch its status
  --url URL             data URL (instead of the deal's params Secret)
  --header 'K: V'       request header, repeatable
  --params-file PATH    boost transfer Params JSON ({"URL":…,"Headers":{…}})
  --size BYTES          declared transfer size (0 = unknown)
  --piece-cid CID       expected piece CID (checked at the end)
  --piece-size BYTES    padded piece size of the proposal
  --out-dir DIR         staging directory (default .)
  --uuid UUID           deal UUID naming the staged files (default: the deal's)
  --allow-cidr CIDR     allow a range the default policy refuses, repeatable (e.g. 127.0.0.0/8)
  --deny-cidr CIDR      refuse a range (cluster service/pod CIDRs), repeatable; inside an allowed
                        range too when as narrow or narrower (the narrower range decides)
  --stall-timeout S     reconnect after S seconds without a byte (default 60)
  --deadline S          fail after S seconds in total (default 86400)
  --min-rate B          reconnect when under B bytes/s over the stall timeout, all connections
                        together; 0 = off (default 65536)
  --max-attempts N      failed attempts in a row before giving up (default 15)
  --workers N           CommP hashing threads (default: all cores, at most 8)
  --connections N       parallel range requests for files of at least N x 64 MiB (default 1)
  --range-min-bytes B   smallest range worth its own connection (default 67108864)
  --no-index            do not build the CAR index
  --no-direct-io        write through the page cache even where O_DIRECT works
  --quiet               no progress bar or progress log lines
`

const options = {
  deal: { type: 'string' },
  url: { type: 'string' },
  header: { type: 'string', multiple: true },
  'params-file': { type: 'string' },
  size: { type: 'string' },
  'piece-cid': { type: 'string' },
  'piece-size': { type: 'string' },
  'out-dir': { type: 'string' },
  uuid: { type: 'string' },
  'allow-cidr': { type: 'string', multiple: true },
  'deny-cidr': { type: 'string', multiple: true },
  'stall-timeout': { type: 'string' },
  deadline: { type: 'string' },
  'min-rate': { type: 'string' },
  'max-attempts': { type: 'string' },
  workers: { type: 'string' },
  connections: { type: 'string' },
  'range-min-bytes': { type: 'string' },
  'no-index': { type: 'boolean' },
  'no-direct-io': { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

type Values = ReturnType<typeof parseArgs<{ args: string[], options: typeof options }>>['values']

export async function runTransfer (argv: string[]): Promise<number> {
  let values: Values
  let nums: NumberFlags
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false }).values
    if (values.help === true) { process.stdout.write(usage); return 0 }
    if (values.deal === undefined && values.url === undefined && values['params-file'] === undefined) throw new UsageError('one of --deal, --url or --params-file is required')
    for (const c of [...values['allow-cidr'] ?? [], ...values['deny-cidr'] ?? []]) parseCidr(c)
    if (values['piece-cid'] !== undefined) cidFlag(values['piece-cid'], '--piece-cid', 'as `dealyard commp` prints it')
    for (const h of values.header ?? []) parseHeaderFlag(h)
    // Every number flag is a usage mistake here (exit 2), as the others are, not a failed run later.
    nums = numberFlags(values)
    if (nums.pieceSize !== undefined && !isPaddedPieceSize(nums.pieceSize)) {
      throw new UsageError(`--piece-size must be a padded piece size (a power of two, at least 128), got ${JSON.stringify(values['piece-size'])}`)
    }
  } catch (err) {
    process.stderr.write(`dealyard transfer: ${usageMessage(err)}\n${usage}`)
    return 2
  }
  const log = cliLogger('transfer')
  const outDir = resolve(values['out-dir'] ?? '.')
  let ref: DealRef | undefined
  let deals: KubeDeals | undefined
  try {
    const job = await buildJob(values, nums, outDir, log, (r, d) => { ref = r; deals = d })
    const workers = nums.workers
    const progress = values.quiet === true && ref === undefined
      ? { progress () {}, async succeeded () {}, async failed () {} }
      : await progressSinks({ deals, ref, outDir, log, tty: values.quiet !== true && process.stderr.isTTY })
    const out = await runTransferJob(job, { hasher: commpHasher(workers), progress, log })
    process.stdout.write(JSON.stringify({ pieceCid: out.pieceCid, stagedPath: out.stagedPath, indexPath: out.indexPath ?? null, bytes: out.bytes, attempts: out.attempts, seconds: Number(out.seconds.toFixed(3)) }) + '\n')
    return 0
  } catch (err) {
    return reportFailure('transfer', err)
  }
}

/** The number flags, read once, with their bounds (an error names the flag). */
function numberFlags (v: Values) {
  return {
    workers: intFlag(v.workers, '--workers'),
    size: intFlag(v.size, '--size'),
    pieceSize: intFlag(v['piece-size'], '--piece-size'),
    // 0 s would drop every connection at once, and fail every transfer at once.
    stall: intFlag(v['stall-timeout'], '--stall-timeout', MAX_TIMER_SECONDS, 1),
    deadline: intFlag(v.deadline, '--deadline', MAX_TIMER_SECONDS, 1),
    minRate: intFlag(v['min-rate'], '--min-rate'),
    attempts: intFlag(v['max-attempts'], '--max-attempts', Number.MAX_SAFE_INTEGER, 1),
    connections: intFlag(v.connections, '--connections'),
    rangeMin: intFlag(v['range-min-bytes'], '--range-min-bytes')
  }
}
type NumberFlags = ReturnType<typeof numberFlags>

async function buildJob (v: Values, n: NumberFlags, outDir: string, log: Logger, onDeal: (ref: DealRef, deals: KubeDeals) => void): Promise<TransferJobSpec> {
  let url = v.url
  let headers: Record<string, string> = {}
  let size = n.size
  // In its canonical text (checked with the usage, before a download that may take hours).
  let pieceCid = v['piece-cid'] !== undefined ? cidFlag(v['piece-cid'], '--piece-cid') : undefined
  let pieceSize = n.pieceSize
  let uuid = v.uuid
  const policy: TransferHostPolicy = { allowCidrs: [...v['allow-cidr'] ?? []], denyCidrs: [...v['deny-cidr'] ?? []] }
  const tuning: Partial<DownloadTuning> = {}
  if (v.deal !== undefined) {
    const k = await kubeDeals()
    const ref = k.parseDealRef(v.deal)
    const deals = new k.KubeDeals()
    onDeal(ref, deals)
    const deal = await deals.deal(ref)
    if (deal.transferType === '') throw new TransferError(TransferErrorCodes.Params, `deal ${ref.namespace}/${ref.name} is offline: use dealyard verify`)
    const overrides = k.dealOverrides(deal, { uuid, size, pieceCid, pieceSize })
    if (overrides.length > 0) log.warn({ deal: `${ref.namespace}/${ref.name}`, overrides }, `flags override deal ${ref.namespace}/${ref.name}: ${overrides.join(', ')}; this run keeps its files on a failure`)
    uuid ??= deal.uuid
    size ??= deal.transferSize
    pieceCid ??= deal.pieceCid
    pieceSize ??= deal.pieceSize
    if (url === undefined && v['params-file'] === undefined) {
      if (deal.paramsSecret === undefined) throw new TransferError(TransferErrorCodes.Params, `deal ${ref.namespace}/${ref.name}: spec.transfer.paramsSecretRef missing`)
      const params = parseTransferParams(await deals.params(ref.namespace, deal.paramsSecret))
      url = params.url
      headers = params.headers
    }
    if (deal.provider !== undefined) {
      const p = await deals.provider(deal.provider)
      policy.allowCidrs = [...p.policy.allowCidrs, ...policy.allowCidrs]
      policy.denyCidrs = [...p.policy.denyCidrs, ...policy.denyCidrs]
      // Clamped as the CRD bounds them: a StorageProvider stored before the bound may hold more.
      if (p.stallTimeoutSeconds !== undefined) tuning.stallMs = Math.min(p.stallTimeoutSeconds, MAX_TIMER_SECONDS) * 1000
      if (p.deadlineSeconds !== undefined) tuning.deadlineMs = Math.min(p.deadlineSeconds, MAX_TIMER_SECONDS) * 1000
      if (p.minBytesPerSecond !== undefined) tuning.minBytesPerSecond = p.minBytesPerSecond
    }
  }
  if (v['params-file'] !== undefined) {
    const params = parseTransferParams(await readFile(v['params-file']))
    url ??= params.url
    headers = { ...params.headers }
    // An operator's file: a typo is refused now, not as a fatal failure of the run that would
    // delete the partial download it was about to resume.
    for (const [k, val] of Object.entries(headers)) checkHeader(k, val, `--params-file ${v['params-file']}`)
  }
  for (const h of v.header ?? []) {
    const [k, val] = parseHeaderFlag(h)
    headers[k] = val
  }
  if (n.stall !== undefined) tuning.stallMs = n.stall * 1000
  if (n.deadline !== undefined) tuning.deadlineMs = n.deadline * 1000
  if (n.minRate !== undefined) {
    tuning.minBytesPerSecond = n.minRate
    tuning.minRateSetting = '--min-rate'
  }
  if (n.attempts !== undefined) tuning.maxAttempts = n.attempts
  if (n.connections !== undefined) tuning.connections = Math.max(1, Math.min(16, n.connections))
  if (n.rangeMin !== undefined) tuning.rangeMinBytes = Math.max(1, n.rangeMin)
  if (v['no-direct-io'] === true) tuning.directIo = false
  if (url === undefined) throw new TransferError(TransferErrorCodes.Params, 'no data URL')
  uuid ??= `transfer-${Date.now()}`
  // Only a --deal run whose inputs no flag overrides may delete files on a fatal failure: an
  // operator's flags may be what is wrong, and the partial or staged file the only copy of the data.
  const overridden = ['url', 'params-file', 'header', 'size', 'piece-cid', 'piece-size', 'uuid'].some((f) => v[f as keyof Values] !== undefined)
  return { uuid, outDir, url, headers, size: size ?? 0, pieceCid, pieceSize, policy, tuning, index: v['no-index'] !== true, inputsFromDeal: v.deal !== undefined && !overridden }
}
