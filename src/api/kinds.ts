import type { KindDefinition } from './common.ts'
import { storageDeal } from './storagedeal.ts'
import { storageProvider } from './storageprovider.ts'
import { fundLedger, storageLedger } from './ledgers.ts'

/** Every kind dealyard defines, in the order the generated files list them. */
export const KINDS: KindDefinition[] = [storageDeal, storageProvider, fundLedger, storageLedger]

export { storageDeal, storageProvider, fundLedger, storageLedger }
