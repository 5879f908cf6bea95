/**
 * `dealyard ingress`: serve boost's deal protocols over libp2p for every StorageProvider in the
 * cluster; accepted proposals become StorageDeals. `--generate-identity PATH` writes a new libp2p
 * key file (put it in the Secret every replica mounts) and prints its peer ID.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { K8S_NAME } from '../api/common.ts'
import { loadKubeConfig } from '../kube/rest.ts'
import { onShutdown } from '../kube/shutdown.ts'
import { collectProcessMetrics } from '../metrics.ts'
import { parseKeyFile } from '../filecoin/keys.ts'
import { parseCidr } from '../policy/transfer-host.ts'
import { generateIdentityFile, loadIdentity } from '../ingress/identity.ts'
import { keySigner, lotusWorkerSigner, type AskSigner } from '../ingress/ask.ts'
import { parseMetricsAddr, startIngress } from '../ingress/index.ts'
import { wholeNumber } from './numbers.ts'

const usage = `usage: dealyard ingress --identity-file PATH [options]
       dealyard ingress --generate-identity PATH
  --identity-file PATH        libp2p private key (protobuf), shared by every replica
  --listen MA                 listen multiaddr, repeatable (default /ip4/0.0.0.0/tcp/24001)
  --announce MA               advertised multiaddr, repeatable (default: the listen addresses)
  --namespace NS              namespace of StorageDeals and their Secrets (default $POD_NAMESPACE or dealyard)
  --kubeconfig PATH           default: $KUBECONFIG, in-cluster, ~/.kube/config
  --metrics-addr HOST:PORT    serve /metrics (default 0.0.0.0:9464; "" = off)
  --cluster-cidr CIDR         the cluster's pod/service range, refused as a transfer host; repeatable
  --allow-cidr CIDR           transfer-host range allowed for every provider; repeatable
  --ask-signer lotus|key|none sign the storage ask with the worker key via Lotus WalletSign (default),
                              a local key file (--ask-key-file), or not at all
  --ask-key-file PATH         worker key for --ask-signer key (lotus wallet export format)
  --http-retrieval-multiaddr MA  "http" entry of the transports protocol
  --max-connections N         connections open or in their handshake, from all addresses (default
                              1000); past it new ones are closed at accept (counted, logged)
  --max-pending-connections N connections still in their handshake at once, from all addresses
                              (default 256); past it new ones are closed at once
  --inbound-connection-rate N new connections a second from one IPv4 address or IPv6 /56
                              (default 20, bursts as many; 0 = no limit); past it new ones are
                              closed at accept, logged and counted
  --max-connections-per-ip N  connections one IPv4 address or IPv6 /56 may hold, handshaking or
                              open (default 8, as go-libp2p; 0 = no limit). Behind a Service
                              that rewrites source addresses every client shares a few: keep
                              externalTrafficPolicy: Local, or exempt those ranges
  --max-proposals-per-ip N    deal proposals a second from one IPv4 address or IPv6 /56, bursts
                              of twice as many (default 50; 0 = no limit); past it the client
                              is refused with "too many proposals" and may retry
  --ip-limit-exempt CIDR      range exempt from the per-address limits, repeatable (default 127.0.0.0/8 and
                              ::1/128; "none" = no exemption)
  --max-streams N             inbound streams per protocol and connection (default 64, go-libp2p's
                              per protocol and peer); past it new ones are reset, logged and
                              counted (dealyard_ingress_stream_errors_total{code="TooManyStreams"})
  --read-deadline-ms N        per-request read deadline (default 10000)
  --max-message-bytes N       largest request (default 5242880)
  --max-request-memory N      bytes all requests being read may hold together (default 134217728);
                              past it a request that needs more is reset
  --provider-selector SEL     serve only the StorageProviders with these labels (a label selector,
                              e.g. dealyard.io/installation=east); default all of them
  --provider-status-interval N  seconds between writes of the served StorageProviders' status
                              (Ready, PeerIdOnChain, chain head, active deals; one replica
                              writes; default 30; 0 = do not write it)
  --provider-status-lease NAME  the Lease (in --namespace) the replica that writes provider status
                              holds: one per installation (default dealyard-ingress-provider-status)
  --stack-trace-limit N       stack frames an error records (default 1, the frame that threw;
                              V8's default is 10): raise it to debug
`

const options = {
  'identity-file': { type: 'string' },
  'generate-identity': { type: 'string' },
  listen: { type: 'string', multiple: true },
  announce: { type: 'string', multiple: true },
  namespace: { type: 'string' },
  kubeconfig: { type: 'string' },
  'metrics-addr': { type: 'string' },
  'cluster-cidr': { type: 'string', multiple: true },
  'allow-cidr': { type: 'string', multiple: true },
  'ask-signer': { type: 'string' },
  'ask-key-file': { type: 'string' },
  'http-retrieval-multiaddr': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-pending-connections': { type: 'string' },
  'inbound-connection-rate': { type: 'string' },
  'max-connections-per-ip': { type: 'string' },
  'max-proposals-per-ip': { type: 'string' },
  'ip-limit-exempt': { type: 'string', multiple: true },
  'max-streams': { type: 'string' },
  'read-deadline-ms': { type: 'string' },
  'max-message-bytes': { type: 'string' },
  'max-request-memory': { type: 'string' },
  'provider-selector': { type: 'string' },
  'provider-status-interval': { type: 'string' },
  'provider-status-lease': { type: 'string' },
  'stack-trace-limit': { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const

/** A whole number flag at least `min` (1 unless 0 means something, e.g. "no limit"), at most `max`. */
function int (v: string | undefined, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined
  const n = wholeNumber(v)
  if (n === undefined || n < min) throw new Error(`${name} must be ${min === 1 ? 'a positive integer' : `a whole number ≥ ${min}`}, got ${v}`)
  if (n > max) throw new Error(`${name} must be at most ${max}, got ${v}`)
  return n
}

