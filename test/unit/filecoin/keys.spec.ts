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

  it('reads PrivateKey as strict padded base64, as Lotus does, not skipping what is not base64', () => {
    const k = generateKey('secp256k1')
    const b64 = Buffer.from(k.privateKey).toString('base64')
    const isKeyErr = (err: unknown): boolean => err instanceof DealyardError && err.code === 'ERR_INVALID_KEY' && /base64/.test(err.message)
    assert.ok(parseKeyFile(JSON.stringify({ Type: 'secp256k1', PrivateKey: b64 })).address.equals(k.address))
    // Buffer.from(…, 'base64') would drop the '!' and the spaces and load the same key.
    assert.throws(() => parseKeyFile(JSON.stringify({ Type: 'secp256k1', PrivateKey: b64.slice(0, 8) + '!' + b64.slice(8) })), isKeyErr)
    assert.throws(() => parseKeyFile(JSON.stringify({ Type: 'secp256k1', PrivateKey: b64.slice(0, 8) + '    ' + b64.slice(8) })), isKeyErr)
    assert.throws(() => parseKeyFile(JSON.stringify({ Type: 'secp256k1', PrivateKey: b64.replace(/=+$/, '') })), isKeyErr)
    assert.throws(() => parseKeyFile(JSON.stringify({ Type: 'secp256k1', PrivateKey: Buffer.from(k.privateKey).toString('base64url') + '_-' })), isKeyErr)
  })

  it('refuses a BLS key that is not a scalar below the group order, as filecoin-ffi does (noble would reduce it)', () => {
    const r = (1n << 255n) - 1n // above r = 0x73ed…0001
    const le = Buffer.from(r.toString(16).padStart(64, '0'), 'hex').reverse()
    const isKeyErr = (err: unknown): boolean => err instanceof DealyardError && err.code === 'ERR_INVALID_KEY' && /\[1, r\)/.test(err.message)
    assert.throws(() => parseKeyFile(JSON.stringify({ Type: 'bls', PrivateKey: le.toString('base64') })), isKeyErr)
    assert.throws(() => parseKeyFile(JSON.stringify({ Type: 'bls', PrivateKey: Buffer.alloc(32).toString('base64') })), isKeyErr)
  })

  it('reads no more than 64 KiB of a key file: a device or a wrong path is refused, not read until memory runs out', async () => {
    const isKeyErr = (err: unknown): boolean => err instanceof DealyardError && err.code === 'ERR_INVALID_KEY' && /larger than 64 KiB/.test(err.message)
    await assert.rejects(loadKeyFile('/dev/zero'), isKeyErr)
    const dir = mkdtempSync(join(tmpdir(), 'keys-'))
    try {
      writeFileSync(join(dir, 'big'), Buffer.alloc(64 * 1024 + 1, 0x20))
      await assert.rejects(loadKeyFile(join(dir, 'big')), isKeyErr)
    } finally { rmSync(dir, { recursive: true, force: true }) }
  })
})
