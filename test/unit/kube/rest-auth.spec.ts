// KubeRest reuses auth headers for a short while instead of rebuilding them per request, and a 401
// (credentials rotated under the cache) makes it fetch them again and retry once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { KubeConfig } from '@kubernetes/client-node'
import { stringify } from 'yaml'
import { KubeRest, KubeApiError, loadKubeConfig } from '../../../src/kube/rest.ts'

async function apiserver (accept: () => string): Promise<{ url: string, seen: string[], close: () => Promise<void> }> {
  const seen: string[] = []
  const srv = createServer((req, res) => {
    const auth = req.headers.authorization ?? ''
    seen.push(auth)
    if (auth !== `Bearer ${accept()}`) {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized' }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'x' } }))
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, close: async () => { srv.closeAllConnections(); await new Promise((resolve) => srv.close(resolve)) } }
}

function kubeconfig (server: string, token: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx'
  })
  return kc
}

test('auth headers are built once for a burst of requests', async (t) => {
  const srv = await apiserver(() => 'a')
  t.after(srv.close)
  const kc = kubeconfig(srv.url, 'a')
  let built = 0
  const apply = kc.applySecurityAuthentication.bind(kc)
  kc.applySecurityAuthentication = async (ctx) => { built++; await apply(ctx) }
  const rest = new KubeRest(kc)
  t.after(async () => { await rest.close() })
  for (let i = 0; i < 5; i++) await rest.get({ group: '', version: 'v1', plural: 'configmaps' }, 'default', 'x')
  assert.equal(built, 1)
  assert.deepEqual(srv.seen, Array(5).fill('Bearer a'))
})

test('a 401 drops the cached credentials and retries once with fresh ones', async (t) => {
  let valid = 'old'
  const srv = await apiserver(() => valid)
  t.after(srv.close)
  const kc = kubeconfig(srv.url, 'old')
  const rest = new KubeRest(kc)
  t.after(async () => { await rest.close() })
  const cm = { group: '', version: 'v1', plural: 'configmaps' }
  await rest.get(cm, 'default', 'x')
  // The token rotates: the server takes only the new one, the kubeconfig now holds it.
  valid = 'new'
  ;(kc.users[0] as { token?: string }).token = 'new'
  const got = await rest.get(cm, 'default', 'x')
  assert.equal(got.metadata?.name, 'x')
  assert.deepEqual(srv.seen, ['Bearer old', 'Bearer old', 'Bearer new'])
  // Credentials that stay wrong: one retry, then the 401 is the caller's.
  valid = 'other'
  await assert.rejects(rest.get(cm, 'default', 'x'), (err: unknown) => err instanceof KubeApiError && err.status === 401)
  assert.equal(srv.seen.length, 5)
})

// A kubeconfig's token-file and client-certificate/client-key files are read again, as client-go
// reads them (transport/token_source.go, transport/cert_rotation.go): a rotation no longer means
// 401s until a restart.

function tempDir (t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dealyard-rest-auth-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

function writeKubeconfig (dir: string, server: string, user: Record<string, string>): string {
  const file = join(dir, 'kubeconfig')
  writeFileSync(file, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx'
  }))
  return file
}

test('a kubeconfig token-file is read again, at most a minute later, as in-cluster', async (t) => {
  let valid = 'old'
  const srv = await apiserver(() => valid)
  t.after(srv.close)
  const dir = tempDir(t)
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, 'old')
  const rest = new KubeRest(loadKubeConfig(writeKubeconfig(dir, srv.url, { 'token-file': tokenFile })))
  t.after(async () => { await rest.close() })
  const cm = { group: '', version: 'v1', plural: 'configmaps' }
  await rest.get(cm, 'default', 'x')
  // The token is rotated: the file holds the new one, the server takes only it.
  writeFileSync(tokenFile, 'new')
  valid = 'new'
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  t.mock.timers.tick(61_000)
  const got = await rest.get(cm, 'default', 'x')
  assert.equal(got.metadata?.name, 'x')
  assert.equal(srv.seen.at(-1), 'Bearer new')
})

