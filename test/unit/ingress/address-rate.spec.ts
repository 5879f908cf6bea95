import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AddressRate } from '../../../src/ingress/address-rate.ts'

test('an address gets bursts of twice its rate, then the rate; others are counted apart', () => {
  let t = 0
  const r = new AddressRate({ perSecond: 5, exempt: ['127.0.0.0/8'], now: () => t })
  const burst = Array.from({ length: 12 }, () => r.admit('203.0.113.7'))
  assert.deepEqual(burst, [...Array(10).fill(true), false, false])
  assert.equal(r.admit('203.0.113.8'), true)
  t += 200 // one token back
  assert.equal(r.admit('203.0.113.7'), true)
  assert.equal(r.admit('203.0.113.7'), false)
  // IPv4 in IPv6 form is the same client.
  t += 200
  assert.equal(r.admit('::ffff:203.0.113.7'), true)
  assert.equal(r.admit('::ffff:203.0.113.7'), false)
})

test('an IPv6 /56 is one client; loopback is exempt; 0 turns the limit off', () => {
  const t = 0
  const r = new AddressRate({ perSecond: 1, exempt: ['127.0.0.0/8', '::1/128'], now: () => t })
  assert.equal(r.admit('2001:db8:0:100::1'), true)
  assert.equal(r.admit('2001:db8:0:1ff::2'), true)
  assert.equal(r.admit('2001:db8:0:1ab::3'), false)
  assert.equal(r.admit('2001:db8:0:200::1'), true)
  for (let i = 0; i < 100; i++) assert.equal(r.admit('127.0.0.1'), true)
  const off = new AddressRate({ perSecond: 0, exempt: [] })
  for (let i = 0; i < 100; i++) assert.equal(off.admit('203.0.113.7'), true)
})

test('idle addresses are forgotten, so a scan of many addresses cannot grow it without end', () => {
  let t = 0
  const r = new AddressRate({ perSecond: 1, exempt: [], now: () => t })
  for (let i = 0; i < 20_000; i++) {
    r.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
    t += 1
  }
  assert.ok(r.size <= 10_001, `size ${r.size}`)
})

test('a burst of its own: connections pass a second\'s worth at once, as js-libp2p counted them', () => {
  let t = 0
  const r = new AddressRate({ perSecond: 20, burst: 20, exempt: [], now: () => t })
  assert.equal(Array.from({ length: 25 }, () => r.admit('198.51.100.1')).filter(Boolean).length, 20)
  t += 100 // two back
  assert.equal(Array.from({ length: 5 }, () => r.admit('198.51.100.1')).filter(Boolean).length, 2)
  assert.equal(r.limit, 20)
})
