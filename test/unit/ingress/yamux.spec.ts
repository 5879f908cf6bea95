// The js-yamux stream patches (src/ingress/yamux.ts): go-yamux's window-update policy (an update
// only when a flag must go out or half the receive window is consumed), and DATA frames of one
// decoded batch delivered to the stream at once, before any flag that follows them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'
import { patchYamuxStreams } from '../../../src/ingress/yamux.ts'

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
