/**
 * Go's net/url.Parse, as built into boost (go.mod: go 1.26, so GODEBUG urlstrictcolons=1), with
 * the error texts of (*url.Error).Error(). boost reads a deal's transfer URL with it, and WHATWG's
 * `new URL()` disagrees with it both ways (it trims spaces and takes bad escapes and control
 * characters that Go refuses; it refuses ports above 65535 and IPv6 zones that Go takes), so
 * admission cannot answer what boost answers without Go's parser. Only Parse: no String(),
 * ResolveReference or query parsing.
 *
 * Go strings are bytes. The port works on "byte strings" (one char per byte, 0–255) so that Go's
 * byte indexing carries over unchanged and invalid UTF-8 (which Go keeps and quotes as \xHH)
 * survives; fields are turned back into JS strings at the end the way Go's range loop and
 * encoding/json read them (each invalid byte becomes U+FFFD).
 */

export interface GoUserinfo {
  username: string
  /** Absent when the userinfo had no ':' (Go's passwordSet false). */
  password?: string
}

/** The fields of Go's url.URL that Parse sets. */
export interface GoUrl {
  scheme: string
  opaque: string
  user?: GoUserinfo
  host: string
  path: string
  rawPath: string
  omitHost: boolean
  forceQuery: boolean
  rawQuery: string
  fragment: string
  rawFragment: string
}

/** Go's url.Parse(raw): the URL, or the text of the *url.Error it returns. */
export function parseGoUrl (raw: string | Uint8Array): { url: GoUrl } | { error: string } {
  const b = typeof raw === 'string' ? bytesOfString(raw) : bytesOfArray(raw)
  const hash = b.indexOf('#')
  const u = hash < 0 ? b : b.slice(0, hash)
  const frag = hash < 0 ? '' : b.slice(hash + 1)
  let url: ByteUrl
  try { url = parse(u) } catch (err) { return { error: urlError(u, err) } }
  if (frag !== '') {
    // A bad fragment is reported with the whole URL, a bad anything-else without the fragment.
    try { setFragment(url, frag) } catch (err) { return { error: urlError(b, err) } }
  }
  const out: GoUrl = {
    scheme: goString(url.scheme),
    opaque: goString(url.opaque),
    host: goString(url.host),
    path: goString(url.path),
    rawPath: goString(url.rawPath),
    omitHost: url.omitHost,
    forceQuery: url.forceQuery,
    rawQuery: goString(url.rawQuery),
    fragment: goString(url.fragment),
    rawFragment: goString(url.rawFragment)
  }
  if (url.user !== undefined) {
    out.user = url.user.password === undefined
      ? { username: goString(url.user.username) }
      : { username: goString(url.user.username), password: goString(url.user.password) }
  }
  return { url: out }
}

/** Go's (*URL).Hostname(): the host without its port and without IPv6 brackets. */
export function goHostname (host: string): string {
  return splitHostPort(host)[0]
}

/** Go's (*URL).Port(): the digits after the host's last ':', or '' when there are none. */
export function goPort (host: string): string {
  return splitHostPort(host)[1]
}

