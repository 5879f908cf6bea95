/**
 * The ingress closing a connection for what its peer did: counted by reason, and logged at warn
 * naming the peer, at most a line a second for all reasons together (an attack closes many).
 */
import { logger } from '../log.ts'
import { TokenBucket } from '../token-bucket.ts'
import { connectionsClosed } from './metrics.ts'

export type CloseReason = 'StreamOpenRate' | 'WriteBacklog' | 'WriteTimeout'

const log = logger('ingress:connections')
const lines = new TokenBucket({ burst: 1, perSecond: 1 })

export function noteConnectionClosed (reason: CloseReason, peer: string, why: string): void {
  connectionsClosed.inc({ reason })
  if (lines.take()) log.warn({ peer, reason }, `connection closed: ${why}`)
}
