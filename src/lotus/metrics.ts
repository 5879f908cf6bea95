import { Counter, Histogram } from 'prom-client'
import { registry } from '../metrics.ts'

/**
 * Per-method call, error and latency metrics of the Lotus clients: `endpoint` is the kind ("full"
 * or "miner"), `node` the host:port of its URL (never its credentials or path), so an
 * installation serving several miners tells their Lotus nodes apart.
 */
function counter (name: string, help: string, labelNames: string[]): Counter {
  const existing = registry.getSingleMetric(name)
  if (existing !== undefined) return existing as Counter
  return new Counter({ name, help, labelNames, registers: [registry] })
}

export const rpcOperations = counter('dealyard_lotus_rpc_operations_total',
  'JSON-RPC calls made to Lotus (one per call, retries included in attempts).', ['endpoint', 'node', 'method'])
export const rpcAttempts = counter('dealyard_lotus_rpc_attempts_total',
  'HTTP requests sent for JSON-RPC calls, retries included.', ['endpoint', 'node', 'method'])
export const rpcErrors = counter('dealyard_lotus_rpc_errors_total',
  'JSON-RPC calls to Lotus that ended in an error, by error code.', ['endpoint', 'node', 'method', 'code'])
export const pushBytes = counter('dealyard_lotus_push_sent_bytes_total',
  'Piece bytes uploaded to lotus-miner push streams.', [])

const durationName = 'dealyard_lotus_rpc_duration_seconds'
export const rpcDuration: Histogram = (registry.getSingleMetric(durationName) as Histogram | undefined) ??
  new Histogram({
    name: durationName,
    help: 'Latency of JSON-RPC calls to Lotus, retries included.',
    labelNames: ['endpoint', 'node', 'method'],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [registry]
  })
