/**
 * boost's transfer params (transport/types.HttpRequest) read the way boost reads them. One reading
 * for the ingress's admission and the transfer program, so a deal that is accepted can start.
 */
import { unmarshalHttpRequest } from './go-json.ts'

const utf8 = new TextEncoder()

/**
 * The params as Go's json.Unmarshal into boost's HttpRequest{URL string; Headers map[string]string}
 * takes them (a port of Go 1.26's encoding/json, src/policy/go-json.ts): the same syntax and type
 * error texts, keys matched with Go's case folding, null as the zero value, invalid UTF-8 and lone
 * surrogates in strings as U+FFFD. What boost cannot read it refuses; so does dealyard, rather than
 * accept a deal its transfer could never start.
 *
 * Pass the params' bytes to read them exactly as boost does. Text is read as its UTF-8 encoding,
 * which is the same thing only when the text came from well-formed UTF-8 with nothing dropped (a
 * default TextDecoder replaces invalid bytes its own way and strips a leading BOM, which Go
 * refuses).
 */
export function httpRequestOf (params: string | Uint8Array): { url: string, headers: Record<string, string> } | { error: string } {
  return unmarshalHttpRequest(typeof params === 'string' ? utf8.encode(params) : params)
}
