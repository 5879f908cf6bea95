/**
 * `dealyard client propose|status|ask|transports`: a deal client for any mk1.2 provider (boost,
 * Curio, dealyard), the way `boost deal` works: build the proposal, sign it with a local wallet key
 * file, send it over libp2p. Prints one JSON line per answer.
 */
import { parseArgs } from 'node:util'
import { addressFlag, amountFlag, cidFlag, headerFlag, usageMessage, uuidFlag, UsageError } from './flags.ts'
import { wholeNumber } from './numbers.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { loadKeyFile } from '../filecoin/keys.ts'
import { FullNodeClient } from '../lotus/fullnode.ts'
import { buildDealParams } from '../client/proposal.ts'
import { createClientNode, dealStatus, NO_ANSWER, proposeDeal, queryTransports, storageAsk, type ProviderTarget } from '../client/net.ts'
import { DealyardError } from '../errors.ts'
import { priceFromAsk } from '../client/price.ts'
import { isPaddedPieceSize } from '../filecoin/commp/sizes.ts'
import { isApiInfo, parseApiInfo } from '../lotus/api-info.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { providerAddrsFromChain } from '../client/discover.ts'

const usage = `usage: dealyard client <propose|status|ask|transports> (--provider-addr MULTIADDR/p2p/ID | --provider ADDR --full-node API) [flags]
  The provider is dialled at --provider-addr, or, without it, where the chain says miner
  --provider is (its peer ID and multiaddrs, read from --full-node), as boost's client finds it.
  --full-node takes a URL (http://127.0.0.1:1234/rpc/v1) or Lotus API info (TOKEN:/ip4/…/tcp/1234/http);
  without it, FULLNODE_API_INFO is read, as lotus and boost read it.
propose:
  --wallet-key PATH        client key (lotus wallet export or KeyInfo JSON)
  --provider ADDR          miner address (f0…)
  --piece-cid CID --piece-size N (padded: a power of two, at least 128) --payload-cid CID
  --http-url URL [--http-header 'Name: value']… --car-size N   an online deal; without --http-url, offline
  --start-epoch N | --full-node API [--full-node-token T] [--start-offset N (default 5760)]
  --duration N (default 518400)
  --storage-price AMOUNT   per GiB per epoch, as boost deal and the ask state it (an integer is
                           attoFIL; "0.5 FIL" works too); default: the provider's ask for this miner,
                           refused when above --max-storage-price or expired
  --max-storage-price AMOUNT   the most per GiB per epoch a price from the ask may be
  --provider-collateral AMOUNT   default: the chain minimum + 20% (needs --full-node), as boost deal
  --verified  --label TEXT (default: the payload CID)  --uuid UUID
  --remove-unsealed-copy  --skip-ipni-announce  --v120 (send mk/1.2.0's five-key form, without those two)
  Prints one JSON line: the deal UUID, the answer, and the proposal's terms as signed.
status: --wallet-key PATH --uuid UUID
ask:    --provider ADDR
Exit status: 0 accepted (answered, for status, ask and transports); 1 refused or failed; 2 a usage
  mistake (nothing sent); 3 the proposal was sent and no answer came back: it may have been accepted
  (ask with status --uuid, printed on stdout).
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
  'max-storage-price': { type: 'string' },
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
  if (n === undefined && /^\d+$/.test(v ?? '')) throw new UsageError(`${flag} ${v} is too large (at most ${Number.MAX_SAFE_INTEGER})`)
  if (n === undefined) throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(v)}`)
  return n
}


const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x)

const VERBS = ['propose', 'status', 'ask', 'transports']

/**
 * The provider's multiaddr, with the peer ID the noise handshake must prove: without one, whoever
 * answers at that address would be sent the signed proposal, its URL and headers.
 */
