/**
 * metav1.Condition bookkeeping, as cert-manager's SetCertificateCondition does it: one setter that
 * stamps observedGeneration, keeps lastTransitionTime when the status did not change and moves it
 * when it did. Pure: the caller writes the result through the status subresource.
 */
export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason: string
  message: string
  observedGeneration?: number
  lastTransitionTime: string
}

export interface ConditionInput {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason: string
  message: string
}

export function setCondition (conditions: Condition[] | undefined, input: ConditionInput, generation: number | undefined, now: Date): Condition[] {
  const list = [...(conditions ?? [])]
  const i = list.findIndex((c) => c.type === input.type)
  const prev = i >= 0 ? list[i] : undefined
  const next: Condition = {
    ...input,
    lastTransitionTime: prev != null && prev.status === input.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z')
  }
  if (generation != null) next.observedGeneration = generation
  if (i >= 0) list[i] = next
  else list.push(next)
  return list
}

export function getCondition (conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type)
}

export function isTrue (conditions: Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True'
}
