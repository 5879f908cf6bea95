import { DealyardError } from '../errors.ts'

/** attoFIL per FIL. Token amounts are bigint attoFIL everywhere in dealyard. */
export const ATTO_PER_FIL = 10n ** 18n

const UNITS: Record<string, number> = {
  fil: 18, millifil: 15, microfil: 12, nanofil: 9, picofil: 6, femtofil: 3, attofil: 0, afil: 0
}

/**
 * Parses an amount like Lotus's types.ParseFIL: "0.5 FIL", "0.5", "-1fil", "500 attoFIL" (also
 * milli/micro/nano/pico/femto). A bare number means FIL. Fractions finer than one attoFIL are an
 * error, as in Lotus.
 */
export function parseFIL (s: string): bigint {
  const m = /^\s*(-?)(\d*)(?:\.(\d*))?\s*([a-zA-Z]*)\s*$/.exec(s)
  if (m == null || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) throw new DealyardError('ERR_INVALID_AMOUNT', `invalid FIL amount ${JSON.stringify(s)}`)
  const unit = (m[4] ?? '').toLowerCase()
  const exp = unit === '' ? 18 : UNITS[unit]
  if (exp === undefined) throw new DealyardError('ERR_INVALID_AMOUNT', `unrecognized suffix ${JSON.stringify(m[4])} in ${JSON.stringify(s)}`)
  const whole = m[2] ?? ''
  const frac = (m[3] ?? '').replace(/0+$/, '')
  if (frac.length > exp) throw new DealyardError('ERR_INVALID_AMOUNT', `${JSON.stringify(s)} is finer than one attoFIL`)
  const v = BigInt((whole === '' ? '0' : whole) + frac.padEnd(exp, '0'))
  return m[1] === '-' ? -v : v
}

/** Formats attoFIL as Lotus's FIL.String(): "0.5 FIL", "0 FIL", "-1.000000000000000001 FIL". */
export function formatFIL (atto: bigint): string {
  const neg = atto < 0n
  const abs = neg ? -atto : atto
  const whole = abs / ATTO_PER_FIL
  const frac = (abs % ATTO_PER_FIL).toString().padStart(18, '0').replace(/0+$/, '')
  return `${neg ? '-' : ''}${whole}${frac === '' ? '' : '.' + frac} FIL`
}

/** Parses a non-negative decimal attoFIL integer (the JSON form of big.Int), e.g. from a CRD. */
export function parseAtto (s: string): bigint {
  if (!/^-?\d+$/.test(s)) throw new DealyardError('ERR_INVALID_AMOUNT', `invalid attoFIL amount ${JSON.stringify(s)}`)
  return BigInt(s)
}
