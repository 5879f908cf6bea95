/**
 * Graceful shutdown: on SIGTERM or SIGINT, run the registered hooks in reverse order of
 * registration (stop accepting work before closing what the work uses), each with a deadline, then
 * exit: 0 when every hook finished, 1 when one failed (the others still run). A second signal
 * exits at once.
 */
import { logger } from '../log.ts'

type Hook = { name: string, fn: () => Promise<void> | void }

const hooks: Hook[] = []
let installed = false
let stopping: Promise<string[]> | undefined
const log = logger('shutdown')

export function onShutdown (name: string, fn: Hook['fn']): void {
  hooks.push({ name, fn })
  if (installed) return
  installed = true
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping != null) { log.warn({ signal: sig }, 'second signal: exiting now'); process.exit(1) }
      log.info({ signal: sig }, 'shutting down')
      // A hook that failed may have left work unfinished (a drain cut short, a Lease not released):
      // a non-zero exit tells the kubelet and whoever reads the pod's last state.
      void shutdown().then((failed) => process.exit(failed.length === 0 ? 0 : 1))
    })
  }
}

/**
 * Each hook gets `deadlineMs` (35 s: the ingress drains proposals whose writes end within its 30 s drain in
 * the worst case; the chart's termination grace period is 45 s). Resolves to the names of the
 * hooks that failed or ran out of time.
 */
export function shutdown (deadlineMs = 35_000): Promise<string[]> {
  stopping ??= (async () => {
    const failed: string[] = []
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
        failed.push(h.name)
        log.error({ hook: h.name, err: err instanceof Error ? err.message : String(err), ms: Date.now() - t0 }, 'shutdown hook failed')
      } finally {
        clearTimeout(timer)
      }
    }
    if (failed.length > 0) log.error({ failed }, 'shut down with failed hooks')
    return failed
  })()
  return stopping
}
