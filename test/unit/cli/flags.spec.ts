import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { base64 } from 'multiformats/bases/base64'
import { CID } from 'multiformats/cid'
import { cidFlag, headerFlag, UsageError, uuidFlag } from '../../../src/cli/flags.ts'

describe('command-line flags', () => {
  it('reads a UUID in every form boost\'s uuid.Parse takes, giving the canonical one', () => {
    const canonical = '0b5a4f3e-7d0c-4b7e-9a52-3f1d8c2e6a10'
    for (const form of [canonical, canonical.toUpperCase(), `{${canonical}}`, `urn:uuid:${canonical}`, `URN:UUID:${canonical}`, canonical.replaceAll('-', '')]) {
      assert.equal(uuidFlag(form, '--uuid'), canonical, form)
    }
    for (const bad of ['xyz', `{${canonical}`, `urn:uuid:${canonical}x`, canonical.replaceAll('-', '').slice(1), `${canonical} `]) {
      assert.throws(() => uuidFlag(bad, '--uuid'), UsageError, bad)
    }
  })

  it('reads a CID in any multibase go-cid reads, giving go-cid\'s String() form', () => {
    const root = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
    const c = CID.parse(root)
    assert.equal(cidFlag(c.toString(base64.encoder), '--payload-cid'), root)
    assert.equal(cidFlag(root.toUpperCase(), '--payload-cid'), root)
    const v0 = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
    assert.equal(cidFlag(v0, '--payload-cid'), v0)
    assert.throws(() => cidFlag('bafynope', '--payload-cid'), UsageError)
  })

  it('reads a transfer header as Name: value or Name=value, refusing what HTTP cannot carry', () => {
    assert.deepEqual(headerFlag('Authorization: Bearer a=b', '--http-header'), ['Authorization', 'Bearer a=b'])
    assert.deepEqual(headerFlag('Authorization=Bearer:abc', '--http-header'), ['Authorization', 'Bearer:abc'])
    assert.deepEqual(headerFlag('X-Empty:', '--http-header'), ['X-Empty', ''])
    for (const bad of ['no separator', ': v', 'Bad Name: v', 'X: a\r\nInjected: 1', 'X: a\nb', 'X: \u0000']) {
      assert.throws(() => headerFlag(bad, '--http-header'), UsageError, JSON.stringify(bad))
    }
  })
})
