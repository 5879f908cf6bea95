/** What the benchmarks share: where their generated inputs are kept, and process CPU from /proc. */
import { mkdirSync, readFileSync } from 'node:fs'
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
