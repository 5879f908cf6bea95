/**
 * The local demo cluster, end to end on 127.0.0.1: a real kube-apiserver + etcd + Job controller,
 * dealyard's CRDs, the Lotus peer (go-jsonrpc, simulated chain), a StorageProvider with its
 * ledgers — then shows what `kubectl get storagedeals` shows. Everything is torn down at the end
 * unless --keep is given (then it runs until Ctrl-C and prints how to reach the cluster).
 */
import { startControlPlane, type ControlPlane } from '../test/support/controlplane.ts'
import { applyCrds } from '../test/support/crds.ts'
import { startLotusPeer } from '../test/support/lotus-peer.ts'
import { KubeRest, loadKubeConfig, Core } from '../src/kube/index.ts'
import { FundLedgers, StorageLedgers, StorageProviders } from '../src/api/index.ts'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const keep = process.argv.includes('--keep')
const step = (msg: string): void => { console.log(`\n==> ${msg}`) }

async function main (): Promise<void> {
  const cleanups: Array<() => Promise<void>> = []
  const teardown = async (): Promise<void> => { for (const c of cleanups.reverse()) await c().catch(() => {}) }
  process.once('SIGINT', () => { void teardown().then(() => process.exit(130)) })
  try {
    step('building (cached) and starting the control plane: etcd + kube-apiserver + kube-controller-manager')
    const plane: ControlPlane = await startControlPlane({ kcm: true })
    cleanups.push(plane.stop)
    console.log(`kube-apiserver ${plane.version} at ${plane.server} (ready in ${plane.startupMs} ms)`)
    const kubectl = async (...args: string[]): Promise<string> =>
      (await run(plane.bin, ['kubectl', `--kubeconfig=${plane.kubeconfig}`, ...args])).stdout

    step('applying the CRDs')
    await applyCrds(plane)
    console.log(await kubectl('get', 'crd', '-l', 'app.kubernetes.io/part-of=dealyard'))

    step('starting the Lotus peer (go-jsonrpc full node + lotus-miner, simulated chain)')
    const lotus = await startLotusPeer({ blockTimeMs: 500 })
    cleanups.push(lotus.stop)
    console.log(`full node ${lotus.fullNode.url}, miner ${lotus.miner.url}, miner address ${lotus.minerAddress}`)

    step('creating the provider, its fund ledger and its staging ledger (what GitOps would apply)')
    const rest = new KubeRest(loadKubeConfig(plane.kubeconfig))
    await rest.create(Core.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dealyard' } })
    await rest.create(Core.secrets, 'dealyard', {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lotus-tokens' },
      stringData: { fullnode: lotus.fullNode.token ?? '', miner: lotus.miner.token ?? '' }
    })
    const name = lotus.minerAddress
    await rest.create(StorageProviders, undefined, {
      apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageProvider', metadata: { name },
      spec: {
        address: lotus.minerAddress,
        lotus: {
          fullNode: { url: lotus.fullNode.url, tokenSecretRef: { namespace: 'dealyard', name: 'lotus-tokens', key: 'fullnode' } },
          miner: { url: lotus.miner.url, tokenSecretRef: { namespace: 'dealyard', name: 'lotus-tokens', key: 'miner' } }
        },
        ask: { price: '0', verifiedPrice: '0', minPieceSize: 256, maxPieceSize: 34359738368 },
        dealPolicy: { transferHosts: { allowCidrs: ['127.0.0.0/8'] } },
        fundLedger: name,
        storageLedger: 'local-staging'
      }
    })
    await rest.create(FundLedgers, undefined, {
      apiVersion: 'dealyard.io/v1alpha1', kind: 'FundLedger', metadata: { name },
      spec: { escrowAddress: lotus.minerAddress, publishWallet: lotus.minerAddress }
    })
    await rest.create(StorageLedgers, undefined, {
      apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageLedger', metadata: { name: 'local-staging' },
      spec: { capacityBytes: 10 * 2 ** 30, stagingPath: '/tmp/dealyard-staging' }
    })
    console.log(await kubectl('get', 'storageproviders,fundledgers,storageledgers'))

    step('kubectl get storagedeals -A -o wide')
    console.log(await kubectl('get', 'storagedeals', '-A', '-o', 'wide') || 'No resources found (proposals arrive through the ingress).')

    if (keep) {
      console.log(`\nThe cluster keeps running. In another shell:\n  export KUBECONFIG=${plane.kubeconfig}\n  ${plane.bin} kubectl get sd -A\nCtrl-C stops everything.`)
      await new Promise(() => {})
    }
  } finally {
    await teardown()
  }
}

await main()
