// The js-yamux stream patches (src/ingress/yamux.ts): go-yamux's window-update policy (an update
// only when a flag must go out or half the receive window is consumed), and DATA frames of one
// decoded batch delivered to the stream at once, before any flag that follows them.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'
import { randomBytes } from 'node:crypto'
import { yamux as jsYamux } from '@chainsafe/libp2p-yamux'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { patchMuxerDecoding, patchYamuxStreams, PONG_BURST, PONGS_PER_SECOND, STREAM_OPEN_BURST, STREAM_SERVE_BURST, STREAMS_OPENED_PER_SECOND, yamux } from '../../../src/ingress/yamux.ts'
import { connectionsClosed, pingsDropped, streamsWaiting } from '../../../src/ingress/metrics.ts'

const WINDOW = 256 * 1024
const FrameType = { WindowUpdate: 1 }
const Flag = { ACK: 2 }

/** A stream object on the real prototype with just the fields sendWindowUpdate reads. */
function stream (state: StreamState, consumed: number): { s: { sendWindowUpdate: () => void, recvWindowCapacity: number }, sent: Array<{ type: number, flag: number, length: number }> } {
  const sent: Array<{ type: number, flag: number, length: number }> = []
  const s = Object.assign(Object.create(YamuxStream.prototype) as object, {
    streamId: 1,
    state,
    recvWindow: WINDOW,
    recvWindowCapacity: WINDOW - consumed,
    maxStreamWindowSize: 16 * 1024 * 1024,
    epochStart: Date.now(),
    getRTT: () => -1,
    sendFrame: (h: { type: number, flag: number, length: number }) => { sent.push({ type: h.type, flag: h.flag, length: h.length }); return true }
  }) as unknown as { sendWindowUpdate: () => void, recvWindowCapacity: number }
  return { s, sent }
}

test('the patch is in place on the class @chainsafe/libp2p-yamux exports', () => {
  assert.equal(patchYamuxStreams(), true)
})

test('a small read on an established stream sends no window update', () => {
  patchYamuxStreams()
  const { s, sent } = stream(StreamState.Established, 1500)
  s.sendWindowUpdate()
  assert.deepEqual(sent, [])
  assert.equal(s.recvWindowCapacity, WINDOW - 1500, 'the consumed bytes stay owed until an update goes out')
})

test('half the window consumed sends one update for all of it', () => {
  patchYamuxStreams()
  const { s, sent } = stream(StreamState.Established, WINDOW / 2 + 10)
  s.sendWindowUpdate()
  assert.deepEqual(sent, [{ type: FrameType.WindowUpdate, flag: 0, length: WINDOW / 2 + 10 }])
  assert.equal(s.recvWindowCapacity, WINDOW)
})

test('the first update of an inbound stream carries the ACK whatever was consumed', () => {
  patchYamuxStreams()
  const { s, sent } = stream(StreamState.SYNReceived, 12)
  s.sendWindowUpdate()
  assert.deepEqual(sent, [{ type: FrameType.WindowUpdate, flag: Flag.ACK, length: 12 }])
})

test('DATA frames of one batch reach the stream once, after the batch, and before a FIN that follows', async () => {
  patchYamuxStreams()
  const { s } = stream(StreamState.Established, 0)
  const events: string[] = []
  const st = Object.assign(s, {
    onData: (d: { subarray: () => Uint8Array }) => { events.push(`data:${Buffer.from(d.subarray()).toString()}`) },
    processFlags: (flag: number) => { events.push(`flags:${flag}`) },
    writeBuffer: { byteLength: 0 },
    sendWindowCapacity: WINDOW,
    safeDispatchEvent: () => {}
  }) as unknown as { handleData: (f: unknown) => void, handleWindowUpdate: (f: unknown) => void, recvWindowCapacity: number }
  const frame = (text: string, flag = 0): unknown => ({ header: { type: 0, flag, streamID: 1, length: text.length }, data: Buffer.from(text) })
  st.handleData(frame('ab'))
  st.handleData(frame('cd'))
  st.handleData(frame('ef'))
  assert.deepEqual(events, [], 'nothing is delivered while the batch is decoded')
  assert.equal(st.recvWindowCapacity, WINDOW - 6, 'flow control still counts every frame')
  await Promise.resolve()
  assert.deepEqual(events, ['data:abcdef'])

  events.length = 0
  st.handleData(frame('gh'))
  // go-yamux closes its side with a flagged window update (FIN = 4) right behind the data.
  st.handleWindowUpdate({ header: { type: 1, flag: 4, streamID: 1, length: 0 } })
  assert.deepEqual(events, ['data:gh', 'flags:4'])
  await Promise.resolve()
  assert.deepEqual(events, ['data:gh', 'flags:4'], 'no second delivery')
})

