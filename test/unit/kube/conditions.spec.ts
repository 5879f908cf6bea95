import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setCondition } from '../../../src/kube/conditions.ts'

const t1 = new Date('2026-01-01T00:00:00Z')
const t2 = new Date('2026-01-01T01:00:00Z')

test('a new condition gets the transition time and observedGeneration', () => {
  const c = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Transferring', message: 'downloading' }, 3, t1)
  assert.deepEqual(c, [{ type: 'Ready', status: 'False', reason: 'Transferring', message: 'downloading', observedGeneration: 3, lastTransitionTime: '2026-01-01T00:00:00Z' }])
})

test('same status with a new reason keeps lastTransitionTime', () => {
  const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Transferring', message: '' }, 1, t1)
  const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Publishing', message: '' }, 2, t2)
  assert.equal(b[0]!.lastTransitionTime, '2026-01-01T00:00:00Z')
  assert.equal(b[0]!.reason, 'Publishing')
  assert.equal(b[0]!.observedGeneration, 2)
})

test('a status change moves lastTransitionTime and leaves other conditions alone', () => {
  const a = setCondition(setCondition(undefined, { type: 'Ready', status: 'False', reason: 'X', message: '' }, 1, t1),
    { type: 'Paused', status: 'False', reason: 'Y', message: '' }, 1, t1)
  const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Complete', message: '' }, 1, t2)
  assert.equal(b.length, 2)
  assert.equal(b[0]!.lastTransitionTime, '2026-01-01T01:00:00Z')
  assert.deepEqual(b[1], a[1])
})
