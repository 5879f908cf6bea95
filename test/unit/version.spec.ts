import { it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DEALYARD_VERSION } from '../../src/version.ts'

it('declares the version package.json has', () => {
  assert.equal(DEALYARD_VERSION, JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version)
})
