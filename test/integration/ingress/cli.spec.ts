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
import { KubeConfig } from '@kubernetes/client-node'
import { encodeKeyFile } from '../../../src/filecoin/keys.ts'
import { encodeDealParams, decodeDealResponse, readCborItem, PROTOCOL_IDS } from '../../../src/protocol/index.ts'
import { repoRoot, sharedControlPlane } from '../../support/controlplane.ts'
import { ENV_LABEL, startEnv, randomPiece, ROOT, SEAL_EPOCHS, type Env } from './env.ts'
import { createClientNode } from '../../../src/client/net.ts'
import { StorageDeals, StorageProviders, type StorageDeal } from '../../../src/api/index.ts'

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
    // Its reader gone before it writes (`| true`): the answer is lost, not the exit status.
    const closed = spawn(process.execPath, [main, 'client', 'ask', '--provider', env.peer.minerAddress, '--provider-addr', info.addresses[0]!], { stdio: ['ignore', 'pipe', 'pipe'] })
    closed.stdout.destroy()
    let closedErr = ''
    closed.stderr.on('data', (d: Buffer) => { closedErr += d.toString() })
    assert.deepEqual([await new Promise((resolve) => closed.once('exit', resolve)), closedErr], [0, ''])
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
    // Lotus's own form, as lotus and boost read it from FULLNODE_API_INFO.
    const lotus = new URL(env.peer.fullNode.url)
    const apiInfo = `${env.peer.fullNode.token !== undefined ? `${env.peer.fullNode.token}:` : ''}/ip4/${lotus.hostname}/tcp/${lotus.port}/http`
    const viaEnv = await run(process.execPath, [main, 'client', 'ask', '--provider', env.peer.minerAddress], { env: { ...process.env, FULLNODE_API_INFO: apiInfo } })
    assert.equal((JSON.parse(viaEnv.stdout) as { ask: { seqNo: number } }).ask.seqNo, 3)
    // A list, as lotus reads it (the first is used); and a malformed one does not stop a command that needs no Lotus.
    const list = await run(process.execPath, [main, 'client', 'ask', '--provider', env.peer.minerAddress], { env: { ...process.env, FULLNODE_API_INFO: `${apiInfo},${apiInfo}` } })
    assert.equal((JSON.parse(list.stdout) as { ask: { seqNo: number } }).ask.seqNo, 3)
    const unneeded = await run(process.execPath, [main, 'client', 'transports', '--provider-addr', info.addresses[0]!], { env: { ...process.env, FULLNODE_API_INFO: 'a.b.c:/nonsense' } })
    assert.ok((JSON.parse(unneeded.stdout) as { protocols: unknown[] }).protocols.length > 0)
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
      '--piece-cid', randomPiece(), '--piece-size', '2048', '--payload-cid', ROOT, '--start-epoch', '1', '--provider-collateral', '2000 attofil')
    assert.equal(p.code, 1)
    assert.equal((p.out as { accepted: boolean }).accepted, false)
    assert.match((p.out as { message: string }).message, /start epoch/)
  })

  it('takes the price from the ask only for the miner proposed to and within --max-storage-price, and prints the terms it signed', async (t) => {
    // The environment's ask is free: a price for this test, until the ingress serves it.
    const askPrice = 1n << 30n
    const setPrice = async (price: bigint): Promise<void> => {
      await env.rest.mergePatch(StorageProviders, undefined, env.sp.metadata!.name!, { spec: { ask: { price: price.toString() } } })
      for (let i = 0; ; i++) {
        const a = await client('ask', '--provider', env.peer.minerAddress)
        if (BigInt((a.out as { ask: { price: string } }).ask.price) === price) return
        if (i > 100) assert.fail('the ingress never served the new ask')
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    await setPrice(askPrice)
    t.after(async () => { await setPrice(0n) })
    const head = (await env.full.chainHead()).height
    const flags = ['propose', '--wallet-key', join(dir, 'client.key'), '--provider', env.peer.minerAddress, '--piece-cid', randomPiece(),
      '--piece-size', '2048', '--payload-cid', ROOT.toUpperCase(), '--start-epoch', String(head + SEAL_EPOCHS + 20), '--provider-collateral', '2000']
    const capped = await client(...flags, '--max-storage-price', String(askPrice - 1n))
    assert.equal(capped.code, 1)
    assert.match(capped.out as string, new RegExp(`the provider asks ${askPrice} attoFIL per GiB per epoch, above --max-storage-price ${askPrice - 1n}`))
    const p = await client(...flags, '--max-storage-price', String(askPrice))
    assert.equal(p.code, 0, JSON.stringify(p.out))
    const out = p.out as { dealUuid: string, accepted: boolean, proposal: { priceFrom: string, pricePerGiBPerEpoch: string, storagePricePerEpoch: string, label: string, offline: boolean } }
    assert.deepEqual([out.accepted, out.proposal.priceFrom, out.proposal.pricePerGiBPerEpoch, out.proposal.offline], [true, 'ask', askPrice.toString(), true])
    const deal = await env.rest.get<StorageDeal>(StorageDeals, env.namespace, out.dealUuid)
    assert.equal(deal.spec.proposal.storagePricePerEpoch, out.proposal.storagePricePerEpoch)
    assert.equal(BigInt(out.proposal.storagePricePerEpoch), askPrice * 2048n / (1n << 30n))
    // The label is the payload CID as go-cid writes it (boost's label), not as it was typed.
    assert.equal(out.proposal.label, ROOT)
  })

  it('exits 3, printing the deal UUID, when the proposal went out and no answer came back', async () => {
    const { createLibp2p } = await import('libp2p')
    const { tcp } = await import('@libp2p/tcp')
    const { noise } = await import('@chainsafe/libp2p-noise')
    const { yamux } = await import('@chainsafe/libp2p-yamux')
    const { identify } = await import('@libp2p/identify')
    // A provider that reads the proposal and resets the stream: the deal may or may not exist.
    const hostile = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } })
    let read = 0
    await hostile.handle([PROTOCOL_IDS.dealProposal121, PROTOCOL_IDS.dealProposal120], async (stream) => {
      for await (const chunk of stream) { read += chunk.byteLength; if (read > 100) break }
      stream.abort(new Error('gone'))
    })
    try {
      const r = await run(process.execPath, [main, 'client', 'propose', '--provider-addr', hostile.getMultiaddrs()[0]!.toString(), '--wallet-key', join(dir, 'client.key'),
        '--provider', env.peer.minerAddress, '--piece-cid', randomPiece(), '--piece-size', '2048', '--payload-cid', ROOT, '--start-epoch', '999999',
        '--storage-price', '0', '--provider-collateral', '0', '--uuid', '0b5a4f3e-7d0c-4b7e-9a52-3f1d8c2e6a10'])
        .then(() => undefined, (err: { code: number, stdout: string, stderr: string }) => err)
      assert.ok(read > 100)
      assert.equal(r?.code, 3, r?.stderr)
      const out = JSON.parse(r.stdout) as { dealUuid: string, accepted: unknown }
      assert.deepEqual([out.dealUuid, out.accepted], ['0b5a4f3e-7d0c-4b7e-9a52-3f1d8c2e6a10', null])
      assert.match(r.stderr, /the proposal was sent and no answer came back .*deal 0b5a4f3e-7d0c-4b7e-9a52-3f1d8c2e6a10 may have been accepted; ask with `dealyard client status --uuid 0b5a4f3e-7d0c-4b7e-9a52-3f1d8c2e6a10`/)
    } finally { await hostile.stop() }
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
    // Round 35: each of these was sent (or dropped a flag) and exited 0 or 1.
    const firstLine = (r: { code: number, stderr: string }): [number, string] => [r.code, r.stderr.split('\n')[0]!]
    assert.deepEqual(firstLine(await usage('ask', '--provider', env.peer.minerAddress, '--provider-addr', deadProvider.replace(/\/p2p\/.*/, ''))),
      [2, `dealyard client ask: --provider-addr ${deadProvider.replace(/\/p2p\/.*/, '')} names no peer ID: end it with /p2p/<the provider's peer ID> (boost's client dials the miner's on-chain peer ID)`])
    assert.equal((await usage('ask', '--provider', env.peer.minerAddress, '--provider-addr', '/ip4/127.0.0.1/tcp/9/p2p/notapeer')).code, 2)
    assert.deepEqual(firstLine(await propose('--piece-size', '3000')), [2, 'dealyard client propose: --piece-size must be a padded piece size (a power of two, at least 128), got 3000'])
    assert.deepEqual(firstLine(await propose('--piece-size', '18446744073709551616')), [2, 'dealyard client propose: --piece-size 18446744073709551616 is too large (at most 9007199254740991)'])
    assert.deepEqual(firstLine(await propose('--v120', '--skip-ipni-announce')), [2, 'dealyard client propose: --v120 sends mk/1.2.0\'s five-key DealParams, which has no --skip-ipni-announce or --remove-unsealed-copy: they would be dropped'])
    assert.deepEqual(firstLine(await propose('--car-size', '100')), [2, 'dealyard client propose: --http-header and --car-size describe an online deal\'s download: give --http-url too (without it the deal is offline)'])
    assert.deepEqual(firstLine(await propose('--http-url', 'http://127.0.0.1:9/a.car', '--car-size', '0')), [2, 'dealyard client propose: --car-size must be the CAR file\'s size in bytes (at least 1)'])
    assert.deepEqual(firstLine(await propose('--http-url', '', '--car-size', '10')), [2, 'dealyard client propose: --http-url must be an http(s) URL with a host'])
    assert.deepEqual(firstLine(await propose('--http-url', 'ftp://h/a.car', '--car-size', '10')), [2, 'dealyard client propose: --http-url must be an http(s) URL with a host'])
    assert.deepEqual(firstLine(await propose('--http-url', 'http://h/a.car', '--car-size', '10', '--http-header', 'X-A: 1', '--http-header', 'x-a=2')),
      [2, 'dealyard client propose: --http-header x-a is given twice (as X-A too): the provider would send only one of them'])
    assert.equal((await propose('--http-url', 'http://h/a.car', '--car-size', '10', '--http-header', 'X-A: 1\r\nX-B: 2')).code, 2)
    assert.deepEqual(firstLine(await propose('--start-epoch', '9007199254500000')), [2, 'dealyard client propose: --start-epoch + --duration is past any epoch the chain will reach'])
    // Lotus API info where a URL goes: refused without printing the token (it was printed, lowercased).
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJBbGxvdyI6WyJyZWFkIl19.dG9wc2VjcmV0'
    const apiInfo = await usage('ask', '--provider', env.peer.minerAddress, '--full-node', `${token}:/ip4/127.0.0.1/udp/9`)
    assert.equal(apiInfo.code, 2)
    assert.ok(!apiInfo.stderr.toLowerCase().includes('dg9wc2vjcmv0'), apiInfo.stderr)
    const password = await usage('ask', '--provider', env.peer.minerAddress, '--full-node', 'http://user:s3cret@127.0.0.1:9/rpc/v1')
    assert.equal(password.code, 2)
    assert.ok(!password.stderr.includes('s3cret'), password.stderr)
    // Round 38: flags that were ignored beside others, and a header's value echoed in the refusal.
    assert.deepEqual(firstLine(await propose('--storage-price', '10', '--max-storage-price', '5')), [2, 'dealyard client propose: --storage-price 10 is above --max-storage-price 5'])
    assert.deepEqual(firstLine(await propose('--start-offset', '10')), [2, 'dealyard client propose: --start-offset counts from the head, which --start-epoch does not read: give one of them'])
    assert.deepEqual(firstLine(await propose('--full-node-token', 'abc')), [2, 'dealyard client propose: --full-node-token goes with --full-node'])
    const header = await propose('--http-url', 'http://h/a.car', '--car-size', '10', '--http-header', 'Authorization Bearer SECRET9')
    assert.equal(header.code, 2)
    assert.ok(!header.stderr.includes('SECRET9'), header.stderr)
    // A user and password in FULLNODE_API_INFO's URL would be dropped without a word: refused, unrepeated.
    const userinfo = await run(process.execPath, [main, 'client', 'ask', '--provider', env.peer.minerAddress], { env: { ...process.env, FULLNODE_API_INFO: 'http://user:SECRETPW@127.0.0.1:9' } })
      .then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => err)
    assert.equal(userinfo.code, 2)
    assert.ok(!userinfo.stderr.includes('SECRETPW'), userinfo.stderr)
    // An unquoted value's second half is not repeated.
    const unquoted = await propose('--http-url', 'http://h/a.car', '--car-size', '10', '--http-header', 'X-Api-Key:', 'SECRET10')
    assert.equal(unquoted.code, 2)
    assert.ok(!unquoted.stderr.includes('SECRET10'), unquoted.stderr)
    // The command first; flags before it were read as stray arguments.
    assert.deepEqual(firstLine(await usage('--provider-addr', info.addresses[0]!, 'ask')), [2, 'dealyard client: the command comes first (dealyard client <propose|status|ask|transports> [flags]), got "--provider-addr"'])
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
    // A deals namespace that does not exist used to show first as the first client's "save to db".
    const ns = await start('--metrics-addr', '127.0.0.1:0', '--namespace', 'no-such-deals-ns')
    assert.equal(ns.code, 1, `still running after ${ns.ms} ms`)
    assert.match(ns.stderr, /deals namespace "no-such-deals-ns": .*namespaces "no-such-deals-ns" not found/)
    // Nor may it run where RBAC refuses it the params Secrets (a ServiceAccount without the chart's Role).
    const kc = new KubeConfig()
    kc.loadFromFile(plane.kubeconfig)
    Object.assign(kc.getCurrentUser()!, { impersonateUser: `system:serviceaccount:${env.namespace}:nobody` })
    const nobody = join(dir, 'nobody.kubeconfig')
    await writeFile(nobody, kc.exportConfig())
    const rbac = await start('--metrics-addr', '127.0.0.1:0', '--kubeconfig', nobody)
    assert.equal(rbac.code, 1, `still running after ${rbac.ms} ms`)
    assert.match(rbac.stderr, new RegExp(`deals namespace "${env.namespace}": .*cannot create resource "secrets"`))
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
    // The two deals the tests above had accepted.
    assert.match(await (await fetch(info.metrics)).text(), /dealyard_proposals_total\{provider="[^"]+",result="accepted",reason=""\} 2/)
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
