import type { KubeConfig } from '@kubernetes/client-node'
import { StorageDeals, StorageProviders, GROUP, VERSION } from '../api/index.ts'
import { applyStatus } from '../kube/status.ts'
import { Core, KubeRest, loadKubeConfig, type KubeObject } from '../kube/rest.ts'
import type { TransferHostPolicy } from '../policy/transfer-host.ts'
import { TransferError, TransferErrorCodes } from './errors.ts'
import { percent, type ProgressSink, type TransferFailure, type TransferProgress, type TransferSuccess } from './progress.ts'
import { kubeUserAgent } from '../version.ts'

export { GROUP, VERSION }
/** The field manager that owns status.transfer and status.progress (the controller owns the rest). */
export const FIELD_MANAGER = 'dealyard-transfer'

export interface DealRef { namespace: string, name: string }

export function parseDealRef (s: string): DealRef {
  const slash = s.indexOf('/')
  if (slash <= 0 || slash === s.length - 1 || s.indexOf('/', slash + 1) >= 0) {
    throw new TransferError(TransferErrorCodes.Params, `--deal ${JSON.stringify(s)}: expected <namespace>/<name>`)
  }
  return { namespace: s.slice(0, slash), name: s.slice(slash + 1) }
}

/** The parts of a StorageDeal the transfer program reads. */
export interface DealForTransfer {
  uuid: string
  pieceCid: string
  pieceSize: number
  transferType: string
  transferSize: number
  paramsSecret: string | undefined
  dataSourcePath: string | undefined
  provider: string | undefined
}

/** Reads the fields the transfer needs from a StorageDeal object (pure). */
export function dealForTransfer (obj: unknown): DealForTransfer {
  const o = obj as { metadata?: { name?: string }, spec?: Record<string, any> }
  const spec = o.spec ?? {}
  const proposal = spec.proposal ?? {}
  if (typeof proposal.pieceCid !== 'string' || typeof proposal.pieceSize !== 'number') {
    throw new TransferError(TransferErrorCodes.Params, `deal ${o.metadata?.name ?? '?'}: spec.proposal.pieceCid/pieceSize missing`)
  }
  return {
    uuid: String(spec.dealUuid ?? o.metadata?.name),
    pieceCid: proposal.pieceCid,
    pieceSize: proposal.pieceSize,
    transferType: String(spec.transfer?.type ?? ''),
    transferSize: Number(spec.transfer?.size ?? 0),
    paramsSecret: spec.transfer?.paramsSecretRef?.name,
    dataSourcePath: spec.dataSource?.path,
    provider: typeof spec.provider === 'string' ? spec.provider : undefined
  }
}

/**
 * The flags of a `--deal` run that differ from the deal's own values (pure): each is named, with
 * both values, because the flag wins and a typo would otherwise go unnoticed until the CommP check.
 */
export function dealOverrides (deal: DealForTransfer, flags: { uuid?: string, size?: number, pieceCid?: string, pieceSize?: number }): string[] {
  const out: string[] = []
  const differs = (flag: string, given: string | number | undefined, own: string | number): void => {
    if (given !== undefined && given !== own) out.push(`${flag} ${given} (the deal's: ${own})`)
  }
  differs('--uuid', flags.uuid, deal.uuid)
  differs('--size', flags.size, deal.transferSize)
  differs('--piece-cid', flags.pieceCid, deal.pieceCid)
  differs('--piece-size', flags.pieceSize, deal.pieceSize)
  return out
}

/** The StorageProvider settings the transfer honours. */
export interface ProviderForTransfer { policy: TransferHostPolicy, stallTimeoutSeconds?: number, deadlineSeconds?: number, minBytesPerSecond?: number }

