import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import { DealyardError } from '../../../src/errors.ts'
import { DEALYARD_VERSION, kubeUserAgent } from '../../../src/version.ts'
import { Core, isAlreadyExists, KubeApiError, KubeRest, type KubeObject } from '../../../src/kube/rest.ts'

interface Seen { method: string, url: string, headers: IncomingMessage['headers'], body: string }

function kubeConfig (server: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'sekret' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x'
  })
  return kc
}

describe('KubeRest requests', () => {
  let server: Server
  let base: string
  const seen: Seen[] = []
  let answer: (s: Seen) => { status: number, body: string } = () => ({ status: 500, body: '' })

  before(async () => {
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => { body += c.toString() })
      req.on('end', () => {
        const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }
        seen.push(s)
        const a = answer(s)
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => { server.close() })

  it('POSTs the object as JSON with the kubeconfig credentials and returns the created object', async () => {
    answer = (s) => ({ status: 201, body: JSON.stringify({ ...JSON.parse(s.body), metadata: { ...JSON.parse(s.body).metadata, uid: 'u-1' } }) })
    const w = new KubeRest(kubeConfig(base))
    const obj = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' }, data: { k: 'dg==' } } as KubeObject
    const created = await w.create(Core.secrets, 'ns1', obj)
    await w.close()
    const s = seen.at(-1)!
    assert.equal(s.method, 'POST')
    // writes refuse fields the installed schema does not know rather than have them pruned
    assert.equal(s.url, '/api/v1/namespaces/ns1/secrets?fieldValidation=Strict')
    assert.equal(s.headers.authorization, 'Bearer sekret')
    assert.equal(s.headers['content-type'], 'application/json')
    assert.equal(s.headers['user-agent'], `dealyard/${DEALYARD_VERSION} (${process.platform}/${process.arch})`)
    assert.deepEqual(JSON.parse(s.body), obj)
    assert.equal(created.metadata?.uid, 'u-1')
  })

  it('names the component in the User-Agent it is given (the apiserver\'s field manager), on requests and watches', async () => {
    answer = () => ({ status: 200, body: '{}' })
    const w = new KubeRest(kubeConfig(base), { userAgent: kubeUserAgent('dealyard-ingress') })
    await w.get(Core.secrets, 'ns1', 'a')
    await w.watch('/api/v1/namespaces/ns1/secrets', {}, () => {}, { signal: new AbortController().signal, idleMs: 5000 })
    await w.close()
    assert.deepEqual(seen.slice(-2).map((s) => s.headers['user-agent']), Array(2).fill(`dealyard-ingress/${DEALYARD_VERSION} (${process.platform}/${process.arch})`))
  })

  it('keeps a path prefix of the server URL (an apiserver behind a proxy)', async () => {
    answer = () => ({ status: 201, body: '{}' })
    const w = new KubeRest(kubeConfig(`${base}/k8s/`))
    await w.create({ group: 'dealyard.io', version: 'v1alpha1', plural: 'storagedeals' }, 'ns2', { metadata: { name: 'b' } })
    await w.close()
    assert.equal(seen.at(-1)!.url, '/k8s/apis/dealyard.io/v1alpha1/namespaces/ns2/storagedeals?fieldValidation=Strict')
  })

  it('turns a Status answer into KubeApiError (AlreadyExists stays recognisable) and a non-JSON one too', async () => {
    const w = new KubeRest(kubeConfig(base))
    answer = () => ({ status: 409, body: JSON.stringify({ kind: 'Status', reason: 'AlreadyExists', message: 'secrets "a" already exists', details: { name: 'a' } }) })
    const err = await w.create(Core.secrets, 'ns1', { metadata: { name: 'a' } }).then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof KubeApiError)
    assert.equal(err.status, 409)
    assert.equal(err.reason, 'AlreadyExists')
    assert.equal(isAlreadyExists(err), true)
    assert.match(err.message, /already exists/)
    answer = () => ({ status: 503, body: 'upstream down' })
    await assert.rejects(w.create(Core.secrets, 'ns1', { metadata: { name: 'c' } }), (e: unknown) =>
      e instanceof KubeApiError && e.status === 503 && e.reason === '503' && e.retry === 'auto' && /upstream down/.test(e.message))
    await w.close()
  })

  it('reports an unreachable apiserver as ERR_KUBE_TRANSPORT', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => { resolve() }))
    const w = new KubeRest(kubeConfig(`http://127.0.0.1:${port}`))
    await assert.rejects(w.create(Core.secrets, 'ns1', { metadata: { name: 'd' } }), (e: unknown) =>
      e instanceof DealyardError && e.code === 'ERR_KUBE_TRANSPORT' && e.retry === 'auto')
    await w.close()
  })
})

