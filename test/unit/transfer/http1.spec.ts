// The transfer's HTTP/1.1 client against raw TCP and TLS servers that send exactly the bytes a
// test wants, split across reads where it matters: response heads, framings, 1xx, early closes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer as createNetServer, type Socket, type AddressInfo } from 'node:net'
import { createServer as createHttpsServer } from 'node:https'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { basicAuthOf, get, headEnd, ChunkedDecoder, type BodyTarget } from '../../../src/transfer/http1.ts'
import { tempDir } from './support.ts'

/** A server that answers every connection with `script` (pieces written with a pause between). */
async function rawServer (script: (sock: Socket) => Promise<void>): Promise<{ url: string, requests: string[], close: () => Promise<void> }> {
  const requests: string[] = []
  const socks = new Set<Socket>()
  const server = createNetServer((sock) => {
    socks.add(sock)
    sock.once('data', (d: Buffer) => { requests.push(d.toString('latin1')); script(sock).catch(() => sock.destroy()) })
    sock.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/p?q=1`,
    requests,
    close: async () => { for (const s of socks) s.destroy(); await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  }
}

const pause = async (ms = 15): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
async function writeSlowly (sock: Socket, pieces: Array<string | Buffer>): Promise<void> {
  for (const p of pieces) { sock.write(p); await pause() }
}

/** A body target that keeps everything, with a small buffer so reads land in it in many steps. */
function collector (size = 4096): BodyTarget & { bytes: () => Buffer, copies: number } {
  const chunks: Buffer[] = []
  let buf = Buffer.alloc(size)
  let len = 0
  const t = {
    copies: 0,
    attach () {},
    space: () => buf.subarray(len),
    accept (region: Uint8Array, n: number) {
      if (region.buffer === buf.buffer && region.byteOffset === buf.byteOffset + len) len += n
      else { t.copies++; chunks.push(Buffer.from(region.subarray(0, n))); return true }
      if (len === buf.length) { chunks.push(buf); buf = Buffer.alloc(size); len = 0 }
      return true
    },
    bytes: () => Buffer.concat([...chunks, buf.subarray(0, len)])
  }
  return t
}

const opts = { address: async () => '127.0.0.1', signal: new AbortController().signal }

test('a head split across reads, a 100 Continue first, then a Content-Length body', async (t) => {
  const body = randomBytes(50_000)
  const srv = await rawServer(async (sock) => {
    await writeSlowly(sock, ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 206 Partial', ' Content\r\nContent-Length: 50000\r\nETag: "x"\r\nX-A: 1\r\nX-A: 2\r', '\n\r\n', body.subarray(0, 10), body.subarray(10)])
    sock.end()
  })
  t.after(srv.close)
  const res = await get(new URL(srv.url), { Authorization: 'Bearer t', range: 'bytes=5-' }, opts)
  assert.equal(res.statusCode, 206)
  assert.equal(res.headers.etag, '"x"')
  assert.deepEqual(res.headers['x-a'], ['1', '2'])
  const c = collector()
  await res.readBody(c)
  assert.deepEqual(c.bytes(), body)
  const req = srv.requests[0]!
  assert.match(req, /^GET \/p\?q=1 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nConnection: close\r\n/)
  assert.match(req, /\r\nAuthorization: Bearer t\r\n/)
  assert.match(req, /\r\nrange: bytes=5-\r\n/)
})

test('five 1xx heads are read past; a sixth ends the request (Go\'s limit), not a head at a time for ever', async (t) => {
  const srv = await rawServer(async (sock) => {
    // A read's worth of 100 Continue heads, then nothing.
    sock.write(Buffer.from('HTTP/1.1 100 X\n\n'.repeat(4000)))
  })
  t.after(srv.close)
  await assert.rejects(get(new URL(srv.url), {}, opts), { code: 'TOO_MANY_1XX', message: 'more than 5 informational (1xx) responses' })
  const five = await rawServer(async (sock) => {
    sock.end('HTTP/1.1 100 Continue\r\n\r\n'.repeat(5) + 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
  })
  t.after(five.close)
  const res = await get(new URL(five.url), {}, opts)
  assert.equal(res.statusCode, 200)
})

test('a chunked body with extensions and trailers, split anywhere, decodes to the data', async (t) => {
  const data = randomBytes(30_000)
  const wire = Buffer.concat([
    Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
    Buffer.from('10;name=v\r\n'), data.subarray(0, 16), Buffer.from('\r\n'),
    Buffer.from('7520\r\n'), data.subarray(16), Buffer.from('\r\n'),
    Buffer.from('0\r\nX-Trailer: y\r\n\r\n')
  ])
  const srv = await rawServer(async (sock) => {
    const cuts = [20, 47, 55, 62, 63, 70, 1000, wire.length - 20, wire.length - 3]
    let at = 0
    for (const c of cuts) { sock.write(wire.subarray(at, c)); at = c; await pause(5) }
    sock.write(wire.subarray(at))
    // no end(): the terminating chunk, not the close, ends the body
  })
  t.after(srv.close)
  const res = await get(new URL(srv.url), {}, opts)
  const c = collector(1000)
  await res.readBody(c)
  assert.deepEqual(c.bytes(), data)
})

test('the chunked decoder gives the same bytes for every way of splitting its input', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 40 }),
    (data, sizes, cuts) => {
      const parts: Buffer[] = []
      let at = 0
      for (let i = 0; at < data.length; i++) {
        const n = Math.min(sizes[i % sizes.length]!, data.length - at)
        parts.push(Buffer.from(n.toString(16) + (i % 2 === 0 ? '\r\n' : ';e=1\r\n')), Buffer.from(data.subarray(at, at + n)), Buffer.from('\r\n'))
        at += n
      }
      parts.push(Buffer.from('0\r\n\r\n'))
      const wire = Buffer.concat(parts)
      const d = new ChunkedDecoder()
      const out: Buffer[] = []
      let pos = 0
      for (let i = 0; pos < wire.length; i++) {
        const piece = Buffer.from(wire.subarray(pos, pos + cuts[i % cuts.length]!))
        pos += piece.length
        out.push(Buffer.from(piece.subarray(0, d.decode(piece, piece.length))))
      }
      assert.equal(d.done, true)
      assert.deepEqual(Buffer.concat(out), Buffer.from(data))
    }), { numRuns: 300 })
})

test('malformed chunk framing fails with a retryable error code', () => {
  for (const bad of ['zz\r\n', '5\r\nhelloXX', '\r\n']) {
    assert.throws(() => { const b = Buffer.from(bad); new ChunkedDecoder().decode(b, b.length) }, { code: 'BAD_CHUNKING' })
  }
})

test('a body without length ends at the close; a Content-Length body cut short is an error with its bytes kept', async (t) => {
  const data = randomBytes(20_000)
  let n = 0
  const srv = await rawServer(async (sock) => {
    if (n++ === 0) await writeSlowly(sock, ['HTTP/1.0 200 OK\r\n\r\n', data])
    else await writeSlowly(sock, ['HTTP/1.1 200 OK\r\nContent-Length: 30000\r\n\r\n', data])
    sock.end()
  })
  t.after(srv.close)
  const a = collector()
  await (await get(new URL(srv.url), {}, opts)).readBody(a)
  assert.deepEqual(a.bytes(), data)
  const b = collector()
  await assert.rejects((await get(new URL(srv.url), {}, opts)).readBody(b), { code: 'CONNECTION_CLOSED' })
  assert.deepEqual(b.bytes(), data)
})

test('a target that is full pauses the socket until it resumes', async (t) => {
  const data = randomBytes(3 << 20)
  const srv = await rawServer(async (sock) => { sock.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`), data])) })
  t.after(srv.close)
  const res = await get(new URL(srv.url), {}, opts)
  const got: Buffer[] = []
  const buf = Buffer.alloc(64 << 10)
  let len = 0
  let resume = (): void => {}
  let pauses = 0
  let readsWhilePaused = 0
  let paused = false
  await res.readBody({
    attach: (r) => { resume = r },
    space: () => buf.subarray(len),
    accept (region, n) {
      if (paused) readsWhilePaused++
      if (region.buffer === buf.buffer && region.byteOffset === buf.byteOffset + len) len += n
      else got.push(Buffer.from(region.subarray(0, n)))
      if (len < buf.length) return true
      got.push(Buffer.from(buf)); len = 0
      pauses++; paused = true
      setTimeout(() => { paused = false; resume() }, 2)
      return false
    }
  })
  got.push(Buffer.from(buf.subarray(0, len)))
  assert.deepEqual(Buffer.concat(got), data)
  assert.ok(pauses >= 40, `${pauses} pauses`)
  assert.equal(readsWhilePaused, 0)
})

