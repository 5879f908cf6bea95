/**
 * A3 for clients whose account key is delegated (f4): boost's verifier asks the client actor
 * (AuthenticateMessage through StateCall) instead of checking the signature itself, and words its
 * three outcomes differently (storagemarket/deal_acceptance.go validateDealProposal).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Address } from '../../../src/filecoin/address.ts'
import { generateKey } from '../../../src/filecoin/keys.ts'
import { pieceCidFromCommP } from '../../../src/filecoin/cid.ts'
import { buildDealParams } from '../../../src/client/proposal.ts'
import { encodeDealProposal } from '../../../src/protocol/index.ts'
import { ADMISSION_CHECKS, evaluate, fact, failedFact, providerTerms, type AdmissionInput } from '../../../src/policy/index.ts'
import type { StorageProvider } from '../../../src/api/index.ts'
import { delegatedKey, signDelegated } from '../../support/delegated.ts'
import { storageProvider } from '../../support/builders.ts'

const f4 = delegatedKey()
const HEAD = 100_000

/** Free, so the proposal's price never decides: only the signature checks are under test. */
const sp: StorageProvider = { ...storageProvider('sp1'), spec: { ...storageProvider('sp1').spec, ask: { price: '0', verifiedPrice: '0', minPieceSize: 256, maxPieceSize: 1 << 30 } } }

/** A valid online proposal from the f410 client (signed with its delegated key), with `chain` facts over the valid ones. */
function input (chain: Partial<AdmissionInput['chain']> = {}, client = f4.address.toString()): AdmissionInput {
  const params = buildDealParams({
    key: generateKey('secp256k1'),
    client,
    provider: 'f01000',
    pieceCid: pieceCidFromCommP(new Uint8Array(32).fill(5)).toString(),
    pieceSize: 2048,
    payloadCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
    startEpoch: HEAD + 3000,
    http: { url: 'https://data.example.com/a.car', size: 1900 }
  })
  params.clientDealProposal.clientSignature = signDelegated(f4, encodeDealProposal(params.clientDealProposal.proposal))
  return {
    params,
    provider: providerTerms(sp),
    chain: {
      head: fact(HEAD),
      clientKey: fact(f4.address),
      collateralBounds: fact({ min: 0n, max: 10n }),
      clientBalance: fact({ escrow: 10n ** 18n, locked: 0n }),
      clientAuthentication: fact({ exitCode: 0, error: '', returned: Uint8Array.of(0xf5) }),
      ...chain
    }
  }
}

describe('client signature of a delegated (f4) key: AuthenticateMessage', () => {
  it('accepts when the client actor exits 0 with true (a contract that says yes), whatever the signature', () => {
    assert.equal(evaluate(ADMISSION_CHECKS, input()), undefined)
    const i = input()
    i.params.clientDealProposal.clientSignature = { type: 1, data: new Uint8Array(65) }
    assert.equal(evaluate(ADMISSION_CHECKS, i), undefined, 'the actor judged it; dealyard does not check it again')
    // An ID-address client whose account key is delegated is judged the same way.
    assert.equal(evaluate(ADMISSION_CHECKS, input({}, 'f01234')), undefined)
  })

  it('passes boost\'s A3 on exit 0 alone, but refuses by policy an answer that is not true (an EthAccount returns nothing: the market actor would not publish)', () => {
    for (const [returned, shown] of [[null, 'nothing'], [Uint8Array.of(0xf4), '0xf4'], [Uint8Array.of(0xf5, 0x00), '0xf500']] as const) {
      const v = evaluate(ADMISSION_CHECKS, input({ clientAuthentication: fact({ exitCode: 0, error: '', returned }) }))
      assert.deepEqual([v?.stage, v?.reason, v?.message], ['policy', 'ClientNotAuthenticated',
        `client ${f4.address.toString()} did not authenticate the proposal (its actor's AuthenticateMessage returned ${shown}, not true): the market actor would refuse to publish it`])
    }
    // boost's own checks (validation, filter) come first: a wrong provider is still answered as boost answers it.
    const i = input({ clientAuthentication: fact({ exitCode: 0, error: '', returned: null }) })
    i.params.clientDealProposal.proposal.provider = Address.fromString('f09')
    assert.equal(evaluate(ADMISSION_CHECKS, i)?.reason, 'IncorrectProvider')
  })

  it('answers boost\'s "invalid signature" when the actor exits non-zero, with the exit code for the operator', () => {
    const v = evaluate(ADMISSION_CHECKS, input({ clientAuthentication: fact({ exitCode: 33, error: 'contract reverted', returned: null }) }))
    assert.deepEqual([v?.stage, v?.reason, v?.message, v?.detail],
      ['validation', 'InvalidSignature', 'failed validation: invalid signature', `AuthenticateMessage on ${f4.address.toString()} exited 33: contract reverted`])
    const bare = evaluate(ADMISSION_CHECKS, input({ clientAuthentication: fact({ exitCode: 18, error: '', returned: null }) }))
    assert.equal(bare?.detail, `AuthenticateMessage on ${f4.address.toString()} exited 18`)
  })

  it('answers boost\'s server error when StateCall fails, and when it was never made', () => {
    const v = evaluate(ADMISSION_CHECKS, input({ clientAuthentication: failedFact('lotus full: HTTP 503') }))
    assert.deepEqual([v?.reason, v?.message, v?.detail], ['AuthenticateMessageFailed', 'failed validation: server error: validating signature', 'StateCall: lotus full: HTTP 503'])
    const { clientAuthentication: _, ...chain } = input().chain
    const missing = evaluate(ADMISSION_CHECKS, { ...input(), chain })
    assert.deepEqual([missing?.reason, missing?.message], ['AuthenticateMessageFailed', 'failed validation: server error: validating signature'])
  })

  it('keeps boost\'s order: the account key first, and the signature before the provider', () => {
    const noKey = evaluate(ADMISSION_CHECKS, input({ clientKey: failedFact('x'), clientAuthentication: fact({ exitCode: 33, error: '', returned: null }) }))
    assert.equal(noKey?.reason, 'SignatureLookupFailed')
    const i = input({ clientAuthentication: fact({ exitCode: 33, error: '', returned: null }) })
    i.params.clientDealProposal.proposal.provider = Address.fromString('f09')
    assert.equal(evaluate(ADMISSION_CHECKS, i)?.message, 'failed validation: invalid signature')
  })

  it('does not use the fact for secp256k1/BLS keys: their signatures are checked here', () => {
    const key = generateKey('secp256k1')
    const i = input({ clientKey: fact(key.address), clientAuthentication: fact({ exitCode: 0, error: '', returned: null }) })
    // Signed by the f410 key, not by the f1's: refused however the (irrelevant) call went.
    assert.equal(evaluate(ADMISSION_CHECKS, i)?.message, 'failed validation: server error: validating signature')
  })
})
