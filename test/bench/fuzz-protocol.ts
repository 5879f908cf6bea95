/**
 * `npm run bench fuzz-protocol [cases] [seed]`: the unit suite's decoder fuzzing at a larger scale
 * (default 2,000,000 cases). Prints cases/s, and as the reference measured in the same run the rate
 * of decoding the unmutated golden messages, with the ratio (fuzz cases are mostly early rejections,
 * so the ratio says how cheap rejecting garbage is compared with accepting real messages).
 */
import { fuzz } from '../unit/protocol/fuzz-harness.ts'
import { codecs, loadVectors, unhex } from '../unit/protocol/golden.ts'

const cases = Number(process.argv[2] ?? 2_000_000)
const seed = process.argv[3] === undefined ? Date.now() % 2 ** 31 : Number(process.argv[3])

const golden = loadVectors().vectors.map((v) => ({ decode: codecs[v.type]!.decode, bytes: unhex(v.hex) }))
const refRuns = 200_000
let t = performance.now()
for (let i = 0; i < refRuns; i++) { const g = golden[i % golden.length]!; g.decode(g.bytes) }
const refRate = refRuns / ((performance.now() - t) / 1000)

t = performance.now()
fuzz(cases, seed)
const secs = (performance.now() - t) / 1000
// fuzz() runs 0.35·cases mutated messages through two decoders plus 0.3·cases random inputs.
const decodes = Math.ceil(cases * 0.35) * 2 + Math.ceil(cases * 0.3)
const rate = decodes / secs
console.log(`fuzz-protocol: ${decodes} decoder runs (seed ${seed}) in ${secs.toFixed(1)} s, no crash, no hang, every failure ERR_CBOR_DECODE`)
console.log(`fuzz decodes/s: ${rate.toFixed(0)}; reference (valid golden messages) decodes/s: ${refRate.toFixed(0)}; ratio ${(rate / refRate).toFixed(2)}`)
