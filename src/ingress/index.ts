/**
 * The ingress: boost's provider protocols over libp2p for every StorageProvider in the cluster;
 * accepted proposals become StorageDeals. Stateless: run several replicas with the same identity.
 *
 * @example
 * const ing = await startIngress({ namespace: 'deals', privateKey, listen: ['/ip4/0.0.0.0/tcp/24001'] })
 * onShutdown('ingress', () => ing.stop())
 */
import { createServer, type Server } from 'node:http'
import type { KubeConfig } from '@kubernetes/client-node'
import { API_VERSION, StorageProviders } from '../api/index.ts'
import type { SecretKeyRef, StorageDeal, StorageProvider } from '../api/types.generated.ts'
import { Informer, stripManagedFields } from '../kube/informer.ts'
import { Core, KubeApiError, KubeRest, type KubeObject } from '../kube/rest.ts'
import { logger } from '../log.ts'
import { registry } from '../metrics.ts'
import { AskService, type AskSigner } from './ask.ts'
import type { ChainReader, LotusChainOptions } from './chain.ts'
import { startHost, type HostOptions, type IngressHost } from './host.ts'
import { LedgerBook } from './ledgers.ts'
import { ProposalService } from './proposals.ts'
import { ProviderDirectory, readLotusToken } from './providers.ts'
import { StatusService } from './status.ts'
import { KubeDealStore } from './store.ts'
import { OrphanSweeper, type OrphanSweepOptions } from './orphans.ts'
import { ProviderStatusWriter, type ProviderStatusOptions } from './provider-status.ts'
import { EventRecorder } from '../kube/events.ts'
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import { paramsSecret } from './deal-object.ts'
import { kubeUserAgent } from '../version.ts'

const log = logger('ingress')
/** How long a stopping ingress answers the proposals in flight (the chart leaves it 45 s after SIGTERM, which follows a 5 s preStop sleep). */
const DRAIN_MS = 30_000

/** The libp2p host's own settings (identity, addresses, limits), documented on HostOptions. */
export type HostSettings = Omit<HostOptions, 'proposals' | 'status' | 'ask'>

export interface IngressOptions extends HostSettings {
  kubeConfig: KubeConfig
  /** Namespace of StorageDeals and params Secrets (and default namespace of token Secrets). */
  namespace: string
  /** host:port for /metrics; none when unset. */
  metricsAddr?: string
  /** The cluster's pod and service CIDRs: refused as transfer hosts for every provider. */
  clusterCidrs?: string[]
  /** Allowed as transfer hosts for every provider (the local demo allows 127.0.0.0/8). */
  allowCidrs?: string[]
  askSigner?: AskSigner
  chain?: LotusChainOptions
  /** Replace Lotus (bench, tests of the ingress alone). */
  chainFor?: (sp: StorageProvider) => ChainReader
  /** Deleting online deals whose params Secret was never written (orphans.ts); tests shorten the grace. */
  orphanSweep?: OrphanSweepOptions
  /**
   * Serve only the StorageProviders with these labels (a label selector): installations that split
   * the cluster's miners between them. All of them when unset.
   */
  providerSelector?: string
  /** Writing the served StorageProviders' status (provider-status.ts); false: not at all (default on). */
  providerStatus?: Pick<ProviderStatusOptions, 'intervalMs' | 'lease' | 'leaseName'> | false
}

export interface Ingress {
  host: IngressHost
  store: KubeDealStore
  providers: Informer<StorageProvider & KubeObject>
  ledgers: LedgerBook
  sweeper: OrphanSweeper
  providerStatus?: ProviderStatusWriter
  metricsUrl?: string
  stop (): Promise<void>
}

