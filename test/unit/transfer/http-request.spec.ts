// getRange's checks of a 200/206 before its body is used, and the Content-Range parser, against a
// raw TCP server that sends exactly the head a test wants.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Socket, type AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { getRange, parseContentRange } from '../../../src/transfer/http-request.ts'

/** A server answering the n-th connection with the head `heads[n]` and `body`; it records the requests. */
async function server (heads: string[], body: Buffer): Promise<{ url: string, requests: string[], close: () => Promise<void> }> {
  const requests: string[] = []
  const socks = new Set<Socket>()
  const srv = createServer((sock) => {
    socks.add(sock)
    sock.on('error', () => {})
    sock.once('data', (d: Buffer) => {
      const head = heads[requests.length] ?? heads.at(-1)!
      requests.push(d.toString('latin1'))
      sock.end(Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`), body]))
    })
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/piece.car`,
    requests,
    close: async () => { for (const s of socks) s.destroy(); await new Promise<void>((resolve) => srv.close(() => { resolve() })) }
  }
}

const opts = { address: async (): Promise<string> => '127.0.0.1', signal: new AbortController().signal, maxRedirects: 2 }

test('a 200 or 206 with a Content-Encoding other than identity is refused, naming it, before its body is used', async (t) => {
  const gz = gzipSync(Buffer.alloc(1000))
  const refused: Array<[string, string]> = [
    ['HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n', 'gzip'],
    ['HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nContent-Encoding: identity , BR\r\n', 'identity , BR'],
    ['HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Encoding: deflate\r\n', 'identity, deflate']
  ]
  const srv = await server([...refused.map(([h]) => h), 'HTTP/1.1 200 OK\r\nContent-Encoding: Identity, ,IDENTITY\r\n', 'HTTP/1.1 200 OK\r\nContent-Encoding:\r\n'], gz)
  t.after(srv.close)
  for (const [, coding] of refused) {
    await assert.rejects(getRange(srv.url, {}, 0, opts), (err: Error & { code?: string }) => {
      // Retryable: a proxy on the way may be what encodes, and another attempt may not meet it.
      assert.equal(err.name, 'RetryableError')
      assert.equal(err.code, 'CONTENT_ENCODING')
      assert.equal(err.message, `GET ${new URL(srv.url).origin}/piece.car: the server sent Content-Encoding: ${coding} although the request asked for identity: the deal's data must be the bytes as stored`)
      return true
    })
  }
  assert.match(srv.requests[0]!, /\r\naccept-encoding: identity\r\n/i)
  // identity, in any case and with empty list elements, or an empty header, is no coding at all.
  for (let i = 0; i < 2; i++) {
    const res = await getRange(srv.url, {}, 0, opts)
    assert.equal(res.statusCode, 200)
    res.body.close()
  }
})

test('Content-Range units are read in any case (RFC 9110: range units are case-insensitive)', () => {
  assert.deepEqual(parseContentRange('Bytes 0-9/100'), { start: 0, end: 9, total: 100 })
  assert.deepEqual(parseContentRange('BYTES 5-9/*'), { start: 5, end: 9, total: undefined })
  assert.deepEqual(parseContentRange(' bytes 1-2/3 '), { start: 1, end: 2, total: 3 })
  assert.equal(parseContentRange('items 0-9/100'), undefined)
  assert.equal(parseContentRange('bytes */100'), undefined)
})

test('a Content-Range that ends before it starts, or at or past its total, is no range (RFC 9110 §14.4: invalid)', () => {
  assert.deepEqual(parseContentRange('bytes 0-99/100'), { start: 0, end: 99, total: 100 })
  assert.deepEqual(parseContentRange('bytes 7-7/*'), { start: 7, end: 7, total: undefined })
  assert.equal(parseContentRange('bytes 0-99999/1000'), undefined)
  assert.equal(parseContentRange('bytes 0-100/100'), undefined)
  assert.equal(parseContentRange('bytes 10-9/100'), undefined)
  assert.equal(parseContentRange('bytes 10-9/*'), undefined)
})
