import { Counter } from 'prom-client'
import { registry } from '../metrics.ts'

export interface TransferMetrics {
  bytes: Counter
  retries: Counter
  drops: Counter<'reason'>
  operations: Counter<'result'>
}

let metrics: TransferMetrics | undefined

/** The transfer program's metrics, registered once per process. */
export function transferMetrics (): TransferMetrics {
  metrics ??= {
    bytes: new Counter({ name: 'dealyard_transfer_received_bytes_total', help: 'Bytes received from data servers and written to the staging volume.', registers: [registry] }),
    retries: new Counter({ name: 'dealyard_transfer_retries_total', help: 'Transfer connection attempts that failed and were retried.', registers: [registry] }),
    drops: new Counter({ name: 'dealyard_transfer_dropped_connections_total', help: 'Connections the transfer dropped itself before retrying, by reason (STALLED: no byte for the stall timeout; TOO_SLOW: below the minimum rate).', labelNames: ['reason'], registers: [registry] }),
    operations: new Counter({ name: 'dealyard_transfer_operations_total', help: 'Transfers and verifications finished, by result (ok, error, or busy: another run of the deal held its lock).', labelNames: ['result'], registers: [registry] })
  }
  return metrics
}
