/* frame.c -- frame allocation: per-runtime size-class free lists.
 *
 * Frames up to WEFT_FRAME_POOL_MAX bytes are rounded up to a 16-byte class.
 * Each class has an intrusive LIFO free list (link in the first word of a free
 * block, so the most recently freed, cache-warm block is reused first). When a
 * class is empty the block is carved from the newest chunk; chunks grow
 * geometrically and are only returned to malloc by weft__pool_destroy. Larger
 * frames are malloc'd with a hidden 16-byte prefix linking them into a list so
 * that weft_rt_free can reclaim them too.
 */
#include "weft_private.h"

#include <stdlib.h>
#include <string.h>

struct weft__chunk {
  weft__chunk *next;
  size_t size;
  /* 16-byte aligned payload follows */
};
#define CHUNK_HDR 16u
#define CHUNK_MIN (64u * 1024u)
#define CHUNK_MAX (4u * 1024u * 1024u)

struct weft__bigframe {
  weft__bigframe *next, *prev;
  /* the frame follows, 16-byte aligned */
};
#define BIG_HDR 16u

_Static_assert(sizeof(weft__chunk) <= CHUNK_HDR, "chunk header");
_Static_assert(sizeof(weft__bigframe) <= BIG_HDR, "big frame header");

void weft__pool_init(weft__frame_pool *p) {
  memset(p, 0, sizeof *p);
  p->next_chunk = CHUNK_MIN;
}

void weft__pool_destroy(weft__frame_pool *p) {
  weft__chunk *c = p->chunks;
  while (c) {
    weft__chunk *n = c->next;
    WEFT__UNPOISON(c, c->size);
    free(c);
    c = n;
  }
  weft__bigframe *b = p->big;
  while (b) {
    weft__bigframe *n = b->next;
    free(b);
    b = n;
  }
  memset(p, 0, sizeof *p);
}

static void *carve(weft__frame_pool *p, size_t sz) {
  if ((size_t)(p->bump_end - p->bump) < sz) {
    /* The rest of the old chunk (< one frame) is abandoned until destroy. */
    size_t csz = p->next_chunk;
    weft__chunk *c = weft__xmalloc(csz);
    c->next = p->chunks;
    c->size = csz;
    p->chunks = c;
    p->bump = (char *)c + CHUNK_HDR;
    p->bump_end = (char *)c + csz;
    WEFT__POISON(p->bump, (size_t)(p->bump_end - p->bump));
    if (p->next_chunk < CHUNK_MAX) p->next_chunk *= 2;
  }
  void *m = p->bump;
  p->bump += sz;
  return m;
}

/* Zeroes a 16-byte aligned block whose size is a multiple of 16. Frames are
 * small, and for small sizes libc's memset (rep stos) costs more than the
 * rest of the allocation, so this stays an open loop of 16-byte stores. */
#if defined(__GNUC__)
typedef uint64_t zero_vec __attribute__((vector_size(16), aligned(16)));
static inline void zero_block(void *p, size_t sz) {
  zero_vec *v = p, z = {0, 0};
  for (size_t i = 0; i < sz / 16; i++) {
    v[i] = z;
    __asm__ volatile("" ::: "memory"); /* keep it a loop, not a memset call */
  }
}
#else
static inline void zero_block(void *p, size_t sz) { memset(p, 0, sz); }
#endif

void *weft_frame_alloc(weft_rt *rt, uint32_t size) {
  weft__frame_pool *p = &rt->pool;
  if (size < sizeof(weft_frame)) size = sizeof(weft_frame);
  weft_frame *f;
  if (WEFT__LIKELY(size <= WEFT_FRAME_POOL_MAX)) {
    uint32_t cls = (size - 1) / WEFT__FRAME_GRAIN; /* 0-based class */
    size_t sz = ((size_t)cls + 1) * WEFT__FRAME_GRAIN;
    void *m = p->free[cls];
    if (m) {
      WEFT__UNPOISON(m, sz);
      p->free[cls] = *(void **)m;
    } else {
      m = carve(p, sz);
      WEFT__UNPOISON(m, sz);
    }
    zero_block(m, sz);
    f = m;
  } else {
    weft__bigframe *b = weft__xcalloc(1, (size_t)BIG_HDR + size);
    b->next = p->big;
    b->prev = NULL;
    if (p->big) p->big->prev = b;
    p->big = b;
    f = (weft_frame *)((char *)b + BIG_HDR);
  }
  f->size = size;
  p->frames_alloc++;
  return f;
}

/* The generated code's allocator: zeroing only the header saves most of
 * the cost of a small frame (the slots are stored before they are read). */
weft_frame *weft_frame_new(weft_rt *rt, uint32_t size, const weft_fninfo *fn) {
  weft__frame_pool *p = &rt->pool;
  if (WEFT__UNLIKELY(size <= sizeof(weft_frame) || size > WEFT_FRAME_POOL_MAX)) {
    weft_frame *f = weft_frame_alloc(rt, size);
    f->fn = fn;
    return f;
  }
  uint32_t cls = (size - 1) / WEFT__FRAME_GRAIN;
  size_t sz = ((size_t)cls + 1) * WEFT__FRAME_GRAIN;
  void *m = p->free[cls];
  if (WEFT__LIKELY(m != NULL)) {
    WEFT__UNPOISON(m, sz);
    p->free[cls] = *(void **)m;
  } else {
    m = carve(p, sz);
    WEFT__UNPOISON(m, sz);
  }
  weft_frame *f = m;
  *f = (weft_frame){.fn = fn, .size = size};
  p->frames_alloc++;
  return f;
}

void weft_frame_free(weft_rt *rt, void *frame) {
  if (!frame) return;
  weft__frame_pool *p = &rt->pool;
  weft_frame *f = frame;
  uint32_t size = f->size;
  if (WEFT__UNLIKELY(size < sizeof(weft_frame)))
    weft__internal_error("freeing a frame with corrupt size %u", size);
  /* a stack keyed by this address must not outlive it (a join branch freed
   * without weft_comp_adopt, a root that never finished) */
  if (WEFT__UNLIKELY(f->flags & WEFT_FLAG_COMPS)) weft__comps_drop(rt, f);
  p->frames_freed++;
  if (WEFT__LIKELY(size <= WEFT_FRAME_POOL_MAX)) {
    uint32_t cls = (size - 1) / WEFT__FRAME_GRAIN;
    size_t sz = ((size_t)cls + 1) * WEFT__FRAME_GRAIN;
    *(void **)frame = p->free[cls];
    p->free[cls] = frame;
    WEFT__POISON(frame, sz);
  } else {
    weft__bigframe *b = (weft__bigframe *)((char *)frame - BIG_HDR);
    if (b->prev) b->prev->next = b->next;
    else p->big = b->next;
    if (b->next) b->next->prev = b->prev;
    free(b);
  }
}
