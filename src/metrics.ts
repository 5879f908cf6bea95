import { Registry, collectDefaultMetrics } from 'prom-client'

/**
 * The process-wide metrics registry. Every metric is named `dealyard_<subsystem>_<name>_<unit>`
 * (counters `_total`, durations `_seconds`); subsystems register their own into this registry.
 */
export const registry = new Registry()

let defaultsOn = false
/** Node.js process metrics (heap, event loop lag); called by long-running commands only. */
export function collectProcessMetrics (): void {
  if (defaultsOn) return
  defaultsOn = true
  collectDefaultMetrics({ register: registry, prefix: 'dealyard_' })
}