function splitHostPort (hostPort: string): [string, string] {
  let host = hostPort
  let port = ''
  const colon = host.lastIndexOf(':')
  if (colon !== -1 && validOptionalPort(host.slice(colon))) {
    port = host.slice(colon + 1)
    host = host.slice(0, colon)
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  return [host, port]
}

// ---- parse --------------------------------------------------------------------------------------

/** A Go error: its message is already the exact text of err.Error(). */
class GoError extends Error {}

function urlError (u: string, err: unknown): string {
  if (!(err instanceof GoError)) throw err
  return `parse ${goQuote(u)}: ${err.message}`
}

/** A GoUrl whose strings are still byte strings. */
type ByteUrl = GoUrl

function parse (rawURL: string): ByteUrl {
  if (stringContainsCTLByte(rawURL)) throw new GoError('net/url: invalid control character in URL')
  const url: ByteUrl = { scheme: '', opaque: '', host: '', path: '', rawPath: '', omitHost: false, forceQuery: false, rawQuery: '', fragment: '', rawFragment: '' }
  if (rawURL === '*') {
    url.path = '*'
    return url
  }
  let rest: string
  [url.scheme, rest] = getScheme(rawURL)
  url.scheme = url.scheme.toLowerCase()

  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) {
    url.forceQuery = true
    rest = rest.slice(0, -1)
  } else {
    const q = rest.indexOf('?')
    if (q >= 0) [rest, url.rawQuery] = [rest.slice(0, q), rest.slice(q + 1)]
  }

  if (!rest.startsWith('/')) {
    if (url.scheme !== '') {
      // Go takes a rootless path after a scheme as opaque (RFC 3986).
      url.opaque = rest
      return url
    }
    // RFC 3986 §3.3: in a relative reference the first segment cannot hold a colon (golang.org/issue/16822).
    const slash = rest.indexOf('/')
    if ((slash < 0 ? rest : rest.slice(0, slash)).includes(':')) throw new GoError('first path segment in URL cannot contain colon')
  }

  if ((url.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    let authority = rest.slice(2)
    rest = ''
    const slash = authority.indexOf('/')
    if (slash >= 0) [authority, rest] = [authority.slice(0, slash), authority.slice(slash)]
    parseAuthority(url, authority)
  } else if (url.scheme !== '' && rest.startsWith('/')) {
    url.omitHost = true
  }
  setPath(url, rest)
  return url
}

/** The scheme is [a-zA-Z][a-zA-Z0-9+.-]* before the first ':'; anything else means there is none. */
function getScheme (rawURL: string): [string, string] {
  for (let i = 0; i < rawURL.length; i++) {
    const c = rawURL.charCodeAt(i)
    if (isAlpha(c)) continue
    if (isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e) {
      if (i === 0) return ['', rawURL]
      continue
    }
    if (c === 0x3a) {
      if (i === 0) throw new GoError('missing protocol scheme')
      return [rawURL.slice(0, i), rawURL.slice(i + 1)]
    }
    return ['', rawURL]
  }
  return ['', rawURL]
}

function parseAuthority (url: ByteUrl, authority: string): void {
  // The last '@' splits: "http://user:p@ss@host" keeps "user:p@ss" (go.dev/issue/3439).
  const at = authority.lastIndexOf('@')
  url.host = parseHost(url.scheme, at < 0 ? authority : authority.slice(at + 1))
  if (at < 0) return
  const userinfo = authority.slice(0, at)
  if (!validUserinfo(userinfo)) throw new GoError('net/url: invalid userinfo')
  const colon = userinfo.indexOf(':')
  url.user = colon < 0
    ? { username: unescape(userinfo, Mode.UserPassword) }
    : { username: unescape(userinfo.slice(0, colon), Mode.UserPassword), password: unescape(userinfo.slice(colon + 1), Mode.UserPassword) }
}

function parseHost (scheme: string, host: string): string {
  const open = host.lastIndexOf('[')
  if (open > 0) throw new GoError('invalid IP-literal')
  if (open === 0) {
    // RFC 3986 IP-literal with RFC 6874's zone: "[fe80::1%25en0]:80".
    const close = host.lastIndexOf(']')
    if (close < 0) throw new GoError("missing ']' in host")
    const colonPort = host.slice(close + 1)
    if (!validOptionalPort(colonPort)) throw new GoError(`invalid port ${goQuote(colonPort)} after host`)
    const unescapedColonPort = unescape(colonPort, Mode.Host)
    const hostname = host.slice(1, close)
    // The zone (after %25) may %-encode what the address may not.
    const zone = hostname.indexOf('%25')
    const unescapedHostname = zone >= 0
      ? unescape(hostname.slice(0, zone), Mode.Host) + unescape(hostname.slice(zone), Mode.Zone)
      : unescape(hostname, Mode.Host)
    // Only an IPv6 address may be bracketed; an IPv4-mapped one counts as IPv6.
    let is4: boolean
    try { is4 = parseAddrIs4(unescapedHostname) } catch (err) {
      if (err instanceof GoError) throw new GoError(`invalid host: ${err.message}`)
      throw err
    }
    if (is4) throw new GoError('invalid IP-literal')
    return '[' + unescapedHostname + ']' + unescapedColonPort
  }
  let i = host.indexOf(':')
  if (i !== -1) {
    // Extra colons are tolerated (host lists of database URLs) except in http and https, where
    // urlstrictcolons=1 (Go 1.26's default) makes the first colon start the port.
    if (scheme !== 'http' && scheme !== 'https') i = host.lastIndexOf(':')
    const colonPort = host.slice(i)
    if (!validOptionalPort(colonPort)) throw new GoError(`invalid port ${goQuote(colonPort)} after host`)
  }
  return unescape(host, Mode.Host)
}

function setPath (url: ByteUrl, p: string): void {
  url.path = unescape(p, Mode.Path)
  // RawPath only when the default encoding would differ from what was written.
  url.rawPath = escapesTo(url.path, Mode.Path, p) ? '' : p
}

function setFragment (url: ByteUrl, f: string): void {
  url.fragment = unescape(f, Mode.Fragment)
  url.rawFragment = escapesTo(url.fragment, Mode.Fragment, f) ? '' : f
}

/** '' or /^:\d*$/ */
function validOptionalPort (port: string): boolean {
  if (port === '') return true
  if (port[0] !== ':') return false
  for (let i = 1; i < port.length; i++) if (!isDigit(port.charCodeAt(i))) return false
  return true
}

/** RFC 3986 §3.2.1 userinfo, plus '@' (go.dev/issue/22655); '%' is checked by unescape. */
function validUserinfo (s: string): boolean {
  // Go ranges over runes: a non-ASCII rune (or an invalid byte) is refused either way.
  return /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(s)
}

function stringContainsCTLByte (s: string): boolean {
  return /[\x00-\x1f\x7f]/.test(s)
}

// ---- escapes ------------------------------------------------------------------------------------

/** Go's encoding modes: which part of the URL a string is (un)escaped for. */
const Mode = { Path: 0, PathSegment: 1, Host: 2, Zone: 3, UserPassword: 4, QueryComponent: 5, Fragment: 6 } as const
type Mode = typeof Mode[keyof typeof Mode]

const isAlpha = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
const ishex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
const unhex = (c: number): number => isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10

/** Go's shouldEscape: the reference in net/url's gen_encoding_table.go, from which `table` is built. */
function shouldEscapeRef (c: number, mode: Mode): boolean {
  if (isAlpha(c) || isDigit(c)) return false
  const ch = String.fromCharCode(c)
  // Host names keep sub-delims, ':' and '[ ]' for the port and IPv6, and '< > "' because a host
  // cannot %-encode ASCII.
  if ((mode === Mode.Host || mode === Mode.Zone) && '!$&\'()*+,;=:[]<>"'.includes(ch)) return false
  if ('-_.~'.includes(ch)) return false
  if ('$&+,/:;=?@'.includes(ch)) {
    switch (mode) {
      case Mode.Path: return ch === '?'
      case Mode.PathSegment: return '/;,?'.includes(ch)
      case Mode.UserPassword: return '@/?:'.includes(ch)
      case Mode.QueryComponent: return true
      case Mode.Fragment: return false
    }
  }
  if (mode === Mode.Fragment && '!()*'.includes(ch)) return false
  return true
}

/** Bit `mode` of table[c] set: c is kept as is in that part of a URL (Go's encoding_table.go). */
const table = Uint8Array.from({ length: 256 }, (_, c) => Object.values(Mode).reduce<number>((bits, m) => shouldEscapeRef(c, m) ? bits : bits | 1 << m, 0))
const shouldEscape = (c: number, mode: Mode): boolean => (table[c]! & 1 << mode) === 0

function unescape (s: string, mode: Mode): string {
  let n = 0
  let hasPlus = false
  for (let i = 0; i < s.length;) {
    const c = s.charCodeAt(i)
    if (c === 0x25) {
      n++
      if (i + 2 >= s.length || !ishex(s.charCodeAt(i + 1)) || !ishex(s.charCodeAt(i + 2))) throw escapeError(s.slice(i, i + 3))
      // RFC 3986 §3.2.2: a host %-encodes only non-ASCII bytes; RFC 6874 adds %25 for the zone.
      if (mode === Mode.Host && unhex(s.charCodeAt(i + 1)) < 8 && s.slice(i, i + 3) !== '%25') throw escapeError(s.slice(i, i + 3))
      if (mode === Mode.Zone) {
        // A zone may %-encode only what it could write plainly (and the space Windows puts there).
        const v = unhex(s.charCodeAt(i + 1)) << 4 | unhex(s.charCodeAt(i + 2))
        if (s.slice(i, i + 3) !== '%25' && v !== 0x20 && shouldEscape(v, Mode.Host)) throw escapeError(s.slice(i, i + 3))
      }
      i += 3
    } else if (c === 0x2b) {
      hasPlus = mode === Mode.QueryComponent
      i++
    } else {
      if ((mode === Mode.Host || mode === Mode.Zone) && c < 0x80 && shouldEscape(c, mode)) {
        throw new GoError(`invalid character ${goQuote(s[i]!)} in host name`)
      }
      i++
    }
  }
  if (n === 0 && !hasPlus) return s
  const t = Buffer.allocUnsafe(s.length - 2 * n)
  let j = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25) {
      t[j++] = unhex(s.charCodeAt(i + 1)) << 4 | unhex(s.charCodeAt(i + 2))
      i += 2
    } else {
      t[j++] = c === 0x2b && mode === Mode.QueryComponent ? 0x20 : c
    }
  }
  return t.toString('latin1')
}

