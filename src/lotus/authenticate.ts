/**
 * FRC-0042 AuthenticateMessage: how the chain checks a signature made by an actor with no key of its
 * own to recover (a delegated f4 client: an EthAccount or a contract). boost's signatureVerifier
 * (node/modules/storageminer.go, verifyContractSignature) simulates it with StateCall: this builds
 * that exact message.
 */
import { CborWriter } from '../protocol/cbor/writer.ts'
import { STORAGE_MARKET_ACTOR } from './psd.ts'
import type { UnsignedMessage } from './types.ts'

/** builtin.GenerateFRCMethodNum("AuthenticateMessage"): FRC-0042's hash of the method name. */
export const METHOD_AUTHENTICATE_MESSAGE = 2_643_134_072

/**
 * CBOR of go-state-types account.AuthenticateMessageParams: the tuple [Signature, Message], both
 * byte strings (cbor-gen, each at most 2 MiB).
 */
export function authenticateMessageParams (signature: Uint8Array, message: Uint8Array): Uint8Array {
  return new CborWriter(signature.length + message.length + 16)
    .header(4, 2)
    .bytes('AuthenticateMessageParams.Signature', signature)
    .bytes('AuthenticateMessageParams.Message', message)
    .finish()
}

/**
 * The message boost's verifier gives StateCall: AuthenticateMessage(signature data, signed bytes)
 * on the client's key address, from the market actor (f05), nonce 1, no value and no gas (Lotus
 * takes the sender's nonce and the block gas limit for a call).
 */
export function authenticateMessageCall (to: string, signature: Uint8Array, message: Uint8Array): UnsignedMessage {
  return {
    version: 0,
    to,
    from: STORAGE_MARKET_ACTOR,
    nonce: 1,
    value: 0n,
    method: METHOD_AUTHENTICATE_MESSAGE,
    params: authenticateMessageParams(signature, message)
  }
}
