/**
 * `npm run bench <name> [args]`: runs test/bench/<name>.ts, whose module body is the benchmark
 * (it reads its own args from process.argv after the name).
 */
import { readdirSync } from 'node:fs'

const name = process.argv[2]
const here = new URL('.', import.meta.url)
// support.ts holds what the benchmarks share; it is not one.
const names = readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && f !== 'support.ts').map((f) => f.slice(0, -3))
if (name === undefined || !names.includes(name)) {
  console.error(`usage: npm run bench <name> [args]; benchmarks: ${names.join(', ')}`)
  process.exit(2)
}
process.argv.splice(2, 1)
await import(new URL(`./${name}.ts`, here).href)
