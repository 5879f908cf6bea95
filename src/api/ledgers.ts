import { arr, int, obj, str } from './schema.ts'
import { address, attoFil, conditions, k8sName, seconds, timestamp, uuid, type KindDefinition } from './common.ts'

/**
 * Ledger entries list only in-flight deals, keyed by deal UUID, so a tag or untag is one
 * compare-and-swap write and stays idempotent; the cap keeps the object far below etcd's 1.5 MB.
 */
const MAX_ENTRIES = 5000

/** What each deal reserves of the publish wallet until its publish message is on chain: boost's default MaxPublishDealsFee. */
export const PUBLISH_BUDGET_PER_DEAL = '50000000000000000'

const fundEntry = obj('Funds tagged for one in-flight deal.', {
  dealUuid: uuid('The deal.'),
  namespace: k8sName('Namespace of the StorageDeal.'),
  collateral: attoFil('Provider collateral reserved'),
  publish: attoFil('Publish gas budget reserved'),
  taggedAt: timestamp('When the funds were tagged.')
}, { required: ['dealUuid', 'namespace', 'collateral', 'publish'], title: 'FundLedgerEntry' })

export const fundLedger: KindDefinition = {
  kind: 'FundLedger',
  plural: 'fundledgers',
  singular: 'fundledger',
  shortNames: ['fl'],
  scope: 'Cluster',
  description: 'Provider collateral (market escrow) and publish-wallet funds, and what in-flight deals have tagged of them.',
  spec: obj('Wallets and reserves. Owned by GitOps.', {
    escrowAddress: address('Address whose market escrow pays provider collateral (the miner).'),
    publishWallet: address('Wallet that pays for publish messages.'),
    reserve: attoFil('Escrow never tagged for deals', { default: '0' }),
    publishBudgetPerDeal: attoFil('Publish gas budget tagged per deal (boost\'s MaxPublishDealsFee, 0.05 FIL)', { default: PUBLISH_BUDGET_PER_DEAL }),
    syncIntervalSeconds: seconds('How often balances are read from the chain.', { minimum: 5, default: 60 })
  }, { title: 'FundLedgerSpec', required: ['escrowAddress', 'publishWallet'] }),
  status: obj('Balances from chain and the tags of in-flight deals.', {
    observedGeneration: int('The .metadata.generation last reconciled.', { minimum: 0 }),
    escrowAvailable: attoFil('Escrow available (balance − locked) at the last sync'),
    publishBalance: attoFil('Publish wallet balance at the last sync'),
    taggedCollateral: attoFil('Sum of collateral tags'),
    taggedPublish: attoFil('Sum of publish tags'),
    availableCollateral: attoFil('Escrow available − reserve − tagged collateral (may be 0)'),
    availablePublish: attoFil('Publish balance − tagged publish (may be 0)'),
    inFlight: int('Number of entries.', { minimum: 0 }),
    entries: arr('One entry per in-flight deal (Accepted → Published).', fundEntry, {
      maxItems: MAX_ENTRIES, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['dealUuid']
    }),
    lastSyncTime: timestamp('When balances were last read.'),
    conditions
  }, { title: 'FundLedgerStatus' }),
  printerColumns: [
    { name: 'Escrow', type: 'string', jsonPath: '.spec.escrowAddress' },
    { name: 'AvailableCollateral', type: 'string', jsonPath: '.status.availableCollateral' },
    { name: 'InFlight', type: 'integer', jsonPath: '.status.inFlight' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }
  ]
}

const storageEntry = obj('Staging bytes tagged for one in-flight deal.', {
  dealUuid: uuid('The deal.'),
  namespace: k8sName('Namespace of the StorageDeal.'),
  bytes: int('Bytes reserved on the staging volume (the transfer size).', { minimum: 0 }),
  taggedAt: timestamp('When the bytes were tagged.')
}, { required: ['dealUuid', 'namespace', 'bytes'], title: 'StorageLedgerEntry' })

export const storageLedger: KindDefinition = {
  kind: 'StorageLedger',
  plural: 'storageledgers',
  singular: 'storageledger',
  shortNames: ['sl'],
  scope: 'Cluster',
  description: 'A staging volume deals download into, and the bytes in-flight deals have tagged on it.',
  spec: obj('The staging volume. Owned by GitOps.', {
    capacityBytes: int('Bytes deals may use on the volume; 0 = no limit (boost\'s MaxStagingDealsBytes).', { minimum: 0 }),
    reserveBytes: int('Bytes never tagged for deals.', { minimum: 0, default: 0 }),
    stagingPath: str('Where the volume is mounted in dealyard pods.', { maxLength: 4096, default: '/var/lib/dealyard/staging' }),
    claimName: k8sName('PersistentVolumeClaim mounted at stagingPath by transfer Jobs.')
  }, { title: 'StorageLedgerSpec', required: ['capacityBytes'] }),
  status: obj('Tags of in-flight deals and what the volume reports.', {
    observedGeneration: int('The .metadata.generation last reconciled.', { minimum: 0 }),
    taggedBytes: int('Sum of tags.', { minimum: 0 }),
    availableBytes: int('capacity − reserve − tagged (may be 0).', { minimum: 0 }),
    observedFreeBytes: int('Free bytes the volume reported at the last audit.', { minimum: 0 }),
    inFlight: int('Number of entries.', { minimum: 0 }),
    entries: arr('One entry per in-flight deal (Accepted → AddedPiece).', storageEntry, {
      maxItems: MAX_ENTRIES, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['dealUuid']
    }),
    lastAuditTime: timestamp('When tags were last recomputed from the deals.'),
    conditions
  }, { title: 'StorageLedgerStatus' }),
  printerColumns: [
    { name: 'Capacity', type: 'integer', jsonPath: '.spec.capacityBytes' },
    { name: 'Available', type: 'integer', jsonPath: '.status.availableBytes' },
    { name: 'InFlight', type: 'integer', jsonPath: '.status.inFlight' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }
  ]
}
