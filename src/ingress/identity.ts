/**
 * The ingress's libp2p identity: a libp2p protobuf-encoded private key in a file (a Secret mounted
 * into every replica, so all replicas are the same peer). `generateIdentityFile` makes one.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { DealyardError } from '../errors.ts'

export async function loadIdentity (path: string): Promise<PrivateKey> {
  let bytes: Buffer
  try { bytes = await readFile(path) } catch (err) {
    throw new DealyardError('ERR_IDENTITY', `identity file ${path}: ${(err as Error).message}`, { cause: err })
  }
  try { return privateKeyFromProtobuf(bytes) } catch (err) {
    throw new DealyardError('ERR_IDENTITY', `identity file ${path}: not a libp2p protobuf private key: ${(err as Error).message}`, { cause: err })
  }
}

/** Writes a new Ed25519 identity (mode 0600) and returns its peer ID. */
export async function generateIdentityFile (path: string): Promise<string> {
  const key = await generateKeyPair('Ed25519')
  await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  return peerIdFromPrivateKey(key).toString()
}
