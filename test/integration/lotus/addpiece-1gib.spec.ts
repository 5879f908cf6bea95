/**
 * A 1 GiB piece handed to lotus-miner (the peer, decoding the reader with lotus/lib/rpcenc) from a
 * staged file much smaller than the piece: the client streams file + zero padding with
 * back-pressure, and the Node process's RSS stays under 200 MiB the whole time. The miner hashes
 * every byte it receives and would reject the piece if one were missing or wrong.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { commpOfFile } from '../../../src/filecoin/commp/index.ts'
import { FullNodeClient, MinerClient } from '../../../src/lotus/index.ts'
import { startLotusPeer, type LotusPeer } from '../../support/lotus-peer.ts'

const GiB = 1 << 30
const MiB = 1 << 20
const STAGED = 300 * MiB
const RSS_LIMIT = 200 * MiB

describe('streamed SectorAddPieceToAny of a 1 GiB piece', () => {
  let peer: LotusPeer
  let dir: string
  let file: string

  before(async () => {
    peer = await startLotusPeer({ blockTimeMs: 1000, startEpochSealingBuffer: 0 })
    dir = await mkdtemp(join(tmpdir(), 'dealyard-addpiece-'))
    file = join(dir, 'staged.car')
    const out = createWriteStream(file)
    const block = randomBytes(4 * MiB)
    for (let written = 0; written < STAGED; written += block.length) {
      block.writeUInt32LE(written, 0) // no two blocks alike
      if (!out.write(Buffer.from(block))) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
  })
  after(async () => {
    await peer.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('streams file + zero padding and keeps RSS under 200 MiB', async () => {
    const commp = await commpOfFile(file, { paddedPieceSize: GiB, workers: 0 })
    const full = new FullNodeClient(peer.fullNode)
    const miner = new MinerClient(peer.miner)
    const head = await full.chainHead()
    const start = head.height + 10_000

    let peak = process.memoryUsage.rss()
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 20)
    const t0 = Date.now()
    let off
    try {
      off = await miner.sectorAddPieceToAny(GiB - GiB / 128, createReadStream(file, { highWaterMark: MiB }), {
        // A DDO piece: no market deal to publish, the miner still checks the CommP of the bytes.
        publishCid: null,
        dealId: 0,
        dealProposal: null,
        dealSchedule: { startEpoch: start, endEpoch: start + 600_000 },
        pieceActivationManifest: { cid: commp.pieceCid, size: GiB, verifiedAllocationKey: null, notify: null },
        keepUnsealed: false
      })
    } finally {
      clearInterval(sampler)
    }
    const secs = (Date.now() - t0) / 1000
    peak = Math.max(peak, process.memoryUsage.rss())
    console.log(`# 1 GiB piece streamed in ${secs.toFixed(1)} s (${(1024 / secs).toFixed(0)} MiB/s), peak RSS ${(peak / MiB).toFixed(0)} MiB`)
    assert.ok(peak < RSS_LIMIT, `peak RSS ${(peak / MiB).toFixed(0)} MiB`)
    assert.equal(off.offset, 0)
    const intro = await peer.introspect()
    const added = intro.pieces.find((p) => p.pieceCid === commp.pieceCid)
    assert.ok(added !== undefined, 'the miner computed the same piece CID over what it received')
    assert.equal(added.receivedBytes, GiB - GiB / 128)
    assert.equal(added.sector, off.sector)
  })
})
