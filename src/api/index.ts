/**
 * dealyard's API: resource coordinates, generated types and validation, all from the kind
 * definitions in this folder.
 */
import { API_VERSION, GROUP, VERSION, type KindDefinition } from './common.ts'
import { fundLedger, storageDeal, storageLedger, storageProvider } from './kinds.ts'

export * from './types.generated.ts'
export { CHECKPOINTS, RETRY_CLASSES, DEAL_CONDITIONS } from './storagedeal.ts'
export { LOTUS_TOKEN_LABEL } from './storageprovider.ts'
export { validate, formatErrors, type FieldError } from './validate.ts'
export { API_VERSION, GROUP, VERSION }

/** Where a kind lives on the apiserver: enough for list/watch/patch through CustomObjectsApi. */
export interface ResourceRef {
  group: string
  version: string
  plural: string
  kind: string
  namespaced: boolean
}

function ref (d: KindDefinition): ResourceRef {
  return { group: GROUP, version: VERSION, plural: d.plural, kind: d.kind, namespaced: d.scope === 'Namespaced' }
}

export const StorageDeals = ref(storageDeal)
export const StorageProviders = ref(storageProvider)
export const FundLedgers = ref(fundLedger)
export const StorageLedgers = ref(storageLedger)

export const schemas = {
  storageDealSpec: storageDeal.spec,
  storageDealStatus: storageDeal.status,
  storageProviderSpec: storageProvider.spec,
  fundLedgerSpec: fundLedger.spec,
  storageLedgerSpec: storageLedger.spec
}

export type Checkpoint = typeof import('./storagedeal.ts').CHECKPOINTS[number]
export type RetryClass = typeof import('./storagedeal.ts').RETRY_CLASSES[number]
