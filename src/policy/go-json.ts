/**
 * Go's encoding/json (Go 1.26, the v1 package boost is built with), ported just far enough to
 * decode into boost's transport/types.HttpRequest{URL string; Headers map[string]string} with the
 * same result, or the same error text, as `json.Unmarshal(params, &types.HttpRequest{})` for any
 * input bytes. Not a general JSON library.
 *
 * Unmarshal first runs the scanner over the whole input (checkValid: the first syntax error wins,
 * with the scanner's exact texts), then decodes, saving the first type error and returning it at
 * the end. With this target the decoder has no other way to fail, so the first type error in
 * document order is the result.
 */

// ---- the scanner (encoding/json/scanner.go) ----------------------------------------------------

const maxNestingDepth = 10000

// The scanner's step functions, one number each.
const S = {
  BeginValue: 0,
  BeginValueOrEmpty: 1,
  BeginStringOrEmpty: 2,
  BeginString: 3,
  EndValue: 4,
  EndTop: 5,
  InString: 6,
  InStringEsc: 7,
  InStringEscU: 8,
  InStringEscU1: 9,
  InStringEscU12: 10,
  InStringEscU123: 11,
  Neg: 12,
  One: 13,
  Zero: 14,
  Dot: 15,
  Dot0: 16,
  E: 17,
  ESign: 18,
  E0: 19,
  T: 20,
  Tr: 21,
  Tru: 22,
  F: 23,
  Fa: 24,
  Fal: 25,
  Fals: 26,
  N: 27,
  Nu: 28,
  Nul: 29,
  Error: 30
} as const

// parseState stack entries.
const parseObjectKey = 0
const parseObjectValue = 1
const parseArrayValue = 2

/** The literal states: the text after "invalid character %s " when the expected byte is not seen. */
const literalStep: Record<number, [expect: number, next: number, context: string]> = {
  [S.T]: [0x72, S.Tr, "in literal true (expecting 'r')"],
  [S.Tr]: [0x75, S.Tru, "in literal true (expecting 'u')"],
  [S.Tru]: [0x65, S.EndValue, "in literal true (expecting 'e')"],
  [S.F]: [0x61, S.Fa, "in literal false (expecting 'a')"],
  [S.Fa]: [0x6c, S.Fal, "in literal false (expecting 'l')"],
  [S.Fal]: [0x73, S.Fals, "in literal false (expecting 's')"],
  [S.Fals]: [0x65, S.EndValue, "in literal false (expecting 'e')"],
  [S.N]: [0x75, S.Nu, "in literal null (expecting 'u')"],
  [S.Nu]: [0x6c, S.Nul, "in literal null (expecting 'l')"],
  [S.Nul]: [0x6c, S.EndValue, "in literal null (expecting 'l')"]
}

function isSpace (c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a
}

