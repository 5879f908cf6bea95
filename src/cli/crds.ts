import { KINDS } from '../api/kinds.ts'
import { renderCrd } from '../api/render.ts'

/** `dealyard crds`: the CRDs this binary was built with, for `kubectl apply -f -`. */
export async function runCrds (argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: dealyard crds   # prints every CRD as one multi-document YAML stream\n')
    return 0
  }
  process.stdout.write(KINDS.map((k) => renderCrd(k)).join('---\n'))
  return 0
}
