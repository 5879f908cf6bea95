/**
 * js-yamux with go-yamux's window-update policy.
 *
 * Why: @chainsafe/libp2p-yamux answers every received DATA frame with a WINDOW_UPDATE (each its
 * own noise message and socket write), where go-yamux sends one only when at least half the
 * window has been consumed or a flag (SYN/ACK) must go out. boost's client writes a proposal with
 * cbor-gen's unbuffered MarshalCBOR, field by field: dozens of tiny DATA frames per proposal, so
 * the ingress answered each proposal with dozens of window updates — measured at 0.31 CPU-ms per
 * proposal in the ingress bench, more than signature recovery. Skipping updates below half the
 * window changes nothing a peer can rely on: its send window stays above half of what it was
 * granted, and the update still comes before it could stall.
 *
 * This patches YamuxStream.prototype (the class @chainsafe/libp2p-yamux exports as `./stream`)
 * once per process; where a release changes the fields it rests on (state, recvWindow,
 * recvWindowCapacity), the patch stands aside and test/unit/ingress/yamux.spec.ts fails.
 */
import { yamux as jsYamux } from '@chainsafe/libp2p-yamux'
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'

interface WindowFields { state: StreamState, recvWindow: number, recvWindowCapacity: number }

let patched = false

export function patchWindowUpdates (): boolean {
  if (patched) return true
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate?: (this: WindowFields) => void }
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function') return false
  proto.sendWindowUpdate = function (this: WindowFields): void {
    const fieldsKnown = typeof this.recvWindow === 'number' && typeof this.recvWindowCapacity === 'number'
    // Established: no SYN or ACK to carry (Init/SYNReceived), not paused (the original tracks that).
    if (fieldsKnown && this.state === StreamState.Established && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
    original.call(this)
  }
  patched = true
  return true
}

/** The yamux muxer factory, with go-yamux's window-update policy applied. */
export function yamux (...args: Parameters<typeof jsYamux>): ReturnType<typeof jsYamux> {
  patchWindowUpdates()
  return jsYamux(...args)
}
