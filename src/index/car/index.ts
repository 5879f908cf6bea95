/**
 * CAR block indexing: a streaming reader for CARv1/CARv2 input that yields (multihash, offset,
 * size) per block, and the CARv2 MultihashIndexSorted (0x0401) index codec, byte-compatible
 * with go-car v2.
 */
export { CarBlockIndexer, type BlockRecord, type CarIndexResult } from './reader.ts'
export {
  MULTIHASH_INDEX_SORTED, encodeMultihashIndexSorted, decodeMultihashIndexSorted, indexFromRecords,
  type IndexEntry, type EncodeOptions
} from './mh-index-sorted.ts'
export { RecordTable, RecordGroup, type RecordTableData, type RecordGroupData } from './record-table.ts'
export { parseCid, isIdentity, type ParsedCid } from './cid.ts'