test('a DATA body that is a small view of a large read reaches the stream copied, not holding the read', async () => {
  patchYamuxStreams()
  const { s } = stream(StreamState.Established, 0)
  const got: Uint8Array[] = []
  const st = Object.assign(s, {
    onData: (d: Uint8Array | Uint8ArrayList) => { got.push(d instanceof Uint8Array ? d : d.subarray()) },
    processFlags: () => {},
    writeBuffer: { byteLength: 0 },
    sendWindowCapacity: WINDOW,
    safeDispatchEvent: () => {}
  }) as unknown as { handleData: (f: unknown) => void }
  const read = Buffer.alloc(64 * 1024, 7)
  st.handleData({ header: { type: 0, flag: 0, streamID: 1, length: 1 }, data: read.subarray(100, 101) })
  // A frame that is most of its read is handed on as it is (no copy of a large body).
  const whole = new Uint8Array(1000)
  st.handleData({ header: { type: 0, flag: 0, streamID: 1, length: 900 }, data: whole.subarray(0, 900) })
  await Promise.resolve()
  const delivered = got.map((d) => Buffer.from(d))
  assert.deepEqual(delivered, [Buffer.concat([Buffer.from([7]), Buffer.alloc(900)])])
  // What the stream keeps of the 1-byte frame: not the 64 KiB read it came in.
  const st2 = stream(StreamState.Established, 0).s
  const kept: Array<Uint8Array | Uint8ArrayList> = []
  Object.assign(st2, { onData: (d: Uint8Array | Uint8ArrayList) => { kept.push(d) }, processFlags: () => {}, writeBuffer: { byteLength: 0 }, sendWindowCapacity: WINDOW, safeDispatchEvent: () => {} })
  ;(st2 as unknown as { handleData: (f: unknown) => void }).handleData({ header: { type: 0, flag: 0, streamID: 1, length: 1 }, data: read.subarray(5, 6) })
  await Promise.resolve()
  const bufs = kept.flatMap((d) => d instanceof Uint8Array ? [d] : [...d])
  assert.ok(bufs.every((b) => b.buffer.byteLength < 1024), `the kept bytes lie in buffers of ${bufs.map((b) => b.buffer.byteLength).join(', ')} bytes`)
})

// Frames decoded straight off a read (patchMuxerDecoding): same frames, same order, same errors
// as the muxer's own decoder, which still handles bytes left over from a previous read.
const header = (type: number, flag: number, streamID: number, length: number): Buffer => {
  const h = Buffer.alloc(12)
  h[1] = type
  h.writeUInt16BE(flag, 2)
  h.writeUInt32BE(streamID, 4)
  h.writeUInt32BE(length, 8)
  return h
}

// Muxers run a keep-alive timer: every muxer a test makes is aborted after it.
const made: Array<{ abort: (e: Error) => void }> = []
function track<M extends { abort: (e: Error) => void }> (m: M): M { made.push(m); return m }
afterEach(() => { for (const m of made.splice(0)) m.abort(new Error('test over')) })

