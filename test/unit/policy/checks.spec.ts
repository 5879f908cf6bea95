/**
 * Admission rule by rule: each case changes one thing in a valid proposal (real keys, real
 * signatures) and expects boost's exact text, or acceptance.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { base32upper } from 'multiformats/bases/base32'
import { base58btc } from 'multiformats/bases/base58'
import { base36 } from 'multiformats/bases/base36'
import { Address } from '../../../src/filecoin/address.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { signProposal } from '../../../src/protocol/index.ts'
import type { DealParams } from '../../../src/protocol/index.ts'
import { buildDealParams } from '../../../src/client/proposal.ts'
import {
  ADMISSION_CHECKS, evaluate, fact, failedFact, providerTerms, goTime, transferHostOf, isPowerOfTwo,
  type AdmissionInput, type FundsPosition, type ProviderTerms, type StagingPosition
} from '../../../src/policy/index.ts'
import type { StorageProvider } from '../../../src/api/index.ts'

const secp = generateKey('secp256k1')
const bls = generateKey('bls')
const other = generateKey('secp256k1')
const PIECE = pieceCidFromCommP(new Uint8Array(32).fill(7)).toString()
const ROOT = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
const HEAD = 100_000
const PEER = '12D3KooWGRUVh7bXzvC7ZJCPpKXr9Ua8C1yyGSGNzkBLd2NDuV7A'
const START = HEAD + 3000

function sp (policy: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): StorageProvider {
  return {
    apiVersion: 'dealyard.io/v1alpha1',
    kind: 'StorageProvider',
    metadata: { name: 'sp1' },
    spec: {
      address: 'f01000',
      lotus: { fullNode: { url: 'http://x' }, miner: { url: 'http://y' } },
      fundLedger: 'f',
      storageLedger: 's',
      ask: { price: String(1n << 30n), verifiedPrice: '0', minPieceSize: 256, maxPieceSize: 1 << 30 },
      dealPolicy: { transferTypes: ['http'], ...policy },
      ...extra
    }
  } as StorageProvider
}

function base (o: { key?: typeof secp, params?: Partial<Parameters<typeof buildDealParams>[0]>, terms?: ProviderTerms } = {}): AdmissionInput {
  const key = o.key ?? secp
  const params = buildDealParams({
    key,
    provider: 'f01000',
    pieceCid: PIECE,
    pieceSize: 2048,
    payloadCid: ROOT,
    startEpoch: START,
    storagePrice: 2048n,
    http: { url: 'https://data.example.com/a.car', size: 1900 },
    ...o.params
  })
  return {
    params,
    provider: o.terms ?? providerTerms(sp()),
    chain: {
      head: fact(HEAD),
      clientKey: fact(key.address),
      collateralBounds: fact({ min: 0n, max: 10n }),
      clientBalance: fact({ escrow: 10n ** 18n, locked: 0n }),
      datacap: fact(1n << 40n)
    }
  }
}

/** A valid online proposal whose transfer params are `json`. */
function withParams (json: string): AdmissionInput {
  const i = base()
  i.params.transfer = { ...i.params.transfer, params: new TextEncoder().encode(json) }
  return i
}

/** Re-signs after editing the proposal, so only the edited rule can fail. */
function edit (i: AdmissionInput, f: (p: DealParams['clientDealProposal']['proposal']) => void, key = secp): AdmissionInput {
  const p = { ...i.params.clientDealProposal.proposal }
  f(p)
  return { ...i, params: { ...i.params, clientDealProposal: signProposal(p, key) } }
}

const verdict = (i: AdmissionInput): string | undefined => evaluate(ADMISSION_CHECKS, i)?.message

