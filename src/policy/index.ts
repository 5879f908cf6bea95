/**
 * Pure admission rules: boost's proposal checks in boost's order, the deal filter, the
 * StorageProvider's policy, and the transfer-host (SSRF) policy.
 *
 * @example
 * const v = evaluate(ADMISSION_CHECKS, { params, provider: providerTerms(sp), chain })
 * if (v !== undefined) reply({ accepted: false, message: v.message })
 */
export { evaluate, fact, failedFact, addressKey, addressString } from './admission.ts'
export type { AdmissionInput, ChainFacts, Check, Fact, FundsPosition, PriorDeal, ProviderTerms, StagingPosition, Violation } from './admission.ts'
export { holdingOf, HoldingIndex, type Holding, type HeldTotals } from './holdings.ts'
export * from './checks.ts'
export { providerTerms, type TermsOptions } from './terms.ts'
export { httpRequestOf } from './http-request.ts'
