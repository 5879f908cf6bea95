/**
 * Bad input over real streams: malformed, truncated and wrongly typed CBOR, a 10 MB message, a
 * stream that sends half a message and stalls, unknown protocol IDs, an invalid UTF-8 label, more
 * streams than a connection may have, a yamux frame claiming 2 GiB, a status flood. None of the
 * malformed ones gets an answer (boost closes without writing); a well-formed proposal with an
 * integer no deal can have is refused with an answer, as boost refuses it. None creates anything,
 * and the ingress keeps serving good proposals.
 */
import { describe, it, before, after } from 'node:test'
import { randomUUID } from 'node:crypto'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { StorageDeals } from '../../../src/api/index.ts'
import { readCborItem, encodeDealParams, decodeDealResponse, decodeDealStatusResponse, encodeDealStatusRequest, PROTOCOL_IDS, ERR_CBOR_DECODE } from '../../../src/protocol/index.ts'
import { createClientNode, dealStatus, proposeDeal } from '../../../src/client/net.ts'
import { sign } from '../../../src/filecoin/signature.ts'
import { statusRequestMessage } from '../../../src/protocol/proposal.ts'
import { startEnv, type Env } from './env.ts'
import { streamErrors } from '../../../src/ingress/metrics.ts'
import { eventually } from '../../support/kube.ts'

const READ_DEADLINE_MS = 800
/** Room for two requests near the 1 MiB limit, not three. */
const REQUEST_MEMORY = 5 << 19

/** A libp2p client node for one spec, stopped whatever the spec does. */
async function withClient (fn: (node: Awaited<ReturnType<typeof createClientNode>>) => Promise<void>): Promise<void> {
  const node = await createClientNode()
  try {
    await fn(node)
  } finally {
    await node.stop()
  }
}

/** The client's own muxer under a connection (a libp2p internal), to send raw yamux frames. */
const rawMuxer = (conn: unknown): { send: (b: Uint8Array) => boolean } => (conn as { muxer: { send: (b: Uint8Array) => boolean } }).muxer
/** A yamux frame: the 12-byte header (version 0, type DATA, flags, stream ID, length), then the body. */
function frame (flag: number, id: number, body: Uint8Array): Buffer {
  const h = Buffer.alloc(12)
  h.writeUInt16BE(flag, 2)
  h.writeUInt32BE(id, 4)
  h.writeUInt32BE(body.byteLength, 8)
  return Buffer.concat([h, body])
}
/** A multistream-select line: its length (a one-byte varint here) and the text with its newline. */
const line = (text: string): Buffer => Buffer.from([text.length + 1, ...Buffer.from(`${text}\n`)])