describe('KubeRest watch streams', () => {
  let server: Server
  let base: string
  let serve: (res: import('node:http').ServerResponse, url: string) => void = () => {}

  before(async () => {
    server = createServer((req, res) => { serve(res, req.url ?? '') })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => { server.close() })

  const events = (n: number): string[] => Array.from({ length: n }, (_, i) => JSON.stringify({ type: 'ADDED', object: { metadata: { name: `ü-${i}`, resourceVersion: String(i) } } }) + '\n')

  it('delivers every event in order, whatever the chunks cut (a line, a multi-byte character)', async () => {
    // blank lines between some events, as a keep-alive could send
    const all = Buffer.from(events(50).map((e, i) => i % 7 === 0 ? e + '\n' : e).join(''))
    serve = (res, url) => {
      assert.match(url, /[?&]watch=true/)
      assert.match(url, /resourceVersion=7/)
      res.writeHead(200, { 'content-type': 'application/json' })
      // chunks of 1–37 bytes: cuts inside 'ü' (two bytes) and inside lines
      let at = 0
      const step = (): void => {
        if (at >= all.length) { res.end(); return }
        const n = 1 + (at % 37)
        res.write(all.subarray(at, at + n))
        at += n
        setImmediate(step)
      }
      step()
    }
    const w = new KubeRest(kubeConfig(base))
    const got: string[] = []
    await w.watch<{ type: string, object: { metadata: { name: string } } }>('/api/v1/configmaps', { resourceVersion: '7' }, (e) => { got.push(e.object.metadata.name) }, { signal: new AbortController().signal, idleMs: 5000 })
    await w.close()
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `ü-${i}`))
  })

  it('a non-200 answer is a KubeApiError with its status (410 Gone is how a relist starts)', async () => {
    serve = (res) => { res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', reason: 'Expired', message: 'too old resource version' })) }
    const w = new KubeRest(kubeConfig(base))
    await assert.rejects(w.watch('/api/v1/configmaps', {}, () => {}, { signal: new AbortController().signal, idleMs: 5000 }),
      (e: unknown) => e instanceof KubeApiError && e.status === 410 && e.reason === 'Expired')
    await w.close()
  })

  it('a line past 16 Mi characters ends the watch with ERR_KUBE_WATCH rather than being held as it grows', async () => {
    serve = (res) => {
      res.writeHead(200)
      res.write(events(1)[0])
      const piece = Buffer.alloc(1 << 20, 'a')
      let sent = 0
      const step = (): void => {
        if (res.destroyed || sent > 40) { res.end(); return }
        sent++
        res.write(piece, () => { setImmediate(step) })
      }
      step()
    }
    const w = new KubeRest(kubeConfig(base))
    let n = 0
    const t0 = performance.now()
    await assert.rejects(w.watch('/api/v1/configmaps', {}, () => { n++ }, { signal: new AbortController().signal, idleMs: 5000 }),
      (e: unknown) => e instanceof DealyardError && e.code === 'ERR_KUBE_WATCH' && /an event over 16777216 characters/.test(e.message))
    assert.equal(n, 1)
    assert.ok(performance.now() - t0 < 5000, 'in linear time')
    await w.close()
  })

  it('a line that is not JSON ends the watch with ERR_KUBE_WATCH', async () => {
    serve = (res) => { res.writeHead(200).end(events(1)[0] + '<html>proxy error</html>\n') }
    const w = new KubeRest(kubeConfig(base))
    let n = 0
    await assert.rejects(w.watch('/api/v1/configmaps', {}, () => { n++ }, { signal: new AbortController().signal, idleMs: 5000 }),
      (e: unknown) => e instanceof DealyardError && e.code === 'ERR_KUBE_WATCH' && /proxy error/.test(e.message))
    assert.equal(n, 1, 'the event before it was delivered')
    await w.close()
  })

  it('aborting ends the watch quietly; silence past the idle timeout is a transport error', async () => {
    serve = (res) => { res.writeHead(200); res.write(events(1)[0]) }
    const w = new KubeRest(kubeConfig(base))
    const ac = new AbortController()
    await w.watch('/api/v1/configmaps', {}, () => { ac.abort() }, { signal: ac.signal, idleMs: 5000 })
    const t0 = Date.now()
    await assert.rejects(w.watch('/api/v1/configmaps', {}, () => {}, { signal: new AbortController().signal, idleMs: 300 }),
      (e: unknown) => e instanceof DealyardError && e.code === 'ERR_KUBE_TRANSPORT')
    assert.ok(Date.now() - t0 < 3000)
    await w.close()
  })
})

