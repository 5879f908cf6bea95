/** Command-line flag checks shared by the subcommands: a mistake is named by its flag before any work starts. */
import { CID } from 'multiformats/cid'
import { Address } from '../filecoin/address.ts'
import { isPieceCid } from '../filecoin/cid.ts'
import { parseFIL } from '../filecoin/token.ts'
import { isUuid } from '../protocol/uuid.ts'
import { UsageError } from '../transfer/cli-support.ts'

export { UsageError }

/** A CID flag's text, checked (and, with `piece`, checked to be a piece CID, `piece` saying what one is). */
export function cidFlag (text: string, flag: string, piece?: string): string {
  let c: CID
  try { c = CID.parse(text) } catch (err) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a CID: ${(err as Error).message}`)
  }
  if (piece !== undefined && !isPieceCid(c)) throw new UsageError(`${flag} ${text} is not a piece CID (${piece})`)
  return text
}

/** A Filecoin address flag (f0…, f1…, f3…; t… on test networks). */
export function addressFlag (text: string, flag: string): string {
  try { Address.fromString(text) } catch (err) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a Filecoin address: ${(err as Error).message}`)
  }
  return text
}

/** A deal UUID flag (RFC 4122 text form, as boost prints it). */
export function uuidFlag (text: string, flag: string): string {
  if (!isUuid(text)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a UUID (e.g. 0b5a4f3e-7d0c-4b7e-9a52-3f1d8c2e6a10)`)
  }
  return text.toLowerCase()
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
