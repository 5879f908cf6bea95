/**
 * A TCP proxy in front of the apiserver that can hold back everything the apiserver sends while
 * letting requests through: what a client sees when the apiserver (or the network back from it)
 * stalls after a write has been made. TLS passes through untouched (the certificate names
 * 127.0.0.1, where the proxy listens too).
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'

export interface StallProxy {
  /** A kubeconfig like the given one, whose server is the proxy. */
  kubeConfig: KubeConfig
  /** From now on, hold the apiserver's bytes. */
  stall (): void
  /** Deliver what was held, and pass bytes through again. */
  resume (): void
  close (): Promise<void>
}

export async function startStallProxy (kc: KubeConfig): Promise<StallProxy> {
  const target = new URL(kc.getCurrentCluster()!.server)
  let stalled = false
  const held: Array<() => void> = []
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname)
    sockets.add(client).add(upstream)
    client.on('close', () => { sockets.delete(client); upstream.destroy() })
    upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
    client.on('error', () => {})
    upstream.on('error', () => {})
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      if (stalled) held.push(() => { client.write(chunk) })
      else client.write(chunk)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const proxied = new KubeConfig()
  proxied.loadFromOptions({
    clusters: kc.getClusters().map((c) => c.name === kc.getCurrentCluster()!.name ? { ...c, server: `https://127.0.0.1:${port}` } : c),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext()
  })
  return {
    kubeConfig: proxied,
    stall: () => { stalled = true },
    resume: () => {
      stalled = false
      for (const f of held.splice(0)) f()
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
