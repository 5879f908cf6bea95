// KubeRest reuses auth headers for a short while instead of rebuilding them per request, and a 401
// (credentials rotated under the cache) makes it fetch them again and retry once.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { KubeConfig } from '@kubernetes/client-node'
import { stringify } from 'yaml'
import { KubeRest, KubeApiError, loadKubeConfig } from '../../../src/kube/rest.ts'

/** A ConfigMap path the test apiservers answer. */
const cm = { group: '', version: 'v1', plural: 'configmaps' }

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

/**
 * A KubeRest whose kubeconfig user has a token-file holding `first`, against an apiserver that
 * takes only the token `valid` names.
 */
async function tokenFileClient (t: TestContext, first: string): Promise<{ srv: Awaited<ReturnType<typeof apiserver>>, tokenFile: string, rest: KubeRest, valid: { token: string } }> {
  const valid = { token: first.trim() }
  const srv = await apiserver(() => valid.token)
  t.after(srv.close)
  const dir = tempDir(t)
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, first)
  const rest = new KubeRest(loadKubeConfig(writeKubeconfig(dir, srv.url, { 'token-file': tokenFile })))
  t.after(async () => { await rest.close() })
  return { srv, tokenFile, rest, valid }
}

test('a kubeconfig token-file is read again, at most a minute later, as in-cluster', async (t) => {
  const { srv, tokenFile, rest, valid } = await tokenFileClient(t, 'old')
  await rest.get(cm, 'default', 'x')
  // The token is rotated: the file holds the new one, the server takes only it.
  writeFileSync(tokenFile, 'new')
  valid.token = 'new'
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

interface Pem { key: Buffer, cert: Buffer }

/**
 * An HTTPS apiserver that, like the real one, takes any client certificate in the TLS handshake
 * and checks it per request (200 for an accepted CN, 401 otherwise), and a KubeRest on a
 * kubeconfig whose client certificate and key are files, holding client-a's.
 */
async function clientCertApiserver (t: { after: (fn: () => unknown) => void }) {
  const dir = tempDir(t)
  const pem = (name: string): Pem => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${name}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { stdio: 'ignore' })
    return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) }
  }
  const [server, a, b] = [pem('apiserver'), pem('client-a'), pem('client-b')]
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
  const install = (c: Pem): void => { writeFileSync(certFile, c.cert); writeFileSync(keyFile, c.key) }
  install(a)
  const rest = new KubeRest(loadKubeConfig(writeKubeconfig(dir, `https://127.0.0.1:${(srv.address() as AddressInfo).port}`, { 'client-certificate': certFile, 'client-key': keyFile })))
  t.after(async () => { await rest.close() })
  // Every connection that presented `cn` closes (once its request ends: here at once).
  const closedSoon = async (cn: string): Promise<void> => {
    const open = (): number => connections.filter((c) => c.cn === cn && !c.closed).length
    for (let n = 0; n < 100 && open() > 0; n++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(open(), 0, `connections presenting ${cn} still open`)
  }
  return {
    a, b, seen, rest, install, closedSoon, certFile, keyFile, connections,
    setAccepted: (...cns: string[]): void => { accepted = new Set(cns) }
  }
}

test('rotated client certificate files: the next credentials refresh (a 401, or their TTL) moves requests to new connections presenting the new certificate, and the old ones close', async (t) => {
  const { a, b, seen, rest, install, closedSoon, setAccepted } = await clientCertApiserver(t)

  await rest.get(cm, 'default', 'x')
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(seen, ['client-a', 'client-a'])

  // Rotated, and the old certificate refused: the 401 refreshes the credentials, the retry goes
  // out on a new connection with the new certificate.
  install(b)
  setAccepted('client-b')
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(seen.slice(2), ['client-a', 'client-b'])
  await closedSoon('client-a')

  // Rotated while the old one is still accepted: the change lands when the credentials' TTL ends.
  install(a)
  setAccepted('client-a', 'client-b')
  await rest.get(cm, 'default', 'x')
  assert.equal(seen.at(-1), 'client-b', 'the cached credentials still hold')
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  t.mock.timers.tick(11_000)
  await rest.get(cm, 'default', 'x')
  assert.equal(seen.at(-1), 'client-a')
  await closedSoon('client-b')
})

test('client certificate files rotated one at a time: while they do not make a pair, connections keep presenting the current certificate (client-go refuses the pair too)', async (t) => {
  const { a, b, seen, rest, certFile, keyFile, closedSoon, setAccepted } = await clientCertApiserver(t)
  setAccepted('client-a', 'client-b')
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(seen, ['client-a'])
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })

  // The new certificate is written, its key not yet: refreshes in between keep client-a (a pool
  // from B's certificate and A's key fails every handshake with "key values mismatch").
  writeFileSync(certFile, b.cert)
  for (let i = 0; i < 2; i++) {
    t.mock.timers.tick(11_000)
    await rest.get(cm, 'default', 'x')
  }
  assert.deepEqual(seen, ['client-a', 'client-a', 'client-a'])

  // The key follows: the next refresh moves to client-b.
  writeFileSync(keyFile, b.key)
  t.mock.timers.tick(11_000)
  await rest.get(cm, 'default', 'x')
  assert.equal(seen.at(-1), 'client-b')
  await closedSoon('client-a')

  // The other order, a key that is not PEM at all, and the files gone for a moment: the same.
  writeFileSync(keyFile, a.key)
  t.mock.timers.tick(11_000)
  await rest.get(cm, 'default', 'x')
  writeFileSync(keyFile, 'half-written')
  t.mock.timers.tick(11_000)
  await rest.get(cm, 'default', 'x')
  rmSync(keyFile)
  t.mock.timers.tick(11_000)
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(seen.slice(-3), ['client-b', 'client-b', 'client-b'])
  writeFileSync(certFile, a.cert)
  writeFileSync(keyFile, a.key)
  t.mock.timers.tick(11_000)
  await rest.get(cm, 'default', 'x')
  assert.equal(seen.at(-1), 'client-a')
})

