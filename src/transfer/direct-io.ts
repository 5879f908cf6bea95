import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { loadNative } from '../filecoin/commp/native.ts'

/**
 * O_DIRECT writes (the staging file bypasses the page cache). A deal's CAR is written once and
 * read once, much later, by AddPiece: caching it only costs a copy of every byte into the page
 * cache, the writeback, and the final fsync's wait — on the 2 GiB bench that was 1.5–3.7 CPU-s of
 * kernel time against 0.3 for the same bytes written direct (BENCHMARKS.md).
 *
 * Direct I/O wants the file offset, the length and the memory address aligned to the device's
 * block (statx's dio_offset_align / dio_mem_align; 512 or 4096 on the disks in question). Node
 * exposes neither statx's DIO fields nor addresses, so conservative alignments serve all: memory
 * at 4096 (the address comes from the native addon), file ranges at 64 KiB — a whole number of
 * pages even where pages are 64 KiB, so the few buffered writes (an unaligned resume point, the
 * final tail) never share a page-cache page with a direct write in flight. Without the addon, or
 * on a filesystem that refuses O_DIRECT (tmpfs before Linux 6.6, some overlays and FUSE
 * filesystems), writes go through the page cache.
 */
export const DIRECT_ALIGN = 64 << 10
const MEMORY_ALIGN = 4096

export function alignDown (n: number): number { return n - (n % DIRECT_ALIGN) }

/**
 * A SharedArrayBuffer-backed Buffer of `size` bytes whose first byte is page-aligned in memory,
 * or undefined when the address cannot be known (no native addon).
 */
export function alignedSharedBuffer (size: number): Buffer | undefined {
  const addon = loadNative().addon
  if (addon?.addressModulo === undefined) return undefined
  const whole = Buffer.from(new SharedArrayBuffer(size + MEMORY_ALIGN))
  const mod = addon.addressModulo(whole, MEMORY_ALIGN)
  const skip = mod === 0 ? 0 : MEMORY_ALIGN - mod
  return whole.subarray(skip, skip + size)
}

/**
 * A second, write-only handle on `path` with O_DIRECT, or undefined when direct I/O is not
 * available for it (the caller keeps writing through its buffered handle).
 */
export async function openDirect (path: string): Promise<FileHandle | undefined> {
  if (constants.O_DIRECT === undefined || loadNative().addon?.addressModulo === undefined) return undefined
  try {
    return await open(path, constants.O_WRONLY | constants.O_DIRECT)
  } catch {
    // EINVAL on filesystems without direct I/O: the page cache it is.
    return undefined
  }
}

/** A direct write the filesystem refused for its alignment: the caller falls back for good. */
export function isDirectRefusal (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP'
}
