/**
 * Checks a value against one of our structural schemas the way the apiserver's OpenAPI validation
 * does (types, required, enums, bounds, patterns, unknown fields), so the ingress can refuse bad
 * input with a precise message before a create. CEL rules are left to the apiserver.
 */
import type { Schema } from './schema.ts'

export interface FieldError { path: string, message: string }

function typeName (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

export function validate (value: unknown, schema: Schema, path = ''): FieldError[] {
  const errors: FieldError[] = []
  const fail = (message: string): void => { errors.push({ path: path === '' ? '<root>' : path, message }) }
  const t = typeName(value)
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') { fail(`expected string, got ${t}`); return errors }
      if (schema.enum != null && !schema.enum.includes(value)) fail(`must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`)
      if (schema.maxLength != null && value.length > schema.maxLength) fail(`may be at most ${schema.maxLength} characters`)
      if (schema.minLength != null && value.length < schema.minLength) fail(`must be at least ${schema.minLength} characters`)
      if (schema.pattern != null && !new RegExp(schema.pattern, 'u').test(value)) fail(`must match ${schema.pattern}`)
      if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) fail('must be an RFC 3339 date-time')
      return errors
    }
    case 'integer':
      if (t !== 'integer') { fail(`expected integer, got ${t}`); return errors }
      if (schema.minimum != null && (value as number) < schema.minimum) fail(`must be ≥ ${schema.minimum}`)
      if (schema.maximum != null && (value as number) > schema.maximum) fail(`must be ≤ ${schema.maximum}`)
      return errors
    case 'boolean':
      if (t !== 'boolean') fail(`expected boolean, got ${t}`)
      return errors
    case 'array': {
      if (!Array.isArray(value)) { fail(`expected array, got ${t}`); return errors }
      if (schema.maxItems != null && value.length > schema.maxItems) fail(`may hold at most ${schema.maxItems} items`)
      if (schema.minItems != null && value.length < schema.minItems) fail(`must hold at least ${schema.minItems} items`)
      value.forEach((item, i) => errors.push(...validate(item, schema.items ?? {}, `${path}[${i}]`)))
      return errors
    }
    case 'object': {
      if (t !== 'object') { fail(`expected object, got ${t}`); return errors }
      const obj = value as Record<string, unknown>
      for (const key of schema.required ?? []) {
        if (obj[key] === undefined) errors.push({ path: path === '' ? key : `${path}.${key}`, message: 'required' })
      }
      for (const [key, v] of Object.entries(obj)) {
        const sub = path === '' ? key : `${path}.${key}`
        const prop = schema.properties?.[key] ?? schema.additionalProperties
        if (prop == null) {
          if (schema.properties != null && schema['x-kubernetes-preserve-unknown-fields'] !== true) errors.push({ path: sub, message: 'unknown field' })
          continue
        }
        if (v === undefined) continue
        errors.push(...validate(v, prop, sub))
      }
      return errors
    }
    default:
      return errors
  }
}

export function formatErrors (errors: FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('; ')
}
