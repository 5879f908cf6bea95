/*
 * Streaming CommP. Payload bytes are Fr32-padded (127 -> 128 bytes, four 32-byte leaves) straight
 * into a batch of COMMP_BATCH leaves; a full batch is reduced in place level by level (in cache,
 * many independent nodes per hash_pairs call) to one subtree root, which is pushed on the right-edge
 * stack: stack[l] holds a complete left subtree at level l waiting for its right sibling, so memory
 * stays O(tree height). In threaded mode payload is cut into jobs of 2^COMMP_JOB_LOG leaves, hashed
 * by pool threads, and their roots are pushed in order.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commp.h"
#include "sha256.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fr32 word code assumes a little-endian host"
#endif

typedef struct {
  uint8_t stack[COMMP_MAX_LEVEL + 1][32];
  uint64_t present;
  uint8_t carry[127];
  size_t carry_len;
  uint8_t *leaves;
  size_t nleaves;
} tree_t;

static uint8_t zero_comm[COMMP_MAX_LEVEL + 1][32];

const uint8_t *commp_zero (int level) { return zero_comm[level]; }

void commp_init (void) {
  memset(zero_comm[0], 0, 32);
  for (int l = 0; l < COMMP_MAX_LEVEL; l++) {
    uint8_t pair[64];
    memcpy(pair, zero_comm[l], 32);
    memcpy(pair + 32, zero_comm[l], 32);
    commp_hash_pairs(zero_comm[l + 1], pair, 1);
  }
}

static inline uint64_t ld (const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void st (uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
#define TOP2 0x3fffffffffffffffULL

/* 127 bytes read as a little-endian bit stream, cut into four 254-bit field elements, each stored
 * as 32 bytes with the top two bits zero. Element j starts at bit 254j: bytes 0, 31, 63, 95 with
 * bit shifts 0, 6, 4, 2. Every 8-byte read stays inside the 127 input bytes. */
static inline void fr32_block (uint8_t *out, const uint8_t *in) {
  st(out + 0, ld(in + 0)); st(out + 8, ld(in + 8)); st(out + 16, ld(in + 16));
  st(out + 24, ld(in + 24) & TOP2);
  for (int w = 0; w < 4; w++) {
    uint64_t v = (ld(in + 31 + 8 * w) >> 6) | (ld(in + 39 + 8 * w) << 58);
    st(out + 32 + 8 * w, w == 3 ? v & TOP2 : v);
  }
  for (int w = 0; w < 4; w++) {
    uint64_t v = (ld(in + 63 + 8 * w) >> 4) | (ld(in + 71 + 8 * w) << 60);
    st(out + 64 + 8 * w, w == 3 ? v & TOP2 : v);
  }
  for (int w = 0; w < 3; w++) st(out + 96 + 8 * w, (ld(in + 95 + 8 * w) >> 2) | (ld(in + 103 + 8 * w) << 62));
  st(out + 120, ld(in + 119) >> 2);
}

/* node is clobbered. */
static void tree_push (tree_t *t, int level, uint8_t *node) {
  uint8_t pair[64];
  while (t->present & (1ULL << level)) {
    memcpy(pair, t->stack[level], 32);
    memcpy(pair + 32, node, 32);
    commp_hash_pairs(node, pair, 1);
    t->present &= ~(1ULL << level);
    level++;
  }
  memcpy(t->stack[level], node, 32);
  t->present |= 1ULL << level;
}

static void tree_flush_batch (tree_t *t) {
  size_t n = COMMP_BATCH;
  for (int l = 0; l < COMMP_BATCH_LOG; l++, n /= 2) commp_hash_pairs(t->leaves, t->leaves, n / 2);
  tree_push(t, COMMP_BATCH_LOG, t->leaves);
  t->nleaves = 0;
}

