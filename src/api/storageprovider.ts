import { arr, bool, int, obj, str, withRules } from './schema.ts'
import { address, attoFil, cid, conditions, epoch, k8sName, minerAddress, paddedPieceSize, seconds, secretKeyRef, timestamp, type KindDefinition } from './common.ts'

/**
 * The label a Secret must carry (value "true") for a StorageProvider to name it as a Lotus token.
 * The token is sent to the URL the StorageProvider gives: without the mark, whoever may write a
 * StorageProvider could have the ingress send any Secret it can read (its libp2p identity, a
 * deal's transfer parameters) to a server of their choosing. The mark does not tie a token to one
 * StorageProvider: writing StorageProviders stays as trusted as holding the marked tokens.
 */
export const LOTUS_TOKEN_LABEL = 'dealyard.io/lotus-token'

const endpoint = (what: string): ReturnType<typeof obj> => obj(`${what} JSON-RPC endpoint.`, {
  url: str('HTTP(S) URL of the JSON-RPC endpoint: a full node\'s v1 API (e.g. http://lotus:1234/rpc/v1), lotus-miner\'s v0 API (e.g. http://lotus-miner:2345/rpc/v0).', { pattern: '^https?://', maxLength: 2048 }),
  tokenSecretRef: secretKeyRef(`API token (JWT) with the permissions the engine needs. The Secret must be labelled ${LOTUS_TOKEN_LABEL}=true.`)
}, { required: ['url'], title: 'RpcEndpointSpec' })

