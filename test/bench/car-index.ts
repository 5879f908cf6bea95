/**
 * CAR index memory and time (`npm run bench car-index [blocks]`, 3,000,000 by default): a CARv1
 * of that many distinct 4-byte raw blocks (sha2-256 CIDv1, 41 bytes a section; kept under
 * $DEALYARD_CACHE/bench) read in 1 MiB chunks, first only read (the reference), then through
 * CarBlockIndexer, the hand-over to another thread (postMessage with the chunks transferred)
 * and the MultihashIndexSorted encoder, as the transfer's hash thread and finalize.ts do. Memory
 * is set against the index's own size, N × (32 + 8) bytes: the table, the sort's arrays and the
 * encoded index are each about that, so a peak of a few times it is the floor of this design; one
 * object per block was ~420 bytes a block (4.5 GB RSS, 35 s for 3M blocks in `dealyard transfer`).
 */
import { createHash } from 'node:crypto'
import { closeSync, existsSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads'
import { CarBlockIndexer, RecordTable, indexFromRecords, type RecordTableData } from '../../src/index/car/index.ts'
import { benchDataDir } from './support.ts'

const blocks = Number(process.argv[2] ?? 3_000_000)
if (!Number.isSafeInteger(blocks) || blocks < 1) throw new Error(`usage: npm run bench car-index [blocks]; got ${process.argv[2]}`)
const SECTION = 41
const DIGEST = 32
const CHUNK = 1 << 20

function carHeader (): Buffer {
  const root = Buffer.concat([Buffer.from([0, 1, 0x55, 0x12, 0x20]), createHash('sha256').update('root').digest()])
  const hdr = Buffer.concat([Buffer.from([0xa2, 0x65, ...Buffer.from('roots'), 0x81, 0xd8, 0x2a, 0x58, root.length]), root, Buffer.from([0x67, ...Buffer.from('version'), 1])])
  return Buffer.concat([Buffer.from([hdr.length]), hdr])
}

function ensureCar (): string {
  const header = carHeader()
  const file = join(benchDataDir(), `car-index-${blocks}-tiny.car`)
  if (existsSync(file) && statSync(file).size === header.length + blocks * SECTION) return file
  console.log(`# writing a CAR of ${blocks} 4-byte blocks to ${file}`)
  const fd = openSync(file + '.tmp', 'w')
  writeSync(fd, header)
  const batch = 25_000
  const buf = Buffer.alloc(SECTION * batch)
  const data = Buffer.alloc(4)
  for (let i = 0; i < blocks; i += batch) {
    const n = Math.min(batch, blocks - i)
    for (let j = 0; j < n; j++) {
      const o = j * SECTION
      data.writeUInt32LE(i + j)
      buf[o] = SECTION - 1
      buf.set([1, 0x55, 0x12, 0x20], o + 1)
      createHash('sha256').update(data).digest().copy(buf, o + 5)
      data.copy(buf, o + 5 + 4 + DIGEST)
    }
    writeSync(fd, buf, 0, n * SECTION)
  }
  closeSync(fd)
  renameSync(file + '.tmp', file)
  return file
}

const MiB = 2 ** 20
let heapPeak = 0
function sample (): void {
  const m = process.memoryUsage()
  heapPeak = Math.max(heapPeak, m.heapUsed + m.arrayBuffers)
}

function readAll (file: string, each: (chunk: Uint8Array) => void): void {
  const fd = openSync(file, 'r')
  const buf = new Uint8Array(CHUNK)
  try {
    for (let n; (n = readSync(fd, buf, 0, CHUNK, null)) > 0;) each(buf.subarray(0, n))
  } finally { closeSync(fd) }
}

/** What the hash thread's postMessage and finalize.ts's `RecordTable.from` do, in one thread. */
function handOver (table: RecordTable): RecordTable {
  const { port1, port2 } = new MessageChannel()
  const { data, transfer } = table.handOver()
  port1.postMessage(data, transfer)
  const got = receiveMessageOnPort(port2)
  port1.close()
  if (got === undefined) throw new Error('hand-over: no message arrived')
  return RecordTable.from(got.message as RecordTableData)
}

const file = ensureCar()
const size = statSync(file).size
readAll(file, () => {}) // page cache

global.gc?.()
const t0 = performance.now()
let sum = 0
readAll(file, (c) => { sum += c[c.length - 1]! })
const readSeconds = (performance.now() - t0) / 1000

global.gc?.()
const rssBase = process.memoryUsage().rss
sample()
const heapBase = heapPeak
const t1 = performance.now()
const ix = new CarBlockIndexer()
let n = 0
readAll(file, (c) => { ix.update(c); if (++n % 16 === 0) sample() })
const res = ix.result()
if (res.error !== undefined) throw new Error(`indexing the bench CAR failed: ${res.error.message}`)
const t2 = performance.now()
sample()
const tableBytes = res.records.byteLength
const table = handOver(res.records)
const t3 = performance.now()
const index = indexFromRecords(table)
const t4 = performance.now()
sample()
const rssPeak = process.resourceUsage().maxRSS * 1024
if (table.length !== blocks) throw new Error(`indexed ${table.length} blocks, expected ${blocks}`)
const indexBytes = blocks * (DIGEST + 8)
if (index.length < indexBytes) throw new Error(`index of ${index.length} bytes, expected over ${indexBytes}`)

const s = (ms: number): string => (ms / 1000).toFixed(2)
console.log(`# ${blocks} blocks, CAR ${(size / MiB).toFixed(0)} MiB, index ${(index.length / MiB).toFixed(0)} MiB (checksum ${sum & 0xff})`)
console.log('| measure | value |')
console.log('|---|---:|')
console.log(`| reference: read the CAR, 1 MiB chunks | ${readSeconds.toFixed(2)} s |`)
console.log(`| index (CarBlockIndexer) | ${s(t2 - t1)} s |`)
console.log(`| hand-over (postMessage, transfer) | ${s(t3 - t2)} s |`)
console.log(`| encode (MultihashIndexSorted) | ${s(t4 - t3)} s |`)
console.log(`| total / reference read | ${((t4 - t1) / 1000 / readSeconds).toFixed(1)}× |`)
console.log(`| record table | ${(tableBytes / blocks).toFixed(1)} B/block |`)
console.log(`| heap+arrayBuffers peak (sampled) over start | ${((heapPeak - heapBase) / MiB).toFixed(0)} MiB |`)
console.log(`| RSS peak over start | ${((rssPeak - rssBase) / MiB).toFixed(0)} MiB (RSS peak ${(rssPeak / MiB).toFixed(0)} MiB) |`)
console.log(`| RSS peak over start / index size N×(32+8) | ${((rssPeak - rssBase) / indexBytes).toFixed(2)}× |`)
console.log(`| RSS peak over start per block | ${((rssPeak - rssBase) / blocks).toFixed(0)} B |`)