static void tree_update (tree_t *t, const uint8_t *data, size_t len) {
  if (t->carry_len > 0) {
    size_t take = 127 - t->carry_len < len ? 127 - t->carry_len : len;
    memcpy(t->carry + t->carry_len, data, take);
    t->carry_len += take; data += take; len -= take;
    if (t->carry_len < 127) return;
    fr32_block(t->leaves + 32 * t->nleaves, t->carry);
    t->nleaves += 4;
    t->carry_len = 0;
    if (t->nleaves == COMMP_BATCH) tree_flush_batch(t);
  }
  while (len >= 127) {
    size_t room = (COMMP_BATCH - t->nleaves) / 4, nb = len / 127;
    if (nb > room) nb = room;
    uint8_t *o = t->leaves + 32 * t->nleaves;
    for (size_t i = 0; i < nb; i++) fr32_block(o + 128 * i, data + 127 * i);
    t->nleaves += 4 * nb; data += 127 * nb; len -= 127 * nb;
    if (t->nleaves == COMMP_BATCH) tree_flush_batch(t);
  }
  if (len > 0) { memcpy(t->carry, data, len); t->carry_len = len; }
}

/* Non-destructive: works on a copy of the stack. Pending leaves and the zero-filled carry are
 * pushed one by one (fewer than a batch), then the right edge is folded with zero subtrees up to
 * `height`. */
static int tree_digest (const tree_t *t, int height, uint8_t out[32]) {
  tree_t *c = malloc(sizeof *c);
  if (c == NULL) return -2;
  memcpy(c->stack, t->stack, sizeof c->stack);
  c->present = t->present;
  uint8_t node[32], pad[128], blk[127];
  for (size_t i = 0; i < t->nleaves; i++) {
    memcpy(node, t->leaves + 32 * i, 32);
    tree_push(c, 0, node);
  }
  if (t->carry_len > 0) {
    memset(blk, 0, sizeof blk);
    memcpy(blk, t->carry, t->carry_len);
    fr32_block(pad, blk);
    for (int i = 0; i < 4; i++) { memcpy(node, pad + 32 * i, 32); tree_push(c, 0, node); }
  }
  int rc = 0;
  if ((c->present >> height) != 0) {
    /* exactly one full tree of the requested height, or too much data */
    if (c->present == (1ULL << height)) memcpy(out, c->stack[height], 32);
    else rc = -1;
  } else {
    uint8_t pair[64], cur[32];
    int have = 0;
    for (int l = 0; l < height; l++) {
      if (c->present & (1ULL << l)) {
        memcpy(pair, c->stack[l], 32);
        memcpy(pair + 32, have ? cur : zero_comm[l], 32);
      } else if (have) {
        memcpy(pair, cur, 32);
        memcpy(pair + 32, zero_comm[l], 32);
      } else continue;
      commp_hash_pairs(cur, pair, 1);
      have = 1;
    }
    memcpy(out, have ? cur : zero_comm[height], 32);
  }
  free(c);
  return rc;
}