const cidrs = (description: string): ReturnType<typeof arr> =>
  arr(description, withRules(str('A CIDR, e.g. 10.0.0.0/8 or fd00::/8.', { maxLength: 64, pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$' }),
    // The pattern lets 10.0.0.0/40 and 999.1.1.1/8 through; one of them used to break the
    // provider's admission at the first proposal.
    { rule: 'isCIDR(self)', message: 'must be a CIDR such as 10.0.0.0/8 or fd00::/8' }), { maxItems: 256 })

/**
 * Defaults of the ask and of the deal policy: the CRD's schema declares them, and the ingress fills
 * them into specs that did not come through the apiserver. The prices are boost's defaults
 * (storagemarket/storedask: 50,000,000 and 5,000,000 attoFIL per GiB per epoch), so a provider that
 * names no price does not store data for free.
 */
export const ASK_DEFAULTS = {
  price: '50000000',
  verifiedPrice: '5000000',
  minPieceSize: 256,
  maxPieceSize: 34359738368,
  expiryEpochs: 2880
} as const

export const DEAL_POLICY_DEFAULTS = {
  acceptOnline: true,
  acceptOffline: true,
  acceptVerified: true,
  acceptUnverified: true,
  expectedSealDurationEpochs: 2880,
  maxStartDelayEpochs: 40320,
  maxProviderCollateralMultiplier: 2,
  maxTransferSize: 0,
  transferTypes: ['http']
} as const

/**
 * The default low-speed limit of transfers, 64 KiB/s (512 kbit/s). Far below any path a client
 * serves deal data over: one TCP stream without window scaling (64 KiB in flight) across a 300 ms
 * round trip still moves about 213 KiB/s, and an ADSL uplink about 1 Mbit/s. A data source under it
 * is broken or hostile, and holds one of the provider's few transfer slots: at 64 KiB/s a 32 GiB
 * piece would take six days, four times the default deadline. 1 MiB/s would cut healthy clients on
 * slow uplinks.
 */
export const DEFAULT_MIN_BYTES_PER_SECOND = 65536

const providerSpec = obj('A miner this installation makes deals for. Owned by GitOps.', {
  address: minerAddress('Miner actor address: its ID address (f0… or t0…), not a key address.'),
  paused: bool('Refuse new proposals and stop advancing deals (in-flight data stays).', { default: false }),
  lotus: obj('Chain and sealing endpoints.', {
    fullNode: endpoint('Lotus full node (v1 API)'),
    miner: endpoint('lotus-miner (v0 API)')
  }, { required: ['fullNode', 'miner'], title: 'LotusSpec' }),
  ask: withRules(obj('The storage ask: prices and piece size bounds.', {
    price: attoFil('Price per GiB per epoch for unverified deals', { default: ASK_DEFAULTS.price }),
    verifiedPrice: attoFil('Price per GiB per epoch for verified deals', { default: ASK_DEFAULTS.verifiedPrice }),
    minPieceSize: paddedPieceSize('Smallest padded piece size accepted (a power of two).', { default: ASK_DEFAULTS.minPieceSize }),
    maxPieceSize: paddedPieceSize('Largest padded piece size accepted (a power of two).', { default: ASK_DEFAULTS.maxPieceSize }),
    // No default: left out, the ask's SeqNo follows metadata.generation, so it rises with every
    // change of the spec as boost's rises with every SetAsk, without the operator bumping it.
    seqNo: int('Ask sequence number. Left out or 0, the StorageProvider\'s metadata.generation (it rises with every spec change, as boost\'s SeqNo rises with every SetAsk).', { minimum: 0 }),
    // A year of epochs: an ask is re-signed long before; the bound keeps head + expiry exact.
    expiryEpochs: int('How long a signed ask is valid, in epochs (at most a year).', { minimum: 1, maximum: 1051200, default: ASK_DEFAULTS.expiryEpochs })
  }, { title: 'AskSpec' }), { rule: '!has(self.minPieceSize) || !has(self.maxPieceSize) || self.minPieceSize <= self.maxPieceSize', message: 'minPieceSize must not be larger than maxPieceSize' }),
  dealPolicy: obj('What proposals to accept.', {
    acceptOnline: bool('Consider online deals.', { default: DEAL_POLICY_DEFAULTS.acceptOnline }),
    acceptOffline: bool('Consider offline deals.', { default: DEAL_POLICY_DEFAULTS.acceptOffline }),
    acceptVerified: bool('Consider verified deals.', { default: DEAL_POLICY_DEFAULTS.acceptVerified }),
    acceptUnverified: bool('Consider unverified deals.', { default: DEAL_POLICY_DEFAULTS.acceptUnverified }),
    expectedSealDurationEpochs: int('A deal must start at least this far after the current head.', { minimum: 0, default: DEAL_POLICY_DEFAULTS.expectedSealDurationEpochs }),
    maxStartDelayEpochs: int('Online deals may start at most this far after the earliest possible start.', { minimum: 0, default: DEAL_POLICY_DEFAULTS.maxStartDelayEpochs }),
    maxProviderCollateralMultiplier: int('Accept provider collateral up to this multiple of the chain minimum.', { minimum: 1, default: DEAL_POLICY_DEFAULTS.maxProviderCollateralMultiplier }),
    maxTransferSize: int('Largest transfer accepted, in bytes (0 = the maximum piece size).', { minimum: 0, default: DEAL_POLICY_DEFAULTS.maxTransferSize }),
    transferTypes: arr('Transfer types accepted for online deals.', str('A transfer type.', { enum: ['http', 'libp2p'] }), { maxItems: 2, default: [...DEAL_POLICY_DEFAULTS.transferTypes] }),
    clients: obj('Client filters by ID (f0…) or key address; either form matches the same client. A non-empty allow list admits only those clients; the deny list always wins.', {
      allow: arr('Client addresses allowed.', address('A client address.'), { maxItems: 10000 }),
      deny: arr('Client addresses refused.', address('A client address.'), { maxItems: 10000 })
    }, { title: 'ClientFilter' }),
    pieceCidBlocklist: arr('Piece CIDs never accepted.', cid('A piece CID.'), { maxItems: 10000 }),
    transferHosts: obj('Hosts the provider may download from (checked at admission and at connect time). '
      + 'Loopback, link-local, private and the cluster\'s own ranges are refused unless allowed here. '
      + 'Where an allowed and a denied range both hold an address, the narrower one decides (a denied range as narrow as an allowed one wins). '
      + 'IPv4 and IPv6 ranges hold only their own family (::/0 is not every IPv4 address); an IPv6 address that carries an IPv4 one (NAT64 at 64:ff9b::/96, or at a /96 prefix of 64:ff9b:1::/48, the only way to allow the local-use range; SIIT; IPv4-compatible; 6to4; Teredo) is judged by that IPv4 address first, whatever IPv6 range allows it. '
      + 'A NAT64 prefix of the network\'s own choosing cannot be told from ordinary IPv6: deny it, or its forms of the internal ranges.', {
      allowCidrs: cidrs('Ranges allowed even if refused by default (e.g. 10.0.0.0/8 for data servers on the site\'s network).'),
      denyCidrs: cidrs('Extra ranges refused (e.g. the cluster\'s pod and service CIDRs), inside a wider allowed range too.')
    }, { title: 'TransferHostPolicy' })
  }, { title: 'DealPolicySpec' }),
  publish: obj('How deals are batched into PublishStorageDeals messages.', {
    wallet: address('Wallet that sends publish messages (a control address of the miner).'),
    periodSeconds: seconds('Wait this long after the first pending deal before publishing a batch.', { minimum: 0, default: 3600 }),
    maxDealsPerMessage: int('Publish as soon as this many deals are pending.', { minimum: 1, maximum: 256, default: 8 }),
    maxFee: attoFil('Maximum fee per publish message', { default: '50000000000000000' }),
    startEpochSealingBuffer: int('Deals starting within this many epochs of the head are not published.', { minimum: 0, default: 480 }),
    manual: bool('Deals wait for the publish-now action instead of the timer.', { default: false })
  }, { title: 'PublishSpec' }),
  indexing: obj('CAR indexing and IPNI announcements.', {
    announce: bool('Announce deals to IPNI.', { default: true }),
    announceUrls: arr('Indexer announce endpoints (HTTP).', str('URL.', { maxLength: 2048, pattern: '^https?://' }), { maxItems: 16 }),
    publisherUrl: str('Public URL of this provider\'s ipnisync HTTP publisher.', { maxLength: 2048 })
  }, { title: 'IndexingSpec' }),
  transfer: obj('Transfer Jobs.', {
    image: str('Container image of dealyard for transfer Jobs (defaults to the controller\'s own).', { maxLength: 512 }),
    maxConcurrent: int('Transfers running at once for this provider.', { minimum: 1, default: 4 }),
    stallTimeoutSeconds: seconds('Reconnect when no byte arrived for this long (at most 2147483 s). Also the window minBytesPerSecond is averaged over.', { minimum: 1, default: 60 }),
    // The window is stallTimeoutSeconds rather than a field of its own: a stall is the same rule
    // with a one-byte minimum, and both asking "did enough arrive in the last N seconds" over one
    // N keeps them from contradicting each other (a 10 s stall timeout beside a 5 min rate window).
    minBytesPerSecond: int('The transfer\'s bytes, all its connections together, are judged over consecutive windows of stallTimeoutSeconds from its first byte: a window '
      + 'averaging less than this many per second counts as too slow (and one with bytes in it reconnects), a window at it takes one off; once the count reaches the attempt limit, the transfer fails with TRANSFER_TOO_SLOW. '
      + '0 turns the check off. The default, 65536 (64 KiB/s, 512 kbit/s), is far below any healthy client\'s path and stops a trickling source from holding a transfer slot until the deadline.',
    { minimum: 0, default: DEFAULT_MIN_BYTES_PER_SECOND }),
    deadlineSeconds: seconds('Fail a transfer that takes longer than this (at most 2147483 s, ~24.8 days).', { minimum: 1, default: 86400 })
  }, { title: 'TransferJobSpec' }),
  fundLedger: k8sName('FundLedger that holds this provider\'s collateral and publish funds.'),
  storageLedger: k8sName('StorageLedger of the staging volume this provider downloads into.')
}, { title: 'StorageProviderSpec', required: ['address', 'lotus', 'fundLedger', 'storageLedger'] })

const providerStatus = obj('What the ingress observed about the provider (one replica writes it, every 30 s and on spec changes). '
  + 'Conditions: Ready (False: Deleting, Paused, DuplicateAddress, InvalidConfig, ConfigUnreadable, PolicyRefusesAll, LedgerMissing, LedgerUnusable, TokenRefused, ChainUnreachable, MinerInfoUnavailable; '
  + 'True: Serving, or StaleToken when the token Secret could not be read again and the token read before is in use), '
  + 'PeerIdOnChain (False: NotSet or Mismatch, with the lotus-miner command that fixes it).', {
  observedGeneration: int('The .metadata.generation last observed.', { minimum: 0 }),
  peerId: str('libp2p peer ID the ingress serves every provider as (its --identity-file; set it on chain with lotus-miner actor set-peer-id).', { maxLength: 128 }),
  chainHead: epoch('Chain head at the last sync.'),
  lastSyncTime: timestamp('When chain facts were last read.'),
  activeDeals: int('Deals not yet Complete.', { minimum: 0 }),
  workerAddress: address('Miner worker address from StateMinerInfo.'),
  conditions
}, { title: 'StorageProviderStatus' })

export const storageProvider: KindDefinition = {
  kind: 'StorageProvider',
  plural: 'storageproviders',
  singular: 'storageprovider',
  shortNames: ['sp'],
  scope: 'Cluster',
  description: 'A storage provider (miner) this installation makes deals for: endpoints, ask, policy, batching.',
  spec: providerSpec,
  status: providerStatus,
  // The name is a label value on every deal of the provider: a longer one made each deal's create fail.
  rootRules: [{ rule: 'self.metadata.name.size() <= 63', message: 'metadata.name must be at most 63 characters: it labels every deal of the provider (dealyard.io/provider)' }],
  printerColumns: [
    { name: 'Address', type: 'string', jsonPath: '.spec.address' },
    { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused' },
    { name: 'Deals', type: 'integer', jsonPath: '.status.activeDeals' },
    { name: 'Head', type: 'integer', jsonPath: '.status.chainHead' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
    { name: 'PeerID', type: 'string', jsonPath: '.status.peerId', priority: 1 },
    { name: 'PeerIdOnChain', type: 'string', jsonPath: '.status.conditions[?(@.type=="PeerIdOnChain")].status', priority: 1 },
    { name: 'Synced', type: 'date', jsonPath: '.status.lastSyncTime', priority: 1 }
  ]
}