export async function startIngress (o: IngressOptions): Promise<Ingress> {
  const rest = new KubeRest(o.kubeConfig, { userAgent: kubeUserAgent('dealyard-ingress') })
  const providers = new Informer<StorageProvider & KubeObject>(rest, {
    resource: StorageProviders, transform: stripManagedFields, ...(o.providerSelector !== undefined ? { labelSelector: o.providerSelector } : {})
  })
  const store = new KubeDealStore(rest, o.namespace)
  const ledgers = new LedgerBook(rest, () => providers.list())
  // What has started, stopped again if a later step fails: an informer's watch or a listening
  // host would otherwise keep a process that has given up running, serving half its job.
  const started: Array<() => Promise<void>> = []
  const undo = async (): Promise<void> => { for (const stop of started.reverse()) await stop().catch(() => {}) }
  try {
    if (o.providerSelector !== undefined) await checkSelector(rest, o.providerSelector)
    await checkDealsNamespace(rest, o.namespace)
    started.push(async () => { await Promise.all([providers.stop(), store.stop(), ledgers.stop()]) })
    await Promise.all([providers.start(), store.start(), ledgers.start()])
    const readSecret = async (ref: SecretKeyRef): Promise<string> =>
      await readLotusToken(async (ns, name) => await rest.get<KubeObject & { data?: Record<string, string> }>(Core.secrets, ns, name), ref, o.namespace)
    const directory = new ProviderDirectory({
      list: () => providers.list(),
      readSecret,
      ...(o.clusterCidrs !== undefined ? { clusterCidrs: o.clusterCidrs } : {}),
      ...(o.allowCidrs !== undefined ? { allowCidrs: o.allowCidrs } : {}),
      ...(o.chain !== undefined ? { chain: o.chain } : {}),
      ...(o.chainFor !== undefined ? { chainFor: o.chainFor } : {})
    })
    const host = await startHost({
      // The host reads its own settings and nothing else of these options.
      ...o,
      proposals: new ProposalService({ providers: directory, store, ledgers, namespace: o.namespace }),
      status: new StatusService(directory, store),
      ask: new AskService(directory, o.askSigner)
    })
    started.push(async () => { await host.drain(0) })
    let server: Server | undefined
    let metricsUrl: string | undefined
    if (o.metricsAddr !== undefined) {
      server = await serveMetrics(o.metricsAddr)
      const a = server.address()
      if (a !== null && typeof a === 'object') metricsUrl = `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/metrics`
    }
    const headOf = async (d: StorageDeal): Promise<number> => {
      const entry = await directory.find(d.spec.proposal.provider)
      if (entry === undefined) throw new Error(`no StorageProvider for ${d.spec.proposal.provider}`)
      return await entry.chain.head()
    }
    const events = new EventRecorder(rest, 'dealyard.io/ingress', hostname())
    const sweeper = new OrphanSweeper(rest, o.namespace, () => store.informer.list(), events, { headOf, ...o.orphanSweep })
    sweeper.start()
    started.push(async () => { await sweeper.stop() })
    let statusWriter: ProviderStatusWriter | undefined
    if (o.providerStatus !== false) {
      const writer = statusWriter = new ProviderStatusWriter({
        rest, namespace: o.namespace, peerId: host.peerId, providers: () => providers.list(), directory,
        deals: () => store.informer.list(), events, ledgers, ...o.providerStatus
      })
      providers.on('add', (sp) => { writer.changed(sp.metadata?.name ?? '') })
      // A ledger created or deleted changes the readiness of the providers that name it.
      const ledgerChanged = (field: 'fundLedger' | 'storageLedger') => (l: KubeObject): void => {
        for (const sp of providers.list()) if (sp.spec[field] === l.metadata?.name) writer.changed(sp.metadata?.name ?? '')
      }
      for (const ev of ['add', 'delete'] as const) {
        ledgers.funds.on(ev, ledgerChanged('fundLedger'))
        ledgers.staging.on(ev, ledgerChanged('storageLedger'))
      }
      // A ledger's spec edited (a publish wallet fixed, say): its providers' status within a second, not at the next sync.
      ledgers.funds.on('update', (a, b) => { if (a.metadata?.generation !== b.metadata?.generation) ledgerChanged('fundLedger')(b) })
      ledgers.staging.on('update', (a, b) => { if (a.metadata?.generation !== b.metadata?.generation) ledgerChanged('storageLedger')(b) })
      providers.on('update', (a, b) => { if (a.metadata?.generation !== b.metadata?.generation) writer.changed(b.metadata?.name ?? '') })
      writer.start()
      started.push(async () => { await writer.stop() })
    }
    log.info({ peerId: host.peerId, namespace: o.namespace, providers: providers.list().length }, 'ingress started')
    return {
      host,
      store,
      providers,
      ledgers,
      ...(metricsUrl !== undefined ? { metricsUrl } : {}),
      sweeper,
      ...(statusWriter !== undefined ? { providerStatus: statusWriter } : {}),
      stop: async () => {
        // Creates waiting on the watch give up in time to undo their deal before the host stops.
        store.drain(DRAIN_MS)
        await host.drain(DRAIN_MS)
        await sweeper.stop()
        await statusWriter?.stop()
        await Promise.all([providers.stop(), store.stop(), ledgers.stop()])
        await new Promise<void>((resolve) => { if (server === undefined) resolve(); else server.close(() => { resolve() }) })
      }
    }
  } catch (err) {
    await undo()
    throw err
  }
}

/**
 * The apiserver parses the selector: one it refuses would otherwise leave the providers' informer
 * retrying its list forever, the ingress up and serving nothing. Other failures (the apiserver not
 * reachable yet) are left to the informers' retries.
 */
async function checkSelector (rest: KubeRest, selector: string): Promise<void> {
  try {
    await rest.list(StorageProviders, undefined, { labelSelector: selector, limit: 1 })
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 400) throw new Error(`provider selector ${JSON.stringify(selector)}: ${err.message}`)
  }
}

/**
 * The deals namespace exists and the ingress may create a deal's params Secret in it: a dry-run
 * create (nothing is written) of one shaped like the real ones (the chart's write guard admits only
 * those). Without it a namespace that does not exist (a typo, or GitOps applying the Deployment
 * before the namespace) or a refusing RBAC rule showed first as the first client's "server error:
 * save to db". Other failures (the apiserver not up yet) are left to the informers, which retry.
 */
async function checkDealsNamespace (rest: KubeRest, namespace: string): Promise<void> {
  const uuid = randomUUID()
  const probe = paramsSecret({ apiVersion: API_VERSION, name: uuid, uid: randomUUID() }, namespace, new Uint8Array(0))
  try {
    await rest.create(Core.secrets, namespace, probe as unknown as KubeObject, { dryRun: 'All' })
  } catch (err) {
    if (err instanceof KubeApiError && (err.status === 404 || err.status === 403)) throw new Error(`deals namespace ${JSON.stringify(namespace)}: ${err.message}`)
  }
}

/** `host:port` (host may be empty or a bracketed IPv6 address) of the metrics listener. */
export function parseMetricsAddr (addr: string): { hostname: string, port: number } {
  const i = addr.lastIndexOf(':')
  const portText = addr.slice(i + 1)
  const port = Number(portText)
  if (i < 0 || !/^\d+$/.test(portText) || port > 65535) throw new Error(`metrics address ${JSON.stringify(addr)} is not host:port (port 0-65535)`)
  return { hostname: addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', port }
}

async function serveMetrics (addr: string): Promise<Server> {
  const { hostname, port } = parseMetricsAddr(addr)
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') { res.writeHead(404).end(); return }
    registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(text)
    }, (err: unknown) => { res.writeHead(500).end((err as Error).message) })
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, hostname, resolve) })
  return server
}