function providerMultiaddr (text: string): ReturnType<typeof multiaddr> {
  let ma: ReturnType<typeof multiaddr>
  try {
    ma = multiaddr(text)
  } catch (err) {
    throw new UsageError(`--provider-addr ${JSON.stringify(text)} is not a multiaddr (e.g. /ip4/1.2.3.4/tcp/24001/p2p/12D3Koo…): ${(err as Error).message}`)
  }
  const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
  if (id === undefined) throw new UsageError(`--provider-addr ${text} names no peer ID: end it with /p2p/<the provider's peer ID> (boost's client dials the miner's on-chain peer ID)`)
  try { peerIdFromString(id) } catch (err) {
    throw new UsageError(`--provider-addr ${text}: ${JSON.stringify(id)} is not a peer ID: ${(err as Error).message}`)
  }
  return ma
}

/** --full-node (a URL or Lotus API info), or FULLNODE_API_INFO; the token from --full-node-token or the API info. */
function fullNodeEndpoint (flag: string | undefined, tokenFlag: string | undefined): { url: string, token?: string } | undefined {
  const env = process.env.FULLNODE_API_INFO
  const text = flag ?? (env !== undefined && env !== '' ? env : undefined)
  if (text === undefined) return undefined
  const from = flag !== undefined ? '--full-node' : 'FULLNODE_API_INFO'
  let e: { url: string, token?: string } = { url: text }
  // The variable is lotus's: read as lotus reads it, a plain URL included (it gets /rpc/v1).
  if (flag === undefined || isApiInfo(text)) {
    try { e = parseApiInfo(text) } catch (err) { throw new UsageError(`${from}: ${(err as Error).message}`) }
  }
  const u = URL.parse(e.url)
  // The text is not repeated: it may hold a password.
  if (u === null || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new UsageError(`${from} must be an http(s) URL (e.g. http://127.0.0.1:1234/rpc/v1) or Lotus API info (TOKEN:/ip4/127.0.0.1/tcp/1234/http)`)
  // The HTTP client would drop them without a word (Go's would send them as Basic auth).
  if (u.password !== '' || u.username !== '') throw new UsageError(`${from}: a user and password in the URL are not sent: Lotus takes its token as a bearer token (--full-node-token, or TOKEN:… API info)`)
  return tokenFlag !== undefined ? { url: e.url, token: tokenFlag } : e
}

/** The command's one line of output. */
function print (line: string): void {
  process.stdout.write(`${line}\n`)
}

export async function runClient (argv: string[]): Promise<number> {
  const [verb, ...rest] = argv
  if (verb === undefined) { process.stderr.write(usage); return 2 }
  if (verb === '--help' || verb === '-h') { process.stdout.write(usage); return 0 }
  if (verb.startsWith('-')) {
    process.stderr.write(`dealyard client: the command comes first (dealyard client <${VERBS.join('|')}> [flags]), got ${JSON.stringify(verb)}\n${usage}`)
    return 2
  }
  if (!VERBS.includes(verb)) {
    process.stderr.write(`dealyard client: unknown command ${JSON.stringify(verb)} (one of ${VERBS.join(', ')})\n${usage}`)
    return 2
  }
  let v
  try {
    v = parseArgs({ args: rest, options, allowPositionals: false }).values
  } catch (err) {
    process.stderr.write(`dealyard client ${verb}: ${usageMessage(err)}\n${usage}`)
    return 2
  }
  if (v.help === true) { process.stdout.write(usage); return 0 }
  // A reader of stdout that went away (`| head`, `| true`) ends the output, not the command: the
  // EPIPE was an uncaught error, a stack trace and exit 1 after the deal had been accepted.
  process.stdout.on('error', () => {})
  const node = await createClientNode()
  try {
    // The provider flags' forms are checked with the others, before anything touches the network.
    // --full-node is read now; FULLNODE_API_INFO only once a Lotus is needed (a command that needs
    // none does not fail on it, nor wait for that Lotus).
    if (v['full-node-token'] !== undefined && v['full-node'] === undefined) throw new UsageError('--full-node-token goes with --full-node')
    const fromFlag = v['full-node'] !== undefined ? fullNodeEndpoint(v['full-node'], v['full-node-token']) : undefined
    const hasLotus = fromFlag !== undefined || (process.env.FULLNODE_API_INFO ?? '') !== ''
    let client: FullNodeClient | undefined
    const lotus = (): FullNodeClient => (client ??= new FullNodeClient(fromFlag ?? fullNodeEndpoint(undefined, undefined)!))
    const given = v['provider-addr'] !== undefined ? providerMultiaddr(need(v['provider-addr'], '--provider-addr')) : undefined
    const miner = v.provider !== undefined ? addressFlag(need(v.provider, '--provider'), '--provider') : undefined
    if (given === undefined && (miner === undefined || !hasLotus)) {
      throw new UsageError('--provider-addr is required (or --provider with --full-node, to find the provider on chain)')
    }
    let found: ProviderTarget | undefined
    /** Where to dial: the flag, or the miner's on-chain peer ID and addresses (read once). */
    const target = async (): Promise<ProviderTarget> => {
      if (given !== undefined) return given
      found ??= await providerAddrsFromChain(lotus(), miner!)
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
        if (!isPaddedPieceSize(pieceSize)) throw new UsageError(`--piece-size must be a padded piece size (a power of two, at least 128), got ${pieceSize}`)
        const verified = v.verified === true
        const startEpoch = v['start-epoch'] !== undefined ? int(v['start-epoch'], '--start-epoch') : undefined
        const startOffset = v['start-offset'] !== undefined ? int(v['start-offset'], '--start-offset') : 5760
        if (startEpoch === undefined && !hasLotus) throw new UsageError('--start-epoch or --full-node is required')
        if (startEpoch !== undefined && v['start-offset'] !== undefined) throw new UsageError('--start-offset counts from the head, which --start-epoch does not read: give one of them')
        const duration = v.duration !== undefined ? int(v.duration, '--duration') : undefined
        if (startEpoch !== undefined && startEpoch + (duration ?? 518_400) > Number.MAX_SAFE_INTEGER) throw new UsageError('--start-epoch + --duration is past any epoch the chain will reach')
        const dealUuid = v.uuid !== undefined ? uuidFlag(v.uuid, '--uuid') : undefined
        const pricePerGiBFlag = v['storage-price'] !== undefined ? amountFlag(v['storage-price'], '--storage-price') : undefined
        const maxPricePerGiB = v['max-storage-price'] !== undefined ? amountFlag(v['max-storage-price'], '--max-storage-price') : undefined
        const collateralFlag = v['provider-collateral'] !== undefined ? amountFlag(v['provider-collateral'], '--provider-collateral') : undefined
        if (pricePerGiBFlag !== undefined && maxPricePerGiB !== undefined && pricePerGiBFlag > maxPricePerGiB) throw new UsageError(`--storage-price ${pricePerGiBFlag} is above --max-storage-price ${maxPricePerGiB}`)
        if (collateralFlag === undefined && !hasLotus) throw new UsageError('--provider-collateral is needed without --full-node (with it, the chain minimum + 20% is proposed)')
        if (v.v120 === true && (v['skip-ipni-announce'] === true || v['remove-unsealed-copy'] === true)) {
          throw new UsageError('--v120 sends mk/1.2.0\'s five-key DealParams, which has no --skip-ipni-announce or --remove-unsealed-copy: they would be dropped')
        }
        if (v['http-url'] === undefined && (v['http-header'] !== undefined || v['car-size'] !== undefined)) {
          throw new UsageError('--http-header and --car-size describe an online deal\'s download: give --http-url too (without it the deal is offline)')
        }
        const headers: Record<string, string> = {}
        for (const h of v['http-header'] ?? []) {
          const [name, value] = headerFlag(h, '--http-header')
          const twice = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase())
          if (twice !== undefined) throw new UsageError(`--http-header ${name} is given twice (as ${twice} too): the provider would send only one of them`)
          headers[name] = value
        }
        let http: { url: string, headers: Record<string, string>, size: number } | undefined
        if (v['http-url'] !== undefined) {
          const url = URL.parse(v['http-url'])
          if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') throw new UsageError('--http-url must be an http(s) URL with a host')
          const size = int(v['car-size'], '--car-size')
          if (size === 0) throw new UsageError('--car-size must be the CAR file\'s size in bytes (at least 1)')
          http = { url: v['http-url'], headers, size }
        }
        const key = await loadKeyFile(need(v['wallet-key'], '--wallet-key'))
        const to = await target()
        // The head: for the start epoch, or to judge an ask's expiry when its price is taken; not
        // read otherwise (a Lotus configured but down does not stop a proposal that needs none).
        const head = hasLotus && (startEpoch === undefined || pricePerGiBFlag === undefined) ? (await lotus().chainHead()).height : undefined
        const start = startEpoch ?? head! + startOffset
        // boost deal's price is per GiB per epoch, the unit of the ask; the proposal carries the
        // whole piece's price per epoch (pieceSize × price / 2^30, rounded down, as boost computes it).
        let pricePerGiB = pricePerGiBFlag
        let priceFrom = 'flag'
        if (pricePerGiB === undefined) {
          pricePerGiB = priceFromAsk((await storageAsk(node, to, provider)).ask?.ask ?? null, { provider, verified, head, max: maxPricePerGiB })
          priceFrom = 'ask'
        }
        const collateral = collateralFlag ?? (await lotus().stateDealProviderCollateralBounds(pieceSize, verified)).min * 6n / 5n
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
        const p = params.clientDealProposal.proposal
        const terms = {
          pieceCid: p.pieceCid.toString(),
          pieceSize: p.pieceSize,
          verified: p.verifiedDeal,
          label: p.label.kind === 'string' ? p.label.value : Buffer.from(p.label.value).toString('base64'),
          startEpoch: p.startEpoch,
          endEpoch: p.endEpoch,
          storagePricePerEpoch: p.storagePricePerEpoch,
          pricePerGiBPerEpoch: pricePerGiB,
          priceFrom,
          providerCollateral: p.providerCollateral,
          offline: params.isOffline
        }
        let r
        try {
          r = await proposeDeal(node, to, params, { v120: v.v120 === true })
        } catch (err) {
          if (!(err instanceof DealyardError && err.code === NO_ANSWER)) throw err
          print(json({ dealUuid: params.dealUuid, accepted: null, error: err.message, proposal: terms }))
          process.stderr.write(`dealyard client propose: the proposal was sent and no answer came back (${err.message}): deal ${params.dealUuid} may have been accepted; ask with \`dealyard client status --uuid ${params.dealUuid}\` before proposing it again\n`)
          return 3
        }
        print(json({ dealUuid: params.dealUuid, ...r, proposal: terms }))
        return r.accepted ? 0 : 1
      }
      case 'status': {
        const uuid = uuidFlag(need(v.uuid, '--uuid'), '--uuid')
        const key = await loadKeyFile(need(v['wallet-key'], '--wallet-key'))
        const to = await target()
        const r = await dealStatus(node, to, uuid, key)
        print(json({ ...r, dealStatus: r.dealStatus === null ? null : { ...r.dealStatus, proposal: undefined, signedProposalCid: r.dealStatus.signedProposalCid.toString(), publishCid: r.dealStatus.publishCid?.toString() ?? null } }))
        return r.error === '' ? 0 : 1
      }
      case 'ask': {
        const askFor = need(miner, '--provider')
        const to = await target()
        const r = await storageAsk(node, to, askFor)
        const ask = r.ask?.ask ?? null
        // `signed`: the answer carries a signature (not checked here, as boost's client does not).
        print(json(ask === null ? { ask: null } : { ask: { ...ask, miner: ask.miner.toString() }, signed: r.ask?.signature != null }))
        if (ask === null) process.stderr.write(`dealyard client ask: the provider at ${String(to)} has no ask for miner ${askFor} (it does not serve that miner, or cannot make its ask now)\n`)
        return ask === null ? 1 : 0
      }
      case 'transports': {
        const r = await queryTransports(node, await target())
        print(json({ protocols: r.protocols.map((p) => ({ name: p.name, addresses: p.addresses.map((a) => multiaddr(a).toString()) })) }))
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
