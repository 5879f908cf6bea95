// A run contending for one lock, for lock.spec.ts. Says `ready`, then each round waits for
// `<dir>/go-<round>`, calls lockDeal at once and says whether it got the lock; a winner holds it
// until `<dir>/done-<round>` appears, so that a contender slower to start still finds it held.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { lockDeal } from '../../../src/transfer/lock.ts'

const [dir, rounds] = process.argv.slice(2) as [string, string]
const say = (v: object): void => { process.stdout.write(JSON.stringify(v) + '\n') }
const until = async (file: string): Promise<void> => {
  while (!existsSync(join(dir, file))) await new Promise((resolve) => setTimeout(resolve, 1))
}
say({ ready: true })
for (let round = 0; round < Number(rounds); round++) {
  await until(`go-${round}`)
  try {
    const lock = await lockDeal(join(dir, 'deal.lock'), { heartbeatMs: 50, staleMs: 60_000 })
    say({ round, won: true })
    await until(`done-${round}`)
    const held = lock.held()
    await lock.release()
    say({ round, held })
  } catch (err) {
    say({ round, won: false, code: (err as { code?: string }).code })
  }
}
