/**
 * js-yamux with go-yamux's window-update policy, and DATA frames delivered per batch.
 *
 * Why: @chainsafe/libp2p-yamux answers every received DATA frame with a WINDOW_UPDATE (each its
 * own noise message and socket write), where go-yamux sends one only when at least half the
 * window has been consumed or a flag (SYN/ACK) must go out. boost's client writes a proposal with
 * cbor-gen's unbuffered MarshalCBOR, field by field: ~65 DATA frames per proposal (counted), so
 * the ingress answered each proposal with as many window updates (0.31 ms per proposal in a CPU
 * profile of the ingress bench, more than signature recovery). Skipping updates below half the
 * window changes nothing a peer can rely on: its send window stays above half of what it was
 * granted, and the update still comes before it could stall.
 *
 * The same client's dozens of frames per proposal also cost one `message` event each on the
 * stream (an Event object, EventTarget dispatch, a read-buffer copy, an async-iterator turn).
 * The DATA frames without flags that one decoded batch
 * holds for a stream are gathered and handed to the stream once, in a microtask after the batch
 * (the muxer decodes a whole read synchronously); flow-control accounting stays per frame, and
 * any frame with a flag, a window update, or a frame over the window first delivers what is
 * gathered, so data always precedes the FIN or RST that follows it. (38 frames per delivery,
 * counted in the bench.) Together, in the bench's ingress CPU per proposal: 2.05–2.34 → ~2.0 ms;
 * the larger share of the gain showed in the clients', which receive fewer frames.
 *
 * Both patch YamuxStream.prototype (the class @chainsafe/libp2p-yamux exports as `./stream`)
 * once per process; where a release changes the fields they rest on (state, recvWindow,
 * recvWindowCapacity, onData), they stand aside and test/unit/ingress/yamux.spec.ts fails.
 */
import { yamux as jsYamux } from '@chainsafe/libp2p-yamux'
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'
import { Uint8ArrayList } from 'uint8arraylist'

interface WindowFields { state: StreamState, recvWindow: number, recvWindowCapacity: number }

interface Frame { header: { flag: number, length: number }, data?: Uint8Array | Uint8ArrayList | null }

interface DataFields extends WindowFields {
  onData: (data: Uint8Array | Uint8ArrayList) => void
  sendWindowUpdate: () => void
  [gathered]?: Uint8ArrayList | undefined
}

const gathered = Symbol('dealyard.yamux.gathered')

let patched = false

export function patchYamuxStreams (): boolean {
  if (patched) return true
  const proto = YamuxStream.prototype as unknown as {
    sendWindowUpdate?: (this: WindowFields) => void
    handleData?: (this: DataFields, frame: Frame) => void
    handleWindowUpdate?: (this: DataFields, frame: Frame) => void
  }
  const original = proto.sendWindowUpdate
  const handleData = proto.handleData
  const handleWindowUpdate = proto.handleWindowUpdate
  if (typeof original !== 'function' || typeof handleData !== 'function' || typeof handleWindowUpdate !== 'function') return false
  proto.sendWindowUpdate = function (this: WindowFields): void {
    const fieldsKnown = typeof this.recvWindow === 'number' && typeof this.recvWindowCapacity === 'number'
    // Established: no SYN or ACK to carry (Init/SYNReceived), not paused (the original tracks that).
    if (fieldsKnown && this.state === StreamState.Established && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
    original.call(this)
  }
  const deliver = (stream: DataFields): void => {
    const data = stream[gathered]
    if (data === undefined) return
    stream[gathered] = undefined
    stream.onData(data)
  }
  proto.handleData = function (this: DataFields, frame: Frame): void {
    const len = frame.header.length
    if (frame.header.flag !== 0 || frame.data == null || typeof this.recvWindowCapacity !== 'number' || this.recvWindowCapacity < len) {
      deliver(this)
      handleData.call(this, frame)
      return
    }
    this.recvWindowCapacity -= len
    let list = this[gathered]
    if (list === undefined) {
      list = this[gathered] = new Uint8ArrayList()
      queueMicrotask(() => { deliver(this) })
    }
    list.append(frame.data)
    this.sendWindowUpdate()
  }
  proto.handleWindowUpdate = function (this: DataFields, frame: Frame): void {
    deliver(this)
    handleWindowUpdate.call(this, frame)
  }
  patched = true
  return true
}

/** The yamux muxer factory, with the stream patches above applied. */
export function yamux (...args: Parameters<typeof jsYamux>): ReturnType<typeof jsYamux> {
  patchYamuxStreams()
  return jsYamux(...args)
}
