/**
 * A whole-number flag's value: decimal digits only, within JavaScript's safe integers; undefined
 * otherwise. Number() alone also takes '' (as 0), ' 12 ', 1e3 and 0x10, none of which anyone
 * means as a count, an epoch or a number of seconds. Each subcommand words its own refusal.
 */
export function wholeNumber (text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : undefined
}
