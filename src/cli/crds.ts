import { KINDS } from '../api/kinds.ts'
import { renderCrd } from '../api/render.ts'

/** `dealyard crds`: the CRDs this binary was built with, for `kubectl apply -f -`. */
export async function runCrds (argv: string[]): Promise<number> {
  const usage = 'usage: dealyard crds   # prints every CRD as one multi-document YAML stream\n'
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage)
    return 0
  }
  if (argv.length > 0) {
    process.stderr.write(`dealyard crds: takes no arguments, got ${argv.map((a) => JSON.stringify(a)).join(' ')}\n${usage}`)
    return 2
  }
  process.stdout.write(KINDS.map((k) => renderCrd(k)).join('---\n'))
  return 0
}
