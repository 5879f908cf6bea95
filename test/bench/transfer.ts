/**
 * Transfer benchmark (`npm run bench transfer [--size MiB] [--rounds N] [--server go|node]`): a
 * local HTTP server in its own process serves a CAR of 2 GiB by default (1 MiB raw blocks, kept
 * under $DEALYARD_CACHE/bench). The default server is Go's net/http (tools/fileserver: Range, ETag,
 * sendfile), as production data sources are; `--server node` is node:http piping fs streams, which
 * spends ~1.4 CPU-s per 2 GiB of the two cores the contenders also need. In the same run, interleaved, `curl -o` and
 * `dealyard transfer` (CommP + CAR index on the way, same staging directory) download it; the best
 * round of each is kept (the machine is shared). dealyard fsyncs the file before it reports
 * success and curl does not, so curl is also timed as `curl -o f && sync f` (coreutils sync of
 * that one file: an fsync): the ratio is printed against both. The piece CID is checked against
 * `dealyard verify` of the source file.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { closeSync, existsSync, openSync, renameSync, rmSync, statSync, writeSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { encode as encodeCbor } from '@ipld/dag-cbor'
import { encodeUvarint } from '../../src/index/car/varint.ts'
import { benchDataDir, procStat, TICK_MS } from './support.ts'

const { values } = parseArgs({ options: { size: { type: 'string' }, rounds: { type: 'string' }, server: { type: 'string' } } })
const serverKind = values.server ?? 'go'
if (serverKind !== 'go' && serverKind !== 'node') throw new Error(`--server must be go or node, got ${serverKind}`)
const sizeMiB = Number(values.size ?? 2048)
const rounds = Number(values.rounds ?? 2)
const root = new URL('../../', import.meta.url).pathname

/** A CARv1 of `sizeMiB` MiB of 1 MiB random raw blocks (CIDs are the blocks' real sha2-256). */
function ensureCar (): string {
  const file = join(benchDataDir(), `transfer-${sizeMiB}MiB.car`)
  if (existsSync(file)) return file
  console.log(`# writing a ${sizeMiB} MiB CAR to ${file}`)
  const block = Buffer.alloc(1 << 20)
  const cidOf = (b: Buffer): CID => CID.create(1, 0x55, createDigest(0x12, createHash('sha256').update(b).digest()))
  const fd = openSync(`${file}.tmp`, 'w')
  randomFillSync(block)
  const header = encodeCbor({ roots: [cidOf(block)], version: 1 })
  writeSync(fd, encodeUvarint(header.length)); writeSync(fd, header)
  for (let i = 0; i < sizeMiB; i++) {
    randomFillSync(block, 0, 4096) // distinct blocks, cheaply
    const cid = cidOf(block).bytes
    writeSync(fd, encodeUvarint(cid.length + block.length)); writeSync(fd, cid); writeSync(fd, block)
  }
  closeSync(fd)
  renameSync(`${file}.tmp`, file)
  return file
}

const serverScript = `
const http = require('node:http'), fs = require('node:fs')
const file = process.argv[1], size = fs.statSync(file).size
http.createServer((req, res) => {
  const m = /^bytes=(\\d+)-$/.exec(req.headers.range || '')
  const start = m ? Number(m[1]) : 0
  res.writeHead(m ? 206 : 200, { 'content-length': size - start, etag: '"bench"', ...(m ? { 'content-range': 'bytes ' + start + '-' + (size - 1) + '/' + size } : {}) })
  fs.createReadStream(file, { start, highWaterMark: 1 << 20 }).pipe(res)
}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n') })`

