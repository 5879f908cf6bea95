import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DealyardError } from '../../../src/errors.ts'
import { Address } from '../../../src/filecoin/address.ts'

const isInvalid = (err: unknown): boolean => err instanceof DealyardError && err.code === 'ERR_INVALID_ADDRESS'

describe('Address', () => {
  // Strings from go-address's own tests and the golden vectors (Go-derived).
  const roundTrips: Record<string, { s: string, protocol: number, hex?: string }> = {
    'ID f01000': { s: 'f01000', protocol: 0, hex: '00e807' },
    'ID f0100': { s: 'f0100', protocol: 0, hex: '0064' },
    'secp256k1 from the golden vectors': { s: 'f1ats2y7nokvwl47ehrjtkc2idtrtb5uuzo2zzzby', protocol: 1 },
    'BLS from the golden vectors': { s: 'f3tby6rc75rmn2ndqb76oqhdjlykxraivkkkhki6umnndg5uw24kzotlg55jgj6objog6d6nwtxyst4uyio4va', protocol: 3 },
    'actor (go-address test vector)': { s: 'f24vg6ut43yw2h2jqydgbg2xq7x6f4kub3bg6as6i', protocol: 2 },
    'delegated f410 from the golden vectors': { s: 'f410f3dngx4tjmsxz27xntyb6knav2n5ksycf6tzrcna', protocol: 4 }
  }
  for (const [name, c] of Object.entries(roundTrips)) {
    it(`parses and formats ${name}`, () => {
      const a = Address.fromString(c.s)
      assert.equal(a.protocol, c.protocol)
      assert.equal(a.toString(), c.s)
      assert.equal(a.toString('t'), 't' + c.s.slice(1))
      if (c.hex != null) assert.equal(Buffer.from(a.bytes).toString('hex'), c.hex)
      assert.ok(Address.fromBytes(a.bytes).equals(a))
    })
  }

  const bad: Record<string, string> = {
    'a bad checksum': 'f1ats2y7nokvwl47ehrjtkc2idtrtb5uuzo2zzzbz',
    'an unknown network': 'x01000',
    'an unknown protocol': 'f91000',
    'an ID beyond 2^63-1': 'f09223372036854775808',
    'a non-decimal ID': 'f0x10',
    'too short': 'f0',
    'a BLS payload of the wrong length': 'f3aaaa'
  }
  for (const [name, s] of Object.entries(bad)) {
    it(`rejects ${name}`, () => { assert.throws(() => Address.fromString(s), isInvalid) })
  }

  it('rejects bytes go-address rejects', () => {
    assert.throws(() => Address.fromBytes(new Uint8Array(0)), isInvalid)
    assert.throws(() => Address.fromBytes(Uint8Array.of(0)), isInvalid)
    assert.throws(() => Address.fromBytes(Uint8Array.of(0, 0x80, 0x00)), isInvalid) // non-minimal varint
    assert.throws(() => Address.fromBytes(Uint8Array.of(0, 1, 2)), isInvalid) // trailing bytes
    assert.throws(() => Address.fromBytes(Uint8Array.of(1, 1, 2, 3)), isInvalid)
    assert.throws(() => Address.fromBytes(Uint8Array.of(7, 1)), isInvalid)
  })

  it('exposes the actor ID of ID addresses', () => {
    assert.equal(Address.fromId(1234567).id, 1234567n)
    assert.equal(Address.fromId(1234567).toString(), 'f01234567')
  })
})