function isDigit (c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function isHex (c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
}

/**
 * quoteChar: the byte as Go's strconv.Quote(string(rune(c))) shows it, between single quotes. A
 * byte ≥ 0x80 is taken as the rune of that number (0xC3 shows as 'Ã').
 */
export function quoteChar (c: number): string {
  if (c === 0x27) return "'\\''"
  if (c === 0x22) return "'\"'"
  if (c === 0x5c) return "'\\\\'"
  const named: Record<number, string> = { 0x07: '\\a', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x0b: '\\v' }
  const n = named[c]
  if (n !== undefined) return `'${n}'`
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`
  // strconv.IsPrint: the C1 controls, NO-BREAK SPACE and SOFT HYPHEN are not printable.
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return `'\\u${c.toString(16).padStart(4, '0')}'`
  return `'${String.fromCharCode(c)}'`
}

/**
 * checkValid: null when `data` is one well-formed JSON value (with surrounding whitespace), else the
 * SyntaxError text Go's scanner gives.
 */
export function checkValid (data: Uint8Array): string | null {
  let step: number = S.BeginValue
  const parseState: number[] = []
  let endTop = false
  let err: string | null = null

  const fail = (c: number, context: string): void => {
    step = S.Error
    err = `invalid character ${quoteChar(c)} ${context}`
  }
  const push = (c: number, state: number): void => {
    parseState.push(state)
    if (parseState.length > maxNestingDepth) fail(c, 'exceeded max depth')
  }
  const pop = (): void => {
    parseState.pop()
    if (parseState.length === 0) {
      step = S.EndTop
      endTop = true
    } else {
      step = S.EndValue
    }
  }
  const endTopStep = (c: number): void => {
    // Complain about non-space byte on next call (Go returns scanEnd now, scanError next).
    if (!isSpace(c)) fail(c, 'after top-level value')
  }
  const endValue = (c: number): void => {
    const n = parseState.length
    if (n === 0) {
      step = S.EndTop
      endTop = true
      endTopStep(c)
      return
    }
    if (isSpace(c)) {
      step = S.EndValue
      return
    }
    switch (parseState[n - 1]) {
      case parseObjectKey:
        if (c === 0x3a) {
          parseState[n - 1] = parseObjectValue
          step = S.BeginValue
          return
        }
        return fail(c, 'after object key')
      case parseObjectValue:
        if (c === 0x2c) {
          parseState[n - 1] = parseObjectKey
          step = S.BeginString
          return
        }
        if (c === 0x7d) return pop()
        return fail(c, 'after object key:value pair')
      case parseArrayValue:
        if (c === 0x2c) {
          step = S.BeginValue
          return
        }
        if (c === 0x5d) return pop()
        return fail(c, 'after array element')
    }
    fail(c, '')
  }
  const beginValue = (c: number): void => {
    if (isSpace(c)) return
    switch (c) {
      case 0x7b: step = S.BeginStringOrEmpty; return push(c, parseObjectKey)
      case 0x5b: step = S.BeginValueOrEmpty; return push(c, parseArrayValue)
      case 0x22: step = S.InString; return
      case 0x2d: step = S.Neg; return
      case 0x30: step = S.Zero; return
      case 0x74: step = S.T; return
      case 0x66: step = S.F; return
      case 0x6e: step = S.N; return
    }
    if (c >= 0x31 && c <= 0x39) {
      step = S.One
      return
    }
    fail(c, 'looking for beginning of value')
  }
  const beginString = (c: number): void => {
    if (isSpace(c)) return
    if (c === 0x22) {
      step = S.InString
      return
    }
    fail(c, 'looking for beginning of object key string')
  }
  const zero = (c: number): void => {
    if (c === 0x2e) step = S.Dot
    else if (c === 0x65 || c === 0x45) step = S.E
    else endValue(c)
  }
  const eSign = (c: number): void => {
    if (isDigit(c)) step = S.E0
    else fail(c, 'in exponent of numeric literal')
  }
  const stepOne = (c: number): void => {
    switch (step) {
      case S.BeginValue: return beginValue(c)
      case S.BeginValueOrEmpty:
        if (isSpace(c)) return
        if (c === 0x5d) return endValue(c)
        return beginValue(c)
      case S.BeginStringOrEmpty:
        if (isSpace(c)) return
        if (c === 0x7d) {
          parseState[parseState.length - 1] = parseObjectValue
          return endValue(c)
        }
        return beginString(c)
      case S.BeginString: return beginString(c)
      case S.EndValue: return endValue(c)
      case S.EndTop: return endTopStep(c)
      case S.InString:
        if (c === 0x22) step = S.EndValue
        else if (c === 0x5c) step = S.InStringEsc
        else if (c < 0x20) fail(c, 'in string literal')
        return
      case S.InStringEsc:
        switch (c) {
          case 0x62: case 0x66: case 0x6e: case 0x72: case 0x74: case 0x5c: case 0x2f: case 0x22:
            step = S.InString
            return
          case 0x75:
            step = S.InStringEscU
            return
        }
        return fail(c, 'in string escape code')
      case S.InStringEscU:
      case S.InStringEscU1:
      case S.InStringEscU12:
      case S.InStringEscU123:
        if (isHex(c)) step = step === S.InStringEscU123 ? S.InString : step + 1
        else fail(c, 'in \\u hexadecimal character escape')
        return
      case S.Neg:
        if (c === 0x30) step = S.Zero
        else if (c >= 0x31 && c <= 0x39) step = S.One
        else fail(c, 'in numeric literal')
        return
      case S.One:
        if (isDigit(c)) return
        return zero(c)
      case S.Zero: return zero(c)
      case S.Dot:
        if (isDigit(c)) step = S.Dot0
        else fail(c, 'after decimal point in numeric literal')
        return
      case S.Dot0:
        if (isDigit(c)) return
        if (c === 0x65 || c === 0x45) step = S.E
        else endValue(c)
        return
      case S.E:
        if (c === 0x2b || c === 0x2d) step = S.ESign
        else eSign(c)
        return
      case S.ESign: return eSign(c)
      case S.E0:
        if (isDigit(c)) return
        return endValue(c)
      case S.Error: return
    }
    const lit = literalStep[step]
    if (lit === undefined) throw new Error(`go-json: scanner in unknown state ${step}`)
    if (c === lit[0]) step = lit[1]
    else fail(c, lit[2])
  }

  for (let i = 0; i < data.length; i++) {
    // After an error (or the complaint after the top-level value) every step fails.
    if (step === S.Error) return err
    stepOne(data[i]!)
  }
  // scanner.eof: one more step with a space, to end a number (or to find a truncated literal).
  if (err !== null) return err
  if (endTop) return null
  stepOne(0x20)
  if (endTop) return null
  return err ?? 'unexpected end of JSON input'
}

// ---- decoding (encoding/json/decode.go) --------------------------------------------------------

/** Go's utf8.DecodeRune: the rune at i and its width, or U+FFFD and 1 for any invalid sequence. */
function decodeRune (b: Uint8Array, i: number, end: number): [rune: number, size: number] {
  const c0 = b[i]!
  if (c0 < 0x80) return [c0, 1]
  let size: number
  let lo = 0x80
  let hi = 0xbf
  if (c0 >= 0xc2 && c0 <= 0xdf) size = 2
  else if (c0 >= 0xe0 && c0 <= 0xef) {
    size = 3
    if (c0 === 0xe0) lo = 0xa0
    else if (c0 === 0xed) hi = 0x9f
  } else if (c0 >= 0xf0 && c0 <= 0xf4) {
    size = 4
    if (c0 === 0xf0) lo = 0x90
    else if (c0 === 0xf4) hi = 0x8f
  } else return [0xfffd, 1]
  if (i + size > end) return [0xfffd, 1]
  const c1 = b[i + 1]!
  if (c1 < lo || c1 > hi) return [0xfffd, 1]
  let r = c1 & 0x3f
  for (let k = 2; k < size; k++) {
    const ck = b[i + k]!
    if (ck < 0x80 || ck > 0xbf) return [0xfffd, 1]
    r = (r << 6) | (ck & 0x3f)
  }
  return [((c0 & (size === 2 ? 0x1f : size === 3 ? 0x0f : 0x07)) << (6 * (size - 1))) | r, size]
}

/** getu4: the four hex digits after `\u` at s[i], or -1. */
function getu4 (b: Uint8Array, i: number, end: number): number {
  if (i + 6 > end || b[i] !== 0x5c || b[i + 1] !== 0x75) return -1
  let r = 0
  for (let k = i + 2; k < i + 6; k++) {
    const c = b[k]!
    let d: number
    if (c >= 0x30 && c <= 0x39) d = c - 0x30
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10
    else return -1
    r = r * 16 + d
  }
  return r
}

/** The bytes the one-letter escapes stand for (the scanner has let only these through). */
const escapes: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 }

/** Go strings are bytes; the decoded ones here are always well-formed UTF-8, so this is exact. */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true })

/**
 * unquoteBytes for a string literal the scanner accepted, at data[start] (the opening quote) to
 * data[end - 1] (the closing one): escapes resolved, invalid UTF-8 and unpaired surrogates each
 * replaced by U+FFFD the way Go replaces them.
 */
function unquote (data: Uint8Array, start: number, end: number): string {
  const s = start + 1
  const e = end - 1
  // Go's fast path: no escapes and well-formed UTF-8 are the bytes as they are.
  let i = s
  while (i < e) {
    const c = data[i]!
    if (c === 0x5c) break
    if (c < 0x80) {
      i++
      continue
    }
    const [rr, size] = decodeRune(data, i, e)
    if (rr === 0xfffd && size === 1) break
    i += size
  }
  if (i === e) return utf8.decode(data.subarray(s, e))
  // No input byte makes more than three output bytes (an invalid one becomes U+FFFD).
  const out = new Uint8Array(3 * (e - s))
  out.set(data.subarray(s, i))
  let w = i - s
  const put = (r: number): void => {
    if (r < 0x80) out[w++] = r
    else if (r < 0x800) {
      out[w++] = 0xc0 | (r >> 6)
      out[w++] = 0x80 | (r & 0x3f)
    } else if (r < 0x10000) {
      out[w++] = 0xe0 | (r >> 12)
      out[w++] = 0x80 | ((r >> 6) & 0x3f)
      out[w++] = 0x80 | (r & 0x3f)
    } else {
      out[w++] = 0xf0 | (r >> 18)
      out[w++] = 0x80 | ((r >> 12) & 0x3f)
      out[w++] = 0x80 | ((r >> 6) & 0x3f)
      out[w++] = 0x80 | (r & 0x3f)
    }
  }
  let r = i
  while (r < e) {
    const c = data[r]!
    if (c === 0x5c) {
      const x = data[r + 1]!
      if (x !== 0x75) {
        out[w++] = escapes[x]!
        r += 2
        continue
      }
      let rr = getu4(data, r, e)
      r += 6
      if (rr >= 0xd800 && rr < 0xe000) {
        const rr1 = getu4(data, r, e)
        if (rr < 0xdc00 && rr1 >= 0xdc00 && rr1 < 0xe000) {
          // A valid pair; consume.
          r += 6
          put(0x10000 + ((rr - 0xd800) << 10) + (rr1 - 0xdc00))
          continue
        }
        // Invalid surrogate; fall back to the replacement rune.
        rr = 0xfffd
      }
      put(rr)
    } else if (c < 0x80) {
      out[w++] = c
      r++
    } else {
      const [rr, size] = decodeRune(data, r, e)
      put(rr)
      r += size
    }
  }
  return utf8.decode(out.subarray(0, w))
}

/** The end (exclusive) of the well-formed value starting at data[i], without decoding it. */
function skipValue (data: Uint8Array, i: number): number {
  let depth = 0
  for (;;) {
    const c = data[i]!
    if (c === 0x22) {
      i++
      while (data[i] !== 0x22) i += data[i] === 0x5c ? 2 : 1
      i++
    } else if (c === 0x7b || c === 0x5b) {
      depth++
      i++
    } else if (c === 0x7d || c === 0x5d) {
      depth--
      i++
    } else if (depth > 0) {
      i++ // whitespace, ':' and ',' between, and the bytes of literals inside
      continue
    } else {
      // A number or true/false/null at the top of what is skipped.
      while (i < data.length && !isSpace(data[i]!) && data[i] !== 0x2c && data[i] !== 0x7d && data[i] !== 0x5d) i++
    }
    if (depth === 0) return i
  }
}

function skipSpace (data: Uint8Array, i: number): number {
  while (i < data.length && isSpace(data[i]!)) i++
  return i
}

/** The name Go gives a JSON value's kind in an UnmarshalTypeError, by its first byte. */
function kindOf (c: number): 'object' | 'array' | 'string' | 'bool' | 'null' | 'number' {
  switch (c) {
    case 0x7b: return 'object'
    case 0x5b: return 'array'
    case 0x22: return 'string'
    case 0x74: case 0x66: return 'bool'
    case 0x6e: return 'null'
  }
  return 'number'
}

/**
 * The struct field a key selects: the exact name, else the name under Go's foldName (ASCII
 * letters upper-cased, any other rune to the smallest of its unicode.SimpleFold orbit — the only
 * runes that fold into ASCII are U+017F ſ → S and U+212A K → K).
 */
function fieldOf (key: string): 'URL' | 'Headers' | undefined {
  if (key === 'URL' || key === 'Headers') return key
  let folded = ''
  for (const ch of key) {
    const r = ch.codePointAt(0)!
    if (r >= 0x61 && r <= 0x7a) folded += String.fromCharCode(r - 0x20)
    else if (r < 0x80) folded += ch
    else if (r === 0x17f) folded += 'S'
    else if (r === 0x212a) folded += 'K'
    else return undefined // folds to a non-ASCII rune: cannot match an ASCII field name
  }
  return folded === 'URL' ? 'URL' : folded === 'HEADERS' ? 'Headers' : undefined
}

function typeError (what: string, field: 'URL' | 'Headers' | undefined, type: string): { error: string } {
  return field === undefined
    ? { error: `json: cannot unmarshal ${what} into Go value of type ${type}` }
    : { error: `json: cannot unmarshal ${what} into Go struct field HttpRequest.${field} of type ${type}` }
}

/** Sets an own property, so a header named `__proto__` is a header like any other. */
function setHeader (headers: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(headers, name, { value, writable: true, enumerable: true, configurable: true })
  else headers[name] = value
}

/**
 * The object whose `{` is at data[i] as a sequence of [key, value start] pairs; `onMember` sees
 * each member and returns where its value ends, or an error to stop at.
 */
function members (data: Uint8Array, i: number, onMember: (key: string, at: number) => number | { error: string }): number | { error: string } {
  i = skipSpace(data, i + 1)
  if (data[i] === 0x7d) return i + 1
  for (;;) {
    const keyStart = i
    const keyEnd = skipValue(data, keyStart)
    const key = unquote(data, keyStart, keyEnd)
    i = skipSpace(data, skipSpace(data, keyEnd) + 1) // past the ':'
    const end = onMember(key, i)
    if (typeof end !== 'number') return end
    i = skipSpace(data, end)
    if (data[i] === 0x7d) return i + 1
    i = skipSpace(data, i + 1) // past the ','
  }
}

export interface HttpRequest { url: string, headers: Record<string, string> }

/**
 * json.Unmarshal(data, &types.HttpRequest{}) in Go 1.26: the decoded request, or err.Error().
 */
export function unmarshalHttpRequest (data: Uint8Array): HttpRequest | { error: string } {
  const syntax = checkValid(data)
  if (syntax !== null) return { error: syntax }
  const start = skipSpace(data, 0)
  const top = kindOf(data[start]!)
  // null into a struct is no change; the other kinds cannot go into one.
  if (top === 'null') return { url: '', headers: {} }
  if (top !== 'object') return typeError(top, undefined, 'types.HttpRequest')

  let url = ''
  let headers: Record<string, string> | null = null
  const done = members(data, start, (key, at) => {
    const field = fieldOf(key)
    const kind = kindOf(data[at]!)
    if (field === 'URL') {
      if (kind === 'string') {
        const end = skipValue(data, at)
        url = unquote(data, at, end)
        return end
      }
      if (kind === 'null') return skipValue(data, at) // null leaves a string as it was
      return typeError(kind, 'URL', 'string')
    }
    if (field === 'Headers') {
      if (kind === 'null') {
        headers = null // null makes the map nil
        return skipValue(data, at)
      }
      if (kind !== 'object') return typeError(kind, 'Headers', 'map[string]string')
      // A second "Headers" object adds to the map the first one made.
      const h: Record<string, string> = headers ?? {}
      headers = h
      return members(data, at, (name, vat) => {
        const vkind = kindOf(data[vat]!)
        if (vkind === 'string') {
          const end = skipValue(data, vat)
          setHeader(h, name, unquote(data, vat, end))
          return end
        }
        if (vkind === 'null') {
          setHeader(h, name, '') // the map's zero value, stored under the key
          return skipValue(data, vat)
        }
        return typeError(vkind, 'Headers', 'string')
      })
    }
    return skipValue(data, at)
  })
  if (typeof done !== 'number') return done
  return { url, headers: headers ?? {} }
}