describe('ingress: bad input', () => {
  let env: Env
  before(async () => { env = await startEnv('ingress-bad-input', { limits: { readDeadlineMs: READ_DEADLINE_MS, maxMessageBytes: 1 << 20 }, requestMemoryBytes: REQUEST_MEMORY }) })
  after(async () => { await env?.close() })

  const open = async (protocol: string = PROTOCOL_IDS.dealProposal121): Promise<Stream> =>
    await env.node.dialProtocol(multiaddr(env.addr), protocol)

  /** Sends bytes (and optionally half-closes); resolves to how the answer read ended. */
  const noAnswer = async (bytes: Uint8Array, close = true, protocol?: string): Promise<{ code: string, ms: number }> => {
    const s = await open(protocol)
    const t0 = Date.now()
    s.send(bytes)
    if (close) await s.close().catch(() => {})
    try {
      const got = await readCborItem(s, { path: 'answer', signal: AbortSignal.timeout(10_000) })
      assert.fail(`unexpected answer ${Buffer.from(got).toString('hex')}`)
    } catch (err) {
      return { code: (err as { code?: string, name?: string }).code ?? (err as Error).name, ms: Date.now() - t0 }
    }
  }

  const dealCount = async (): Promise<number> => (await env.rest.list(StorageDeals, env.namespace)).items.length
  const tooManyStreams = async (): Promise<number> =>
    (await streamErrors.get()).values.filter((v) => v.labels.code === 'TooManyStreams').reduce((a, v) => a + v.value, 0)

  it('gets no answer for malformed CBOR (a reserved header)', async () => {
    const r = await noAnswer(Uint8Array.of(0xa7, 0xff, 0x00))
    assert.notEqual(r.code, 'ERR_STREAM_ABORTED')
  })

  it('gets no answer for a truncated DealParams', async () => {
    const full = encodeDealParams(await env.params())
    const r = await noAnswer(full.subarray(0, Math.floor(full.length / 2)))
    assert.ok(r.ms < READ_DEADLINE_MS * 3)
  })

  it('gets no answer for the wrong major type (an array where a map is due)', async () => {
    await noAnswer(Uint8Array.of(0x82, 0x01, 0x02))
  })

  it('gets no answer for a DealParams with a text value where a bool is due', async () => {
    const bytes = encodeDealParams(await env.params())
    const i = Buffer.from(bytes).indexOf(Buffer.from('IsOffline'))
    const bad = Uint8Array.from(bytes)
    bad[i + 'IsOffline'.length] = 0x60 // "" instead of false: same length, wrong type
    await noAnswer(bad)
  })

  it('resets a 10 MB message without reading it all', async () => {
    const header = Uint8Array.of(0x5a, 0x00, 0x98, 0x96, 0x80) // bytes(10_000_000)
    const s = await open()
    const t0 = Date.now()
    s.send(header)
    const chunk = new Uint8Array(1 << 16)
    let sent = 0
    let reset = false
    s.addEventListener('close', () => { reset = true })
    while (sent < 10_000_000 && !reset) {
      if (!s.send(chunk)) await s.onDrain({ signal: AbortSignal.timeout(5000) }).catch(() => { reset = true })
      sent += chunk.length
    }
    await assert.rejects(readCborItem(s, { path: 'answer', signal: AbortSignal.timeout(5000) }))
    assert.ok(Date.now() - t0 < 5000)
  })

  it('resets a stream that sends half a message and stalls, at the read deadline', async () => {
    const full = encodeDealParams(await env.params())
    const r = await noAnswer(full.subarray(0, 100), false)
    assert.ok(r.ms >= READ_DEADLINE_MS - 50 && r.ms < READ_DEADLINE_MS + 3000, `reset after ${r.ms} ms`)
  })

  it('ends at once a stream whose client closed its side before the ingress read it (no request, half a request)', async () => {
    const full = encodeDealParams(await env.params())
    await withClient(async (attacker) => {
      const conn = await attacker.dial(multiaddr(env.addr))
      // Raw frames under the client's own muxer (a libp2p internal), as go-libp2p sends them once
      // identify has run: a new stream naming its protocol without waiting for the echo, the bytes,
      // and the FIN right behind: the ingress gets all of it in one read, before its handler runs.
      const muxer = rawMuxer(conn)
      const errors = async (): Promise<number> => (await streamErrors.get()).values.filter((v) => v.labels.protocol === PROTOCOL_IDS.dealProposal121).reduce((n, v) => n + v.value, 0)
      let id = 1001
      for (const bytes of [new Uint8Array(0), full.subarray(0, 100)]) {
        const before = await errors()
        const t0 = Date.now()
        muxer.send(Buffer.concat([frame(1, id, Buffer.concat([line('/multistream/1.0.0'), line(PROTOCOL_IDS.dealProposal121), bytes])), frame(4, id, new Uint8Array(0))]))
        id += 2
        // boost's decoder ends at EOF: the stream goes without waiting out the read deadline.
        await eventually(async () => (await errors()) > before, { timeoutMs: 5000 })
        assert.ok(Date.now() - t0 < READ_DEADLINE_MS / 2, `${bytes.byteLength} bytes then FIN: the stream ended after ${Date.now() - t0} ms`)
      }
      // A whole proposal with the FIN on its one DATA frame (the yamux spec allows it; go-yamux
      // reads the data before the EOF): served, not lost.
      const params = await env.params()
      muxer.send(frame(1 | 4, id, Buffer.concat([line('/multistream/1.0.0'), line(PROTOCOL_IDS.dealProposal121), encodeDealParams(params)])))
      await eventually(async () => await env.rest.get(StorageDeals, env.namespace, params.dealUuid).then(() => true, () => false), { timeoutMs: 5000 })
      await env.rest.delete(StorageDeals, env.namespace, params.dealUuid)
      await eventually(async () => await dealCount() === 0)
    })
  })

  it('refuses unknown protocol IDs at negotiation', async () => {
    await assert.rejects(env.node.dialProtocol(multiaddr(env.addr), '/fil/storage/mk/1.1.0'))
    await assert.rejects(env.node.dialProtocol(multiaddr(env.addr), '/fil/storage/mk/9.9.9'))
  })

  it('gets no answer for a label that is invalid UTF-8', async () => {
    const params = await env.params({ label: { kind: 'string', value: 'éé' } })
    const bytes = Buffer.from(encodeDealParams(params))
    const at = bytes.indexOf(Buffer.from('éé'))
    bytes[at] = 0xff; bytes[at + 2] = 0xfe
    await noAnswer(bytes)
  })

  it('gets no answer for a status request with a truncated signature', async () => {
    const bytes = Uint8Array.of(0xa2, 0x68, ...Buffer.from('DealUUID'), 0x50, ...new Uint8Array(16), 0x69, ...Buffer.from('Signature'), 0x40)
    await noAnswer(bytes, true, PROTOCOL_IDS.dealStatus)
  })

  it('refuses, with an answer naming the field, a well-formed proposal whose end epoch is int64 max', async () => {
    // boost decodes any int64 and refuses such a deal on its values; the client hears why.
    const params = await env.params()
    const end = params.clientDealProposal.proposal.endEpoch
    const hex = Buffer.from(encodeDealParams(params)).toString('hex')
    const find = `1a${end.toString(16).padStart(8, '0')}`
    assert.ok(hex.includes(find))
    const s = await open()
    s.send(Buffer.from(hex.replace(find, '1b7fffffffffffffff'), 'hex'))
    const res = decodeDealResponse(await readCborItem(s, { path: 'DealResponse', signal: AbortSignal.timeout(10_000) }))
    assert.deepEqual(res, {
      accepted: false,
      message: 'failed validation: DealParams.ClientDealProposal.Proposal.EndEpoch: 9223372036854775807 is out of range (this provider takes integers up to ±9007199254740991)'
    })
  })

  it('refuses, with an answer naming it, a well-formed proposal that leaves out a field', async () => {
    // cbor-gen reads a missing key as the zero value and boost refuses the deal made of it.
    const params = await env.params()
    const bytes = Buffer.from(encodeDealParams(params))
    const at = bytes.indexOf(Buffer.from('DealDataRoot'))
    bytes[at] = 0x58 // 'X': a key the decoder does not know, skipped with its value
    const s = await open()
    s.send(bytes)
    const res = decodeDealResponse(await readCborItem(s, { path: 'DealResponse', signal: AbortSignal.timeout(10_000) }))
    assert.deepEqual(res, { accepted: false, message: 'failed validation: DealParams: missing field DealDataRoot' })
  })

  it('answers a status request that leaves out its DealUUID or Signature as boost does (zero values), not with a reset', async () => {
    const params = await env.params()
    const r = await proposeDeal(env.node, env.addr, params)
    assert.equal(r.accepted, true, r.message)
    const ask = async (drop: string): Promise<string> => {
      const bytes = Buffer.from(encodeDealStatusRequest({ dealUuid: params.dealUuid, signature: sign(env.client.key, statusRequestMessage(params.dealUuid)) }))
      const at = bytes.indexOf(Buffer.from(drop))
      bytes[at] = 0x58 // 'X': a key the decoder does not know, skipped with its value
      const s = await env.node.dialProtocol(multiaddr(env.addr), PROTOCOL_IDS.dealStatus)
      s.send(bytes)
      return decodeDealStatusResponse(await readCborItem(s, { path: 'DealStatusResponse', signal: AbortSignal.timeout(10_000) })).error
    }
    assert.equal(await ask('Signature'), 'signature verification failed')
    assert.equal(await ask('DealUUID'), 'no storage deal found with deal UUID 00000000-0000-0000-0000-000000000000')
    // The file's later cases count the deals their bad input must not create.
    await env.rest.delete(StorageDeals, env.namespace, params.dealUuid)
    await eventually(async () => await env.rest.get(StorageDeals, env.namespace, params.dealUuid).then(() => false, () => true), { what: 'the deal gone' })
  })

  /** A status request for a made-up deal, answered; the stream is left open on the client's side. */
  const answeredStatusStream = async (node = env.node, addr = env.addr): Promise<Stream> => {
    const s = await node.dialProtocol(multiaddr(addr), PROTOCOL_IDS.dealStatus)
    s.send(encodeDealStatusRequest({ dealUuid: randomUUID(), signature: { type: 1, data: new Uint8Array(65) } }))
    const answer = decodeDealStatusResponse(await readCborItem(s, { path: 'DealStatusResponse', signal: AbortSignal.timeout(10_000) }))
    assert.match(answer.error, /^no storage deal found with deal UUID /)
    return s
  }
  const resetWithin = async (s: Stream, ms: number): Promise<void> => {
    if (s.status === 'open' || s.status === 'closing') {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => { reject(new Error(`stream still ${s.status} after ${ms} ms`)) }, ms)
        s.addEventListener('close', () => { clearTimeout(t); resolve() }, { once: true })
      })
    }
    assert.equal(s.status, 'reset')
  }

  it('resets a stream that goes on sending after its request was answered', async () => {
    // Without the reset, every byte sent on was queued in the ingress for as long as the stream
    // lived: ~100 MB a second from one client.
    const s = await answeredStatusStream()
    const junk = new Uint8Array(16 << 10)
    for (let i = 0; i < 64 && s.status === 'open' && s.writeStatus === 'writable'; i++) {
      s.send(junk)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await resetWithin(s, 5000)
  })

  it('resets a stream the client keeps open after the answer, once the write deadline has passed again', async () => {
    const replica = await env.startReplica({ limits: { readDeadlineMs: READ_DEADLINE_MS, writeDeadlineMs: 300, maxMessageBytes: 1 << 20 } })
    await withClient(async (node) => {
      const s = await answeredStatusStream(node, replica.host.addresses()[0]!)
      await resetWithin(s, 3000)
      // A client that closes after reading, as boost's does, is not reset.
      const polite = await answeredStatusStream(node, replica.host.addresses()[0]!)
      await polite.close()
      assert.equal(polite.status, 'closed')
    })
  })

  it('created nothing and still accepts a good proposal', async () => {
    assert.equal(await dealCount(), 0)
    const ok = await proposeDeal(env.node, env.addr, await env.params())
    assert.equal(ok.accepted, true, ok.message)
    assert.equal(await dealCount(), 1)
    const text = await (await fetch(env.ingress.metricsUrl!)).text()
    assert.match(text, new RegExp(`dealyard_ingress_stream_errors_total\\{protocol="/fil/storage/mk/1.2.1",code="${ERR_CBOR_DECODE}"\\} [1-9]`))
    assert.match(text, /dealyard_ingress_stream_errors_total\{protocol="\/fil\/storage\/mk\/1.2.1",code="ERR_STREAM_ABORTED"\} [1-9]/)
  })

  it('keeps a new connection whose client opens a dozen streams as soon as its dial returns', async () => {
    await withClient(async (eager) => {
      await eager.dial(multiaddr(env.addr))
      const streams = await Promise.all(Array.from({ length: 12 }, async () => await eager.dialProtocol(multiaddr(env.addr), PROTOCOL_IDS.dealProposal121)))
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.deepEqual(streams.map((s) => s.status), streams.map(() => 'open'))
      for (const s of streams) s.abort(new Error('test done'))
    })
  })

  it('resets streams beyond the per-connection limit at once, holds the rest to their deadline, and serves another client meanwhile', async () => {
    const limit = 4
    const replica = await env.startReplica({ maxStreamsPerConnection: limit, limits: { readDeadlineMs: 20_000, writeDeadlineMs: 10_000, maxMessageBytes: 1 << 20 } })
    const at = replica.host.addresses()[0]!
    const half = encodeDealParams(await env.params()).subarray(0, 100)
    // Nodes of their own: env.node's connection to this peer ID is the first ingress's.
    const flooder = await createClientNode()
    const other = await createClientNode()
    const streams: Stream[] = []
    try {
      // An established connection (identify has told the client what the ingress serves), so the
      // streams meet the per-protocol limit rather than the early-stream one.
      const conn = await flooder.dial(multiaddr(at))
      const until = Date.now() + 10_000
      while (!(await flooder.peerStore.get(conn.remotePeer)).protocols.includes(PROTOCOL_IDS.dealProposal121) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
      // A refused stream is reset right after negotiation: its dial fails, or it opens and is reset.
      const refusedBefore = await tooManyStreams()
      const dials = await Promise.allSettled(Array.from({ length: 3 * limit }, async () => await flooder.dialProtocol(multiaddr(at), PROTOCOL_IDS.dealProposal121)))
      for (const d of dials) if (d.status === 'fulfilled') streams.push(d.value)
      for (const d of dials) if (d.status === 'rejected') assert.match((d.reason as Error).name, /^(StreamResetError|UnexpectedEOFError)$/)
      for (const s of streams) if (s.status === 'open') s.send(half)
      const open = (): number => streams.filter((s) => s.status === 'open').length
      while (open() > limit && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
      // Timers never fire early: the ones let in are still waiting for the rest of their message.
      assert.equal(open(), limit, `dials: ${dials.map((d) => d.status === 'rejected' ? String(d.reason) : d.status).join(' | ')}; streams: ${streams.map((s) => s.status).join(' ')}`)
      // Each one reset is counted (libp2p's own limit reset them without a trace).
      assert.equal(await tooManyStreams() - refusedBefore, 2 * limit)
      const before = await dealCount()
      const ok = await proposeDeal(other, at, await env.params())
      assert.equal(ok.accepted, true, ok.message)
      assert.equal(await dealCount(), before + 1)
      assert.equal(open(), limit)
    } finally {
      for (const s of streams) s.abort(new Error('test done'))
      await other.stop()
      await flooder.stop()
    }
  })

  it('serves --max-streams proposals sent at once on a new connection, and resets (and counts) only the one past the limit', async () => {
    const limit = 12
    const replica = await env.startReplica({ maxStreamsPerConnection: limit })
    const at = replica.host.addresses()[0]!
    await withClient(async (burst) => {
      const params = await Promise.all(Array.from({ length: limit + 1 }, async () => await env.params()))
      const before = await tooManyStreams()
      // All opened as the connection comes up, with the client's identify stream: an early-stream
      // allowance of exactly the limit closed the whole connection.
      const results = await Promise.all(params.map(async (p) => await proposeDeal(burst, at, p).then((r) => r.accepted ? 'accepted' : r.message, (e: Error) => e.message)))
      assert.equal(results.filter((r) => r === 'accepted').length, limit, results.join(' | '))
      assert.equal(await tooManyStreams() - before, 1)
    })
  })

  it('ends a connection whose DATA frame for no stream is longer than a stream\'s window, without buffering the body', async () => {
    await withClient(async (attacker) => {
      const conn = await attacker.dial(multiaddr(env.addr))
      const muxer = rawMuxer(conn)
      // No flag, a stream that was never opened, 1 MiB: more than a stream is granted (256 KiB),
      // less than js-yamux's largest window (16 MiB), which it buffered whole before dropping.
      const header = Buffer.alloc(12)
      header.writeUInt32BE(1_000_001, 4)
      header.writeUInt32BE(1 << 20, 8)
      muxer.send(Buffer.concat([header, new Uint8Array((1 << 20) - 1000)]))
      await eventually(() => conn.status !== 'open', { timeoutMs: 5000, what: 'the connection ended' })
    })
  })

  it('drops what a client sends on an answered transports or identify stream, and resets the stream past 64 KiB', async () => {
    await withClient(async (client) => {
      const conn = await client.dial(multiaddr(env.addr))
      for (const protocol of [PROTOCOL_IDS.transports, '/ipfs/id/1.0.0']) {
        const stream = await conn.newStream(protocol)
        const it = stream[Symbol.asyncIterator]()
        const first = await it.next()
        assert.ok(first.done !== true && first.value.byteLength > 0, `${protocol}: an answer`)
        // The client goes on writing instead of closing: 16 KiB at a time.
        let sent = 0
        try {
          while (stream.status === 'open' && stream.writeStatus === 'writable' && sent < 1 << 20) {
            if (!stream.send(new Uint8Array(16 << 10))) await stream.onDrain({ signal: AbortSignal.timeout(5000) })
            sent += 16 << 10
            await new Promise((resolve) => setTimeout(resolve, 2))
          }
        } catch {}
        await eventually(() => stream.status === 'reset' || stream.status === 'aborted', { timeoutMs: 5000, what: `${protocol}: the stream reset (${stream.status})` })
        assert.ok(sent <= 256 << 10, `${protocol}: ${sent} bytes went out before the reset`)
      }
    })
  })

  it('resets streams that hold more than a request while still negotiating their protocol (a client not reading the "na" answers)', async () => {
    await withClient(async (attacker) => {
      const conn = await attacker.dial(multiaddr(env.addr))
      const muxer = rawMuxer(conn)
      // Protocol lines the ingress answers "na" to, 16 KiB at a time, on 8 raw streams whose
      // answers the client's muxer never takes (no window granted back): the negotiation stops
      // reading once its answers cannot go out, and what comes after waits in its buffer.
      const lines = Buffer.concat(Array.from({ length: 4096 }, () => line('/x')))
      const ids = Array.from({ length: 8 }, (_, i) => 2001 + 2 * i)
      for (const id of ids) muxer.send(frame(1, id, line('/multistream/1.0.0')))
      for (let round = 0; round < 48; round++) {
        for (const id of ids) if (!muxer.send(frame(0, id, lines))) await new Promise((resolve) => setTimeout(resolve, 5))
      }
      // 6 MiB sent: past what one connection's negotiating streams may hold here (1 MiB + 1 MiB).
      const peer = attacker.peerId.toString()
      const negotiating = (): number => env.ingress.host.node.getConnections().filter((c) => c.remotePeer.toString() === peer)
        .reduce((n, c) => n + c.streams.filter((st) => st.protocol === '' || st.protocol === undefined).length, 0)
      await eventually(() => negotiating() < ids.length, { timeoutMs: 3000, what: 'negotiating streams reset before the negotiation timeout' })
    })
    const ok = await proposeDeal(env.node, env.addr, await env.params())
    assert.equal(ok.accepted, true, ok.message)
  })

  it('ends a connection whose DATA frame claims 2 GiB at its header, without buffering the body', async () => {
    await withClient(async (attacker) => {
      const conn = await attacker.dial(multiaddr(env.addr))
      // Raw bytes on the secured connection, under the client's own muxer (a libp2p internal).
      const muxer = rawMuxer(conn)
      const header = Buffer.alloc(12)
      header.writeUInt16BE(1, 2) // SYN: a new stream
      header.writeUInt32BE(101, 4)
      header.writeUInt32BE(0x7fffffff, 8)
      muxer.send(header)
      let sent = 0
      const until = Date.now() + 5000
      while (conn.status === 'open' && Date.now() < until) {
        if (!muxer.send(new Uint8Array(60_000))) await new Promise((resolve) => setTimeout(resolve, 1))
        sent += 60_000
        if (sent % 6_000_000 === 0) await new Promise((resolve) => setTimeout(resolve, 5))
      }
      assert.notEqual(conn.status, 'open', `still open after ${sent} bytes`)
      assert.ok(sent < 50_000_000, `${sent} bytes went out before the connection ended`)
    })
    const ok = await proposeDeal(env.node, env.addr, await env.params())
    assert.equal(ok.accepted, true, ok.message)
  })

  it('refuses a request that would take the ingress past its request memory, and serves again once it is given back', async () => {
    const metric = async (re: RegExp): Promise<number> => Number(re.exec(await (await fetch(env.ingress.metricsUrl!)).text())?.[1] ?? 0)
    const resource = /dealyard_ingress_stream_errors_total\{protocol="\/fil\/storage\/mk\/1.2.1",code="ERR_RESOURCE"\} (\d+)/
    const before = await metric(resource)
    // Three requests of 1,000,000 bytes, each sent up to 950,000 and stalled: two fit in 2.5 MiB.
    const streams = await Promise.all([0, 1, 2].map(async () => await open()))
    const head = Uint8Array.of(0x5a, 0x00, 0x0f, 0x42, 0x40)
    for (const s of streams) { s.send(head); s.send(new Uint8Array(950_000)) }
    const until = Date.now() + READ_DEADLINE_MS * 5
    while (await metric(resource) === before && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(await metric(resource), before + 1, 'exactly one of the three was refused')
    // The other two hold their memory to the read deadline, then give it back.
    while (await metric(/dealyard_ingress_request_bytes_held (\d+)/) > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(await metric(/dealyard_ingress_request_bytes_held (\d+)/), 0)
    for (const s of streams) s.abort(new Error('test done'))
    const ok = await proposeDeal(env.node, env.addr, await env.params())
    assert.equal(ok.accepted, true, ok.message)
  })

  it('answers a flood of status requests for made-up deals without a GET on the apiserver for each', async () => {
    const metric = async (result: string): Promise<number> => {
      const m = new RegExp(`dealyard_ingress_deal_lookups_total\\{result="${result}"\\} (\\d+)`).exec(await (await fetch(env.ingress.metricsUrl!)).text())
      return m === null ? 0 : Number(m[1])
    }
    const before = { apiserver: await metric('apiserver'), throttled: await metric('throttled') }
    const answers = []
    // In batches under the per-connection stream limit; the whole flood takes well under a second.
    for (let b = 0; b < 8; b++) {
      answers.push(...await Promise.all(Array.from({ length: 25 }, async () => {
        const uuid = randomUUID()
        return { uuid, res: await dealStatus(env.node, env.addr, uuid, env.client.key) }
      })))
    }
    for (const { uuid, res } of answers) assert.equal(res.error, `no storage deal found with deal UUID ${uuid}`)
    const looked = await metric('apiserver') - before.apiserver
    const throttled = await metric('throttled') - before.throttled
    assert.equal(looked + throttled, 200)
    assert.ok(looked <= 50 + 20 * 3, `apiserver lookups: ${looked}`)
    // A deal in the cache is still answered.
    const params = await env.params({ http: undefined })
    assert.equal((await proposeDeal(env.node, env.addr, params)).accepted, true)
    assert.equal((await dealStatus(env.node, env.addr, params.dealUuid, env.client.key)).error, '')
  })
})
