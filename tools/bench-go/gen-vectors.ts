/**
 * Records upstream go-fil-commp-hashhash's answers (via ./build.sh's stream-commp) for the
 * deterministic payloads of test/unit/filecoin/commp/data.ts into
 * test/unit/filecoin/commp/fixtures/stream-commp.json. Run by hand when the size list changes:
 *   node tools/bench-go/gen-vectors.ts
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pseudoRandom } from '../../test/unit/filecoin/commp/data.ts'

const here = dirname(fileURLToPath(import.meta.url))
const bin = execFileSync(join(here, 'build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
const job = 127 << 15 // one native worker job of payload
const cases: Array<{ size: number, seed: number, pad?: number }> = [
  { size: 65, seed: 1 }, { size: 127, seed: 2 }, { size: 128, seed: 3 }, { size: 254, seed: 4 },
  { size: 1016, seed: 5 }, { size: 1017, seed: 6 }, { size: 127 * 1024 - 1, seed: 7 },
  { size: 127 * 4096, seed: 8 }, { size: 127 * 4096 + 1, seed: 9 }, { size: 1_000_000, seed: 10 },
  { size: job, seed: 11 }, { size: job + 127, seed: 12 }, { size: 3 * job - 5, seed: 13 },
  { size: 5 * job + 999, seed: 14 }, { size: 1_000_000, seed: 15, pad: 32 << 20 }
]
const out = cases.map((c) => {
  const args = c.pad !== undefined ? ['-pad', String(c.pad)] : []
  const res = JSON.parse(execFileSync(bin, args, { input: pseudoRandom(c.size, c.seed), encoding: 'utf8' })) as Record<string, unknown>
  return { ...c, ...res }
})
const file = join(here, '../../test/unit/filecoin/commp/fixtures/stream-commp.json')
writeFileSync(file, JSON.stringify({
  source: 'tools/bench-go/gen-vectors.ts: go-fil-commp-hashhash v0.2.0 + go-fil-commcid v0.3.1 over data.ts pseudoRandom(size, seed)',
  cases: out
}, null, 1) + '\n')
console.log(`wrote ${out.length} cases to ${file}`)
