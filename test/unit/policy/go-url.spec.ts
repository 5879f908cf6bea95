/**
 * Go's net/url.Parse, ported (src/policy/go-url.ts), against real Go: every expected value below
 * was printed by a Go 1.26.8 program calling url.Parse, Hostname() and Port(), and boost's
 * Transfer.Host() logic (util.ParseUrl's wraps) on the same input. '<LONG>' stands for 100,000
 * 'a's on both sides.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseGoUrl, goHostname, goPort, type GoUrl } from '../../../src/policy/go-url.ts'
import { transferHostOf } from '../../../src/policy/checks.ts'

const LONG = 'a'.repeat(100_000)
const long = (s: string): string => s.replaceAll('<LONG>', LONG)
const short = (s: string): string => s.replaceAll(LONG, '<LONG>')
/** Bytes that are not UTF-8: one char per byte. */
const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))

/** url.Parse's error text, or its fields with Hostname() and Port(); empty and false fields left out. */
type Want = { error: string } | Partial<Omit<GoUrl, 'user'> & { username: string, password: string, hostname: string, port: string }>

/** [input, url.Parse, boost's Transfer.Host() ('host: …' or 'error: …'; undefined: not JSON-able)] */
const table: Array<[string | Uint8Array, Want, string | undefined]> = [
  ['https://data.example.com/%zz.car', { error: 'parse "https://data.example.com/%zz.car": invalid URL escape "%zz"' }, 'error: cannot parse url \'https://data.example.com/%zz.car\': parsing url \'https://data.example.com/%zz.car\': parse "https://data.example.com/%zz.car": invalid URL escape "%zz"'],
  [' https://data.example.com/a.car', { error: 'parse " https://data.example.com/a.car": first path segment in URL cannot contain colon' }, 'error: cannot parse url \' https://data.example.com/a.car\': parsing url \' https://data.example.com/a.car\': parse " https://data.example.com/a.car": first path segment in URL cannot contain colon'],
  ['https://data.example.com/a.car\n', { error: 'parse "https://data.example.com/a.car\\n": net/url: invalid control character in URL' }, 'error: cannot parse url \'https://data.example.com/a.car\n\': parsing url \'https://data.example.com/a.car\n\': parse "https://data.example.com/a.car\\n": net/url: invalid control character in URL'],
  ['https://user:pa ss@data.example.com/a.car', { error: 'parse "https://user:pa ss@data.example.com/a.car": net/url: invalid userinfo' }, 'error: cannot parse url \'https://user:pa ss@data.example.com/a.car\': parsing url \'https://user:pa ss@data.example.com/a.car\': parse "https://user:pa ss@data.example.com/a.car": net/url: invalid userinfo'],
  ['ftp://data.example.com/a.car', { scheme: 'ftp', host: 'data.example.com', hostname: 'data.example.com', path: '/a.car' }, 'host: data.example.com'],
  ['file:///etc/passwd', { scheme: 'file', path: '/etc/passwd' }, 'host: '],
  ['https://data.example.com:99999/a.car', { scheme: 'https', host: 'data.example.com:99999', hostname: 'data.example.com', port: '99999', path: '/a.car' }, 'host: data.example.com:99999'],
  ['', {}, 'error: cannot parse url \'\': parsing url \'\': could not parse scheme'],
  ['data.example.com/a.car', { path: 'data.example.com/a.car' }, 'error: cannot parse url \'data.example.com/a.car\': parsing url \'data.example.com/a.car\': could not parse scheme'],
  ['https://data.example.com/a%20b%2Fc.car', { scheme: 'https', host: 'data.example.com', hostname: 'data.example.com', path: '/a b/c.car', rawPath: '/a%20b%2Fc.car' }, 'host: data.example.com'],
  ['https://data.example.com/a.car?x=%zz&y=a+b', { scheme: 'https', host: 'data.example.com', hostname: 'data.example.com', path: '/a.car', rawQuery: 'x=%zz&y=a+b' }, 'host: data.example.com'],
  ['https://data.example.com/a.car#%zz', { error: 'parse "https://data.example.com/a.car#%zz": invalid URL escape "%zz"' }, 'error: cannot parse url \'https://data.example.com/a.car#%zz\': parsing url \'https://data.example.com/a.car#%zz\': parse "https://data.example.com/a.car#%zz": invalid URL escape "%zz"'],
  ['https://data.example.com/a.car#frag%20ment', { scheme: 'https', host: 'data.example.com', hostname: 'data.example.com', path: '/a.car', fragment: 'frag ment' }, 'host: data.example.com'],
  ['https://us%65r:p%40ss@data.example.com/', { scheme: 'https', username: 'user', password: 'p@ss', host: 'data.example.com', hostname: 'data.example.com', path: '/' }, 'host: data.example.com'],
  ['https://us%zzer@data.example.com/', { error: 'parse "https://us%zzer@data.example.com/": invalid URL escape "%zz"' }, 'error: cannot parse url \'https://us%zzer@data.example.com/\': parsing url \'https://us%zzer@data.example.com/\': parse "https://us%zzer@data.example.com/": invalid URL escape "%zz"'],
  ['https://user@data.example.com/', { scheme: 'https', username: 'user', host: 'data.example.com', hostname: 'data.example.com', path: '/' }, 'host: data.example.com'],
  ['https://:@data.example.com/', { scheme: 'https', username: '', password: '', host: 'data.example.com', hostname: 'data.example.com', path: '/' }, 'host: data.example.com'],
  ['https://exa%41mple.com/', { error: 'parse "https://exa%41mple.com/": invalid URL escape "%41"' }, 'error: cannot parse url \'https://exa%41mple.com/\': parsing url \'https://exa%41mple.com/\': parse "https://exa%41mple.com/": invalid URL escape "%41"'],
  ['https://%C3%BC.example/', { scheme: 'https', host: 'ü.example', hostname: 'ü.example', path: '/' }, 'host: ü.example'],
  ['https://%ff.example/', { scheme: 'https', host: '\ufffd.example', hostname: '\ufffd.example', path: '/' }, 'host: \ufffd.example'],
  ['https://data.example.com/%', { error: 'parse "https://data.example.com/%": invalid URL escape "%"' }, 'error: cannot parse url \'https://data.example.com/%\': parsing url \'https://data.example.com/%\': parse "https://data.example.com/%": invalid URL escape "%"'],
  ['https://data.example.com/%a', { error: 'parse "https://data.example.com/%a": invalid URL escape "%a"' }, 'error: cannot parse url \'https://data.example.com/%a\': parsing url \'https://data.example.com/%a\': parse "https://data.example.com/%a": invalid URL escape "%a"'],
  ['https://data.example.com/%aé', { error: 'parse "https://data.example.com/%aé": invalid URL escape "%a\\xc3"' }, 'error: cannot parse url \'https://data.example.com/%aé\': parsing url \'https://data.example.com/%aé\': parse "https://data.example.com/%aé": invalid URL escape "%a\\xc3"'],
  ['http://[::1]:8080/a.car', { scheme: 'http', host: '[::1]:8080', hostname: '::1', port: '8080', path: '/a.car' }, 'host: [::1]:8080'],
  ['http://[fe80::1%25en0]:8080/a.car', { scheme: 'http', host: '[fe80::1%en0]:8080', hostname: 'fe80::1%en0', port: '8080', path: '/a.car' }, 'host: [fe80::1%en0]:8080'],
  ['http://[fe80::1%25en0', { error: 'parse "http://[fe80::1%25en0": missing \']\' in host' }, 'error: cannot parse url \'http://[fe80::1%25en0\': parsing url \'http://[fe80::1%25en0\': parse "http://[fe80::1%25en0": missing \']\' in host'],
  ['http://[fe80::1%en0]/', { error: 'parse "http://[fe80::1%en0]/": invalid URL escape "%en"' }, 'error: cannot parse url \'http://[fe80::1%en0]/\': parsing url \'http://[fe80::1%en0]/\': parse "http://[fe80::1%en0]/": invalid URL escape "%en"'],
  ['http://[1.2.3.4]/', { error: 'parse "http://[1.2.3.4]/": invalid IP-literal' }, 'error: cannot parse url \'http://[1.2.3.4]/\': parsing url \'http://[1.2.3.4]/\': parse "http://[1.2.3.4]/": invalid IP-literal'],
  ['http://[::ffff:1.2.3.4]/', { scheme: 'http', host: '[::ffff:1.2.3.4]', hostname: '::ffff:1.2.3.4', path: '/' }, 'host: [::ffff:1.2.3.4]'],
  ['http://[zz]/', { error: 'parse "http://[zz]/": invalid host: ParseAddr("zz"): unable to parse IP' }, 'error: cannot parse url \'http://[zz]/\': parsing url \'http://[zz]/\': parse "http://[zz]/": invalid host: ParseAddr("zz"): unable to parse IP'],
  ['http://[::1::2]/', { error: 'parse "http://[::1::2]/": invalid host: ParseAddr("::1::2"): multiple :: in address (at ":2")' }, 'error: cannot parse url \'http://[::1::2]/\': parsing url \'http://[::1::2]/\': parse "http://[::1::2]/": invalid host: ParseAddr("::1::2"): multiple :: in address (at ":2")'],
  ['http://a[::1]/', { error: 'parse "http://a[::1]/": invalid IP-literal' }, 'error: cannot parse url \'http://a[::1]/\': parsing url \'http://a[::1]/\': parse "http://a[::1]/": invalid IP-literal'],
  ['http://[::1]x/', { error: 'parse "http://[::1]x/": invalid port "x" after host' }, 'error: cannot parse url \'http://[::1]x/\': parsing url \'http://[::1]x/\': parse "http://[::1]x/": invalid port "x" after host'],
  ['http://[fe80::1%25]/', { error: 'parse "http://[fe80::1%25]/": invalid host: ParseAddr("fe80::1%"): zone must be a non-empty string' }, 'error: cannot parse url \'http://[fe80::1%25]/\': parsing url \'http://[fe80::1%25]/\': parse "http://[fe80::1%25]/": invalid host: ParseAddr("fe80::1%"): zone must be a non-empty string'],
  ['http://[fe80::1%25%65n0]/', { scheme: 'http', host: '[fe80::1%en0]', hostname: 'fe80::1%en0', path: '/' }, 'host: [fe80::1%en0]'],
  ['http://[fe80::1%25en%0a]/', { error: 'parse "http://[fe80::1%25en%0a]/": invalid URL escape "%0a"' }, 'error: cannot parse url \'http://[fe80::1%25en%0a]/\': parsing url \'http://[fe80::1%25en%0a]/\': parse "http://[fe80::1%25en%0a]/": invalid URL escape "%0a"'],
  ['http://[fe80::1%25en 0]/', { error: 'parse "http://[fe80::1%25en 0]/": invalid character " " in host name' }, 'error: cannot parse url \'http://[fe80::1%25en 0]/\': parsing url \'http://[fe80::1%25en 0]/\': parse "http://[fe80::1%25en 0]/": invalid character " " in host name'],
  ['http://host:/a.car', { scheme: 'http', host: 'host:', hostname: 'host', path: '/a.car' }, 'host: host:'],
  ['http://host:abc/', { error: 'parse "http://host:abc/": invalid port ":abc" after host' }, 'error: cannot parse url \'http://host:abc/\': parsing url \'http://host:abc/\': parse "http://host:abc/": invalid port ":abc" after host'],
  ['http://host:99999/', { scheme: 'http', host: 'host:99999', hostname: 'host', port: '99999', path: '/' }, 'host: host:99999'],
  ['http://host:80:90/', { error: 'parse "http://host:80:90/": invalid port ":80:90" after host' }, 'error: cannot parse url \'http://host:80:90/\': parsing url \'http://host:80:90/\': parse "http://host:80:90/": invalid port ":80:90" after host'],
  ['ftp://host:80:90/', { scheme: 'ftp', host: 'host:80:90', hostname: 'host:80', port: '90', path: '/' }, 'host: host:80:90'],
  ['http://:80/', { scheme: 'http', host: ':80', port: '80', path: '/' }, 'host: :80'],
  ['mailto:x@example.com', { scheme: 'mailto', opaque: 'x@example.com' }, 'host: '],
  ['http:data.example.com/a.car', { scheme: 'http', opaque: 'data.example.com/a.car' }, 'host: '],
  ['//data.example.com/a.car', { host: 'data.example.com', hostname: 'data.example.com', path: '/a.car' }, 'error: cannot parse url \'//data.example.com/a.car\': parsing url \'//data.example.com/a.car\': could not parse scheme'],
  ['http:/path', { scheme: 'http', path: '/path', omitHost: true }, 'host: '],
  ['http:///path', { scheme: 'http', path: '/path' }, 'host: '],
  ['HTTPS://Data.Example.COM/A.car', { scheme: 'https', host: 'Data.Example.COM', hostname: 'Data.Example.COM', path: '/A.car' }, 'host: Data.Example.COM'],
  ['git+ssh://host/x', { scheme: 'git+ssh', host: 'host', hostname: 'host', path: '/x' }, 'host: host'],
  ['a1.b-c+d://h/', { scheme: 'a1.b-c+d', host: 'h', hostname: 'h', path: '/' }, 'host: h'],
  ['1http://h/', { error: 'parse "1http://h/": first path segment in URL cannot contain colon' }, 'error: cannot parse url \'1http://h/\': parsing url \'1http://h/\': parse "1http://h/": first path segment in URL cannot contain colon'],
  [':foo', { error: 'parse ":foo": missing protocol scheme' }, 'error: cannot parse url \':foo\': parsing url \':foo\': parse ":foo": missing protocol scheme'],
  ['a:b', { scheme: 'a', opaque: 'b' }, 'host: '],
  ['./a:b', { path: './a:b' }, 'error: cannot parse url \'./a:b\': parsing url \'./a:b\': could not parse scheme'],
  ['a/b:c', { path: 'a/b:c' }, 'error: cannot parse url \'a/b:c\': parsing url \'a/b:c\': could not parse scheme'],
  ['1a:b', { error: 'parse "1a:b": first path segment in URL cannot contain colon' }, 'error: cannot parse url \'1a:b\': parsing url \'1a:b\': parse "1a:b": first path segment in URL cannot contain colon'],
  ['https://h/a\x7f', { error: 'parse "https://h/a\\x7f": net/url: invalid control character in URL' }, 'error: cannot parse url \'https://h/a\x7f\': parsing url \'https://h/a\x7f\': parse "https://h/a\\x7f": net/url: invalid control character in URL'],
  ['https://h/a\x00', { error: 'parse "https://h/a\\x00": net/url: invalid control character in URL' }, 'error: cannot parse url \'https://h/a\x00\': parsing url \'https://h/a\x00\': parse "https://h/a\\x00": net/url: invalid control character in URL'],
  ['https://h/\t', { error: 'parse "https://h/\\t": net/url: invalid control character in URL' }, 'error: cannot parse url \'https://h/\t\': parsing url \'https://h/\t\': parse "https://h/\\t": net/url: invalid control character in URL'],
  ['https://da ta.example.com/', { error: 'parse "https://da ta.example.com/": invalid character " " in host name' }, 'error: cannot parse url \'https://da ta.example.com/\': parsing url \'https://da ta.example.com/\': parse "https://da ta.example.com/": invalid character " " in host name'],
  ['https://h/a b.car', { scheme: 'https', host: 'h', hostname: 'h', path: '/a b.car', rawPath: '/a b.car' }, 'host: h'],
  ['https://h/p?q=1#f?g', { scheme: 'https', host: 'h', hostname: 'h', path: '/p', rawQuery: 'q=1', fragment: 'f?g' }, 'host: h'],
  ['https://h/p#f#g', { scheme: 'https', host: 'h', hostname: 'h', path: '/p', fragment: 'f#g', rawFragment: 'f#g' }, 'host: h'],
  ['https://h/p?', { scheme: 'https', host: 'h', hostname: 'h', path: '/p', forceQuery: true }, 'host: h'],
  ['https://h/p??', { scheme: 'https', host: 'h', hostname: 'h', path: '/p', rawQuery: '?' }, 'host: h'],
  ['https://h/?#', { scheme: 'https', host: 'h', hostname: 'h', path: '/', forceQuery: true }, 'host: h'],
  ['https://h#?x', { scheme: 'https', host: 'h', hostname: 'h', fragment: '?x' }, 'host: h'],
  [bytes('https://h/\xff'), { scheme: 'https', host: 'h', hostname: 'h', path: '/\ufffd', rawPath: '/\ufffd' }, undefined],
  [bytes('https://h\xff/'), { scheme: 'https', host: 'h\ufffd', hostname: 'h\ufffd', path: '/' }, undefined],
  [bytes('https://h/\xff%zz'), { error: 'parse "https://h/\\xff%zz": invalid URL escape "%zz"' }, undefined],
  [bytes('https://h/\xe2\x82A%zz'), { error: 'parse "https://h/\\xe2\\x82A%zz": invalid URL escape "%zz"' }, undefined],
  ['https://bücher.example/ü.car', { scheme: 'https', host: 'bücher.example', hostname: 'bücher.example', path: '/ü.car', rawPath: '/ü.car' }, 'host: bücher.example'],
  ['https://bücher.example/%zz', { error: 'parse "https://bücher.example/%zz": invalid URL escape "%zz"' }, 'error: cannot parse url \'https://bücher.example/%zz\': parsing url \'https://bücher.example/%zz\': parse "https://bücher.example/%zz": invalid URL escape "%zz"'],
  ['https://h/\u00a0\u200b😀\ue000\u{e0001}%zz', { error: 'parse "https://h/\\u00a0\\u200b😀\\ue000\\U000e0001%zz": invalid URL escape "%zz"' }, 'error: cannot parse url \'https://h/\u00a0\u200b😀\ue000\u{e0001}%zz\': parsing url \'https://h/\u00a0\u200b😀\ue000\u{e0001}%zz\': parse "https://h/\\u00a0\\u200b😀\\ue000\\U000e0001%zz": invalid URL escape "%zz"'],
  ['https://h/"\\%zz', { error: 'parse "https://h/\\"\\\\%zz": invalid URL escape "%zz"' }, 'error: cannot parse url \'https://h/"\\%zz\': parsing url \'https://h/"\\%zz\': parse "https://h/\\"\\\\%zz": invalid URL escape "%zz"'],
  ['*', { path: '*' }, 'error: cannot parse url \'*\': parsing url \'*\': could not parse scheme'],
  ['https://<LONG>.example.com/a.car', { scheme: 'https', host: '<LONG>.example.com', hostname: '<LONG>.example.com', path: '/a.car' }, 'host: <LONG>.example.com'],
  ['https://data.example.com/<LONG>%zz', { error: 'parse "https://data.example.com/<LONG>%zz": invalid URL escape "%zz"' }, 'error: cannot parse url \'https://data.example.com/<LONG>%zz\': parsing url \'https://data.example.com/<LONG>%zz\': parse "https://data.example.com/<LONG>%zz": invalid URL escape "%zz"'],
  ['http://user@host@evil.example/', { scheme: 'http', username: 'user@host', host: 'evil.example', hostname: 'evil.example', path: '/' }, 'host: evil.example'],
  ['http://a\\b/', { error: 'parse "http://a\\\\b/": invalid character "\\\\" in host name' }, 'error: cannot parse url \'http://a\\b/\': parsing url \'http://a\\b/\': parse "http://a\\\\b/": invalid character "\\\\" in host name'],
  ['http://h/%2e%2e/a.car', { scheme: 'http', host: 'h', hostname: 'h', path: '/../a.car', rawPath: '/%2e%2e/a.car' }, 'host: h'],
  ['http://x:y@', { scheme: 'http', username: 'x', password: 'y' }, 'host: '],
  ['LIBP2P:///ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ', { scheme: 'libp2p', path: '/ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ' }, 'error: cannot parse url \'LIBP2P:///ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ\': libp2p URL \'LIBP2P:///ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ\' must start with prefix \'libp2p://\''],
  ['libp2p:/ip4/1.2.3.4/tcp/1', { scheme: 'libp2p', path: '/ip4/1.2.3.4/tcp/1', omitHost: true }, 'error: cannot parse url \'libp2p:/ip4/1.2.3.4/tcp/1\': libp2p URL \'libp2p:/ip4/1.2.3.4/tcp/1\' must start with prefix \'libp2p://\''],
  ['libp2p:///ip4/1.2.3.4/tcp/1/p2p/%zz', { error: 'parse "libp2p:///ip4/1.2.3.4/tcp/1/p2p/%zz": invalid URL escape "%zz"' }, 'error: cannot parse url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/%zz\': parsing url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/%zz\': parse "libp2p:///ip4/1.2.3.4/tcp/1/p2p/%zz": invalid URL escape "%zz"'],
  ['http://0x7f.1/a.car', { scheme: 'http', host: '0x7f.1', hostname: '0x7f.1', path: '/a.car' }, 'host: 0x7f.1'],
  ['http://h<b>/', { scheme: 'http', host: 'h<b>', hostname: 'h<b>', path: '/' }, 'host: h<b>'],
  ['https://[::1]:99999/', { scheme: 'https', host: '[::1]:99999', hostname: '::1', port: '99999', path: '/' }, 'host: [::1]:99999'],
  ['http://h:0/', { scheme: 'http', host: 'h:0', hostname: 'h', port: '0', path: '/' }, 'host: h:0'],
  ['http://EXAMPLE.com:0080/', { scheme: 'http', host: 'EXAMPLE.com:0080', hostname: 'EXAMPLE.com', port: '0080', path: '/' }, 'host: EXAMPLE.com:0080'],
  ['http://[::1%25en0]:/', { scheme: 'http', host: '[::1%en0]:', hostname: '::1%en0', path: '/' }, 'host: [::1%en0]:'],
  ['http://[::1]:8a/', { error: 'parse "http://[::1]:8a/": invalid port ":8a" after host' }, 'error: cannot parse url \'http://[::1]:8a/\': parsing url \'http://[::1]:8a/\': parse "http://[::1]:8a/": invalid port ":8a" after host'],
  ['http://[fe80::1%25EN0]:8080/', { scheme: 'http', host: '[fe80::1%EN0]:8080', hostname: 'fe80::1%EN0', port: '8080', path: '/' }, 'host: [fe80::1%EN0]:8080'],
  ['https://h/a%2', { error: 'parse "https://h/a%2": invalid URL escape "%2"' }, 'error: cannot parse url \'https://h/a%2\': parsing url \'https://h/a%2\': parse "https://h/a%2": invalid URL escape "%2"'],
  ['http://%25/', { scheme: 'http', host: '%', hostname: '%', path: '/' }, 'host: %'],
  ['http://h%zz/', { error: 'parse "http://h%zz/": invalid URL escape "%zz"' }, 'error: cannot parse url \'http://h%zz/\': parsing url \'http://h%zz/\': parse "http://h%zz/": invalid URL escape "%zz"'],
  ['http://h%E2%82/', { scheme: 'http', host: 'h\ufffd\ufffd', hostname: 'h\ufffd\ufffd', path: '/' }, 'host: h\ufffd\ufffd'],
  ['https://h/p#%41', { scheme: 'https', host: 'h', hostname: 'h', path: '/p', fragment: 'A', rawFragment: '%41' }, 'host: h'],
  ['https://h/p#a b', { scheme: 'https', host: 'h', hostname: 'h', path: '/p', fragment: 'a b', rawFragment: 'a b' }, 'host: h'],
  ['https://h/p#a!\'b', { scheme: 'https', host: 'h', hostname: 'h', path: '/p', fragment: 'a!\'b', rawFragment: 'a!\'b' }, 'host: h'],
  ['https://h/a%41b', { scheme: 'https', host: 'h', hostname: 'h', path: '/aAb', rawPath: '/a%41b' }, 'host: h'],
  ['http://[::1%25%zz]/', { error: 'parse "http://[::1%25%zz]/": invalid URL escape "%zz"' }, 'error: cannot parse url \'http://[::1%25%zz]/\': parsing url \'http://[::1%25%zz]/\': parse "http://[::1%25%zz]/": invalid URL escape "%zz"'],
  ['http://[::1%25%2f]/', { error: 'parse "http://[::1%25%2f]/": invalid URL escape "%2f"' }, 'error: cannot parse url \'http://[::1%25%2f]/\': parsing url \'http://[::1%25%2f]/\': parse "http://[::1%25%2f]/": invalid URL escape "%2f"'],
  ['http://[::1%25%20x]/', { scheme: 'http', host: '[::1% x]', hostname: '::1% x', path: '/' }, 'host: [::1% x]'],
  ['http://[::1%25/]/', { error: 'parse "http://[::1%25/]/": missing \']\' in host' }, 'error: cannot parse url \'http://[::1%25/]/\': parsing url \'http://[::1%25/]/\': parse "http://[::1%25/]/": missing \']\' in host'],
  ['http://[::1]]/', { error: 'parse "http://[::1]]/": invalid host: ParseAddr("::1]"): unexpected character, want colon (at "]")' }, 'error: cannot parse url \'http://[::1]]/\': parsing url \'http://[::1]]/\': parse "http://[::1]]/": invalid host: ParseAddr("::1]"): unexpected character, want colon (at "]")'],
  ['http://[[::1]/', { error: 'parse "http://[[::1]/": invalid IP-literal' }, 'error: cannot parse url \'http://[[::1]/\': parsing url \'http://[[::1]/\': parse "http://[[::1]/": invalid IP-literal'],
  ['http://]::1[/', { error: 'parse "http://]::1[/": invalid IP-literal' }, 'error: cannot parse url \'http://]::1[/\': parsing url \'http://]::1[/\': parse "http://]::1[/": invalid IP-literal'],
  ['http://h/a?b#c?d#e', { scheme: 'http', host: 'h', hostname: 'h', path: '/a', rawQuery: 'b', fragment: 'c?d#e', rawFragment: 'c?d#e' }, 'host: h'],
  ['https://user:p%zz@h/', { error: 'parse "https://user:p%zz@h/": invalid URL escape "%zz"' }, 'error: cannot parse url \'https://user:p%zz@h/\': parsing url \'https://user:p%zz@h/\': parse "https://user:p%zz@h/": invalid URL escape "%zz"'],
  ['https://us er@h/', { error: 'parse "https://us er@h/": net/url: invalid userinfo' }, 'error: cannot parse url \'https://us er@h/\': parsing url \'https://us er@h/\': parse "https://us er@h/": net/url: invalid userinfo'],
  ['https://u@h:80@evil/', { scheme: 'https', username: 'u@h', password: '80', host: 'evil', hostname: 'evil', path: '/' }, 'host: evil'],
  ['::nope', { error: 'parse "::nope": missing protocol scheme' }, 'error: cannot parse url \'::nope\': parsing url \'::nope\': parse "::nope": missing protocol scheme'],
  ['http://LOCALHOST:8080/a.car', { scheme: 'http', host: 'LOCALHOST:8080', hostname: 'LOCALHOST', port: '8080', path: '/a.car' }, 'host: LOCALHOST:8080'],
  ['https://data.example.com/a.car', { scheme: 'https', host: 'data.example.com', hostname: 'data.example.com', path: '/a.car' }, 'host: data.example.com']

]

