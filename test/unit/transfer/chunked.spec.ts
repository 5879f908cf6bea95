// Chunked framing as Go's net/http (boost's client) reads it: every form below was fed to Go
// 1.26.8's http.ReadResponse + io.ReadAll (internal/chunked.go, transfer.go readTrailer,
// textproto.ReadMIMEHeader), and the decoder must take and refuse the same ones. Bare LF line
// ends are refused in the framing (Go since 1.23.8 / 1.24.2), accepted between trailer fields.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Socket, type AddressInfo } from 'node:net'
import { ChunkedDecoder, get, type BodyTarget } from '../../../src/transfer/http1.ts'

const x = (n: number): string => 'x'.repeat(n)
const ones = (n: number, ext: number): string => `1;${x(ext)}\r\nA\r\n`.repeat(n)

/** Decodes `wire` (latin1) fed in pieces of `step` bytes: the data, and whether the body ended. */
function decode (wire: string, step: number): { data: string, done: boolean } {
  const b = Buffer.from(wire, 'latin1')
  const d = new ChunkedDecoder()
  let data = ''
  for (let at = 0; at < b.length && !d.done; at += step) {
    const piece = Buffer.from(b.subarray(at, at + step))
    data += piece.toString('latin1', 0, d.decode(piece, piece.length))
  }
  return { data, done: d.done }
}

const steps = (wire: string): number[] => [wire.length, 1, 7]