const escapeError = (s: string): GoError => new GoError(`invalid URL escape ${goQuote(s)}`)

const upperhex = '0123456789ABCDEF'

/**
 * escape(s, mode) === e, Go's escape being needed only for that test (RawPath, RawFragment), for
 * the path and fragment modes (where a space is %20, never '+'). Compares without building it.
 */
function escapesTo (s: string, mode: Mode, e: string): boolean {
  let j = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (!shouldEscape(c, mode)) {
      if (e.charCodeAt(j++) !== c) return false
    } else if (e[j] !== '%' || e[j + 1] !== upperhex[c >> 4] || e[j + 2] !== upperhex[c & 15]) {
      return false
    } else {
      j += 3
    }
  }
  return j === e.length
}

// ---- net/netip.ParseAddr ------------------------------------------------------------------------

/**
 * netip.ParseAddr(s) as parseHost uses it: throws its error, else says whether the address is
 * IPv4 (Is4; an IPv4-mapped IPv6 address is not).
 */
function parseAddrIs4 (s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    switch (s[i]) {
      case '.': parseIPv4Fields(s, 0, s.length); return true
      case ':': parseIPv6(s); return false
      case '%': throw addrError(s, 'missing IPv6 address')
    }
  }
  throw addrError(s, 'unable to parse IP')
}

