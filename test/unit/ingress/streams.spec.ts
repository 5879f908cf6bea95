import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p, type Libp2p } from 'libp2p'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { coalescingTcp } from '../../../src/ingress/tcp.ts'
import { deadline, RequestMemory, serveRequest, writeAndClose } from '../../../src/ingress/streams.ts'

const PROTO = '/dealyard/test/sink/1'

async function node (listen: boolean): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [coalescingTcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

describe('stream deadlines', () => {
  const nodes: Libp2p[] = []
  after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })

  it('deadline() aborts with a TimeoutError after its time, and not at all once cleared', async () => {
    const d = deadline(30)
    await new Promise((resolve) => setTimeout(resolve, 80))
    assert.equal(d.signal.aborted, true)
    assert.equal((d.signal.reason as Error).name, 'TimeoutError')
    const c = deadline(30)
    c.clear()
    await new Promise((resolve) => setTimeout(resolve, 80))
    assert.equal(c.signal.aborted, false)
  })

  it('writeAndClose gives up with a TimeoutError when the peer never takes the bytes, and delivers them when it does', async () => {
    const server = await node(true)
    const client = await node(false)
    nodes.push(server, client)
    let received = 0
    // A peer that takes nothing: paused, it sends no window updates, so the sender's window fills.
    await server.handle(`${PROTO}/stuck`, (s) => { s.pause() })
    await server.handle(PROTO, async (s) => { for await (const c of s) received += c.byteLength })
    const addr = server.getMultiaddrs()[0]!
    const stuck = await client.dialProtocol(addr, `${PROTO}/stuck`)
    const t0 = performance.now()
    await assert.rejects(writeAndClose(stuck, new Uint8Array(4 << 20), 300), (e: Error) => e.name === 'TimeoutError')
    assert.ok(performance.now() - t0 < 3000)
    stuck.abort(new Error('done'))

    const fine = await client.dialProtocol(addr, PROTO)
    await writeAndClose(fine, new Uint8Array(1 << 20), 5000)
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(received, 1 << 20)
  })
})

describe('serveRequest', () => {
  const nodes: Libp2p[] = []
  after(async () => { await Promise.all(nodes.map(async (n) => { await n.stop() })) })

  it('tells `lost` of an answer made but not written (the client gone meanwhile), and not of one delivered', async () => {
    const server = await node(true)
    const client = await node(false)
    nodes.push(server, client)
    const limits = { maxMessageBytes: 1024, readDeadlineMs: 2000, writeDeadlineMs: 2000 }
    const lost: string[] = []
    let clientGone: () => void = () => {}
    const gone = new Promise<void>((resolve) => { clientGone = resolve })
    let requested: (s: { status: string }) => void = () => {}
    const slowOne = new Promise<{ status: string }>((resolve) => { requested = resolve })
    await server.handle(`${PROTO}/req`, async (s) => {
      await serveRequest(s, `${PROTO}/req`, limits, 'Test', async (req) => {
        if (req[0] === 0x02) {
          requested(s)
          await gone
        }
        return Uint8Array.of(0x01)
      }, (err) => { lost.push(err.message) })
    })
    const addr = server.getMultiaddrs()[0]!
    // Answered: nothing lost.
    const ok = await client.dialProtocol(addr, `${PROTO}/req`)
    ok.send(Uint8Array.of(0x01))
    await ok.close()
    const answer: number[] = []
    for await (const c of ok) answer.push(...c.subarray())
    assert.deepEqual(answer, [0x01])
    // The client resets its stream while the answer is being made.
    const reset = await client.dialProtocol(addr, `${PROTO}/req`)
    reset.send(Uint8Array.of(0x02))
    // Once the server is making the answer, the client resets; the answer is written after the reset arrived.
    const serverSide = await slowOne
    reset.abort(new Error('client went away'))
    for (let i = 0; i < 100 && serverSide.status === 'open'; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    clientGone()
    for (let i = 0; i < 50 && lost.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(lost.length, 1, 'the reset stream\'s answer was lost, and only it')
  })
})

describe('RequestMemory', () => {
  it('lends up to its limit and takes back what is given', () => {
    const m = new RequestMemory(100)
    assert.equal(m.take(60), true)
    assert.equal(m.take(41), false, 'nothing taken past the limit')
    assert.equal(m.take(40), true)
    assert.equal(m.inUse, 100)
    m.give(60)
    assert.equal(m.inUse, 40)
    assert.equal(m.take(60), true)
    assert.throws(() => new RequestMemory(0), /positive number of bytes, got 0/)
  })
})
