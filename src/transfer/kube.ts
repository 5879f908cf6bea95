import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
import type { TransferHostPolicy } from '../policy/transfer-host.ts'
import { TransferError, TransferErrorCodes } from './errors.ts'
import { percent, type ProgressSink, type TransferFailure, type TransferProgress, type TransferSuccess } from './progress.ts'

export const GROUP = 'dealyard.io'
export const VERSION = 'v1alpha1'
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

/** The StorageProvider settings the transfer honours. */
export interface ProviderForTransfer { policy: TransferHostPolicy, stallTimeoutSeconds?: number, deadlineSeconds?: number }

export function providerForTransfer (obj: unknown): ProviderForTransfer {
  const spec = (obj as { spec?: Record<string, any> }).spec ?? {}
  const hosts = spec.dealPolicy?.transferHosts ?? {}
  return {
    policy: { allowCidrs: hosts.allowCidrs ?? [], denyCidrs: hosts.denyCidrs ?? [] },
    stallTimeoutSeconds: spec.transfer?.stallTimeoutSeconds,
    deadlineSeconds: spec.transfer?.deadlineSeconds
  }
}

/** Reads a deal, its provider and its transfer Params Secret through the kubeconfig/in-cluster config. */
export class KubeDeals {
  readonly kc: KubeConfig
  private readonly custom: CustomObjectsApi
  private readonly core: CoreV1Api

  constructor (kc?: KubeConfig) {
    this.kc = kc ?? defaultKubeConfig()
    this.custom = this.kc.makeApiClient(CustomObjectsApi)
    this.core = this.kc.makeApiClient(CoreV1Api)
  }

  async deal (ref: DealRef): Promise<DealForTransfer> {
    const obj: unknown = await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'storagedeals', ...ref })
    return dealForTransfer(obj)
  }

  async provider (name: string): Promise<ProviderForTransfer> {
    const obj: unknown = await this.custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'storageproviders', name })
    return providerForTransfer(obj)
  }

  /** The Secret's `params.json`, verbatim. */
  async params (namespace: string, secret: string): Promise<string> {
    const s = await this.core.readNamespacedSecret({ namespace, name: secret })
    const b64 = s.data?.['params.json']
    if (b64 === undefined) throw new TransferError(TransferErrorCodes.Params, `secret ${namespace}/${secret}: no key params.json`)
    return Buffer.from(b64, 'base64').toString('utf8')
  }
}

function defaultKubeConfig (): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromDefault()
  return kc
}

type Status = Record<string, unknown>

/**
 * The status fields this program owns, as one server-side-apply body. Server-side apply removes
 * fields a manager stops sending, so every apply carries the full set: progress numbers always,
 * plus the outcome once known.
 */
export function statusApplyBody (ref: DealRef, p: TransferProgress, outcome?: { success?: TransferSuccess, failure?: TransferFailure }): Status {
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
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'StorageDeal',
    metadata: { name: ref.name, namespace: ref.namespace },
    status: { transfer, progress: percent(p) }
  }
}

/**
 * Writes progress and the outcome to the deal's status with server-side apply on the status
 * subresource, as field manager `dealyard-transfer`. Paths are reported relative to the staging
 * directory, as the CRD documents.
 */
export class KubeStatusSink implements ProgressSink {
  private readonly api: CustomObjectsApi
  private readonly ref: DealRef
  private readonly relative: (p: string) => string

  constructor (kc: KubeConfig, ref: DealRef, relative: (p: string) => string = (p) => p) {
    this.api = kc.makeApiClient(CustomObjectsApi)
    this.ref = ref
    this.relative = relative
  }

  async progress (p: TransferProgress): Promise<void> { await this.apply(statusApplyBody(this.ref, p)) }

  async succeeded (r: TransferSuccess, p: TransferProgress): Promise<void> {
    const success = { ...r, stagedPath: this.relative(r.stagedPath), indexPath: r.indexPath === undefined ? undefined : this.relative(r.indexPath) }
    await this.apply(statusApplyBody(this.ref, p, { success }))
  }

  async failed (f: TransferFailure, p: TransferProgress): Promise<void> { await this.apply(statusApplyBody(this.ref, p, { failure: f })) }

  private async apply (body: Status): Promise<void> {
    await this.api.patchNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      plural: 'storagedeals',
      namespace: this.ref.namespace,
      name: this.ref.name,
      body,
      fieldManager: FIELD_MANAGER,
      force: true
    }, setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply))
  }
}
