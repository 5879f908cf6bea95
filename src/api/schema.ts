/**
 * A tiny builder for the OpenAPI v3 structural schemas of our CRDs. One schema value is the single
 * source for three things: the CRD YAML the apiserver enforces, the TypeScript types the code uses
 * (`title` names a generated interface) and the runtime validator the ingress runs before a create.
 */
export interface Validation {
  rule: string
  message: string
  fieldPath?: string
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate'
}

export interface Schema {
  type?: 'object' | 'string' | 'integer' | 'boolean' | 'array'
  title?: string
  description?: string
  format?: 'int64' | 'int32' | 'date-time' | 'byte'
  properties?: Record<string, Schema>
  required?: string[]
  additionalProperties?: Schema
  items?: Schema
  enum?: string[]
  default?: unknown
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  minItems?: number
  maxItems?: number
  'x-kubernetes-validations'?: Validation[]
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map'
  'x-kubernetes-list-map-keys'?: string[]
  'x-kubernetes-preserve-unknown-fields'?: boolean
  'x-kubernetes-embedded-resource'?: boolean
}

type Opts = Omit<Schema, 'type' | 'description' | 'properties' | 'items'>

export function str (description: string, opts: Opts = {}): Schema {
  return { type: 'string', description, maxLength: 1024, ...opts }
}

/**
 * An integer; at most 2^53 − 1 unless a tighter maximum is given: dealyard reads numbers as
 * JavaScript numbers, and a larger int64 the apiserver took would be rounded, or refused only
 * later, where it is used (an ask with a larger max piece size could not be encoded at all).
 */
export function int (description: string, opts: Opts = {}): Schema {
  return { type: 'integer', format: 'int64', description, maximum: Number.MAX_SAFE_INTEGER, ...opts }
}

export function bool (description: string, opts: Opts = {}): Schema {
  return { type: 'boolean', description, ...opts }
}

export function enumOf (description: string, values: readonly string[], opts: Opts = {}): Schema {
  return { type: 'string', description, enum: [...values], ...opts }
}

export function obj (description: string, properties: Record<string, Schema>, opts: Opts = {}): Schema {
  return { type: 'object', description, properties, ...opts }
}

export function arr (description: string, items: Schema, opts: Opts = {}): Schema {
  return { type: 'array', description, items, ...opts }
}

export function withRules (s: Schema, ...rules: Validation[]): Schema {
  return { ...s, 'x-kubernetes-validations': [...(s['x-kubernetes-validations'] ?? []), ...rules] }
}

/**
 * The CEL rule that freezes every property of an object except the listed ones. Per-field
 * `self == oldSelf` rules would miss an optional field appearing later (transition rules only run
 * when the field exists on both sides), so the rule compares presence as well as value.
 */
export function immutableExcept (s: Schema, mutable: string[]): string {
  const required = new Set(s.required ?? [])
  const clauses = Object.keys(s.properties ?? {}).filter((k) => !mutable.includes(k)).map((k) =>
    required.has(k)
      ? `self.${k} == oldSelf.${k}`
      : `(has(self.${k}) == has(oldSelf.${k}) && (!has(self.${k}) || self.${k} == oldSelf.${k}))`)
  return clauses.join(' && ')
}
