// What a connection may owe a peer that does not read (src/ingress/write-bounds.ts): a cap on
// its unsent bytes, and a timeout on writes that make no progress. Real TCP sockets on loopback,
// through the ingress's TCP transport, whose upgrader gets the bounded connection.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { defaultLogger } from '@libp2p/logger'
import type { MultiaddrConnection, Upgrader } from '@libp2p/interface'
import { coalescingTcp } from '../../../src/ingress/tcp.ts'
import { connectionsClosed } from '../../../src/ingress/metrics.ts'
import { MAX_UNSENT_BYTES, writeTimeout } from '../../../src/ingress/write-bounds.ts'

const closedFor = async (reason: string): Promise<number> => (await connectionsClosed.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0

/** A listening TCP transport whose upgrader hands over each inbound connection as the ingress's upgrader gets it. */
async function listen (): Promise<{ port: number, next: () => Promise<MultiaddrConnection>, close: () => Promise<void> }> {
  const waiting: Array<(c: MultiaddrConnection) => void> = []
  // The upgrade lasts as long as the test: the listener drops a connection whose upgrade ended.
  let finish = (): void => {}
  const finished = new Promise<void>((resolve) => { finish = resolve })
  const upgrader = {
    upgradeInbound: async (c: MultiaddrConnection) => { waiting.shift()?.(c); await finished },
    upgradeOutbound: async () => { throw new Error('not here') }
  } as unknown as Upgrader
  const transport = coalescingTcp()({ logger: defaultLogger() } as never)
  const listener = transport.createListener({ upgrader } as never)
  await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
  const port = Number(listener.getAddrs()[0]!.toString().split('/')[4])
  return {
    port,
    next: async () => await new Promise((resolve) => { waiting.push(resolve) }),
    close: async () => { finish(); await listener.close() }
  }
}

test('a connection whose peer reads nothing is aborted once it queues more than the cap, and counted', async () => {
  const l = await listen()
  const accepted = l.next()
  const peer = net.connect(l.port, '127.0.0.1')
  peer.pause() // reads nothing: the kernel's buffers fill, then the connection's own queue grows
  peer.on('error', () => {})
  const conn = await accepted
  const before = await closedFor('WriteBacklog')
  const chunk = new Uint8Array(4096)
  let sent = 0
  // The kernel takes some MiB on loopback before the queue starts; well past that, the cap must have acted.
  while (conn.status === 'open' && sent < 64 << 20) {
    conn.send(chunk)
    sent += chunk.byteLength
  }
  assert.notEqual(conn.status, 'open', `still open after ${sent} bytes`)
  assert.equal(await closedFor('WriteBacklog') - before, 1)
  assert.ok(sent > MAX_UNSENT_BYTES)
  peer.destroy()
  await l.close()
})

test('a connection whose peer reads is never capped, however much goes through it', async () => {
  const l = await listen()
  const accepted = l.next()
  const peer = net.connect(l.port, '127.0.0.1')
  let received = 0
  peer.on('data', (b: Buffer) => { received += b.length })
  const conn = await accepted as MultiaddrConnection & { socket: net.Socket }
  const chunk = new Uint8Array(64 * 1024)
  for (let i = 0; i < 256; i++) { // 16 MiB, waiting for the socket as a writer on the event loop does
    if (!conn.send(chunk)) await new Promise((resolve) => { conn.socket.once('drain', resolve) })
  }
  while (received < 256 * chunk.byteLength) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(conn.status, 'open')
  peer.destroy()
  await l.close()
})

/** A socket pair on loopback: the server's end, and the peer's (paused unless told). */
async function socketPair (): Promise<{ server: net.Socket, peer: net.Socket, close: () => void }> {
  const srv = net.createServer()
  await new Promise<void>((resolve) => { srv.listen(0, '127.0.0.1', resolve) })
  const accepted = new Promise<net.Socket>((resolve) => { srv.once('connection', resolve) })
  const peer = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1')
  peer.on('error', () => {})
  const server = await accepted
  server.on('error', () => {})
  return { server, peer, close: () => { peer.destroy(); server.destroy(); srv.close() } }
}

/** Writes until the socket takes no more at once. */
function fill (s: net.Socket): void {
  const chunk = Buffer.alloc(64 * 1024)
  while (s.write(chunk));
}

test('writes stuck for the timeout abort the connection; writes that drain in time do not', async () => {
  const stuck = await socketPair()
  stuck.peer.pause()
  const before = await closedFor('WriteTimeout')
  const aborted = new Promise<Error>((resolve) => { writeTimeout(stuck.server, resolve, 200).blocked() })
  fill(stuck.server)
  const err = await aborted
  assert.match(err.message, /read nothing for 200 ms/)
  assert.equal(await closedFor('WriteTimeout') - before, 1)
  stuck.close()

  const slow = await socketPair()
  slow.peer.pause()
  let abortedSlow = false
  const t = writeTimeout(slow.server, () => { abortedSlow = true }, 300)
  fill(slow.server)
  t.blocked()
  await new Promise((resolve) => setTimeout(resolve, 100))
  slow.peer.resume() // reads within the timeout: the socket drains and the timer goes
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.equal(abortedSlow, false)
  slow.close()
})