describe('admission checks', () => {
  it('accepts a valid online proposal signed with secp256k1, and one signed with BLS', () => {
    assert.equal(verdict(base()), undefined)
    assert.equal(verdict(base({ key: bls })), undefined)
  })

  it('accepts a valid offline proposal', () => {
    assert.equal(verdict(base({ params: { http: undefined } })), undefined)
  })

  const cases: Record<string, [() => AdmissionInput, string | RegExp]> = {
    'A1 a failed chain head read': [() => ({ ...base(), chain: { ...base().chain, head: failedFact('boom') } }), 'failed validation: server error: getting chain head'],
    'A3 a signature by another key (boost reports the verifier error branch)': [() => edit(base(), () => {}, other), 'failed validation: server error: validating signature'],
    'A3 a foreign BLS signature': [() => edit(base({ key: bls }), () => {}, generateKey('bls')), 'failed validation: server error: validating signature'],
    'A3 a failed account key lookup': [() => ({ ...base(), chain: { ...base().chain, clientKey: failedFact('actor not found') } }), 'failed validation: server error: validating signature'],
    'A3 a proposal changed after signing': [() => {
      const i = base()
      i.params.clientDealProposal.proposal.storagePricePerEpoch = 1n << 40n
      return i
    }, 'failed validation: server error: validating signature'],
    'A4 a wrong provider': [() => edit(base(), (p) => { p.provider = Address.fromString('f01001') }), 'failed validation: incorrect provider for deal; proposal.Provider: f01001; provider.Address: f01000'],
    'A4 a wrong provider on a testnet (addresses printed with t, as boost there prints them)': [() => {
      const i = edit(base(), (p) => { p.provider = Address.fromString('f01001') })
      return { ...i, chain: { ...i.chain, network: 't' } }
    }, 'failed validation: incorrect provider for deal; proposal.Provider: t01001; provider.Address: t01000'],
    'A5 a 257-byte label': [() => edit(base(), (p) => { p.label = { kind: 'string', value: 'é'.repeat(128) + 'x' } }), 'failed validation: deal label can be at most 256 bytes, is 257'],
    'A6 a piece size under 128': [() => edit(base(), (p) => { p.pieceSize = 64 }), 'failed validation: proposal piece size is invalid: minimum padded piece size is 128 bytes'],
    'A6 a non-power-of-two piece size': [() => edit(base(), (p) => { p.pieceSize = 3072 }), 'failed validation: proposal piece size is invalid: padded piece size must be a power of 2'],
    'A7 a piece CID that is not CommP': [() => edit(base(), (p) => { p.pieceCid = CID.parse(ROOT) }), 'failed validation: proposal PieceCID had wrong prefix'],
    'A8 end before start': [() => edit(base(), (p) => { p.endEpoch = p.startEpoch }), `failed validation: proposal end ${START} before proposal start ${START}`],
    'A9 a past start epoch': [() => edit(base(), (p) => { p.startEpoch = HEAD - 1; p.endEpoch = HEAD - 1 + 518_400 }), `failed validation: deal start epoch ${HEAD - 1} has already elapsed (current epoch: ${HEAD})`],
    'A10 a duration under 180 days': [() => edit(base(), (p) => { p.endEpoch = p.startEpoch + 518_399 }), 'failed validation: deal duration out of bounds (min, max, provided): 518400, 3680640, 518399'],
    'A11 an end epoch too far': [() => edit(base(), (p) => { p.startEpoch = HEAD + 10; p.endEpoch = HEAD + 3_680_641 }), `failed validation: invalid deal end epoch ${HEAD + 3_680_641}: cannot be more than 3680640 past current epoch ${HEAD}`],
    'A12 a failed collateral bounds read': [() => ({ ...base(), chain: { ...base().chain, collateralBounds: failedFact('x') } }), 'failed validation: server error: getting collateral bounds'],
    'A12 collateral below the minimum': [() => ({ ...base(), chain: { ...base().chain, collateralBounds: fact({ min: 5n, max: 50n }) } }), 'failed validation: proposed provider collateral 0 below minimum 5'],
    'A12 collateral above min × multiplier': [() => {
      const i = edit(base(), (p) => { p.providerCollateral = 11n })
      return { ...i, chain: { ...i.chain, collateralBounds: fact({ min: 5n, max: 50n }) } }
    }, 'failed validation: proposed provider collateral 11 above maximum 10'],
    'A13 a price under the ask': [() => edit(base(), (p) => { p.storagePricePerEpoch = 2047n }), 'failed validation: storage price per epoch less than asking price: 2047 < 2048'],
    'A14 a piece under the ask minimum': [() => edit(base({ params: { http: { url: 'https://a.example/x', size: 100 } } }), (p) => { p.pieceSize = 128; p.storagePricePerEpoch = 128n }), 'failed validation: piece size less than minimum required size: 128 < 256'],
    'A15 a piece over the ask maximum': [() => edit(base(), (p) => { p.pieceSize = 2 ** 31; p.storagePricePerEpoch = 2n ** 31n }), `failed validation: piece size more than maximum allowed size: ${2 ** 31} > ${2 ** 30}`],
    'A16 escrow too small': [() => ({ ...base(), chain: { ...base().chain, clientBalance: fact({ escrow: 2048n * 518_400n + 10n, locked: 11n }) } }), `failed validation: client available funds in escrow ${2048n * 518_400n - 1n} not enough to meet storage cost for deal ${2048n * 518_400n}`],
    'A16 a failed balance read': [() => ({ ...base(), chain: { ...base().chain, clientBalance: failedFact('x') } }), 'failed validation: server error: getting market balance'],
    'A17 a verified deal from a client without DataCap': [() => {
      const i = edit(base(), (p) => { p.verifiedDeal = true })
      return { ...i, chain: { ...i.chain, datacap: fact(null) } }
    }, 'failed validation: client is not a verified client'],
    'A17 DataCap smaller than the piece': [() => {
      const i = edit(base(), (p) => { p.verifiedDeal = true })
      return { ...i, chain: { ...i.chain, datacap: fact(1024n) } }
    }, 'failed validation: verified deal DataCap 1024 too small for proposed piece size 2048'],
    'B1 an unknown transfer type': [() => {
      const i = base()
      i.params.transfer = { ...i.params.transfer, type: 'ftp' }
      return i
    }, "server error: get deal transfer host: cannot parse params for unrecognized transfer type 'ftp'"],
    // B1's URL texts are Go's url.Parse and boost's util.ParseUrl wraps, from real Go (go-url.spec.ts).
    'B1 an unparsable URL': [() => withParams('{"URL":"::nope"}'), 'server error: get deal transfer host: cannot parse url \'::nope\': parsing url \'::nope\': parse "::nope": missing protocol scheme'],
    'B1 a bad escape (WHATWG would take it)': [() => withParams('{"URL":"https://data.example.com/%zz.car"}'), 'server error: get deal transfer host: cannot parse url \'https://data.example.com/%zz.car\': parsing url \'https://data.example.com/%zz.car\': parse "https://data.example.com/%zz.car": invalid URL escape "%zz"'],
    'B1 a leading space (WHATWG would trim it)': [() => withParams('{"URL":" https://data.example.com/a.car"}'), 'server error: get deal transfer host: cannot parse url \' https://data.example.com/a.car\': parsing url \' https://data.example.com/a.car\': parse " https://data.example.com/a.car": first path segment in URL cannot contain colon'],
    'B1 an empty URL': [() => withParams('{"URL":""}'), "server error: get deal transfer host: cannot parse url '': parsing url '': could not parse scheme"],
    'B1 a libp2p URL without libp2p://': [() => withParams('{"URL":"LIBP2P:///ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ"}'), "server error: get deal transfer host: cannot parse url 'LIBP2P:///ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ': libp2p URL 'LIBP2P:///ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ' must start with prefix 'libp2p://'"],
    'B1 headers that are not a string map': [() => withParams('{"URL":"https://a.example/x","Headers":"abc"}'), 'server error: get deal transfer host: failed to de-serialize transport params bytes \'{"URL":"https://a.example/x","Headers":"abc"}\': json: cannot unmarshal string into Go struct field HttpRequest.Headers of type map[string]string'],
    'B1 a header value that is not a string': [() => withParams('{"URL":"https://a.example/x","Headers":{"Authorization":1}}'), 'server error: get deal transfer host: failed to de-serialize transport params bytes \'{"URL":"https://a.example/x","Headers":{"Authorization":1}}\': json: cannot unmarshal number into Go struct field HttpRequest.Headers of type string'],
    'B1 params that are a JSON array': [() => withParams('[1]'), "server error: get deal transfer host: failed to de-serialize transport params bytes '[1]': json: cannot unmarshal array into Go value of type types.HttpRequest"],
    'B1 a libp2p URL with a bad peer ID': [() => withParams('{"URL":"libp2p:///ip4/1.2.3.4/tcp/1/p2p/notapeerid"}'), 'server error: get deal transfer host: cannot parse url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/notapeerid\': parsing address info from url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/notapeerid\': failed to parse multiaddr "/ip4/1.2.3.4/tcp/1/p2p/notapeerid": invalid value "notapeerid" for protocol p2p: failed to parse p2p addr: notapeerid invalid cid: selected encoding not supported'],
    // Round 45: boost's Transfer.Host() takes any address manet.DialArgs reads; only these two of
    // round 45's libp2p forms fail there, with its texts (ToURL's error is not wrapped).
    'B1 a libp2p URL that is only a peer ID': [() => withParams(`{"URL":"libp2p:///p2p/${PEER}"}`), `server error: get deal transfer host: cannot parse url 'libp2p:///p2p/${PEER}': expected only one address in url 'libp2p:///p2p/${PEER}'`],
    'B1 a libp2p URL over /dnsaddr': [() => withParams(`{"URL":"libp2p:///dnsaddr/example.com/p2p/${PEER}"}`), "server error: get deal transfer host: /dnsaddr/example.com is not a 'thin waist' address"],
    'a libp2p:// URL (the transfer program speaks HTTP only)': [() => withParams('{"URL":"libp2p:///ip4/104.131.131.82/tcp/4001/ipfs/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ"}'), 'transfer URLs over libp2p (libp2p://) are not supported by this miner: offer an http or https URL'],
    ...Object.fromEntries([
      `/ip4/1.2.3.4/udp/4001/quic-v1/p2p/${PEER}`,
      `/dns4/example.com/udp/4001/quic-v1/p2p/${PEER}`,
      `/ip6/::1/udp/4001/quic-v1/webtransport/p2p/${PEER}`,
      `/ip4/1.2.3.4/p2p/${PEER}`,
      `/dns/example.com/p2p/${PEER}`
    ].map((ma): [string, [() => AdmissionInput, string]] => [`a libp2p:// URL boost's B1 takes: ${ma}`, [
      () => withParams(`{"URL":"libp2p://${ma}"}`),
      'transfer URLs over libp2p (libp2p://) are not supported by this miner: offer an http or https URL'
    ]])),
    // What Go's url.Parse (B1) takes and the transfer program cannot fetch: refused by dealyard's policy.
    'an ftp URL (boost passes it at B1)': [() => withParams('{"URL":"ftp://data.example.com/a.car"}'), "transfer URL scheme 'ftp' is not supported by this miner: offer an http or https URL"],
    'a file URL (boost passes it at B1)': [() => withParams('{"URL":"file:///etc/passwd"}'), "transfer URL scheme 'file' is not supported by this miner: offer an http or https URL"],
    'an http URL Go reads as opaque (no host; WHATWG would read host data.example.com)': [() => withParams('{"URL":"http:data.example.com/a.car"}'), 'transfer URL has no host: offer an http or https URL of the form scheme://host/path'],
    'an http URL with an empty host': [() => withParams('{"URL":"http:///a.car"}'), 'transfer URL has no host: offer an http or https URL of the form scheme://host/path'],
    'a port above 65535': [() => withParams('{"URL":"https://data.example.com:99999/a.car"}'), 'transfer URL port 99999 is out of range (1-65535)'],
    'port 0': [() => withParams('{"URL":"https://data.example.com:0/a.car"}'), 'transfer URL port 0 is out of range (1-65535)'],
    'an IPv6 zone (Go takes it, WHATWG does not)': [() => withParams('{"URL":"http://[fe80::1%25en0]:8080/a.car"}'), "transfer URL cannot be read by this miner's HTTP client (a WHATWG URL parser): Invalid URL"],
    "a '<' in the host (Go takes it, WHATWG does not)": [() => withParams('{"URL":"http://h<b>/a.car"}'), "transfer URL cannot be read by this miner's HTTP client (a WHATWG URL parser): Invalid URL"],
    'a host WHATWG reads as loopback (0x7f.1)': [() => withParams('{"URL":"http://0x7f.1/a.car"}'), 'transfer host refused: transfer address 127.0.0.1 is loopback (127.0.0.0/8); allow it with allowCidrs'],
    'LOCALHOST in capitals': [() => withParams('{"URL":"http://LOCALHOST:8080/a.car"}'), 'transfer host refused: transfer address 127.0.0.1 is loopback (127.0.0.0/8); allow it with allowCidrs'],
    'B2 an identical proposal': [() => ({ ...base(), identicalTo: { dealUuid: 'u-1', createdAt: new Date('2026-01-02T03:04:05.5Z') } }), 'deal proposal is identical to deal u-1 (proposed at 2026-01-02 03:04:05.5 +0000 UTC)'],
    'B3 the same UUID': [() => ({ ...base(), sameUuidAs: { dealUuid: 'u-2', createdAt: new Date('2026-01-02T03:04:05Z') } }), 'deal has the same uuid as deal u-2 (proposed at 2026-01-02 03:04:05 +0000 UTC)'],
    'F1 online deals switched off': [() => base({ terms: providerTerms(sp({ acceptOnline: false })) }), 'miner is not considering online storage deals'],
    'F2 offline deals switched off': [() => base({ params: { http: undefined }, terms: providerTerms(sp({ acceptOffline: false })) }), 'miner is not accepting offline storage deals'],
    'F3 verified deals switched off': [() => edit(base({ terms: providerTerms(sp({ acceptVerified: false })) }), (p) => { p.verifiedDeal = true; p.storagePricePerEpoch = 0n }), 'miner is not accepting verified storage deals'],
    'F4 unverified deals switched off': [() => base({ terms: providerTerms(sp({ acceptUnverified: false })) }), 'miner is not accepting unverified storage deals'],
    'F5 a blocklisted piece': [() => base({ terms: providerTerms(sp({ pieceCidBlocklist: [PIECE] })) }), `miner has blocklisted piece CID ${PIECE}`],
    'F6 a start epoch inside the sealing time': [() => edit(base(), (p) => { p.startEpoch = HEAD + 2879; p.endEpoch = p.startEpoch + 518_400 }), `cannot seal a sector before ${HEAD + 2879}`],
    'F7 an online start too far ahead': [() => edit(base(), (p) => { p.startEpoch = HEAD + 2880 + 40321; p.endEpoch = p.startEpoch + 518_400 }), `deal start epoch is too far in the future: ${HEAD + 2880 + 40321} > ${HEAD + 2880 + 40320}`],
    'a negative client collateral (boost leaves it to the market actor)': [() => edit(base(), (p) => { p.clientCollateral = -5n }), 'proposal client collateral is negative: -5'],
    'a paused provider': [() => base({ terms: providerTerms(sp({}, { paused: true })) }), 'miner is paused and not accepting storage deals'],
    // Round 52, F2: a StorageProvider whose address is not on chain (mistyped) took deals no publish could land.
    'a miner that is not on chain': [() => ({ ...base(), chain: { ...base().chain, minerExists: fact(false) } }), 'server error: f01000 is not a miner on chain'],
    'a miner that is not on chain, on a testnet': [() => ({ ...base(), chain: { ...base().chain, minerExists: fact(false), network: 't' as const } }), 'server error: t01000 is not a miner on chain'],
    'a denied client (by key address, network letter ignored)': [() => base({ terms: providerTerms(sp({ clients: { deny: ['t' + secp.address.toString().slice(1)] } })) }), `client ${secp.address.toString()} is not allowed to make deals with this miner`],
    'a client missing from a non-empty allow list': [() => base({ terms: providerTerms(sp({ clients: { allow: [other.address.toString()] } })) }), `client ${secp.address.toString()} is not allowed to make deals with this miner`],
    'a transfer type the provider does not take': [() => {
      const i = base()
      i.params.transfer = { ...i.params.transfer, type: 'libp2p' }
      return i
    }, "transfer type 'libp2p' is not accepted by this miner"],
    'transfer params too big for a Secret': [() => base({ params: { http: { url: 'https://a.example/x', headers: { Authorization: 'x'.repeat(1 << 20) }, size: 1900 } } }), `transfer params of ${(1 << 20) + 60} bytes exceed the limit of ${1 << 20} bytes`],
    'a loopback transfer host': [() => base({ params: { http: { url: 'http://127.0.0.1:8080/a.car', size: 10 } } }), 'transfer host refused: transfer address 127.0.0.1 is loopback (127.0.0.0/8); allow it with allowCidrs'],
    'a link-local (metadata service) host': [() => base({ params: { http: { url: 'http://169.254.169.254/latest', size: 10 } } }), 'transfer host refused: transfer address 169.254.169.254 is link-local (169.254.0.0/16); allow it with allowCidrs'],
    'a host in the cluster ranges': [() => base({ params: { http: { url: 'http://[2001:db8:42::5]/x', size: 10 } }, terms: providerTerms(sp(), { clusterCidrs: ['2001:db8:42::/48'] }) }), 'transfer host refused: transfer address 2001:db8:42::5 is in denied range 2001:db8:42::/48'],
    'a transfer bigger than the piece': [() => base({ params: { http: { url: 'https://a.example/x', size: 2033 } } }), 'transfer size 2033 is larger than the unpadded piece size 2032'],
    'a transfer over the provider limit': [() => base({ terms: providerTerms(sp({ maxTransferSize: 1000 })) }), "transfer size 1900 exceeds this miner's limit of 1000 bytes"]
  }
  for (const [name, [input, message]] of Object.entries(cases)) {
    it(`rejects ${name}`, () => {
      if (message instanceof RegExp) assert.match(verdict(input()) ?? '', message)
      else assert.equal(verdict(input()), message)
    })
  }

  it('refuses a blocklisted piece whatever multibase the blocklist writes it in (boost compares CIDs)', () => {
    const cid = CID.parse(PIECE)
    for (const b of [base32upper, base58btc, base36]) {
      assert.equal(verdict(base({ terms: providerTerms(sp({ pieceCidBlocklist: [cid.toString(b)] })) })), `miner has blocklisted piece CID ${PIECE}`, b.name)
    }
    assert.throws(() => providerTerms(sp({ pieceCidBlocklist: [PIECE, 'notacid'] })), /dealPolicy\.pieceCidBlocklist: "notacid" is not a CID/)
  })

  it('takes a miner on chain, and one whose StateMinerInfo read failed otherwise (boost makes no such read: nothing decided)', () => {
    assert.equal(verdict({ ...base(), chain: { ...base().chain, minerExists: fact(true) } }), undefined)
    assert.equal(verdict({ ...base(), chain: { ...base().chain, minerExists: failedFact('connection refused') } }), undefined)
  })

  // Regression (round 52, F4): entries were taken as text, so a mistyped denied address matched no
  // client (the client was accepted) and a mistyped allowed one shut every client out, all silently.
  it('refuses client list entries that are not addresses, naming the list and the entry', () => {
    const good = secp.address.toString()
    const typo = good.slice(0, -1) + (good.endsWith('a') ? 'b' : 'a')
    assert.throws(() => providerTerms(sp({ clients: { deny: [typo] } })), (err: Error) => err.message.startsWith(`dealPolicy.clients.deny: ${JSON.stringify(typo)} is not a Filecoin address: `))
    assert.throws(() => providerTerms(sp({ clients: { allow: ['f01000', 'f410fabc'] } })), /^Error: dealPolicy\.clients\.allow: "f410fabc" is not a Filecoin address: /)
    assert.equal(providerTerms(sp({ clients: { deny: ['t' + good.slice(1)] } })).clientsDeny.has(good.slice(1)), true, 'either letter, one key')
  })

  it('judges a host Go keeps as written but WHATWG reads as an address by the address the transfer connects to', () => {
    assert.equal(verdict(base({ params: { http: { url: 'http://8.8.8.8./a.car', size: 10 } } })), undefined)
    assert.equal(verdict(base({ params: { http: { url: 'http://1.2.3/a.car', size: 10 } } })), undefined)
    for (const url of ['http://0177.0.0.1/a.car', 'http://2130706433/a.car', 'http://127.0.0.1./a.car']) {
      assert.equal(verdict(base({ params: { http: { url, size: 10 } } })), 'transfer host refused: transfer address 127.0.0.1 is loopback (127.0.0.0/8); allow it with allowCidrs', url)
    }
  })

  it('allows a loopback host when the provider allows its range', () => {
    const terms = providerTerms(sp({ transferHosts: { allowCidrs: ['127.0.0.0/8'] } }))
    assert.equal(verdict(base({ params: { http: { url: 'http://127.0.0.1:8080/a.car', size: 10 } }, terms })), undefined)
  })

  it('charges boost\'s default prices when the provider names none (50,000,000 and 5,000,000 attoFIL per GiB per epoch)', () => {
    const noAsk = sp()
    delete noAsk.spec.ask
    const terms = providerTerms(noAsk)
    // A 2 KiB piece: 50,000,000 × 2048 / 2^30 = 95 (integer division); verified 9.
    assert.equal(verdict(edit(base({ terms }), (p) => { p.storagePricePerEpoch = 94n })), 'failed validation: storage price per epoch less than asking price: 94 < 95')
    assert.equal(verdict(edit(base({ terms }), (p) => { p.storagePricePerEpoch = 95n })), undefined)
    assert.equal(verdict(edit(base({ terms }), (p) => { p.verifiedDeal = true; p.storagePricePerEpoch = 8n })), 'failed validation: storage price per epoch less than asking price: 8 < 9')
  })

  it('matches an ID address in the client lists against a client proposing with its key address (StateLookupID)', () => {
    const id = Address.fromString('f01236')
    const withId = (terms: ProviderTerms, clientId: AdmissionInput['chain']['clientId']): AdmissionInput => {
      const i = base({ terms })
      return { ...i, chain: { ...i.chain, ...(clientId !== undefined ? { clientId } : {}) } }
    }
    const denied = providerTerms(sp({ clients: { deny: ['t01236'] } }))
    assert.equal(denied.clientListsNameIds, true)
    assert.equal(verdict(withId(denied, fact(id))), `client ${secp.address.toString()} is not allowed to make deals with this miner`)
    assert.equal(verdict(withId(denied, fact(Address.fromString('f01237')))), undefined)
    const allowed = providerTerms(sp({ clients: { allow: ['f01236'] } }))
    assert.equal(verdict(withId(allowed, fact(id))), undefined)
    const lookupFailed = evaluate(ADMISSION_CHECKS, withId(allowed, failedFact('lotus full: HTTP 503 from 10.0.0.5:1234')))
    // The client hears boost's kind of terse server error; the cause is for the operator's log.
    assert.deepEqual([lookupFailed?.message, lookupFailed?.detail], ['server error: looking up client ID address', 'StateLookupID: lotus full: HTTP 503 from 10.0.0.5:1234'])
    // Lists of key addresses need no lookup.
    assert.equal(providerTerms(sp({ clients: { deny: [other.address.toString()] } })).clientListsNameIds, false)
  })

  it('checks in boost order: a bad signature wins over a wrong provider and a past start', () => {
    const i = edit(base(), (p) => { p.provider = Address.fromString('f09'); p.startEpoch = 1; p.endEpoch = 518_401 }, other)
    assert.equal(evaluate(ADMISSION_CHECKS, i)?.reason, 'InvalidSignature')
  })

  it('does not read DataCap for unverified deals (a failed read does not matter)', () => {
    const i = base()
    assert.equal(verdict({ ...i, chain: { ...i.chain, datacap: failedFact('x') } }), undefined)
  })

  it('gives every violation a CamelCase reason', () => {
    for (const [, [input]] of Object.entries(cases)) {
      const v = evaluate(ADMISSION_CHECKS, input())
      assert.ok(v !== undefined)
      assert.match(v.reason, /^[A-Z][A-Za-z]+$/)
    }
  })
})

