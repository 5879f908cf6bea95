import { readFileSync } from 'node:fs'

export interface Fixture { lotus: unknown, expect: Record<string, unknown> }

/** Fixtures written by the Lotus peer (`lotus-peer fixtures`) from Lotus's own encoders. */
export const fixtures = JSON.parse(readFileSync(new URL('./fixtures/lotus-json.json', import.meta.url), 'utf8')) as
  Record<string, Fixture> & {
    rleplus: Array<{ set: number[], rle: string, json: number[] }>
    publishParams: { items: string[], params: string }
  }

export const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))
export const toB64 = (b: Uint8Array | null): string | null => b === null ? null : Buffer.from(b).toString('base64')
