import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkTransferAddress, parseCidr, parseIp, compileTransferHostPolicy, type TransferHostPolicy } from '../../../src/policy/transfer-host.ts'

const none: TransferHostPolicy = { allowCidrs: [], denyCidrs: [] }
const cluster: TransferHostPolicy = { allowCidrs: [], denyCidrs: ['203.0.113.0/24', '2001:db8:42::/48'] }
const demo: TransferHostPolicy = { allowCidrs: ['127.0.0.0/8', '::1/128'], denyCidrs: [] }
/** A site's data servers in 10/8, the cluster's services denied inside it, one of them allowed. */
const site: TransferHostPolicy = { allowCidrs: ['10.0.0.0/8', '10.96.0.10/32'], denyCidrs: ['10.96.0.0/12'] }

interface Case { ip: string, policy: TransferHostPolicy, reason: string | undefined }
const cases: Record<string, Case> = {
  'a public IPv4 address is allowed': { ip: '93.184.216.34', policy: none, reason: undefined },
  'a public IPv6 address is allowed': { ip: '2606:2800:220:1:248:1893:25c8:1946', policy: none, reason: undefined },
  'IPv4 loopback is refused': { ip: '127.0.0.1', policy: none, reason: 'LoopbackAddress' },
  'any 127/8 address is loopback': { ip: '127.45.3.2', policy: none, reason: 'LoopbackAddress' },
  'IPv6 loopback is refused': { ip: '::1', policy: none, reason: 'LoopbackAddress' },
  'the metadata service (link-local) is refused': { ip: '169.254.169.254', policy: none, reason: 'LinkLocalAddress' },
  'IPv6 link-local with a zone is refused': { ip: 'fe80::1%eth0', policy: none, reason: 'LinkLocalAddress' },
  '10/8 is private': { ip: '10.1.2.3', policy: none, reason: 'PrivateAddress' },
  '172.16/12 is private': { ip: '172.31.255.255', policy: none, reason: 'PrivateAddress' },
  '172.32.0.1 is outside 172.16/12': { ip: '172.32.0.1', policy: none, reason: undefined },
  '192.168/16 is private': { ip: '192.168.0.10', policy: none, reason: 'PrivateAddress' },
  'CGNAT is private': { ip: '100.100.0.1', policy: none, reason: 'PrivateAddress' },
  '100.128.0.1 is outside CGNAT': { ip: '100.128.0.1', policy: none, reason: undefined },
  'IPv6 ULA is private': { ip: 'fd12:3456::1', policy: none, reason: 'PrivateAddress' },
  'unspecified IPv4 is refused': { ip: '0.0.0.0', policy: none, reason: 'UnspecifiedAddress' },
  'unspecified IPv6 is refused': { ip: '::', policy: none, reason: 'UnspecifiedAddress' },
  'IPv4 multicast is refused': { ip: '239.1.1.1', policy: none, reason: 'MulticastAddress' },
  'IPv6 multicast is refused': { ip: 'ff02::1', policy: none, reason: 'MulticastAddress' },
  'broadcast is reserved': { ip: '255.255.255.255', policy: none, reason: 'ReservedAddress' },
  'an IPv4-mapped private address is judged as IPv4': { ip: '::ffff:10.0.0.1', policy: none, reason: 'PrivateAddress' },
  'an IPv4-mapped loopback in hex is judged as IPv4': { ip: '::ffff:7f00:1', policy: none, reason: 'LoopbackAddress' },
  'a NAT64 address of a loopback is judged by the IPv4 it carries': { ip: '64:ff9b::7f00:1', policy: none, reason: 'LoopbackAddress' },
  'a NAT64 address of a link-local (metadata) address is judged by the IPv4 it carries': { ip: '64:ff9b::a9fe:a9fe', policy: none, reason: 'LinkLocalAddress' },
  'a NAT64 address of a public address is allowed': { ip: '64:ff9b::808:808', policy: none, reason: undefined },
  'the local-use NAT64 prefix is refused whole': { ip: '64:ff9b:1::808:808', policy: none, reason: 'PrivateAddress' },
  'local-use NAT64 of loopback is loopback': { ip: '64:ff9b:1::7f00:1', policy: none, reason: 'LoopbackAddress' },
  'deprecated site-local IPv6 is refused': { ip: 'fec0::1', policy: none, reason: 'PrivateAddress' },
  'an IPv4-compatible address is refused': { ip: '::8.8.8.8', policy: none, reason: 'ReservedAddress' },
  'an IPv4-compatible loopback is loopback': { ip: '::127.0.0.1', policy: none, reason: 'LoopbackAddress' },
  'an IPv4-compatible public address is refused too (never a real destination)': { ip: '::8.8.8.8', policy: none, reason: 'ReservedAddress' },
  'a 6to4 address of a private IPv4 address is judged by it': { ip: '2002:a00:1::1', policy: none, reason: 'PrivateAddress' },
  'a 6to4 address of loopback is judged by it': { ip: '2002:7f00:1::', policy: none, reason: 'LoopbackAddress' },
  'a 6to4 address of a public IPv4 address is allowed': { ip: '2002:808:808::1', policy: none, reason: undefined },
  'an SIIT address of loopback is judged by it': { ip: '::ffff:0:7f00:1', policy: none, reason: 'LoopbackAddress' },
  'Teredo is refused whole': { ip: '2001:0:4136:e378:8000:63bf:3fff:fdd2', policy: none, reason: 'ReservedAddress' },
  'the benchmarking range is refused': { ip: '198.18.0.1', policy: none, reason: 'ReservedAddress' },
  'IETF protocol assignments are refused': { ip: '192.0.0.8', policy: none, reason: 'ReservedAddress' },
  'a service CIDR of the cluster is refused': { ip: '203.0.113.7', policy: cluster, reason: 'DeniedCidr' },
  'an IPv6 pod CIDR of the cluster is refused': { ip: '2001:db8:42:ff::9', policy: cluster, reason: 'DeniedCidr' },
  'next to the pod CIDR is allowed': { ip: '2001:db8:43::1', policy: cluster, reason: undefined },
  'the demo allows IPv4 loopback explicitly': { ip: '127.0.0.1', policy: demo, reason: undefined },
  'the demo allows IPv6 loopback explicitly': { ip: '::1', policy: demo, reason: undefined },
  'the demo still refuses private addresses': { ip: '10.0.0.1', policy: demo, reason: 'PrivateAddress' },
  // Regression (round 52, F1): any allowed range was accepted before denyCidrs were read, so a
  // site allowing 10.0.0.0/8 for its data servers opened the cluster's services denied inside it.
  'a denied range inside an allowed one is refused': { ip: '10.96.0.1', policy: site, reason: 'DeniedCidr' },
  'an allowed range outside the denied one inside it is allowed': { ip: '10.1.2.3', policy: site, reason: undefined },
  'one address allowed inside a denied range is allowed (the narrower range decides)': { ip: '10.96.0.10', policy: site, reason: undefined },
  'a denied range exactly as narrow as an allowed one wins': { ip: '127.0.0.1', policy: { allowCidrs: ['127.0.0.1/32'], denyCidrs: ['127.0.0.1/32'] }, reason: 'DeniedCidr' },
  'a denied address inside the demo\'s allowed loopback is refused': { ip: '127.0.0.1', policy: { allowCidrs: ['127.0.0.0/8'], denyCidrs: ['127.0.0.1/32'] }, reason: 'DeniedCidr' },
  'a denied IPv4 range inside an allowed one holds for the IPv4-mapped form': { ip: '::ffff:10.96.0.1', policy: site, reason: 'DeniedCidr' },
  // Round 54: an allowed IPv6 range returned before the IPv4 address it carries was judged, and
  // IPv6 ranges of /96 or wider held every IPv4 address (Go's IPNet keeps the families apart).
  'NAT64 of a denied address inside an allowed IPv6 range is refused': { ip: '64:ff9b::10.96.0.1', policy: { allowCidrs: ['::/0', '0.0.0.0/0'], denyCidrs: ['10.96.0.0/12'] }, reason: 'DeniedCidr' },
  '6to4 of loopback inside an allowed 2000::/3 is refused': { ip: '2002:7f00:1::1', policy: { allowCidrs: ['2000::/3'], denyCidrs: [] }, reason: 'LoopbackAddress' },
  'NAT64 of loopback inside an allowed NAT64 prefix is refused': { ip: '64:ff9b::127.0.0.1', policy: { allowCidrs: ['64:ff9b::/96'], denyCidrs: [] }, reason: 'LoopbackAddress' },
  'NAT64 of a public address inside an allowed NAT64 prefix is allowed': { ip: '64:ff9b::8.8.8.8', policy: { allowCidrs: ['64:ff9b::/96'], denyCidrs: [] }, reason: undefined },
  'an allowed ::/0 does not allow IPv4 loopback': { ip: '127.0.0.1', policy: { allowCidrs: ['::/0'], denyCidrs: [] }, reason: 'LoopbackAddress' },
  'a denied ::/0 (no IPv6) does not refuse IPv4': { ip: '8.8.8.8', policy: { allowCidrs: [], denyCidrs: ['::/0'] }, reason: undefined },
  'a denied ::/0 refuses IPv6': { ip: '2606:4700::1', policy: { allowCidrs: [], denyCidrs: ['::/0'] }, reason: 'DeniedCidr' },
  'an IPv4 range written in its IPv6-mapped form is an IPv4 range': { ip: '10.96.0.1', policy: { allowCidrs: ['10.0.0.0/8'], denyCidrs: ['::ffff:10.96.0.0/108'] }, reason: 'DeniedCidr' },
  // Round 55: the forms refused whole by default (local-use NAT64, Teredo, IPv4-compatible) were not
  // judged by their IPv4 address once an IPv6 range allowed them.
  'local-use NAT64 (as /96) of a cluster service inside its allowed prefix is refused': { ip: '64:ff9b:1:abcd::a60:1', policy: { allowCidrs: ['64:ff9b:1:abcd::/96'], denyCidrs: ['10.96.0.0/12'] }, reason: 'PrivateAddress' },
  'local-use NAT64 (as /96) of a denied public range inside its allowed prefix is refused': { ip: '64:ff9b:1:abcd::cb00:7107', policy: { allowCidrs: ['64:ff9b:1:abcd::/96'], denyCidrs: ['203.0.113.0/24'] }, reason: 'DeniedCidr' },
  'local-use NAT64 (as /96) of the metadata service inside its allowed prefix is refused': { ip: '64:ff9b:1:abcd::a9fe:a9fe', policy: { allowCidrs: ['64:ff9b:1:abcd::/96'], denyCidrs: [] }, reason: 'LinkLocalAddress' },
  'local-use NAT64 (as /96) of a public address inside its allowed prefix is allowed': { ip: '64:ff9b:1:abcd::808:808', policy: { allowCidrs: ['64:ff9b:1:abcd::/96'], denyCidrs: [] }, reason: undefined },
  'Teredo of a private server inside an allowed 2000::/3 is refused': { ip: '2001:0:a60:1::80ff:fffe', policy: { allowCidrs: ['2000::/3'], denyCidrs: [] }, reason: 'PrivateAddress' },
  'Teredo of a private client (inverted) inside an allowed 2000::/3 is refused': { ip: '2001:0:808:808::f5ff:fffa', policy: { allowCidrs: ['2000::/3'], denyCidrs: [] }, reason: 'PrivateAddress' },
  'IPv4-compatible of a private address inside an allowed ::/0 is refused': { ip: '::a60:1', policy: { allowCidrs: ['::/0'], denyCidrs: [] }, reason: 'PrivateAddress' },
  // Rounds 56 and 57: which bytes of a local-use NAT64 address hold the IPv4 one depends on the
  // prefix length the network chose (/48 to /96); read with the wrong layout an internal address
  // passed as public (and public ones were refused). Only a /96 prefix of it can be allowed.
  'local-use NAT64 under an allowed /48: a /64 layout of a cluster service is refused': { ip: '64:ff9b:1:0:a:6000:100:0', policy: { allowCidrs: ['64:ff9b:1::/48'], denyCidrs: [] }, reason: 'PrivateAddress' },
  'local-use NAT64 under an allowed /48: a /64 layout of a public address is refused too': { ip: '64:ff9b:1:0:8:808:800:0', policy: { allowCidrs: ['64:ff9b:1::/48'], denyCidrs: [] }, reason: 'PrivateAddress' },
  'local-use NAT64 under an allowed /48: a nonzero u octet is refused': { ip: '64:ff9b:1:0:ff0a:6000:100:0', policy: { allowCidrs: ['64:ff9b:1::/48'], denyCidrs: [] }, reason: 'PrivateAddress' },
  'local-use NAT64 under an allowed ::/0: refused': { ip: '64:ff9b:1:abcd::808:808', policy: { allowCidrs: ['::/0'], denyCidrs: [] }, reason: 'PrivateAddress' },
  'local-use NAT64 of all zeros under an allowed /96 prefix is refused': { ip: '64:ff9b:1::', policy: { allowCidrs: ['64:ff9b:1::/96'], denyCidrs: [] }, reason: 'UnspecifiedAddress' },
  'a host name is not an address': { ip: 'example.com', policy: none, reason: 'InvalidAddress' },
  'a bad IPv4 octet is not an address': { ip: '1.2.3.256', policy: none, reason: 'InvalidAddress' },
  'octal-looking IPv4 is not an address': { ip: '010.0.0.1', policy: none, reason: 'InvalidAddress' }
}