function addrError (input: string, msg: string, at = ''): GoError {
  return new GoError(`ParseAddr(${goQuote(input)}): ${msg}` + (at !== '' ? ` (at ${goQuote(at)})` : ''))
}

function parseIPv4Fields (input: string, off: number, end: number): void {
  const s = input.slice(off, end)
  let val = 0
  let pos = 0
  let digLen = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (isDigit(c)) {
      if (digLen === 1 && val === 0) throw addrError(input, 'IPv4 field has octet with leading zero')
      val = val * 10 + c - 0x30
      digLen++
      if (val > 255) throw addrError(input, 'IPv4 field has value >255')
    } else if (c === 0x2e) {
      if (i === 0 || i === s.length - 1 || s[i - 1] === '.') throw addrError(input, 'IPv4 field must have at least one digit', s.slice(i))
      if (pos === 3) throw addrError(input, 'IPv4 address too long')
      pos++
      val = 0
      digLen = 0
    } else {
      throw addrError(input, 'unexpected character', s.slice(i))
    }
  }
  if (pos < 3) throw addrError(input, 'IPv4 address too short')
}

function parseIPv6 (input: string): void {
  let s = input
  let zone = ''
  const pct = s.indexOf('%')
  if (pct !== -1) {
    [s, zone] = [s.slice(0, pct), s.slice(pct + 1)]
    if (zone === '') throw addrError(input, 'zone must be a non-empty string')
  }
  let ellipsis = -1
  if (s.length >= 2 && s[0] === ':' && s[1] === ':') {
    ellipsis = 0
    s = s.slice(2)
    if (s.length === 0) return
  }
  let i = 0
  while (i < 16) {
    let off = 0
    let acc = 0
    for (; off < s.length; off++) {
      const c = s.charCodeAt(off)
      if (!ishex(c)) break
      acc = (acc << 4) + unhex(c)
      if (off > 3) throw addrError(input, 'each group must have 4 or less digits', s)
      if (acc > 0xffff) throw addrError(input, 'IPv6 field has value >=2^16', s)
    }
    if (off === 0) throw addrError(input, 'each colon-separated field must have at least one digit', s)
    if (off < s.length && s[off] === '.') {
      if (ellipsis < 0 && i !== 12) throw addrError(input, 'embedded IPv4 address must replace the final 2 fields of the address', s)
      if (i + 4 > 16) throw addrError(input, 'too many hex fields to fit an embedded IPv4 at the end of the address', s)
      const end = input.length - (zone.length > 0 ? zone.length + 1 : 0)
      parseIPv4Fields(input, end - s.length, end)
      s = ''
      i += 4
      break
    }
    i += 2
    s = s.slice(off)
    if (s.length === 0) break
    if (s[0] !== ':') throw addrError(input, 'unexpected character, want colon', s)
    if (s.length === 1) throw addrError(input, 'colon must be followed by more characters', s)
    s = s.slice(1)
    if (s[0] === ':') {
      if (ellipsis >= 0) throw addrError(input, 'multiple :: in address', s)
      ellipsis = i
      s = s.slice(1)
      if (s.length === 0) break
    }
  }
  if (s.length !== 0) throw addrError(input, 'trailing garbage after address', s)
  if (i < 16) {
    if (ellipsis < 0) throw addrError(input, 'address string too short')
  } else if (ellipsis >= 0) {
    throw addrError(input, 'the :: must expand to at least one field of zeros')
  }
}

