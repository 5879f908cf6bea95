/**
 * boost's transfer params (transport/types.HttpRequest) read the way boost reads them. One reading
 * for the ingress's admission and the transfer program, so a deal that is accepted can start.
 */

/** JSON's name for a value's kind, as Go's encoding/json reports it in type errors. */
function jsonKind (v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v
}

/**
 * The params as Go's json.Unmarshal into boost's HttpRequest{URL string; Headers map[string]string}
 * takes them: keys matched case-insensitively, null as the zero value, any other mismatched type an
 * error. What boost cannot read it refuses; so does dealyard, rather than accept a deal its
 * transfer could never start.
 */
export function httpRequestOf (text: string): { url: string, headers: Record<string, string> } | { error: string } {
  let raw: unknown
  try { raw = JSON.parse(text) } catch (err) { return { error: (err as Error).message } }
  if (raw === null) return { url: '', headers: {} }
  if (jsonKind(raw) !== 'object') return { error: `json: cannot unmarshal ${jsonKind(raw)} into Go value of type types.HttpRequest` }
  let url = ''
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = k.toLowerCase()
    if (key === 'url') {
      if (v === null) continue
      if (typeof v !== 'string') return { error: `json: cannot unmarshal ${jsonKind(v)} into Go struct field HttpRequest.URL of type string` }
      url = v
    } else if (key === 'headers') {
      if (v === null) continue
      if (jsonKind(v) !== 'object') return { error: `json: cannot unmarshal ${jsonKind(v)} into Go struct field HttpRequest.Headers of type map[string]string` }
      for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
        if (value !== null && typeof value !== 'string') return { error: `json: cannot unmarshal ${jsonKind(value)} into Go struct field HttpRequest.Headers of type string` }
        headers[name] = value ?? ''
      }
    }
  }
  return { url, headers }
}
