/**
 * Pure admission rules: boost's proposal checks in boost's order, the deal filter, the
 * StorageProvider's policy, and the transfer-host (SSRF) policy.
 *
 * @example
 * const v = evaluate(ADMISSION_CHECKS, { params, provider: providerTerms(sp), chain })
 * if (v !== undefined) reply({ accepted: false, message: v.message })
 */
export { evaluate, fact, failedFact, addressKey, addressString } from './admission.ts'
export type { AdmissionInput, ChainFacts, Check, Fact, PriorDeal, ProviderTerms, Violation } from './admission.ts'
export * from './checks.ts'
export { providerTerms, type TermsOptions } from './terms.ts'
