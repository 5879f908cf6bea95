/**
 * Bad input over real streams: malformed, truncated and wrongly typed CBOR, a 10 MB message, a
 * stream that sends half a message and stalls, unknown protocol IDs, an invalid UTF-8 label. None
 * gets an answer (boost closes without writing), none creates anything, and the ingress keeps
 * serving good proposals.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { StorageDeals } from '../../../src/api/index.ts'
import { readCborItem, encodeDealParams, PROTOCOL_IDS, ERR_CBOR_DECODE } from '../../../src/protocol/index.ts'
import { proposeDeal } from '../../../src/client/net.ts'
import { startEnv, type Env } from './env.ts'

const READ_DEADLINE_MS = 800

describe('ingress: bad input', () => {
  let env: Env
  before(async () => { env = await startEnv('ingress-bad-input', { limits: { readDeadlineMs: READ_DEADLINE_MS, maxMessageBytes: 1 << 20 } }) })
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

  it('created nothing and still accepts a good proposal', async () => {
    assert.equal(await dealCount(), 0)
    const ok = await proposeDeal(env.node, env.addr, await env.params())
    assert.equal(ok.accepted, true, ok.message)
    assert.equal(await dealCount(), 1)
    const text = await (await fetch(env.ingress.metricsUrl!)).text()
    assert.match(text, new RegExp(`dealyard_ingress_stream_errors_total\\{protocol="/fil/storage/mk/1.2.1",code="${ERR_CBOR_DECODE}"\\} [1-9]`))
    assert.match(text, /dealyard_ingress_stream_errors_total\{protocol="\/fil\/storage\/mk\/1.2.1",code="ERR_STREAM_ABORTED"\} [1-9]/)
  })
})
