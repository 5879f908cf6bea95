/**
 * go-multibase v0.3.0's Decode and the Go decoders under it (encoding/base32 and go-base32,
 * encoding/base64, encoding/hex, mr-tron/base58, go-base36, base2, base256emoji), each with its
 * error texts, for what go-multiaddr decodes: a peer ID written as a CID, a certhash, onion and
 * garlic addresses. multiformats only supplies the base58, base36 and emoji alphabets once Go's
 * checks have passed.
 */
import { bases } from 'multiformats/basics'
import { base58btc, base58flickr } from 'multiformats/bases/base58'
import { goQuoteBytes, goQuoteString } from './go-url.ts'

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8')

export const RFC4648 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const B32_HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV'

/**
 * Go's base32 decode (encoding/base32, and go-base32 which multibase uses: the same loop): the
 * bytes, or the offset a CorruptInputError names. '\r' and '\n' are dropped first. Unpadded, a
 * last quantum of 1, 3 or 6 characters yields nothing; padded, it is an error.
 */
export function goBase32 (s: string, alphabet: string, o: { padded: boolean, caseInsensitive: boolean }): Uint8Array | number {
  const map = new Map<number, number>()
  for (let i = 0; i < 32; i++) {
    const c = alphabet.charCodeAt(i)
    map.set(c, i)
    if (o.caseInsensitive) map.set(String.fromCharCode(c).toLowerCase().charCodeAt(0), i).set(String.fromCharCode(c).toUpperCase().charCodeAt(0), i)
  }
  const src = [...Buffer.from(s, 'utf8')].filter((c) => c !== 0x0a && c !== 0x0d)
  const out: number[] = []
  let at = 0
  let end = false
  while (at < src.length && !end) {
    const dbuf: number[] = []
    let dlen = 8
    for (let j = 0; j < 8;) {
      if (at === src.length) {
        if (o.padded) return src.length - j
        dlen = j
        end = true
        break
      }
      const c = src[at++]!
      const left = src.length - at
      if (o.padded && c === 0x3d && j >= 2 && left < 8) {
        if (left + j < 7) return src.length
        for (let k = 0; k < 7 - j; k++) if (left > k && src[at + k] !== 0x3d) return at + k - 1
        dlen = j
        end = true
        if (dlen === 1 || dlen === 3 || dlen === 6) return at - 1
        break
      }
      const v = map.get(c)
      if (v === undefined) return at - 1
      dbuf[j++] = v
    }
    const bytes = ({ 2: 1, 4: 2, 5: 3, 7: 4, 8: 5 } as Record<number, number>)[dlen] ?? 0
    let acc = 0n
    for (let j = 0; j < 8; j++) acc = acc << 5n | BigInt(dbuf[j] ?? 0)
    for (let k = 0; k < bytes; k++) out.push(Number(acc >> BigInt(32 - 8 * k) & 0xffn))
  }
  return Uint8Array.from(out)
}

/** Go's base32 encoding with padding, in `alphabet`. */
export function base32Encode (b: Uint8Array, alphabet: string): string {
  let t = ''
  for (let i = 0; i < b.length; i += 5) {
    const chunk = b.subarray(i, i + 5)
    let acc = 0n
    for (let k = 0; k < 5; k++) acc = acc << 8n | BigInt(chunk[k] ?? 0)
    const chars = Math.ceil(chunk.length * 8 / 5)
    for (let j = 0; j < 8; j++) t += j < chars ? alphabet[Number(acc >> BigInt(35 - 5 * j) & 31n)]! : '='
  }
  return t
}

const B64_STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B64_URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** I2P's base64 alphabet (go-multiaddr's garlicBase64Encoding, padded). */
export const B64_I2P = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~'

/**
 * encoding/base64 DecodeString (not strict), quantum by quantum as decodeQuantum reads it: the
 * bytes, or the offset a CorruptInputError names. Newlines are skipped where they stand.
 */
export function goBase64 (s: string, alphabet: string, padded: boolean): Uint8Array | number {
  const src = Buffer.from(s, 'utf8')
  const out: number[] = []
  let si = 0
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0]
    let dlen = 4
    let trailing: number | undefined
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Uint8Array.from(out)
        if (j === 1 || padded) return si - j
        dlen = j
        break
      }
      const c = src[si++]!
      const v = alphabet.indexOf(String.fromCharCode(c))
      if (c < 0x80 && v >= 0) { dbuf[j] = v; continue }
      if (c === 0x0a || c === 0x0d) { j--; continue }
      if (!padded || c !== 0x3d) return si - 1
      // Padding: "==" after two characters, "=" after three, then only newlines.
      if (j < 2) return si - 1
      if (j === 2) {
        while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++
        if (si === src.length) return src.length
        if (src[si] !== 0x3d) return si - 1
        si++
      }
      while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++
      if (si < src.length) trailing = si
      dlen = j
      break
    }
    const val = dbuf[0]! << 18 | dbuf[1]! << 12 | dbuf[2]! << 6 | dbuf[3]!
    out.push(...[val >> 16 & 0xff, val >> 8 & 0xff, val & 0xff].slice(0, dlen - 1))
    if (trailing !== undefined) return trailing
  }
  return Uint8Array.from(out)
}

export const corrupt64 = (r: Uint8Array | number): string | undefined => typeof r === 'number' ? `illegal base64 data at input byte ${r}` : undefined

export const corrupt32 = (r: Uint8Array | number): string | undefined => typeof r === 'number' ? `illegal base32 data at input byte ${r}` : undefined