describe('funds and staging space (boost\'s TagFunds and StorageManager.Tag)', () => {
  const NO_FUNDS = 'server error: provider has insufficient funds to accept deal'
  const NO_SPACE = 'server error: provider has no space left for storage deals'
  // The proposal's provider collateral is 0 in base(): give it 1000.
  const withCollateral = (): AdmissionInput => {
    const i = edit(base(), (p) => { p.providerCollateral = 1000n })
    return { ...i, chain: { ...i.chain, collateralBounds: fact({ min: 1000n, max: 1000n }) } }
  }
  const funds = (o: Partial<FundsPosition> = {}): FundsPosition => ({
    ledger: 'f', escrowAvailable: 5000n, publishBalance: 100n, reserve: 0n, publishBudgetPerDeal: 10n, held: { collateral: 0n, publishes: 0 }, ...o
  })
  const staging = (o: Partial<StagingPosition> = {}): StagingPosition => ({ ledger: 's', capacityBytes: 10_000, reserveBytes: 0, heldBytes: 0, ...o })
  const withFunds = (f: FundsPosition, i = withCollateral()): AdmissionInput => ({ ...i, funds: fact(f) })
  const withStaging = (s: StagingPosition, i = withCollateral()): AdmissionInput => ({ ...i, staging: fact(s) })

  it('accepts collateral up to exactly what escrow has left after the reserve and what deals hold', () => {
    assert.equal(verdict(withFunds(funds({ escrowAvailable: 3000n, reserve: 1000n, held: { collateral: 1000n, publishes: 0 } }))), undefined)
    const v = evaluate(ADMISSION_CHECKS, withFunds(funds({ escrowAvailable: 3000n, reserve: 1000n, held: { collateral: 1001n, publishes: 0 } })))
    assert.equal(v?.message, NO_FUNDS)
    assert.equal(v?.reason, 'InsufficientFunds')
    assert.equal(v?.detail, 'FundLedger f: available funds 999 is less than collateral needed for deal 1000: available = funds in escrow 3000 - reserve 1000 - amount reserved for other deals 1001')
  })

  it('refuses when the publish wallet cannot pay one more publish message after what deals hold', () => {
    assert.equal(verdict(withFunds(funds({ publishBalance: 100n, held: { collateral: 0n, publishes: 9 } }))), undefined)
    const v = evaluate(ADMISSION_CHECKS, withFunds(funds({ publishBalance: 100n, held: { collateral: 0n, publishes: 10 } })))
    assert.deepEqual([v?.reason, v?.message], ['InsufficientPublishFunds', NO_FUNDS])
  })

  it('refuses when the transfer would reach the staging limit (boost\'s >=); 0 capacity is no limit', () => {
    // 1900-byte transfer: held 5099 + 1900 = 6999 < 7000 fits; 5100 + 1900 = 7000 does not.
    assert.equal(verdict(withStaging(staging({ capacityBytes: 8000, reserveBytes: 1000, heldBytes: 5099 }))), undefined)
    const v = evaluate(ADMISSION_CHECKS, withStaging(staging({ capacityBytes: 8000, reserveBytes: 1000, heldBytes: 5100 })))
    assert.deepEqual([v?.reason, v?.message], ['NoStagingSpace', NO_SPACE])
    assert.equal(verdict(withStaging(staging({ capacityBytes: 0, heldBytes: 1e15 }))), undefined)
  })

  it('answers boost\'s server errors when a ledger or balance cannot be read', () => {
    const i = withCollateral()
    assert.equal(verdict({ ...i, funds: failedFact('FundLedger f not found') }), 'server error: tag funds')
    assert.equal(verdict({ ...i, staging: failedFact('StorageLedger s not found') }), 'server error: tag storage')
  })

  it('checks funds before space, and both only after the deal filter and policy', () => {
    const broke = { ...withFunds(funds({ escrowAvailable: 0n })), staging: fact(staging({ capacityBytes: 1 })) }
    assert.equal(evaluate(ADMISSION_CHECKS, broke)?.reason, 'InsufficientFunds')
    const paused = { ...broke, provider: providerTerms(sp({}, { paused: true })) }
    assert.notEqual(evaluate(ADMISSION_CHECKS, paused)?.reason, 'InsufficientFunds')
  })

  it('does not tag funds or space for offline deals (boost tags funds at import)', () => {
    const offline = base({ params: { http: undefined } })
    assert.equal(verdict({ ...offline, funds: fact(funds({ escrowAvailable: 0n, publishBalance: 0n })), staging: fact(staging({ capacityBytes: 1 })) }), undefined)
  })
})

