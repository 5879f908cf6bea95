import { it } from 'node:test'
import assert from 'node:assert/strict'
import { intFlag } from '../../../src/transfer/cli-support.ts'
import { MAX_TIMER_SECONDS } from '../../../src/api/common.ts'

it('takes integer flags within their bound and names the flag and the bound otherwise', () => {
  assert.equal(intFlag('60', '--stall-timeout', MAX_TIMER_SECONDS), 60)
  assert.equal(intFlag(undefined, '--deadline', MAX_TIMER_SECONDS), undefined)
  // A 30-day deadline: past what a Node timer can wait, so it would fire at once.
  assert.throws(() => intFlag('2592000', '--deadline', MAX_TIMER_SECONDS), /^TransferError: --deadline must be at most 2147483, got 2592000$/)
  assert.throws(() => intFlag('-1', '--deadline'), /--deadline must be a non-negative integer, got -1/)
})
