/**
 * Graceful shutdown: on SIGTERM or SIGINT, run the registered hooks in reverse order of
 * registration (stop accepting work before closing what the work uses), each with a deadline, then
 * exit. A second signal exits at once.
 */
import { logger } from '../log.ts'

type Hook = { name: string, fn: () => Promise<void> | void }

const hooks: Hook[] = []
let installed = false
let stopping: Promise<void> | undefined
const log = logger('shutdown')

export function onShutdown (name: string, fn: Hook['fn']): void {
  hooks.push({ name, fn })
  if (installed) return
  installed = true
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping != null) { log.warn({ signal: sig }, 'second signal: exiting now'); process.exit(1) }
      log.info({ signal: sig }, 'shutting down')
      void shutdown().then(() => process.exit(0))
    })
  }
}

/**
 * Each hook gets `deadlineMs` (35 s: the ingress drains proposals whose writes end within its 30 s drain in
 * the worst case; the chart's termination grace period is 45 s).
 */
export function shutdown (deadlineMs = 35_000): Promise<void> {
  stopping ??= (async () => {
    for (const h of [...hooks].reverse()) {
      const t0 = Date.now()
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          Promise.resolve(h.fn()),
          new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('deadline exceeded')), deadlineMs) })
        ])
        log.info({ hook: h.name, ms: Date.now() - t0 }, 'stopped')
      } catch (err) {
        log.error({ hook: h.name, err: (err as Error).message }, 'shutdown hook failed')
      } finally {
        clearTimeout(timer)
      }
    }
  })()
  return stopping
}