test('header names and values that could inject lines are refused before connecting', async () => {
  let asked = 0
  const address = async (): Promise<string> => { asked++; return '127.0.0.1' }
  await assert.rejects(get(new URL('http://127.0.0.1:1/'), { 'X-A': 'v\r\nHost: evil' }, { ...opts, address }), { code: 'TRANSFER_PARAMS' })
  await assert.rejects(get(new URL('http://127.0.0.1:1/'), { 'X A': 'v' }, { ...opts, address }), { code: 'TRANSFER_PARAMS' })
  // Any control character but tab, as Go's net/http refuses them.
  for (const c of ['\x01', '\x1b', '\x7f', '\x00']) {
    await assert.rejects(get(new URL('http://127.0.0.1:1/'), { 'X-A': `a${c}b` }, { ...opts, address }), { code: 'TRANSFER_PARAMS' })
  }
  assert.equal(asked, 0)
})

test('a garbage status line is a retryable BAD_RESPONSE', async (t) => {
  const srv = await rawServer(async (sock) => { sock.end('SSH-2.0-OpenSSH\r\n\r\n') })
  t.after(srv.close)
  await assert.rejects(get(new URL(srv.url), {}, opts), { code: 'BAD_RESPONSE' })
})

test('an abort ends a body in progress with the abort reason', async (t) => {
  const srv = await rawServer(async (sock) => { sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nabc') })
  t.after(srv.close)
  const ac = new AbortController()
  const res = await get(new URL(srv.url), {}, { ...opts, signal: ac.signal })
  const c = collector()
  const done = res.readBody(c)
  setTimeout(() => { ac.abort(Object.assign(new Error('stalled'), { code: 'STALLED' })) }, 30)
  await assert.rejects(done, { code: 'STALLED' })
  assert.equal(c.bytes().toString(), 'abc')
})

test('https: the body comes through TLS with the certificate checked against the host name', async (t) => {
  const dir = await tempDir()
  // A throwaway self-signed certificate for "data.example" (openssl is part of the test image).
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=data.example', '-addext', 'subjectAltName=DNS:data.example',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  const cert = readFileSync(join(dir, 'cert.pem'))
  const data = randomBytes(1 << 20)
  const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (_req, res) => {
    res.writeHead(200, { 'content-length': data.length }); res.end(data)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.closeAllConnections(); server.close() })
  const port = (server.address() as AddressInfo).port
  const hosts: string[] = []
  const address = async (h: string): Promise<string> => { hosts.push(h); return '127.0.0.1' }
  const res = await get(new URL(`https://data.example:${port}/x`), {}, { ...opts, address, ca: cert })
  const c = collector(1 << 16)
  await res.readBody(c)
  assert.deepEqual(c.bytes(), data)
  assert.deepEqual(hosts, ['data.example'])
  // The same server under a name its certificate does not carry is refused.
  await assert.rejects(get(new URL(`https://other.example:${port}/x`), {}, { ...opts, address, ca: cert }), (err: Error & { code?: string }) => {
    assert.match(String(err.code), /ERR_TLS_CERT_ALTNAME_INVALID/)
    return true
  })
})

test('URL credentials become Basic auth of the bytes Go\'s url.User holds: escapes that are not UTF-8 included', () => {
  const b64 = (b: Buffer): string => `Basic ${b.toString('base64')}`
  assert.equal(basicAuthOf(new URL('http://u:%ff@h/'), {}), b64(Buffer.from([0x75, 0x3a, 0xff])))
  assert.equal(basicAuthOf(new URL('http://u:p%e9ss@h/'), {}), b64(Buffer.from([0x75, 0x3a, 0x70, 0xe9, 0x73, 0x73])))
  // Non-ASCII typed in the URL: WHATWG escapes it as UTF-8, which is what Go holds too.
  assert.equal(basicAuthOf(new URL('http://ü:pä@h/'), {}), b64(Buffer.from('ü:pä', 'utf8')))
  assert.equal(basicAuthOf(new URL('http://us%40er:p%3Ass@h/'), {}), b64(Buffer.from('us@er:p:ss')))
  assert.equal(basicAuthOf(new URL('http://u:p@h/'), { AUTHORIZATION: 'Bearer x' }), undefined)
  // An empty Authorization header is none (Go: Header.Get == ""): the URL's credentials go instead.
  assert.equal(basicAuthOf(new URL('http://u:p@h/'), { Authorization: '' }), b64(Buffer.from('u:p')))
  assert.equal(basicAuthOf(new URL('http://h/'), {}), undefined)
})

test('a transfer coding other than exactly chunked is refused, as Go\'s net/http refuses it, before any body byte', async (t) => {
  const gz = Buffer.from('1f8b08000000000000ff', 'hex')
  const heads = [
    'Transfer-Encoding: gzip, chunked\r\n',
    'Transfer-Encoding: identity, chunked\r\n',
    'Transfer-Encoding: identity\r\n',
    'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n'
  ]
  let n = 0
  const srv = await rawServer(async (sock) => {
    const h = heads[n++] ?? 'Transfer-Encoding: Chunked\r\n'
    sock.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\n${h}\r\n${gz.length.toString(16)}\r\n`), gz, Buffer.from('\r\n0\r\n\r\n')]))
  })
  t.after(srv.close)
  for (const want of [/Transfer-Encoding "gzip, chunked": only chunked/, /"identity, chunked"/, /"identity"/, /2 Transfer-Encoding fields/]) {
    await assert.rejects(get(new URL(srv.url), {}, opts), (err: Error & { code?: string }) => {
      assert.equal(err.name, 'RetryableError')
      assert.equal(err.code, 'UNSUPPORTED_TRANSFER_ENCODING')
      assert.match(err.message, want)
      return true
    })
  }
  // chunked in any case is the one coding there is.
  const c = collector()
  await (await get(new URL(srv.url), {}, opts)).readBody(c)
  assert.deepEqual(c.bytes(), gz)
})

test('chunk sizes of up to 16 hex digits are read as Go reads them; more digits, or a size past 2^53, are refused', () => {
  const decode = (wire: string): string => { const b = Buffer.from(wire); const d = new ChunkedDecoder(); const n = d.decode(b, b.length); assert.equal(d.done, true); return b.toString('latin1', 0, n) }
  assert.equal(decode('0000000000000005\r\nhello\r\n000000000000000\r\n\r\n'), 'hello')
  assert.equal(decode('0000000000005\r\nhello\r\n0000000000000000\r\n\r\n'), 'hello')
  const refused = (wire: string, why: RegExp): void => {
    assert.throws(() => { const b = Buffer.from(wire); new ChunkedDecoder().decode(b, b.length) }, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BAD_CHUNKING'); assert.match(err.message, why); return true
    })
  }
  refused('00000000000000005\r\nhello\r\n', /more than 16 hex digits/)
  refused('20000000000000\r\n', /too large/) // 2^53: not a size this decoder can count to
  refused('ffffffffffffffff\r\n', /too large/)
  // The largest size that can be counted is accepted: its data simply has not come yet.
  const b = Buffer.from('001fffffffffffff\r\nab')
  assert.equal(new ChunkedDecoder().decode(b, b.length), 2)
})

test('response heads whose lines end in a bare LF are read, as Go\'s textproto reads them, split anywhere', async (t) => {
  const body = randomBytes(5000)
  const wire = Buffer.concat([Buffer.from('HTTP/1.1 100 Continue\n\nHTTP/1.1 206 Partial Content\nContent-Length: 5000\r\nContent-Range: bytes 5-5004/9000\nX-A: 1\n\n'), body])
  const cuts = [[], [wire.indexOf('\n\n', 30) + 1], [wire.indexOf('X-A') + 5, wire.indexOf('X-A') + 6, wire.indexOf('X-A') + 7]]
  let n = 0
  const srv = await rawServer(async (sock) => {
    let at = 0
    for (const c of cuts[n++] ?? []) { sock.write(wire.subarray(at, c)); at = c; await pause(5) }
    sock.end(wire.subarray(at))
  })
  t.after(srv.close)
  for (let i = 0; i < cuts.length; i++) {
    const res = await get(new URL(srv.url), {}, opts)
    assert.equal(res.statusCode, 206)
    assert.equal(res.contentLength, 5000)
    assert.equal(res.headers['content-range'], 'bytes 5-5004/9000')
    assert.equal(res.headers['x-a'], '1')
    const c = collector()
    await res.readBody(c)
    assert.deepEqual(c.bytes(), body)
  }
})

test('headEnd finds the empty line whatever the line ends, and waits while there is none', () => {
  const at = (s: string, from = 0): number => headEnd(Buffer.from(s), from)
  assert.equal(at('HTTP/1.1 200 OK\r\n\r\nbody'), 19)
  assert.equal(at('HTTP/1.1 200 OK\n\nbody'), 17)
  assert.equal(at('HTTP/1.1 200 OK\r\n\nbody'), 18)
  assert.equal(at('HTTP/1.1 200 OK\nA: b\n\r\nbody'), 23)
  assert.equal(at('HTTP/1.1 200 OK\r\nA: b\r\n'), -1)
  assert.equal(at('HTTP/1.1 200 OK\rA: b\r\r'), -1) // a bare CR ends no line
  // Searching on from where the last read ended still sees a terminator begun before it.
  assert.equal(at('HTTP/1.1 200 OK\r\n\r\n', 18), 19)
})
