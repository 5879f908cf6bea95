/**
 * WalletSign on the full node, and the miner-data signature boost makes for the storage ask
 * (storedask.go signMinerData: StateMinerInfo → worker, StateAccountKey(worker), WalletSign).
 */
import type { FullNodeClient } from './fullnode.ts'
import { decodeSignature } from './codec.ts'
import type { Signature } from './types.ts'

/** lotus WalletSign(addr, msg): the node's wallet signs `message` with the key of `addr`. */
export async function walletSign (full: FullNodeClient, addr: string, message: Uint8Array): Promise<Signature> {
  return decodeSignature(await full.rpc.call('WalletSign', [addr, Buffer.from(message).toString('base64')]), 'WalletSign')
}

/** Signs miner data (the CBOR of a StorageAsk) with the miner's worker key, as boost does. */
export async function signWithWorker (full: FullNodeClient, miner: string, message: Uint8Array): Promise<Signature> {
  const info = await full.stateMinerInfo(miner)
  const key = await full.stateAccountKey(info.worker)
  return await walletSign(full, key, message)
}
