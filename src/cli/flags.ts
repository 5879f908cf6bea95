/** Command-line flag checks shared by the subcommands: a mistake is named by its flag before any work starts. */
import { CID } from 'multiformats/cid'
import { Address } from '../filecoin/address.ts'
import { isPieceCid, parseCidAnyBase } from '../filecoin/cid.ts'
import { parseFIL } from '../filecoin/token.ts'
import { isUuid } from '../protocol/uuid.ts'
import { UsageError } from '../transfer/cli-support.ts'
import { isHeaderName, isHeaderValue } from '../transfer/http1.ts'

export { UsageError }

/**
 * A CID flag, in any multibase go-cid reads (base32 upper or lower, base58, base64…), checked (and,
 * with `piece`, checked to be a piece CID, `piece` saying what one is). Returns its canonical text
 * (base32 for v1, base58 for v0), as go-cid's String() writes it: what boost puts in a deal's label.
 */
export function cidFlag (text: string, flag: string, piece?: string): string {
  let c: CID
  try { c = parseCidAnyBase(text) } catch (err) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a CID: ${(err as Error).message}`)
  }
  if (piece !== undefined && !isPieceCid(c)) throw new UsageError(`${flag} ${text} is not a piece CID (${piece})`)
  return c.toString()
}

/** A Filecoin address flag (f0…, f1…, f3…; t… on test networks). */
export function addressFlag (text: string, flag: string): string {
  try { Address.fromString(text) } catch (err) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a Filecoin address: ${(err as Error).message}`)
  }
  return text
}

/**
 * A deal UUID flag, in the forms boost's uuid.Parse reads (8-4-4-4-12, in braces, as urn:uuid:…,
 * or 32 hex digits); its canonical lowercase 8-4-4-4-12 form.
 */
export function uuidFlag (text: string, flag: string): string {
  let t = text
  if (t.length === 45 && t.slice(0, 9).toLowerCase() === 'urn:uuid:') t = t.slice(9)
  else if (t.length === 38 && t.startsWith('{') && t.endsWith('}')) t = t.slice(1, -1)
  else if (/^[0-9a-fA-F]{32}$/.test(t)) t = `${t.slice(0, 8)}-${t.slice(8, 12)}-${t.slice(12, 16)}-${t.slice(16, 20)}-${t.slice(20)}`
  if (!isUuid(t)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a UUID (e.g. 0b5a4f3e-7d0c-4b7e-9a52-3f1d8c2e6a10)`)
  }
  return t.toLowerCase()
}

/**
 * A transfer header flag: `Name: value`, or `Name=value` as `boost deal --http-headers` takes it,
 * split at whichever of ':' and '=' comes first (neither can be in a header name). The name must
 * be an HTTP token and the value free of control characters but tab: what Go's net/http, which
 * boost's transfer uses, would send; a value with CR or LF would be refused only at transfer time.
 */
export function headerFlag (text: string, flag: string): [string, string] {
  const m = /^([^:=]*)[:=](.*)$/s.exec(text)
  const name = m?.[1]?.trim() ?? ''
  const value = m?.[2]?.trim() ?? ''
  // Neither message repeats the value: it is often a credential.
  if (m === null) throw new UsageError(`${flag}: expected 'Name: value' (or Name=value), got text with neither ':' nor '='`)
  if (!isHeaderName(name)) throw new UsageError(`${flag}: what comes before the first ':' or '=' is not an HTTP header name (letters, digits and -, no spaces)`)
  if (!isHeaderValue(value)) throw new UsageError(`${flag} ${name}: the value has a control character (CR, LF…), which no HTTP request can carry`)
  return [name, value]
}

/**
 * A token amount flag: an integer is attoFIL, as `boost deal` reads it; a number with a unit
 * ("0.5 FIL", "10 nanoFIL", "2000 attoFIL") is read as written.
 */
export function amountFlag (text: string, flag: string): bigint {
  if (/^\d+$/.test(text)) return BigInt(text)
  if (!/[a-z]\s*$/i.test(text)) throw new UsageError(`${flag} ${JSON.stringify(text)}: an integer number of attoFIL, or an amount with its unit (e.g. "0.5 FIL")`)
  try {
    const v = parseFIL(text)
    if (v < 0n) throw new Error('negative')
    return v
  } catch (err) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not an amount: ${(err as Error).message}`)
  }
}

/**
 * A usage error's message for stderr. node's parseArgs quotes the argument it did not expect,
 * which is most often the second half of an unquoted value (`--header X-Api-Key: TOKEN`): that
 * half is not repeated.
 */
export function usageMessage (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  if ((err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return 'an argument that belongs to no flag (a value with spaces must be quoted, as in --header \'Name: value\')'
  }
  return message
}