describe('helpers', () => {
  it('isPowerOfTwo', () => {
    assert.deepEqual([128, 2 ** 35, 3, 0, -2, 2 ** 53 + 2].map(isPowerOfTwo), [true, true, false, false, false, false])
  })
  it('goTime prints Go time.Time.String()', () => {
    assert.equal(goTime(new Date('2025-12-31T23:59:59.120Z')), '2025-12-31 23:59:59.12 +0000 UTC')
  })
  it('transferHostOf parses http and libp2p URLs as boost does', () => {
    const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o))
    assert.deepEqual(transferHostOf('http', enc({ url: 'https://h.example:8443/p' })), { host: 'h.example:8443' })
    assert.deepEqual(transferHostOf('libp2p', enc({ URL: 'libp2p:///ip4/10.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN' })), { host: '10.0.0.1:4001', ip: '10.0.0.1' })
    assert.deepEqual(transferHostOf('libp2p', enc({ URL: 'libp2p:///ip6/::1/tcp/1234/ipfs/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ' })), { host: '[::1]:1234', ip: '::1' })
    assert.match((transferHostOf('http', enc({ URL: 7 })) as { error: string }).error, /json: cannot unmarshal number into Go struct field HttpRequest.URL of type string$/)
    assert.match((transferHostOf('http', enc('x')) as { error: string }).error, /^failed to de-serialize transport params bytes '"x"'/)
    assert.match((transferHostOf('http', new Uint8Array([0x7b])) as { error: string }).error, /^failed to de-serialize transport params bytes '\{': /)
  })
})
