// The transfer tests hash with the project's real CommP module (native addon when built).
import { commpHasher } from '../../../src/transfer/piece-sink.ts'
export const hasher = commpHasher()
