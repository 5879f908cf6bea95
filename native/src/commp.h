/* Streaming CommP: Fr32 padding and the binary SHA-256 tree, batched, with a right-edge stack. */
#ifndef DEALYARD_COMMP_H
#define DEALYARD_COMMP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Leaves hashed level by level in one in-cache batch (4096 leaves = 128 KiB). */
#define COMMP_BATCH_LOG 12
#define COMMP_BATCH ((size_t)1 << COMMP_BATCH_LOG)
/* A worker job: 2^17 leaves = 4 MiB padded = 127 * 2^15 payload bytes. */
#define COMMP_JOB_LOG 17
#define COMMP_JOB_RAW ((size_t)127 << (COMMP_JOB_LOG - 2))
#define COMMP_MAX_LEVEL 63

typedef struct commp_hasher commp_hasher;

void commp_init (void);
const uint8_t *commp_zero (int level);

/* Every Node environment using the addon holds the thread pool while it lives. The last release
 * stops the pool threads and joins them (a running job is finished first), so that no thread runs
 * this library's code once it returns: the library may be unloaded after that. */
void commp_pool_retain (void);
void commp_pool_release (void);

/* threads <= 1: hash on the calling thread inside update(); otherwise jobs go to a shared pool of
 * native threads (grown to `threads`) and update() only copies. NULL on allocation failure. */
commp_hasher *commp_new (int threads);
void commp_free (commp_hasher *h);
int commp_update (commp_hasher *h, const uint8_t *data, size_t len);
/* len payload bytes of file fd from offset off. Threaded: whole jobs are read by the pool threads
 * themselves (pread, in parallel, no copy on this thread), so fd must stay open until
 * commp_digest returned. 0, an errno from reading (EIO: the file is shorter), or -2 (no memory);
 * a read error in a pool thread surfaces from a later call or from commp_digest. */
int commp_update_file (commp_hasher *h, int fd, off_t off, size_t len);
/* Root of the tree of 2^height leaves holding everything written so far plus zeros; does not
 * finalize (more updates may follow). Returns -1 when the data does not fit, -2 on no memory, an errno
 * when a file job failed. */
int commp_digest (commp_hasher *h, int height, uint8_t out[32]);

#endif