describe('KubeRest timeouts', () => {
  it('bounds a request by timeoutMs while its credentials are still being fetched (a kubeconfig exec plugin)', async () => {
    const rest = new KubeRest(kubeConfig('http://127.0.0.1:9'))
    ;(rest as unknown as { authHeaders: () => Promise<never> }).authHeaders = async () => await new Promise<never>(() => {})
    const t0 = Date.now()
    await assert.rejects(rest.request('GET', '/api/v1/namespaces', { timeoutMs: 300 }), (err: unknown) =>
      err instanceof DealyardError && err.code === 'ERR_KUBE_TRANSPORT' && /no answer within 300 ms/.test(err.message))
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`)
  })

  it('bounds a request by timeoutMs even while it waits for a connection that never comes up', async () => {
    // A TLS server that accepts and never answers the handshake: undici's header and body timeouts
    // have not started yet; its connect timeout is 10 s.
    const { createServer: createTcp } = await import('node:net')
    const sockets: Array<import('node:net').Socket> = []
    const silent = createTcp((s) => { sockets.push(s) })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const rest = new KubeRest(kubeConfig(`https://127.0.0.1:${(silent.address() as AddressInfo).port}`))
      const t0 = Date.now()
      await assert.rejects(rest.request('GET', '/api/v1/namespaces', { timeoutMs: 300 }), (err: unknown) =>
        err instanceof DealyardError && err.code === 'ERR_KUBE_TRANSPORT' && /no answer within 300 ms/.test(err.message))
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })
})

