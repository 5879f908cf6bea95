import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DealyardError } from '../../../src/errors.ts'
import { encodeKeyFile, generateKey, loadKeyFile, parseKeyFile } from '../../../src/filecoin/keys.ts'

describe('key files', () => {
  for (const type of ['secp256k1', 'bls'] as const) {
    it(`${type}: a generated key survives the lotus wallet export form and its JSON form`, async () => {
      const k = generateKey(type)
      assert.equal(k.address.protocol, type === 'bls' ? 3 : 1)
      const dir = mkdtempSync(join(tmpdir(), 'keys-'))
      try {
        writeFileSync(join(dir, 'k'), encodeKeyFile(k) + '\n')
        const loaded = await loadKeyFile(join(dir, 'k'))
        assert.ok(loaded.address.equals(k.address))
        assert.deepEqual(loaded.privateKey, k.privateKey)
      } finally { rmSync(dir, { recursive: true, force: true }) }
      const json = Buffer.from(encodeKeyFile(k), 'hex').toString('utf8')
      assert.ok(parseKeyFile(json).address.equals(k.address))
    })
  }

  it('rejects unsupported types, bad encodings and wrong key lengths with ERR_INVALID_KEY', async () => {
    const isKeyErr = (err: unknown): boolean => err instanceof DealyardError && err.code === 'ERR_INVALID_KEY'
    assert.throws(() => parseKeyFile('zz'), isKeyErr)
    assert.throws(() => parseKeyFile(JSON.stringify({ Type: 'delegated', PrivateKey: 'AA==' })), isKeyErr)
    assert.throws(() => parseKeyFile(JSON.stringify({ Type: 'secp256k1', PrivateKey: 'AAAA' })), isKeyErr)
    await assert.rejects(loadKeyFile('/nonexistent/key'), isKeyErr)
  })
})