function got (input: string | Uint8Array): Want {
  const r = parseGoUrl(typeof input === 'string' ? long(input) : input)
  if ('error' in r) return { error: short(r.error) }
  const { user, ...u } = r.url
  const fields: Record<string, string | boolean> = { ...u, hostname: goHostname(u.host), port: goPort(u.host) }
  const out = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== '' && v !== false).map(([k, v]) => [k, typeof v === 'string' ? short(v) : v]))
  if (user !== undefined) {
    out.username = user.username
    if (user.password !== undefined) out.password = user.password
  }
  return out
}

const label = (input: string | Uint8Array): string => JSON.stringify(typeof input === 'string' ? input.slice(0, 80) : Array.from(input, (b) => String.fromCharCode(b)).join(''))

for (const [input, want, boost] of table) {
  test(`url.Parse(${label(input)})`, () => {
    assert.deepEqual(got(input), want)
  })
  if (boost === undefined) continue
  test(`boost Host() of ${label(input)}`, () => {
    const r = transferHostOf('http', new TextEncoder().encode(JSON.stringify({ URL: long(input as string) })))
    assert.equal('error' in r ? 'error: ' + short(r.error) : 'host: ' + short(r.host), boost)
  })
}

test('a JS string and its UTF-8 bytes parse alike', () => {
  for (const s of ['https://bücher.example/ü.car', 'https://b\u00fccher.example/%zz', 'https://h/\u00a0%zz']) {
    assert.deepEqual(parseGoUrl(s), parseGoUrl(new TextEncoder().encode(s)))
  }
})
