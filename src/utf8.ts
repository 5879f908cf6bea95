/**
 * The longest prefix of `s` of at most `bytes` UTF-8 bytes, not cutting a character: for limits
 * counted in bytes (cbor-gen's string length, an Event's note).
 */
export function utf8Prefix (s: string, bytes: number): string {
  if (s.length * 3 <= bytes) return s
  const b = Buffer.from(s, 'utf8')
  if (b.length <= bytes) return s
  let end = bytes
  // Back to the start of the character the cut falls in (continuation bytes are 10xxxxxx).
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--
  return b.subarray(0, end).toString('utf8')
}
