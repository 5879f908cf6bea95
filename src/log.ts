import { pino, type Logger } from 'pino'

/**
 * One JSON logger per process; components take a child with `component` set, the way js-libp2p
 * scopes its loggers. Level from DEALYARD_LOG_LEVEL (default info; tests default to warn).
 */
const root: Logger = pino({
  level: process.env.DEALYARD_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT != null ? 'warn' : 'info'),
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime
})

export type { Logger }

export function logger (component: string): Logger {
  return root.child({ component })
}