// [what, wire, the data Go returns]
const accepted: Array<[string, string, string]> = [
  ['a plain body', '5\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['upper-case hex', 'A\r\n0123456789\r\n0\r\n\r\n', '0123456789'],
  ['an extension', '5;a=b\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['an extension with a quoted ";" (cut at the first)', '5;a="x;y"\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['an empty extension', '5;\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['an extension with white space after it', '5;a \t\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['an extension of any bytes but CR and LF', '5;\x00\x7f\xff\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['a space after the size', '5 \r\nhello\r\n0\r\n\r\n', 'hello'],
  ['tabs and spaces after the size', '5\t \t\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['16 hex digits', '0000000000000005\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['a last chunk of zeros with an extension', '5\r\nhello\r\n000;x=1 \r\n\r\n', 'hello'],
  ['no data at all', '0\r\n\r\n', ''],
  ['a chunk-size line of 4096 bytes, CRLF included', `5;${x(4092)}\r\nhello\r\n0\r\n\r\n`, 'hello'],
  ['a last-chunk line of 4096 bytes', `5\r\nhello\r\n0;${x(4092)}\r\n\r\n`, 'hello'],
  ['framing overhead within Go\'s allowance', `${ones(190, 100)}0\r\n\r\n`, 'A'.repeat(190)],
  ['any overhead on the last chunk', `${ones(190, 100)}0;${x(3000)}\r\n\r\n`, 'A'.repeat(190)],
  ['a trailer field', '5\r\nhello\r\n0\r\nX-A: y\r\n\r\n', 'hello'],
  ['two trailer fields', '5\r\nhello\r\n0\r\nX-A: y\r\nX-B: z\r\n\r\n', 'hello'],
  ['trailer fields parted by a bare LF', '5\r\nhello\r\n0\r\nX-A: y\nX-B: z\r\n\r\n', 'hello'],
  ['a bare LF empty line ending the fields before a CRLF CRLF', '5\r\nhello\r\n0\r\nX-A: y\n\nZ\r\n\r\n', 'hello'],
  ['a folded trailer field', '5\r\nhello\r\n0\r\nX-A: y\r\n  z\r\n\r\n', 'hello'],
  ['a fold of white space only', '5\r\nhello\r\n0\r\nX-A: y\r\n  \r\n\r\n', 'hello'],
  ['spaces in a trailer field name', '5\r\nhello\r\n0\r\nX A : y\r\n\r\n', 'hello'],
  ['bytes over 0x7f in a trailer value', '5\r\nhello\r\n0\r\nX-A: a\x80\xffb\r\n\r\n', 'hello'],
  ['an empty trailer value', '5\r\nhello\r\n0\r\nX-A:\r\n\r\n', 'hello'],
  ['a trailer section of 4096 bytes', `5\r\nhello\r\n0\r\nX-A: ${x(4087)}\r\n\r\n`, 'hello'],
  ['bytes after the end', '5\r\nhello\r\n0\r\n\r\nGARBAGE', 'hello'],
  ['bytes after a trailer\'s end', '5\r\nhello\r\n0\r\nX-A: y\r\n\r\nJUNK\n', 'hello']
]

// [what, wire, the error message]
const refused: Array<[string, string, RegExp]> = [
  ['a chunk-size line ending in a bare LF', '5\nhello\r\n0\r\n\r\n', /bare LF/],
  ['a last-chunk line ending in a bare LF', '5\r\nhello\r\n0\n\r\n', /bare LF/],
  ['a bare LF inside an extension', '5;a\nb\r\nhello\r\n0\r\n\r\n', /bare LF/],
  ['a CR inside an extension', '5;a\rb\r\nhello\r\n0\r\n\r\n', /CR inside a chunk-size line/],
  ['CR CR LF', '5\r\r\nhello\r\n0\r\n\r\n', /CR inside a chunk-size line/],
  ['data followed by a bare LF', '5\r\nhello\n0\r\n\r\n', /missing CRLF after chunk/],
  ['data followed by a CR alone', '5\r\nhello\r0\r\n\r\n', /missing CRLF after chunk/],
  ['data longer than its size', '5\r\nhelloX\r\n0\r\n\r\n', /missing CRLF after chunk/],
  ['a space before the extension\'s ";"', '5 ;a=b\r\nhello\r\n0\r\n\r\n', /white space inside the chunk-size line/],
  ['a tab before the extension\'s ";"', '5\t;a\r\nhello\r\n0\r\n\r\n', /white space inside the chunk-size line/],
  ['white space then more after the size', '5 x\r\nhello\r\n0\r\n\r\n', /white space inside the chunk-size line/],
  ['white space before the size', ' 5\r\nhello\r\n0\r\n\r\n', /bad chunk size/],
  ['a non-hex byte after the size', '5x\r\nhello\r\n0\r\n\r\n', /bad chunk size/],
  ['a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n', /bad chunk size/],
  ['an empty chunk-size line', '\r\nhello\r\n0\r\n\r\n', /bad chunk size line/],
  ['an extension without a size', ';a\r\nhello\r\n0\r\n\r\n', /bad chunk size line/],
  ['17 hex digits', '00000000000000005\r\nhello\r\n0\r\n\r\n', /more than 16 hex digits/],
  ['a chunk-size line of 4097 bytes', `5;${x(4093)}\r\nhello\r\n0\r\n\r\n`, /chunk-size line longer than 4096 bytes/],
  ['a last-chunk line of 4097 bytes', `5\r\nhello\r\n0;${x(4093)}\r\n\r\n`, /chunk-size line longer than 4096 bytes/],
  ['framing overhead past Go\'s allowance', `${ones(191, 100)}0\r\n\r\n`, /too much framing/],
  ['overhead past the allowance after a large chunk made up for some', `${ones(150, 100)}64\r\n${'B'.repeat(100)}\r\n${ones(100, 100)}0\r\n\r\n`, /too much framing/],
  ['a trailer field without a colon', '5\r\nhello\r\n0\r\nX-A y\r\n\r\n', /trailer field without a colon/],
  ['a trailer starting with white space', '5\r\nhello\r\n0\r\n X-A: y\r\n\r\n', /trailer starts with white space/],
  ['a tab in a trailer field name', '5\r\nhello\r\n0\r\nX-A\t: y\r\n\r\n', /malformed trailer field/],
  ['an empty trailer field name', '5\r\nhello\r\n0\r\n: y\r\n\r\n', /malformed trailer field/],
  ['a non-token byte in a trailer field name', '5\r\nhello\r\n0\r\nX(A): y\r\n\r\n', /malformed trailer field/],
  ['a control byte in a trailer value', '5\r\nhello\r\n0\r\nX-A: a\x01b\r\n\r\n', /malformed trailer field/],
  ['DEL in a trailer value', '5\r\nhello\r\n0\r\nX-A: a\x7fb\r\n\r\n', /malformed trailer field/],
  ['a CR inside a trailer value', '5\r\nhello\r\n0\r\nX-A: a\rb\r\n\r\n', /malformed trailer field/],
  ['a trailer section of 4097 bytes', `5\r\nhello\r\n0\r\nX-A: ${x(4088)}\r\n\r\n`, /trailer section longer than 4096 bytes/]
]

for (const [what, wire, data] of accepted) {
  test(`accepted, as Go accepts it: ${what}`, () => {
    for (const step of steps(wire)) {
      const r = decode(wire, step)
      assert.equal(r.done, true, `not ended, fed ${step} bytes at a time`)
      assert.equal(r.data, data, `fed ${step} bytes at a time`)
    }
  })
}

for (const [what, wire, why] of refused) {
  test(`refused, as Go refuses it: ${what}`, () => {
    for (const step of steps(wire)) {
      assert.throws(() => decode(wire, step), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'BAD_CHUNKING')
        assert.match(err.message, why, `fed ${step} bytes at a time`)
        return true
      })
    }
  })
}

test('a body cut before its end, or a trailer section ended by a bare LF empty line, never ends: the close fails it, as Go fails it at EOF', () => {
  // Go peeks for a CRLF CRLF after the last chunk ("suspiciously long trailer" at EOF).
  for (const wire of ['5\r\nhel', '5\r\nhello\r\n', '5\r\nhello\r\n0\r\n', '5\r\nhello\r\n0\r\n\r', '5\r\nhello\r\n0\r\nX-A: y\r\n',
    '5\r\nhello\r\n0\r\n\n', '5\r\nhello\r\n0\r\nX-A: y\n\r\n', '5\r\nhello\r\n0\r\nX-A: y\r\n\n']) {
    for (const step of steps(wire)) assert.equal(decode(wire, step).done, false, JSON.stringify(wire))
  }
})

/** A server that sends `wire` after a chunked head to every connection and closes. */
async function chunkedServer (wire: string): Promise<{ url: string, close: () => Promise<void> }> {
  const socks = new Set<Socket>()
  const server = createServer((sock) => {
    socks.add(sock)
    sock.on('error', () => {})
    sock.once('data', () => { sock.end(Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${wire}`, 'latin1')) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => { for (const s of socks) s.destroy(); await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  }
}

function sink (): BodyTarget & { text: () => string } {
  const buf = Buffer.alloc(1 << 16)
  let len = 0
  return {
    space: () => buf.subarray(len),
    accept: (region, n) => {
      if (region.buffer !== buf.buffer || region.byteOffset !== buf.byteOffset + len) buf.set(region.subarray(0, n), len)
      len += n
      return true
    },
    attach: () => {},
    text: () => buf.toString('latin1', 0, len)
  }
}

test('through the client: a bare LF in an extension fails the body as a retryable BAD_CHUNKING; a trailer with a fold is read', async (t) => {
  const opts = { address: async () => '127.0.0.1', signal: new AbortController().signal }
  const smuggled = await chunkedServer('5;a\n0\r\n\r\nhello\r\n0\r\n\r\n')
  t.after(smuggled.close)
  await assert.rejects((await get(new URL(smuggled.url), {}, opts)).readBody(sink()), { code: 'BAD_CHUNKING', message: /bare LF/ })
  const folded = await chunkedServer('5\r\nhello\r\n0\r\nX-A: y\r\n  z\r\n\r\n')
  t.after(folded.close)
  const s = sink()
  await (await get(new URL(folded.url), {}, opts)).readBody(s)
  assert.equal(s.text(), 'hello')
})