async function ourMuxer (): Promise<{ muxer: Record<string, unknown>, seen: string[] }> {
  const [, conn] = multiaddrConnectionPair()
  const muxer = track(yamux()().createStreamMuxer(conn)) as unknown as Record<string, unknown>
  const seen: string[] = []
  const show = (f: { header: { type: number, flag: number, streamID: number, length: number }, data?: { subarray: () => Uint8Array } }): string =>
    `${f.header.type}/${f.header.flag}/${f.header.streamID}/${f.header.length}${f.data !== undefined ? ':' + Buffer.from(f.data.subarray()).toString() : ''}`
  muxer.handleStreamMessage = (f: never) => { seen.push('stream ' + show(f)) }
  muxer.handleFrame = (f: never) => { seen.push('frame ' + show(f)) }
  return { muxer, seen }
}

test('the decoding patch is in place on the muxer class', async () => {
  const [, conn] = multiaddrConnectionPair()
  assert.equal(patchMuxerDecoding(track(yamux()().createStreamMuxer(conn))), true)
})

test('frames of one read are dispatched in order; a partial frame completes through the stock decoder', async () => {
  const { muxer, seen } = await ourMuxer()
  const wire = Buffer.concat([
    header(0, 1, 1, 5), Buffer.from('hello'), // DATA+SYN stream 1
    header(1, 0, 1, 1024), // WINDOW_UPDATE stream 1
    header(2, 1, 0, 7), // PING
    header(0, 0, 3, 6), Buffer.from('world!') // DATA stream 3, cut below
  ])
  const onData = muxer.onData as (b: Uint8Array | Uint8ArrayList) => void
  onData.call(muxer, new Uint8ArrayList(wire.subarray(0, wire.length - 4)))
  assert.deepEqual(seen, ['stream 0/1/1/5:hello', 'stream 1/0/1/1024', 'frame 2/1/0/7'])
  onData.call(muxer, wire.subarray(wire.length - 4))
  assert.deepEqual(seen.slice(3), ['frame 0/0/3/6:world!'], 'the stock decoder finished the cut frame')
  onData.call(muxer, Buffer.concat([header(0, 4, 3, 2), Buffer.from('ok')]))
  assert.deepEqual(seen.slice(4), ['stream 0/4/3/2:ok'], 'with nothing left over, reads are decoded directly again')
})

test('a frame with a bad version byte is refused as the stock decoder refuses it', async () => {
  const { muxer } = await ourMuxer()
  const bad = header(0, 0, 1, 0)
  bad[0] = 1
  assert.throws(() => { (muxer.onData as (b: Uint8Array) => void).call(muxer, bad) }, /Invalid frame version/)
})

test('stock yamux to patched yamux: many small writes arrive intact', async () => {
  const [a, b] = multiaddrConnectionPair()
  const client = track(jsYamux()().createStreamMuxer(a))
  const server = track(yamux()().createStreamMuxer(b))
  const got = new Promise<Buffer>((resolve) => {
    server.addEventListener('stream', (e) => {
      const s = (e as unknown as { detail: AsyncIterable<Uint8Array | Uint8ArrayList> }).detail
      void (async () => {
        const parts: Buffer[] = []
        for await (const c of s) parts.push(Buffer.from(c.subarray()))
        resolve(Buffer.concat(parts))
      })()
    })
  })
  const stream = await client.createStream()
  const sent = Array.from({ length: 500 }, (_, i) => randomBytes(1 + (i % 40)))
  for (const c of sent) if (!stream.send(c)) await stream.onDrain()
  await stream.close()
  assert.deepEqual(await got, Buffer.concat(sent))
})

// A DATA frame is judged by its header before its body is buffered (js-yamux's own decoder
// buffers the whole body first, however long the header says it is).
const buffered = (muxer: Record<string, unknown>): number => (muxer.decoder as { buffer: { byteLength: number } }).buffer.byteLength

