/**
 * The local demo cluster, end to end on 127.0.0.1: a real kube-apiserver + etcd + Job controller,
 * dealyard's CRDs, the Lotus peer (go-jsonrpc, simulated chain), a StorageProvider with its
 * ledgers, the libp2p ingress; a client asks, proposes an online, an offline and a bad deal; the
 * online deal's transfer runs as a Job (the real Job controller creates the pod, a process kubelet
 * runs `dealyard transfer` in it, CommP checked) and verify checks the offline import — then shows
 * what `kubectl get storagedeals` shows. Everything is torn down at the end
 * unless --keep is given (then it runs until Ctrl-C and prints how to reach the cluster).
 */
import { startControlPlane, type ControlPlane } from '../test/support/controlplane.ts'
import { applyCrds } from '../test/support/crds.ts'
import { startLotusPeer } from '../test/support/lotus-peer.ts'
import { startProcessKubelet } from '../test/support/process-kubelet.ts'
import { eventually } from '../test/support/kube.ts'
import { KubeRest, loadKubeConfig, Core, type KubeObject } from '../src/kube/index.ts'
import { FundLedgers, LOTUS_TOKEN_LABEL, StorageDeals, StorageLedgers, StorageProviders } from '../src/api/index.ts'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { createServer } from 'node:http'
import { createReadStream } from 'node:fs'
import { copyFile, mkdir, mkdtemp, open, rm, writeFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import * as dagCbor from '@ipld/dag-cbor'
import { varint } from 'multiformats'
import { generateKey, encodeKeyFile } from '../src/filecoin/keys.ts'
import { commpOfFile } from '../src/filecoin/commp/index.ts'

const run = promisify(execFile)
const dealyard = (...args: string[]): Promise<{ stdout: string }> =>
  run(process.execPath, [join(import.meta.dirname, '../src/cli/main.ts'), ...args],
    { maxBuffer: 1 << 24, env: { ...process.env, DEALYARD_LOG_LEVEL: process.env.DEALYARD_LOG_LEVEL ?? 'warn' } })
const FIL = 10n ** 18n

/** A CARv1 of random raw blocks: what a client would have packed with its data. */
async function writeCar (path: string, blocks: number, blockSize: number): Promise<{ root: string, size: number }> {
  const parts: Uint8Array[] = []
  const cids: CID[] = []
  const datas: Uint8Array[] = []
  for (let i = 0; i < blocks; i++) {
    const data = randomBytes(blockSize)
    datas.push(data)
    cids.push(CID.create(1, raw.code, await sha256.digest(data)))
  }
  const header = dagCbor.encode({ roots: [cids[0]!], version: 1 })
  parts.push(varint.encodeTo(header.length, new Uint8Array(varint.encodingLength(header.length))), header)
  for (let i = 0; i < blocks; i++) {
    const len = cids[i]!.bytes.length + datas[i]!.length
    parts.push(varint.encodeTo(len, new Uint8Array(varint.encodingLength(len))), cids[i]!.bytes, datas[i]!)
  }
  await writeFile(path, Buffer.concat(parts))
  return { root: cids[0]!.toString(), size: (await stat(path)).size }
}

async function freePort (): Promise<number> {
  const srv = createNetServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  await new Promise((resolve) => srv.close(resolve))
  return port
}
const keep = process.argv.includes('--keep')
/** Set once the demo tears down: processes exiting then are expected to. */
let stopping = false
const step = (msg: string): void => { console.log(`\n==> ${msg}`) }

async function main (): Promise<void> {
  const cleanups: Array<() => Promise<void>> = []
  const teardown = async (): Promise<void> => { stopping = true; for (const c of cleanups.reverse()) await c().catch(() => {}) }
  process.once('SIGINT', () => { void teardown().then(() => process.exit(130)) })
  try {
    step('building (cached) and starting the control plane: etcd + kube-apiserver + kube-controller-manager')
    const plane: ControlPlane = await startControlPlane({ kcm: true })
    cleanups.push(plane.stop)
    // Every dealyard command below (ingress, client, transfer) talks to this cluster.
    process.env.KUBECONFIG = plane.kubeconfig
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
      // Marked as Lotus tokens: a StorageProvider may name no other Secret.
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lotus-tokens', labels: { [LOTUS_TOKEN_LABEL]: 'true' } },
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
        // No prices named: boost's defaults (50,000,000 / 5,000,000 attoFIL per GiB per epoch).
        ask: { minPieceSize: 256, maxPieceSize: 34359738368 },
        dealPolicy: { transferHosts: { allowCidrs: ['127.0.0.0/8'] } },
        fundLedger: name,
        storageLedger: 'local-staging'
      }
    })
    // The miner's market escrow pays provider collateral; a key wallet pays for publish messages.
    const publishWallet = generateKey('secp256k1').address.toString('t')
    await lotus.seed({ accounts: [{ address: publishWallet, balance: 10n * FIL }], minerEscrow: 10n * FIL })
    await rest.create(FundLedgers, undefined, {
      apiVersion: 'dealyard.io/v1alpha1', kind: 'FundLedger', metadata: { name },
      spec: { escrowAddress: lotus.minerAddress, publishWallet }
    })
    await rest.create(StorageLedgers, undefined, {
      apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageLedger', metadata: { name: 'local-staging' },
      spec: { capacityBytes: 10 * 2 ** 30, stagingPath: '/tmp/dealyard-staging' }
    })
    console.log(await kubectl('get', 'storageproviders,fundledgers,storageledgers'))

    step('starting the ingress (`dealyard ingress`): boost\'s deal protocols over libp2p')
    const work = await mkdtemp(join(tmpdir(), 'dealyard-demo-'))
    cleanups.push(async () => { await rm(work, { recursive: true, force: true }) })
    const identityFile = join(work, 'identity.key')
    const peerId = (await dealyard('ingress', '--generate-identity', identityFile)).stdout.trim().split(/\s+/).pop()!
    const port = await freePort()
    const metricsAddr = `127.0.0.1:${await freePort()}`
    // With --keep the cluster is for poking at: the ingress logs at info (every proposal's
    // decision) to a file named below; otherwise only its warnings, on this terminal.
    const logFile = join(work, 'ingress.log')
    const log = keep ? await open(logFile, 'a') : undefined
    const ingress = spawn(process.execPath, [join(import.meta.dirname, '../src/cli/main.ts'), 'ingress',
      '--identity-file', identityFile, '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--kubeconfig', plane.kubeconfig,
      '--namespace', 'dealyard', '--allow-cidr', '127.0.0.0/8', '--metrics-addr', metricsAddr, '--provider-status-interval', '5'],
    { stdio: ['ignore', log?.fd ?? 'ignore', 'inherit'], env: { ...process.env, DEALYARD_LOG_LEVEL: keep ? 'info' : 'warn' } })
    // The child has its own copy of the descriptor.
    await log?.close()
    ingress.once('exit', (code, signal) => { if (!stopping) console.error(`\nthe ingress exited (${signal ?? `code ${code}`})${keep ? `: see ${logFile}` : ''}`) })
    cleanups.push(async () => {
      // One that has exited already would never say so again.
      if (ingress.exitCode !== null || ingress.signalCode !== null) return
      ingress.kill('SIGTERM')
      await new Promise((resolve) => ingress.once('exit', resolve))
    })
    const providerAddr = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`
    console.log(`listening on ${providerAddr}`)
    // What `lotus-miner actor set-peer-id` and `set-addrs` put on chain: boost's client (and
    // dealyard's, without --provider-addr) finds the provider there.
    await lotus.seed({ peerId, multiaddrs: [Buffer.from(multiaddr(`/ip4/127.0.0.1/tcp/${port}`).bytes).toString('base64')] })
    console.log(`on chain for ${lotus.minerAddress}: peer ID ${peerId}, address /ip4/127.0.0.1/tcp/${port}`)

    step('a client: a funded wallet on the simulated chain, a 4 MiB CAR served over HTTP')
    const wallet = generateKey('secp256k1')
    const walletFile = join(work, 'client.key')
    await writeFile(walletFile, encodeKeyFile(wallet))
    await lotus.seed({ accounts: [{ address: wallet.address.toString('t'), balance: 100n * FIL, escrow: 10n * FIL }] })
    const carPath = join(work, 'data.car')
    const car = await writeCar(carPath, 16, 256 * 1024)
    const piece = await commpOfFile(carPath)
    const http = createServer((req, res) => {
      res.writeHead(200, { 'content-length': car.size, 'content-type': 'application/vnd.ipld.car' })
      createReadStream(carPath).pipe(res)
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => { await new Promise((resolve) => http.close(resolve)) })
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/data.car`
    console.log(`client ${wallet.address.toString('t')}; CAR ${car.size} bytes, root ${car.root}\npiece ${piece.pieceCid} (${piece.paddedPieceSize} bytes padded); served at ${url}`)

    // The ingress reads provider config through informers: give it a moment to see the new provider.
    const waitForAsk = async (): Promise<string> => {
      for (let i = 0; ; i++) {
        try { return (await dealyard('client', 'ask', '--provider-addr', providerAddr, '--provider', lotus.minerAddress)).stdout } catch (err) {
          if (i > 50) throw err
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
      }
    }
    step('dealyard client ask')
    console.log((await waitForAsk()).trim())

    // As `boost deal`: the provider found on chain, the price from its ask, the collateral the
    // chain minimum + 20%.
    const common = ['--wallet-key', walletFile, '--provider', lotus.minerAddress,
      '--piece-cid', piece.pieceCid, '--piece-size', String(piece.paddedPieceSize), '--payload-cid', car.root,
      '--full-node', lotus.fullNode.url]
    if (lotus.fullNode.token != null) common.push('--full-node-token', lotus.fullNode.token)
    step('dealyard client propose (online deal, HTTP transfer; the provider found on chain, as boost deal finds it)')
    const online = JSON.parse((await dealyard('client', 'propose', ...common, '--http-url', url, '--car-size', String(car.size), '--label', car.root)).stdout) as { dealUuid: string, accepted: boolean, message: string }
    console.log(JSON.stringify(online))
    step('dealyard client propose (offline deal)')
    const offline = JSON.parse((await dealyard('client', 'propose', ...common)).stdout) as { dealUuid: string, accepted: boolean }
    console.log(JSON.stringify(offline))
    step('dealyard client propose (a proposal the provider must refuse: start epoch already past)')
    const refused = await dealyard('client', 'propose', ...common, '--start-epoch', '1', '--http-url', url, '--car-size', String(car.size)).then((r) => r.stdout, (err: { stdout?: string }) => err.stdout ?? String(err))
    console.log(refused.trim())

    step('the online deal\'s transfer as a Job: the real Job controller, a process kubelet runs the pod')
    const staging = join(work, 'staging')
    // Stands in for kubelet: binds the Job's pod to a local node and runs `dealyard` as a process.
    const kubelet = await startProcessKubelet({
      rest, namespace: 'dealyard', workDir: join(work, 'pods'),
      images: { 'ghcr.io/dealyard/dealyard': [process.execPath, join(import.meta.dirname, '../src/cli/main.ts')] },
      env: { KUBECONFIG: plane.kubeconfig, DEALYARD_LOG_LEVEL: 'warn' }
    })
    cleanups.push(kubelet.stop)
    const deal = await rest.get(StorageDeals, 'dealyard', online.dealUuid)
    const jobName = `${online.dealUuid}-transfer`
    // The Job the controller will create for an Accepted online deal (owned by the deal).
    await rest.create(Core.jobs, 'dealyard', {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: {
        name: jobName, labels: { 'dealyard.io/job-role': 'transfer', 'dealyard.io/deal': online.dealUuid },
        ownerReferences: [{ apiVersion: 'dealyard.io/v1alpha1', kind: 'StorageDeal', name: online.dealUuid, uid: deal.metadata!.uid!, controller: true }]
      },
      spec: {
        backoffLimit: 3,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{
              name: 'transfer', image: 'ghcr.io/dealyard/dealyard:0.1.0',
              args: ['transfer', '--deal', `dealyard/${online.dealUuid}`, '--out-dir', '/staging', '--allow-cidr', '127.0.0.0/8', '--quiet'],
              volumeMounts: [{ name: 'staging', mountPath: '/staging' }]
            }],
            volumes: [{ name: 'staging', hostPath: { path: staging, type: 'DirectoryOrCreate' } }]
          }
        }
      }
    } as KubeObject)
    const job = await eventually(async () => {
      const j = await rest.get<KubeObject & { status?: { conditions?: Array<{ type: string, status: string }>, succeeded?: number } }>(Core.jobs, 'dealyard', jobName)
      return j.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') === true ? j : undefined
    }, { timeoutMs: 120_000, intervalMs: 250, what: 'the transfer Job to finish' })
    console.log(await kubectl('get', 'jobs', '-n', 'dealyard', '-o', 'wide'))
    if (job.status?.succeeded !== 1) console.log('the transfer Job failed: see', join(work, 'pods'))

    step(`offline deal: the operator imports the data (spec.dataSource, settable once), then \`dealyard verify\``)
    await mkdir(join(staging, 'imports'), { recursive: true })
    await copyFile(carPath, join(staging, 'imports', 'data.car'))
    await rest.mergePatch(StorageDeals, 'dealyard', offline.dealUuid, { spec: { dataSource: { path: 'imports/data.car' } } })
    const v = await dealyard('verify', '--deal', `dealyard/${offline.dealUuid}`, '--out-dir', staging, '--quiet')
      .then((r) => r.stdout, (err: { stderr?: string }) => `verify failed: ${err.stderr ?? String(err)}`)
    console.log(v.trim())

    step('dealyard client status (signed by the client wallet)')
    console.log((await dealyard('client', 'status', '--provider-addr', providerAddr, '--wallet-key', walletFile, '--uuid', online.dealUuid)).stdout.trim())

    step('kubectl get storageproviders -o wide: the ingress keeps their status (Ready, peer ID on chain, head, active deals)')
    console.log(await kubectl('get', 'storageproviders', '-o', 'wide'))

    step('kubectl get storagedeals -n dealyard -o wide')
    console.log(await kubectl('get', 'storagedeals', '-n', 'dealyard', '-o', 'wide'))
    step('the transfer parameters live in a Secret owned by the deal')
    console.log(await kubectl('get', 'secrets', '-n', 'dealyard', '-o', 'custom-columns=SECRET:.metadata.name,OWNER-KIND:.metadata.ownerReferences[0].kind,OWNER:.metadata.ownerReferences[0].name'))

    console.log('The deals are accepted and their data staged with CommP verified. The controller that publishes them,\n' +
      'adds the pieces to sectors and announces them (Transferred → … → Complete) is the next part to build;\n' +
      'until then CHECKPOINT stays empty and PROGRESS shows what the transfer and verify programs wrote.')

    if (keep) {
      console.log(`\nThe cluster keeps running. In another shell:\n  export KUBECONFIG=${plane.kubeconfig}\n  ${plane.bin} kubectl get sd -A\n` +
        `The ingress: ${providerAddr}, metrics at http://${metricsAddr}/metrics, logs in ${logFile}\n` +
        `Lotus: ${lotus.fullNode.url} (miner ${lotus.minerAddress})\nCtrl-C stops everything.`)
      await new Promise(() => {})
    }
  } finally {
    await teardown()
  }
}

await main()
