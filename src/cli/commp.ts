/**
 * `dealyard commp <file|-> [--workers N] [--padded-size BYTES] [--json]`: the piece commitment of a
 * file (or stdin), with the v1 piece CID deals use, the FRC-0069 v2 CID, sizes and throughput.
 */
import { stdin } from 'node:process'
import { parseArgs } from 'node:util'
import { CommPHasher, commpImplementation, commpOfFile, type CommPResult } from '../filecoin/commp/index.ts'

const usage = 'usage: dealyard commp <file|-> [--workers N] [--padded-size BYTES] [--json]\n' +
  '  --workers N        hashing threads (0/1: this thread; default: all cores)\n' +
  '  --padded-size B    zero-pad to this padded piece size (a power of two ≥ 128)\n' +
  '  --json             one JSON object instead of text\n'

async function fromStdin (workers: number | undefined, padded: number | undefined): Promise<CommPResult> {
  const hasher = new CommPHasher(workers !== undefined ? { workers } : {})
  for await (const chunk of stdin) hasher.update(chunk as Buffer)
  return hasher.digest(padded)
}

function parseSize (v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`${name} must be a non-negative integer, got ${v}`)
  return n
}

export async function runCommp (argv: string[]): Promise<number> {
  let file: string
  let workers: number | undefined
  let padded: number | undefined
  let json: boolean
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        workers: { type: 'string', short: 'w' },
        'padded-size': { type: 'string', short: 'p' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    })
    if (values.help === true) { process.stdout.write(usage); return 0 }
    if (positionals.length !== 1) throw new TypeError('expected exactly one file (or - for stdin)')
    file = positionals[0]!
    workers = parseSize(values.workers, '--workers')
    padded = parseSize(values['padded-size'], '--padded-size')
    json = values.json === true
  } catch (err) {
    process.stderr.write(`dealyard commp: ${err instanceof Error ? err.message : String(err)}\n${usage}`)
    return 2
  }
  const impl = commpImplementation()
  const t0 = performance.now()
  let r: CommPResult
  try {
    r = file === '-'
      ? await fromStdin(workers, padded)
      : await commpOfFile(file, { ...(workers !== undefined ? { workers } : {}), ...(padded !== undefined ? { paddedPieceSize: padded } : {}) })
  } catch (err) {
    const code = (err as { code?: string }).code
    process.stderr.write(`dealyard commp: ${err instanceof Error ? err.message : String(err)}${code !== undefined ? ` (${code})` : ''}\n`)
    return 1
  }
  const seconds = (performance.now() - t0) / 1000
  const mibps = r.payloadSize / 2 ** 20 / Math.max(seconds, 1e-9)
  if (json) {
    process.stdout.write(JSON.stringify({
      pieceCid: r.pieceCid,
      pieceCidV2: r.pieceCidV2,
      payloadSize: r.payloadSize,
      paddedPieceSize: r.paddedPieceSize,
      implementation: impl,
      seconds: Number(seconds.toFixed(4)),
      mibPerSecond: Number(mibps.toFixed(1))
    }) + '\n')
  } else {
    process.stdout.write(
      `PieceCID:        ${r.pieceCid}\n` +
      `PieceCID v2:     ${r.pieceCidV2}\n` +
      `Payload size:    ${r.payloadSize}\n` +
      `Padded size:     ${r.paddedPieceSize}\n` +
      `Throughput:      ${mibps.toFixed(1)} MiB/s (${impl}, ${seconds.toFixed(3)} s)\n`)
  }
  return 0
}
