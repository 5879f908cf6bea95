// go-yamux's window-update policy on js-yamux streams (src/ingress/yamux.ts): a WINDOW_UPDATE only
// when a flag must go out or at least half the receive window has been consumed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'
import { patchWindowUpdates } from '../../../src/ingress/yamux.ts'

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
  assert.equal(patchWindowUpdates(), true)
})

test('a small read on an established stream sends no window update', () => {
  patchWindowUpdates()
  const { s, sent } = stream(StreamState.Established, 1500)
  s.sendWindowUpdate()
  assert.deepEqual(sent, [])
  assert.equal(s.recvWindowCapacity, WINDOW - 1500, 'the consumed bytes stay owed until an update goes out')
})

test('half the window consumed sends one update for all of it', () => {
  patchWindowUpdates()
  const { s, sent } = stream(StreamState.Established, WINDOW / 2 + 10)
  s.sendWindowUpdate()
  assert.deepEqual(sent, [{ type: FrameType.WindowUpdate, flag: 0, length: WINDOW / 2 + 10 }])
  assert.equal(s.recvWindowCapacity, WINDOW)
})

test('the first update of an inbound stream carries the ACK whatever was consumed', () => {
  patchWindowUpdates()
  const { s, sent } = stream(StreamState.SYNReceived, 12)
  s.sendWindowUpdate()
  assert.deepEqual(sent, [{ type: FrameType.WindowUpdate, flag: Flag.ACK, length: 12 }])
})
