import { test } from 'node:test'
import assert from 'node:assert/strict'
import { unmarshalHttpRequest } from '../../../src/policy/go-json.ts'
import { httpRequestOf } from '../../../src/policy/http-request.ts'

/*
 * Every expected value below is Go's own answer, not written from memory: a throwaway Go 1.26.8
 * program ran json.Unmarshal(input, &types.HttpRequest{}) with boost's transport/types.HttpRequest
 * {URL string; Headers map[string]string} over these exact bytes and printed the result (a nil map
 * as {}) or err.Error().
 */

const te = new TextEncoder()
const t = (s: string): Uint8Array => te.encode(s)
const h = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (x) => parseInt(x, 16))
type Want = { url: string, headers: Record<string, string> } | { error: string }
const ok = (url: string, headers: Array<[string, string]> = []): Want => ({ url, headers: Object.fromEntries(headers) })
const err = (error: string): Want => ({ error })

const cases: Array<[string, Uint8Array, Want]> = [
  ['empty input', t(''), err('unexpected end of JSON input')],
  ['garbage after the top-level value', t('{"URL":"http://a/x"} x'), err("invalid character 'x' after top-level value")],
  ['a duplicate URL whose first value has the wrong type', t('{"URL":5,"URL":"http://a/x"}'), err('json: cannot unmarshal number into Go struct field HttpRequest.URL of type string')],
  ['Headerſ (U+017F) folds to Headers', t('{"URL":"http://a/x","Headerſ":{"A":"b"}}'), ok('http://a/x', [['A', 'b']])],
  ['a URL and headers', t('{"URL":"https://a.example/x.car","Headers":{"Authorization":"Bearer t","X-A":"1"}}'), ok('https://a.example/x.car', [['Authorization', 'Bearer t'], ['X-A', '1']])],
  ['lower-case keys', t('{"url":"http://a/b","headers":null}'), ok('http://a/b')],
  ['mixed-case keys', t('{"uRl":"http://a/","hEaDeRs":{"k":"v"}}'), ok('http://a/', [['k', 'v']])],
  ['an empty object', t('{}'), ok('')],
  ['whitespace everywhere', t(' \t\r\n{ "URL" : "http://a/" , "Headers" : { "a" : "b" } } \n\t '), ok('http://a/', [['a', 'b']])],
  ['unknown keys of every kind are skipped', t('{"x":1,"y":[1,{"z":[]}],"z":{"a":[true,false,null]},"w":"s","v":null,"URL":"http://a/"}'), ok('http://a/')],
  ['K (Kelvin) does not make URL', t('{"URK":"http://a/"}'), ok('')],
  ['URℒ does not fold to URL', t('{"URℒ":"http://a/"}'), ok('')],
  ['Kelvin sign in an unknown key is skipped', t('{"Key":"x","URL":"http://a/"}'), ok('http://a/')],
  ['HEADERſ with U+017F as an escape', t('{"HEADER\\u017f":{"a":"b"}}'), ok('', [['a', 'b']])],
  ['headers key given as escapes', t('{"\\u0055RL":"http://a/","\\u0048eaders":{"a":"b"}}'), ok('http://a/', [['a', 'b']])],
  ['URL then url: the last wins', t('{"URL":"http://first/","url":"http://second/"}'), ok('http://second/')],
  ['url then URL: the last wins', t('{"url":"http://first/","URL":"http://second/"}'), ok('http://second/')],
  ['a null URL keeps the one before', t('{"URL":"http://a/","URL":null}'), ok('http://a/')],
  ['null Headers after Headers clears them', t('{"Headers":{"a":"b"},"Headers":null}'), ok('')],
  ['two Headers objects merge', t('{"Headers":{"a":"1","b":"2"},"headers":{"b":"3","c":"4"}}'), ok('', [['a', '1'], ['b', '3'], ['c', '4']])],
  ['a duplicate header name: the last wins', t('{"Headers":{"a":"1","a":"2"}}'), ok('', [['a', '2']])],
  ['a null header value is the empty string', t('{"Headers":{"a":null}}'), ok('', [['a', '']])],
  ['a null header value after a value', t('{"Headers":{"a":"1","a":null}}'), ok('', [['a', '']])],
  ['header names are not folded', t('{"Headers":{"Accept":"a","accept":"b"}}'), ok('', [['Accept', 'a'], ['accept', 'b']])],
  ['a header named __proto__', t('{"Headers":{"__proto__":"x"}}'), ok('', [['__proto__', 'x']])],
  ['an empty key and an empty header name', t('{"":"x","Headers":{"":"y"}}'), ok('', [['', 'y']])],
  ['null at the top level', t('null'), ok('')],
  ['null with spaces', t('  null  '), ok('')],
  ['null URL and Headers', t('{"URL":null,"Headers":null}'), ok('')],
  ['a string at the top level', t('"http://a/"'), err('json: cannot unmarshal string into Go value of type types.HttpRequest')],
  ['a number at the top level', t('42'), err('json: cannot unmarshal number into Go value of type types.HttpRequest')],
  ['a negative float at the top level', t('-1.5e3'), err('json: cannot unmarshal number into Go value of type types.HttpRequest')],
  ['true at the top level', t('true'), err('json: cannot unmarshal bool into Go value of type types.HttpRequest')],
  ['false at the top level', t('false'), err('json: cannot unmarshal bool into Go value of type types.HttpRequest')],
  ['an array at the top level', t('[1]'), err('json: cannot unmarshal array into Go value of type types.HttpRequest')],
  ['an empty array at the top level', t('[]'), err('json: cannot unmarshal array into Go value of type types.HttpRequest')],
  ['a number URL', t('{"URL":5}'), err('json: cannot unmarshal number into Go struct field HttpRequest.URL of type string')],
  ['a huge number URL', t('{"URL":1e999}'), err('json: cannot unmarshal number into Go struct field HttpRequest.URL of type string')],
  ['a bool URL', t('{"URL":true}'), err('json: cannot unmarshal bool into Go struct field HttpRequest.URL of type string')],
  ['an object URL', t('{"URL":{"a":"b"}}'), err('json: cannot unmarshal object into Go struct field HttpRequest.URL of type string')],
  ['an array URL', t('{"URL":["http://a/"]}'), err('json: cannot unmarshal array into Go struct field HttpRequest.URL of type string')],
  ['string Headers', t('{"URL":"https://a.example/x","Headers":"abc"}'), err('json: cannot unmarshal string into Go struct field HttpRequest.Headers of type map[string]string')],
  ['number Headers', t('{"Headers":0}'), err('json: cannot unmarshal number into Go struct field HttpRequest.Headers of type map[string]string')],
  ['bool Headers', t('{"Headers":false}'), err('json: cannot unmarshal bool into Go struct field HttpRequest.Headers of type map[string]string')],
  ['array Headers', t('{"Headers":[]}'), err('json: cannot unmarshal array into Go struct field HttpRequest.Headers of type map[string]string')],
  ['a number header value', t('{"URL":"https://a.example/x","Headers":{"Authorization":1}}'), err('json: cannot unmarshal number into Go struct field HttpRequest.Headers of type string')],
  ['a 1e999 header value', t('{"Headers":{"a":1e999}}'), err('json: cannot unmarshal number into Go struct field HttpRequest.Headers of type string')],
  ['a -0 header value', t('{"Headers":{"a":-0}}'), err('json: cannot unmarshal number into Go struct field HttpRequest.Headers of type string')],
  ['a bool header value', t('{"Headers":{"a":true}}'), err('json: cannot unmarshal bool into Go struct field HttpRequest.Headers of type string')],
  ['an object header value', t('{"Headers":{"a":{}}}'), err('json: cannot unmarshal object into Go struct field HttpRequest.Headers of type string')],
  ['an array header value', t('{"Headers":{"a":["x"]}}'), err('json: cannot unmarshal array into Go struct field HttpRequest.Headers of type string')],
  ['the first of two type errors', t('{"Headers":{"a":1},"URL":true}'), err('json: cannot unmarshal number into Go struct field HttpRequest.Headers of type string')],
  ['a type error before a good value', t('{"URL":[],"url":"http://a/"}'), err('json: cannot unmarshal array into Go struct field HttpRequest.URL of type string')],
  ['a type error in an unknown key is none', t('{"X":{"URL":5},"URL":"http://a/"}'), ok('http://a/')],
  ['every simple escape', t('{"URL":"\\"\\\\\\/\\b\\f\\n\\r\\t"}'), ok('"\\/\x08\x0c\n\r\t')],
  ['unicode escapes', t('{"URL":"\\u0041\\u00e9\\u4e2d\\uFFFF\\u0000"}'), ok('Aé中￿\x00')],
  ['a surrogate pair', t('{"URL":"\\ud83d\\ude00"}'), ok('😀')],
  ['a lone high surrogate', t('{"URL":"a\\ud83db"}'), ok('a�b')],
  ['a lone low surrogate', t('{"URL":"a\\ude00b"}'), ok('a�b')],
  ['two high surrogates then a low', t('{"URL":"\\ud83d\\ud83d\\ude00"}'), ok('�😀')],
  ['a high surrogate then a non-surrogate escape', t('{"URL":"\\ud83d\\u0041"}'), ok('�A')],
  ['a surrogate escape in a header name', t('{"Headers":{"\\udc00":"v"}}'), ok('', [['�', 'v']])],
  ['raw UTF-8 passes through', t('{"URL":"http://a/é中😀","Headers":{"ü":"ß"}}'), ok('http://a/é中😀', [['ü', 'ß']])],
  ['a BOM inside a string is kept', t('{"URL":"\ufeffhttp://a/"}'), ok('\ufeffhttp://a/')],
  ['invalid UTF-8 in a string: a lone continuation byte', h('7b2255524c223a22618062227d'), ok('a�b')],
  ['invalid UTF-8 in a string: a truncated 3-byte sequence', h('7b2255524c223a2261e28262227d'), ok('a��b')],
  ['invalid UTF-8 in a string: a truncated 4-byte sequence at the end', h('7b2255524c223a22f09f98227d'), ok('���')],
  ['invalid UTF-8 in a string: an encoded surrogate', h('7b2255524c223a22eda080227d'), ok('���')],
  ['invalid UTF-8 in a string: an overlong encoding', h('7b2255524c223a22c0af227d'), ok('��')],
  ['invalid UTF-8 in a string: 0xff and 0xfe', h('7b2255524c223a22fffe227d'), ok('��')],
  ['invalid UTF-8 in a string: above U+10FFFF', h('7b2255524c223a22f4908080227d'), ok('����')],
  ['invalid UTF-8 in a header name', h('7b2248656164657273223a7b22c3223a2276227d7d'), ok('', [['�', 'v']])],
  ['invalid UTF-8 in a key next to URL', h('7b225552804c223a2278227d'), ok('')],
  ['invalid UTF-8 inside an escaped string', h('7b2255524c223a225c6ee2227d'), ok('\n�')],
  ['DEL and C1 bytes in a string are allowed', t('{"URL":"\x7f\x80"}'), ok('\x7f\x80')],
  ['a BOM at the start', h('efbbbf7b2255524c223a22687474703a2f2f612f227d'), err("invalid character 'ï' looking for beginning of value")],
  ['only whitespace', t(' \n '), err('unexpected end of JSON input')],
  ['looking for beginning of value', t('{"URL":}'), err("invalid character '}' looking for beginning of value")],
  ['looking for beginning of value at the top', t('x'), err("invalid character 'x' looking for beginning of value")],
  ['a single quote', t("{'URL':'x'}"), err("invalid character '\\'' looking for beginning of object key string")],
  ['looking for beginning of object key string', t('{"URL":"x",}'), err("invalid character '}' looking for beginning of object key string")],
  ['a bare key', t('{URL:"x"}'), err("invalid character 'U' looking for beginning of object key string")],
  ['after object key', t('{"URL" "x"}'), err('invalid character \'"\' after object key')],
  ['after object key:value pair', t('{"URL":"x" "Headers":{}}'), err('invalid character \'"\' after object key:value pair')],
  ['after array element', t('[1 2]'), err("invalid character '2' after array element")],
  ['a trailing comma in an array', t('[1,]'), err("invalid character ']' looking for beginning of value")],
  ['after top-level value', t('{} {}'), err("invalid character '{' after top-level value")],
  ['two top-level values', t('1 2'), err("invalid character '2' after top-level value")],
  ['a control byte in a string literal', t('{"URL":"a\nb"}'), err("invalid character '\\n' in string literal")],
  ['a tab in a string literal', t('{"URL":"a\tb"}'), err("invalid character '\\t' in string literal")],
  ['a NUL in a string literal', t('{"URL":"a\x00"}'), err("invalid character '\\x00' in string literal")],
  ['in string escape code', t('{"URL":"\\x"}'), err("invalid character 'x' in string escape code")],
  ['an escaped single quote', t('{"URL":"\\\'"}'), err("invalid character '\\'' in string escape code")],
  ['in \\u hexadecimal character escape', t('{"URL":"\\u12G4"}'), err("invalid character 'G' in \\u hexadecimal character escape")],
  ['a short \\u escape', t('{"URL":"\\u12"}'), err('invalid character \'"\' in \\u hexadecimal character escape')],
  ['in numeric literal', t('-x'), err("invalid character 'x' in numeric literal")],
  ['a minus alone', t('-'), err("invalid character ' ' in numeric literal")],
  ['a leading zero', t('01'), err("invalid character '1' after top-level value")],
  ['a plus sign', t('+1'), err("invalid character '+' looking for beginning of value")],
  ['after decimal point in numeric literal', t('1.x'), err("invalid character 'x' after decimal point in numeric literal")],
  ['a number ending in a point', t('1.'), err("invalid character ' ' after decimal point in numeric literal")],
  ['in exponent of numeric literal', t('1e+'), err("invalid character ' ' in exponent of numeric literal")],
  ['an exponent without digits', t('{"URL":1e}'), err("invalid character '}' in exponent of numeric literal")],
  ['a leading point', t('.5'), err("invalid character '.' looking for beginning of value")],
  ['in literal true', t('trUe'), err("invalid character 'U' in literal true (expecting 'u')")],
  ['in literal true (expecting u)', t('tRue'), err("invalid character 'R' in literal true (expecting 'r')")],
  ['a truncated true', t('tru'), err("invalid character ' ' in literal true (expecting 'e')")],
  ['in literal false', t('fAlse'), err("invalid character 'A' in literal false (expecting 'a')")],
  ['in literal false (l)', t('faLse'), err("invalid character 'L' in literal false (expecting 'l')")],
  ['in literal false (s)', t('falSe'), err("invalid character 'S' in literal false (expecting 's')")],
  ['in literal false (e)', t('falsE'), err("invalid character 'E' in literal false (expecting 'e')")],
  ['in literal null (u)', t('nUll'), err("invalid character 'U' in literal null (expecting 'u')")],
  ['in literal null (l)', t('nuLl'), err("invalid character 'L' in literal null (expecting 'l')")],
  ['in literal null (second l)', t('nulL'), err("invalid character 'L' in literal null (expecting 'l')")],
  ['NaN', t('NaN'), err("invalid character 'N' looking for beginning of value")],
  ['Infinity', t('{"Headers":{"a":Infinity}}'), err("invalid character 'I' looking for beginning of value")],
  ['an unterminated string', t('{"URL":"http://a/'), err('unexpected end of JSON input')],
  ['an unterminated object', t('{"URL":"http://a/"'), err('unexpected end of JSON input')],
  ['an unterminated array', t('['), err('unexpected end of JSON input')],
  ['an unterminated escape', t('"\\'), err("invalid character ' ' in string escape code")],
  ['an unclosed object after a comma', t('{"a":1,'), err('unexpected end of JSON input')],
  ['a colon alone', t(':'), err("invalid character ':' looking for beginning of value")],
  ['a close brace alone', t('}'), err("invalid character '}' looking for beginning of value")],
  ['a mismatched close', t('[}'), err("invalid character '}' looking for beginning of value")],
  ['a comment', t('{"URL":"x"} // c'), err("invalid character '/' after top-level value")],
  ['a byte 0xff outside a string', h('ff'), err("invalid character 'ÿ' looking for beginning of value")],
  ['a byte 0xc3 outside a string', t('é'), err("invalid character 'Ã' looking for beginning of value")],
  ['a no-break space byte outside a string', h('a0'), err("invalid character '\\u00a0' looking for beginning of value")],
  ['a soft hyphen byte outside a string', h('ad'), err("invalid character '\\u00ad' looking for beginning of value")],
  ['a C1 byte outside a string', h('85'), err("invalid character '\\u0085' looking for beginning of value")],
  ['DEL outside a string', t('\x7f'), err("invalid character '\\x7f' looking for beginning of value")],
  ['a backslash outside a string', t('\\'), err("invalid character '\\\\' looking for beginning of value")],
  ['a double quote after a value', t('{}"'), err('invalid character \'"\' after top-level value')],
  ['a single quote after a value', t("{}'"), err("invalid character '\\'' after top-level value")],
  ['a bell byte', t('\x07'), err("invalid character '\\a' looking for beginning of value")],
  ['a vertical tab', t('\x0b'), err("invalid character '\\v' looking for beginning of value")],
  ['a form feed', t('\x0c'), err("invalid character '\\f' looking for beginning of value")],
  ['an escape byte', t('\x1b'), err("invalid character '\\x1b' looking for beginning of value")],
  ['U+2028 outside a string', t('{"URL":"x"}\u2028'), err("invalid character 'â' after top-level value")],
  ['a non-ASCII letter as a key start', t('{é:1}'), err("invalid character 'Ã' looking for beginning of object key string")],
  ['a syntax error after a type error', t('{"URL":5,}'), err("invalid character '}' looking for beginning of object key string")],
  ['nesting of 10000 is fine', t('['.repeat(10000) + ']'.repeat(10000)), err('json: cannot unmarshal array into Go value of type types.HttpRequest')],
  ['nesting of 10001 exceeds the max depth', t('['.repeat(10001) + ']'.repeat(10001)), err("invalid character '[' exceeded max depth")],
  ['objects nested past the max depth', t('{"a":'.repeat(10001) + '1' + '}'.repeat(10001)), err("invalid character '{' exceeded max depth")],
  ['nesting past the max depth inside an unknown key', t('{"x":' + '['.repeat(10000) + ']'.repeat(10000) + '}'), err("invalid character '[' exceeded max depth")],
  ['deep nesting under URL', t('{"URL":' + '['.repeat(9999) + ']'.repeat(9999) + '}'), err('json: cannot unmarshal array into Go struct field HttpRequest.URL of type string')]
]

