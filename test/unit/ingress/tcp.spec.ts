import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream } from '@libp2p/interface'
import { coalescingTcp, gatherWrites } from '../../../src/ingress/tcp.ts'

const PROTO = '/dealyard/test/echo/1'

async function node (transport: typeof tcp, listen: boolean): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [transport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

/** Reads until the remote closes its side. */
async function readAll (s: Stream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of s) chunks.push(Buffer.from(c.subarray()))
  return Buffer.concat(chunks)
}

/** Socket writes (syscalls: _write or _writev calls) made from the given local port. */
function countWrites (port: () => number): { count: () => number, restore: () => void } {
  const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>
  const orig = { _write: proto._write, _writev: proto._writev }
  let n = 0
  for (const m of ['_write', '_writev'] as const) {
    proto[m] = function (this: net.Socket, ...a: unknown[]) {
      if (this.localPort === port()) n++
      return orig[m].apply(this, a)
    }
  }
  return { count: () => n, restore: () => { proto._write = orig._write; proto._writev = orig._writev } }
}

/** An echo server; returns its address and the number of server-side socket writes for `rounds` exchanges of `size` bytes. */
async function exchange (serverTransport: typeof tcp, size: number, rounds: number): Promise<{ writes: number, ok: boolean }> {
  const server = await node(serverTransport, true)
  const client = await node(tcp, false)
  await server.handle(PROTO, async (s) => {
    const data = await readAll(s)
    s.send(data)
    await s.close()
  })
  const addr = server.getMultiaddrs()[0]!
  const port = Number(addr.toString().split('/')[4])
  let ok = true
  await client.dial(addr)
  const counter = countWrites(() => port)
  try {
    for (let i = 0; i < rounds; i++) {
      const payload = randomBytes(size)
      const s = await client.dialProtocol(addr, PROTO)
      s.send(payload)
      await s.close()
      ok &&= (await readAll(s)).equals(payload)
    }
    return { writes: counter.count(), ok }
  } finally {
    counter.restore()
    await client.stop()
    await server.stop()
  }
}

describe('coalescingTcp', () => {
  const nodes: Libp2p[] = []
  after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })

  it('answers with the same bytes in far fewer socket writes than plain tcp', async () => {
    const plain = await exchange(tcp, 300, 20)
    const gathered = await exchange(coalescingTcp, 300, 20)
    assert.equal(plain.ok, true)
    assert.equal(gathered.ok, true)
    // Plain: two writes per noise message (length, ciphertext), several messages per exchange.
    assert.ok(gathered.writes * 2 <= plain.writes, `gathered ${gathered.writes} vs plain ${plain.writes} writes`)
  })

  it('moves several MiB intact both ways (back-pressure through the cork)', async () => {
    const r = await exchange(coalescingTcp, 3 << 20, 2)
    assert.equal(r.ok, true)
  })

  it('delivers what was written when the listener destroys the socket in the same tick', async () => {
    // libp2p's stop closes the TCP listener, which destroy()s every socket at once: the answer
    // written just before must reach the peer, as it does when each write goes straight out.
    const server = await node(coalescingTcp, true)
    const client = await node(coalescingTcp, false)
    nodes.push(client)
    const answer = randomBytes(2000)
    await server.handle(PROTO, async (s) => {
      await readAll(s)
      s.send(answer)
      void s.close()
      void server.stop()
    })
    const s = await client.dialProtocol(server.getMultiaddrs()[0]!, PROTO)
    s.send(new Uint8Array([1, 2, 3]))
    await s.close()
    const got = await readAll(s).catch(() => Buffer.alloc(0))
    assert.deepEqual(got.subarray(0, answer.length), answer)
  })

  it('leaves a connection without a TCP socket untouched', () => {
    const sendData = (): { sentBytes: number, canSendMore: boolean } => ({ sentBytes: 0, canSendMore: true })
    const conn = { sendData, socket: {} } as never
    assert.equal(gatherWrites(conn), conn)
    assert.equal((conn as { sendData: unknown }).sendData, sendData)
  })
})
