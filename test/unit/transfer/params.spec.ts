import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseTransferParams, checkTransferUrl, parseHeaderFlag } from '../../../src/transfer/params.ts'

test('boost Params JSON parses with Go\'s case-insensitive keys and null Headers', () => {
  assert.deepEqual(parseTransferParams('{"URL":"https://a/b.car","Headers":{"Authorization":"Bearer x"}}'), { url: 'https://a/b.car', headers: { Authorization: 'Bearer x' } })
  assert.deepEqual(parseTransferParams('{"url":"http://a/b","headers":null}'), { url: 'http://a/b', headers: {} })
  assert.deepEqual(parseTransferParams(new TextEncoder().encode('{"Url":"http://a/"}')), { url: 'http://a/', headers: {} })
})

test('params bytes are read as sent, as Go reads them: a leading BOM is an error, not skipped', () => {
  const bom = Uint8Array.from([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"URL":"http://a/"}')])
  assert.throws(() => parseTransferParams(bom), { code: 'TRANSFER_PARAMS', message: /invalid character 'ï' looking for beginning of value/ })
})

const bad: Record<string, string> = {
  'an empty URL': '{"URL":""}',
  'no URL at all': '{"Headers":{}}',
  'not JSON': '{URL:',
  'an array': '[]',
  'a non-string header': '{"URL":"http://a","Headers":{"X":1}}'
}
for (const [name, json] of Object.entries(bad)) {
  test(`params with ${name} are refused`, () => { assert.throws(() => parseTransferParams(json), { code: 'TRANSFER_PARAMS' }) })
}

test('libp2p:// URLs are reported as unsupported, other schemes as bad params', () => {
  assert.throws(() => checkTransferUrl('libp2p:///ip4/1.2.3.4/tcp/1/p2p/12D3KooW'), { code: 'TRANSFER_UNSUPPORTED' })
  assert.throws(() => checkTransferUrl('ftp://a/b'), { code: 'TRANSFER_PARAMS' })
  assert.equal(checkTransferUrl('https://a/b').host, 'a')
})

test('--header flags split at the first colon', () => {
  assert.deepEqual(parseHeaderFlag('Authorization: Bearer a:b'), ['Authorization', 'Bearer a:b'])
  assert.throws(() => parseHeaderFlag('nocolon'), { code: 'TRANSFER_PARAMS' })
})
