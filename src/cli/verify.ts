/**
 * `dealyard verify`: offline import verification. Computes the piece CID (and CAR index) of an
 * imported file with the same code as a download, checks it against the deal's proposal and
 * reports the result in the deal's status.transfer the same way a download does.
 */
import { isAbsolute, resolve, dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { intFlag, kubeDeals, progressSinks, reportFailure, cliLogger, UsageError } from '../transfer/cli-support.ts'
import type { KubeDeals, DealRef } from '../transfer/kube.ts'
import { commpHasher } from '../transfer/piece-sink.ts'
import { verifyImport } from '../transfer/verify.ts'
import { TransferError, TransferErrorCodes } from '../transfer/errors.ts'
import { cidFlag } from './flags.ts'
import { isPaddedPieceSize } from '../filecoin/commp/sizes.ts'

const usage = `usage: dealyard verify [--deal <ns>/<name>] --file PATH [options]
  --deal NS/NAME       read the StorageDeal (piece CID/size, dataSource) and patch its status
  --file PATH          the imported file (default: the deal's spec.dataSource.path under --out-dir)
  --piece-cid CID      expected piece CID (default: the deal's)
  --piece-size BYTES   padded piece size (default: the deal's)
  --out-dir DIR        staging directory; the index goes here (default: the file's directory)
  --uuid UUID          names the index <uuid>.car.idx (default: the deal's)
  --workers N          CommP hashing threads
  --no-index           do not build the CAR index
  --quiet              no progress bar or progress log lines
`

const options = {
  deal: { type: 'string' },
  file: { type: 'string' },
  'piece-cid': { type: 'string' },
  'piece-size': { type: 'string' },
  'out-dir': { type: 'string' },
  uuid: { type: 'string' },
  workers: { type: 'string' },
  'no-index': { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

export async function runVerify (argv: string[]): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ args: string[], options: typeof options }>>['values']
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false }).values
    if (values.help === true) { process.stdout.write(usage); return 0 }
    if (values.deal === undefined && values.file === undefined) throw new UsageError('--file is required without --deal')
    // Checked before hashing a file that may be tens of GiB, not after.
    if (values['piece-cid'] !== undefined) cidFlag(values['piece-cid'], '--piece-cid', 'as `dealyard commp` prints it')
    if (values['piece-size'] !== undefined && !isPaddedPieceSize(Number(values['piece-size']))) {
      throw new UsageError(`--piece-size must be a padded piece size (a power of two, at least 128), got ${JSON.stringify(values['piece-size'])}`)
    }
  } catch (err) {
    process.stderr.write(`dealyard verify: ${err instanceof Error ? err.message : String(err)}\n${usage}`)
    return 2
  }
  const log = cliLogger('verify')
  try {
    let ref: DealRef | undefined
    let deals: KubeDeals | undefined
    let file = values.file
    // Canonical text (checked above): the piece sink compares it with what it computes.
    let pieceCid = values['piece-cid'] !== undefined ? cidFlag(values['piece-cid'], '--piece-cid') : undefined
    let pieceSize = intFlag(values['piece-size'], '--piece-size')
    let uuid = values.uuid
    let outDir = values['out-dir'] !== undefined ? resolve(values['out-dir']) : undefined
    if (values.deal !== undefined) {
      const k = await kubeDeals()
      ref = k.parseDealRef(values.deal)
      deals = new k.KubeDeals()
      const deal = await deals.deal(ref)
      pieceCid ??= deal.pieceCid
      pieceSize ??= deal.pieceSize
      uuid ??= deal.uuid
      if (file === undefined) {
        if (deal.dataSourcePath === undefined) throw new TransferError(TransferErrorCodes.Import, `deal ${values.deal}: no spec.dataSource.path yet and no --file`)
        file = isAbsolute(deal.dataSourcePath) ? deal.dataSourcePath : resolve(outDir ?? '.', deal.dataSourcePath)
      }
    }
    file = resolve(file!)
    outDir ??= dirname(file)
    const progress = values.quiet === true && ref === undefined
      ? { progress () {}, async succeeded () {}, async failed () {} }
      : await progressSinks({ deals, ref, outDir, log, tty: values.quiet !== true && process.stderr.isTTY })
    const out = await verifyImport({ uuid: uuid ?? 'import', file, outDir, pieceCid, pieceSize, index: values['no-index'] !== true },
      { hasher: commpHasher(intFlag(values.workers, '--workers')), progress, log })
    process.stdout.write(JSON.stringify({ pieceCid: out.pieceCid, file: out.stagedPath, indexPath: out.indexPath ?? null, bytes: out.bytes, seconds: Number(out.seconds.toFixed(3)) }) + '\n')
    return 0
  } catch (err) {
    return reportFailure('verify', err)
  }
}