/* Reads exactly len bytes at off; returns 0 or an errno (EIO for a file shorter than expected). */
static int pread_full (int fd, uint8_t *buf, size_t len, off_t off) {
  while (len > 0) {
    ssize_t n = pread(fd, buf, len, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    buf += n; len -= (size_t)n; off += n;
  }
  return 0;
}

/* ---- the shared thread pool ----
 * Process-wide, shared by every Node environment (main thread, worker_threads) that loaded the
 * addon. Those environments are counted (commp_pool_retain/release, from the addon's per-environment
 * instance data): when the last one goes, its threads are told to exit and are joined before the
 * finalizer returns, because Node unloads the addon right after a Worker's environment is torn down
 * and a thread left in pool_main would then run unmapped code (or, once the library is mapped
 * again, wait on a mutex and condition that the new mapping re-initialised). */

/* 127 * 2^12 bytes: 4 batches, a divisor of a job; with the leaf batch it fits a 1 MiB L2. */
#define COMMP_READ_PIECE ((size_t)127 << 12)
/* Past the cores of any machine this runs on; bounds the table of threads to join. */
#define COMMP_POOL_MAX 256

typedef struct job {
  commp_hasher *owner;
  uint8_t *raw;
  int fd;       /* >= 0: the worker reads its payload itself (pread at off) */
  off_t off;
  int err;      /* errno of a failed read */
  uint8_t root[32];
  int state; /* 0 free or filling, 1 queued, 3 running, 2 done */
  struct job *next;
} job_t;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER;
static job_t *queue_head, *queue_tail;
static pthread_t pool_tid[COMMP_POOL_MAX];
static int pool_threads; /* threads of the current generation, in pool_tid */
/* Bumped when the last environment leaves: threads of an older generation exit instead of taking
 * another job, while a newly loading environment can already start threads of the new one. */
static unsigned pool_gen;
static int pool_users;

static void *pool_main (void *arg) {
  const unsigned gen = (unsigned)(uintptr_t)arg;
#ifdef __linux__
  pthread_setname_np(pthread_self(), "commp-pool");
#endif
  tree_t *t = calloc(1, sizeof *t);
  uint8_t *leaves = malloc(COMMP_BATCH * 32);
  if (t == NULL || leaves == NULL) abort(); /* a wrong root would be worse than a crash */
  pthread_mutex_lock(&pool_mu);
  for (;;) {
    while (queue_head == NULL && gen == pool_gen) pthread_cond_wait(&pool_work, &pool_mu);
    if (gen != pool_gen) break;
    job_t *j = queue_head;
    queue_head = j->next;
    if (queue_head == NULL) queue_tail = NULL;
    j->state = 3;
    pthread_mutex_unlock(&pool_mu);
    memset(t, 0, sizeof *t);
    t->leaves = leaves;
    j->err = 0;
    if (j->fd >= 0) {
      /* read in pieces that stay in this core's L2 until Fr32 consumes them */
      for (size_t done = 0; done < COMMP_JOB_RAW && j->err == 0; done += COMMP_READ_PIECE) {
        j->err = pread_full(j->fd, j->raw, COMMP_READ_PIECE, j->off + (off_t)done);
        if (j->err == 0) tree_update(t, j->raw, COMMP_READ_PIECE);
      }
    } else {
      tree_update(t, j->raw, COMMP_JOB_RAW);
    }
    if (j->err == 0) memcpy(j->root, t->stack[COMMP_JOB_LOG], 32);
    pthread_mutex_lock(&pool_mu);
    j->state = 2;
    pthread_cond_broadcast(&pool_done);
  }
  pthread_mutex_unlock(&pool_mu);
  free(leaves);
  free(t);
  return NULL;
}

/* Grows the pool to n threads (idle threads only wait on a condition; the pool shrinks only when
 * the last environment leaves). 0 when not even one thread could be started. */
static int pool_ensure (int n) {
  if (n > COMMP_POOL_MAX) n = COMMP_POOL_MAX;
  pthread_mutex_lock(&pool_mu);
  while (pool_threads < n) {
    if (pthread_create(&pool_tid[pool_threads], NULL, pool_main, (void *)(uintptr_t)pool_gen) != 0) break;
    pool_threads++;
  }
  int ok = pool_threads > 0;
  pthread_mutex_unlock(&pool_mu);
  return ok;
}

void commp_pool_retain (void) {
  pthread_mutex_lock(&pool_mu);
  pool_users++;
  pthread_mutex_unlock(&pool_mu);
}

void commp_pool_release (void) {
  pthread_t tids[COMMP_POOL_MAX];
  pthread_mutex_lock(&pool_mu);
  int n = 0;
  if (--pool_users == 0) {
    /* no environment left, so no hasher can submit; a job being run is finished first, and queued
     * jobs are those of hashers about to be freed (commp_free drops them) */
    n = pool_threads;
    memcpy(tids, pool_tid, (size_t)n * sizeof tids[0]);
    pool_threads = 0;
    pool_gen++;
    pthread_cond_broadcast(&pool_work);
  }
  pthread_mutex_unlock(&pool_mu);
  /* joined, not detached: after pthread_join no thread runs, or will return into, this library */
  for (int i = 0; i < n; i++) pthread_join(tids[i], NULL);
}

/* ---- the hasher ---- */

struct commp_hasher {
  int threads;
  tree_t tree;
  job_t *ring;
  size_t ring_size, head, count;
  job_t *fill;
  size_t fill_len;
  int err; /* sticky errno of a failed file job */
};

commp_hasher *commp_new (int threads) {
  commp_hasher *h = calloc(1, sizeof *h);
  if (h == NULL) return NULL;
  h->threads = threads;
  h->tree.leaves = malloc(COMMP_BATCH * 32);
  if (h->tree.leaves == NULL) { free(h); return NULL; }
  if (threads > 1) {
    if (!pool_ensure(threads)) { h->threads = 1; return h; }
    h->ring_size = (size_t)threads * 2 + 2;
    h->ring = calloc(h->ring_size, sizeof *h->ring);
    if (h->ring == NULL) { free(h->tree.leaves); free(h); return NULL; }
    for (size_t i = 0; i < h->ring_size; i++) h->ring[i].owner = h;
  }
  return h;
}

/* Pushes finished jobs, oldest first; with wait, blocks until at least `keep` or fewer remain. */
static void reap (commp_hasher *h, size_t keep) {
  pthread_mutex_lock(&pool_mu);
  for (;;) {
    while (h->count > 0 && h->ring[h->head].state == 2) {
      job_t *j = &h->ring[h->head];
      j->state = 0;
      if (j->err != 0 && h->err == 0) h->err = j->err;
      tree_push(&h->tree, COMMP_JOB_LOG, j->root);
      h->head = (h->head + 1) % h->ring_size;
      h->count--;
    }
    if (h->count <= keep) break;
    pthread_cond_wait(&pool_done, &pool_mu);
  }
  pthread_mutex_unlock(&pool_mu);
}

/* Drops h's jobs still queued (nobody will read their roots: a finalized hasher, or an environment
 * being torn down) and waits for those a pool thread is running, which still use their buffers. */
static void cancel_jobs (commp_hasher *h) {
  pthread_mutex_lock(&pool_mu);
  job_t **pp = &queue_head;
  queue_tail = NULL;
  while (*pp != NULL) {
    job_t *j = *pp;
    if (j->owner == h) { *pp = j->next; j->state = 0; }
    else { queue_tail = j; pp = &j->next; }
  }
  for (;;) {
    int running = 0;
    for (size_t i = 0; i < h->ring_size; i++) running |= h->ring[i].state == 3;
    if (!running) break;
    pthread_cond_wait(&pool_done, &pool_mu);
  }
  pthread_mutex_unlock(&pool_mu);
}

void commp_free (commp_hasher *h) {
  if (h == NULL) return;
  if (h->ring != NULL) {
    cancel_jobs(h);
    for (size_t i = 0; i < h->ring_size; i++) free(h->ring[i].raw);
    free(h->ring);
  }
  free(h->tree.leaves);
  free(h);
}

/* The next ring slot (waiting for a finished job when all are in flight), its buffer allocated. */
static job_t *take_slot (commp_hasher *h) {
  if (h->count == h->ring_size) reap(h, h->ring_size - 1);
  job_t *j = &h->ring[(h->head + h->count) % h->ring_size];
  if (j->raw == NULL && (j->raw = malloc(COMMP_JOB_RAW)) == NULL) return NULL;
  j->fd = -1;
  j->err = 0;
  return j;
}

static void submit (commp_hasher *h, job_t *j) {
  pthread_mutex_lock(&pool_mu);
  j->state = 1;
  j->next = NULL;
  if (queue_tail != NULL) queue_tail->next = j; else queue_head = j;
  queue_tail = j;
  pthread_cond_signal(&pool_work);
  pthread_mutex_unlock(&pool_mu);
  h->count++;
  reap(h, h->ring_size); /* non-blocking: just collect what is done */
}

/* Copies (or, with fd >= 0, reads) up to one job's worth into the job being filled. */
static int fill_from (commp_hasher *h, const uint8_t *data, int fd, off_t off, size_t len, size_t *took) {
  if (h->fill == NULL) {
    if ((h->fill = take_slot(h)) == NULL) return -2;
    h->fill_len = 0;
  }
  size_t take = COMMP_JOB_RAW - h->fill_len < len ? COMMP_JOB_RAW - h->fill_len : len;
  if (fd >= 0) {
    int e = pread_full(fd, h->fill->raw + h->fill_len, take, off);
    if (e != 0) return e;
  } else if (data != NULL) {
    memcpy(h->fill->raw + h->fill_len, data, take);
  }
  h->fill_len += take;
  *took = take;
  if (h->fill_len == COMMP_JOB_RAW) {
    submit(h, h->fill);
    h->fill = NULL;
  }
  return 0;
}

int commp_update (commp_hasher *h, const uint8_t *data, size_t len) {
  if (h->ring == NULL) { tree_update(&h->tree, data, len); return 0; }
  while (len > 0) {
    size_t took;
    int rc = fill_from(h, data, -1, 0, len, &took);
    if (rc != 0) return rc;
    data += took; len -= took;
  }
  return 0;
}

int commp_update_file (commp_hasher *h, int fd, off_t off, size_t len) {
  if (fd < 0) return EBADF;
  if (h->err != 0) return h->err;
  if (h->ring == NULL) {
    /* inline mode: read through one scratch buffer on this thread */
    size_t cap = COMMP_JOB_RAW;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) return -2;
    int e = 0;
    while (len > 0 && e == 0) {
      size_t n = len < cap ? len : cap;
      if ((e = pread_full(fd, buf, n, off)) == 0) { tree_update(&h->tree, buf, n); off += (off_t)n; len -= n; }
    }
    free(buf);
    return e;
  }
  while (len > 0) {
    if (h->fill == NULL && len >= COMMP_JOB_RAW) {
      /* a whole job: the worker reads it, so reads run in parallel and nothing is copied here */
      job_t *j = take_slot(h);
      if (j == NULL) return -2;
      j->fd = fd;
      j->off = off;
      submit(h, j);
      off += (off_t)COMMP_JOB_RAW; len -= COMMP_JOB_RAW;
      continue;
    }
    size_t took;
    int rc = fill_from(h, NULL, fd, off, len, &took);
    if (rc != 0) return rc;
    off += (off_t)took; len -= took;
  }
  /* jobs may still be reading: the caller keeps fd open until commp_digest (which waits for them) */
  return h->err;
}

int commp_digest (commp_hasher *h, int height, uint8_t out[32]) {
  if (height < 0 || height > COMMP_MAX_LEVEL - 1) return -1;
  if (h->ring == NULL) return tree_digest(&h->tree, height, out);
  reap(h, 0);
  if (h->err != 0) return h->err;
  if (h->fill == NULL || h->fill_len == 0) return tree_digest(&h->tree, height, out);
  /* the unfinished job is hashed here, on a copy, so that updates can continue after digest */
  tree_t *t = malloc(sizeof *t);
  uint8_t *leaves = malloc(COMMP_BATCH * 32);
  int rc = -2;
  if (t != NULL && leaves != NULL) {
    memcpy(t, &h->tree, sizeof *t);
    t->leaves = leaves;
    tree_update(t, h->fill->raw, h->fill_len);
    rc = tree_digest(t, height, out);
  }
  free(leaves);
  free(t);
  return rc;
}
