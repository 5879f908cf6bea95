/**
 * Status writes as small named transactions (CloudNativePG's PatchWithOptimisticLock): re-read the
 * object, apply the mutators, skip the write when nothing changed, and write the status
 * subresource with the read resourceVersion as a precondition, retrying on conflict.
 */
import { isDeepStrictEqual } from 'node:util'
import { isConflict, type KubeObject, type KubeRest, type ResourceCoords } from './rest.ts'

export type Transaction<T> = (obj: T) => void

export interface UpdateStatusResult<T> { object: T, written: boolean }

export async function updateStatus<T extends KubeObject & { status?: unknown }> (
  rest: KubeRest, r: ResourceCoords, namespace: string | undefined, name: string,
  txs: Array<Transaction<T>>, opts: { attempts?: number } = {}
): Promise<UpdateStatusResult<T>> {
  const attempts = opts.attempts ?? 5
  for (let i = 1; ; i++) {
    const current = await rest.get<T>(r, namespace, name)
    const next = structuredClone(current)
    for (const tx of txs) tx(next)
    if (isDeepStrictEqual(next.status, current.status)) return { object: current, written: false }
    try {
      // The whole status is replaced under a resourceVersion precondition: a concurrent writer
      // makes this fail with 409 and we re-apply the transactions to what it wrote.
      const written = await rest.replace<T>(r, namespace, name, next, 'status')
      return { object: written, written: true }
    } catch (err) {
      if (!isConflict(err) || i >= attempts) throw err
    }
  }
}

/**
 * Server-side apply of status fields under a field manager: for writers that own a distinct part
 * of status (the transfer Job owns status.transfer) and must not clobber the controller's fields.
 */
export function applyStatus<T extends KubeObject> (
  rest: KubeRest, r: ResourceCoords & { kind: string }, namespace: string | undefined, name: string,
  status: Record<string, unknown>, fieldManager: string
): Promise<T> {
  const apiVersion = r.group === '' ? r.version : `${r.group}/${r.version}`
  const body: KubeObject & { status: Record<string, unknown> } = { apiVersion, kind: r.kind, metadata: { name }, status }
  if (namespace != null) body.metadata!.namespace = namespace
  return rest.apply<T>(r, namespace, name, body, fieldManager, { force: true, subresource: 'status' })
}
