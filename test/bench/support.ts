/** What the benchmarks share: where their generated inputs are kept, and process CPU from /proc. */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** $DEALYARD_CACHE/bench (created): generated inputs kept between runs, outside the repository. */
export function benchDataDir (): string {
  const dir = join(process.env.DEALYARD_CACHE ?? join(homedir(), '.cache', 'dealyard'), 'bench')
  mkdirSync(dir, { recursive: true })
  return dir
}

/** CLK_TCK is 100 on Linux: one tick is 10 ms. */
export const TICK_MS = 10

/** Parent, command name and CPU ticks (user + system) of a process; throws once it is gone. */
export function procStat (pid: number): { ppid: number, comm: string, cpuTicks: number } {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // comm may hold spaces and parentheses: the fields follow the last ')'.
  const close = st.lastIndexOf(')')
  const f = st.slice(close + 2).split(' ')
  return { ppid: Number(f[1]), comm: st.slice(st.indexOf('(') + 1, close), cpuTicks: Number(f[11]) + Number(f[12]) }
}

/** Nanoseconds the threads of a process have run on a CPU (/proc/<pid>/task/<tid>/schedstat); 0 once it is gone. */
export function cpuNanos (pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
      try { return sum + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) } catch { return sum }
    }, 0)
  } catch {
    return 0
  }
}

/**
 * Waits until the given processes together use under `busyShare` of one core over `windowMs`
 * (or `maxMs` have passed) and returns the milliseconds waited: the work one wave leaves behind
 * (a Go GC cycle its allocations started, the watch cache catching up) then is not charged to the
 * wave after it.
 */
export async function settle (pids: number[], { windowMs = 40, busyShare = 0.1, maxMs = 3000 } = {}): Promise<number> {
  const total = (): number => pids.reduce((sum, pid) => sum + cpuNanos(pid), 0)
  const t0 = performance.now()
  let before = total()
  while (performance.now() - t0 < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, windowMs))
    const now = total()
    if ((now - before) / 1e6 < windowMs * busyShare) break
    before = now
  }
  return performance.now() - t0
}
