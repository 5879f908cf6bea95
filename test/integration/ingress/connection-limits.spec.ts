/**
 * Connections per address: a host that opens sockets and never speaks must not lock other clients
 * out; and a peer that has gone leaves nothing behind. Without the per-address limit, silent sockets held every pending-connection slot for the
 * whole 10 s handshake timeout and honest dials were reset. The attacker here dials from
 * 127.0.0.2 (loopback, made subject to the limit for the test) and the client from 127.0.0.1.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createClientNode, proposeDeal } from '../../../src/client/net.ts'
import { startEnv, type Env } from './env.ts'

const PER_IP = 4

describe('ingress: connections per address', () => {
  let env: Env
  before(async () => { env = await startEnv('ingress-conn-limits', { connectionsPerIp: PER_IP, ipLimitExempt: [] }) })
  after(async () => { await env?.close() })

  const port = (): number => Number(env.addr.split('/')[4])

  /** Opens n sockets from `from` that send nothing; resolves once each is connected or closed. */
  const silent = async (n: number, from: string, to = port()): Promise<Array<{ socket: Socket, closed: () => boolean }>> =>
    await Promise.all(Array.from({ length: n }, async () => {
      let closed = false
      const socket = connect({ port: to, host: '127.0.0.1', localAddress: from })
      socket.on('error', () => {})
      socket.on('close', () => { closed = true })
      await new Promise<void>((resolve) => { socket.once('connect', resolve); socket.once('close', () => { resolve() }) })
      return { socket, closed: () => closed }
    }))

  it('holds one address to its limit, resets the rest at once, and serves other clients meanwhile', async () => {
    // Fewer than libp2p's 20 per second per host, so only the per-address limit can refuse them.
    const socks = await silent(15, '127.0.0.2')
    await sleep(500)
    const open = socks.filter((s) => !s.closed())
    assert.equal(open.length, PER_IP, `sockets still open from the silent host: ${open.length}`)
    try {
      const r = await proposeDeal(env.node, env.addr, await env.params())
      assert.equal(r.accepted, true, r.message)
      const metrics = await (await fetch(`${env.ingress.metricsUrl!}`)).text()
      assert.match(metrics, /dealyard_ingress_connections_refused_total\{reason="PerIpLimit"\} 11/)
    } finally {
      for (const s of socks) s.socket.destroy()
    }
  })

  it('holds 200 connections in their handshake at once, and serves one more', async () => {
    // A burst of `boost deal` clients, each connecting for its one deal: js-libp2p's default of 100
    // handshakes at once reset the rest. 200 / PER_IP addresses, each at the per-address limit.
    const socks = (await Promise.all(Array.from({ length: 200 / PER_IP }, async (_, i) => await silent(PER_IP, `127.0.3.${i + 1}`)))).flat()
    assert.equal(socks.length, 200)
    const node = await createClientNode()
    try {
      await sleep(300)
      assert.equal(socks.filter((s) => s.closed()).length, 0, 'every handshaking connection is held')
      const r = await proposeDeal(node, env.addr, await env.params())
      assert.equal(r.accepted, true, r.message)
    } finally {
      for (const s of socks) s.socket.destroy()
      await node.stop()
    }
  })

  it('refuses connections past the handshake limit at accept, counted, and takes new ones as handshakes end', async () => {
    const replica = await env.startReplica({ maxPendingConnections: 20 })
    const to = Number(replica.host.addresses()[0]!.split('/')[4])
    const refused = async (): Promise<number> =>
      Number(/dealyard_ingress_connections_refused_total\{reason="PendingLimit"\} (\d+)/.exec(await (await fetch(replica.metricsUrl!)).text())?.[1] ?? 0)
    const before = await refused()
    const socks = (await Promise.all(Array.from({ length: 6 }, async (_, i) => await silent(PER_IP, `127.0.4.${i + 1}`, to)))).flat()
    try {
      await sleep(300)
      assert.equal(socks.filter((s) => !s.closed()).length, 20)
      assert.equal(await refused() - before, 4)
    } finally {
      for (const s of socks) s.socket.destroy()
    }
    await sleep(300)
    const r = await proposeDeal(env.node, replica.host.addresses()[0]!, await env.params())
    assert.equal(r.accepted, true, r.message)
  })

  it('counts handshakes towards --max-connections, refuses past it at accept, and closes no open connection to make room', async () => {
    // Loopback exempt from the per-address limits, so only the connection limit can refuse.
    const replica = await env.startReplica({ maxConnections: 5, ipLimitExempt: undefined })
    const at = replica.host.addresses()[0]!
    const to = Number(at.split('/')[4])
    const refused = async (): Promise<number> =>
      Number(/dealyard_ingress_connections_refused_total\{reason="MaxConnections"\} (\d+)/.exec(await (await fetch(replica.metricsUrl!)).text())?.[1] ?? 0)
    // three long-lived clients, idle between requests (no stream open)
    const held = await Promise.all([1, 2, 3].map(async () => await createClientNode()))
    const burst = await Promise.all([1, 2, 3, 4].map(async () => await createClientNode()))
    try {
      for (const n of held) await n.dial(multiaddr(at))
      const before = await refused()
      // four at once: js-libp2p's own limit counted open connections only, let all four in and then
      // closed the connections with the fewest streams, the idle held ones
      const dials = await Promise.allSettled(burst.map(async (n) => await n.dial(multiaddr(at))))
      assert.equal(dials.filter((d) => d.status === 'fulfilled').length, 2, JSON.stringify(dials.map((d) => d.status)))
      assert.equal(await refused() - before, 2)
      await sleep(300)
      for (const n of held) assert.equal(n.getConnections().length, 1, 'a held connection was closed')
      // handshakes count too: with four open, one silent socket takes the last slot
      const silentOne = await silent(2, '127.0.0.1', to)
      await sleep(300)
      assert.equal(silentOne.filter((x) => !x.closed()).length, 0, 'past the limit: both refused')
      await burst.find((n) => n.getConnections().length > 0)!.stop()
      await sleep(300)
      const after = await silent(2, '127.0.0.1', to)
      await sleep(300)
      assert.equal(after.filter((x) => !x.closed()).length, 1, 'one slot freed, one taken')
      for (const x of [...silentOne, ...after]) x.socket.destroy()
      const r = await proposeDeal(held[0]!, at, await env.params())
      assert.equal(r.accepted, true, r.message)
    } finally {
      await Promise.all([...held, ...burst].map(async (n) => await n.stop()))
    }
  })

  it('closes a connection that carries no byte for the inactivity timeout, and keeps one in use', async () => {
    const replica = await env.startReplica({ inactivityTimeoutMs: 1000 })
    const at = replica.host.addresses()[0]!
    // js-yamux pings every 30 s: within the test, silence
    const idle = await createClientNode()
    const busy = await createClientNode()
    try {
      await idle.dial(multiaddr(at))
      await busy.dial(multiaddr(at))
      for (let i = 0; i < 6; i++) {
        await sleep(300)
        assert.equal((await proposeDeal(busy, at, await env.params())).accepted, true)
      }
      assert.equal(busy.getConnections().length, 1, 'a connection in use was closed')
      assert.equal(idle.getConnections().length, 0, 'the idle connection outlived the inactivity timeout')
    } finally {
      await Promise.all([idle.stop(), busy.stop()])
    }
  })

  it('holds one address to its rate of new connections, counted; loopback is exempt by default', async () => {
    const refused = async (metricsUrl: string): Promise<number> =>
      Number(/dealyard_ingress_connections_refused_total\{reason="ConnectionRate"\} (\d+)/.exec(await (await fetch(metricsUrl)).text())?.[1] ?? 0)
    const before = await refused(env.ingress.metricsUrl!)
    // 30 at once from one address: 20 (a second's worth) pass the rate, PER_IP of them are held.
    const socks = await silent(30, '127.0.0.9')
    try {
      await sleep(300)
      assert.equal(socks.filter((s) => !s.closed()).length, PER_IP)
      assert.equal(await refused(env.ingress.metricsUrl!) - before, 10)
    } finally {
      for (const s of socks) s.socket.destroy()
    }
    // The default exemptions (loopback), as go-libp2p's resource manager exempts it.
    const replica = await env.startReplica({ ipLimitExempt: undefined })
    const beforeReplica = await refused(replica.metricsUrl!)
    const many = await silent(60, '127.0.0.10', Number(replica.host.addresses()[0]!.split('/')[4]))
    try {
      await sleep(300)
      assert.equal(many.filter((s) => s.closed()).length, 0)
      assert.equal(await refused(replica.metricsUrl!) - beforeReplica, 0)
    } finally {
      for (const s of many) s.socket.destroy()
    }
  })

  it('holds one address to its proposal rate, refusing the excess with an answer it can act on', async () => {
    const replica = await env.startReplica({ proposalsPerIpPerSecond: 2, ipLimitExempt: [] })
    const node = await createClientNode()
    try {
      const at = replica.host.addresses()[0]!
      const all = await Promise.all(Array.from({ length: 7 }, async () => await env.params()))
      await node.dial(multiaddr(at))
      const answers = await Promise.all(all.map(async (p) => await proposeDeal(node, at, p)))
      // A burst of twice the rate passes; the rest hear why.
      assert.equal(answers.filter((a) => a.accepted).length, 4, JSON.stringify(answers))
      for (const a of answers.filter((a) => !a.accepted)) assert.equal(a.message, 'too many proposals from your address: at most 2 a second (bursts of 4); try again shortly')
      await sleep(600)
      const later = await proposeDeal(node, at, await env.params())
      assert.equal(later.accepted, true, later.message)
    } finally {
      await node.stop()
    }
  })

  it('gives the slots back when the sockets close', async () => {
    await sleep(200)
    const socks = await silent(PER_IP, '127.0.0.2')
    await sleep(500)
    try {
      assert.equal(socks.filter((s) => !s.closed()).length, PER_IP)
    } finally {
      for (const s of socks) s.socket.destroy()
    }
  })

  it('keeps nothing about a peer once its connections are gone', async () => {
    const store = env.ingress.host.node.peerStore
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      // libp2p stores an RSA peer's key while it is connected (its peer ID does not hold it)
      const rsa = i === 0
      const c = await createClientNode(rsa ? await generateKeyPair('RSA', 2048) : undefined)
      try {
        await c.dial(multiaddr(env.addr))
        ids.push(c.peerId.toString())
        // The client's identify has been answered: an inbound stream, whose protocol libp2p would
        // have written into the client's record before the handler ran.
        const until = Date.now() + 5000
        while ((await c.peerStore.get(c.getConnections()[0]!.remotePeer).then((p) => p.protocols, () => [] as string[])).length === 0 && Date.now() < until) await sleep(20)
        if (rsa) {
          while (!(await store.has(c.peerId)) && Date.now() < until) await sleep(20)
          assert.ok(await store.has(c.peerId), 'the RSA peer\'s key is kept while it is connected')
        } else {
          assert.equal(await store.has(c.peerId), false, 'nothing is written about an Ed25519 client')
        }
      } finally {
        await c.stop()
      }
    }
    const until = Date.now() + 5000
    const left = async (): Promise<string[]> => (await store.all()).map((p) => p.id.toString()).filter((id) => ids.includes(id))
    while ((await left()).length > 0 && Date.now() < until) await sleep(50)
    assert.deepEqual(await left(), [])
  })

  it('sends no keepalive ping of its own when a connection opens (the client pings, and is answered)', async () => {
    const c = await createClientNode()
    try {
      // js-yamux's muxer class is not exported: taken from a first connection, its ping handler
      // counts what the dialing side (yamux's client; the ingress's muxers share the class in this
      // process) receives on later connections.
      const first = await c.dial(multiaddr(env.addr))
      type Muxer = { client: boolean, handlePing: (h: { flag: number, length: number }) => void }
      const proto = Object.getPrototypeOf((first as unknown as { muxer: Muxer }).muxer) as Muxer
      const handlePing = proto.handlePing
      let requests = 0
      let answers = 0
      proto.handlePing = function (this: Muxer, h) {
        if (this.client && h.flag === 1) requests++
        if (this.client && h.flag === 2) answers++
        handlePing.call(this, h)
      }
      try {
        await first.close()
        const conn = await c.dial(multiaddr(env.addr))
        assert.notEqual(conn.id, first.id)
        await sleep(500)
        assert.equal(requests, 0, 'the ingress pinged the client')
        assert.equal(answers, 1, 'the client\'s own opening ping was answered')
      } finally {
        proto.handlePing = handlePing
      }
    } finally {
      await c.stop()
    }
  })
})