for (const [name, input, want] of cases) {
  test(`Go's json.Unmarshal into HttpRequest: ${name}`, () => {
    assert.deepEqual(unmarshalHttpRequest(input), want)
    assert.deepEqual(httpRequestOf(input), want)
  })
}

test('params given as text read as their UTF-8 bytes', () => {
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  let n = 0
  for (const [name, input, want] of cases) {
    let text: string
    try { text = fatal.decode(input) } catch { continue }
    assert.deepEqual(httpRequestOf(text), want, name)
    n++
  }
  assert.ok(n > 100)
})

test('a header named __proto__ is an own header, not the prototype', () => {
  const r = httpRequestOf('{"Headers":{"__proto__":"x","a":"b"}}')
  assert.ok(!('error' in r))
  assert.equal(Object.getPrototypeOf(r.headers), Object.prototype)
  assert.deepEqual(Object.entries(r.headers), [['__proto__', 'x'], ['a', 'b']])
})

// Each byte alone as the whole input. A quoted character stands for
// "invalid character <it> looking for beginning of value".
const eof = 'unexpected end of JSON input'
const num = 'json: cannot unmarshal number into Go value of type types.HttpRequest'
const singleByte = [
  "'\\x00'", "'\\x01'", "'\\x02'", "'\\x03'", "'\\x04'", "'\\x05'", "'\\x06'", "'\\a'",
  "'\\b'", eof, eof, "'\\v'", "'\\f'", eof, "'\\x0e'", "'\\x0f'",
  "'\\x10'", "'\\x11'", "'\\x12'", "'\\x13'", "'\\x14'", "'\\x15'", "'\\x16'", "'\\x17'",
  "'\\x18'", "'\\x19'", "'\\x1a'", "'\\x1b'", "'\\x1c'", "'\\x1d'", "'\\x1e'", "'\\x1f'",
  eof, "'!'", eof, "'#'", "'$'", "'%'", "'&'", "'\\''",
  "'('", "')'", "'*'", "'+'", "','", "invalid character ' ' in numeric literal", "'.'", "'/'",
  num, num, num, num, num, num, num, num,
  num, num, "':'", "';'", "'<'", "'='", "'>'", "'?'",
  "'@'", "'A'", "'B'", "'C'", "'D'", "'E'", "'F'", "'G'",
  "'H'", "'I'", "'J'", "'K'", "'L'", "'M'", "'N'", "'O'",
  "'P'", "'Q'", "'R'", "'S'", "'T'", "'U'", "'V'", "'W'",
  "'X'", "'Y'", "'Z'", eof, "'\\\\'", "']'", "'^'", "'_'",
  "'`'", "'a'", "'b'", "'c'", "'d'", "'e'", "invalid character ' ' in literal false (expecting 'a')", "'g'",
  "'h'", "'i'", "'j'", "'k'", "'l'", "'m'", "invalid character ' ' in literal null (expecting 'u')", "'o'",
  "'p'", "'q'", "'r'", "'s'", "invalid character ' ' in literal true (expecting 'r')", "'u'", "'v'", "'w'",
  "'x'", "'y'", "'z'", eof, "'|'", "'}'", "'~'", "'\\x7f'",
  "'\\u0080'", "'\\u0081'", "'\\u0082'", "'\\u0083'", "'\\u0084'", "'\\u0085'", "'\\u0086'", "'\\u0087'",
  "'\\u0088'", "'\\u0089'", "'\\u008a'", "'\\u008b'", "'\\u008c'", "'\\u008d'", "'\\u008e'", "'\\u008f'",
  "'\\u0090'", "'\\u0091'", "'\\u0092'", "'\\u0093'", "'\\u0094'", "'\\u0095'", "'\\u0096'", "'\\u0097'",
  "'\\u0098'", "'\\u0099'", "'\\u009a'", "'\\u009b'", "'\\u009c'", "'\\u009d'", "'\\u009e'", "'\\u009f'",
  "'\\u00a0'", "'¡'", "'¢'", "'£'", "'¤'", "'¥'", "'¦'", "'§'",
  "'¨'", "'©'", "'ª'", "'«'", "'¬'", "'\\u00ad'", "'®'", "'¯'",
  "'°'", "'±'", "'²'", "'³'", "'´'", "'µ'", "'¶'", "'·'",
  "'¸'", "'¹'", "'º'", "'»'", "'¼'", "'½'", "'¾'", "'¿'",
  "'À'", "'Á'", "'Â'", "'Ã'", "'Ä'", "'Å'", "'Æ'", "'Ç'",
  "'È'", "'É'", "'Ê'", "'Ë'", "'Ì'", "'Í'", "'Î'", "'Ï'",
  "'Ð'", "'Ñ'", "'Ò'", "'Ó'", "'Ô'", "'Õ'", "'Ö'", "'×'",
  "'Ø'", "'Ù'", "'Ú'", "'Û'", "'Ü'", "'Ý'", "'Þ'", "'ß'",
  "'à'", "'á'", "'â'", "'ã'", "'ä'", "'å'", "'æ'", "'ç'",
  "'è'", "'é'", "'ê'", "'ë'", "'ì'", "'í'", "'î'", "'ï'",
  "'ð'", "'ñ'", "'ò'", "'ó'", "'ô'", "'õ'", "'ö'", "'÷'",
  "'ø'", "'ù'", "'ú'", "'û'", "'ü'", "'ý'", "'þ'", "'ÿ'"
]

test('every single byte as the whole input', () => {
  assert.equal(singleByte.length, 256)
  for (let c = 0; c < 256; c++) {
    const m = singleByte[c]!
    const want = m.startsWith("'") ? `invalid character ${m} looking for beginning of value` : m
    assert.deepEqual(unmarshalHttpRequest(Uint8Array.of(c)), { error: want }, `byte 0x${c.toString(16)}`)
  }
})
