import { bool, enumOf, immutableExcept, int, obj, str, withRules, type Schema } from './schema.ts'
import { address, cid, conditions, epoch, k8sName, MAX_SIGNATURE_DATA_BASE64, paddedPieceSize, timestamp, uuid, wireAttoFil, wireCid, type KindDefinition } from './common.ts'

/** Boost's checkpoints, in order; a failed deal ends in Complete with `status.error` set. */
export const CHECKPOINTS = ['Accepted', 'Transferred', 'Published', 'PublishConfirmed', 'AddedPiece',
  'IndexedAndAnnounced', 'Complete'] as const

export const RETRY_CLASSES = ['auto', 'manual', 'fatal'] as const

/** The condition types a StorageDeal carries; one per checkpoint plus the summary ones. */
export const DEAL_CONDITIONS = ['Accepted', 'Transferred', 'Published', 'PublishConfirmed', 'AddedPiece',
  'IndexedAndAnnounced', 'Ready', 'Stalled', 'Paused'] as const

const proposal = obj('The market DealProposal the client signed, field for field.', {
  pieceCid: wireCid('Piece CID (CommP, fil-commitment-unsealed / sha2-256-trunc254-padded).'),
  pieceSize: paddedPieceSize('Padded piece size in bytes: a power of two, at least 128.'),
  verifiedDeal: bool('Whether the deal spends the client\'s DataCap.'),
  client: address('Client wallet address as proposed.'),
  provider: address('Storage provider (miner) address as proposed.'),
  label: str('Deal label: the UTF-8 text, or base64 of the bytes when labelEncoding is bytes.', { maxLength: 400 }),
  labelEncoding: enumOf('How the label was encoded on the wire (CBOR text or byte string).', ['string', 'bytes']),
  startEpoch: epoch('Epoch by which the sector must be proven.'),
  endEpoch: epoch('Epoch the deal ends.'),
  storagePricePerEpoch: wireAttoFil('Price per epoch for the whole piece'),
  providerCollateral: wireAttoFil('Provider collateral'),
  clientCollateral: wireAttoFil('Client collateral')
}, {
  title: 'DealProposalSpec',
  required: ['pieceCid', 'pieceSize', 'verifiedDeal', 'client', 'provider', 'label', 'labelEncoding', 'startEpoch',
    'endEpoch', 'storagePricePerEpoch', 'providerCollateral', 'clientCollateral']
})

const dealSpecBase = obj('The accepted proposal. Written once by the ingress; immutable except dataSource.', {
  provider: k8sName('Name of the StorageProvider resource that accepted the deal.'),
  dealUuid: uuid('Deal UUID chosen by the client; equals metadata.name.'),
  protocol: enumOf('Deal protocol the proposal arrived on.', ['/fil/storage/mk/1.2.0', '/fil/storage/mk/1.2.1']),
  clientPeerId: str('libp2p peer ID of the connection the proposal came from.', { maxLength: 128 }),
  proposal,
  clientSignature: obj('The client\'s signature over the CBOR DealProposal.', {
    type: enumOf('Signature type.', ['secp256k1', 'bls', 'delegated']),
    data: str('Signature bytes without the type byte, base64.', { maxLength: MAX_SIGNATURE_DATA_BASE64 })
  }, { required: ['type', 'data'], title: 'DealSignature' }),
  signedProposalCid: cid('CID (dag-cbor, sha2-256) of the signed ClientDealProposal.'),
  proposalCid: cid('CID (dag-cbor, blake2b-256) of the DealProposal, as the market actor knows it.'),
  dealDataRoot: wireCid('Root CID of the payload (the CAR\'s root), used for indexing and announcement.'),
  isOffline: bool('Offline deal: the provider imports the data (spec.dataSource).'),
  skipIpniAnnounce: bool('Do not announce the deal\'s blocks to IPNI.'),
  removeUnsealedCopy: bool('Do not keep an unsealed copy for fast retrieval.'),
  transfer: obj('How to fetch the data of an online deal. Parameters that can carry credentials live in a Secret.', {
    type: enumOf('Transfer type; empty for offline deals.', ['', 'http', 'libp2p']),
    size: int('Bytes to download (the CAR/file size, not the padded piece size).', { minimum: 0 }),
    clientId: str('Optional client label from the proposal, only logged.', { maxLength: 256 }),
    paramsSecretRef: obj('Secret in the deal\'s namespace, key params.json: the transfer Params JSON as sent.', {
      name: k8sName('Secret name.')
    }, { required: ['name'] })
  }, { required: ['type', 'size'], title: 'DealTransferSpec' }),
  dataSource: withRules(obj('Where the data of an offline deal was imported from. May be set once.', {
    path: withRules(str('Path of the file on the staging volume, relative to the StorageLedger\'s staging path.', { maxLength: 4096, minLength: 1 }),
      { rule: "!self.startsWith('/') && self != '..' && !self.startsWith('../') && !self.endsWith('/..') && !self.contains('/../')", message: 'must be a path inside the staging volume: relative, without ".." segments' })
  }, { required: ['path'], title: 'DealDataSource' }), { rule: 'self == oldSelf', message: 'dataSource may be set once and not changed' })
}, {
  title: 'StorageDealSpec',
  required: ['provider', 'dealUuid', 'protocol', 'proposal', 'clientSignature', 'signedProposalCid', 'proposalCid',
    'isOffline', 'transfer']
})

