import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ConnectionsPerIp, DEFAULT_IP_LIMIT_EXEMPT, type Admission, type Release } from '../../../src/ingress/ip-limit.ts'

const held = (a: Admission): Release => {
  assert.ok(a.ok, a.ok ? '' : a.reason)
  return a.release
}

describe('ConnectionsPerIp', () => {
  it('holds an IPv4 address to its limit and frees a slot when a connection closes', () => {
    const l = new ConnectionsPerIp({ perIp: 3, exempt: [] })
    const r = [held(l.admit('203.0.113.7')), held(l.admit('203.0.113.7')), held(l.admit('203.0.113.7'))]
    const refused = l.admit('203.0.113.7')
    assert.equal(refused.ok, false)
    assert.match(refused.ok ? '' : refused.reason, /3 connections already open from this IPv4 address/)
    // Another address is not affected.
    held(l.admit('203.0.113.8'))
    r[0]!()
    held(l.admit('203.0.113.7'))
    assert.equal(l.admit('203.0.113.7').ok, false)
  })

  it('gives a slot back once however often release is called', () => {
    const l = new ConnectionsPerIp({ perIp: 2, exempt: [] })
    const a = held(l.admit('198.51.100.1'))
    held(l.admit('198.51.100.1'))
    a(); a(); a()
    held(l.admit('198.51.100.1'))
    assert.equal(l.admit('198.51.100.1').ok, false)
  })

  it('forgets an address once it holds nothing', () => {
    const l = new ConnectionsPerIp({ perIp: 2, exempt: [] })
    const rs = ['192.0.2.1', '192.0.2.2', '2001:db8::1'].map((ip) => held(l.admit(ip)))
    assert.ok(l.size > 0)
    for (const r of rs) r()
    assert.equal(l.size, 0)
  })

  it('counts an IPv4-mapped IPv6 address (a dual-stack socket) as the IPv4 address', () => {
    const l = new ConnectionsPerIp({ perIp: 2, exempt: [] })
    held(l.admit('203.0.113.9'))
    held(l.admit('::ffff:203.0.113.9'))
    assert.equal(l.admit('203.0.113.9').ok, false)
    assert.equal(l.admit('::ffff:cb00:7109').ok, false)
  })

  it('limits IPv6 per /56 and, eight times as many, per /48', () => {
    const l = new ConnectionsPerIp({ perIp: 2, exempt: [] })
    // Two addresses of one /56 share its limit.
    held(l.admit('2001:db8:1:100::1'))
    held(l.admit('2001:db8:1:1ff::2'))
    const refused = l.admit('2001:db8:1:1aa::3')
    assert.equal(refused.ok, false)
    assert.match(refused.ok ? '' : refused.reason, /this IPv6 \/56/)
    // Other /56s of the same /48 fill it up to 16.
    for (let i = 2; i < 9; i++) {
      held(l.admit(`2001:db8:1:${i.toString(16)}00::1`))
      held(l.admit(`2001:db8:1:${i.toString(16)}00::2`))
    }
    const full48 = l.admit('2001:db8:1:f00::1')
    assert.equal(full48.ok, false)
    assert.match(full48.ok ? '' : full48.reason, /16 connections already open from this IPv6 \/48/)
    held(l.admit('2001:db8:2::1'))
  })

  it('never limits the exempt ranges (loopback by default)', () => {
    const l = new ConnectionsPerIp({ perIp: 1, exempt: DEFAULT_IP_LIMIT_EXEMPT })
    for (let i = 0; i < 20; i++) {
      held(l.admit('127.0.0.1'))
      held(l.admit('::1'))
    }
    held(l.admit('10.1.2.3'))
    assert.equal(l.admit('10.1.2.3').ok, false)
    const cluster = new ConnectionsPerIp({ perIp: 1, exempt: ['10.0.0.0/8'] })
    for (let i = 0; i < 5; i++) held(cluster.admit('10.1.2.3'))
    held(cluster.admit('127.0.0.1'))
    assert.equal(cluster.admit('127.0.0.1').ok, false, 'an explicit list replaces the default')
  })

  it('has no limit at 0', () => {
    const l = new ConnectionsPerIp({ perIp: 0, exempt: [] })
    for (let i = 0; i < 100; i++) held(l.admit('203.0.113.1'))
    assert.equal(l.size, 0)
  })

  it('refuses nonsense options with the value in the message', () => {
    assert.throws(() => new ConnectionsPerIp({ perIp: -1, exempt: [] }), /got -1/)
    assert.throws(() => new ConnectionsPerIp({ perIp: 1.5, exempt: [] }), /got 1.5/)
    assert.throws(() => new ConnectionsPerIp({ perIp: 1, exempt: ['10.0.0.0/33'] }), /invalid CIDR "10.0.0.0\/33"/)
  })
})
