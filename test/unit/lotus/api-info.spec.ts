import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isApiInfo, parseApiInfo } from '../../../src/lotus/api-info.ts'
import { DealyardError } from '../../../src/errors.ts'

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIl19.c2VjcmV0c2lnbmF0dXJl'

describe('Lotus API info', () => {
  it('reads TOKEN:MULTIADDR as lotus dials it, over HTTP', () => {
    assert.deepEqual(parseApiInfo(`${JWT}:/ip4/127.0.0.1/tcp/1234/http`), { url: 'http://127.0.0.1:1234/rpc/v1', token: JWT })
    assert.deepEqual(parseApiInfo(`${JWT}:/ip6/::1/tcp/1234/ws`), { url: 'http://[::1]:1234/rpc/v1', token: JWT })
    assert.deepEqual(parseApiInfo(`${JWT}:/dns4/lotus.lotus.svc/tcp/443/tls/http`), { url: 'https://lotus.lotus.svc:443/rpc/v1', token: JWT })
    assert.deepEqual(parseApiInfo('/ip4/10.0.0.1/tcp/1234', 'v0'), { url: 'http://10.0.0.1:1234/rpc/v0' })
    // A URL address gets /rpc/<version>, as lotus's DialArgs appends it; ws becomes http.
    assert.deepEqual(parseApiInfo(`${JWT}:ws://lotus:1234`), { url: 'http://lotus:1234/rpc/v1', token: JWT })
    assert.deepEqual(parseApiInfo(`${JWT}:https://lotus.example/`), { url: 'https://lotus.example/rpc/v1', token: JWT })
  })

  it('gives a URL without a token /rpc/<version> too, unless it names it already', () => {
    assert.deepEqual(parseApiInfo('http://127.0.0.1:1234'), { url: 'http://127.0.0.1:1234/rpc/v1' })
    assert.deepEqual(parseApiInfo('http://127.0.0.1:1234/rpc/v1,http://b:1234'), { url: 'http://127.0.0.1:1234/rpc/v1' })
  })

  it('reads the first of a comma-separated list, as lotus\'s ParseApiInfoMulti does', () => {
    assert.deepEqual(parseApiInfo(`${JWT}:/ip4/127.0.0.1/tcp/1234/http,other.tok.en:/ip4/10.0.0.2/tcp/1234/http`), { url: 'http://127.0.0.1:1234/rpc/v1', token: JWT })
  })

  it('tells API info from a URL', () => {
    assert.equal(isApiInfo(`${JWT}:/ip4/127.0.0.1/tcp/1234/http`), true)
    assert.equal(isApiInfo('/ip4/127.0.0.1/tcp/1234/http'), true)
    assert.equal(isApiInfo('http://127.0.0.1:1234/rpc/v1'), false)
    assert.equal(isApiInfo('http://user:pw@127.0.0.1:1234/rpc/v1'), false)
  })

  it('refuses what it cannot dial, without repeating the token', () => {
    // The multiaddr parser names the parts it cannot read: a token misplaced after the first colon.
    for (const bad of [`${JWT}:/ip4/127.0.0.1/udp/1234`, `${JWT}:/ip4/1.2.3.4`, `${JWT}:/nonsense`, `${JWT}:ftp://lotus:21`, `${JWT}:/ip4/1.1.1.1/tcp/1/c2VjcmV0c2lnbmF0dXJl`]) {
      assert.throws(() => parseApiInfo(bad), (err: unknown) => err instanceof DealyardError && err.code === 'ERR_LOTUS_API_INFO' && !err.message.includes('c2VjcmV0c2lnbmF0dXJl'), bad)
    }
  })
})