/** fmt's %#U of a byte read as a rune: U+0041 'A', without the quoted form when Go cannot print it. */
function hashU (c: number): string {
  const u = 'U+' + c.toString(16).toUpperCase().padStart(4, '0')
  return (c >= 0x20 && c < 0x7f) || (c >= 0xa1 && c !== 0xad) ? `${u} '${String.fromCharCode(c)}'` : u
}

/** encoding/hex DecodeString, with its InvalidByteError and ErrLength texts. */
function goHex (s: string): Uint8Array | string {
  const src = Buffer.from(s, 'utf8')
  const nibble = (c: number): number => c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x61 + 10 : -1
  const out: number[] = []
  let j = 1
  for (; j < src.length; j += 2) {
    const a = nibble(src[j - 1]!)
    const b = nibble(src[j]!)
    if (a < 0) return `encoding/hex: invalid byte: ${hashU(src[j - 1]!)}`
    if (b < 0) return `encoding/hex: invalid byte: ${hashU(src[j]!)}`
    out.push(a << 4 | b)
  }
  if (src.length % 2 === 1) return nibble(src[j - 1]!) < 0 ? `encoding/hex: invalid byte: ${hashU(src[j - 1]!)}` : 'encoding/hex: odd length hex string'
  return Uint8Array.from(out)
}

/** Base64 with padding, in `alphabet`. */
export function base64Encode (b: Uint8Array, alphabet: string): string {
  const std = Buffer.from(b).toString('base64')
  return [...std].map((ch) => ch === '=' ? ch : alphabet[B64_STD.indexOf(ch)]!).join('')
}

/** Go's %q of a rune or byte: a single-quoted character literal. */
const quoteRune = (ch: string): string => "'" + goQuoteString(ch).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'") + "'"

/** go-multibase v0.3.0 Decode of what go-cid Decode hands it, or its error text. */
export function multibaseDecode (s: string): Uint8Array | string {
  if (s === '') return 'cannot decode multibase for zero length string'
  const prefix = String.fromCodePoint(s.codePointAt(0)!)
  const body = s.slice(prefix.length)
  const firstBad = (alphabet: RegExp): string | undefined => [...body].find((ch) => !alphabet.test(ch))
  switch (prefix) {
    case 'z': case 'Z': {
      // mr-tron/base58: the same checks for both alphabets, byte by byte.
      const bad = firstBad(prefix === 'z' ? /[1-9A-HJ-NP-Za-km-z]/ : /[1-9a-km-zA-HJ-NP-Z]/)
      if (body === '') return 'zero length string'
      if (bad !== undefined) return bad.charCodeAt(0) > 0x7f ? 'high-bit set on invalid digit' : `invalid base58 digit (${quoteRune(bad)})`
      return (prefix === 'z' ? base58btc : base58flickr).baseDecode(body)
    }
    case '0':
      return goBase2(body)
    case '🚀':
      return goBase256Emoji(body)
    case 'k': case 'K': {
      if (body === '') return 'can not decode zero-length string'
      const bad = firstBad(/[0-9a-zA-Z]/)
      if (bad !== undefined) return `invalid base36 character (${quoteRune(bad)})`
      return bases.base36.baseDecode(body.toLowerCase())
    }
    case 'b': case 'B': {
      const b = goBase32(body, RFC4648, { padded: false, caseInsensitive: true })
      return corrupt32(b) ?? b as Uint8Array
    }
    case 'c': case 'C': case 'v': case 'V': case 't': case 'T': {
      const b = goBase32(body, 'vVtT'.includes(prefix) ? B32_HEX : RFC4648, { padded: 'cCtT'.includes(prefix), caseInsensitive: true })
      return corrupt32(b) ?? b as Uint8Array
    }
    case 'f': case 'F':
      return goHex(body)
    case 'm': case 'u': case 'M': case 'U': {
      const b = goBase64(body, 'uU'.includes(prefix) ? B64_URL : B64_STD, 'MU'.includes(prefix))
      return corrupt64(b) ?? b as Uint8Array
    }
    case '\x00':
      return new TextEncoder().encode(body)
  }
  return 'selected encoding not supported'
}

/** go-multibase's decodeBinaryString: '0'-padded on the left to whole bytes, each read by strconv.ParseInt(…, 2, 0). */
function goBase2 (s: string): Uint8Array | string {
  let b = Buffer.from(s, 'utf8')
  if (b.length % 8 !== 0) b = Buffer.concat([Buffer.alloc(8 - b.length % 8, 0x30), b])
  const out: number[] = []
  for (let i = 0; i < b.length; i += 8) {
    const chunk = b.subarray(i, i + 8)
    // ParseInt takes a sign, then binary digits.
    const signed = chunk[0] === 0x2b || chunk[0] === 0x2d
    const digits = chunk.subarray(signed ? 1 : 0)
    if (!digits.every((c) => c === 0x30 || c === 0x31)) return `error while conversion: strconv.ParseInt: parsing ${goQuoteBytes(chunk)}: invalid syntax`
    const v = parseInt(digits.toString('latin1'), 2)
    out.push((chunk[0] === 0x2d ? -v : v) & 0xff)
  }
  return Uint8Array.from(out)
}

/** go-multibase's base256emojiDecode: one emoji per byte; the error names the byte offset and the rune. */
function goBase256Emoji (s: string): Uint8Array | string {
  const out: number[] = []
  let at = 0
  for (const ch of s) {
    let b: Uint8Array | undefined
    try { b = bases.base256emoji.baseDecode(ch) } catch {}
    if (b?.length !== 1) return `illegal base256emoji data at input byte ${at}, char: '${ch}'`
    out.push(b[0]!)
    at += byteLength(ch)
  }
  return Uint8Array.from(out)
}
