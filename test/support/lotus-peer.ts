/**
 * Start and stop the Lotus peer (test/peers/lotus: go-jsonrpc full node + lotus-miner double) from
 * test code: one call each. The binary is built from the Go module proxy by its build.sh and
 * cached outside the repository. The peer exits when our end of its stdin closes, so a test runner
 * that dies leaves nothing running.
 */
import { spawn } from 'node:child_process'
import { writeFile, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RpcEndpoint } from '../../src/lotus/index.ts'
import { cachedBinary } from './build.ts'


export interface LotusPeerOptions {
  /** Time between epochs (default 1000 ms). */
  blockTimeMs?: number
  startHeight?: number
  minerId?: number
  network?: 'testnet' | 'mainnet'
  networkVersion?: number
  /** lotus-miner's StartEpochSealingBuffer (default 480, as Lotus). */
  startEpochSealingBuffer?: number
  sealEpochsPerState?: number
  waitDealsEpochs?: number
  /** Accounts, escrow, DataCap, miner peer ID at startup (same shape as seed()). */
  seed?: LotusPeerSeed
}

export interface SeedAccount {
  /** f1/t1 or f3/t3 key address, or an f410/t410 address (a delegated actor: see `actor`). */
  address: string
  /**
   * f410 addresses only: how the actor answers AuthenticateMessage (the peer's StateCall and its
   * market's publish check). ethaccount (the default): exit 0 and no return, as builtin-actors'
   * EthAccount; contract-accepts: exit 0 and CBOR true; contract-refuses: exit 33 (a revert).
   */
  actor?: 'ethaccount' | 'contract-accepts' | 'contract-refuses'
  /** attoFIL, as decimal strings or bigints. */
  balance?: bigint | string
  escrow?: bigint | string
  locked?: bigint | string
  datacap?: bigint | string
}

export interface LotusPeerSeed {
  accounts?: SeedAccount[]
  minerEscrow?: bigint | string
  peerId?: string
  /** Base64 binary multiaddrs (the on-chain form). */
  multiaddrs?: string[]
}

export interface FaultKnobs {
  target?: 'full' | 'miner' | 'both'
  reset?: boolean
  latencyMs?: number
  /** Fraction of calls answered HTTP 503. */
  errorRate?: number
  /** Connections are reset for this long, from now. */
  outageMs?: number
  /** The next `times` calls of `method` fail: transport = 503, drop = reset before running,
   *  after = run then reset (the reply is lost), rpc = JSON-RPC error. */
  failMethod?: { method: string, times: number, mode?: 'transport' | 'drop' | 'after' | 'rpc' }
}

export interface Introspection {
  height: number
  messages: Array<{ cid: string, signedCid: string, from: string, to: string, method: number, nonce: number, msgUuid?: string, included: number, executed: number, exitCode: number }>
  publishes: Record<string, number>
  publishLog: Array<{ proposalCid: string, dealId?: number, valid: boolean, reason?: string, epoch: number }>
  deals: Record<string, { proposalCid: string, sectorStartEpoch: number, sector: number }>
  pieces: Array<{ sector: number, offset: number, size: number, pieceCid: string, dealId: number, receivedBytes: number }>
  rejects: string[]
  calls: Record<string, number>
  injected: Record<string, number>
}

export interface LotusPeer {
  fullNode: RpcEndpoint
  miner: RpcEndpoint
  /** A full-node token with only `read`. */
  readToken: string
  introspectUrl: string
  adminUrl: string
  minerAddress: string
  /** The worker's ID address and its secp256k1 key address (held by the node's wallet). */
  workerAddress: string
  workerKey: string
  seed (s: LotusPeerSeed): Promise<{ accounts: Array<{ address: string, id: string }> }>
  faults (f: FaultKnobs): Promise<void>
  /** Advance the chain by n epochs now. */
  advance (epochs: number): Promise<number>
  introspect (): Promise<Introspection>
  stop (): Promise<void>
}

/** Builds (or finds in the cache) the peer binary and returns its path. */
export async function buildLotusPeer (): Promise<string> {
  if (process.env.DEALYARD_LOTUS_PEER_BIN != null) return process.env.DEALYARD_LOTUS_PEER_BIN
  return await cachedBinary('test/peers/lotus/build.sh')
}

function seedJson (s: LotusPeerSeed): string {
  return JSON.stringify(s, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
}

async function post (url: string, body: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
  const text = await res.text()
  if (!res.ok) throw new Error(`lotus peer ${url}: HTTP ${res.status}: ${text}`)
  return JSON.parse(text)
}

interface ReadyLine {
  fullNode: RpcEndpoint, miner: RpcEndpoint, readToken: string, introspectUrl: string, adminUrl: string,
  minerAddress: string, workerAddress: string, workerKey: string
}

export async function startLotusPeer (opts: LotusPeerOptions = {}): Promise<LotusPeer> {
  const bin = await buildLotusPeer()
  const args = ['--exit-on-stdin-close', `--block-time=${opts.blockTimeMs ?? 1000}ms`]
  if (opts.startHeight !== undefined) args.push(`--start-height=${opts.startHeight}`)
  if (opts.minerId !== undefined) args.push(`--miner-id=${opts.minerId}`)
  if (opts.network !== undefined) args.push(`--network=${opts.network}`)
  if (opts.networkVersion !== undefined) args.push(`--network-version=${opts.networkVersion}`)
  if (opts.startEpochSealingBuffer !== undefined) args.push(`--start-epoch-sealing-buffer=${opts.startEpochSealingBuffer}`)
  if (opts.sealEpochsPerState !== undefined) args.push(`--seal-epochs-per-state=${opts.sealEpochsPerState}`)
  if (opts.waitDealsEpochs !== undefined) args.push(`--wait-deals-epochs=${opts.waitDealsEpochs}`)
  if (opts.seed !== undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'dealyard-lotus-'))
    const file = join(dir, 'seed.json')
    await writeFile(file, seedJson(opts.seed))
    args.push(`--seed=${file}`)
  }
  // stdin stays a pipe we never close: when this process dies the peer sees EOF and exits.
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  const line = await new Promise<string | undefined>((resolve) => {
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString()
      const m = /^ready (.*)$/m.exec(output)
      if (m !== null) resolve(m[1])
    })
    child.stderr.on('data', (b: Buffer) => { output += b.toString() })
    void exited.then(() => { resolve(undefined) })
  })
  if (line === undefined) throw new Error(`lotus peer did not start:\n${output.slice(-4000)}`)
  const info = JSON.parse(line) as ReadyLine
  return {
    ...info,
    seed: async (s) => await post(`${info.adminUrl}/seed`, seedJson(s)) as { accounts: Array<{ address: string, id: string }> },
    faults: async (f) => { await post(`${info.adminUrl}/faults`, JSON.stringify(f)) },
    advance: async (epochs) => ((await post(`${info.adminUrl}/advance`, JSON.stringify({ epochs }))) as { height: number }).height,
    introspect: async () => await (await fetch(info.introspectUrl)).json() as Introspection,
    stop: async () => {
      if (child.exitCode != null) return
      child.kill('SIGTERM')
      await exited
    }
  }
}
