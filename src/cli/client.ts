/**
 * `dealyard client propose|status|ask|transports`: a deal client for any mk1.2 provider (boost,
 * Curio, dealyard), the way `boost deal` works: build the proposal, sign it with a local wallet key
 * file, send it over libp2p. Prints one JSON line per answer.
 */
import { parseArgs } from 'node:util'
import { addressFlag, amountFlag, cidFlag, uuidFlag, UsageError } from './flags.ts'
import { wholeNumber } from './numbers.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { loadKeyFile } from '../filecoin/keys.ts'
import { FullNodeClient } from '../lotus/fullnode.ts'
import { buildDealParams } from '../client/proposal.ts'
import { createClientNode, dealStatus, proposeDeal, queryTransports, storageAsk, type ProviderTarget } from '../client/net.ts'
import { providerAddrsFromChain } from '../client/discover.ts'

const usage = `usage: dealyard client <propose|status|ask|transports> (--provider-addr MULTIADDR/p2p/ID | --provider ADDR --full-node URL) [flags]
  The provider is dialled at --provider-addr, or, without it, where the chain says miner
  --provider is (its peer ID and multiaddrs, read from --full-node), as boost's client finds it.
propose:
  --wallet-key PATH        client key (lotus wallet export or KeyInfo JSON)
  --provider ADDR          miner address (f0…)
  --piece-cid CID --piece-size N (padded) --payload-cid CID
  --http-url URL [--http-header 'K: V']… --car-size N   online deal (else offline)
  --start-epoch N | --full-node URL [--full-node-token T] [--start-offset N (default 5760)]
  --duration N (default 518400)
  --storage-price AMOUNT   per GiB per epoch, as boost deal and the ask state it (an integer is
                           attoFIL; "0.5 FIL" works too); default: the provider's ask
  --provider-collateral AMOUNT   default: the chain minimum + 20% (needs --full-node), as boost deal
  --verified  --label TEXT  --uuid UUID
  --remove-unsealed-copy  --skip-ipni-announce  --v120 (send the mk/1.2.0 form)
status: --wallet-key PATH --uuid UUID
ask:    --provider ADDR
`

