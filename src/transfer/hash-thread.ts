/**
 * The piece sink's worker thread: CommP (whose own pool threads do the hashing) and the CAR index,
 * fed buffers in stream order. Off the main thread so that the hasher's copy into its job buffers,
 * and its wait when every job is busy, never hold up socket reads and write completions.
 * Protocol (piece-sink.ts): {id, op: 'update', data} | {id, op: 'reset' | 'close'} | {id, op: 'finish', padded};
 * every message is answered with {id} or {id, result} or {id, error: {code, message}}.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { CommPHasher } from '../filecoin/commp/index.ts'
import { CarBlockIndexer } from '../index/car/index.ts'

const { workers, index } = workerData as { workers: number | undefined, index: boolean }
const port = parentPort!
let hasher = newHasher()
let indexer = index ? new CarBlockIndexer() : undefined

function newHasher (): CommPHasher { return new CommPHasher(workers === undefined ? {} : { workers }) }

type Msg = { id: number, op: 'update', data: Uint8Array } | { id: number, op: 'reset' | 'close' } | { id: number, op: 'finish', padded: number | undefined }

port.on('message', (m: Msg) => {
  try {
    if (m.op === 'update') {
      indexer?.update(m.data)
      hasher.update(m.data)
      port.postMessage({ id: m.id })
    } else if (m.op === 'reset') {
      // digest() waits for the old hasher's jobs in flight before it is dropped
      hasher.digest()
      hasher = newHasher()
      indexer = index ? new CarBlockIndexer() : undefined
      port.postMessage({ id: m.id })
    } else if (m.op === 'close') {
      // Wait for the pool's jobs of this hasher, then let the thread end by itself: terminating
      // a thread while native code runs in it is not safe.
      hasher.digest()
      port.postMessage({ id: m.id })
      port.close()
    } else {
      const d = hasher.digest((m as { padded?: number }).padded)
      const car = indexer?.result()
      // The record table's chunks move to the main thread rather than being copied: for a CAR
      // of millions of small blocks they are hundreds of MiB (finalize.ts revives the table).
      const moved = car?.records.handOver()
      const result = { pieceCid: d.pieceCid, payloadSize: d.payloadSize, car: car === undefined ? undefined : { ...car, records: moved!.data } }
      port.postMessage({ id: m.id, result }, moved?.transfer ?? [])
    }
  } catch (err) {
    const e = err as Error & { code?: string }
    port.postMessage({ id: m.id, error: { code: e.code, message: e.message } })
  }
})