test('through $KUBECONFIG too (the user in a second file), and the file wins over an inline token beside it, as in client-go', async (t) => {
  const srv = await apiserver(() => 'from-file')
  t.after(srv.close)
  const dir = tempDir(t)
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, 'from-file')
  const main = writeKubeconfig(dir, srv.url, { token: 'unused' })
  const users = join(dir, 'users')
  writeFileSync(users, stringify({ apiVersion: 'v1', kind: 'Config', users: [{ name: 'u2', user: { token: 'inline', 'token-file': tokenFile } }] }))
  const saved = process.env.KUBECONFIG
  process.env.KUBECONFIG = [main, users].join(delimiter)
  t.after(() => { if (saved === undefined) delete process.env.KUBECONFIG; else process.env.KUBECONFIG = saved })
  const kc = loadKubeConfig()
  kc.contexts = [{ name: 'ctx', cluster: 'c', user: 'u2' }]
  const rest = new KubeRest(kc)
  t.after(async () => { await rest.close() })
  await rest.get({ group: '', version: 'v1', plural: 'configmaps' }, 'default', 'x')
  assert.deepEqual(srv.seen, ['Bearer from-file'])
})

test('rotated client certificate files: the next credentials refresh (a 401, or their TTL) moves requests to new connections presenting the new certificate, and the old ones close', async (t) => {
  const dir = tempDir(t)
  const pem = (name: string): { key: Buffer, cert: Buffer } => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${name}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { stdio: 'ignore' })
    return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) }
  }
  const [server, a, b] = [pem('apiserver'), pem('client-a'), pem('client-b')]
  // Like the apiserver: the TLS handshake takes any client certificate, each request checks it.
  let accepted = new Set(['client-a'])
  const seen: string[] = []
  const connections: Array<{ cn: string, closed: boolean }> = []
  const srv = createHttpsServer({ ...server, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const cn = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN)
    seen.push(cn)
    res.writeHead(accepted.has(cn) ? 200 : 401, { 'content-type': 'application/json' })
    res.end(JSON.stringify(accepted.has(cn) ? { kind: 'ConfigMap', metadata: { name: 'x' } } : { kind: 'Status', reason: 'Unauthorized' }))
  })
  srv.on('secureConnection', (s) => {
    const c = { cn: String(s.getPeerCertificate().subject?.CN), closed: false }
    connections.push(c)
    s.on('close', () => { c.closed = true })
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.after(async () => { srv.closeAllConnections(); await new Promise((resolve) => srv.close(resolve)) })
  const [certFile, keyFile] = [join(dir, 'client.crt'), join(dir, 'client.key')]
  const install = (c: { key: Buffer, cert: Buffer }): void => { writeFileSync(certFile, c.cert); writeFileSync(keyFile, c.key) }
  install(a)
  const rest = new KubeRest(loadKubeConfig(writeKubeconfig(dir, `https://127.0.0.1:${(srv.address() as AddressInfo).port}`, { 'client-certificate': certFile, 'client-key': keyFile })))
  t.after(async () => { await rest.close() })
  const cm = { group: '', version: 'v1', plural: 'configmaps' }
  // Every connection that presented `cn` closes (once its request ends: here at once).
  const closedSoon = async (cn: string): Promise<void> => {
    const open = (): number => connections.filter((c) => c.cn === cn && !c.closed).length
    for (let n = 0; n < 100 && open() > 0; n++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(open(), 0, `connections presenting ${cn} still open`)
  }

  await rest.get(cm, 'default', 'x')
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(seen, ['client-a', 'client-a'])

  // Rotated, and the old certificate refused: the 401 refreshes the credentials, the retry goes
  // out on a new connection with the new certificate.
  install(b)
  accepted = new Set(['client-b'])
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(seen.slice(2), ['client-a', 'client-b'])
  await closedSoon('client-a')

  // Rotated while the old one is still accepted: the change lands when the credentials' TTL ends.
  install(a)
  accepted = new Set(['client-a', 'client-b'])
  await rest.get(cm, 'default', 'x')
  assert.equal(seen.at(-1), 'client-b', 'the cached credentials still hold')
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  t.mock.timers.tick(11_000)
  await rest.get(cm, 'default', 'x')
  assert.equal(seen.at(-1), 'client-a')
  await closedSoon('client-b')
})
