/**
 * Regression (round 45, F2): boost's Transfer.Host() reads a libp2p:// URL with go-multiaddr
 * (peer.AddrInfoFromString, then maurl.ToURL's host from manet.DialArgs), which takes QUIC and
 * WebTransport addresses, an IP or DNS name without a port, and more. dealyard refused all of them
 * at B1 ("multiaddr must start with an IP address or DNS name and a TCP port"), so such proposals
 * never reached the documented libp2p refusal, and its parse errors were js-multiaddr's texts.
 *
 * Every expected value is what boost v2.5.2's code prints (round45/hostdiff, rebuilt with the
 * go-cid, go-multibase and go-varint versions boost pins), through transferHostOf.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { transferHostOf } from '../../../src/policy/index.ts'

const ID = '12D3KooWGRUVh7bXzvC7ZJCPpKXr9Ua8C1yyGSGNzkBLd2NDuV7A'

const host = (url: string): string => {
  const r = transferHostOf('libp2p', new TextEncoder().encode(JSON.stringify({ URL: url })))
  return 'error' in r ? `err ${r.error}` : `ok ${r.host}`
}

/** `libp2p://` + the multiaddr → boost's "ok <host>" or "err <text>" (<id> stands for ID). */
const cases: Record<string, [string, string]> = {
  // round45/d6-libp2p-host.ts, in its order.
  'ip4 and tcp': [`/ip4/1.2.3.4/tcp/80/p2p/${ID}`, 'ok 1.2.3.4:80'],
  'ip4 over QUIC (udp)': [`/ip4/1.2.3.4/udp/4001/quic-v1/p2p/${ID}`, 'ok 1.2.3.4:4001'],
  'dns4 over QUIC': [`/dns4/example.com/udp/4001/quic-v1/p2p/${ID}`, 'ok example.com:4001'],
  'ip6 over WebTransport': [`/ip6/::1/udp/4001/quic-v1/webtransport/p2p/${ID}`, 'ok [::1]:4001'],
  'an IP without a port': [`/ip4/1.2.3.4/p2p/${ID}`, 'ok 1.2.3.4'],
  'a DNS name without a port': [`/dns/example.com/p2p/${ID}`, 'ok example.com'],
  'a peer ID alone (no address)': [`/p2p/${ID}`, "err cannot parse url 'libp2p:///p2p/<id>': expected only one address in url 'libp2p:///p2p/<id>'"],
  'websocket after tcp': [`/ip4/1.2.3.4/tcp/80/ws/p2p/${ID}`, 'ok 1.2.3.4:80'],
  'a relayed address (the last /p2p is the peer)': [`/ip4/1.2.3.4/tcp/80/p2p/${ID}/p2p-circuit/p2p/${ID}`, 'ok 1.2.3.4:80'],
  'dnsaddr (not a thin waist address; ToURL\'s error is not wrapped)': [`/dnsaddr/example.com/p2p/${ID}`, "err /dnsaddr/example.com is not a 'thin waist' address"],
  'not a multiaddr': ['garbage', "err cannot parse url 'libp2p://garbage': parsing address info from url 'libp2p://garbage': failed to parse multiaddr \"garbage\": must begin with /"],
  'no peer ID': ['/ip4/1.2.3.4/tcp/80', "err cannot parse url 'libp2p:///ip4/1.2.3.4/tcp/80': parsing address info from url 'libp2p:///ip4/1.2.3.4/tcp/80': invalid p2p multiaddr"],
  // Hosts as Go writes them: brackets for a bare IPv6 (not an IPv4-mapped one), RFC 5952 form, a
  // zone kept, a DNS name that is an IPv6 address with its port read as one address, the port's digits.
  'ip6 without a port': [`/ip6/::1/p2p/${ID}`, 'ok [::1]'],
  'an IPv4-mapped ip6 without a port': [`/ip6/::ffff:1.2.3.4/p2p/${ID}`, 'ok ::ffff:1.2.3.4'],
  'ip6 written long and upper-case': [`/ip6/2001:DB8:0:0:1:0:0:1/tcp/7/p2p/${ID}`, 'ok [2001:db8::1:0:0:1]:7'],
  'ip6 with a zone': [`/ip6zone/eth0/ip6/fe80::1/tcp/80/p2p/${ID}`, 'ok [fe80::1%eth0]:80'],
  'a DNS name that reads as IPv6 once the port is added': [`/dns/::1/tcp/80/p2p/${ID}`, 'ok [::1:80]'],
  'a port with a leading zero': [`/dns4/example.com/tcp/0080/p2p/${ID}`, 'ok example.com:80'],
  'a relay address first': [`/p2p-circuit/p2p/${ID}`, "err /p2p-circuit is not a 'thin waist' address"],
  // go-multiaddr's parse errors.
  'a port out of range': [`/ip4/1.2.3.4/tcp/65536/p2p/${ID}`, 'err cannot parse url \'libp2p:///ip4/1.2.3.4/tcp/65536/p2p/<id>\': parsing address info from url \'libp2p:///ip4/1.2.3.4/tcp/65536/p2p/<id>\': failed to parse multiaddr "/ip4/1.2.3.4/tcp/65536/p2p/<id>": invalid value "65536" for protocol tcp: failed to parse port addr: strconv.ParseUint: parsing "65536": value out of range'],
  'an ip4 with a leading zero': [`/ip4/01.2.3.4/tcp/1/p2p/${ID}`, 'err cannot parse url \'libp2p:///ip4/01.2.3.4/tcp/1/p2p/<id>\': parsing address info from url \'libp2p:///ip4/01.2.3.4/tcp/1/p2p/<id>\': failed to parse multiaddr "/ip4/01.2.3.4/tcp/1/p2p/<id>": invalid value "01.2.3.4" for protocol ip4: failed to parse ip4 addr: 01.2.3.4'],
  'an unknown protocol': ['/foo/bar', 'err cannot parse url \'libp2p:///foo/bar\': parsing address info from url \'libp2p:///foo/bar\': failed to parse multiaddr "/foo/bar": unknown protocol foo'],
  'a protocol without its value': ['/ip4/1.2.3.4/tcp', 'err cannot parse url \'libp2p:///ip4/1.2.3.4/tcp\': parsing address info from url \'libp2p:///ip4/1.2.3.4/tcp\': failed to parse multiaddr "/ip4/1.2.3.4/tcp": unexpected end of multiaddr'],
  // Peer IDs: Go checks the multihash (and a CID's codec), not the key inside.
  'a peer ID as a libp2p-key CID': ['/ip4/1.2.3.4/tcp/1/p2p/bafzaajaiaejcbzcsk3a3wd2pyzxxzqesjyuulwyby5bu6zmucf7ik6xxcsncbnkk', 'ok 1.2.3.4:1'],
  'a CID of another codec': ['/ip4/1.2.3.4/tcp/1/p2p/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', 'err cannot parse url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi\': parsing address info from url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi\': failed to parse multiaddr "/ip4/1.2.3.4/tcp/1/p2p/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi": invalid value "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi" for protocol p2p: failed to parse p2p addr: bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi has the invalid codec 112'],
  'not a peer ID in any base': ['/ip4/1.2.3.4/tcp/1/p2p/notapeerid', 'err cannot parse url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/notapeerid\': parsing address info from url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/notapeerid\': failed to parse multiaddr "/ip4/1.2.3.4/tcp/1/p2p/notapeerid": invalid value "notapeerid" for protocol p2p: failed to parse p2p addr: notapeerid invalid cid: selected encoding not supported'],
  'a base58 multihash with a byte too many': ['/ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJa', 'err cannot parse url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJa\': parsing address info from url \'libp2p:///ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJa\': failed to parse multiaddr "/ip4/1.2.3.4/tcp/1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJa": invalid value "QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJa" for protocol p2p: failed to parse p2p addr: QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJa multihash length inconsistent: expected 27; got 29']
}

describe('a libp2p:// transfer URL\'s host, as boost\'s Transfer.Host() reads it', () => {
  for (const [name, [ma, want]] of Object.entries(cases)) {
    it(name, () => {
      assert.equal(host(`libp2p://${ma}`).replaceAll(ID, '<id>'), want)
    })
  }

  it('gives the SSRF check the literal IP of a libp2p host, as for an http one', () => {
    const enc = (url: string): Uint8Array => new TextEncoder().encode(JSON.stringify({ URL: url }))
    assert.deepEqual(transferHostOf('libp2p', enc(`libp2p:///ip4/127.0.0.1/udp/1/quic-v1/p2p/${ID}`)), { host: '127.0.0.1:1', ip: '127.0.0.1' })
    assert.deepEqual(transferHostOf('libp2p', enc(`libp2p:///ip6/::1/p2p/${ID}`)), { host: '[::1]', ip: '::1' })
    assert.deepEqual(transferHostOf('libp2p', enc(`libp2p:///dns/example.com/p2p/${ID}`)), { host: 'example.com' })
  })
})