export function providerForTransfer (obj: unknown): ProviderForTransfer {
  const spec = (obj as { spec?: Record<string, any> }).spec ?? {}
  const hosts = spec.dealPolicy?.transferHosts ?? {}
  return {
    policy: { allowCidrs: hosts.allowCidrs ?? [], denyCidrs: hosts.denyCidrs ?? [] },
    stallTimeoutSeconds: spec.transfer?.stallTimeoutSeconds,
    deadlineSeconds: spec.transfer?.deadlineSeconds,
    minBytesPerSecond: spec.transfer?.minBytesPerSecond
  }
}

/** Reads a deal, its provider and its transfer Params Secret through the kubeconfig/in-cluster config. */
export class KubeDeals {
  readonly rest: KubeRest

  constructor (kc: KubeConfig = loadKubeConfig()) {
    this.rest = new KubeRest(kc, { userAgent: kubeUserAgent('dealyard-transfer') })
  }

  async deal (ref: DealRef): Promise<DealForTransfer> {
    return dealForTransfer(await this.rest.get(StorageDeals, ref.namespace, ref.name))
  }

  async provider (name: string): Promise<ProviderForTransfer> {
    return providerForTransfer(await this.rest.get(StorageProviders, undefined, name))
  }

  /** The Secret's `params.json`, verbatim. */
  async params (namespace: string, secret: string): Promise<string> {
    const s = await this.rest.get<KubeObject & { data?: Record<string, string> }>(Core.secrets, namespace, secret)
    const b64 = s.data?.['params.json']
    if (b64 === undefined) throw new TransferError(TransferErrorCodes.Params, `secret ${namespace}/${secret}: no key params.json`)
    return Buffer.from(b64, 'base64').toString('utf8')
  }
}

type Status = Record<string, unknown>

/**
 * The status fields this program owns, as one server-side-apply status. Server-side apply removes
 * fields a manager stops sending, so every apply carries the full set: progress numbers always,
 * plus the outcome once known.
 */
export function transferStatus (p: TransferProgress, outcome?: { success?: TransferSuccess, failure?: TransferFailure }): Status {
  const transfer: Status = {
    bytesReceived: p.bytesReceived,
    totalBytes: p.totalBytes,
    rateBytesPerSecond: p.rateBytesPerSecond,
    lastUpdate: p.lastUpdate.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    attempt: p.attempt
  }
  const s = outcome?.success
  if (s !== undefined) {
    transfer.pieceCid = s.pieceCid
    transfer.stagedPath = s.stagedPath
    if (s.indexPath !== undefined) transfer.indexPath = s.indexPath
  }
  const f = outcome?.failure
  if (f !== undefined) {
    transfer.error = f.message.slice(0, 4096)
    transfer.errorCode = f.code
  }
  return { transfer, progress: percent(p) }
}

/**
 * Writes progress and the outcome to the deal's status with server-side apply on the status
 * subresource, as field manager `dealyard-transfer`. Paths are reported relative to the staging
 * directory, as the CRD documents.
 */
export class KubeStatusSink implements ProgressSink {
  private readonly rest: KubeRest
  private readonly ref: DealRef
  private readonly relative: (p: string) => string

  constructor (rest: KubeRest, ref: DealRef, relative: (p: string) => string = (p) => p) {
    this.rest = rest
    this.ref = ref
    this.relative = relative
  }

  async progress (p: TransferProgress): Promise<void> { await this.apply(transferStatus(p)) }

  async succeeded (r: TransferSuccess, p: TransferProgress): Promise<void> {
    const success = { ...r, stagedPath: this.relative(r.stagedPath), indexPath: r.indexPath === undefined ? undefined : this.relative(r.indexPath) }
    await this.apply(transferStatus(p, { success }))
  }

  async failed (f: TransferFailure, p: TransferProgress): Promise<void> { await this.apply(transferStatus(p, { failure: f })) }

  private async apply (status: Status): Promise<void> {
    await applyStatus(this.rest, StorageDeals, this.ref.namespace, this.ref.name, status, FIELD_MANAGER)
  }
}
