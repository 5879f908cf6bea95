/**
 * WalletSign on the full node, and the miner-data signature boost makes for the storage ask
 * (storedask.go signMinerData: StateMinerInfo → worker, StateAccountKey(worker), WalletSign).
 */
import type { FullNodeClient } from './fullnode.ts'
import { num, obj, str } from './json.ts'

export interface WalletSignature { type: 1 | 2 | 3, data: Uint8Array }

/** lotus WalletSign(addr, msg): the node's wallet signs `message` with the key of `addr`. */
export async function walletSign (full: FullNodeClient, addr: string, message: Uint8Array): Promise<WalletSignature> {
  const r = obj(await full.rpc.call('WalletSign', [addr, Buffer.from(message).toString('base64')]), 'WalletSign')
  const type = num(r.Type, 'WalletSign.Type')
  if (type !== 1 && type !== 2 && type !== 3) throw new Error(`WalletSign: unexpected signature type ${type}`)
  return { type, data: new Uint8Array(Buffer.from(str(r.Data, 'WalletSign.Data'), 'base64')) }
}

/** Signs miner data (the CBOR of a StorageAsk) with the miner's worker key, as boost does. */
export async function signWithWorker (full: FullNodeClient, miner: string, message: Uint8Array): Promise<WalletSignature> {
  const info = await full.stateMinerInfo(miner)
  const key = await full.stateAccountKey(info.worker)
  return await walletSign(full, key, message)
}