for (const [name, c] of Object.entries(cases)) {
  test(name, () => {
    assert.equal(checkTransferAddress(c.ip, c.policy)?.reason, c.reason)
    assert.equal(checkTransferAddress(c.ip, compileTransferHostPolicy(c.policy))?.reason, c.reason)
  })
}

test('a violation message names the address and the range', () => {
  const v = checkTransferAddress('10.0.0.1', none)
  assert.ok(v !== undefined)
  assert.match(v.message, /10\.0\.0\.1/)
  assert.match(v.message, /10\.0\.0\.0\/8/)
})

test('malformed CIDRs are rejected when the policy is compiled', () => {
  // Round 55: a zone or brackets (an address's forms) made '10.0.0.0%a:b/8' the IPv6 range ::/8.
  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fe80::/129', '10.0.0.0/x', '1:2:3:4:5:6:7:8:9/64', '[::1]/128', '10.0.0.0%eth0/8', '10.0.0.0%a:b/8', 'fe80::1%eth0/64']) {
    assert.throws(() => parseCidr(bad), /invalid CIDR/, bad)
  }
})

test('IPv6 text forms parse to the same bytes', () => {
  assert.deepEqual(parseIp('2001:db8::1'), parseIp('2001:0db8:0:0:0:0:0:0001'))
  assert.deepEqual(parseIp('::ffff:1.2.3.4'), parseIp('1.2.3.4'))
  assert.equal(parseIp('1::2::3'), undefined)
})
