/** Command-line flag checks shared by the subcommands: a mistake is named by its flag before any work starts. */
import { CID } from 'multiformats/cid'
import { isPieceCid } from '../filecoin/cid.ts'
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
