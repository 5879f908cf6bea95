/** What CommPHasher drives: the native addon or the pure-TypeScript tree, behind one shape. */
export interface TreeEngine {
  /** Payload bytes, any chunking. */
  update (chunk: Uint8Array): void
  /**
   * Root of the tree of 2^height 32-byte leaves holding everything so far plus zeros. Does not
   * finalize. Throws DealyardError ERR_COMMP_SIZE when the data does not fit.
   */
  digest (height: number): Uint8Array
}