describe('KubeRest: the apiserver answering again', () => {
  it('tells its subscribers once when a request answers after requests failed (transport, 5xx, 429), and not for 4xx', async () => {
    let status = 503
    const server = createServer((_req, res) => { res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"items":[],"metadata":{}}' : '{}') })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const rest = new KubeRest(kubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
    let told = 0
    const unsubscribe = rest.onRecovered(() => { told++ })
    try {
      const get = async (): Promise<unknown> => await rest.request('GET', '/api/v1/namespaces/x/secrets').catch(() => undefined)
      await get()
      status = 404
      await get()
      assert.equal(told, 1, 'a 404 is an answer: the apiserver is back')
      await get()
      assert.equal(told, 1, 'once per recovery')
      status = 429
      await get()
      status = 200
      await get()
      await get()
      assert.equal(told, 2)
      unsubscribe()
      status = 500
      await get()
      status = 200
      await get()
      assert.equal(told, 2, 'unsubscribed')
    } finally {
      await rest.close()
      server.close()
    }
  })
})

describe('KubeRest: a 2xx answer that is not JSON', () => {
  let server: Server
  let base: string
  let answer: { status: number, type: string, body: string | Buffer } = { status: 200, type: 'application/json', body: '{}' }

  before(async () => {
    server = createServer((req, res) => { req.resume(); res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => { server.close() })

  it('a proxy\'s HTML page is ERR_KUBE_DECODE, retried automatically, naming the request, status, content type and the body\'s start', async () => {
    const page = `<html><head><title>502 Bad Gateway</title></head><body>${'x'.repeat(5000)}</body></html>`
    answer = { status: 200, type: 'text/html; charset=utf-8', body: page }
    const w = new KubeRest(kubeConfig(base))
    const err = await w.get(Core.secrets, 'ns1', 'a').then(() => undefined, (e: unknown) => e)
    await w.close()
    assert.ok(err instanceof DealyardError && !(err instanceof KubeApiError), `got ${String(err)}`)
    assert.equal(err.code, 'ERR_KUBE_DECODE')
    assert.equal(err.retry, 'auto')
    assert.ok(err.cause instanceof SyntaxError)
    assert.match(err.message, /^GET \/api\/v1\/namespaces\/ns1\/secrets\/a: /)
    assert.match(err.message, / 200 /)
    assert.match(err.message, /text\/html; charset=utf-8/)
    assert.ok(err.message.includes('"<html><head><title>502 Bad Gateway</title>'), err.message)
    assert.ok(err.message.length < 300, `only the start of the body: ${err.message.length} characters`)
  })

  it('a JSON body cut short, and control bytes, come out printable', async () => {
    answer = { status: 201, type: 'application/json', body: '{"kind":"Secret","metadata":{"name":"a","uid":"u-' }
    const w = new KubeRest(kubeConfig(base))
    await assert.rejects(w.create(Core.secrets, 'ns1', { metadata: { name: 'a' } }), (e: unknown) =>
      e instanceof DealyardError && e.code === 'ERR_KUBE_DECODE' && e.retry === 'auto' &&
      e.message.startsWith('POST /api/v1/namespaces/ns1/secrets: ') && e.message.includes(' 201 ') &&
      e.message.includes('application/json') && e.message.includes('{\\"kind\\":\\"Secret\\"'))
    answer = { status: 200, type: 'application/octet-stream', body: Buffer.from([0x00, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x0a, 0xc2, 0x85, 0xe2, 0x80, 0xae, 0x41]) }
    const err = await w.get(Core.secrets, 'ns1', 'b').then(() => undefined, (e: unknown) => e)
    await w.close()
    assert.ok(err instanceof DealyardError && err.code === 'ERR_KUBE_DECODE')
    // NUL, ESC, newline, NEL and a right-to-left override, each escaped; the message stays one line.
    assert.ok(err.message.endsWith('"\\u0000\\u001b[31m\\n\\u{85}\\u{202e}A"'), err.message)
    assert.doesNotMatch(err.message, /[\u0000-\u001f\u0080-\u009f\u202e]/)
  })

  it('an empty 2xx body (a proxy\'s bare 201 to a create), or JSON that is no object, is ERR_KUBE_DECODE too: the apiserver always answers with an object', async () => {
    const w = new KubeRest(kubeConfig(base))
    const decodeError = (status: number, what: RegExp) => (e: unknown): boolean =>
      e instanceof DealyardError && !(e instanceof KubeApiError) && e.code === 'ERR_KUBE_DECODE' && e.retry === 'auto' &&
      e.message.includes(` ${status} `) && what.test(e.message)
    answer = { status: 201, type: '', body: '' }
    await assert.rejects(w.create(Core.secrets, 'ns1', { metadata: { name: 'a' } }), decodeError(201, /^POST \/api\/v1\/namespaces\/ns1\/secrets: .*empty body/))
    answer = { status: 200, type: 'application/json', body: '' }
    await assert.rejects(w.request('DELETE', '/api/v1/namespaces/ns1/secrets/a'), decodeError(200, /^DELETE .*empty body.*application\/json/))
    answer = { status: 204, type: 'text/plain', body: '' }
    await assert.rejects(w.get(Core.secrets, 'ns1', 'a'), decodeError(204, /^GET .*empty body/))
    answer = { status: 200, type: 'application/json', body: 'null' }
    await assert.rejects(w.mergePatch(Core.secrets, 'ns1', 'a', {}), decodeError(200, /^PATCH .*not a JSON object.*"null"/))
    await w.close()
  })
})
