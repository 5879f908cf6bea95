/**
 * The two commands as processes: `dealyard ingress` (identity file, flags, /metrics, graceful drain
 * on SIGTERM) and `dealyard client propose|status|ask` against it.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeKeyFile } from '../../../src/filecoin/keys.ts'
import { encodeDealParams, decodeDealResponse, readCborItem, PROTOCOL_IDS } from '../../../src/protocol/index.ts'
import { repoRoot, sharedControlPlane } from '../../support/controlplane.ts'
import { ENV_LABEL, startEnv, randomPiece, ROOT, SEAL_EPOCHS, type Env } from './env.ts'
import { createClientNode } from '../../../src/client/net.ts'
import { StorageDeals, type StorageDeal } from '../../../src/api/index.ts'

const run = promisify(execFile)
const main = join(repoRoot, 'src/cli/main.ts')

describe('dealyard ingress and dealyard client as processes', () => {
  let env: Env
  let dir: string
  let proc: ChildProcess
  let info: { peerId: string, addresses: string[], metrics: string }
  let exited: Promise<number | null>

  before(async () => {
    env = await startEnv('ingress-cli')
    dir = await mkdtemp(join(tmpdir(), 'dealyard-ingress-cli-'))
    await writeFile(join(dir, 'client.key'), encodeKeyFile(env.client.key))
    const plane = await sharedControlPlane()
    const gen = await run(process.execPath, [main, 'ingress', '--generate-identity', join(dir, 'id.key')])
    assert.match(gen.stdout.trim(), /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/)
    proc = spawn(process.execPath, [main, 'ingress', '--identity-file', join(dir, 'id.key'), '--kubeconfig', plane.kubeconfig,
      '--namespace', env.namespace, '--listen', '/ip4/127.0.0.1/tcp/0', '--metrics-addr', '127.0.0.1:0', '--allow-cidr', '127.0.0.0/8',
      '--ask-signer', 'none', '--provider-selector', `${ENV_LABEL}=${env.namespace}`, '--max-pending-connections', '40'], { stdio: ['ignore', 'pipe', 'pipe'] })
    exited = new Promise((resolve) => proc.once('exit', (code) => { resolve(code) }))
    info = await new Promise((resolve, reject) => {
      let out = ''
      proc.stdout!.on('data', (b: Buffer) => {
        out += b.toString()
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (line !== undefined) resolve(JSON.parse(line))
      })
      void exited.then((code) => { reject(new Error(`ingress exited ${code}`)) })
    })
    assert.equal(info.peerId, gen.stdout.trim())
  })
  after(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL')
    await env?.close()
  })

  const client = async (...args: string[]): Promise<{ code: number, out: unknown }> => {
    try {
      const r = await run(process.execPath, [main, 'client', ...args, '--provider-addr', info.addresses[0]!])
      return { code: 0, out: JSON.parse(r.stdout) }
    } catch (err) {
      const e = err as { code: number, stdout: string, stderr: string }
      return { code: e.code, out: e.stdout !== '' ? JSON.parse(e.stdout) : e.stderr }
    }
  }

  it('proposes an online deal, reads its status and the ask through the client CLI', async () => {
    const head = (await env.full.chainHead()).height
    const p = await client('propose', '--wallet-key', join(dir, 'client.key'), '--provider', env.peer.minerAddress,
      '--piece-cid', randomPiece(), '--piece-size', '2048', '--payload-cid', ROOT, '--start-epoch', String(head + SEAL_EPOCHS + 20),
      '--storage-price', String(2 ** 30), '--provider-collateral', '2000 attofil', '--http-url', 'http://127.0.0.1:9/a.car',
      '--http-header', 'Authorization: Bearer t', '--car-size', '1900')
    const r = p.out as { dealUuid: string, accepted: boolean, message: string }
    assert.equal(p.code, 0, JSON.stringify(p.out))
    assert.equal(r.accepted, true)
    // The price is per GiB per epoch, as boost deal takes it: a 2 KiB piece at 2^30 attoFIL per GiB.
    const deal = await env.rest.get<StorageDeal>(StorageDeals, env.namespace, r.dealUuid)
    assert.equal(deal.spec.proposal.storagePricePerEpoch, '2048')
    const s = await client('status', '--wallet-key', join(dir, 'client.key'), '--uuid', r.dealUuid)
    assert.equal(s.code, 0)
    assert.equal((s.out as { dealStatus: { status: string } }).dealStatus.status, 'Accepted')
    const a = await client('ask', '--provider', env.peer.minerAddress)
    assert.equal((a.out as { signed: boolean, ask: { seqNo: number } }).ask.seqNo, 3)
    assert.equal((a.out as { signed: boolean }).signed, false)
    // A miner the provider does not serve: a null ask, exit 1, and a line saying so.
    const none = await run(process.execPath, [main, 'client', 'ask', '--provider', 'f099999', '--provider-addr', info.addresses[0]!])
      .then(() => undefined, (err: { code: number, stdout: string, stderr: string }) => err)
    assert.equal(none?.code, 1)
    assert.deepEqual(JSON.parse(none.stdout), { ask: null })
    assert.match(none.stderr, /^dealyard client ask: the provider at \S+ has no ask for miner f099999/)
  })

  it('finds the provider where the chain says it is (StateMinerInfo), without --provider-addr, as boost deal does', async () => {
    // The miner's on-chain info as `lotus-miner actor set-peer-id` and `set-addrs` leave it: the
    // first address dead, the second the ingress's, neither naming the peer.
    const live = multiaddr(info.addresses[0]!).decapsulateCode(421) // /p2p
    await env.peer.seed({ peerId: info.peerId, multiaddrs: [multiaddr('/ip4/127.0.0.1/tcp/9'), live].map((m) => Buffer.from(m.bytes).toString('base64')) })
    const r = await run(process.execPath, [main, 'client', 'ask', '--provider', env.peer.minerAddress, '--full-node', env.peer.fullNode.url,
      ...(env.peer.fullNode.token !== undefined ? ['--full-node-token', env.peer.fullNode.token] : [])])
    assert.equal((JSON.parse(r.stdout) as { ask: { seqNo: number } }).ask.seqNo, 3)
    // Neither a way to find the provider: named before anything is sent.
    const none = await run(process.execPath, [main, 'client', 'ask', '--provider', env.peer.minerAddress]).then(() => undefined, (err: { code: number, stderr: string }) => err)
    assert.equal(none?.code, 2)
    assert.match(none.stderr, /^dealyard client ask: --provider-addr is required \(or --provider with --full-node, to find the provider on chain\)/)
  })

  it('holds --max-pending-connections handshakes at once (loopback is exempt from the per-address limits)', async () => {
    const port = Number(info.addresses[0]!.split('/')[4])
    const socks = await Promise.all(Array.from({ length: 45 }, async () => {
      const socket = connect({ port, host: '127.0.0.1' })
      let closed = false
      socket.on('error', () => {})
      socket.on('close', () => { closed = true })
      await new Promise<void>((resolve) => { socket.once('connect', resolve); socket.once('close', () => { resolve() }) })
      return { socket, closed: () => closed }
    }))
    try {
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(socks.filter((s) => !s.closed()).length, 40)
    } finally {
      for (const s of socks) s.socket.destroy()
    }
  })

  it('exits 1 with the rejection when the proposal is refused', async () => {
    const p = await client('propose', '--wallet-key', join(dir, 'client.key'), '--provider', env.peer.minerAddress,
      '--piece-cid', randomPiece(), '--piece-size', '3000', '--payload-cid', ROOT, '--start-epoch', '999999', '--provider-collateral', '2000 attofil')
    assert.equal(p.code, 1)
    assert.match((p.out as { message: string }).message, /padded piece size must be a power of 2/)
  })

  it('exits 2 naming the mistake for an unknown command or a provider address that is not a multiaddr', async () => {
    const usage = async (...args: string[]): Promise<{ code: number, stderr: string }> =>
      await run(process.execPath, [main, 'client', ...args]).then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => ({ code: err.code, stderr: err.stderr }))
    const unknown = await usage('frob', '--provider-addr', info.addresses[0]!)
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /^dealyard client: unknown command "frob" \(one of propose, status, ask, transports\)/)
    const bad = await usage('ask', '--provider', env.peer.minerAddress, '--provider-addr', '1.2.3.4:24001')
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^dealyard client ask: --provider-addr "1.2.3.4:24001" is not a multiaddr/)
    // Proposal flags: each mistake named by its flag, before anything is sent.
    const propose = async (...extra: string[]): Promise<{ code: number, stderr: string }> => await usage('propose', '--provider-addr', info.addresses[0]!,
      '--wallet-key', join(dir, 'client.key'), '--provider', env.peer.minerAddress, '--piece-size', '2048', '--start-epoch', '999999',
      '--piece-cid', randomPiece(), '--payload-cid', ROOT, '--provider-collateral', '2000', ...extra)
    const epoch = await propose('--start-epoch', '1e6')
    assert.equal(epoch.code, 2)
    assert.match(epoch.stderr, /^dealyard client propose: --start-epoch must be a non-negative integer, got "1e6"/)
    const piece = await propose('--piece-cid', 'bafynotacid')
    assert.equal(piece.code, 2)
    assert.match(piece.stderr, /^dealyard client propose: --piece-cid "bafynotacid" is not a CID: /)
    const notPiece = await propose('--piece-cid', ROOT)
    assert.equal(notPiece.code, 2)
    assert.match(notPiece.stderr, /^dealyard client propose: --piece-cid bafy\w+ is not a piece CID/)
    const uuid = await propose('--uuid', 'xyz')
    assert.deepEqual([uuid.code, uuid.stderr.split('\n')[0]], [2, 'dealyard client propose: --uuid "xyz" is not a UUID (e.g. 0b5a4f3e-7d0c-4b7e-9a52-3f1d8c2e6a10)'])
    const price = await propose('--storage-price', '0.5')
    assert.deepEqual([price.code, price.stderr.split('\n')[0]], [2, 'dealyard client propose: --storage-price "0.5": an integer number of attoFIL, or an amount with its unit (e.g. "0.5 FIL")'])
    const miner = await propose('--provider', 'bogus')
    assert.equal(miner.code, 2)
    assert.match(miner.stderr, /^dealyard client propose: --provider "bogus" is not a Filecoin address: /)
    const noCollateral = await usage('propose', '--provider-addr', info.addresses[0]!, '--wallet-key', join(dir, 'client.key'), '--provider', env.peer.minerAddress,
      '--piece-size', '2048', '--start-epoch', '999999', '--piece-cid', randomPiece(), '--payload-cid', ROOT, '--storage-price', '0')
    assert.deepEqual([noCollateral.code, noCollateral.stderr.split('\n')[0]], [2, 'dealyard client propose: --provider-collateral is needed without --full-node (with it, the chain minimum + 20% is proposed)'])
    // Checked before anything is dialled: an unreachable provider and a dead Lotus change nothing.
    const deadProvider = info.addresses[0]!.replace(/\/tcp\/\d+/, '/tcp/9')
    const early = await usage('propose', '--provider-addr', deadProvider, '--wallet-key', join(dir, 'client.key'), '--provider', env.peer.minerAddress,
      '--piece-size', '2048', '--piece-cid', 'nope', '--payload-cid', ROOT, '--full-node', 'http://127.0.0.1:9/rpc/v1')
    assert.deepEqual([early.code, early.stderr.split('\n')[0]!.slice(0, 58)], [2, 'dealyard client propose: --piece-cid "nope" is not a CID: '])
    const earlyUuid = await usage('status', '--provider-addr', deadProvider, '--wallet-key', join(dir, 'client.key'), '--uuid', 'xyz')
    assert.equal(earlyUuid.code, 2)
    const status = await usage('status', '--provider-addr', info.addresses[0]!, '--wallet-key', join(dir, 'client.key'), '--uuid', 'not-a-uuid')
    assert.deepEqual([status.code, status.stderr.split('\n')[0]], [2, 'dealyard client status: --uuid "not-a-uuid" is not a UUID (e.g. 0b5a4f3e-7d0c-4b7e-9a52-3f1d8c2e6a10)'])
  })

  it('exits 1 when it cannot start, rather than run on half started', async () => {
    const plane = await sharedControlPlane()
    const start = async (...extra: string[]): Promise<{ code: number | null, stderr: string, ms: number }> => {
      const t0 = Date.now()
      try {
        await run(process.execPath, [main, 'ingress', '--identity-file', join(dir, 'id.key'), '--kubeconfig', plane.kubeconfig,
          '--namespace', env.namespace, '--listen', '/ip4/127.0.0.1/tcp/0', '--ask-signer', 'none', '--provider-selector', `${ENV_LABEL}=${env.namespace}`, ...extra], { timeout: 20_000 })
        return { code: 0, stderr: '', ms: Date.now() - t0 }
      } catch (err) {
        const e = err as { code: number | null, signal?: string, stderr: string }
        return { code: e.signal === 'SIGTERM' ? null : e.code, stderr: e.stderr, ms: Date.now() - t0 }
      }
    }
    // The metrics port is taken (by the running ingress): found only after the informers and the
    // libp2p host have started, which used to keep the process alive.
    const taken = new URL(info.metrics).host
    const busy = await start('--metrics-addr', taken)
    assert.equal(busy.code, 1, `still running after ${busy.ms} ms`)
    assert.match(busy.stderr, /EADDRINUSE/)
    const garbage = await start('--metrics-addr', 'garbage')
    assert.equal(garbage.code, 1)
    assert.match(garbage.stderr, /metrics address "garbage" is not host:port/)
    // A selector the apiserver cannot parse used to leave the process up, its informer retrying.
    const selector = await start('--metrics-addr', '127.0.0.1:0', '--provider-selector', 'tier in (a')
    assert.equal(selector.code, 1, `still running after ${selector.ms} ms`)
    assert.match(selector.stderr, /provider selector "tier in \(a": .*unable to parse requirement/)
    const lease = await start('--metrics-addr', '127.0.0.1:0', '--provider-status-lease', 'Bad_Name')
    assert.equal(lease.code, 1)
    assert.match(lease.stderr, /--provider-status-lease must be a Lease name/)
    // Number() reads '' as 0 and takes 1e3 and 0x10: digits only.
    for (const bad of ['', '1e3', '0x10']) {
      const r = await start('--metrics-addr', '127.0.0.1:0', '--inbound-connection-rate', bad)
      assert.equal(r.code, 1)
      assert.match(r.stderr, new RegExp(`--inbound-connection-rate must be a whole number ≥ 0, got ${bad}\n`))
    }
    for (const bad of ['ten', '1.5', '1001']) {
      const r = await start('--metrics-addr', '127.0.0.1:0', '--stack-trace-limit', bad)
      assert.equal(r.code, 1)
      assert.match(r.stderr, bad === '1001' ? /--stack-trace-limit must be at most 1000, got 1001\n/ : new RegExp(`--stack-trace-limit must be a whole number ≥ 0, got ${bad.replace(".", "\\.")}\n`))
    }
  })

  it('serves /metrics', async () => {
    assert.match(await (await fetch(info.metrics)).text(), /dealyard_proposals_total\{provider="[^"]+",result="accepted",reason=""\} 1/)
  })

  it('drains on SIGTERM: a proposal in flight is still answered, new streams and connections are refused, exit 0', async () => {
    const params = await env.params()
    const bytes = encodeDealParams(params)
    const s = await env.node.dialProtocol(multiaddr(info.addresses[0]!), PROTOCOL_IDS.dealProposal121)
    s.send(bytes.subarray(0, 50))
    await new Promise((resolve) => setTimeout(resolve, 200))
    proc.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 300))
    // A new stream is reset: not told its protocol is unsupported, which it is not (a client would
    // give up on this provider rather than retry).
    await assert.rejects(async () => {
      const s2 = await env.node.dialProtocol(multiaddr(info.addresses[0]!), PROTOCOL_IDS.dealProposal121)
      s2.send(bytes)
      await readCborItem(s2, { signal: AbortSignal.timeout(5000) })
    }, (err: Error) => !/protocol selection failed|could not negotiate|unsupported/i.test(`${err.name} ${err.message}`) && err.name !== 'TimeoutError')
    // A new connection is refused at accept: a client dials another replica at once.
    const fresh = await createClientNode()
    try {
      await assert.rejects(fresh.dial(multiaddr(info.addresses[0]!), { signal: AbortSignal.timeout(5000) }), (err: Error) => err.name !== 'TimeoutError' && err.name !== 'AbortError')
    } finally {
      await fresh.stop()
    }
    s.send(bytes.subarray(50))
    const res = decodeDealResponse(await readCborItem(s, { signal: AbortSignal.timeout(10_000) }))
    assert.equal(res.accepted, true, res.message)
    assert.equal(await exited, 0)
  })
})
