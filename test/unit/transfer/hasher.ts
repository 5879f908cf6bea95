// The CommP hasher the transfer tests use. TEMPORARY until src/filecoin/commp lands.
import { TinyCommP } from './tiny-commp.ts'
import type { PieceHasherFactory } from '../../../src/transfer/piece-sink.ts'
export const hasher: PieceHasherFactory = () => new TinyCommP()
