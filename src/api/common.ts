import { MAX_BIGINT_BYTES, MAX_CID_BYTES, MAX_SIGNATURE_BYTES } from '../protocol/cbor/reader.ts'
import { arr, enumOf, int, obj, str, withRules, type Schema } from './schema.ts'

export const GROUP = 'dealyard.io'
export const VERSION = 'v1alpha1'
export const API_VERSION = `${GROUP}/${VERSION}`

/** Token amounts are attoFIL as decimal strings: they overflow JSON numbers (1 FIL = 10^18). */
export const attoFil = (description: string, opts: Partial<Schema> = {}): Schema =>
  str(`${description} (attoFIL, decimal string)`, { pattern: '^(0|[1-9][0-9]{0,40})$', maxLength: 41, ...opts })

export const address = (description: string): Schema =>
  str(description, { pattern: '^[ft][0-4][a-z0-9]{1,120}$', maxLength: 122 })

/** A miner actor: an ID address (the chain's f0/t0 form and go-address's uint64 range). */
export const minerAddress = (description: string): Schema =>
  str(description, { pattern: '^[ft]0(0|[1-9][0-9]{0,19})$', maxLength: 22 })

/** The largest padded piece: a 64 GiB sector's. */
export const MAX_PIECE_SIZE = 68719476736

/** A padded piece size: a power of two from 128 bytes to MAX_PIECE_SIZE. */
export const paddedPieceSize = (description: string, opts: Partial<Schema> = {}): Schema =>
  withRules(int(description, { minimum: 128, maximum: MAX_PIECE_SIZE, ...opts }),
    // CEL has no bit operations: the 30 powers of two in range, listed.
    { rule: `self in [${Array.from({ length: 30 }, (_, i) => 2 ** (i + 7)).join(', ')}]`, message: 'must be a power of two' })

/**
 * The most seconds a Node timer can wait (2^31 − 1 ms): a longer timeout fires at once (a 30-day
 * transfer deadline failed every transfer at its first byte).
 */
export const MAX_TIMER_SECONDS = 2147483

/** A duration in whole seconds that dealyard waits out with a timer. */
export const seconds = (description: string, opts: Partial<Schema> = {}): Schema =>
  int(description, { maximum: MAX_TIMER_SECONDS, ...opts })

export const cid = (description: string): Schema =>
  str(description, { pattern: '^[A-Za-z0-9]+$', maxLength: 160 })

/*
 * What a StorageDeal copies from a decoded proposal must fit its schema, or a proposal admission
 * accepted fails the create and the client hears "server error: save to db" (round 45). The bounds
 * below follow from the decoder's own maxima (src/protocol/cbor/reader.ts), which are boost's.
 */

/**
 * The longest CID text of a proposal: a tag-42 byte string of MAX_CID_BYTES (cbor-gen ReadCid's
 * limit) less its 0x00 multibase byte, printed as a CIDv1 is, base32 with a 'b' (a CIDv0 is 46
 * characters of base58): 819.
 */
export const MAX_WIRE_CID_LENGTH = 1 + Math.ceil((MAX_CID_BYTES - 1) * 8 / 5)

/** A CID as a proposal carries it (PieceCID, DealDataRoot): any the decoder takes. */
export const wireCid = (description: string): Schema =>
  str(description, { pattern: '^[A-Za-z0-9]+$', maxLength: MAX_WIRE_CID_LENGTH })

/**
 * Base64 of a client signature's data: MAX_SIGNATURE_BYTES (go-state-types' SignatureMaxLength)
 * counts the type byte, which the spec keeps apart: 199 bytes, 268 characters. A contract (f4)
 * client's signature can be that long (round 45: three 65-byte ECDSA signatures are 195).
 */
export const MAX_SIGNATURE_DATA_BASE64 = 4 * Math.ceil((MAX_SIGNATURE_BYTES - 1) / 3)

/**
 * The most digits of a token amount in a proposal: a big.Int of MAX_BIGINT_BYTES is a sign byte
 * and 127 bytes of magnitude, below 2^1016: 306 digits. Admission bounds the amounts by escrow
 * only through chain facts and the provider's collateral multiplier, so the schema does not
 * count on it.
 */
export const MAX_WIRE_AMOUNT_DIGITS = ((1n << BigInt(8 * (MAX_BIGINT_BYTES - 1))) - 1n).toString().length

/** A proposal's token amount: attoFIL, as long as the decoder takes (not negative: admission refuses that). */
export const wireAttoFil = (description: string): Schema =>
  attoFil(description, { pattern: `^(0|[1-9][0-9]{0,${MAX_WIRE_AMOUNT_DIGITS - 1}})$`, maxLength: MAX_WIRE_AMOUNT_DIGITS })

export const epoch = (description: string): Schema => int(`${description} (chain epoch)`, { minimum: 0 })

export const uuid = (description: string): Schema =>
  str(description, { pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', maxLength: 36 })

export const timestamp = (description: string): Schema => str(description, { format: 'date-time', maxLength: 64 })

/** A Kubernetes object name (DNS subdomain): the CRDs' schema and the CLI's flags check it alike. */
export const K8S_NAME = { pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 } as const

export const k8sName = (description: string): Schema => str(description, K8S_NAME)

export const secretKeyRef = (description: string): Schema => obj(description, {
  namespace: k8sName('Namespace of the Secret; left out, the namespace the deals are written to (the ingress\'s --namespace, the chart\'s ingress.dealsNamespace), not the release\'s.'),
  name: k8sName('Name of the Secret.'),
  key: str('Key within the Secret.', { maxLength: 253 })
}, { required: ['name', 'key'], title: 'SecretKeyRef' })

/** metav1.Condition, as cert-manager and CloudNativePG keep it. */
export const conditions: Schema = arr('Latest observations of the object\'s state.', obj('A condition.', {
  type: str('Condition type, e.g. Ready.', { maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' }),
  status: enumOf('Status of the condition.', ['True', 'False', 'Unknown']),
  observedGeneration: int('The .metadata.generation the condition was set for.', { minimum: 0 }),
  lastTransitionTime: timestamp('When the condition last changed status.'),
  reason: str('CamelCase reason for the last transition.', { maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
  message: str('Human-readable details.', { maxLength: 32768 })
}, { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'], title: 'Condition' }), {
  maxItems: 16, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type']
})

export interface PrinterColumn {
  name: string
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number'
  jsonPath: string
  description?: string
  priority?: number
  format?: string
}

export interface KindDefinition {
  kind: string
  plural: string
  singular: string
  shortNames: string[]
  scope: 'Namespaced' | 'Cluster'
  description: string
  spec: Schema
  status: Schema
  printerColumns: PrinterColumn[]
  /** CEL rules on the whole object (may read metadata.name). */
  rootRules?: Schema['x-kubernetes-validations']
}