test('a DATA frame longer than the window its stream may receive is refused from its header alone', async () => {
  const { muxer } = await ourMuxer()
  const onData = muxer.onData as (b: Uint8Array) => void
  // A new stream (SYN): the initial window, 256 KiB.
  // GoAway "protocol error" (1) to the peer, as go-yamux answers a frame over the window.
  assert.throws(() => { onData.call(muxer, Buffer.concat([header(0, 1, 1, 256 * 1024 + 1), Buffer.alloc(10)])) },
    (e: Error & { reason?: number }) => e.reason === 1 && /DATA frame of 262145 bytes for stream 1 exceeds its receive window of 262144/.test(e.message))
  assert.equal(buffered(muxer), 0, 'nothing of it was kept')
  // An open stream: what is left of its window.
  const again = await ourMuxer()
  again.muxer.streams = [{ streamId: 5, recvWindowCapacity: 100 }]
  assert.throws(() => { (again.muxer.onData as (b: Uint8Array) => void).call(again.muxer, Buffer.concat([header(0, 0, 5, 101), Buffer.alloc(50)])) }, /exceeds its receive window of 100/)
  again.muxer.streams = []
  // No such stream: at most the largest window (16 MiB).
  const none = await ourMuxer()
  assert.throws(() => { (none.muxer.onData as (b: Uint8Array) => void).call(none.muxer, header(0, 0, 7, 0x7fffffff)) }, /2147483647 bytes for stream 7 exceeds its receive window of 16777216/)
  // Within the window, a frame cut across reads is kept and completed as before.
  const ok = await ourMuxer()
  ;(ok.muxer.onData as (b: Uint8Array) => void).call(ok.muxer, Buffer.concat([header(0, 1, 1, 1000), Buffer.alloc(10)]))
  assert.equal(buffered(ok.muxer), 22)
  ;(ok.muxer.onData as (b: Uint8Array) => void).call(ok.muxer, Buffer.alloc(990))
  assert.deepEqual(ok.seen, [`frame 0/1/1/1000:${'\0'.repeat(1000)}`])
})

test('a header cut across reads, or behind a frame the stock decoder completes, is judged as soon as it is whole', async () => {
  const split = await ourMuxer()
  const onData = split.muxer.onData as (b: Uint8Array) => void
  const big = header(0, 1, 1, 0x7fffffff)
  onData.call(split.muxer, big.subarray(0, 5))
  assert.throws(() => { onData.call(split.muxer, Buffer.concat([big.subarray(5), Buffer.alloc(100)])) }, /exceeds its receive window/)
  const behind = await ourMuxer()
  const onData2 = behind.muxer.onData as (b: Uint8Array) => void
  const first = Buffer.concat([header(0, 1, 1, 20), Buffer.alloc(20, 0x61)])
  onData2.call(behind.muxer, first.subarray(0, 15))
  // The rest of the first frame, then a new stream's frame claiming 1 GiB: the stock decoder
  // delivers the first and is left holding the second, which is refused before more arrives.
  assert.throws(() => { onData2.call(behind.muxer, Buffer.concat([first.subarray(15), header(0, 1, 3, 1 << 30), Buffer.alloc(100)])) }, /1073741824 bytes for stream 3/)
  assert.deepEqual(behind.seen, [`frame 0/1/1/20:${'a'.repeat(20)}`])
})

test('a flood of pings gets a backlog of replies, the rest dropped and counted; a later ping is answered', async () => {
  const [, conn] = multiaddrConnectionPair()
  const muxer = track(yamux()().createStreamMuxer(conn)) as unknown as Record<string, unknown>
  const pongs: number[] = []
  muxer.sendFrame = (h: { type: number, flag: number, length: number }) => { if (h.type === 2 && h.flag === 2) pongs.push(h.length); return true }
  const dropped = async (): Promise<number> => (await pingsDropped.get()).values[0]?.value ?? 0
  const before = await dropped()
  const onData = muxer.onData as (b: Uint8Array) => void
  onData.call(muxer, Buffer.concat(Array.from({ length: 1000 }, (_, i) => header(2, 1, 0, i))))
  assert.ok(pongs.length >= PONG_BURST && pongs.length <= PONG_BURST + 2, `${pongs.length} replies to 1000 pings`)
  assert.deepEqual(pongs.slice(0, 3), [0, 1, 2], 'each reply echoes its ping\'s opaque value')
  assert.equal(await dropped() - before, 1000 - pongs.length)
  await new Promise((resolve) => setTimeout(resolve, 1000 / PONGS_PER_SECOND * 3))
  onData.call(muxer, header(2, 1, 0, 5000))
  assert.equal(pongs.at(-1), 5000, 'the budget refills')
})

