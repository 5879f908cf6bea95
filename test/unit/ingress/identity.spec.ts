import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateIdentityFile, loadIdentity } from '../../../src/ingress/identity.ts'

describe('ingress identity file', () => {
  it('generates an Ed25519 key (mode 0600) that loads back as the same peer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dealyard-id-'))
    const path = join(dir, 'id.key')
    const peerId = await generateIdentityFile(path)
    assert.match(peerId, /^12D3KooW/)
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.equal(peerIdFromPrivateKey(await loadIdentity(path)).toString(), peerId)
    await assert.rejects(generateIdentityFile(path), { code: 'EEXIST' })
  })

  it('refuses a file that is not a libp2p protobuf key, naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dealyard-id-'))
    await writeFile(join(dir, 'bad.key'), 'not a key')
    await assert.rejects(loadIdentity(join(dir, 'bad.key')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_IDENTITY')
      assert.match(err.message, /bad\.key: not a libp2p protobuf private key/)
      return true
    })
    await assert.rejects(loadIdentity(join(dir, 'missing.key')), { code: 'ERR_IDENTITY' })
  })
})
