/**
 * Writes crds/*.yaml, the chart's CRD templates and src/api/types.generated.ts from the kind
 * definitions. `--check` writes nothing and exits 1 when a committed file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { KINDS } from './kinds.ts'
import { renderCrd, renderTypes } from './render.ts'
import { GROUP } from './common.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Every generated file, path relative to the repository root → content. */
export function generatedFiles (): Map<string, string> {
  const files = new Map<string, string>()
  const chart: string[] = []
  for (const def of KINDS) {
    const crd = renderCrd(def)
    files.set(`crds/${GROUP}_${def.plural}.yaml`, crd)
    chart.push(chartCrd(crd))
  }
  files.set('charts/dealyard/templates/crds.yaml',
    '{{- if .Values.crds.enabled }}\n' + chart.join('---\n') + '{{- end }}\n')
  files.set('src/api/types.generated.ts', renderTypes(KINDS))
  return files
}

/**
 * The chart's copy of a CRD, always kept: by Helm on uninstall and on an upgrade that stops
 * rendering it (crds.enabled=false, as a second release sets it, deleted every deal of the cluster
 * when it was not kept), and by Argo CD on a prune (it ignores Helm's annotation). Deleting a CRD,
 * and every deal with it, is an operator's deliberate `kubectl delete crd`.
 */
function chartCrd (crd: string): string {
  return crd.replace(/^metadata:\n/m, 'metadata:\n  annotations:\n    helm.sh/resource-policy: keep\n    argocd.argoproj.io/sync-options: Prune=false\n')
}

export function staleFiles (): string[] {
  const stale: string[] = []
  for (const [path, content] of generatedFiles()) {
    let current = ''
    try { current = readFileSync(join(root, path), 'utf8') } catch {}
    if (current !== content) stale.push(path)
  }
  return stale
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--check')) {
    const stale = staleFiles()
    if (stale.length > 0) {
      console.error(`generated files are stale (run npm run gen): ${stale.join(', ')}`)
      process.exit(1)
    }
  } else {
    for (const [path, content] of generatedFiles()) writeFileSync(join(root, path), content)
    console.log(`wrote ${generatedFiles().size} files`)
  }
}
