/** The ingress's metrics, in the process registry (served on --metrics-addr /metrics). */
import { Counter, Gauge, Histogram } from 'prom-client'
import { registry } from '../metrics.ts'

/** Every proposal answered: result accepted|rejected|error, reason a CamelCase word ('' when accepted). */
export const proposalsTotal = new Counter({
  name: 'dealyard_proposals_total',
  help: 'Deal proposals answered by the ingress, by provider, result and reason.',
  labelNames: ['provider', 'result', 'reason'],
  registers: [registry]
})

export const proposalDuration = new Histogram({
  name: 'dealyard_ingress_proposal_duration_seconds',
  help: 'Time from a complete DealParams to the DealResponse written (admission + persistence).',
  labelNames: ['result'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry]
})

/**
 * Where persisting a proposal waits, for each step it got through: the deal's create, the
 * StorageDeal watch delivering it (what it is decided again against), the params Secret's create.
 * All three are the apiserver's time: a growing `watch` is a watch falling behind its writes.
 */
export const persistStepDuration = new Histogram({
  name: 'dealyard_ingress_persist_step_duration_seconds',
  help: 'Time of each step persisting a proposal that succeeded: step deal_create|watch|params_create.',
  labelNames: ['step'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry]
})

export const openStreams = new Gauge({
  name: 'dealyard_ingress_open_streams',
  help: 'Protocol streams being served now, by protocol.',
  labelNames: ['protocol'],
  registers: [registry]
})

export const streamsWaiting = new Gauge({
  name: 'dealyard_ingress_streams_waiting',
  help: 'New streams held back because their connection opened more than its per-second budget; served in order as it allows.',
  registers: [registry]
})

export const openConnections = new Gauge({
  name: 'dealyard_ingress_open_connections',
  help: 'libp2p connections open now.',
  registers: [registry]
})

export const connectionsRefused = new Counter({
  name: 'dealyard_ingress_connections_refused_total',
  help: 'Inbound connections reset as soon as they were accepted, by reason (PerIpLimit, ConnectionRate, PendingLimit, MaxConnections, Draining).',
  labelNames: ['reason'],
  registers: [registry]
})

export const connectionsClosed = new Counter({
  name: 'dealyard_ingress_connections_closed_total',
  help: 'Connections the ingress closed for what their peer did, by reason (StreamOpenRate: new streams faster than the budget; WriteBacklog: too many unsent bytes; WriteTimeout: the peer read nothing for the write timeout).',
  labelNames: ['reason'],
  registers: [registry]
})

export const dealLookups = new Counter({
  name: 'dealyard_ingress_deal_lookups_total',
  help: 'Status requests for deals missing from the cache, by result: apiserver (looked up) or throttled (answered not found).',
  labelNames: ['result'],
  registers: [registry]
})

export const requestBytesHeld = new Gauge({
  name: 'dealyard_ingress_request_bytes_held',
  help: 'Memory held by requests being read, across all streams (capped by --max-request-memory).',
  registers: [registry]
})

export const pingsDropped = new Counter({
  name: 'dealyard_ingress_yamux_pings_dropped_total',
  help: 'yamux ping requests left unanswered: a connection past its budget of replies (as go-yamux drops replies past its backlog).',
  registers: [registry]
})

export const streamErrors = new Counter({
  name: 'dealyard_ingress_stream_errors_total',
  help: 'Streams closed without an answer (bad message, deadline, size limit, reset), by protocol and code.',
  labelNames: ['protocol', 'code'],
  registers: [registry]
})

export const chainFactReads = new Counter({
  name: 'dealyard_ingress_chain_reads_total',
  help: 'Chain facts read from Lotus (cache misses and refreshes), by method and result.',
  labelNames: ['method', 'result'],
  registers: [registry]
})

export const orphansDeleted = new Counter({
  name: 'dealyard_ingress_orphaned_deals_deleted_total',
  help: 'Online StorageDeals deleted because their params Secret was never written (their clients were never told they were accepted).',
  registers: [registry]
})
