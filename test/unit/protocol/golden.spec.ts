import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { Address } from '../../../src/filecoin/address.ts'
import { loadKeyFile } from '../../../src/filecoin/keys.ts'
import { sign, verifySignature, type Signature } from '../../../src/filecoin/signature.ts'
import * as P from '../../../src/protocol/index.ts'
import { codecs, fixturesDir, hex, loadVectors, toPlain, unhex } from './golden.ts'

const file = loadVectors()

describe('golden vectors from go-state-types + cbor-gen (test/fixtures/boost)', () => {
  it('cover every message type', () => {
    const types = new Set(file.vectors.map((v) => v.type))
    for (const t of Object.keys(codecs)) assert.ok(types.has(t), `no vector of type ${t}`)
  })

  for (const v of file.vectors) {
    it(`${v.name}: decodes to the values Go encoded and re-encodes byte for byte`, () => {
      const codec = codecs[v.type]
      assert.ok(codec != null, `unknown type ${v.type}`)
      const decoded = codec.decode(unhex(v.hex))
      if (v.type === 'TransportsQueryResponse') {
        const q = decoded as P.TransportsQueryResponse
        const expected = v.value as { protocols: Array<{ name: string, addresses: string[], addressStrings: string[] }> }
        assert.deepEqual(q.protocols.map((p) => ({ name: p.name, addresses: p.addresses.map(hex), addressStrings: p.addresses.map((a) => multiaddr(a).toString()) })), expected.protocols)
      } else {
        assert.deepEqual(toPlain(decoded), v.value)
      }
      assert.equal(hex(codec.encode(decoded as never)), v.hex)
    })
  }

  for (const v of file.vectors.filter((x) => x.type === 'ClientDealProposal')) {
    it(`${v.name}: proposal CIDs match DealProposal.Cid() and boost's SignedProposalCid`, () => {
      const cdp = P.decodeClientDealProposal(unhex(v.hex))
      assert.equal(P.proposalCid(cdp.proposal).toString(), v.facts?.proposalCid)
      assert.equal(P.signedProposalCid(cdp).toString(), v.facts?.signedProposalCid)
      assert.equal(hex(P.encodeDealProposal(cdp.proposal)), v.facts?.signedHex)
      const signer = v.facts?.signer as string | undefined
      if (v.facts?.verifies === true) {
        assert.ok(signer != null)
        assert.equal(P.verifyProposalSignature(cdp, Address.fromString(signer)), true)
        // The same bytes signed by someone else must not verify.
        const other = file.keys[cdp.clientSignature.type === 1 ? 'secp-worker' : 'bls-worker']!.address
        assert.equal(P.verifyProposalSignature(cdp, Address.fromString(other)), false)
      } else {
        assert.equal(cdp.clientSignature.type, 3)
        assert.equal(verifySignature(cdp.clientSignature, cdp.proposal.client, P.encodeDealProposal(cdp.proposal)), false)
      }
    })
  }

  for (const v of file.vectors.filter((x) => x.facts?.signer != null && x.type !== 'ClientDealProposal' && x.type !== 'DealProposal')) {
    it(`${v.name}: the signature verifies against its signer and not after a bit flip`, () => {
      const decoded = codecs[v.type]!.decode(unhex(v.hex)) as { signature?: Signature, ask?: { signature: Signature | null } | null }
      const sig = decoded.signature ?? decoded.ask?.signature
      assert.ok(sig != null)
      const signer = Address.fromString(v.facts!.signer as string)
      const msg = unhex(v.facts!.signedHex as string)
      assert.equal(verifySignature(sig, signer, msg), true)
      const flipped = Uint8Array.from(msg)
      flipped[0]! ^= 1
      assert.equal(verifySignature(sig, signer, flipped), false)
    })
  }

  for (const [name, k] of Object.entries(file.keys)) {
    it(`key file ${name} loads to the address Go derived, and signs as Go did`, async () => {
      const key = await loadKeyFile(fixturesDir + k.file)
      assert.equal(key.type, k.type)
      assert.equal(key.address.toString(), k.address)
      // Go signed with deterministic RFC 6979 (secp) or plain BLS: ours must give the same bytes.
      const v = file.vectors.find((x) => x.facts?.signer === k.address && x.facts?.verifies === true && x.type !== 'DealProposal')
      assert.ok(v != null, `no vector signed by ${name}`)
      const decoded = codecs[v.type]!.decode(unhex(v.hex)) as { clientSignature?: Signature, signature?: Signature, ask?: { signature: Signature | null } | null }
      const goSig = decoded.clientSignature ?? decoded.signature ?? decoded.ask?.signature
      assert.ok(goSig != null)
      const ours = sign(key, unhex(v.facts!.signedHex as string))
      assert.equal(ours.type, goSig.type)
      assert.equal(hex(ours.data), hex(goSig.data))
    })
  }

  it('a 1.2.0 (5-key) DealParams decodes with both 1.2.1 booleans false and re-encodes as 7 keys', () => {
    const v = file.vectors.find((x) => x.type === 'DealParamsV120')!
    const d = P.decodeDealParams(unhex(v.hex))
    assert.equal(d.skipIpniAnnounce, false)
    assert.equal(d.removeUnsealedCopy, false)
    const seven = P.encodeDealParams(d)
    assert.equal(seven[0], 0xa7)
    assert.deepEqual(toPlain(P.decodeDealParams(seven)), v.value)
  })
})