test('a ping that is neither a request nor the answer to our own (flags 0, an unsolicited or late pong) is ignored, as go-yamux does', async () => {
  const [, conn] = multiaddrConnectionPair()
  const muxer = track(yamux()().createStreamMuxer(conn)) as unknown as Record<string, unknown> & { status: string }
  const pongs: number[] = []
  muxer.sendFrame = (h: { type: number, flag: number, length: number }) => { if (h.type === 2) pongs.push(h.length); return true }
  const onData = muxer.onData as (b: Uint8Array) => void
  for (const frame of [header(2, 0, 0, 7), header(2, 2, 0, 8), header(2, 2 | 4, 0, 9)]) onData.call(muxer, frame)
  assert.equal(muxer.status, 'open')
  assert.deepEqual(pongs, [], 'nothing answered')
  // Our own ping still completes on its answer.
  const rtt = (muxer.ping as () => Promise<number>).call(muxer)
  const id = pongs.at(-1)!
  onData.call(muxer, header(2, 2, 0, id))
  assert.equal(typeof await rtt, 'number')
  // And a request is still answered.
  onData.call(muxer, header(2, 1, 0, 4242))
  assert.equal(pongs.at(-1), 4242)
})

test('the data of a DATA frame that also carries the FIN reaches the stream before its end, read at once or later', async () => {
  for (const readLater of [false, true]) {
    const [, conn] = multiaddrConnectionPair()
    const muxer = track(yamux()().createStreamMuxer(conn)) as unknown as EventTarget & Record<string, unknown>
    type Inbound = AsyncIterable<Uint8Array | Uint8ArrayList> & { remoteWriteStatus: string }
    // The first chunk: libp2p's iterator does not end for a FIN that came before it was created
    // (the ingress's request reader allows for that, src/ingress/streams.ts), so no read to the end.
    const first = async (s: Inbound): Promise<{ text: string, remote: string }> => {
      for await (const c of s) return { text: Buffer.from(c.subarray()).toString(), remote: s.remoteWriteStatus }
      return { text: '', remote: s.remoteWriteStatus }
    }
    const got = new Promise<{ text: string, remote: string }>((resolve) => {
      muxer.addEventListener('stream', (e) => {
        const s = (e as unknown as { detail: Inbound }).detail
        if (readLater) setTimeout(() => { void first(s).then(resolve) }, 10)
        else void first(s).then(resolve)
      })
    })
    const onData = muxer.onData as (b: Uint8Array) => void
    onData.call(muxer, Buffer.concat([header(0, 1 | 4, 1, 5), Buffer.from('hello')]))
    assert.deepEqual(await got, { text: 'hello', remote: 'closed' }, readLater ? 'read after the frame' : 'read as it came')
  }
})

test('a connection opening streams faster than its budget is closed and counted; within the budget they open', async () => {
  const [, conn] = multiaddrConnectionPair()
  const muxer = track(yamux()().createStreamMuxer(conn)) as unknown as Record<string, unknown>
  muxer.sendFrame = () => true
  const onData = muxer.onData as (b: Uint8Array) => void
  const closed = async (): Promise<number> => (await connectionsClosed.get()).values.find((v) => v.labels.reason === 'StreamOpenRate')?.value ?? 0
  const before = await closed()
  // The burst of SYNs (client streams have odd IDs), every one accepted or refused the stock way.
  onData.call(muxer, Buffer.concat(Array.from({ length: STREAM_OPEN_BURST }, (_, i) => header(1, 1, 2 * i + 1, 0))))
  assert.throws(() => { onData.call(muxer, header(1, 1, 2 * STREAM_OPEN_BURST + 1, 0)) }, new RegExp(`more than ${STREAMS_OPENED_PER_SECOND} new streams a second`))
  assert.equal(await closed() - before, 1)
  // Frames of streams already open are not new streams.
  assert.doesNotThrow(() => { onData.call(muxer, header(1, 0, 1, 10)) })
  await new Promise((resolve) => setTimeout(resolve, 1000 / STREAMS_OPENED_PER_SECOND * 4))
  assert.doesNotThrow(() => { onData.call(muxer, header(1, 1, 2 * STREAM_OPEN_BURST + 3, 0)) }, 'the budget refills')
})