const dealSpec: Schema = withRules(dealSpecBase,
  { rule: immutableExcept(dealSpecBase, ['dataSource']), message: 'spec is immutable except dataSource, which may be set once' },
  { rule: '!has(oldSelf.dataSource) || has(self.dataSource)', message: 'dataSource may not be removed once set' },
  { rule: '!has(self.dataSource) || self.isOffline', message: 'dataSource is only for offline deals' },
  { rule: 'self.isOffline == (self.transfer.type == "")', message: 'offline deals have no transfer type; online deals need one' },
  { rule: 'self.proposal.endEpoch > self.proposal.startEpoch', message: 'proposal endEpoch must be after startEpoch' })

const dealStatus = obj('Observed progress of the deal. Written by the controller (and the transfer Job for status.transfer).', {
  observedGeneration: int('The .metadata.generation last reconciled.', { minimum: 0 }),
  checkpoint: enumOf('Last checkpoint reached, as boost names them.', CHECKPOINTS),
  checkpointTime: timestamp('When the checkpoint was reached.'),
  error: str('Why the deal is paused or failed; empty while it progresses (boost\'s deal Err).', { maxLength: 4096 }),
  retry: enumOf('How the deal continues after an error: auto (backoff), manual (operator action), fatal (failed).', RETRY_CLASSES),
  attempts: int('Consecutive failed attempts of the current step.', { minimum: 0 }),
  lastFailureTime: timestamp('When the current step last failed.'),
  message: str('One line for humans about what is happening now.', { maxLength: 1024 }),
  progress: str('Transfer progress for the printer column, e.g. 42%.', { maxLength: 16 }),
  transfer: obj('Transfer progress, written by the transfer Job with its own field manager.', {
    jobName: k8sName('The Job doing the transfer or verification.'),
    bytesReceived: int('Bytes on the staging volume so far.', { minimum: 0 }),
    totalBytes: int('Bytes expected.', { minimum: 0 }),
    rateBytesPerSecond: int('Recent download rate.', { minimum: 0 }),
    lastUpdate: timestamp('When these numbers were written.'),
    attempt: int('Connection attempt number (1 = first).', { minimum: 0 }),
    pieceCid: cid('Piece CID computed from the received bytes.'),
    stagedPath: str('Path of the staged file, relative to the staging path.', { maxLength: 4096 }),
    indexPath: str('Path of the CARv2 MultihashIndexSorted index, relative to the staging path.', { maxLength: 4096 }),
    error: str('Why the transfer failed.', { maxLength: 4096 }),
    errorCode: str('Stable code of the transfer failure.', { maxLength: 64 })
  }, { title: 'DealTransferStatus' }),
  publishCid: cid('CID of the PublishStorageDeals message that carries the deal.'),
  publishEpoch: epoch('Epoch the publish message landed in.'),
  // The status protocol sends it as a CBOR uint64 from a JS number: past 2^53 it could not be encoded.
  chainDealId: int('Deal ID on chain, known after the publish message landed.', { minimum: 0 }),
  sector: obj('Where the piece went.', {
    number: int('Sector number.', { minimum: 0 }),
    offset: int('Padded offset of the piece in the sector.', { minimum: 0 }),
    state: str('Sealing state name reported by lotus-miner.', { maxLength: 64 })
  }, { title: 'DealSector' }),
  index: obj('Index and announcement.', {
    multihashes: int('Blocks indexed.', { minimum: 0 }),
    advertisementCid: cid('IPNI advertisement CID.'),
    announcedAt: timestamp('When the advertisement was announced.')
  }, { title: 'DealIndexStatus' }),
  conditions
}, { title: 'StorageDealStatus' })

export const storageDeal: KindDefinition = {
  kind: 'StorageDeal',
  plural: 'storagedeals',
  singular: 'storagedeal',
  shortNames: ['sd'],
  scope: 'Namespaced',
  description: 'One storage deal: the accepted proposal (spec) and its progress to a sealed sector (status).',
  spec: dealSpec,
  status: dealStatus,
  rootRules: [{ rule: 'self.metadata.name == self.spec.dealUuid', message: 'metadata.name must equal spec.dealUuid' }],
  printerColumns: [
    { name: 'Provider', type: 'string', jsonPath: '.spec.proposal.provider' },
    { name: 'Client', type: 'string', jsonPath: '.spec.proposal.client' },
    { name: 'Size', type: 'integer', jsonPath: '.spec.proposal.pieceSize', description: 'Padded piece size in bytes' },
    { name: 'Checkpoint', type: 'string', jsonPath: '.status.checkpoint' },
    { name: 'Progress', type: 'string', jsonPath: '.status.progress' },
    { name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'PieceCID', type: 'string', jsonPath: '.spec.proposal.pieceCid', priority: 1 },
    { name: 'DealID', type: 'integer', jsonPath: '.status.chainDealId', priority: 1 },
    { name: 'Sector', type: 'integer', jsonPath: '.status.sector.number', priority: 1 },
    { name: 'Retry', type: 'string', jsonPath: '.status.retry', priority: 1 },
    { name: 'TransferError', type: 'string', jsonPath: '.status.transfer.errorCode', priority: 1, description: 'Why the last transfer or import attempt failed; status.transfer.error has the message' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 }
  ]
}
