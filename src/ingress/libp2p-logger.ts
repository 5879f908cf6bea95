/**
 * libp2p's component logger, quiet unless asked for.
 *
 * Why: libp2p builds a scoped `debug` logger for every stream (and its muxer and protocol
 * handler), and each build asks the `debug` package whether stderr is a TTY: ~0.08 CPU-ms per
 * proposal in the ingress profile, for loggers that never print. With no DEBUG in the
 * environment every component gets one shared disabled logger. Set DEBUG (e.g.
 * DEBUG=libp2p:*) to get libp2p's own loggers back, as with any libp2p program.
 */
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'

const noop = (): void => {}

const disabled: Logger = Object.assign((_formatter: unknown, ..._args: unknown[]): void => {}, {
  error: noop,
  trace: noop,
  enabled: false,
  newScope: (): Logger => disabled
})

export function libp2pLogger (env: NodeJS.ProcessEnv = process.env): ComponentLogger {
  if (env.DEBUG !== undefined && env.DEBUG !== '') return defaultLogger()
  return { forComponent: () => disabled }
}