// A token file as client-go reads it (transport/token_source.go: cachingTokenSource over
// fileTokenSource), for a kubeconfig's token-file and the in-cluster token alike.

test('a token file\'s surrounding white space is not part of the token; a re-read that fails or finds it empty keeps the last token, and is tried again a minute later', async (t) => {
  // As `kubectl create token … > file` writes it.
  const { srv, tokenFile, rest, valid } = await tokenFileClient(t, 'tok1\n')
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(srv.seen, ['Bearer tok1'])
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })

  writeFileSync(tokenFile, ' tok2\r\n')
  valid.token = 'tok2'
  t.mock.timers.tick(61_000)
  await rest.get(cm, 'default', 'x')
  assert.equal(srv.seen.at(-1), 'Bearer tok2')

  // Removed (a rewrite that deletes first, a volume remounted): tok2 still goes out.
  rmSync(tokenFile)
  t.mock.timers.tick(61_000)
  await rest.get(cm, 'default', 'x')
  assert.equal(srv.seen.at(-1), 'Bearer tok2')
  // Back, with a new token: read again a minute after the failed read, not at every request.
  writeFileSync(tokenFile, 'tok3')
  t.mock.timers.tick(30_000)
  await rest.get(cm, 'default', 'x')
  assert.equal(srv.seen.at(-1), 'Bearer tok2')
  valid.token = 'tok3'
  t.mock.timers.tick(31_000)
  await rest.get(cm, 'default', 'x')
  assert.equal(srv.seen.at(-1), 'Bearer tok3')

  // Empty, or white space only: no token, tok3 still goes out.
  for (const empty of ['', '\n']) {
    writeFileSync(tokenFile, empty)
    t.mock.timers.tick(61_000)
    await rest.get(cm, 'default', 'x')
    assert.equal(srv.seen.at(-1), 'Bearer tok3')
  }
  assert.ok(srv.seen.every((s) => s === 'Bearer tok1' || s === 'Bearer tok2' || s === 'Bearer tok3'), srv.seen.join(', '))
})

test('a 401 reads the token file again at once rather than a minute later (client-go waits out its minute)', async (t) => {
  const { srv, tokenFile, rest, valid } = await tokenFileClient(t, 'old')
  await rest.get(cm, 'default', 'x')
  // Rotated and the old token revoked within the minute the file is not read again.
  writeFileSync(tokenFile, 'new')
  valid.token = 'new'
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(srv.seen, ['Bearer old', 'Bearer old', 'Bearer new'])
})

test('a relative token-file is taken relative to the kubeconfig\'s directory, as client-go takes it', async (t) => {
  const srv = await apiserver(() => 'rel')
  t.after(srv.close)
  const dir = join(tempDir(t), 'sub')
  mkdirSync(join(dir, 'creds'), { recursive: true })
  writeFileSync(join(dir, 'creds', 'token'), 'rel\n')
  assert.notEqual(process.cwd(), dir)
  const file = writeKubeconfig(dir, srv.url, { 'token-file': 'creds/token' })
  const rest = new KubeRest(loadKubeConfig(file))
  t.after(async () => { await rest.close() })
  await rest.get({ group: '', version: 'v1', plural: 'configmaps' }, 'default', 'x')
  assert.deepEqual(srv.seen, ['Bearer rel'])
})

test('the in-cluster service account token is read the same way', async (t) => {
  const srv = await apiserver(() => 'sa1')
  t.after(srv.close)
  const root = tempDir(t)
  const saDir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount')
  mkdirSync(saDir, { recursive: true })
  writeFileSync(join(saDir, 'token'), 'sa1\n')
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT }
  process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1'
  process.env.KUBERNETES_SERVICE_PORT = '443'
  t.after(() => {
    for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v
    }
  })
  const kc = new KubeConfig()
  kc.loadFromCluster(root)
  // client-node's in-cluster user (its FileAuth), pointed at the test server.
  assert.equal(kc.users[0]?.authProvider?.config?.tokenFile, join(saDir, 'token'))
  kc.clusters = [{ name: kc.clusters[0]!.name, server: srv.url, skipTLSVerify: true }]
  const rest = new KubeRest(kc)
  t.after(async () => { await rest.close() })
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(srv.seen, ['Bearer sa1'])
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  rmSync(join(saDir, 'token'))
  t.mock.timers.tick(61_000)
  await rest.get(cm, 'default', 'x')
  assert.deepEqual(srv.seen, ['Bearer sa1', 'Bearer sa1'])
})
