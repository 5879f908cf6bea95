import { it } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { providerAddrsOf } from '../../../src/client/discover.ts'

const PEER = '12D3KooWAzpVjFnvxrSbYRVNDGbzVyHgtzrTBEGJNpw3LaEe5Jdp'
const OTHER = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const bytes = (s: string): Uint8Array => multiaddr(s).bytes

it('names each on-chain address with the miner\'s peer ID, in the chain\'s order', () => {
  const addrs = providerAddrsOf('f01000', { peerId: PEER, multiaddrs: [bytes('/ip4/1.2.3.4/tcp/24001'), bytes(`/dns4/sp.example/tcp/1/p2p/${PEER}`)] })
  assert.deepEqual(addrs.map(String), [`/ip4/1.2.3.4/tcp/24001/p2p/${PEER}`, `/dns4/sp.example/tcp/1/p2p/${PEER}`])
})

it('refuses what boost\'s client refuses, with its words', () => {
  assert.throws(() => providerAddrsOf('f01000', { peerId: null, multiaddrs: [bytes('/ip4/1.2.3.4/tcp/1')] }), /^Error: storage provider f01000 has no peer ID set on-chain$/)
  assert.throws(() => providerAddrsOf('f01000', { peerId: PEER, multiaddrs: [] }), /^Error: storage provider f01000 has no multiaddrs set on-chain$/)
  assert.throws(() => providerAddrsOf('f01000', { peerId: PEER, multiaddrs: [Uint8Array.of(0xff, 0xff, 0xff)] }), /^Error: storage provider f01000 had invalid multiaddrs in their info: /)
  assert.throws(() => providerAddrsOf('f01000', { peerId: 'not-a-peer', multiaddrs: [bytes('/ip4/1.2.3.4/tcp/1')] }), /^Error: storage provider f01000 has an invalid peer ID on-chain \("not-a-peer"\)/)
  assert.throws(() => providerAddrsOf('f01000', { peerId: PEER, multiaddrs: [bytes(`/ip4/1.2.3.4/tcp/1/p2p/${OTHER}`)] }), new RegExp(`each names a peer other than its peer ID ${PEER} \\(/ip4/1\\.2\\.3\\.4/tcp/1/p2p/${OTHER}\\)$`))
})

it('leaves out an address naming another peer, as go-libp2p\'s address book does, and keeps the rest', () => {
  const addrs = providerAddrsOf('f01000', { peerId: PEER, multiaddrs: [bytes(`/ip4/1.2.3.4/tcp/1/p2p/${OTHER}`), bytes('/ip4/5.6.7.8/tcp/2')] })
  assert.deepEqual(addrs.map(String), [`/ip4/5.6.7.8/tcp/2/p2p/${PEER}`])
})