test('streams opened past the serving budget wait and are served in order, none refused; one reset while waiting is dropped', async (t) => {
  // The budgets' clock stands still until the test moves it (their buckets read Date.now).
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  const [, conn] = multiaddrConnectionPair()
  const muxer = track(yamux()().createStreamMuxer(conn)) as unknown as Record<string, unknown> & EventTarget & { status: string }
  const frames: Array<{ flag: number, streamID: number }> = []
  muxer.sendFrame = (h: { flag: number, streamID: number }) => { frames.push(h); return true }
  const served: number[] = []
  muxer.addEventListener('stream', (e) => { served.push((e as unknown as { detail: { streamId: number } }).detail.streamId) })
  const onData = muxer.onData as (b: Uint8Array) => void
  const waitingNow = async (): Promise<number> => (await streamsWaiting.get()).values[0]?.value ?? 0
  // A client that has used up the burst (each stream reset after use, as a request's ends), then
  // opens six more at once: a sequential poller on a LAN, or a batch of status queries.
  for (let i = 0; i < STREAM_SERVE_BURST; i++) onData.call(muxer, Buffer.concat([header(1, 1, 2 * i + 1, 0), header(1, 8, 2 * i + 1, 0)]))
  assert.equal(served.length, STREAM_SERVE_BURST)
  const next = Array.from({ length: 6 }, (_, i) => 2 * (STREAM_SERVE_BURST + i) + 1)
  onData.call(muxer, Buffer.concat(next.map((id) => header(1, 1, id, 0))))
  assert.equal(served.length, STREAM_SERVE_BURST, 'none served before the budget refills')
  assert.equal(await waitingNow(), 6)
  // The peer resets one that waits: it is never handed on.
  onData.call(muxer, header(1, 8, next[3]!, 0))
  // A second later (the budget's clock), the queue's timer hands the rest on in order.
  t.mock.timers.tick(1000)
  for (let i = 0; i < 100 && served.length < STREAM_SERVE_BURST + 5; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.deepEqual(served.slice(STREAM_SERVE_BURST), next.filter((id) => id !== next[3]))
  assert.equal(await waitingNow(), 0)
  assert.equal(muxer.status, 'open')
  assert.deepEqual(frames.filter((f) => (f.flag & 8) !== 0 && next.includes(f.streamID)), [], 'no stream refused')
})

test('a stream flood closes the whole connection, not just the muxer, telling the peer GoAway "internal error"', async () => {
  const [client, server] = multiaddrConnectionPair()
  const muxer = track(yamux()().createStreamMuxer(server))
  // A listener, as the ingress's upgrader has (without one js-yamux ends a connection past 10 early streams).
  muxer.addEventListener('stream', () => {})
  const m = muxer as unknown as { sendFrame: (h: { type: number, length: number }, d?: unknown) => boolean }
  const sendFrame = m.sendFrame.bind(muxer)
  const goAways: number[] = []
  m.sendFrame = (h, d) => { if (h.type === 3) goAways.push(h.length); return sendFrame(h, d) }
  client.send(Buffer.concat(Array.from({ length: STREAM_OPEN_BURST + 10 }, (_, i) => header(1, 1, 2 * i + 1, 0))))
  for (let i = 0; i < 50 && server.status === 'open'; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.notEqual(server.status, 'open')
  // js-yamux sent 0 ("normal termination", which go-yamux reports as an orderly close) for an error without a code.
  assert.deepEqual(goAways, [2])
})

test('a GoAway from the peer ends the connection, whatever its code', async () => {
  for (const code of [0, 1, 2]) {
    const [client, server] = multiaddrConnectionPair()
    track(yamux()().createStreamMuxer(server))
    client.send(header(3, 0, 0, code))
    for (let i = 0; i < 50 && server.status === 'open'; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.notEqual(server.status, 'open', `GoAway code ${code}`)
  }
})