async function startServer (file: string): Promise<{ url: string, child: ChildProcess }> {
  const child = serverKind === 'node'
    ? spawn(process.execPath, ['-e', serverScript, file], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(execFileSync(join(root, 'tools/fileserver/build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim(), ['-file', file], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => { resolve(d.toString().trim()) }))
  return { url: `http://127.0.0.1:${port}/data.car`, child }
}

function timed (cmd: string, args: string[]): { seconds: number, stdout: string } {
  const t0 = performance.now()
  const stdout = execFileSync(cmd, args, { cwd: root, env: { ...process.env, DEALYARD_LOG_LEVEL: 'warn' }, encoding: 'utf8', maxBuffer: 1 << 20 })
  return { seconds: (performance.now() - t0) / 1000, stdout }
}

const file = ensureCar()
const size = statSync(file).size
const pieceSize = 2 ** Math.ceil(Math.log2(Math.ceil(size / 127) * 128))
const staging = mkdtempSync(join(tmpdir(), 'dealyard-bench-transfer-'))
const { url, child } = await startServer(file)
console.log(`# ${size} bytes served by the ${serverKind} server at ${url}; staging ${staging}; piece size ${pieceSize}`)
/** CPU seconds a process has used (user + system). */
const cpuSeconds = (pid: number): number => procStat(pid).cpuTicks * TICK_MS / 1000
let bestCurl = Infinity
let bestCurlSync = Infinity
let bestOurs = Infinity
let bestInside = Infinity
let pieceCid = ''
try {
  for (let r = 1; r <= rounds; r++) {
    const out = join(staging, 'curl.car')
    const s0 = cpuSeconds(child.pid!)
    const c = timed('curl', ['-sS', '-o', out, url])
    const s1 = cpuSeconds(child.pid!)
    const cs = timed('sync', [out])
    if (statSync(out).size !== size) throw new Error('curl: short file')
    rmSync(out)
    bestCurl = Math.min(bestCurl, c.seconds)
    bestCurlSync = Math.min(bestCurlSync, c.seconds + cs.seconds)
    const d = timed(process.execPath, ['src/cli/main.ts', 'transfer', '--url', url, '--size', String(size), '--piece-size', String(pieceSize), '--out-dir', staging,
      '--uuid', `bench-${r}`, '--allow-cidr', '127.0.0.0/8', '--quiet'])
    const res = JSON.parse(d.stdout) as { pieceCid: string, indexPath: string | null, seconds: number }
    bestInside = Math.min(bestInside, res.seconds)
    if (res.indexPath === null) throw new Error('no index written')
    if (pieceCid !== '' && res.pieceCid !== pieceCid) throw new Error('piece CID differs between rounds')
    pieceCid = res.pieceCid
    rmSync(join(staging, `bench-${r}.car`)); rmSync(join(staging, `bench-${r}.car.idx`))
    bestOurs = Math.min(bestOurs, d.seconds)
    const s2 = cpuSeconds(child.pid!)
    console.log(`round ${r}: curl ${c.seconds.toFixed(2)} s (+ sync ${cs.seconds.toFixed(2)} s), dealyard transfer ${d.seconds.toFixed(2)} s (${res.seconds.toFixed(2)} s inside the process); server CPU ${(s1 - s0).toFixed(2)} s / ${(s2 - s1).toFixed(2)} s`)
  }
} finally {
  child.kill()
  rmSync(staging, { recursive: true, force: true })
}
const verify = `import('./src/cli/verify.ts').then((m) => m.runVerify(process.argv.slice(1))).then((c) => { process.exitCode = c })`
const v = JSON.parse(timed(process.execPath, ['-e', verify, '--', '--file', file, '--piece-size', String(pieceSize), '--no-index', '--quiet', '--out-dir', tmpdir()]).stdout) as { pieceCid: string }
if (v.pieceCid !== pieceCid) throw new Error(`piece CID mismatch: transfer ${pieceCid}, verify ${v.pieceCid}`)
const mib = size / 2 ** 20
console.log(`curl -o:            ${(mib / bestCurl).toFixed(0)} MiB/s (${bestCurl.toFixed(2)} s)`)
console.log(`curl -o && sync f:  ${(mib / bestCurlSync).toFixed(0)} MiB/s (${bestCurlSync.toFixed(2)} s, same durability as dealyard)`)
console.log(`dealyard transfer:  ${(mib / bestOurs).toFixed(0)} MiB/s (${bestOurs.toFixed(2)} s, CommP + CAR index, process wall time)`)
console.log(`                    ${(mib / bestInside).toFixed(0)} MiB/s (${bestInside.toFixed(2)} s inside the process, without Node startup)`)
console.log(`ratio transfer/curl:        ${(bestCurl / bestOurs).toFixed(2)}x wall, ${(bestCurl / bestInside).toFixed(2)}x inside (goal >= 0.9x)`)
console.log(`ratio transfer/(curl+sync): ${(bestCurlSync / bestOurs).toFixed(2)}x wall, ${(bestCurlSync / bestInside).toFixed(2)}x inside; piece CID ${pieceCid}`)