// ---- Go strings ---------------------------------------------------------------------------------

const bytesOfArray = (a: Uint8Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('latin1')

/** A JS string's UTF-8 bytes (a lone surrogate becomes U+FFFD, as Go's encoding/json makes it). */
const bytesOfString = (s: string): string => Buffer.from(s, 'utf8').toString('latin1')

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** utf8.DecodeRuneInString at i: [rune, size], or [-1, 1] for an invalid byte. */
function decodeRune (s: string, i: number): [number, number] {
  const b0 = s.charCodeAt(i)
  if (b0 < 0x80) return [b0, 1]
  const cont = (j: number, lo = 0x80, hi = 0xbf): number => {
    const c = i + j < s.length ? s.charCodeAt(i + j) : -1
    return c >= lo && c <= hi ? c & 0x3f : -1
  }
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    const c1 = cont(1)
    return c1 < 0 ? [-1, 1] : [(b0 & 0x1f) << 6 | c1, 2]
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const c1 = cont(1, b0 === 0xe0 ? 0xa0 : 0x80, b0 === 0xed ? 0x9f : 0xbf)
    const c2 = c1 < 0 ? -1 : cont(2)
    return c2 < 0 ? [-1, 1] : [(b0 & 0x0f) << 12 | c1 << 6 | c2, 3]
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const c1 = cont(1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf)
    const c2 = c1 < 0 ? -1 : cont(2)
    const c3 = c2 < 0 ? -1 : cont(3)
    return c3 < 0 ? [-1, 1] : [(b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3, 4]
  }
  return [-1, 1]
}

/** A byte string as a JS string, each invalid UTF-8 byte as U+FFFD (Go's range loop, encoding/json). */
function goString (s: string): string {
  if (/^[\x00-\x7f]*$/.test(s)) return s
  const b = Buffer.from(s, 'latin1')
  // Valid UTF-8 reads the same everywhere; only invalid bytes need Go's one-U+FFFD-per-byte rule.
  try { return strictUtf8.decode(b) } catch {}
  let t = ''
  for (let i = 0; i < s.length;) {
    const [r, size] = decodeRune(s, i)
    t += String.fromCodePoint(r < 0 ? 0xfffd : r)
    i += size
  }
  return t
}

/**
 * What strconv.Quote escapes: '"', '\\', and what Go's IsPrint refuses (it takes letters, marks,
 * numbers, punctuation, symbols and the ASCII space). Node's Unicode tables are newer than Go
 * 1.26's (15.0), so a character assigned since then is printed here where Go would escape it.
 */
const quoted = /["\\]|[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/gu

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')

const named: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' }

/** strconv's escape of a rune `quoted` matched. */
function escapeRune (r: number): string {
  if (r === 0x22 || r === 0x5c) return '\\' + String.fromCharCode(r)
  return named[r] ?? (r < 0x20 || r === 0x7f ? '\\x' + hex(r, 2) : r < 0x10000 ? '\\u' + hex(r, 4) : '\\U' + hex(r, 8))
}

/** Go's strconv.Quote (fmt's %q) of a byte string. */
function goQuote (s: string): string {
  const escaped = (text: string): string => text.replace(quoted, (ch) => escapeRune(ch.codePointAt(0)!))
  let text: string | undefined
  try { text = strictUtf8.decode(Buffer.from(s, 'latin1')) } catch {}
  if (text !== undefined) return '"' + escaped(text) + '"'
  // Not UTF-8: each invalid byte is written \xHH, the runes between as above.
  let q = '"'
  for (let i = 0; i < s.length;) {
    const [r, size] = decodeRune(s, i)
    q += r < 0 ? '\\x' + hex(s.charCodeAt(i), 2) : escaped(String.fromCodePoint(r))
    i += size
  }
  return q + '"'
}

// ---- for the other Go ports (go-multiaddr.ts) ---------------------------------------------------

/** fmt's %q of a JS string (of its UTF-8 bytes, as Go holds it). */
export const goQuoteString = (s: string): string => goQuote(bytesOfString(s))

/** fmt's %q of bytes that need not be UTF-8 (each invalid byte as \xHH). */
export const goQuoteBytes = (b: Uint8Array): string => goQuote(bytesOfArray(b))

/** url.QueryUnescape(s): the result as a byte string, or the text of Go's EscapeError. */
export function goQueryUnescape (s: string): { bytes: string } | { error: string } {
  try {
    return { bytes: unescape(bytesOfString(s), Mode.QueryComponent) }
  } catch (err) {
    if (!(err instanceof GoError)) throw err
    return { error: err.message }
  }
}

/** url.QueryEscape of a byte string: unreserved bytes kept, a space as '+', the rest %XX. */
export function goQueryEscape (bytes: string): string {
  let t = ''
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.charCodeAt(i)
    t += c === 0x20 ? '+' : shouldEscape(c, Mode.QueryComponent) ? '%' + upperhex[c >> 4]! + upperhex[c & 15]! : bytes[i]!
  }
  return t
}

/**
 * net.ParseIP(s): the address in its 16-byte form (IPv4 as IPv4-mapped), or undefined. Since Go
 * 1.22 it is netip.ParseAddr refusing zones, so this shares ParseAddr's port above.
 */
export function goParseIP (s: string): Uint8Array | undefined {
  const b = bytesOfString(s)
  let is4: boolean
  try {
    is4 = parseAddrIs4(b)
  } catch (err) {
    if (!(err instanceof GoError)) throw err
    return undefined
  }
  if (b.includes('%')) return undefined
  if (is4) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b.split('.').map(Number)])
  return ipv6Bytes(b)
}

/** The 16 bytes of an IPv6 address parseIPv6 has accepted. */
function ipv6Bytes (s: string): Uint8Array {
  const groups = (part: string): number[] => part === ''
    ? []
    : part.split(':').flatMap((f) => {
      if (!f.includes('.')) return [parseInt(f, 16)]
      const [a, b, c, d] = f.split('.').map(Number) as [number, number, number, number]
      return [a << 8 | b, c << 8 | d]
    })
  const ellipsis = s.indexOf('::')
  const head = groups(ellipsis < 0 ? s : s.slice(0, ellipsis))
  const tail = ellipsis < 0 ? [] : groups(s.slice(ellipsis + 2))
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]))
}
