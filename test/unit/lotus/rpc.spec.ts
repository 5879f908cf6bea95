/**
 * The JSON-RPC transport against a real local HTTP server standing in for a flaky node: how
 * answers are classified, which calls are retried, timeouts and bearer tokens.
 */
import { describe, it, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { LotusRpcError, RpcClient } from '../../../src/lotus/index.ts'
import { parseResponse } from '../../../src/lotus/rpc.ts'

type Handler = (req: IncomingMessage, body: Record<string, unknown>, res: ServerResponse) => void

describe('RpcClient', () => {
  let server: Server
  let url: string
  let handler: Handler
  let requests: Array<{ auth: string | undefined, body: Record<string, unknown> }>

  before(async () => {
    server = createServer((req, res) => {
      let data = ''
      req.on('data', (c: Buffer) => { data += c.toString() })
      req.on('end', () => {
        const body = JSON.parse(data) as Record<string, unknown>
        requests.push({ auth: req.headers.authorization, body })
        handler(req, body, res)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc/v1`
  })
  after(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  beforeEach(() => { requests = [] })

  const ok = (res: ServerResponse, id: unknown, result: unknown): void => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ jsonrpc: '2.0', id, result }))
  }
  /** Fails the first `n` requests with HTTP 503, then answers `result`. */
  const flaky = (n: number, result: unknown): Handler => {
    let seen = 0
    return (_req, body, res) => {
      if (seen++ < n) { res.statusCode = 503; res.end('overloaded'); return }
      ok(res, body.id, result)
    }
  }
  const fast = { retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 } }

  it('sends a JSON-RPC 2.0 envelope with positional params and the bearer token', async () => {
    handler = (_req, body, res) => { ok(res, body.id, 42) }
    const c = new RpcClient({ url, token: 'tkn' }, 'full', fast)
    assert.equal(await c.call('ChainHead', [[]]), 42)
    const r = requests[0]!
    assert.equal(r.auth, 'Bearer tkn')
    assert.equal(r.body.jsonrpc, '2.0')
    assert.equal(r.body.method, 'Filecoin.ChainHead')
    assert.deepEqual(r.body.params, [[]])
    assert.equal(typeof r.body.id, 'number')
  })

  it('retries an idempotent call through 503s', async () => {
    handler = flaky(3, 'head')
    const c = new RpcClient({ url }, 'full', fast)
    assert.equal(await c.call('ChainHead', []), 'head')
    assert.equal(requests.length, 4)
  })

  it('gives up after the attempts with ERR_LOTUS_UNAVAILABLE', async () => {
    handler = flaky(100, 'never')
    const c = new RpcClient({ url }, 'full', fast)
    await assert.rejects(c.call('ChainHead', []), (err: unknown) => {
      assert.ok(err instanceof LotusRpcError)
      assert.equal(err.code, 'ERR_LOTUS_UNAVAILABLE')
      assert.equal(err.attempts, 4)
      assert.equal(err.httpStatus, 503)
      return true
    })
    assert.equal(requests.length, 4)
  })

  it('sends a non-idempotent call once', async () => {
    handler = flaky(1, 'pushed')
    const c = new RpcClient({ url }, 'full', fast)
    await assert.rejects(c.call('MpoolPushMessage', [{}, null], { idempotent: false }), { code: 'ERR_LOTUS_TRANSPORT', attempts: 1 })
    assert.equal(requests.length, 1)
  })

  it('does not retry a JSON-RPC error object', async () => {
    handler = (_req, body, res) => { res.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, error: { code: 1, message: 'not enough funds' } })) }
    const c = new RpcClient({ url }, 'full', fast)
    await assert.rejects(c.call('StateMarketBalance', []), { code: 'ERR_LOTUS_RPC', rpcCode: 1, retry: 'manual' })
    assert.equal(requests.length, 1)
  })

  it('times a call out and retries it, then reports ERR_LOTUS_TIMEOUT', async () => {
    handler = (_req, body, res) => { setTimeout(() => { ok(res, body.id, 1) }, 300) }
    const c = new RpcClient({ url, timeoutMs: 50 }, 'full', { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } })
    await assert.rejects(c.call('ChainHead', []), { code: 'ERR_LOTUS_TIMEOUT', retry: 'auto' })
    assert.equal(requests.length, 2)
    assert.equal(await c.call('ChainHead', [], { timeoutMs: null }), 1)
  })

  it('stops at once when the caller aborts', async () => {
    handler = (_req, body, res) => { setTimeout(() => { ok(res, body.id, 1) }, 500) }
    const c = new RpcClient({ url }, 'full', fast)
    const ac = new AbortController()
    const p = c.call('StateWaitMsg', [], { timeoutMs: null, signal: ac.signal })
    setTimeout(() => { ac.abort(new Error('shutting down')) }, 20)
    await assert.rejects(p, /shutting down/)
  })

  it('refuses an answer past its size bound, streamed or declared, without reading it all and without retrying', async () => {
    let written = 0
    // Something that is not Lotus: 200 and a body without end.
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 << 10, 0x20)
      const more = (): void => { while (!res.destroyed && written < 64 << 20) { written += chunk.length; if (!res.write(chunk)) { res.once('drain', more); return } } }
      res.write('{"jsonrpc":"2.0","id":1,"result":"')
      more()
    }
    const c = new RpcClient({ url }, 'full', fast)
    await assert.rejects(c.call('ChainHead', [], { maxResponseBytes: 1 << 20 }), { code: 'ERR_LOTUS_DECODE', retry: 'manual', message: /^lotus full: Filecoin\.ChainHead: answer larger than 1048576 bytes/ })
    assert.equal(requests.length, 1, 'not retried')
    assert.ok(written < 16 << 20, `the server got to write ${written} bytes`)
    handler = (_req, _body, res) => { res.writeHead(200, { 'content-length': String(1 << 30) }); res.write('{') }
    await assert.rejects(c.call('ChainHead', [], { maxResponseBytes: 1 << 20 }), { code: 'ERR_LOTUS_DECODE' })
    // Within the bound: read as before.
    handler = (_req, body, res) => { ok(res, body.id, 'x'.repeat(1000)) }
    assert.equal(await c.call('ChainHead', [], { maxResponseBytes: 1 << 20 }), 'x'.repeat(1000))
  })

  it('refuses a non-http url', () => {
    assert.throws(() => new RpcClient({ url: 'ws://127.0.0.1:1234/rpc/v1' }, 'full'), { name: 'LotusRpcError', retry: 'fatal' })
  })

  it('refuses a url without repeating it: Lotus API info (its token reads as the scheme) and passwords stay out of the message', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJBbGxvdyI6WyJyZWFkIl19.dG9wc2VjcmV0'
    for (const url of [`${token}:/ip4/127.0.0.1/tcp/1234/http`, 'not a url s3cret', `${token}://x`]) {
      assert.throws(() => new RpcClient({ url }, 'full'), (err: unknown) => err instanceof LotusRpcError && !/dg9wc2vjcmv0|s3cret/i.test(err.message), url)
    }
  })
})

describe('parseResponse', () => {
  const cases: Record<string, [number, string, string | unknown]> = {
    'a result': [200, '{"jsonrpc":"2.0","id":1,"result":{"a":1}}', { a: 1 }],
    'no result member (a method returning only error)': [200, '{"jsonrpc":"2.0","id":1}', null],
    'HTTP 401 is an auth error': [401, '', 'ERR_LOTUS_AUTH'],
    'HTTP 403 (a gateway refusing the token) is an auth error too, not retried': [403, '<html>forbidden</html>', 'ERR_LOTUS_AUTH'],
    'an error object on HTTP 200': [200, '{"jsonrpc":"2.0","id":1,"error":{"code":11,"message":"actor not found"}}', 'ERR_LOTUS_RPC'],
    'a -32xxx error on HTTP 500 is ours, not transient': [500, '{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"wrong param count"}}', 'ERR_LOTUS_RPC'],
    'an HTML 502 from a proxy is transport': [502, '<html>bad gateway</html>', 'ERR_LOTUS_TRANSPORT'],
    'a truncated body is transport': [200, '{"jsonrpc":"2.0","id":1,"res', 'ERR_LOTUS_TRANSPORT']
  }
  for (const [name, [status, body, want]] of Object.entries(cases)) {
    it(name, () => {
      if (typeof want === 'string' && want.startsWith('ERR_')) {
        assert.throws(() => parseResponse('full', 'Filecoin.X', status, body), { code: want })
      } else {
        assert.deepEqual(parseResponse('full', 'Filecoin.X', status, body), want)
      }
    })
  }

  it('classifies a -32xxx code as fatal and a method error as manual', () => {
    assert.throws(() => parseResponse('full', 'X', 500, '{"error":{"code":-32601,"message":"method not found"}}'), { retry: 'fatal', rpcCode: -32601 })
    assert.throws(() => parseResponse('full', 'X', 200, '{"error":{"code":1,"message":"x"}}'), { retry: 'manual', rpcCode: 1 })
  })
})