const options = {
  'provider-addr': { type: 'string' },
  'wallet-key': { type: 'string' },
  provider: { type: 'string' },
  'piece-cid': { type: 'string' },
  'piece-size': { type: 'string' },
  'payload-cid': { type: 'string' },
  'http-url': { type: 'string' },
  'http-header': { type: 'string', multiple: true },
  'car-size': { type: 'string' },
  'start-epoch': { type: 'string' },
  'full-node': { type: 'string' },
  'full-node-token': { type: 'string' },
  'start-offset': { type: 'string' },
  duration: { type: 'string' },
  'storage-price': { type: 'string' },
  'provider-collateral': { type: 'string' },
  verified: { type: 'boolean' },
  label: { type: 'string' },
  uuid: { type: 'string' },
  'remove-unsealed-copy': { type: 'boolean' },
  'skip-ipni-announce': { type: 'boolean' },
  v120: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const


function need (v: string | undefined, flag: string): string {
  if (v === undefined || v === '') throw new UsageError(`${flag} is required`)
  return v
}

function int (v: string | undefined, flag: string): number {
  const n = wholeNumber(need(v, flag))
  if (n === undefined) throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(v)}`)
  return n
}


const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x)

const VERBS = ['propose', 'status', 'ask', 'transports']

function providerMultiaddr (text: string): ReturnType<typeof multiaddr> {
  try {
    return multiaddr(text)
  } catch (err) {
    throw new UsageError(`--provider-addr ${JSON.stringify(text)} is not a multiaddr (e.g. /ip4/1.2.3.4/tcp/24001/p2p/12D3Koo…): ${(err as Error).message}`)
  }
}

export async function runClient (argv: string[]): Promise<number> {
  const [verb, ...rest] = argv
  let v
  try {
    v = parseArgs({ args: rest, options, allowPositionals: false }).values
  } catch (err) {
    process.stderr.write(`dealyard client: ${(err as Error).message}\n${usage}`)
    return 2
  }
  if (v.help === true || verb === undefined || verb === '--help' || verb === '-h') { process.stdout.write(usage); return verb === undefined ? 2 : 0 }
  if (!VERBS.includes(verb)) {
    process.stderr.write(`dealyard client: unknown command ${JSON.stringify(verb)} (one of ${VERBS.join(', ')})\n${usage}`)
    return 2
  }
  const node = await createClientNode()
  try {
    const fullNodeUrl = v['full-node']
    // The provider flags' forms are checked with the others, before anything touches the network.
    const given = v['provider-addr'] !== undefined ? providerMultiaddr(need(v['provider-addr'], '--provider-addr')) : undefined
    const miner = v.provider !== undefined ? addressFlag(need(v.provider, '--provider'), '--provider') : undefined
    if (given === undefined && (miner === undefined || fullNodeUrl === undefined)) {
      throw new UsageError('--provider-addr is required (or --provider with --full-node, to find the provider on chain)')
    }
    const full = fullNodeUrl === undefined ? undefined : new FullNodeClient({ url: fullNodeUrl, ...(v['full-node-token'] !== undefined ? { token: v['full-node-token'] } : {}) })
    let found: ProviderTarget | undefined
    /** Where to dial: the flag, or the miner's on-chain peer ID and addresses (read once). */
    const target = async (): Promise<ProviderTarget> => {
      if (given !== undefined) return given
      found ??= await providerAddrsFromChain(full!, miner!)
      return found
    }
    switch (verb) {
      case 'propose': {
        // Every flag checked first: a mistake is named (exit 2) before the wallet, Lotus or the
        // provider is touched.
        const provider = need(miner, '--provider')
        const pieceCid = cidFlag(need(v['piece-cid'], '--piece-cid'), '--piece-cid', 'fil-commitment-unsealed / sha2-256-trunc254-padded, as `dealyard commp` prints it')
        const payloadCid = cidFlag(need(v['payload-cid'], '--payload-cid'), '--payload-cid')
        const pieceSize = int(v['piece-size'], '--piece-size')
        const verified = v.verified === true
        const startEpoch = v['start-epoch'] !== undefined ? int(v['start-epoch'], '--start-epoch') : undefined
        const startOffset = v['start-offset'] !== undefined ? int(v['start-offset'], '--start-offset') : 5760
        if (startEpoch === undefined) need(v['full-node'], '--start-epoch or --full-node')
        const duration = v.duration !== undefined ? int(v.duration, '--duration') : undefined
        const dealUuid = v.uuid !== undefined ? uuidFlag(v.uuid, '--uuid') : undefined
        const pricePerGiBFlag = v['storage-price'] !== undefined ? amountFlag(v['storage-price'], '--storage-price') : undefined
        const collateralFlag = v['provider-collateral'] !== undefined ? amountFlag(v['provider-collateral'], '--provider-collateral') : undefined
        if (collateralFlag === undefined && v['full-node'] === undefined) throw new UsageError('--provider-collateral is needed without --full-node (with it, the chain minimum + 20% is proposed)')
        const headers: Record<string, string> = {}
        for (const h of v['http-header'] ?? []) {
          const i = h.indexOf(':')
          if (i <= 0) throw new UsageError(`--http-header ${JSON.stringify(h)}: expected 'Name: value'`)
          headers[h.slice(0, i).trim()] = h.slice(i + 1).trim()
        }
        const http = v['http-url'] !== undefined ? { url: v['http-url'], headers, size: int(v['car-size'], '--car-size') } : undefined
        const key = await loadKeyFile(need(v['wallet-key'], '--wallet-key'))
        const to = await target()
        const start = startEpoch ?? (await full!.chainHead()).height + startOffset
        // boost deal's price is per GiB per epoch, the unit of the ask; the proposal carries the
        // whole piece's price per epoch (pieceSize × price / 2^30, rounded down, as boost computes it).
        let pricePerGiB = pricePerGiBFlag
        if (pricePerGiB === undefined) {
          const ask = (await storageAsk(node, to, provider)).ask?.ask
          if (ask == null) throw new UsageError(`--storage-price is needed: the provider has no ask for ${provider} to take the price from`)
          pricePerGiB = verified ? ask.verifiedPrice : ask.price
        }
        const collateral = collateralFlag ?? (await full!.stateDealProviderCollateralBounds(pieceSize, verified)).min * 6n / 5n
        const params = buildDealParams({
          key,
          provider,
          pieceCid,
          pieceSize,
          payloadCid,
          startEpoch: start,
          ...(duration !== undefined ? { duration } : {}),
          storagePrice: BigInt(pieceSize) * pricePerGiB / (1n << 30n),
          providerCollateral: collateral,
          verified,
          ...(v.label !== undefined ? { label: { kind: 'string', value: v.label } } : {}),
          ...(dealUuid !== undefined ? { dealUuid } : {}),
          ...(http !== undefined ? { http } : {}),
          removeUnsealedCopy: v['remove-unsealed-copy'] === true,
          skipIpniAnnounce: v['skip-ipni-announce'] === true
        })
        const r = await proposeDeal(node, to, params, { v120: v.v120 === true })
        process.stdout.write(`${json({ dealUuid: params.dealUuid, ...r })}\n`)
        return r.accepted ? 0 : 1
      }
      case 'status': {
        const uuid = uuidFlag(need(v.uuid, '--uuid'), '--uuid')
        const key = await loadKeyFile(need(v['wallet-key'], '--wallet-key'))
        const to = await target()
        const r = await dealStatus(node, to, uuid, key)
        process.stdout.write(`${json({ ...r, dealStatus: r.dealStatus === null ? null : { ...r.dealStatus, proposal: undefined, signedProposalCid: r.dealStatus.signedProposalCid.toString(), publishCid: r.dealStatus.publishCid?.toString() ?? null } })}\n`)
        return r.error === '' ? 0 : 1
      }
      case 'ask': {
        const askFor = need(miner, '--provider')
        const to = await target()
        const r = await storageAsk(node, to, askFor)
        process.stdout.write(`${json(r.ask === null ? { ask: null } : { ask: { ...r.ask.ask, miner: r.ask.ask?.miner.toString() }, signed: r.ask.signature !== null })}\n`)
        if (r.ask === null) process.stderr.write(`dealyard client ask: the provider at ${String(to)} has no ask for miner ${askFor} (it does not serve that miner, or cannot make its ask now)\n`)
        return r.ask === null ? 1 : 0
      }
      case 'transports': {
        const r = await queryTransports(node, await target())
        process.stdout.write(`${json({ protocols: r.protocols.map((p) => ({ name: p.name, addresses: p.addresses.map((a) => multiaddr(a).toString()) })) })}\n`)
        return 0
      }
      default:
        throw new UsageError(`unknown verb ${JSON.stringify(verb)}`)
    }
  } catch (err) {
    process.stderr.write(`dealyard client ${verb}: ${(err as Error).message}\n${err instanceof UsageError ? usage : ''}`)
    return err instanceof UsageError ? 2 : 1
  } finally {
    await node.stop()
  }
}