/**
 * Stack frames an error records in the ingress unless --stack-trace-limit says otherwise.
 *
 * Why: js-libp2p and Node's crypto throw and catch errors as control flow on every connection,
 * and V8 walks and symbolizes 10 frames for each (~20–35 µs in the ingress's deep, optimized
 * stacks). Node 24's KeyObject checks throw a TypeError for every key passed as bytes or JWK (four
 * for each noise handshake key and client signature check); noise's length decoder throws a
 * RangeError whenever a length prefix is not complete yet; a connection reset by go-libp2p (its
 * close is a TCP reset) aborts the muxer, streams and timers with an error each. With a connection
 * per deal, as `boost deal` makes, building errors was 6 % of the ingress's CPU in a profile of the
 * bench, 2.5 % with one frame; three interleaved pairs of runs measured 0.2–1.3 CPU-ms less per
 * deal (of 4.5–6.3). One frame cost the same as none and still names where an error was thrown.
 */
export const INGRESS_STACK_FRAMES = 1

export async function runIngress (argv: string[]): Promise<number> {
  let values
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false }).values
  } catch (err) {
    process.stderr.write(`dealyard ingress: ${(err as Error).message}\n${usage}`)
    return 2
  }
  if (values.help === true) { process.stdout.write(usage); return 0 }
  try {
    if (values['generate-identity'] !== undefined) {
      process.stdout.write(`${await generateIdentityFile(values['generate-identity'])}\n`)
      return 0
    }
    if (values['identity-file'] === undefined) throw new Error('--identity-file is required')
    Error.stackTraceLimit = int(values['stack-trace-limit'], '--stack-trace-limit', 0, 1000) ?? INGRESS_STACK_FRAMES
    for (const [flag, list] of [['--listen', values.listen], ['--announce', values.announce]] as const) {
      for (const a of list ?? []) {
        try { multiaddr(a) } catch (err) { throw new Error(`${flag} ${JSON.stringify(a)} is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/24001): ${(err as Error).message}`) }
      }
    }
    const exempt = values['ip-limit-exempt']
    const ipLimitExempt = exempt === undefined ? undefined : exempt.length === 1 && exempt[0] === 'none' ? [] : exempt
    for (const c of [...(values['cluster-cidr'] ?? []), ...(values['allow-cidr'] ?? []), ...(ipLimitExempt ?? [])]) parseCidr(c)
    let askSigner: AskSigner | undefined
    const mode = values['ask-signer'] ?? (values['ask-key-file'] !== undefined ? 'key' : 'lotus')
    if (mode === 'key') {
      if (values['ask-key-file'] === undefined) throw new Error('--ask-signer key needs --ask-key-file')
      askSigner = keySigner(parseKeyFile(await readFile(values['ask-key-file'], 'utf8')))
    } else if (mode === 'lotus') {
      askSigner = lotusWorkerSigner
    } else if (mode !== 'none') {
      throw new Error(`--ask-signer must be lotus, key or none, got ${mode}`)
    }
    const metricsAddr = values['metrics-addr'] ?? '0.0.0.0:9464'
    if (metricsAddr !== '') parseMetricsAddr(metricsAddr)
    collectProcessMetrics()
    const maxConnections = int(values['max-connections'], '--max-connections')
    const maxPendingConnections = int(values['max-pending-connections'], '--max-pending-connections')
    const inboundConnectionRate = int(values['inbound-connection-rate'], '--inbound-connection-rate', 0)
    const connectionsPerIp = int(values['max-connections-per-ip'], '--max-connections-per-ip', 0)
    const proposalsPerIpPerSecond = int(values['max-proposals-per-ip'], '--max-proposals-per-ip', 0)
    const maxStreams = int(values['max-streams'], '--max-streams')
    const readDeadlineMs = int(values['read-deadline-ms'], '--read-deadline-ms')
    const maxMessageBytes = int(values['max-message-bytes'], '--max-message-bytes')
    const requestMemoryBytes = int(values['max-request-memory'], '--max-request-memory')
    const statusIntervalSeconds = int(values['provider-status-interval'], '--provider-status-interval', 0, 86_400)
    const statusLease = values['provider-status-lease']
    if (statusLease !== undefined && (statusLease.length > K8S_NAME.maxLength || !new RegExp(K8S_NAME.pattern).test(statusLease))) throw new Error(`--provider-status-lease must be a Lease name (lower-case letters, digits, '-' and '.'), got ${JSON.stringify(statusLease)}`)
    const ingress = await startIngress({
      kubeConfig: loadKubeConfig(values.kubeconfig),
      namespace: values.namespace ?? process.env.POD_NAMESPACE ?? 'dealyard',
      privateKey: await loadIdentity(values['identity-file']),
      listen: values.listen ?? ['/ip4/0.0.0.0/tcp/24001'],
      ...(values.announce !== undefined ? { announce: values.announce } : {}),
      ...(metricsAddr !== '' ? { metricsAddr } : {}),
      clusterCidrs: values['cluster-cidr'] ?? [],
      allowCidrs: values['allow-cidr'] ?? [],
      ...(askSigner !== undefined ? { askSigner } : {}),
      ...(values['http-retrieval-multiaddr'] !== undefined ? { httpRetrievalMultiaddr: values['http-retrieval-multiaddr'] } : {}),
      ...(maxConnections !== undefined ? { maxConnections } : {}),
      ...(maxPendingConnections !== undefined ? { maxPendingConnections } : {}),
      ...(inboundConnectionRate !== undefined ? { inboundConnectionRate } : {}),
      ...(connectionsPerIp !== undefined ? { connectionsPerIp } : {}),
      ...(ipLimitExempt !== undefined ? { ipLimitExempt } : {}),
      ...(proposalsPerIpPerSecond !== undefined ? { proposalsPerIpPerSecond } : {}),
      ...(requestMemoryBytes !== undefined ? { requestMemoryBytes } : {}),
      ...(maxStreams !== undefined ? { maxStreamsPerConnection: maxStreams } : {}),
      ...(values['provider-selector'] !== undefined && values['provider-selector'] !== '' ? { providerSelector: values['provider-selector'] } : {}),
      ...(statusIntervalSeconds === 0
        ? { providerStatus: false as const }
        : {
            providerStatus: {
              ...(statusIntervalSeconds !== undefined ? { intervalMs: statusIntervalSeconds * 1000 } : {}),
              ...(statusLease !== undefined ? { leaseName: statusLease } : {})
            }
          }),
      limits: {
        ...(readDeadlineMs !== undefined ? { readDeadlineMs } : {}),
        ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {})
      }
    })
    process.stdout.write(`${JSON.stringify({ peerId: ingress.host.peerId, addresses: ingress.host.addresses(), metrics: ingress.metricsUrl ?? null })}\n`)
    // SIGTERM: stop taking streams, finish the ones in flight, then stop informers and /metrics.
    onShutdown('ingress', async () => { await ingress.stop() })
    await new Promise<never>(() => {})
    return 0
  } catch (err) {
    process.stderr.write(`dealyard ingress: ${(err as Error).message}\n`)
    // Exit now, whatever a failed start left open: a pod that has given up must restart, not
    // linger half-started (startIngress stops what it started; this is the guarantee).
    process.exit(1)
  }
}
